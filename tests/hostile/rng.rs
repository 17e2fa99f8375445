//! A small deterministic RNG (SplitMix64) and pickers for hostile values.
//!
//! The hostile suite and the fuzz targets draw every case from a `u64`
//! seed, so a failure is reproduced by its seed alone.
#![allow(dead_code)]

use focal_loss::LossFloat;

/// SplitMix64: tiny, fast, and good enough to spread test inputs.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        Rng(seed ^ 0x9E37_79B9_7F4A_7C15)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in `[lo, hi)`.
    pub fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }

    /// `true` with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// One element of a non-empty slice.
    pub fn pick<T: Clone>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())].clone()
    }
}

/// How hostile the values of one array are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavour {
    /// Moderate finite values (`|v| <= 20`).
    Clean,
    /// Large finite values as well: `±1e4` in `f32`, up to `±1e300` in `f64`.
    Big,
    /// Extreme finite values as well: `±MAX`, subnormals, `-0.0`.
    Extreme,
    /// Some `-inf` (masked classes).
    Masked,
    /// Some NaN and `+inf`.
    Poison,
}

impl Flavour {
    /// A flavour for logits: mostly clean, every kind some of the time.
    pub fn draw(rng: &mut Rng) -> Flavour {
        match rng.below(10) {
            0..=3 => Flavour::Clean,
            4 | 5 => Flavour::Big,
            6 => Flavour::Extreme,
            7 | 8 => Flavour::Masked,
            _ => Flavour::Poison,
        }
    }
}

/// The largest "big but reasonable" logit for precision `F`: `1e4` for
/// `f32`, `1e300` for `f64` (the stability range of the contract).
pub fn big<F: LossFloat>() -> f64 {
    if F::max_value().to_f64_() < 1e39 {
        1e4
    } else {
        1e300
    }
}

/// One logit of the given flavour, rounded to `F`.
pub fn logit<F: LossFloat>(rng: &mut Rng, fl: Flavour) -> F {
    let max = F::max_value().to_f64_();
    let v = match (fl, rng.below(12)) {
        (Flavour::Masked, 0..=2) => f64::NEG_INFINITY,
        (Flavour::Poison, 0) => f64::NAN,
        (Flavour::Poison, 1) => f64::INFINITY,
        (Flavour::Poison, 2) => f64::NEG_INFINITY,
        (Flavour::Big | Flavour::Extreme, 0..=2) => {
            let s = if rng.chance(0.5) { -1.0 } else { 1.0 };
            s * big::<F>() * rng.pick(&[1.0, 0.5, 1e-3, 1e-100])
        }
        (Flavour::Extreme, 3) => rng.pick(&[max, -max, -0.0]),
        (Flavour::Extreme, 4) => rng.pick(&[1e-45, -1e-45, 5e-324, 1e-310]),
        (_, 5) => rng.pick(&[0.0, 1.0, -1.0]),
        _ => rng.range(-20.0, 20.0),
    };
    F::from_f64_(v)
}

/// A per-class parameter vector (weights, alpha, pos_weight) of length
/// `len`, hostile with the given probability.
pub fn weights(rng: &mut Rng, len: usize, hostile: f64, unit: bool) -> Vec<f64> {
    let kind = if rng.chance(hostile) { rng.below(6) } else { 6 };
    (0..len)
        .map(|_| match kind {
            0 => rng.pick(&[f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -1.0, -1e-300]),
            1 => 0.0,
            2 => rng.pick(&[1e-30, 1e-300, 5e-324, 1e-40, 0.0]),
            3 => rng.pick(&[1e30, 1e38, 1e39, 1e300, f64::MAX, 1.0]),
            4 => rng.pick(&[-0.0, 0.0, 1.0, 1.5, 0.5]),
            5 if rng.chance(0.2) => rng.pick(&[f64::NAN, -0.5, 2.0]),
            _ if unit => rng.unit(),
            _ => rng.range(0.0, 10.0),
        })
        .collect()
}

/// A scalar parameter drawn from `good` most of the time, else from `bad`.
pub fn param(rng: &mut Rng, good: &[f64], bad: &[f64], hostile: f64) -> f64 {
    if rng.chance(hostile) {
        rng.pick(bad)
    } else {
        rng.pick(good)
    }
}

/// Values that are never acceptable where a finite number is required.
pub const NON_FINITE: [f64; 3] = [f64::NAN, f64::INFINITY, f64::NEG_INFINITY];
