//! Builder methods that several loss types share, written once. Each macro
//! takes the loss type, an expression that constructs it (for the doc
//! examples) and, where the meaning differs between losses, that loss's
//! own doc text, so every type keeps its own docs.

/// `with_reduction` and `reduction`, for a loss whose default is `$default`.
macro_rules! reduction_methods {
    ($ty:ident, $default:ident, $ctor:literal) => {
        impl $ty {
            #[doc = concat!("Sets the reduction (default [`Reduction::", stringify!($default), "`](crate::Reduction::", stringify!($default), ")).")]
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!("use focal_loss::{", stringify!($ty), ", Reduction};")]
            #[doc = concat!("let loss = ", $ctor, ".with_reduction(Reduction::Sum);")]
            /// assert_eq!(loss.reduction(), Reduction::Sum);
            /// # Ok::<(), focal_loss::LossError>(())
            /// ```
            #[must_use]
            pub fn with_reduction(mut self, reduction: crate::Reduction) -> Self {
                self.reduction = reduction;
                self
            }

            /// The reduction.
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!("use focal_loss::{", stringify!($ty), ", Reduction};")]
            #[doc = concat!("assert_eq!(", $ctor, ".reduction(), Reduction::", stringify!($default), ");")]
            /// # Ok::<(), focal_loss::LossError>(())
            /// ```
            #[must_use]
            pub fn reduction(&self) -> crate::Reduction {
                self.reduction
            }
        }
    };
}

/// `with_ignore_index`, `ignore_index` and `ignore_value`, for a loss
/// whose field is `ignore_index: Option<i128>`.
macro_rules! ignore_index_methods {
    ($ty:ident, $ctor:literal, $doc:literal) => {
        impl $ty {
            /// Targets equal to `index` are ignored: loss 0, gradient 0, and
            /// left out of every denominator. `index` may be any [`Label`](crate::Label)
            /// type and negative (PyTorch's `-100`); it is compared with each
            /// target in the target's own type, so `-100` never matches an
            /// unsigned target and `255` matches a `u8` 255.
            #[doc = $doc]
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!("use focal_loss::", stringify!($ty), ";")]
            #[doc = concat!("let loss = ", $ctor, ".with_ignore_index(255);")]
            /// assert_eq!(loss.ignore_index(), Some(255));
            #[doc = concat!("let torch_style = ", $ctor, ".with_ignore_index(-100_i64);")]
            /// assert_eq!(torch_style.ignore_value(), Some(-100));
            /// # Ok::<(), focal_loss::LossError>(())
            /// ```
            #[must_use]
            pub fn with_ignore_index<L: crate::Label>(mut self, index: L) -> Self {
                self.ignore_index = Some(index.value());
                self
            }

            /// The ignore index, if one is set and it is a `usize` (see
            /// [`ignore_value`](Self::ignore_value) for a negative one).
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!("use focal_loss::", stringify!($ty), ";")]
            #[doc = concat!("assert_eq!(", $ctor, ".ignore_index(), None);")]
            #[doc = concat!("assert_eq!(", $ctor, ".with_ignore_index(-100).ignore_index(), None);")]
            /// # Ok::<(), focal_loss::LossError>(())
            /// ```
            #[must_use]
            pub fn ignore_index(&self) -> Option<usize> {
                self.ignore_index.and_then(|v| usize::try_from(v).ok())
            }

            /// The ignore index as set, negative ones included.
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!("use focal_loss::", stringify!($ty), ";")]
            #[doc = concat!("assert_eq!(", $ctor, ".with_ignore_index(-100).ignore_value(), Some(-100));")]
            /// # Ok::<(), focal_loss::LossError>(())
            /// ```
            #[must_use]
            pub fn ignore_value(&self) -> Option<i128> {
                self.ignore_index
            }
        }
    };
}

/// `with_label_smoothing` and `label_smoothing`; `$doc` says what
/// smoothing means for this loss.
macro_rules! label_smoothing_methods {
    ($ty:ident, $ctor:literal, $doc:literal) => {
        impl $ty {
            #[doc = $doc]
            ///
            /// # Errors
            ///
            /// [`LossError::InvalidParameter`](crate::LossError::InvalidParameter)
            /// if `eps` is outside `[0, 1]` or NaN.
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!("use focal_loss::", stringify!($ty), ";")]
            #[doc = concat!("let loss = ", $ctor, ".with_label_smoothing(0.1)?;")]
            /// assert_eq!(loss.label_smoothing(), 0.1);
            #[doc = concat!("assert!(", $ctor, ".with_label_smoothing(1.5).is_err());")]
            /// # Ok::<(), focal_loss::LossError>(())
            /// ```
            pub fn with_label_smoothing(mut self, eps: f64) -> Result<Self, crate::LossError> {
                self.label_smoothing = crate::params::check_unit("label_smoothing", eps)?;
                Ok(self)
            }

            /// The label smoothing `eps` (default 0).
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!("use focal_loss::", stringify!($ty), ";")]
            #[doc = concat!("assert_eq!(", $ctor, ".label_smoothing(), 0.0);")]
            /// # Ok::<(), focal_loss::LossError>(())
            /// ```
            #[must_use]
            pub fn label_smoothing(&self) -> f64 {
                self.label_smoothing
            }
        }
    };
}

/// A per-class vector setter `$with` and its getter `$get`, stored in the
/// field `$get: Option<PerClass>`; `$doc` says what the vector does.
macro_rules! per_class_methods {
    ($ty:ident, $ctor:literal, $with:ident, $get:ident, $doc:literal) => {
        impl $ty {
            #[doc = $doc]
            /// Each entry is `0` or a normal `f32` number (`1.2e-38 ..= 3.4e38`),
            /// so one loss serves `f32` and `f64` inputs; the length is checked
            /// against `C` when the loss is called.
            ///
            /// # Errors
            ///
            /// [`LossError::InvalidParameterEntry`](crate::LossError::InvalidParameterEntry)
            /// naming the first negative, NaN or infinite entry.
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!("use focal_loss::", stringify!($ty), ";")]
            #[doc = concat!("let loss = ", $ctor, ".", stringify!($with), "([0.5, 2.0])?;")]
            #[doc = concat!("assert_eq!(loss.", stringify!($get), "(), Some(&[0.5, 2.0][..]));")]
            #[doc = concat!("assert!(", $ctor, ".", stringify!($with), "([1.0, -1.0]).is_err());")]
            /// # Ok::<(), focal_loss::LossError>(())
            /// ```
            pub fn $with(
                mut self,
                $get: impl crate::ClassValues,
            ) -> Result<Self, crate::LossError> {
                let values = $get.class_values();
                self.$get = Some(crate::params::PerClass::new(stringify!($get), &values)?);
                Ok(self)
            }

            #[doc = concat!("The `", stringify!($get), "` vector, if set.")]
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!("use focal_loss::", stringify!($ty), ";")]
            #[doc = concat!("assert_eq!(", $ctor, ".", stringify!($get), "(), None);")]
            /// # Ok::<(), focal_loss::LossError>(())
            /// ```
            #[must_use]
            pub fn $get(&self) -> Option<&[f64]> {
                self.$get.as_ref().map(crate::params::PerClass::as_f64)
            }
        }
    };
}

/// The getters `gamma`, `alpha` and `alpha_scalar` of a focal loss whose
/// fields are `gamma: f64` and `alpha: params::Alpha`.
macro_rules! focal_getters {
    ($ty:ident, $ctor:literal) => {
        impl $ty {
            /// The focusing parameter `gamma`.
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!("use focal_loss::", stringify!($ty), ";")]
            #[doc = concat!("assert_eq!(", $ctor, ".gamma(), 2.0);")]
            /// # Ok::<(), focal_loss::LossError>(())
            /// ```
            #[must_use]
            pub fn gamma(&self) -> f64 {
                self.gamma
            }

            /// The per-class alpha vector, if one was set.
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!("use focal_loss::", stringify!($ty), ";")]
            #[doc = concat!("assert_eq!(", $ctor, ".alpha(), None);")]
            #[doc = concat!("let loss = ", $ctor, ".with_alpha([0.25, 0.75])?;")]
            /// assert_eq!(loss.alpha(), Some(&[0.25, 0.75][..]));
            /// # Ok::<(), focal_loss::LossError>(())
            /// ```
            #[must_use]
            pub fn alpha(&self) -> Option<&[f64]> {
                match &self.alpha {
                    crate::params::Alpha::PerClass(a) => Some(a.as_f64()),
                    _ => None,
                }
            }

            /// The scalar alpha, if one was set.
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!("use focal_loss::", stringify!($ty), ";")]
            #[doc = concat!("assert_eq!(", $ctor, ".alpha_scalar(), None);")]
            #[doc = concat!("let loss = ", $ctor, ".with_alpha_scalar(0.25)?;")]
            /// assert_eq!(loss.alpha_scalar(), Some(0.25));
            /// # Ok::<(), focal_loss::LossError>(())
            /// ```
            #[must_use]
            pub fn alpha_scalar(&self) -> Option<f64> {
                match self.alpha {
                    crate::params::Alpha::Scalar(a) => Some(a),
                    _ => None,
                }
            }
        }
    };
}

pub(crate) use focal_getters;
pub(crate) use ignore_index_methods;
pub(crate) use label_smoothing_methods;
pub(crate) use per_class_methods;
pub(crate) use reduction_methods;
