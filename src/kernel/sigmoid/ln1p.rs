//! `ln(1 + t)` for `t` in `[0, 1]` by the odd `atanh` series: the softplus
//! step of the sigmoid kernel, branch-free so that its loops vectorise.

use crate::kernel::float::LossFloat;
use crate::kernel::vmath::madd;

/// `ln(1 + t) = 2 atanh(s)` from `s = t / (2 + t)`, for `s` in `[0, 1/3]`
/// (`t` in `[0, 1]`): the odd series `2 (s + s^3/3 + s^5/5 + ...)`,
/// truncated where the next term is below a quarter ulp (to `s^13` in
/// `f32`, `s^31` in `f64`). Branch-free and division-free: the caller forms
/// `s` (sharing a reciprocal with `1 / (1 + t)`); the result has `s`'s
/// relative error plus about one ulp. The steps are fused multiply-adds
/// when `FMA` (see [`madd`]).
#[inline(always)]
pub(crate) fn ln_1p_atanh_with<F: LossFloat, const FMA: bool>(s: F) -> F {
    // 1/3, 1/5, .., 1/31 (f64) or .., 1/13 (f32), applied from the top.
    const INV_ODD: [f64; 15] = [
        1.0 / 3.0,
        1.0 / 5.0,
        1.0 / 7.0,
        1.0 / 9.0,
        1.0 / 11.0,
        1.0 / 13.0,
        1.0 / 15.0,
        1.0 / 17.0,
        1.0 / 19.0,
        1.0 / 21.0,
        1.0 / 23.0,
        1.0 / 25.0,
        1.0 / 27.0,
        1.0 / 29.0,
        1.0 / 31.0,
    ];
    let f64_precision = F::epsilon() < F::from_f64_(1e-10);
    let terms = if f64_precision { 15 } else { 6 };
    let s2 = s * s;
    let mut q = F::zero();
    for &c in INV_ODD[..terms].iter().rev() {
        q = madd::<F, FMA>(q, s2, F::from_f64_(c));
    }
    let two_s = s + s;
    madd::<F, FMA>(two_s * s2, q, two_s)
}

#[cfg(test)]
mod ln_1p_tests {
    use super::ln_1p_atanh_with;
    use crate::kernel::float::LossFloat;

    fn ln_1p_atanh<F: LossFloat>(s: F) -> F {
        ln_1p_atanh_with::<F, false>(s)
    }

    fn rel(a: f64, b: f64) -> f64 {
        if a == b {
            0.0
        } else {
            (a - b).abs() / b.abs()
        }
    }

    /// `ln_1p_atanh(t / (2 + t))` against std's `ln_1p(t)` over `[0, 1]`: a
    /// dense grid, a logarithmic sweep down to subnormals, and the ends;
    /// both the plain and the fused variants. `s` is formed in higher
    /// precision so only the series is measured.
    #[test]
    fn ln_1p_atanh_is_accurate() {
        let worst = |f64_fn: fn(f64) -> f64, f32_fn: fn(f32) -> f32| {
            let mut worst = (0.0f64, 0.0f64);
            let dense = (0..=200_000).map(|i| f64::from(i) / 200_000.0);
            // Normal numbers only: the kernels flush smaller `t` to 0.
            let sweep = (0..=3700).map(|i| 2f64.powf(-f64::from(i) * 0.27));
            for t in dense.chain(sweep) {
                // s in f64 is exact to half an ulp; the series adds the rest.
                let s = t / (2.0 + t);
                worst.0 = worst.0.max(rel(f64_fn(s), t.ln_1p()) / f64::EPSILON);
                let t32 = t as f32;
                if t32 < 1e-37 {
                    continue;
                }
                let s32 = (f64::from(t32) / (2.0 + f64::from(t32))) as f32;
                let got = f64::from(f32_fn(s32));
                let want = f64::from(t32).ln_1p();
                worst.1 = worst.1.max(rel(got, want) / f64::from(f32::EPSILON));
            }
            worst
        };
        let plain = worst(ln_1p_atanh, ln_1p_atanh);
        assert!(plain.0 <= 2.0 && plain.1 <= 2.0, "worst ulps {plain:?}");
        let fused = worst(ln_1p_atanh_with::<f64, true>, ln_1p_atanh_with::<f32, true>);
        assert!(
            fused.0 <= 2.0 && fused.1 <= 2.0,
            "worst ulps (fused) {fused:?}"
        );
        assert_eq!(ln_1p_atanh_with::<f32, true>(0.0), 0.0);
        assert_eq!(ln_1p_atanh_with::<f32, true>(1e-30), 2e-30);
        assert_eq!(ln_1p_atanh(0.0_f64), 0.0);
        assert_eq!(ln_1p_atanh(0.0_f32), 0.0);
        assert_eq!(ln_1p_atanh(1e-300_f64), 2e-300);
        assert_eq!(ln_1p_atanh(1e-30_f32), 2e-30);
    }
}
