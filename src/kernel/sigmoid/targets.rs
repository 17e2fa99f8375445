//! Target checks and the `WeightedMean` denominator of the sigmoid family,
//! kept out of the driver's per-element loop: the check runs over fixed
//! blocks with a branch-free test per element (it vectorises) and only
//! scans a block element by element to name the first bad target.

use super::spec::SigmoidSpec;
use super::vector::BLOCK;
use crate::kernel::chunks::{join, PAR_MIN_ELEMS};
use crate::kernel::float::LossFloat;
use crate::kernel::level::Level;
use crate::kernel::Geom;

#[inline(always)]
fn valid<F: LossFloat>(v: F) -> bool {
    // False for NaN.
    (v >= F::zero()) & (v <= F::one())
}

/// Checks that every non-ignored target lies in `[0, 1]`; returns the
/// number of non-ignored elements, or the offset of the first bad target.
pub(crate) fn check_targets<F: LossFloat>(
    t: &[F],
    ignore: Option<&[bool]>,
) -> Result<usize, usize> {
    split_check(Level::best(), t, ignore)
}

/// [`check_targets_at`]; with the `rayon` feature, inputs of at least twice
/// `PAR_MIN_ELEMS` are checked as two halves in parallel (recursively), so
/// the check does not stay serial in front of the parallel kernel. The
/// result does not depend on the split: counts add, and the left half's
/// first bad target comes before any of the right half's.
fn split_check<F: LossFloat>(
    level: Level,
    t: &[F],
    ignore: Option<&[bool]>,
) -> Result<usize, usize> {
    if cfg!(feature = "rayon") && t.len() >= 2 * PAR_MIN_ELEMS {
        let mid = t.len() / 2 / BLOCK * BLOCK;
        let (tl, tr) = t.split_at(mid);
        let (il, ir) = match ignore {
            Some(m) => {
                let (a, b) = m.split_at(mid);
                (Some(a), Some(b))
            }
            None => (None, None),
        };
        let (l, r) = join(
            true,
            || split_check(level, tl, il),
            || split_check(level, tr, ir),
        );
        return match (l, r) {
            (Err(i), _) => Err(i),
            (Ok(_), Err(j)) => Err(mid + j),
            (Ok(a), Ok(b)) => Ok(a + b),
        };
    }
    check_targets_at(level, t, ignore)
}

/// [`check_targets`] at a given instruction-set level.
pub(crate) fn check_targets_at<F: LossFloat>(
    level: Level,
    t: &[F],
    ignore: Option<&[bool]>,
) -> Result<usize, usize> {
    match level {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `Level::Avx2` is only chosen when AVX2 and FMA were detected.
        Level::Avx2 => unsafe { check_avx2(t, ignore) },
        #[cfg(all(target_arch = "x86_64", focal_avx512))]
        // SAFETY: `Level::Avx512` is only chosen when AVX-512F was detected.
        Level::Avx512 => unsafe { check_avx512(t, ignore) },
        _ => check_body(t, ignore),
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn check_avx2<F: LossFloat>(t: &[F], ignore: Option<&[bool]>) -> Result<usize, usize> {
    check_body(t, ignore)
}

#[cfg(all(target_arch = "x86_64", focal_avx512))]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn check_avx512<F: LossFloat>(t: &[F], ignore: Option<&[bool]>) -> Result<usize, usize> {
    check_body(t, ignore)
}

/// The body of [`check_targets`].
#[inline(always)]
fn check_body<F: LossFloat>(t: &[F], ignore: Option<&[bool]>) -> Result<usize, usize> {
    match ignore {
        None => {
            for (bi, ch) in t.chunks(BLOCK).enumerate() {
                if !ch.iter().fold(true, |ok, &v| ok & valid(v)) {
                    let j = ch.iter().position(|&v| !valid(v)).unwrap_or(0);
                    return Err(bi * BLOCK + j);
                }
            }
            Ok(t.len())
        }
        Some(ig) => {
            let mut count = 0;
            for (bi, (ch, ich)) in t.chunks(BLOCK).zip(ig.chunks(BLOCK)).enumerate() {
                let ok = ch
                    .iter()
                    .zip(ich)
                    .fold(true, |ok, (&v, &i)| ok & (i | valid(v)));
                if !ok {
                    let j = ch
                        .iter()
                        .zip(ich)
                        .position(|(&v, &i)| !(i || valid(v)))
                        .unwrap_or(0);
                    return Err(bi * BLOCK + j);
                }
                count += ich.iter().filter(|&&i| !i).count();
            }
            Ok(count)
        }
    }
}

/// `Σ W` over the non-ignored elements, `W = weight_k · alpha_t(y')` (the
/// `WeightedMean` denominator), summed in element order in `f64`.
pub(crate) fn weight_sum<F: LossFloat>(
    spec: &SigmoidSpec<'_, F>,
    t: &[F],
    ignore: Option<&[bool]>,
    geom: Geom,
) -> f64 {
    let Geom { n, c, m } = geom;
    let mut sum = 0.0;
    for b in 0..n {
        for k in 0..c {
            let base = (b * c + k) * m;
            for i in base..base + m {
                if ignore.is_some_and(|ig| ig[i]) {
                    continue;
                }
                sum += spec.element_weight(k, spec.smooth(t[i])).to_f64_();
            }
        }
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_bad_target_is_named() {
        for level in Level::available() {
            let check = |t: &[f64], ig: Option<&[bool]>| check_targets_at(level, t, ig);
            let mut t = vec![0.5_f64; 3 * BLOCK + 7];
            assert_eq!(check(&t, None), Ok(t.len()));
            t[2 * BLOCK + 3] = f64::NAN;
            t[2 * BLOCK + 5] = -0.1;
            assert_eq!(check(&t, None), Err(2 * BLOCK + 3));
            let mut ig = vec![false; t.len()];
            ig[2 * BLOCK + 3] = true;
            assert_eq!(check(&t, Some(&ig)), Err(2 * BLOCK + 5));
            ig[2 * BLOCK + 5] = true;
            ig[0] = true;
            assert_eq!(check(&t, Some(&ig)), Ok(t.len() - 3));
            let t32 = [0.0_f32, 1.0, 1.5];
            assert_eq!(check_targets_at(level, &t32, None), Err(2));
        }
    }

    /// Large enough to be split (in parallel with `rayon`): the first bad
    /// target is named whichever part holds it, and the counts add up.
    #[test]
    fn split_check_names_the_first_bad_target() {
        let n = 5 * PAR_MIN_ELEMS + 13;
        let mut t = vec![1.0_f32; n];
        let mut ig = vec![false; n];
        ig[7] = true;
        ig[n - 1] = true;
        assert_eq!(check_targets(&t, Some(&ig)), Ok(n - 2));
        t[n - 2] = 2.0;
        assert_eq!(check_targets(&t, None), Err(n - 2));
        t[n / 2 + 1] = f32::NAN;
        assert_eq!(check_targets(&t, None), Err(n / 2 + 1));
        t[3] = -1.0;
        assert_eq!(check_targets(&t, Some(&ig)), Err(3));
        ig[3] = true;
        assert_eq!(check_targets(&t, Some(&ig)), Err(n / 2 + 1));
    }
}
