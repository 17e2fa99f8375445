//! Target checks and the `WeightedMean` denominator of the sigmoid family,
//! kept out of the driver's per-element loop: the check runs over fixed
//! blocks with a branch-free test per element (it vectorises) and only
//! scans a block element by element to name the first bad target.

use super::vector::BLOCK;
use super::SigmoidSpec;
use crate::float::LossFloat;
use crate::kernel::fast::Level;
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
    check_targets_at(Level::best(), t, ignore)
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
}
