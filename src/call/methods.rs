//! The method set every loss exposes, written once for both families.
//!
//! A loss type provides `fn config<F: LossFloat>(&self)`, its family's
//! `Config`; [`loss_methods!`] adds `forward`, `forward_backward`,
//! `forward_backward_into`, `per_target` and `per_target_backward` on top
//! of it, each preparing the call through its family
//! (`crate::<family>::call::prepare`) and running it through the shared
//! path in [`crate::call`]. Where the two families differ in words (shapes,
//! errors, examples), [`family_doc!`] holds each family's text.

/// The family-specific sentences and examples of the method docs.
macro_rules! family_doc {
    (softmax, forward) => {
        "The reduced loss: `Σ_n l_n / D` over the non-ignored positions `n`, with `l_n` as in \
         the type's docs and `D` set by its [`Reduction`](crate::Reduction).\n\n\
         The input has shape `(N, C)` or `(N, C, d1, .., dk)` (class axis 1), any layout; \
         targets are class indices `(N, d1, .., dk)` or [`Probs`](crate::Probs) of the \
         input's shape. A zero denominator gives `0`.\n\n\
         # Errors\n\n\
         [`LossError`](crate::LossError) for a shape mismatch, a target out of range, a \
         per-class vector of the wrong length, a NaN or `+inf` input, an invalid \
         probability target, or a target on a masked (`-inf`) class."
    };
    (sigmoid, forward) => {
        "The reduced loss: `Σ_i l_i / D` over the non-ignored elements `i`, with `l_i` as in \
         the type's docs and `D` set by its [`Reduction`](crate::Reduction).\n\n\
         `logits` has any shape with at least one axis: `(N)` (read as `(N, 1)`), `(N, C)` \
         or `(N, C, d1, .., dk)`, class axis 1, any layout. `targets` is an array of the \
         same shape with values in `[0, 1]`, or [`Masked`](crate::Masked) targets. A zero \
         denominator (no elements, every element ignored, all weights 0) gives `0`.\n\n\
         # Errors\n\n\
         [`LossError`](crate::LossError) for a shape mismatch (targets, mask), a \
         0-dimensional input or an empty class axis, a per-class vector whose length is \
         not `C`, a target outside `[0, 1]` (or NaN) at a non-ignored element, a NaN or \
         `+inf` logit, or a `-inf` logit whose (smoothed) target is not 0."
    };
    (softmax, per_target) => {
        "The unreduced losses `l_n`, one per position, of shape `(N, d1, .., dk)` \
         (PyTorch's `reduction='none'`). Ignored positions give `0`. The reduction \
         setting is not used."
    };
    (sigmoid, per_target) => {
        "The unreduced losses `l_i`, one per element, of the logits' shape (PyTorch's \
         `reduction='none'`). Ignored elements give `0`. The reduction setting is not used."
    };
    (softmax, vjp) => {
        "The vector-Jacobian product of [`per_target`](Self::per_target): \
         `grad[n, k, ..] = upstream[n, ..] · ∂l_n / ∂x[n, k, ..]`. `upstream` has the \
         shape of `per_target`'s output."
    };
    (sigmoid, vjp) => {
        "The vector-Jacobian product of [`per_target`](Self::per_target): \
         `grad[i] = upstream[i] · ∂l_i / ∂x_i` (the loss is elementwise, so its Jacobian \
         is diagonal). `upstream` has the logits' shape."
    };
    (softmax, hess) => {
        "With `u = lp_y`, `q = 1 - p_y = -expm1(u)`, `r = u / q` and the focal \
         term `f(u) = -alpha[y] q^gamma u`: `h_k = B ρ_k² - f'(u) p_k (1 - p_k)`, \
         `f'(u) = alpha[y] q^gamma (gamma p_y r - 1)`, `B = q² f''(u) = \
         alpha[y] gamma p_y q^(gamma+1) (r + 2 - gamma p_y r)`, `ρ_y = 1` and \
         `ρ_k = p_k / q` elsewhere (`p_k <= q`). `f''` diverges as `p_y -> 1` for \
         `gamma < 1`; `B` and every `h_k` stay finite. Cross-entropy's is \
         `A p_k (1 - p_k)` with `A = Σ_c a_c` its row's target weight (and focal loss \
         with `gamma = 0` equals it); NLL's is 0 (linear in its input). With \
         smoothing or probability targets, focal loss sums one such term per \
         class. The exact diagonal of focal loss (`gamma > 0`) can be negative: \
         boosting needs positive curvature, so clamp it or use the \
         cross-entropy diagonal there, explicitly."
    };
    (sigmoid, hess) => {
        "Per element, with `a = σ(x)`, `b = σ(-x)`, `s = 1 - 2y`, `q = 1 - p_t`, \
         `M = q^gamma`, `r = a b / q` (in `[0, 1]`), the BCE factor `B` with \
         `B' = (1-y) a - pw y b` and `B'' = a b (1 - y + pw y)`: \
         `l'' = W M [B'' + 2 gamma s r B' + gamma s r (1 - 2a) B + gamma (gamma - 1) s² r² B]`, \
         finite for every finite `x` and `gamma >= 0`; BCE's (`gamma = 0`) is \
         `w a b (1 - y + pw y)`. The focal diagonal can be negative (see above)."
    };
    // The examples' inputs: `x`, targets `t`, and a `per_target`-shaped `u` of ones.
    (softmax, inputs) => {
        "let x = array![[-0.2_f64, -1.8], [-2.0, -0.15]];\nlet t = array![0_usize, 1];\n\
         let u = array![1.0, 1.0];"
    };
    (sigmoid, inputs) => {
        "let x = array![[1.5_f64, -0.3], [-2.0, 0.7]];\nlet t = array![[1.0, 0.0], [0.0, 1.0]];\n\
         let u = array![[1.0, 1.0], [1.0, 1.0]];"
    };
}

/// Adds the five methods to a loss type of family `softmax` or `sigmoid`,
/// with target bound `$bound` and constructor expression `$ctor` (for the
/// examples).
macro_rules! loss_methods {
    ($ty:ident, softmax, $bound:path, $ctor:literal) => {
        $crate::call::methods::loss_methods!(@impl $ty, softmax, $bound, $ctor,
            [ndarray::RemoveAxis], [D::Smaller], |d| d.remove_axis(ndarray::Axis(1)));
    };
    ($ty:ident, sigmoid, $bound:path, $ctor:literal) => {
        $crate::call::methods::loss_methods!(@impl $ty, sigmoid, $bound, $ctor,
            [ndarray::Dimension], [D], |d| d);
    };
    (@impl $ty:ident, $family:ident, $bound:path, $ctor:literal,
        [$dbound:path], [$($out:tt)*], |$d:ident| $out_dim:expr) => {
        impl $ty {
            #[doc = $crate::call::methods::family_doc!($family, forward)]
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!("use focal_loss::", stringify!($ty), ";")]
            /// use ndarray::array;
            ///
            #[doc = concat!("let loss = ", $ctor, ";")]
            #[doc = $crate::call::methods::family_doc!($family, inputs)]
            /// let l = loss.forward(&x, &t)?;
            /// assert!(l.is_finite() && l > 0.0);
            /// # Ok::<(), focal_loss::LossError>(())
            /// ```
            pub fn forward<F: crate::LossFloat, S: ndarray::Data<Elem = F>, D: ndarray::Dimension, T: $bound + ?Sized>(
                &self, logits: &ndarray::ArrayBase<S, D>, targets: &T,
            ) -> Result<F, crate::LossError> {
                self.with_call(logits.view().into_dyn(), targets, |c| crate::call::forward(c))
            }

            /// The reduced loss and its gradient with respect to the input,
            /// computed in one fused pass. The gradient has the input's
            /// shape; it is 0 at ignored targets.
            ///
            /// # Errors
            ///
            /// As [`forward`](Self::forward).
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!("use focal_loss::", stringify!($ty), ";")]
            /// use ndarray::array;
            ///
            #[doc = concat!("let loss = ", $ctor, ";")]
            #[doc = $crate::call::methods::family_doc!($family, inputs)]
            /// let (l, g) = loss.forward_backward(&x, &t)?;
            /// assert_eq!(g.shape(), x.shape());
            /// assert_eq!(l, loss.forward(&x, &t)?);
            /// # Ok::<(), focal_loss::LossError>(())
            /// ```
            pub fn forward_backward<F: crate::LossFloat, S: ndarray::Data<Elem = F>, D: ndarray::Dimension, T: $bound + ?Sized>(
                &self, logits: &ndarray::ArrayBase<S, D>, targets: &T,
            ) -> Result<(F, ndarray::Array<F, D>), crate::LossError> {
                let mut grad = ndarray::Array::zeros(logits.raw_dim());
                let loss = self.forward_backward_into(logits, targets, &mut grad)?;
                Ok((loss, grad))
            }

            /// Like [`forward_backward`](Self::forward_backward), but writes
            /// the gradient into `grad` (the input's shape). Every element of
            /// `grad` is overwritten. No heap allocation when the input,
            /// targets (and mask) and `grad` are contiguous in standard
            /// (row-major) layout; other layouts go through a temporary copy.
            ///
            /// # Errors
            ///
            /// As [`forward`](Self::forward), plus a shape mismatch for `grad`.
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!("use focal_loss::", stringify!($ty), ";")]
            /// use ndarray::{array, Array2};
            ///
            #[doc = concat!("let loss = ", $ctor, ";")]
            #[doc = $crate::call::methods::family_doc!($family, inputs)]
            /// let mut grad = Array2::zeros((2, 2));
            /// let l = loss.forward_backward_into(&x, &t, &mut grad)?;
            /// assert!(l > 0.0 && grad.iter().all(|g| g.is_finite()));
            /// # Ok::<(), focal_loss::LossError>(())
            /// ```
            pub fn forward_backward_into<F: crate::LossFloat, S: ndarray::Data<Elem = F>, D: ndarray::Dimension, T: $bound + ?Sized, G: ndarray::DataMut<Elem = F>, E: ndarray::Dimension>(
                &self, logits: &ndarray::ArrayBase<S, D>, targets: &T, grad: &mut ndarray::ArrayBase<G, E>,
            ) -> Result<F, crate::LossError> {
                self.with_call(logits.view().into_dyn(), targets, |c| crate::call::forward_backward_into(c, grad))
            }

            /// The reduced loss, its gradient and the diagonal of its
            /// Hessian with respect to the input, `hess[i] = ∂²L / ∂x_i²`,
            /// both of the input's shape and under the loss's reduction
            /// (`Reduction::Sum` gives the per-sample values gradient
            /// boosting consumes). Computed in the same fused pass as the
            /// gradient (vectorised wherever `forward_backward_into` is).
            ///
            #[doc = $crate::call::methods::family_doc!($family, hess)]
            ///
            /// # Errors
            ///
            /// As [`forward`](Self::forward).
            ///
            /// # Examples
            ///
            /// ```
            /// use ndarray::array;
            #[doc = concat!("use focal_loss::{", stringify!($ty), ", Reduction};")]
            ///
            #[doc = $crate::call::methods::family_doc!($family, inputs)]
            /// // Per-sample curvature, as gradient boosting consumes it:
            #[doc = concat!("let loss = ", $ctor, ".with_reduction(Reduction::Sum);")]
            /// let (l, g, h) = loss.forward_grad_hess(&x, &t)?;
            /// assert!((l - loss.forward(&x, &t)?).abs() < 1e-12);
            /// assert_eq!((g.shape(), h.shape()), (x.shape(), x.shape()));
            /// assert!(h.iter().all(|v| v.is_finite()));
            /// # Ok::<(), focal_loss::LossError>(())
            /// ```
            pub fn forward_grad_hess<F: crate::LossFloat, S: ndarray::Data<Elem = F>, D: ndarray::Dimension, T: $bound + ?Sized>(
                &self, logits: &ndarray::ArrayBase<S, D>, targets: &T,
            ) -> Result<(F, ndarray::Array<F, D>, ndarray::Array<F, D>), crate::LossError> {
                let mut grad = ndarray::Array::zeros(logits.raw_dim());
                let mut hess = ndarray::Array::zeros(logits.raw_dim());
                let loss = self.forward_grad_hess_into(logits, targets, &mut grad, &mut hess)?;
                Ok((loss, grad, hess))
            }

            /// Like [`forward_grad_hess`](Self::forward_grad_hess), but
            /// writes into `grad` and `hess` (the input's shape); no heap
            /// allocation when everything is contiguous in standard layout.
            ///
            /// # Errors
            ///
            /// As [`forward`](Self::forward), plus a shape mismatch for
            /// `grad` or `hess`.
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!("use focal_loss::", stringify!($ty), ";")]
            /// use ndarray::{array, Array2};
            ///
            #[doc = concat!("let loss = ", $ctor, ";")]
            #[doc = $crate::call::methods::family_doc!($family, inputs)]
            /// let (mut g, mut h) = (Array2::zeros((2, 2)), Array2::zeros((2, 2)));
            /// let l = loss.forward_grad_hess_into(&x, &t, &mut g, &mut h)?;
            /// let (l2, g2) = loss.forward_backward(&x, &t)?;
            /// assert!((l - l2).abs() < 1e-12 && (&g - &g2).iter().all(|d| d.abs() < 1e-12));
            /// # Ok::<(), focal_loss::LossError>(())
            /// ```
            pub fn forward_grad_hess_into<F: crate::LossFloat, S: ndarray::Data<Elem = F>, D: ndarray::Dimension, T: $bound + ?Sized, G: ndarray::DataMut<Elem = F>, E: ndarray::Dimension, H: ndarray::DataMut<Elem = F>, K: ndarray::Dimension>(
                &self, logits: &ndarray::ArrayBase<S, D>, targets: &T, grad: &mut ndarray::ArrayBase<G, E>, hess: &mut ndarray::ArrayBase<H, K>,
            ) -> Result<F, crate::LossError> {
                self.with_call(logits.view().into_dyn(), targets, |c| crate::call::forward_grad_hess_into(c, grad, hess))
            }

            #[doc = $crate::call::methods::family_doc!($family, per_target)]
            ///
            /// # Errors
            ///
            /// As [`forward`](Self::forward).
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!("use focal_loss::", stringify!($ty), ";")]
            /// use ndarray::array;
            ///
            #[doc = concat!("let loss = ", $ctor, ";")]
            #[doc = $crate::call::methods::family_doc!($family, inputs)]
            /// let per = loss.per_target(&x, &t)?;
            /// assert_eq!(per.shape(), u.shape());
            /// # Ok::<(), focal_loss::LossError>(())
            /// ```
            pub fn per_target<F: crate::LossFloat, S: ndarray::Data<Elem = F>, D: $dbound, T: $bound + ?Sized>(
                &self, logits: &ndarray::ArrayBase<S, D>, targets: &T,
            ) -> Result<ndarray::Array<F, $($out)*>, crate::LossError> {
                let $d = logits.raw_dim();
                self.with_call(logits.view().into_dyn(), targets, |c| crate::call::per_target(c, $out_dim))
            }

            #[doc = $crate::call::methods::family_doc!($family, vjp)]
            ///
            /// # Errors
            ///
            /// As [`forward`](Self::forward), plus a shape mismatch or a
            /// non-finite value in `upstream`.
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!("use focal_loss::{", stringify!($ty), ", Reduction};")]
            /// use ndarray::array;
            ///
            #[doc = concat!("let loss = ", $ctor, ".with_reduction(Reduction::Sum);")]
            #[doc = $crate::call::methods::family_doc!($family, inputs)]
            /// let g = loss.per_target_backward(&x, &t, &u)?;
            /// let (_, g_sum) = loss.forward_backward(&x, &t)?;
            /// assert!((&g - &g_sum).iter().all(|d| d.abs() < 1e-15));
            /// # Ok::<(), focal_loss::LossError>(())
            /// ```
            pub fn per_target_backward<F: crate::LossFloat, S: ndarray::Data<Elem = F>, D: ndarray::Dimension, T: $bound + ?Sized, U: ndarray::Data<Elem = F>, E: ndarray::Dimension>(
                &self, logits: &ndarray::ArrayBase<S, D>, targets: &T, upstream: &ndarray::ArrayBase<U, E>,
            ) -> Result<ndarray::Array<F, D>, crate::LossError> {
                let dim = logits.raw_dim();
                self.with_call(logits.view().into_dyn(), targets, |c| crate::call::per_target_backward(c, dim, upstream))
            }

            /// Validates a call, lays it out for its family's kernel, and
            /// runs `f` on it.
            fn with_call<F: crate::LossFloat, T: $bound + ?Sized, R>(
                &self, logits: ndarray::ArrayViewD<'_, F>, targets: &T,
                f: impl FnOnce(&dyn crate::call::Call<F>) -> Result<R, crate::LossError>,
            ) -> Result<R, crate::LossError> {
                let view = crate::$family::call::view(targets);
                f(&crate::$family::call::prepare(self.config(), logits, view)?)
            }
        }
    };
}

pub(crate) use family_doc;
pub(crate) use loss_methods;
