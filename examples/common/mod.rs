//! Code shared by the examples: the wine-quality data, a seeded RNG, a
//! stratified split, standardisation, and a small MLP trained with Adam.
//!
//! Plain `ndarray` matrix code; the loss and its gradient with respect to
//! the logits come from `focal_loss`, everything after that (the model's
//! backward pass and the optimiser) is written out here.
#![allow(dead_code)]

use ndarray::{Array1, Array2, ArrayView1, ArrayView2, Axis};
use std::error::Error;

/// The red Wine Quality data shipped with the crate (see data/README.md).
pub fn wine_csv() -> String {
    // The root package's examples, or the wine_quality package two levels down.
    let here = env!("CARGO_MANIFEST_DIR");
    let root = format!("{here}/data/winequality-red.csv");
    if std::path::Path::new(&root).exists() {
        root
    } else {
        format!("{here}/../../data/winequality-red.csv")
    }
}

/// The lowest quality score in the data; class `k` is quality `k + 3`.
pub const WINE_MIN_QUALITY: usize = 3;

/// Number of quality classes (3..=8).
pub const WINE_CLASSES: usize = 6;

/// Reads the wine CSV: 11 features per row and the quality mapped to
/// a class index `quality - 3` in `0..6`.
pub fn load_wine(path: &str) -> Result<(Array2<f64>, Vec<usize>), Box<dyn Error>> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    let mut features = Vec::new();
    let mut labels = Vec::new();
    let mut n_features = None;
    for (i, line) in text.lines().enumerate().skip(1) {
        if line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split(',').collect();
        let (quality, row) = fields
            .split_last()
            .ok_or_else(|| format!("{path}:{}: empty row", i + 1))?;
        let expected = *n_features.get_or_insert(row.len());
        if row.len() != expected {
            return Err(format!(
                "{path}:{}: {} fields, expected {}",
                i + 1,
                fields.len(),
                expected + 1
            )
            .into());
        }
        for f in row {
            let v: f64 = f
                .trim()
                .parse()
                .map_err(|e| format!("{path}:{}: {f:?}: {e}", i + 1))?;
            features.push(v);
        }
        let q: usize = quality
            .trim()
            .parse()
            .map_err(|e| format!("{path}:{}: quality {quality:?}: {e}", i + 1))?;
        let class = q
            .checked_sub(WINE_MIN_QUALITY)
            .filter(|&c| c < WINE_CLASSES)
            .ok_or_else(|| format!("{path}:{}: quality {q} outside 3..=8", i + 1))?;
        labels.push(class);
    }
    let d = n_features.ok_or_else(|| format!("{path}: no data rows"))?;
    Ok((Array2::from_shape_vec((labels.len(), d), features)?, labels))
}

/// SplitMix64 (Steele, Lea & Flood 2014): a tiny, seedable, portable RNG.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)` (53 random bits).
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in `0..n` (`n > 0`; the modulo bias is negligible here).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// Fisher–Yates shuffle.
    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            v.swap(i, self.below(i + 1));
        }
    }
}

/// Splits sample indices into (train, test), class by class, so each class
/// keeps its share: `round(n_c * test_fraction)` of class `c` go to test
/// (at least one when `n_c >= 2`).
pub fn stratified_split(
    labels: &[usize],
    n_classes: usize,
    test_fraction: f64,
    rng: &mut Rng,
) -> (Vec<usize>, Vec<usize>) {
    let (mut train, mut test) = (Vec::new(), Vec::new());
    for c in 0..n_classes {
        let mut idx: Vec<usize> = (0..labels.len()).filter(|&i| labels[i] == c).collect();
        rng.shuffle(&mut idx);
        let mut n_test = ((idx.len() as f64 * test_fraction).round() as usize).min(idx.len());
        if idx.len() >= 2 {
            n_test = n_test.clamp(1, idx.len() - 1);
        }
        test.extend_from_slice(&idx[..n_test]);
        train.extend_from_slice(&idx[n_test..]);
    }
    train.sort_unstable();
    test.sort_unstable();
    (train, test)
}

/// Per-feature mean and standard deviation, fitted on the training rows only.
#[derive(Debug, Clone)]
pub struct Standardizer {
    mean: Array1<f64>,
    std: Array1<f64>,
}

impl Standardizer {
    /// Fits mean and (population) standard deviation per column; a constant
    /// column gets std 1.
    pub fn fit(x: &ArrayView2<f64>) -> Self {
        let n = x.nrows().max(1) as f64;
        let mean = x.sum_axis(Axis(0)) / n;
        let centred = x - &mean;
        let std = (centred.mapv(|v| v * v).sum_axis(Axis(0)) / n).mapv(|v| {
            if v > 0.0 {
                v.sqrt()
            } else {
                1.0
            }
        });
        Self { mean, std }
    }

    /// `(x - mean) / std`, column-wise.
    pub fn transform(&self, x: &ArrayView2<f64>) -> Array2<f64> {
        (x - &self.mean) / &self.std
    }
}

/// Index of the largest entry of each row (first one on ties).
pub fn argmax_rows(logits: &ArrayView2<f64>) -> Vec<usize> {
    logits
        .rows()
        .into_iter()
        .map(|r| {
            r.iter()
                .enumerate()
                .fold((0, f64::NEG_INFINITY), |best, (i, &v)| {
                    if v > best.1 {
                        (i, v)
                    } else {
                        best
                    }
                })
                .0
        })
        .collect()
}

/// One fully connected layer `y = x W + b` with its Adam state.
#[derive(Debug, Clone)]
struct Dense {
    w: Array2<f64>,
    b: Array1<f64>,
    // gradients of the last backward pass
    gw: Array2<f64>,
    gb: Array1<f64>,
    // Adam moments
    mw: Array2<f64>,
    vw: Array2<f64>,
    mb: Array1<f64>,
    vb: Array1<f64>,
}

impl Dense {
    /// He-uniform weights (`U(±sqrt(6 / fan_in))`), zero bias.
    fn new(fan_in: usize, fan_out: usize, rng: &mut Rng) -> Self {
        let a = (6.0 / fan_in as f64).sqrt();
        let w =
            Array2::from_shape_simple_fn((fan_in, fan_out), || a * (2.0 * rng.next_f64() - 1.0));
        let z2 = Array2::zeros((fan_in, fan_out));
        let z1 = Array1::zeros(fan_out);
        Self {
            w,
            b: z1.clone(),
            gw: z2.clone(),
            gb: z1.clone(),
            mw: z2.clone(),
            vw: z2,
            mb: z1.clone(),
            vb: z1,
        }
    }
}

/// Adam hyper-parameters (Kingma & Ba 2015).
#[derive(Debug, Clone, Copy)]
pub struct Adam {
    /// Step size.
    pub lr: f64,
    /// First-moment decay.
    pub beta1: f64,
    /// Second-moment decay.
    pub beta2: f64,
    /// Denominator guard.
    pub eps: f64,
}

impl Adam {
    /// Adam with the usual defaults and step size `lr`.
    pub fn new(lr: f64) -> Self {
        Self {
            lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
        }
    }
}

fn adam_update<D: ndarray::Dimension>(
    p: &mut ndarray::Array<f64, D>,
    g: &ndarray::Array<f64, D>,
    m: &mut ndarray::Array<f64, D>,
    v: &mut ndarray::Array<f64, D>,
    opt: &Adam,
    t: i32,
) {
    let c1 = 1.0 - opt.beta1.powi(t);
    let c2 = 1.0 - opt.beta2.powi(t);
    ndarray::Zip::from(p)
        .and(g)
        .and(m)
        .and(v)
        .for_each(|p, &g, m, v| {
            *m = opt.beta1 * *m + (1.0 - opt.beta1) * g;
            *v = opt.beta2 * *v + (1.0 - opt.beta2) * g * g;
            *p -= opt.lr * (*m / c1) / ((*v / c2).sqrt() + opt.eps);
        });
}

/// A multilayer perceptron with ReLU hidden layers and a linear output
/// (the logits). With no hidden layer it is softmax regression.
#[derive(Debug, Clone)]
pub struct Mlp {
    layers: Vec<Dense>,
    // activations of the last forward pass: input to each layer
    inputs: Vec<Array2<f64>>,
    step: i32,
}

impl Mlp {
    /// Layer sizes `[in, hidden.., out]`, weights drawn from `rng`.
    pub fn new(sizes: &[usize], rng: &mut Rng) -> Self {
        let layers = sizes
            .windows(2)
            .map(|w| Dense::new(w[0], w[1], rng))
            .collect();
        Self {
            layers,
            inputs: Vec::new(),
            step: 0,
        }
    }

    /// Logits for a batch `x` (rows = samples), keeping what backward needs.
    pub fn forward(&mut self, x: &ArrayView2<f64>) -> Array2<f64> {
        self.inputs.clear();
        let mut h = x.to_owned();
        let last = self.layers.len() - 1;
        for (i, layer) in self.layers.iter().enumerate() {
            let mut z = h.dot(&layer.w) + &layer.b;
            if i < last {
                z.mapv_inplace(|v| v.max(0.0));
            }
            self.inputs.push(h);
            h = z;
        }
        h
    }

    /// Logits without keeping activations (evaluation).
    pub fn predict(&self, x: &ArrayView2<f64>) -> Array2<f64> {
        let mut h = x.to_owned();
        let last = self.layers.len() - 1;
        for (i, layer) in self.layers.iter().enumerate() {
            h = h.dot(&layer.w) + &layer.b;
            if i < last {
                h.mapv_inplace(|v| v.max(0.0));
            }
        }
        h
    }

    /// Back-propagates `grad_logits = dL/dlogits` of the last forward pass
    /// into the parameter gradients.
    pub fn backward(&mut self, grad_logits: &ArrayView2<f64>) {
        let mut g = grad_logits.to_owned();
        for i in (0..self.layers.len()).rev() {
            let input = &self.inputs[i];
            let layer = &mut self.layers[i];
            layer.gw = input.t().dot(&g);
            layer.gb = g.sum_axis(Axis(0));
            if i > 0 {
                let mut gin = g.dot(&layer.w.t());
                // ReLU: the input of layer i is the ReLU output of layer i-1.
                ndarray::Zip::from(&mut gin).and(input).for_each(|d, &a| {
                    if a <= 0.0 {
                        *d = 0.0;
                    }
                });
                g = gin;
            }
        }
    }

    /// One Adam step on the gradients of the last backward pass.
    pub fn adam_step(&mut self, opt: &Adam) {
        self.step += 1;
        for l in &mut self.layers {
            adam_update(&mut l.w, &l.gw, &mut l.mw, &mut l.vw, opt, self.step);
            adam_update(&mut l.b, &l.gb, &mut l.mb, &mut l.vb, opt, self.step);
        }
    }
}

/// Copies rows `idx` of `x` and entries `idx` of `y` into the leading rows
/// of the reusable batch buffers; returns the batch size.
pub fn gather(
    x: &ArrayView2<f64>,
    y: &ArrayView1<usize>,
    idx: &[usize],
    xb: &mut Array2<f64>,
    yb: &mut Array1<usize>,
) -> usize {
    for (k, &i) in idx.iter().enumerate() {
        xb.row_mut(k).assign(&x.row(i));
        yb[k] = y[i];
    }
    idx.len()
}

/// Median wall time of `reps` runs of `f` in milliseconds, after one
/// warm-up run.
pub fn median_ms(
    reps: usize,
    mut f: impl FnMut() -> Result<(), Box<dyn Error>>,
) -> Result<f64, Box<dyn Error>> {
    f()?; // warm-up
    let mut t = Vec::with_capacity(reps);
    for _ in 0..reps {
        let s = std::time::Instant::now();
        f()?;
        t.push(s.elapsed().as_secs_f64() * 1e3);
    }
    t.sort_by(f64::total_cmp);
    Ok(t[reps / 2])
}

/// Prints the mean balanced accuracy and macro-F1 over splits of each
/// named loss (`scores[k]`: one `(bal-acc, macro-F1)` per split).
pub fn print_scores(names: &[&str], scores: &[Vec<(f64, f64)>]) {
    println!("{:<28} {:>8} {:>9}", "loss", "bal-acc", "macro-F1");
    for (name, s) in names.iter().zip(scores) {
        let n = s.len() as f64;
        let bal = s.iter().map(|v| v.0).sum::<f64>() / n;
        let f1 = s.iter().map(|v| v.1).sum::<f64>() / n;
        println!("{name:<28} {bal:>8.3} {f1:>9.3}");
    }
}
