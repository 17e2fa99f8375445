//! `CandleLoss` for the five losses: the fused CPU call of each family, and
//! which device path it takes.

use super::{device, no_mask, not_float, not_index, CandleLoss, Inputs, TargetData};
use crate::{
    BceWithLogitsLoss, CrossEntropyLoss, FocalLoss, LossError, LossFloat, Masked, NllLoss, Probs,
    SigmoidFocalLoss,
};
use ::candle_core::Tensor;

/// `CandleLoss` for a loss type; `$body` runs it on the `Inputs` `$i`
/// with the gradient view `$g`.
macro_rules! candle_loss {
    ($ty:ident, |$s:ident, $i:ident, $g:ident| $body:expr) => {
        impl CandleLoss for $ty {
            fn forward_tensor_ops(
                &self,
                x: &Tensor,
                t: &Tensor,
                m: Option<&Tensor>,
            ) -> ::candle_core::Result<Tensor> {
                device::Composed::compose(&device::Settings::settings(self), x, t, m)
            }

            fn run<F: LossFloat>(&self, $i: Inputs<'_, F>, grad: &mut [F]) -> Result<F, LossError> {
                let mut $g = ndarray::ArrayViewMutD::from_shape($i.x.raw_dim(), grad)
                    .map_err(|_| LossError::NoClasses)?;
                let $s = self;
                $body
            }
        }
    };
}

/// A softmax loss: class indices of any label type, or probabilities.
macro_rules! softmax_run {
    ($s:ident, $i:ident, $g:ident, $probs:expr) => {{
        if $i.ignore.is_some() {
            return Err(no_mask());
        }
        let x = &$i.x;
        match $i.t {
            TargetData::U8(t) => $s.forward_backward_into(x, &t, &mut $g),
            TargetData::U32(t) => $s.forward_backward_into(x, &t, &mut $g),
            TargetData::I64(t) => $s.forward_backward_into(x, &t, &mut $g),
            TargetData::Float(p) => $probs(x, p, &mut $g),
        }
    }};
}

/// A sigmoid loss: float targets, optionally masked.
macro_rules! sigmoid_run {
    ($s:ident, $i:ident, $g:ident) => {{
        let TargetData::Float(t) = $i.t else {
            return Err(not_float());
        };
        match &$i.ignore {
            Some(m) => $s.forward_backward_into(
                &$i.x,
                &Masked {
                    targets: &t,
                    ignore: m,
                },
                &mut $g,
            ),
            None => $s.forward_backward_into(&$i.x, &t, &mut $g),
        }
    }};
}

candle_loss!(NllLoss, |s, i, g| softmax_run!(s, i, g, |_, _, _| Err(
    not_index()
)));
candle_loss!(CrossEntropyLoss, |s, i, g| softmax_run!(
    s,
    i,
    g,
    |x, p, g| s.forward_backward_into(x, &Probs(&p), g)
));
candle_loss!(FocalLoss, |s, i, g| softmax_run!(s, i, g, |x, p, g| s
    .forward_backward_into(x, &Probs(&p), g)));
candle_loss!(SigmoidFocalLoss, |s, i, g| sigmoid_run!(s, i, g));
candle_loss!(BceWithLogitsLoss, |s, i, g| sigmoid_run!(s, i, g));
