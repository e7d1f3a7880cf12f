//! Exponential backoff with full jitter, shared by the AWS calls and the answer's delivery.

use std::time::Duration;

/// How long to wait before retry number `retry` (0 for the first retry): a random time up to
/// [`ceiling`]. Full jitter keeps many retrying callers from moving in step.
pub(crate) fn delay(retry: u32, base: Duration, cap: Duration) -> Duration {
    ceiling(retry, base, cap).mul_f64(random_fraction())
}

/// The longest wait before retry number `retry`: `base * 2^retry`, capped at `cap`.
fn ceiling(retry: u32, base: Duration, cap: Duration) -> Duration {
    base.saturating_mul(1u32 << retry.min(16)).min(cap)
}

/// A fraction in [0, 1), from `fastrand`'s per-thread generator, which is all the randomness
/// jitter needs.
pub fn random_fraction() -> f64 {
    fastrand::f64()
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: Duration = Duration::from_millis(100);
    const CAP: Duration = Duration::from_millis(1000);

    #[test]
    fn the_longest_wait_doubles_until_the_cap() {
        let ceilings: Vec<u128> = (0..6).map(|r| ceiling(r, BASE, CAP).as_millis()).collect();
        assert_eq!(ceilings, [100, 200, 400, 800, 1000, 1000]);
        assert_eq!(ceiling(40, BASE, CAP), CAP);
    }

    #[test]
    fn waits_are_spread_below_their_ceiling() {
        for retry in 0..6 {
            let waits: Vec<Duration> = (0..200).map(|_| delay(retry, BASE, CAP)).collect();
            let ceiling = ceiling(retry, BASE, CAP);
            assert!(waits.iter().all(|w| *w <= ceiling));
            // Full jitter: the waits cover the range, rather than clustering at one value.
            assert!(waits.iter().any(|w| *w < ceiling / 4), "retry {retry}");
            assert!(waits.iter().any(|w| *w > ceiling * 3 / 4), "retry {retry}");
        }
    }
}
