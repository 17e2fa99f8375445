//! Memory layouts: the same logical array seen through a reversed
//! (negative-stride), transposed, permuted, strided (non-contiguous) or
//! broadcast (zero-stride) view. Skipped storage is filled with a garbage
//! value (NaN for floats) so that a kernel reading through a wrong stride
//! shows up in its results.
#![allow(dead_code)]

use super::rng::Rng;
use ndarray::{ArrayD, ArrayViewD, ArrayViewMutD, Axis, IxDyn, Slice};

/// How a logical array is laid out in memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Layout {
    /// Contiguous row-major.
    Standard,
    /// Axis reversed: `slice(s![.., ..;-1, ..])`, a negative stride.
    Reversed(usize),
    /// Every axis reversed (`.t()`): column-major.
    Transposed,
    /// Stored with permuted axes, viewed through `.permuted_axes(..)`.
    Permuted(Vec<usize>),
    /// Every other element of a twice-longer axis (`..;2`).
    Strided(usize),
    /// Every other element, backwards (`..;-2`).
    StridedReversed(usize),
    /// One slice along the axis, broadcast (stride 0); changes the
    /// logical array to be constant along that axis.
    Broadcast(usize),
}

impl Layout {
    /// A random layout for an array of `ndim` dimensions.
    pub fn draw(rng: &mut Rng, ndim: usize) -> Layout {
        if ndim == 0 {
            return Layout::Standard;
        }
        let a = rng.below(ndim);
        match rng.below(8) {
            0 | 1 => Layout::Standard,
            2 => Layout::Reversed(a),
            3 => Layout::Transposed,
            4 => {
                let mut p: Vec<usize> = (0..ndim).collect();
                for i in (1..ndim).rev() {
                    p.swap(i, rng.below(i + 1));
                }
                Layout::Permuted(p)
            }
            5 => Layout::Strided(a),
            6 => Layout::StridedReversed(a),
            _ => Layout::Broadcast(a),
        }
    }
}

/// A logical array stored in some layout.
#[derive(Debug, Clone)]
pub struct Laid<T> {
    storage: ArrayD<T>,
    layout: Layout,
    shape: Vec<usize>,
}

fn inverse(p: &[usize]) -> Vec<usize> {
    let mut q = vec![0; p.len()];
    for (j, &i) in p.iter().enumerate() {
        q[i] = j;
    }
    q
}

fn step(layout: &Layout) -> isize {
    match layout {
        Layout::StridedReversed(_) => -2,
        Layout::Strided(_) => 2,
        _ => -1,
    }
}

impl<T: Clone> Laid<T> {
    /// Lays `logical` out as `layout`. A `Broadcast` layout first makes
    /// `logical` constant along its axis (so the caller's reference copy
    /// stays the same logical array); layouts that do not apply to the
    /// shape fall back to `Standard`.
    pub fn new(logical: &mut ArrayD<T>, layout: Layout, garbage: T) -> Laid<T> {
        let shape = logical.shape().to_vec();
        let nd = shape.len();
        let layout = match layout {
            Layout::Reversed(a)
            | Layout::Strided(a)
            | Layout::StridedReversed(a)
            | Layout::Broadcast(a)
                if a >= nd =>
            {
                Layout::Standard
            }
            Layout::Broadcast(a) if shape[a] == 0 => Layout::Standard,
            Layout::Permuted(ref p) if p.len() != nd => Layout::Standard,
            other => other,
        };
        let storage = match &layout {
            Layout::Standard => logical.clone(),
            Layout::Reversed(a) => {
                let mut v = logical.view();
                v.invert_axis(Axis(*a));
                v.as_standard_layout().into_owned()
            }
            Layout::Transposed => logical.t().as_standard_layout().into_owned(),
            Layout::Permuted(p) => logical
                .view()
                .permuted_axes(p.clone())
                .as_standard_layout()
                .into_owned(),
            Layout::Strided(a) | Layout::StridedReversed(a) => {
                let mut big = shape.clone();
                big[*a] *= 2;
                let mut s = ArrayD::from_elem(IxDyn(&big), garbage);
                s.slice_axis_mut(Axis(*a), Slice::new(0, None, step(&layout)))
                    .assign(logical);
                s
            }
            Layout::Broadcast(a) => {
                let first = logical.index_axis(Axis(*a), 0).insert_axis(Axis(*a));
                let b = first.to_owned();
                *logical = b
                    .broadcast(IxDyn(&shape))
                    .expect("a length-1 axis broadcasts")
                    .to_owned();
                b
            }
        };
        Laid {
            storage,
            layout,
            shape,
        }
    }

    /// The logical array, seen through the layout.
    pub fn view(&self) -> ArrayViewD<'_, T> {
        match &self.layout {
            Layout::Standard => self.storage.view(),
            Layout::Reversed(a) | Layout::Strided(a) | Layout::StridedReversed(a) => self
                .storage
                .slice_axis(Axis(*a), Slice::new(0, None, step(&self.layout))),
            Layout::Transposed => self.storage.t(),
            Layout::Permuted(p) => self.storage.view().permuted_axes(inverse(p)),
            Layout::Broadcast(_) => self
                .storage
                .broadcast(IxDyn(&self.shape))
                .expect("a length-1 axis broadcasts"),
        }
    }

    /// The logical array, seen mutably through the layout (`Broadcast`
    /// cannot be written and is seen as `Standard`).
    pub fn view_mut(&mut self) -> ArrayViewMutD<'_, T> {
        match &self.layout {
            Layout::Reversed(a) | Layout::Strided(a) | Layout::StridedReversed(a) => {
                let st = step(&self.layout);
                self.storage
                    .slice_axis_mut(Axis(*a), Slice::new(0, None, st))
            }
            Layout::Transposed => self.storage.view_mut().reversed_axes(),
            Layout::Permuted(p) => self.storage.view_mut().permuted_axes(inverse(p)),
            Layout::Standard | Layout::Broadcast(_) => self.storage.view_mut(),
        }
    }

    /// The whole backing storage (to check that garbage was not touched).
    pub fn storage(&self) -> &ArrayD<T> {
        &self.storage
    }

    /// The layout actually used.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }
}

/// A writable buffer of `shape` in `layout`, pre-filled with `fill`
/// (for `forward_backward_into`). `Broadcast` is laid out `Standard`.
pub fn buffer<T: Clone>(shape: &[usize], layout: Layout, fill: T) -> Laid<T> {
    let layout = match layout {
        Layout::Broadcast(_) => Layout::Standard,
        other => other,
    };
    let mut a = ArrayD::from_elem(IxDyn(shape), fill.clone());
    Laid::new(&mut a, layout, fill)
}
