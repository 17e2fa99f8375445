//! [`Wide`]: non-negative numbers with an `f64` significand and an `i64`
//! exponent, so that the intermediate sums, products and ratios of extreme
//! counts and weights neither overflow nor lose precision in the subnormal
//! range.
//!
//! Every operation rounds its significand once, to 53 bits, exactly as the
//! same `f64` operation would: wherever the plain `f64` computation stays in
//! the normal range, the result converted back with [`Wide::to_f64`] is
//! bitwise identical to it. Only the final conversion can overflow (to
//! `inf`) or underflow (to a subnormal or 0). An underflowing result is
//! then rounded twice (to 53 bits, then to the subnormal grid), which can
//! differ from the one rounding of the `f64` operation by one unit;
//! [`Wide::mul_to_f64`] rounds a last product once.

use std::cmp::Ordering;

/// `m · 2^e` with `m` in `[0.5, 1)`, or `m = 0` (then `e = 0`). A non-finite
/// `m` (never produced from finite inputs) propagates to [`Wide::to_f64`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Wide {
    m: f64,
    e: i64,
}

/// `2^e` for `e` in `-1022..=1023` (a normal number, exact).
fn pow2(e: i64) -> f64 {
    debug_assert!((-1022..=1023).contains(&e));
    f64::from_bits(((e + 1023) as u64) << 52)
}

/// `(m, e)` with `x = m · 2^e`, `m` in `[0.5, 1)`; `(0, 0)` for zero and
/// `(x, 0)` for a non-finite `x`.
fn frexp(x: f64) -> (f64, i64) {
    if x == 0.0 || !x.is_finite() {
        return (if x == 0.0 { 0.0 } else { x }, 0);
    }
    if x.abs() < f64::MIN_POSITIVE {
        // Subnormal: scale into the normal range first (exact).
        let (m, e) = frexp(x * pow2(64));
        return (m, e - 64);
    }
    let bits = x.to_bits();
    let biased = ((bits >> 52) & 0x7ff) as i64;
    // Replace the exponent by that of 0.5 (biased 1022).
    let m = f64::from_bits((bits & !(0x7ff_u64 << 52)) | (1022_u64 << 52));
    (m, biased - 1022)
}

/// `m · 2^e`, rounded once (to a subnormal or 0 when it is that small;
/// `inf` when it exceeds `f64::MAX`), for `|m|` in `[0.5, 2)` or 0.
fn ldexp(m: f64, e: i64) -> f64 {
    if m == 0.0 || !m.is_finite() {
        return m;
    }
    if e > 1023 {
        // |m| 2^e >= 2^1023: finite only for e = 1024 and |m| < 1.
        return if e > 1024 {
            m * f64::INFINITY
        } else {
            m * 2.0 * pow2(1023)
        };
    }
    if e < -1022 {
        if e < -1100 {
            return m * 0.0; // below half the smallest subnormal
        }
        // Exact first step into [2^-80, 2), then the one rounding.
        return m * pow2(e + 1022) * pow2(-1022);
    }
    m * pow2(e)
}

impl Wide {
    /// Zero.
    pub(super) const ZERO: Wide = Wide { m: 0.0, e: 0 };
    /// One.
    pub(super) const ONE: Wide = Wide { m: 0.5, e: 1 };

    /// `x`, exactly (a non-negative finite `x`).
    pub(super) fn new(x: f64) -> Wide {
        let (m, e) = frexp(x);
        Wide { m, e }
    }

    /// Normalises `m · 2^e` (`m` finite, any magnitude, or not finite).
    fn scaled(m: f64, e: i64) -> Wide {
        let (m2, e2) = frexp(m);
        Wide {
            m: m2,
            e: if m2 == 0.0 || !m2.is_finite() {
                0
            } else {
                e + e2
            },
        }
    }

    /// Whether this is zero.
    pub(super) fn is_zero(self) -> bool {
        self.m == 0.0
    }

    /// The nearest `f64` (`inf` beyond `f64::MAX`).
    pub(super) fn to_f64(self) -> f64 {
        ldexp(self.m, self.e)
    }

    /// `self · o`, rounded once.
    pub(super) fn mul(self, o: Wide) -> Wide {
        Wide::scaled(self.m * o.m, self.e + o.e)
    }

    /// `self · o` as the nearest `f64`, rounded once also where it is
    /// subnormal (as the plain `f64` product of the two values, where they
    /// are `f64`s).
    pub(super) fn mul_to_f64(self, o: Wide) -> f64 {
        let (mut hi, mut e) = (self.m * o.m, self.e + o.e);
        // `hi + lo` is the exact product of the significands.
        let mut lo = self.m.mul_add(o.m, -hi);
        if hi.abs() < 0.5 && hi != 0.0 {
            // Into `[0.5, 1)` (exactly), as `ldexp` expects.
            (hi, lo, e) = (hi * 2.0, lo * 2.0, e - 1);
        }
        let r = ldexp(hi, e);
        if !r.is_finite() || r.abs() >= f64::MIN_POSITIVE || !(-1100..=-1022).contains(&e) {
            // Normal, overflowing, or far below the subnormal range.
            return r;
        }
        if lo == 0.0 {
            return r;
        }
        // `r` in units of `2^e` (exact: powers of two, normal results), and
        // the first rounding's distance `d` from it (exact, as `hi` and `rb`
        // are neighbours). Only a tie (`|d|` half a subnormal unit) can
        // round the wrong way; `lo` breaks it.
        let rb = r * pow2(1022) * pow2(-e - 1022);
        let d = hi - rb;
        let half = pow2(-1075 - e);
        let unit = f64::from_bits(1).copysign(lo);
        if (d == half && lo > 0.0) || (d == -half && lo < 0.0) {
            r + unit
        } else {
            r
        }
    }

    /// `self / o`, rounded once (`o` non-zero).
    pub(super) fn div(self, o: Wide) -> Wide {
        Wide::scaled(self.m / o.m, self.e - o.e)
    }

    /// `self + o`, rounded once.
    pub(super) fn add(self, o: Wide) -> Wide {
        if self.is_zero() {
            return o;
        }
        if o.is_zero() {
            return self;
        }
        let top = self.e.max(o.e);
        Wide::scaled(ldexp(self.m, self.e - top) + ldexp(o.m, o.e - top), top)
    }

    /// `self / 2`, exactly.
    pub(super) fn half(self) -> Wide {
        if self.is_zero() {
            self
        } else {
            Wide {
                m: self.m,
                e: self.e - 1,
            }
        }
    }

    /// `sqrt(self)`, rounded once.
    pub(super) fn sqrt(self) -> Wide {
        if self.is_zero() {
            return self;
        }
        // m 2^e = (m 2^(e mod 2)) 4^(e div 2), with m 2^(e mod 2) in [0.5, 2).
        let odd = self.e.rem_euclid(2);
        let m = if odd == 1 { self.m * 2.0 } else { self.m };
        Wide::scaled(m.sqrt(), (self.e - odd) / 2)
    }

    /// The sum, added left to right (as `Iterator::sum` over `f64`).
    pub(super) fn sum(values: impl IntoIterator<Item = Wide>) -> Wide {
        values.into_iter().fold(Wide::ZERO, Wide::add)
    }

    /// The order of the numbers (non-negative, finite).
    pub(super) fn order(&self, o: &Wide) -> Ordering {
        (!self.is_zero(), self.e)
            .cmp(&(!o.is_zero(), o.e))
            .then(self.m.total_cmp(&o.m))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLES: [f64; 12] = [
        0.0,
        5e-324,
        1e-310,
        f64::MIN_POSITIVE,
        1e-300,
        0.1,
        1.0,
        3.0,
        1.0 / 3.0,
        1e10,
        1e300,
        f64::MAX,
    ];

    #[test]
    fn round_trips_exactly() {
        for x in SAMPLES {
            assert_eq!(Wide::new(x).to_f64().to_bits(), x.to_bits(), "{x:e}");
        }
        assert_eq!(Wide::ONE.to_f64(), 1.0);
        assert_eq!(Wide::ZERO.to_f64(), 0.0);
    }

    #[test]
    fn matches_f64_where_that_is_finite() {
        for a in SAMPLES {
            for b in SAMPLES {
                let (wa, wb) = (Wide::new(a), Wide::new(b));
                let sum = a + b;
                if sum.is_finite() {
                    assert_eq!(wa.add(wb).to_f64(), sum, "{a:e} + {b:e}");
                }
                let prod = a * b;
                if prod.is_finite() && (prod == 0.0 || prod >= f64::MIN_POSITIVE) {
                    assert_eq!(wa.mul(wb).to_f64(), prod, "{a:e} * {b:e}");
                }
                let quot = a / b;
                if b != 0.0 && quot.is_finite() && (quot == 0.0 || quot >= f64::MIN_POSITIVE) {
                    assert_eq!(wa.div(wb).to_f64(), quot, "{a:e} / {b:e}");
                }
            }
            assert_eq!(Wide::new(a).sqrt().to_f64(), a.sqrt(), "sqrt {a:e}");
        }
    }

    #[test]
    fn keeps_what_f64_loses() {
        let max = Wide::new(f64::MAX);
        // (MAX + MAX) / (2 MAX) = 1, although MAX + MAX overflows.
        let two = Wide::new(2.0);
        assert_eq!(max.add(max).div(max.mul(two)).to_f64(), 1.0);
        // 5e-324 * 1.5 / 5e-324 = 1.5, although the product is subnormal.
        let tiny = Wide::new(5e-324);
        assert_eq!(tiny.mul(Wide::new(1.5)).div(tiny).to_f64(), 1.5);
        // sqrt(MAX / 1e-300), about 2^1010, is finite although the ratio is not.
        let ratio = max.div(Wide::new(1e-300));
        assert_eq!(ratio.to_f64(), f64::INFINITY);
        assert!(ratio.sqrt().to_f64().is_finite());
        assert_eq!(max.mul(two).to_f64(), f64::INFINITY);
        assert_eq!(tiny.mul(Wide::new(0.25)).to_f64(), 0.0);
        assert_eq!(tiny.mul(Wide::new(0.75)).to_f64(), 5e-324);
    }

    #[test]
    fn subnormal_results_are_rounded_once() {
        // 3 * 2^-1076 = 0.75 * 2^-1074 rounds to 2^-1074 (once), not to 0.
        let w = Wide::new(3.0)
            .mul(Wide::new(pow2(-1000)))
            .mul(Wide::new(pow2(-76)));
        assert_eq!(w.to_f64(), 5e-324);
        assert_eq!(ldexp(0.75, -1074), 5e-324);
        assert_eq!(ldexp(0.75, -1073), 1e-323); // 1.5 ulp: ties to even
        assert_eq!(ldexp(0.5, 1025), f64::INFINITY);
        assert_eq!(ldexp(0.5, -1200), 0.0);
    }

    #[test]
    fn orders_like_the_values() {
        for a in SAMPLES {
            for b in SAMPLES {
                assert_eq!(
                    Wide::new(a).order(&Wide::new(b)),
                    a.total_cmp(&b),
                    "{a:e} {b:e}"
                );
            }
        }
    }
}
