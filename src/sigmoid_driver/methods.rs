//! The method set shared by the sigmoid-family losses, generated once.
//!
//! A loss type provides `fn config<F: LossFloat>(&self) -> Config<'_, F>`;
//! this macro adds `forward`, `forward_backward`, `forward_backward_into`,
//! `per_target` and `per_target_backward` on top of it.

macro_rules! sigmoid_methods {
    ($ty:ident, $ctor:literal) => {
        impl $ty {
            #[doc = concat!("The reduced loss: `Σ_i l_i / D` over the non-ignored elements `i`, with `l_i` as in the [`", stringify!($ty), "`] docs and `D` set by its [`Reduction`](crate::Reduction).")]
            ///
            /// `logits` has any shape with at least one axis: `(N)` (read as
            /// `(N, 1)`), `(N, C)` or `(N, C, d1, .., dk)`, class axis 1, any
            /// layout. `targets` is an array of the same shape with values in
            /// `[0, 1]`, or [`Masked`](crate::Masked) targets. A zero
            /// denominator (no elements, every element ignored, all weights 0)
            /// gives `0`.
            ///
            /// # Errors
            ///
            /// [`LossError`](crate::LossError) for a shape mismatch (targets,
            /// mask), a 0-dimensional input or an empty class axis, a
            /// per-class vector whose length is not `C`, a target outside
            /// `[0, 1]` (or NaN) at a non-ignored element, a NaN or `+inf`
            /// logit, or a `-inf` logit whose (smoothed) target is not 0.
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!("use focal_loss::", stringify!($ty), ";")]
            /// use ndarray::array;
            ///
            #[doc = concat!("let loss = ", $ctor, ";")]
            /// let x = array![[1.5_f64, -0.3], [-2.0, 0.7]];
            /// let y = array![[1.0, 0.0], [0.0, 1.0]];
            /// let l = loss.forward(&x, &y)?;
            /// assert!(l.is_finite() && l > 0.0);
            /// # Ok::<(), focal_loss::LossError>(())
            /// ```
            pub fn forward<F, S, D, T>(
                &self,
                logits: &ndarray::ArrayBase<S, D>,
                targets: &T,
            ) -> Result<F, crate::LossError>
            where
                F: crate::LossFloat,
                S: ndarray::Data<Elem = F>,
                D: ndarray::Dimension,
                T: crate::sigmoid_driver::BinaryTargets<F> + ?Sized,
            {
                crate::sigmoid_driver::forward(
                    &self.config::<F>(),
                    logits.view().into_dyn(),
                    targets.binary_view(),
                )
            }

            /// The reduced loss and its gradient `d loss / d logits`,
            /// computed in one fused pass. The gradient has the logits' shape;
            /// it is 0 at ignored elements.
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
            /// let x = array![[1.5_f64, -0.3], [-2.0, 0.7]];
            /// let y = array![[1.0, 0.0], [0.0, 1.0]];
            /// let (l, g) = loss.forward_backward(&x, &y)?;
            /// assert_eq!(g.shape(), x.shape());
            /// assert_eq!(l, loss.forward(&x, &y)?);
            /// # Ok::<(), focal_loss::LossError>(())
            /// ```
            pub fn forward_backward<F, S, D, T>(
                &self,
                logits: &ndarray::ArrayBase<S, D>,
                targets: &T,
            ) -> Result<(F, ndarray::Array<F, D>), crate::LossError>
            where
                F: crate::LossFloat,
                S: ndarray::Data<Elem = F>,
                D: ndarray::Dimension,
                T: crate::sigmoid_driver::BinaryTargets<F> + ?Sized,
            {
                let mut grad = ndarray::Array::zeros(logits.raw_dim());
                let loss = self.forward_backward_into(logits, targets, &mut grad)?;
                Ok((loss, grad))
            }

            /// Like [`forward_backward`](Self::forward_backward), but writes
            /// the gradient into `grad` (the logits' shape). Every element of
            /// `grad` is overwritten. No heap allocation when the logits,
            /// targets, mask and `grad` are contiguous in standard
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
            /// let x = array![[1.5_f64, -0.3], [-2.0, 0.7]];
            /// let y = array![[1.0, 0.0], [0.0, 1.0]];
            /// let mut grad = Array2::zeros((2, 2));
            /// let l = loss.forward_backward_into(&x, &y, &mut grad)?;
            /// assert!(l > 0.0 && grad.iter().all(|g| g.is_finite()));
            /// # Ok::<(), focal_loss::LossError>(())
            /// ```
            pub fn forward_backward_into<F, S, D, T, G, E>(
                &self,
                logits: &ndarray::ArrayBase<S, D>,
                targets: &T,
                grad: &mut ndarray::ArrayBase<G, E>,
            ) -> Result<F, crate::LossError>
            where
                F: crate::LossFloat,
                S: ndarray::Data<Elem = F>,
                D: ndarray::Dimension,
                T: crate::sigmoid_driver::BinaryTargets<F> + ?Sized,
                G: ndarray::DataMut<Elem = F>,
                E: ndarray::Dimension,
            {
                crate::sigmoid_driver::forward_backward_into(
                    &self.config::<F>(),
                    logits.view().into_dyn(),
                    targets.binary_view(),
                    grad,
                )
            }

            /// The unreduced losses `l_i`, one per element, of the logits'
            /// shape (PyTorch's `reduction='none'`). Ignored elements give
            /// `0`. The reduction setting is not used.
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
            /// let x = array![[1.5_f64, -0.3], [-2.0, 0.7]];
            /// let y = array![[1.0, 0.0], [0.0, 1.0]];
            /// let per = loss.per_target(&x, &y)?;
            /// assert_eq!(per.shape(), x.shape());
            /// # Ok::<(), focal_loss::LossError>(())
            /// ```
            pub fn per_target<F, S, D, T>(
                &self,
                logits: &ndarray::ArrayBase<S, D>,
                targets: &T,
            ) -> Result<ndarray::Array<F, D>, crate::LossError>
            where
                F: crate::LossFloat,
                S: ndarray::Data<Elem = F>,
                D: ndarray::Dimension,
                T: crate::sigmoid_driver::BinaryTargets<F> + ?Sized,
            {
                crate::sigmoid_driver::per_target(
                    &self.config::<F>(),
                    logits.view().into_dyn(),
                    logits.raw_dim(),
                    targets.binary_view(),
                )
            }

            /// The vector-Jacobian product of [`per_target`](Self::per_target):
            /// `grad[i] = upstream[i] · ∂l_i / ∂x_i` (the loss is elementwise,
            /// so its Jacobian is diagonal). `upstream` has the logits' shape.
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
            /// let x = array![[1.5_f64, -0.3], [-2.0, 0.7]];
            /// let y = array![[1.0, 0.0], [0.0, 1.0]];
            /// let g = loss.per_target_backward(&x, &y, &array![[1.0, 1.0], [1.0, 1.0]])?;
            /// let (_, g_sum) = loss.forward_backward(&x, &y)?;
            /// assert!((&g - &g_sum).iter().all(|d| d.abs() < 1e-15));
            /// # Ok::<(), focal_loss::LossError>(())
            /// ```
            pub fn per_target_backward<F, S, D, T, U, E>(
                &self,
                logits: &ndarray::ArrayBase<S, D>,
                targets: &T,
                upstream: &ndarray::ArrayBase<U, E>,
            ) -> Result<ndarray::Array<F, D>, crate::LossError>
            where
                F: crate::LossFloat,
                S: ndarray::Data<Elem = F>,
                D: ndarray::Dimension,
                T: crate::sigmoid_driver::BinaryTargets<F> + ?Sized,
                U: ndarray::Data<Elem = F>,
                E: ndarray::Dimension,
            {
                crate::sigmoid_driver::per_target_backward(
                    &self.config::<F>(),
                    logits.view().into_dyn(),
                    logits.raw_dim(),
                    targets.binary_view(),
                    upstream,
                )
            }
        }
    };
}

pub(crate) use sigmoid_methods;
