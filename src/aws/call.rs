//! The one path every AWS call takes: a log line per attempt, retries, the step log that a
//! deadline Reason reads, and the SDK's error turned into an [`AwsError`].

use super::error::AwsError;
use crate::backoff;
use aws_sdk_applicationautoscaling::error::{ProvideErrorMetadata, SdkError};
use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};
use tracing::{info, warn};

const CONCURRENT_UPDATE_ATTEMPTS: u32 = 5;

/// Which AWS calls an invocation is waiting for, and which finished last. The handler reads it
/// when it stops an operation at the deadline, to say where the operation was.
#[derive(Clone, Debug, Default)]
pub struct Steps {
    state: Arc<Mutex<StepState>>,
}

#[derive(Debug, Default)]
struct StepState {
    in_flight: Vec<String>,
    last_finished: Option<String>,
}

impl Steps {
    fn state(&self) -> MutexGuard<'_, StepState> {
        // A panic while holding this lock leaves plain data behind; it is still worth reading.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Marks an AWS call as waiting; the returned guard marks it finished when dropped.
    fn begin(&self, step: String) -> StepGuard<'_> {
        self.state().in_flight.push(step.clone());
        StepGuard { steps: self, step }
    }

    /// The step a stopped operation was at, for a Reason a user can act on.
    pub fn describe(&self) -> String {
        let state = self.state();
        match (state.in_flight.as_slice(), &state.last_finished) {
            ([], None) => "before its first AWS call".to_owned(),
            ([], Some(last)) => format!("after {last}, before its next AWS call"),
            (waiting, _) => format!("while waiting for {}", waiting.join(" and ")),
        }
    }
}

struct StepGuard<'a> {
    steps: &'a Steps,
    step: String,
}

impl Drop for StepGuard<'_> {
    fn drop(&mut self) {
        let mut state = self.steps.state();
        if let Some(index) = state.in_flight.iter().position(|s| *s == self.step) {
            state.in_flight.remove(index);
        }
        state.last_finished = Some(std::mem::take(&mut self.step));
    }
}

/// Sends one AWS call about `subject`, retrying `ConcurrentUpdateException` with backoff:
/// Application Auto Scaling answers it while another change to the same target is in progress.
/// (The SDK's standard retry already covers throttling and transient errors.)
pub(super) async fn call<T, E, R, Fut>(
    steps: &Steps,
    operation: &'static str,
    subject: &str,
    mut send: impl FnMut() -> Fut,
) -> Result<T, AwsError>
where
    Fut: Future<Output = Result<T, SdkError<E, R>>>,
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: fmt::Debug,
{
    let _step = steps.begin(format!("{operation} ({subject})"));
    let mut attempt = 1;
    loop {
        let started = Instant::now();
        // Boxed: the SDK's futures nest deep enough to overflow the compiler's layout depth
        // limit in every future that awaits them.
        let result = Box::pin(send()).await;
        let elapsed_ms = started.elapsed().as_millis() as u64;
        let error = match result {
            Ok(output) => {
                info!(
                    aws.operation = operation,
                    aws.subject = subject,
                    attempt,
                    elapsed_ms,
                    outcome = "ok",
                    "AWS call"
                );
                return Ok(output);
            }
            Err(error) => AwsError::from_sdk(operation, &error),
        };
        let retry = error.code.as_deref() == Some("ConcurrentUpdateException")
            && attempt < CONCURRENT_UPDATE_ATTEMPTS;
        warn!(
            aws.operation = operation,
            aws.subject = subject,
            attempt,
            elapsed_ms,
            outcome = "error",
            error = %error,
            will_retry = retry,
            "AWS call"
        );
        if !retry {
            return Err(error);
        }
        let pause = backoff::delay(
            attempt - 1,
            Duration::from_millis(500),
            Duration::from_secs(4),
        );
        tokio::time::sleep(pause).await;
        attempt += 1;
    }
}

/// Same as [`call`] for a deletion: whatever is already gone counts as done.
pub(super) async fn delete<T, E, R, Fut>(
    steps: &Steps,
    operation: &'static str,
    subject: &str,
    send: impl FnMut() -> Fut,
) -> Result<(), AwsError>
where
    Fut: Future<Output = Result<T, SdkError<E, R>>>,
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: fmt::Debug,
{
    match call(steps, operation, subject, send).await {
        Ok(_) => Ok(()),
        Err(error) if error.is_not_found() => {
            info!(
                aws.operation = operation,
                aws.subject = subject,
                "already gone"
            );
            Ok(())
        }
        Err(error) => Err(error),
    }
}
