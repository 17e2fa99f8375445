//! The second-level cache's size, read once, for sizing the wide blocks.

use std::sync::OnceLock;

/// Assumed when the processor does not report it.
const DEFAULT_L2: usize = 1 << 20;

/// Bytes of second-level cache per core: `CPUID` leaf `0x8000_0006`
/// (reported by AMD and Intel processors alike) on `x86_64`, else 1 MiB.
pub(super) fn l2_bytes() -> usize {
    static L2: OnceLock<usize> = OnceLock::new();
    *L2.get_or_init(|| detect().unwrap_or(DEFAULT_L2))
}

#[cfg(target_arch = "x86_64")]
#[allow(unused_unsafe)] // `__cpuid` is an `unsafe fn` before Rust 1.87
fn detect() -> Option<usize> {
    use std::arch::x86_64::__cpuid;
    // SAFETY: `CPUID` exists on every `x86_64` processor; leaf 0x8000_0000
    // gives the highest extended leaf, checked before 0x8000_0006 is read.
    let max = unsafe { __cpuid(0x8000_0000) }.eax;
    if max < 0x8000_0006 {
        return None;
    }
    // SAFETY: as above; the leaf is supported.
    let kib = (unsafe { __cpuid(0x8000_0006) }.ecx >> 16) as usize;
    (kib >= 64).then_some(kib * 1024)
}

#[cfg(not(target_arch = "x86_64"))]
fn detect() -> Option<usize> {
    None
}
