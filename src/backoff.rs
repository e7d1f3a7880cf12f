//! Exponential backoff with full jitter, shared by the AWS calls and the answer's delivery.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

/// How long to wait before retry number `retry` (0 for the first retry): a random time up to
/// `base * 2^retry`, capped at `cap`. Full jitter keeps many retrying callers from moving in step.
pub fn delay(retry: u32, base: Duration, cap: Duration) -> Duration {
    let ceiling = base.saturating_mul(1u32 << retry.min(16)).min(cap);
    ceiling.mul_f64(random_fraction())
}

/// A fraction in [0, 1). `RandomState` is seeded randomly by the standard library, which is
/// all the randomness jitter needs; no extra dependency.
fn random_fraction() -> f64 {
    let bits = RandomState::new().build_hasher().finish() >> 11;
    bits as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_and_stay_under_the_cap() {
        let base = Duration::from_millis(100);
        let cap = Duration::from_millis(1000);
        for retry in 0..40 {
            let ceiling = (base * 2u32.pow(retry.min(10))).min(cap);
            assert!(delay(retry, base, cap) <= ceiling);
        }
    }
}
