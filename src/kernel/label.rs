//! Class-index labels of any integer type, read by the kernels without a
//! converting copy.
//!
//! Each label maps to a `usize` key: its value when non-negative; a
//! negative value wraps (two's complement) to a key `>= 2^63`, which is
//! never a class, so it is either the ignore index or an error. The ignore
//! index is mapped the same way, in the label type's own value range.

use std::fmt::Debug;

mod sealed {
    pub trait Sealed {}
}

/// An integer type class-index targets can be held in: `u8`, `u16`,
/// `u32`, `u64`, `usize`, `i32` or `i64` (candle holds labels as `u32`,
/// burn and PyTorch ports as `i64`). Negative values are allowed only as
/// the ignore index (PyTorch's `-100`).
///
/// Sealed: it cannot be implemented outside this crate.
///
/// # Examples
///
/// ```
/// use focal_loss::{CrossEntropyLoss, Label};
/// use ndarray::{array, Array1};
///
/// // Any label type, one loss.
/// fn loss<L: Label>(t: &Array1<L>) -> Result<f64, focal_loss::LossError> {
///     let x = array![[2.0_f64, 0.5], [0.1, 1.0], [0.3, 0.2]];
///     CrossEntropyLoss::new().with_ignore_index(-100).forward(&x, t)
/// }
/// let with_i64 = loss(&array![0_i64, -100, 1])?; // PyTorch's ignore convention
/// let with_u32 = loss(&array![0_u32, 1, 1])?;
/// assert!(with_i64 > 0.0 && with_u32 > 0.0);
/// # Ok::<(), focal_loss::LossError>(())
/// ```
pub trait Label: Copy + Debug + Send + Sync + 'static + sealed::Sealed {
    /// The label's key (see the module docs).
    #[doc(hidden)]
    fn key(self) -> usize;
    /// The label's value.
    #[doc(hidden)]
    fn value(self) -> i128;
    /// The key of the ignore index `v` for labels of this type, or `None`
    /// when no label of this type equals `v`.
    #[doc(hidden)]
    fn ignore_key(v: i128) -> Option<usize>;
    /// The kernels' view of a slice of labels.
    #[doc(hidden)]
    fn labels(s: &[Self]) -> Labels<'_>;
}

macro_rules! labels {
    ($($t:ident => $v:ident),* $(,)?) => {
        /// A slice of labels, as the kernels read it.
        #[doc(hidden)]
        #[derive(Debug, Clone, Copy)]
        pub enum Labels<'a> {
            $(
                #[doc(hidden)]
                $v(&'a [$t]),
            )*
        }

        impl<'a> Labels<'a> {
            /// The number of labels.
            pub(crate) fn len(&self) -> usize {
                match self {
                    $(Labels::$v(s) => s.len(),)*
                }
            }

            /// The labels before and from `mid`.
            pub(crate) fn split_at(&self, mid: usize) -> (Self, Self) {
                match self {
                    $(Labels::$v(s) => {
                        let (a, b) = s.split_at(mid);
                        (Labels::$v(a), Labels::$v(b))
                    })*
                }
            }

            /// The key of label `p`.
            #[inline(always)]
            pub(crate) fn key(&self, p: usize) -> usize {
                match self {
                    $(Labels::$v(s) => s[p].key(),)*
                }
            }

            /// The keys of labels `start ..start + out.len()`, into `out`.
            #[inline(always)]
            pub(crate) fn keys(&self, start: usize, out: &mut [usize]) {
                match self {
                    $(Labels::$v(s) => {
                        let n = out.len();
                        for (o, &v) in out.iter_mut().zip(&s[start..start + n]) {
                            *o = v.key();
                        }
                    })*
                }
            }
        }

        $(
            impl sealed::Sealed for $t {}
        )*
    };
}

labels!(u8 => U8, u16 => U16, u32 => U32, u64 => U64, usize => Usize, i32 => I32, i64 => I64);

macro_rules! unsigned {
    ($($t:ident => $v:ident),*) => {$(
        impl Label for $t {
            #[inline(always)]
            fn key(self) -> usize {
                // Lossless for every type up to the pointer width; on a
                // narrower target a larger value becomes a key no class has.
                usize::try_from(self).unwrap_or(usize::MAX)
            }
            fn value(self) -> i128 {
                i128::from(self as u64)
            }
            fn ignore_key(v: i128) -> Option<usize> {
                $t::try_from(v).ok().map(Label::key)
            }
            fn labels(s: &[Self]) -> Labels<'_> {
                Labels::$v(s)
            }
        }
    )*};
}

macro_rules! signed {
    ($($t:ident => $v:ident),*) => {$(
        impl Label for $t {
            #[inline(always)]
            fn key(self) -> usize {
                // Two's complement: a negative value wraps to a key >= 2^63.
                self as i64 as usize
            }
            fn value(self) -> i128 {
                i128::from(self)
            }
            fn ignore_key(v: i128) -> Option<usize> {
                $t::try_from(v).ok().map(Label::key)
            }
            fn labels(s: &[Self]) -> Labels<'_> {
                Labels::$v(s)
            }
        }
    )*};
}

unsigned!(u8 => U8, u16 => U16, u32 => U32, u64 => U64, usize => Usize);
signed!(i32 => I32, i64 => I64);
