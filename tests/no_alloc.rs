//! `forward_backward_into` performs no heap allocation for contiguous
//! (row-major) inputs: checked with a counting global allocator.
//!
//! Inputs stay below the size at which the `rayon` feature goes parallel
//! (the thread pool itself allocates); non-contiguous inputs are copied and
//! do allocate, as documented.

use focal_loss::{
    BceWithLogitsLoss, CrossEntropyLoss, FocalLoss, LossError, NllLoss, Probs, Reduction,
    SigmoidFocalLoss,
};
use ndarray::{Array2, Array3, Array4};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

struct Counting;

thread_local! {
    static ALLOCS: Cell<usize> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.with(|c| c.set(c.get() + 1));
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCS.with(|c| c.set(c.get() + 1));
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations made on this thread by `f`.
fn allocations<R>(f: impl FnOnce() -> R) -> (usize, R) {
    let before = ALLOCS.with(Cell::get);
    let r = f();
    (ALLOCS.with(Cell::get) - before, r)
}

fn assert_no_alloc(what: &str, mut f: impl FnMut() -> Result<f64, LossError>) {
    f().expect("valid input"); // warm-up: CPU feature detection etc.
    let (n, r) = allocations(&mut f);
    r.expect("valid input");
    assert_eq!(n, 0, "{what}: {n} heap allocation(s)");
}

#[test]
fn forward_backward_into_does_not_allocate() {
    let x = Array2::from_shape_fn((512, 10), |(i, k)| ((i * 7 + k * 3) % 11) as f64 - 5.0);
    let t = ndarray::Array1::from_shape_fn(512, |i| i % 10);
    let p = Array2::from_elem((512, 10), 0.1);
    let yb = Array2::from_shape_fn((512, 10), |(i, k)| f64::from(u8::from((i + k) % 10 == 0)));
    let mut g = Array2::<f64>::zeros((512, 10));
    let w: Vec<f64> = (0..10).map(|k| 0.5 + k as f64 * 0.1).collect();

    let nll = NllLoss::new().with_weight(&w).unwrap().with_ignore_index(3);
    assert_no_alloc("nll", || {
        nll.forward_backward_into(&x, &t, &mut g.view_mut())
    });
    let ce = CrossEntropyLoss::new()
        .with_weight(&w)
        .unwrap()
        .with_label_smoothing(0.1)
        .unwrap();
    assert_no_alloc("ce", || ce.forward_backward_into(&x, &t, &mut g.view_mut()));
    assert_no_alloc("ce probs", || {
        ce.forward_backward_into(&x, &Probs(&p), &mut g.view_mut())
    });
    for gamma in [0.0, 0.5, 2.0] {
        let focal = FocalLoss::new(gamma).unwrap().with_alpha(&w).unwrap();
        assert_no_alloc("focal", || {
            focal.forward_backward_into(&x, &t, &mut g.view_mut())
        });
        let smooth = focal.clone().with_label_smoothing(0.1).unwrap();
        assert_no_alloc("focal smoothing", || {
            smooth.forward_backward_into(&x, &t, &mut g.view_mut())
        });
        assert_no_alloc("focal probs", || {
            focal.forward_backward_into(&x, &Probs(&p), &mut g.view_mut())
        });
    }
    let sfl = SigmoidFocalLoss::new(2.0)
        .unwrap()
        .with_alpha_scalar(0.25)
        .unwrap();
    assert_no_alloc("sigmoid focal", || {
        sfl.forward_backward_into(&x, &yb, &mut g.view_mut())
    });
    let bce = BceWithLogitsLoss::new().with_pos_weight(&w).unwrap();
    assert_no_alloc("bce", || {
        bce.forward_backward_into(&x, &yb, &mut g.view_mut())
    });

    // K-dim inputs, f32, row kernel (C >= 64).
    let x3 = Array3::from_shape_fn((2, 19, 300), |(n, k, j)| {
        ((n + k * 5 + j) % 13) as f32 / 3.0
    });
    let t3 = Array2::from_shape_fn((2, 300), |(n, j)| (n + j) % 19);
    let mut g3 = Array3::<f32>::zeros((2, 19, 300));
    let focal = FocalLoss::new(2.0).unwrap().with_reduction(Reduction::Sum);
    assert_no_alloc("focal k-dim f32", || {
        focal
            .forward_backward_into(&x3, &t3, &mut g3)
            .map(f64::from)
    });
    let x4 = Array4::from_shape_fn((1, 1, 64, 100), |(_, _, i, k)| ((i * 3 + k) % 17) as f32);
    let x4 = x4.into_shape_with_order((64, 100)).unwrap();
    let t4 = ndarray::Array1::from_shape_fn(64, |i| i % 100);
    let mut g4 = Array2::<f32>::zeros((64, 100));
    let ce = CrossEntropyLoss::new().with_label_smoothing(0.05).unwrap();
    assert_no_alloc("ce rows f32", || {
        ce.forward_backward_into(&x4, &t4, &mut g4).map(f64::from)
    });
}

#[test]
fn forward_grad_hess_into_and_other_label_types_do_not_allocate() {
    let x = Array2::from_shape_fn((256, 6), |(i, k)| ((i * 7 + k * 3) % 11) as f64 - 5.0);
    let t = ndarray::Array1::from_shape_fn(256, |i| (i % 6) as u32);
    let ti =
        ndarray::Array1::from_shape_fn(256, |i| if i % 9 == 0 { -100 } else { (i % 6) as i64 });
    let p = Array2::from_elem((256, 6), 1.0 / 6.0);
    let yb = Array2::from_shape_fn((256, 6), |(i, k)| f64::from(u8::from((i + k) % 6 == 0)));
    let (mut g, mut h) = (
        Array2::<f64>::zeros((256, 6)),
        Array2::<f64>::zeros((256, 6)),
    );
    let w: Vec<f64> = (0..6).map(|k| 0.5 + k as f64 * 0.1).collect();
    let ce = CrossEntropyLoss::new()
        .with_weight(&w)
        .unwrap()
        .with_ignore_index(-100);
    assert_no_alloc("ce u32", || {
        ce.forward_backward_into(&x, &t, &mut g.view_mut())
    });
    assert_no_alloc("ce i64", || {
        ce.forward_backward_into(&x, &ti, &mut g.view_mut())
    });
    assert_no_alloc("ce hess", || {
        ce.forward_grad_hess_into(&x, &ti, &mut g.view_mut(), &mut h.view_mut())
    });
    for gamma in [0.5, 2.0] {
        let focal = FocalLoss::new(gamma).unwrap().with_alpha(&w).unwrap();
        assert_no_alloc("focal hess", || {
            focal.forward_grad_hess_into(&x, &t, &mut g.view_mut(), &mut h.view_mut())
        });
        assert_no_alloc("focal probs hess", || {
            focal.forward_grad_hess_into(&x, &Probs(&p), &mut g.view_mut(), &mut h.view_mut())
        });
        let sfl = SigmoidFocalLoss::new(gamma)
            .unwrap()
            .with_pos_weight(&w)
            .unwrap();
        assert_no_alloc("sigmoid focal hess", || {
            sfl.forward_grad_hess_into(&x, &yb, &mut g.view_mut(), &mut h.view_mut())
        });
    }
}
