//! `CandleLoss` for the five losses: each runs its device path through its
//! family's settings (the fused CPU call is the shared `bridge::Fused`).

use super::{device, CandleLoss};
use crate::{BceWithLogitsLoss, CrossEntropyLoss, FocalLoss, NllLoss, SigmoidFocalLoss};
use ::candle_core::Tensor;

macro_rules! candle_loss {
    ($($ty:ident),*) => {$(
        impl CandleLoss for $ty {
            fn forward_tensor_ops(
                &self,
                x: &Tensor,
                t: &Tensor,
                m: Option<&Tensor>,
            ) -> ::candle_core::Result<Tensor> {
                device::Composed::compose(&device::Settings::settings(self), x, t, m)
            }
        }
    )*};
}

candle_loss!(
    NllLoss,
    CrossEntropyLoss,
    FocalLoss,
    SigmoidFocalLoss,
    BceWithLogitsLoss
);
