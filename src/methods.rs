//! The method set shared by the softmax-family losses, generated once.
//!
//! A loss type provides `fn config<F: LossFloat>(&self) -> Config<'_, F>`;
//! this macro adds `forward`, `forward_backward`, `forward_backward_into`,
//! `per_target` and `per_target_backward` on top of it.

macro_rules! softmax_methods {
    ($ty:ident, $bound:ident, $input:literal, $ctor:literal) => {
        impl $ty {
            #[doc = concat!("The reduced loss: `Σ_n l_n / D`, with `l_n` as in the [`", stringify!($ty), "`] docs and `D` set by its [`Reduction`](crate::Reduction).")]
            ///
            #[doc = concat!("`", $input, "` has shape `(N, C)` or `(N, C, d1, .., dk)` (class axis 1), any layout.")]
            /// A zero denominator gives `0`.
            ///
            /// # Errors
            ///
            /// [`LossError`](crate::LossError) for a shape mismatch, a target
            /// out of range, a per-class vector of the wrong length, a NaN or
            /// `+inf` input, an invalid probability target, or a target on a
            /// masked (`-inf`) class.
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!("use focal_loss::", stringify!($ty), ";")]
            /// use ndarray::array;
            ///
            #[doc = concat!("let loss = ", $ctor, ";")]
            /// let x = array![[-0.2_f64, -1.8], [-2.0, -0.15]];
            /// let t = array![0_usize, 1];
            /// let l = loss.forward(&x, &t)?;
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
                T: crate::targets::$bound<F> + ?Sized,
            {
                crate::driver::forward(
                    &self.config::<F>(),
                    logits.view().into_dyn(),
                    targets.target_view(),
                )
            }

            /// The reduced loss and its gradient with respect to the input,
            /// computed in one fused pass. The gradient has the input's shape.
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
            /// let x = array![[-0.2_f64, -1.8], [-2.0, -0.15]];
            /// let t = array![0_usize, 1];
            /// let (l, g) = loss.forward_backward(&x, &t)?;
            /// assert_eq!(g.shape(), x.shape());
            /// assert_eq!(l, loss.forward(&x, &t)?);
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
                T: crate::targets::$bound<F> + ?Sized,
            {
                let mut grad = ndarray::Array::zeros(logits.raw_dim());
                let loss = self.forward_backward_into(logits, targets, &mut grad)?;
                Ok((loss, grad))
            }

            /// Like [`forward_backward`](Self::forward_backward), but writes
            /// the gradient into `grad` (the input's shape). Every element of
            /// `grad` is overwritten. No heap allocation when the input,
            /// targets and `grad` are contiguous in standard (row-major)
            /// layout; other layouts go through a temporary copy.
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
            /// let x = array![[-0.2_f64, -1.8], [-2.0, -0.15]];
            /// let t = array![0_usize, 1];
            /// let mut grad = Array2::zeros((2, 2));
            /// let l = loss.forward_backward_into(&x, &t, &mut grad)?;
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
                T: crate::targets::$bound<F> + ?Sized,
                G: ndarray::DataMut<Elem = F>,
                E: ndarray::Dimension,
            {
                crate::driver::forward_backward_into(
                    &self.config::<F>(),
                    logits.view().into_dyn(),
                    targets.target_view(),
                    grad,
                )
            }

            /// The unreduced losses `l_n`, one per position, of shape
            /// `(N, d1, .., dk)` (PyTorch's `reduction='none'`). Ignored
            /// positions give `0`. The reduction setting is not used.
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
            /// let x = array![[-0.2_f64, -1.8], [-2.0, -0.15]];
            /// let t = array![0_usize, 1];
            /// let per = loss.per_target(&x, &t)?;
            /// assert_eq!(per.len(), 2);
            /// # Ok::<(), focal_loss::LossError>(())
            /// ```
            pub fn per_target<F, S, D, T>(
                &self,
                logits: &ndarray::ArrayBase<S, D>,
                targets: &T,
            ) -> Result<ndarray::Array<F, D::Smaller>, crate::LossError>
            where
                F: crate::LossFloat,
                S: ndarray::Data<Elem = F>,
                D: ndarray::RemoveAxis,
                T: crate::targets::$bound<F> + ?Sized,
            {
                crate::driver::per_target(
                    &self.config::<F>(),
                    logits.view().into_dyn(),
                    logits.raw_dim(),
                    targets.target_view(),
                )
            }

            /// The vector-Jacobian product of [`per_target`](Self::per_target):
            /// `grad[n, k, ..] = upstream[n, ..] · ∂l_n / ∂x[n, k, ..]`.
            /// `upstream` has the shape of `per_target`'s output.
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
            /// let x = array![[-0.2_f64, -1.8], [-2.0, -0.15]];
            /// let t = array![0_usize, 1];
            /// let g = loss.per_target_backward(&x, &t, &array![1.0, 1.0])?;
            /// let (_, g_sum) = loss.forward_backward(&x, &t)?;
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
                T: crate::targets::$bound<F> + ?Sized,
                U: ndarray::Data<Elem = F>,
                E: ndarray::Dimension,
            {
                crate::driver::per_target_backward(
                    &self.config::<F>(),
                    logits.view().into_dyn(),
                    logits.raw_dim(),
                    targets.target_view(),
                    upstream,
                )
            }
        }
    };
}

pub(crate) use softmax_methods;
