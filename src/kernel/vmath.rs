//! Branch-free `exp`, `ln` and `expm1` written so that loops calling them
//! vectorise (no libm calls, no data-dependent branches; selects only).
//!
//! Accuracy, measured against the standard library over the ranges the
//! kernels use (see the tests at the bottom): a few ulp. Inputs the kernels
//! never pass (NaN, `+inf`) are not handled specially.
//!
//! - `exp`: Cody–Waite reduction `x = n ln2 + r`, `|r| <= ln2/2`, a
//!   polynomial in `r` (minimax for `f32`, Taylor for `f64`), scaling by
//!   `2^n` through the exponent bits. Results below the smallest normal
//!   number are flushed to 0.
//! - `ln`: `x = m 2^e`, `m in [sqrt(1/2), sqrt(2))`, `ln m = 2 atanh(s)`,
//!   `s = (m-1)/(m+1)`, odd series in `s`. Subnormals are rescaled first;
//!   `ln 0 = -inf`.
//! - `expm1` (for `x <= 0`): Taylor series for `|x| < 1/2`, `exp(x) - 1`
//!   beyond, where no cancellation occurs.

/// `a * b + c`, fused (one rounding) when `FMA`: only where the caller
/// runs with the `fma` target feature enabled, else it is a libm call.
#[inline(always)]
pub(crate) fn madd<T: num_traits::Float, const FMA: bool>(a: T, b: T, c: T) -> T {
    if FMA {
        a.mul_add(b, c)
    } else {
        a * b + c
    }
}

/// `e^x` in `f32`.
#[inline(always)]
pub(crate) fn exp_f32(x: f32) -> f32 {
    exp_f32_with::<false>(x)
}

/// `e^x` in `f32`; with fused multiply-adds when `FMA` (for callers
/// compiled with the `fma` target feature).
#[inline(always)]
pub(crate) fn exp_f32_with<const FMA: bool>(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    const LO: f32 = -87.0;
    const HI: f32 = 88.0;
    let xc = x.clamp(LO, HI);
    // Round to nearest with the 1.5 * 2^23 trick: `kf`'s low mantissa bits
    // hold n, so neither libm nor a float-to-int conversion is needed.
    let kf = madd::<f32, FMA>(xc, LOG2E, 12_582_912.0);
    let n = kf - 12_582_912.0;
    let r = madd::<f32, FMA>(-n, LN2_LO, madd::<f32, FMA>(-n, LN2_HI, xc));
    // Minimax polynomial for (e^r - 1 - r) / r^2 on |r| <= ln2/2 (the
    // classic Cephes `expf` coefficients).
    let mut q = 1.987_569_2e-4;
    q = madd::<f32, FMA>(q, r, 1.398_199_9e-3);
    q = madd::<f32, FMA>(q, r, 8.333_452e-3);
    q = madd::<f32, FMA>(q, r, 4.166_579_6e-2);
    q = madd::<f32, FMA>(q, r, 1.666_666_5e-1);
    q = madd::<f32, FMA>(q, r, 0.5);
    let p = madd::<f32, FMA>(q * r, r, r) + 1.0;
    let scale = f32::from_bits(kf.to_bits().wrapping_sub(0x4B40_0000 - 127) << 23);
    if x < LO {
        0.0
    } else {
        p * scale
    }
}

/// `e^x` in `f64`.
#[inline(always)]
pub(crate) fn exp_f64(x: f64) -> f64 {
    exp_f64_with::<false>(x)
}

/// `e^x` in `f64`; with fused multiply-adds when `FMA` (see
/// [`exp_f32_with`]).
#[inline(always)]
pub(crate) fn exp_f64_with<const FMA: bool>(x: f64) -> f64 {
    const LOG2E: f64 = std::f64::consts::LOG2_E;
    const LN2_HI: f64 = 6.931_471_803_691_238e-1;
    const LN2_LO: f64 = 1.908_214_929_270_587_7e-10;
    const LO: f64 = -708.0;
    const HI: f64 = 709.0;
    let xc = x.clamp(LO, HI);
    // Round to nearest with the 1.5 * 2^52 trick (see `exp_f32`).
    let kf = madd::<f64, FMA>(xc, LOG2E, 6_755_399_441_055_744.0);
    let n = kf - 6_755_399_441_055_744.0;
    let r = madd::<f64, FMA>(-n, LN2_LO, madd::<f64, FMA>(-n, LN2_HI, xc));
    // Taylor coefficients 1/k!, k = 0..=13, evaluated by Horner's rule.
    let mut p = 1.0 / 6_227_020_800.0;
    for c in [
        1.0 / 479_001_600.0,
        1.0 / 39_916_800.0,
        1.0 / 3_628_800.0,
        1.0 / 362_880.0,
        1.0 / 40_320.0,
        1.0 / 5_040.0,
        1.0 / 720.0,
        1.0 / 120.0,
        1.0 / 24.0,
        1.0 / 6.0,
        0.5,
        1.0,
        1.0,
    ] {
        p = madd::<f64, FMA>(p, r, c);
    }
    let scale = f64::from_bits(kf.to_bits().wrapping_sub(0x4338_0000_0000_0000 - 1023) << 52);
    if x < LO {
        0.0
    } else {
        p * scale
    }
}

/// `ln x` in `f32` for `x >= 0` (finite).
#[inline(always)]
pub(crate) fn ln_f32(x: f32) -> f32 {
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    let sub = x < f32::MIN_POSITIVE;
    let xs = if sub { x * 16_777_216.0 } else { x }; // 2^24
    let bits = xs.to_bits();
    let mut e = ((bits >> 23) & 0xff) as i32 - 127 - if sub { 24 } else { 0 };
    let mut m = f32::from_bits((bits & 0x007f_ffff) | 0x3f80_0000);
    let big = m > std::f32::consts::SQRT_2;
    m = if big { m * 0.5 } else { m };
    e += big as i32;
    let s = (m - 1.0) / (m + 1.0);
    let s2 = s * s;
    let series =
        2.0 * s * (1.0 + s2 * (1.0 / 3.0 + s2 * (1.0 / 5.0 + s2 * (1.0 / 7.0 + s2 * (1.0 / 9.0)))));
    let ef = e as f32;
    let v = ef * LN2_HI + (ef * LN2_LO + series);
    if x == 0.0 {
        f32::NEG_INFINITY
    } else {
        v
    }
}

/// `ln x` in `f64` for `x >= 0` (finite).
#[inline(always)]
pub(crate) fn ln_f64(x: f64) -> f64 {
    const LN2_HI: f64 = 6.931_471_803_691_238e-1;
    const LN2_LO: f64 = 1.908_214_929_270_587_7e-10;
    let sub = x < f64::MIN_POSITIVE;
    let xs = if sub { x * 4_503_599_627_370_496.0 } else { x }; // 2^52
    let bits = xs.to_bits();
    // The biased exponent as a float without an int-to-float conversion
    // (AVX2 has none for 64-bit integers): 2^52 + e, minus 2^52.
    let eb =
        f64::from_bits(0x4330_0000_0000_0000 | ((bits >> 52) & 0x7ff)) - 4_503_599_627_370_496.0;
    let mut m = f64::from_bits((bits & 0x000f_ffff_ffff_ffff) | 0x3ff0_0000_0000_0000);
    let big = m > std::f64::consts::SQRT_2;
    m = if big { m * 0.5 } else { m };
    let ef = eb - 1023.0 - if sub { 52.0 } else { 0.0 } + if big { 1.0 } else { 0.0 };
    let s = (m - 1.0) / (m + 1.0);
    let s2 = s * s;
    // 2 atanh(s) = 2 (s + s^3/3 + ... + s^21/21).
    let mut q = 1.0 / 21.0;
    q = q * s2 + 1.0 / 19.0;
    q = q * s2 + 1.0 / 17.0;
    q = q * s2 + 1.0 / 15.0;
    q = q * s2 + 1.0 / 13.0;
    q = q * s2 + 1.0 / 11.0;
    q = q * s2 + 1.0 / 9.0;
    q = q * s2 + 1.0 / 7.0;
    q = q * s2 + 1.0 / 5.0;
    q = q * s2 + 1.0 / 3.0;
    let series = 2.0 * s + 2.0 * s * s2 * q;
    let v = ef * LN2_HI + (ef * LN2_LO + series);
    if x == 0.0 {
        f64::NEG_INFINITY
    } else {
        v
    }
}

/// `e^x - 1` in `f32` for `x <= 0`.
#[inline(always)]
pub(crate) fn expm1_f32(x: f32) -> f32 {
    let mut t = 1.0 / 362_880.0;
    t = t * x + 1.0 / 40_320.0;
    t = t * x + 1.0 / 5_040.0;
    t = t * x + 1.0 / 720.0;
    t = t * x + 1.0 / 120.0;
    t = t * x + 1.0 / 24.0;
    t = t * x + 1.0 / 6.0;
    t = t * x + 0.5;
    let small = x + x * x * t;
    let big = exp_f32(x) - 1.0;
    if x > -0.5 {
        small
    } else {
        big
    }
}

/// `e^x - 1` in `f64` for `x <= 0`.
#[inline(always)]
pub(crate) fn expm1_f64(x: f64) -> f64 {
    // x + x^2 (1/2! + x/3! + ... + x^14/16!)
    let mut t = 1.0 / 20_922_789_888_000.0;
    t = t * x + 1.0 / 1_307_674_368_000.0;
    t = t * x + 1.0 / 87_178_291_200.0;
    t = t * x + 1.0 / 6_227_020_800.0;
    t = t * x + 1.0 / 479_001_600.0;
    t = t * x + 1.0 / 39_916_800.0;
    t = t * x + 1.0 / 3_628_800.0;
    t = t * x + 1.0 / 362_880.0;
    t = t * x + 1.0 / 40_320.0;
    t = t * x + 1.0 / 5_040.0;
    t = t * x + 1.0 / 720.0;
    t = t * x + 1.0 / 120.0;
    t = t * x + 1.0 / 24.0;
    t = t * x + 1.0 / 6.0;
    t = t * x + 0.5;
    let small = x + x * x * t;
    let big = exp_f64(x) - 1.0;
    if x > -0.5 {
        small
    } else {
        big
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ulps64(a: f64, b: f64) -> f64 {
        if a == b {
            return 0.0;
        }
        (a - b).abs() / (b.abs() * f64::EPSILON).max(f64::MIN_POSITIVE)
    }

    fn ulps32(a: f32, b: f64) -> f64 {
        if f64::from(a) == b {
            return 0.0;
        }
        (f64::from(a) - b).abs()
            / (b.abs() * f64::from(f32::EPSILON)).max(f64::from(f32::MIN_POSITIVE))
    }

    fn grid(lo: f64, hi: f64, n: usize) -> impl Iterator<Item = f64> {
        (0..=n).map(move |i| lo + (hi - lo) * i as f64 / n as f64)
    }

    #[test]
    fn exp_is_accurate() {
        let mut worst = (0.0f64, 0.0f64);
        for x in grid(-700.0, 700.0, 200_001) {
            worst.0 = worst.0.max(ulps64(exp_f64(x), x.exp()));
        }
        for x in grid(-86.0, 87.0, 200_001) {
            let x32 = x as f32;
            worst.1 = worst.1.max(ulps32(exp_f32(x32), f64::from(x32).exp()));
        }
        assert!(worst.0 <= 2.0 && worst.1 <= 2.0, "worst ulps {worst:?}");
        assert_eq!(exp_f64(f64::NEG_INFINITY), 0.0);
        assert_eq!(exp_f32(f32::NEG_INFINITY), 0.0);
        assert_eq!(exp_f64(0.0), 1.0);
        assert_eq!(exp_f32(0.0), 1.0);
        // The fused variants (run here through libm's fma, bit-identical
        // to the instruction).
        let mut worst = (0.0f64, 0.0f64);
        for x in grid(-700.0, 700.0, 20_001) {
            worst.0 = worst.0.max(ulps64(exp_f64_with::<true>(x), x.exp()));
        }
        for x in grid(-86.0, 87.0, 20_001) {
            let x32 = x as f32;
            worst.1 = worst
                .1
                .max(ulps32(exp_f32_with::<true>(x32), f64::from(x32).exp()));
        }
        assert!(
            worst.0 <= 2.0 && worst.1 <= 2.0,
            "worst ulps (fma) {worst:?}"
        );
        assert_eq!(exp_f32_with::<true>(f32::NEG_INFINITY), 0.0);
        assert_eq!(exp_f64_with::<true>(0.0), 1.0);
    }

    #[test]
    fn ln_is_accurate() {
        let mut worst = (0.0f64, 0.0f64);
        for i in 0..200_000 {
            let x = f64::from_bits(
                1 + (i as u64).wrapping_mul(0x0000_5bf0_a8b1_4576) % 0x7fef_ffff_ffff_ffff,
            );
            if x.is_finite() && x > 0.0 && (x - 1.0).abs() > 1e-3 {
                worst.0 = worst.0.max(ulps64(ln_f64(x), x.ln()));
            }
            let y = f32::from_bits(1 + (i as u32).wrapping_mul(10_667) % 0x7f7f_ffff);
            if y.is_finite() && y > 0.0 && (y - 1.0).abs() > 1e-3 {
                worst.1 = worst.1.max(ulps32(ln_f32(y), f64::from(y).ln()));
            }
        }
        assert!(worst.0 <= 2.0 && worst.1 <= 2.0, "worst ulps {worst:?}");
        // Near 1 the absolute error is what matters: ln(1 + d) ~ d.
        for x in grid(0.999, 1.001, 10_001) {
            assert!((ln_f64(x) - x.ln()).abs() <= 2.0 * f64::EPSILON * x.ln().abs() + 1e-19);
        }
        assert_eq!(ln_f64(0.0), f64::NEG_INFINITY);
        assert_eq!(ln_f32(0.0), f32::NEG_INFINITY);
        assert_eq!(ln_f64(1.0), 0.0);
        assert_eq!(ln_f32(1.0), 0.0);
    }

    #[test]
    fn expm1_is_accurate() {
        let mut worst = (0.0f64, 0.0f64);
        for x in grid(-700.0, 0.0, 100_001)
            .chain(grid(-1.0, 0.0, 100_001))
            .chain(grid(-1e-8, 0.0, 1001))
        {
            worst.0 = worst.0.max(ulps64(expm1_f64(x), x.exp_m1()));
            let x32 = x as f32;
            worst.1 = worst.1.max(ulps32(expm1_f32(x32), f64::from(x32).exp_m1()));
        }
        assert!(worst.0 <= 3.0 && worst.1 <= 3.0, "worst ulps {worst:?}");
        assert_eq!(expm1_f64(0.0), 0.0);
    }
}
