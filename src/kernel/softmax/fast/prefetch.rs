//! Software prefetches: the kernels that read a block's class rows from
//! planes far apart ask for the next block while they compute this one.

use crate::kernel::float::LossFloat;

/// Asks for the cache lines of `v[from..from + len]` (cut at the end of
/// `v`) to be brought into the cache: the first level (`_MM_HINT_T0`), or
/// the second when `L2` (`_MM_HINT_T1`).
#[inline(always)]
pub(super) fn prefetch<F: LossFloat, const L2: bool>(v: &[F], from: usize, len: usize) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0, _MM_HINT_T1};
        let end = v.len().min(from.saturating_add(len));
        let step = (64 / std::mem::size_of::<F>()).max(1);
        let mut i = from;
        while i < end {
            let p = v.as_ptr().wrapping_add(i).cast::<i8>();
            // SAFETY: `i < v.len()`; a prefetch reads nothing and cannot fault.
            unsafe {
                if L2 {
                    _mm_prefetch::<_MM_HINT_T1>(p);
                } else {
                    _mm_prefetch::<_MM_HINT_T0>(p);
                }
            }
            i += step;
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (v, from, len);
}
