//! The instruction-set level the vectorised kernels run at, picked once
//! per call from what the CPU supports, and what a vectorised kernel
//! returns when it declines an input.

use crate::kernel::float::LossFloat;
use std::sync::OnceLock;

/// The vectorised kernel declined; rerun the scalar one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Fallback;

/// Instruction-set level of the vectorised kernels (ordered: a level
/// implies the ones below it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Level {
    /// Baseline target features (SSE2 on x86-64).
    Generic,
    /// AVX2 + FMA.
    Avx2,
    /// AVX-512F (only when built with a compiler that supports it).
    #[cfg_attr(not(focal_avx512), allow(dead_code))]
    Avx512,
}

/// The environment variable that caps the level (read once per process):
/// `generic` or `avx2`; anything else leaves the detected level.
pub(crate) const ISA_VAR: &str = "FOCAL_LOSS_ISA";

impl Level {
    /// The best level this CPU supports, capped by [`ISA_VAR`] (decided
    /// once per process).
    pub fn best() -> Level {
        static BEST: OnceLock<Level> = OnceLock::new();
        *BEST.get_or_init(|| {
            let cap = Level::cap(std::env::var(ISA_VAR).ok().as_deref());
            Level::detected().min(cap)
        })
    }

    /// The level a value of [`ISA_VAR`] allows at most.
    fn cap(value: Option<&str>) -> Level {
        match value.map(|v| v.trim().to_ascii_lowercase()).as_deref() {
            Some("generic") => Level::Generic,
            Some("avx2") => Level::Avx2,
            _ => Level::Avx512,
        }
    }

    /// The best level this CPU supports.
    fn detected() -> Level {
        #[cfg(all(target_arch = "x86_64", focal_avx512))]
        if std::arch::is_x86_feature_detected!("avx512f") {
            return Level::Avx512;
        }
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            return Level::Avx2;
        }
        Level::Generic
    }

    /// Every level this CPU supports (for tests that compare them).
    #[cfg(test)]
    pub fn available() -> Vec<Level> {
        let best = Level::detected();
        [Level::Generic, Level::Avx2, Level::Avx512]
            .into_iter()
            .filter(|&l| match l {
                Level::Generic => true,
                Level::Avx2 => best != Level::Generic,
                Level::Avx512 => best == Level::Avx512,
            })
            .collect()
    }
}

/// `e^x` through the fused variant when `FMA`.
#[inline(always)]
pub(crate) fn exp<F: LossFloat, const FMA: bool>(x: F) -> F {
    if FMA {
        x.vexp_fma()
    } else {
        x.vexp()
    }
}

/// Defines `fn $name(level, args..)`, which runs `$generic` at
/// [`Level::Generic`] and the bodies `$avx2` / `$avx512` inside functions
/// compiled with those target features (so the generic kernel code they
/// call is compiled for that instruction set), picked by `level`.
macro_rules! dispatch_levels {
    (
        $(#[$meta:meta])*
        fn $name:ident<$F:ident>($($arg:ident: $ty:ty),* $(,)?) -> $ret:ty {
            generic => $generic:expr,
            avx2 => $avx2:expr,
            avx512 => $avx512:expr $(,)?
        }
    ) => {
        $(#[$meta])*
        pub(crate) fn $name<$F: LossFloat>(level: Level, $($arg: $ty),*) -> $ret {
            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx2,fma")]
            unsafe fn avx2<$F: LossFloat>($($arg: $ty),*) -> $ret {
                $avx2
            }
            #[cfg(all(target_arch = "x86_64", focal_avx512))]
            #[target_feature(enable = "avx512f,avx2,fma")]
            unsafe fn avx512<$F: LossFloat>($($arg: $ty),*) -> $ret {
                $avx512
            }
            match level {
                #[cfg(target_arch = "x86_64")]
                // SAFETY: `Level::Avx2` is only chosen when AVX2 and FMA were detected.
                Level::Avx2 => unsafe { avx2($($arg),*) },
                #[cfg(all(target_arch = "x86_64", focal_avx512))]
                // SAFETY: `Level::Avx512` is only chosen when AVX-512F was detected.
                Level::Avx512 => unsafe { avx512($($arg),*) },
                _ => $generic,
            }
        }
    };
}

pub(crate) use dispatch_levels;

#[cfg(test)]
mod tests {
    use super::Level;

    #[test]
    fn the_variable_caps_the_level() {
        assert_eq!(Level::cap(Some("generic")), Level::Generic);
        assert_eq!(Level::cap(Some(" AVX2 ")), Level::Avx2);
        for v in [None, Some(""), Some("avx512"), Some("sse9")] {
            assert_eq!(Level::cap(v), Level::Avx512, "{v:?}");
        }
        // A cap never raises the level past what was detected.
        assert!(Level::best() <= Level::detected());
    }
}
