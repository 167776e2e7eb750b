//! The one sync loop: the CLI's `tinjau sync` (once, or `--watch`) and the desktop app's
//! background sync both run it, with one backoff (the core's `retry_delay`: exponential from a
//! second, capped at five minutes, full jitter).

use std::ops::ControlFlow;
use std::time::Duration;

use tinjau_core::sync::retry_delay;

/// How long to go on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    /// Until one sync succeeds or fails for good, trying a transient failure (no network, a
    /// busy server) at most `attempts` times.
    Once { attempts: u32 },
    /// Forever: after a success (or a failure that waiting will not mend) wait `interval`;
    /// after a transient failure back off. `report` may stop the loop.
    Forever { interval: Duration },
}

/// One attempt's outcome, as the loop needs to know it.
pub trait Attempt {
    /// Worth trying again soon (the network, a server having a bad moment).
    fn is_transient(&self) -> bool;
}

impl Attempt for tinjau_sync::SyncError {
    fn is_transient(&self) -> bool {
        tinjau_sync::SyncError::is_transient(self)
    }
}

impl Attempt for crate::ErrorPayload {
    fn is_transient(&self) -> bool {
        matches!(
            self.code.as_str(),
            "offline" | "busy" | "timeout" | "internal"
        )
    }
}

/// Runs `attempt` by `plan`. `random` gives numbers in [0, 1) for jitter; `wait` sleeps (or
/// returns early when woken); `report` sees every outcome and may stop a `Forever` loop.
/// Returns the last outcome.
pub fn run<T, E: Attempt>(
    plan: Plan,
    attempt: &mut dyn FnMut() -> Result<T, E>,
    random: &mut dyn FnMut() -> f64,
    wait: &mut dyn FnMut(Duration),
    report: &mut dyn FnMut(&Result<T, E>) -> ControlFlow<()>,
) -> Result<T, E> {
    let mut failures: u32 = 0;
    loop {
        let outcome = attempt();
        let transient = matches!(&outcome, Err(e) if e.is_transient());
        failures = if transient { failures + 1 } else { 0 };
        let stop = report(&outcome).is_break();
        let delay = match plan {
            Plan::Once { attempts } => {
                if !transient || failures >= attempts {
                    return outcome;
                }
                retry_delay(failures - 1, random())
            }
            Plan::Forever { interval } => {
                if stop {
                    return outcome;
                }
                if transient {
                    retry_delay(failures - 1, random())
                } else {
                    interval
                }
            }
        };
        wait(delay);
    }
}

/// A number in [0, 1) for jitter, from the operating system's randomness.
pub fn random_unit() -> f64 {
    let bytes = uuid::Uuid::new_v4().into_bytes();
    f64::from(u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
        / (f64::from(u32::MAX) + 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq)]
    struct Failure(bool);

    impl Attempt for Failure {
        fn is_transient(&self) -> bool {
            self.0
        }
    }

    #[test]
    fn once_retries_transient_failures_then_gives_up() {
        let mut tries = 0;
        let mut waits = Vec::new();
        let outcome: Result<(), Failure> = run(
            Plan::Once { attempts: 3 },
            &mut || {
                tries += 1;
                Err(Failure(true))
            },
            &mut || 0.5,
            &mut |d| waits.push(d),
            &mut |_| ControlFlow::Continue(()),
        );
        assert_eq!(outcome, Err(Failure(true)));
        assert_eq!(tries, 3);
        assert_eq!(
            waits,
            vec![Duration::from_millis(500), Duration::from_secs(1)],
            "exponential from one second, half of it with jitter 0.5"
        );
    }

    #[test]
    fn once_stops_at_a_permanent_failure_or_a_success() {
        let mut tries = 0;
        let outcome: Result<(), Failure> = run(
            Plan::Once { attempts: 3 },
            &mut || {
                tries += 1;
                Err(Failure(false))
            },
            &mut || 0.5,
            &mut |_| panic!("a permanent failure is not retried"),
            &mut |_| ControlFlow::Continue(()),
        );
        assert_eq!((outcome, tries), (Err(Failure(false)), 1));
        let mut results = vec![Ok(7), Err(Failure(true))];
        let outcome = run(
            Plan::Once { attempts: 3 },
            &mut || results.pop().unwrap(),
            &mut || 0.0,
            &mut |_| {},
            &mut |_| ControlFlow::Continue(()),
        );
        assert_eq!(outcome, Ok(7));
    }

    #[test]
    fn forever_waits_the_interval_after_success_and_backs_off_after_failures() {
        let mut script = vec![Ok(()), Err(Failure(true)), Err(Failure(true)), Ok(())];
        script.reverse();
        let mut waits = Vec::new();
        let mut seen = 0;
        let outcome = run(
            Plan::Forever {
                interval: Duration::from_secs(60),
            },
            &mut || script.pop().unwrap(),
            &mut || 0.999,
            &mut |d| waits.push(d),
            &mut |_| {
                seen += 1;
                if seen == 4 {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            },
        );
        assert_eq!(outcome, Ok(()));
        let rounded: Vec<u64> = waits.iter().map(|d| d.as_millis() as u64).collect();
        assert_eq!(rounded, vec![60_000, 999, 1998]);
    }
}
