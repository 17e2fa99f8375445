//! The AVX-512 primitives against plain loops.

use super::*;

fn detected() -> bool {
    std::arch::is_x86_feature_detected!("avx512f")
}

/// `e^x` of one vector, through [`exp_le0`].
fn exp16(x: [f32; V]) -> [f32; V] {
    let mut out = [0.0f32; V];
    // SAFETY: only called after `detected()`.
    unsafe { _mm512_storeu_ps(out.as_mut_ptr(), exp_le0(_mm512_loadu_ps(x.as_ptr()))) };
    out
}

/// Distance in units in the last place between two finite `f32`s >= 0.
fn ulps(a: f32, b: f32) -> u32 {
    a.to_bits().abs_diff(b.to_bits())
}

#[test]
fn exp_is_within_two_ulp_of_f64_exp() {
    if !detected() {
        return;
    }
    let mut worst = 0;
    // Every 97th f32 in [-104, 0], plus the endpoints of the reduction.
    let mut xs: Vec<f32> = (0..u32::MAX / 97)
        .map(|i| f32::from_bits(0x8000_0000 | (i * 97)))
        .filter(|x| *x >= -104.0)
        .collect();
    xs.extend([0.0, -0.0, -104.0, -87.0, -0.346_573_6, -0.346_573_5]);
    for ch in xs.chunks(V) {
        let mut x = [0.0f32; V];
        x[..ch.len()].copy_from_slice(ch);
        let e = exp16(x);
        for (&xi, &ei) in x.iter().zip(&e) {
            let want = f64::from(xi).exp() as f32;
            if want >= f32::MIN_POSITIVE {
                worst = worst.max(ulps(ei, want));
            } else {
                // Subnormal results: within one least subnormal step.
                assert!(
                    (ei - want).abs() <= 2.0 * f32::from_bits(1),
                    "{xi}: {ei} vs {want}"
                );
            }
        }
    }
    // (The worst measured on this grid is 1 ulp.)
    assert!(worst <= 2, "worst error {worst} ulp");
}

#[test]
fn exp_special_values() {
    if !detected() {
        return;
    }
    let mut x = [0.0f32; V];
    x[0] = f32::NEG_INFINITY;
    x[1] = f32::NAN;
    x[2] = -1e30;
    x[3] = 0.0;
    let e = exp16(x);
    assert_eq!(e[0], 0.0);
    assert!(e[1].is_nan());
    assert_eq!(e[2], 0.0);
    assert_eq!(e[3], 1.0);
}

#[test]
fn row_primitives_match_plain_loops() {
    if !detected() {
        return;
    }
    for n in (1..80).chain([100, 127, 128, 129, 1000]) {
        let z: Vec<f32> = (0..n)
            .map(|i| ((i * 7919) % 113) as f32 / 17.0 - 3.0)
            .collect();
        let w: Vec<f32> = (0..n).map(|i| 0.5 + (i % 5) as f32 * 0.25).collect();
        // SAFETY: AVX-512F was detected above.
        let mx = unsafe { row_max(&z) };
        assert_eq!(
            mx,
            z.iter().copied().fold(f32::NEG_INFINITY, f32::max),
            "n = {n}"
        );
        // One element past the row must stay untouched.
        let mut d = vec![-7.0f32; n + 1];
        // SAFETY: as above.
        let s = unsafe { exp_store_sum(&z, mx, &mut d[..n]) };
        let want: f64 = z.iter().map(|&v| f64::from(v - mx).exp()).sum();
        assert!(
            (f64::from(s) - want).abs() <= 1e-6 * want,
            "n = {n}: {s} vs {want}"
        );
        for (k, (&dk, &zk)) in d.iter().zip(&z).enumerate() {
            let e = f64::from(zk - mx).exp();
            assert!((f64::from(dk) - e).abs() <= 3e-7 * e, "n = {n}, k = {k}");
        }
        assert_eq!(d[n], -7.0);
        let mut g = d.clone();
        // SAFETY: as above.
        unsafe { scale_uniform(d.as_ptr(), g.as_mut_ptr(), n, 0.5, -0.25) };
        for (k, (&gk, &dk)) in g.iter().zip(&d).take(n).enumerate() {
            assert_eq!(gk, dk.mul_add(0.5, -0.25), "n = {n}, k = {k}");
        }
        assert_eq!(g[n], -7.0);
        let mut g = d.clone();
        // SAFETY: as above.
        let gp = g.as_mut_ptr();
        unsafe { scale_weighted(gp.cast_const(), gp, n, (0.5, -0.25), w.as_ptr()) };
        for (k, ((&gk, &dk), &wk)) in g.iter().zip(&d).zip(&w).enumerate() {
            assert_eq!(gk, dk.mul_add(0.5, -0.25 * wk), "n = {n}, k = {k}");
        }
        assert_eq!(g[n], -7.0);
    }
}

#[test]
fn strips_match_plain_loops() {
    if !detected() {
        return;
    }
    let (c, np, stride) = (5, 40, 53);
    let z: Vec<f32> = (0..c * stride)
        .map(|i| ((i * 7919) % 211) as f32 / 9.0 - 11.0)
        .collect();
    for s0 in [0, 16, 24] {
        let mut mx = vec![0.0f32; np];
        // SAFETY: AVX-512F was detected above.
        assert!(unsafe { strip_extremes(&z, stride, c, s0, &mut mx) });
        let mut es = vec![0.0f32; c * np];
        let mut sum = vec![0.0f32; np];
        // SAFETY: as above.
        unsafe { strip_exp(&z, stride, c, np, s0, &mx, &mut es, &mut sum) };
        for i in s0..s0 + V {
            let col = (0..c).map(|cl| z[cl * stride + i]);
            assert_eq!(mx[i], col.clone().fold(f32::NEG_INFINITY, f32::max));
            let mut want = 0.0f32;
            for (cl, v) in col.enumerate() {
                let e = f64::from(v - mx[i]).exp();
                assert!((f64::from(es[cl * np + i]) - e).abs() <= 3e-7 * e);
                want += es[cl * np + i];
            }
            // Summed in class order, as the generic strip does.
            assert_eq!(sum[i], want);
        }
    }
    // A masked class (-inf) is accepted; a lane with every class masked is not.
    let mut zm = z.clone();
    zm[2 * stride + 16 + 7] = f32::NEG_INFINITY;
    let mut mx = vec![0.0f32; np];
    // SAFETY: as above.
    assert!(unsafe { strip_extremes(&zm, stride, c, 16, &mut mx) });
    for cl in 0..c {
        zm[cl * stride + 16 + 7] = f32::NEG_INFINITY;
    }
    // SAFETY: as above.
    assert!(!unsafe { strip_extremes(&zm, stride, c, 16, &mut mx) });
    // Any NaN or +inf, or a spread past f32::MAX, is refused.
    for bad in [f32::NAN, f32::INFINITY, 3e38] {
        let mut z = z.clone();
        z[2 * stride + 16 + 7] = bad;
        if bad == 3e38 {
            z[stride + 16 + 7] = -3e38;
        }
        let mut mx = vec![0.0f32; np];
        // SAFETY: as above.
        assert!(
            !unsafe { strip_extremes(&z, stride, c, 16, &mut mx) },
            "{bad}"
        );
        // SAFETY: as above; lanes 0..16 do not see the bad value.
        assert!(
            unsafe { strip_extremes(&z, stride, c, 0, &mut mx) },
            "{bad}"
        );
    }
}

#[test]
fn tile_passes_match_the_strips() {
    if !detected() {
        return;
    }
    let (c, stride) = (7, 200);
    let z: Vec<f32> = (0..c * stride)
        .map(|i| ((i * 7919) % 211) as f32 / 9.0 - 11.0)
        .collect();
    let (mut mx, mut es, mut sum) = (
        vec![0.0f32; TILE],
        vec![0.0f32; c * TILE],
        vec![0.0f32; TILE],
    );
    // SAFETY: AVX-512F was detected above.
    assert!(unsafe { tile_passes(&z, stride, c, &mut mx, &mut es, &mut sum) });
    let (mut mx2, mut es2, mut sum2) = (mx.clone(), vec![0.0f32; c * TILE], sum.clone());
    for s0 in (0..TILE).step_by(V) {
        // SAFETY: as above.
        assert!(unsafe { strip_extremes(&z, stride, c, s0, &mut mx2) });
        // SAFETY: as above.
        unsafe { strip_exp(&z, stride, c, TILE, s0, &mx2, &mut es2, &mut sum2) };
    }
    // Bitwise: the same operations in the same order per position.
    assert_eq!(mx, mx2);
    assert_eq!(es, es2);
    assert_eq!(sum, sum2);
    let mut zm = z.clone();
    zm[3 * stride + 41] = f32::NEG_INFINITY;
    // SAFETY: as above (a masked class is accepted).
    assert!(unsafe { tile_passes(&zm, stride, c, &mut mx, &mut es, &mut sum) });
    for bad in [f32::NAN, f32::INFINITY] {
        let mut z = z.clone();
        z[3 * stride + 41] = bad;
        let mut sum = vec![-1.0f32; TILE];
        // SAFETY: as above.
        assert!(!unsafe { tile_passes(&z, stride, c, &mut mx, &mut es, &mut sum) });
        assert!(sum.iter().all(|&v| v == -1.0), "{bad}: sums written");
    }
}
