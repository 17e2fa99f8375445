//! Hostile inputs: every public constructor and method of every loss, and
//! the class-weight and metrics functions, driven with empty arrays, zero
//! and one classes, mismatched shapes, out-of-range and ignored targets,
//! NaN / ±inf / huge / subnormal values in every input and parameter, and
//! non-contiguous, reversed, permuted and broadcast views.
//!
//! Every call must return `Ok` with no NaN (and no `inf` unless the true
//! result may exceed the precision's range), or an `Err` that the input
//! explains — never panic. See `tests/hostile/check.rs` for the rules and
//! `tests/fuzz.rs` for the long-running version of the same checks.

mod hostile {
    pub mod check;
    mod known_bugs;
    pub mod layout;
    pub mod rng;
    pub mod sigmoid;
    pub mod sigmoid_oracle;
    pub mod softmax;
    pub mod softmax_oracle;
    mod stability;
    mod targeted_sigmoid;
    pub mod targeted_softmax;
    mod targeted_weights;
    pub mod weights;
    pub mod weights_oracle;
}

use hostile::check::Stats;
use hostile::rng::Rng;
use hostile::{sigmoid, softmax, weights};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn softmax_family_f64(seed in any::<u64>()) {
        let case = softmax::draw::<f64>(&mut Rng::new(seed), false);
        let r = softmax::check(&case, &mut Stats::default());
        prop_assert!(r.is_ok(), "seed {}: {}", seed, r.unwrap_err());
    }

    #[test]
    fn softmax_family_f32(seed in any::<u64>()) {
        let case = softmax::draw::<f32>(&mut Rng::new(seed), false);
        let r = softmax::check(&case, &mut Stats::default());
        prop_assert!(r.is_ok(), "seed {}: {}", seed, r.unwrap_err());
    }

    #[test]
    fn sigmoid_family_f64(seed in any::<u64>()) {
        let case = sigmoid::draw::<f64>(&mut Rng::new(seed), false);
        let r = sigmoid::check(&case, &mut Stats::default());
        prop_assert!(r.is_ok(), "seed {}: {}", seed, r.unwrap_err());
    }

    #[test]
    fn sigmoid_family_f32(seed in any::<u64>()) {
        let case = sigmoid::draw::<f32>(&mut Rng::new(seed), false);
        let r = sigmoid::check(&case, &mut Stats::default());
        prop_assert!(r.is_ok(), "seed {}: {}", seed, r.unwrap_err());
    }

    #[test]
    fn class_weight_and_metrics(seed in any::<u64>()) {
        let op = weights::draw(&mut Rng::new(seed));
        let r = weights::check(&op, &mut Stats::default());
        prop_assert!(r.is_ok(), "seed {}: {}", seed, r.unwrap_err());
    }
}
