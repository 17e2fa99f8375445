//! Every loss type is `Clone + Debug + Send + Sync` (DESIGN.md §2), and so
//! is the error type (plus `std::error::Error`).

use focal_loss::{
    BceWithLogitsLoss, CrossEntropyLoss, FocalLoss, LossError, NllLoss, Reduction, SigmoidFocalLoss,
};

fn assert_traits<T: Clone + std::fmt::Debug + Send + Sync + 'static>(_: &T) {}

#[test]
fn loss_types_are_clone_debug_send_sync() {
    assert_traits(&NllLoss::new());
    assert_traits(&CrossEntropyLoss::new());
    assert_traits(&FocalLoss::new(2.0).unwrap());
    assert_traits(&SigmoidFocalLoss::new(2.0).unwrap());
    assert_traits(&BceWithLogitsLoss::new());
    assert_traits(&Reduction::Mean);
    let e = LossError::NoClasses;
    assert_traits(&e);
    let _: &(dyn std::error::Error + Send + Sync) = &e;
    // A configured loss is usable from several threads at once.
    let focal = FocalLoss::new(2.0).unwrap().with_alpha([1.0, 3.0]).unwrap();
    let x = ndarray::array![[1.0_f64, -1.0], [0.5, 0.25]];
    let t = ndarray::array![0_usize, 1];
    let want = focal.forward(&x, &t).unwrap();
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| assert_eq!(focal.forward(&x, &t).unwrap(), want));
        }
    });
}
