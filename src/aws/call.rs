//! The one path every AWS call takes: a log line per attempt, retries for as long as the
//! operation's time allows, the step log that a deadline Reason reads, and the SDK's error
//! turned into an [`AwsError`].

use super::error::{AwsError, Retried};
use crate::backoff;
use aws_sdk_applicationautoscaling::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use tokio::time::Instant;
use tracing::{info, warn};

/// The first retry waits up to this long, each next one up to twice as long...
const BACKOFF_BASE: Duration = Duration::from_millis(200);
/// ...but never more than this, so that a call keeps trying while it has time.
const BACKOFF_CAP: Duration = Duration::from_secs(4);
/// An attempt that has not been answered in this time is given up and tried again.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// A retry is started only if at least this much time is left for it after its wait.
const LAST_ATTEMPT_ROOM: Duration = Duration::from_secs(1);

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

/// Every page of a paginated read, in order. `page` sends one request with the NextToken it is
/// given (none for the first) and answers that page's items and its NextToken; an absent or
/// empty one ends the read.
pub(super) async fn every_page<T, F, Fut>(mut page: F) -> Result<Vec<T>, AwsError>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: Future<Output = Result<(Vec<T>, Option<String>), AwsError>>,
{
    let (mut items, mut next_token) = (Vec::new(), None);
    loop {
        let (found, token) = page(next_token.take()).await?;
        items.extend(found);
        match token {
            Some(token) if !token.is_empty() => next_token = Some(token),
            _ => return Ok(items),
        }
    }
}

/// Where and until when a call may go on: the steps it is logged in, and the end of the
/// operation's own time (the Lambda deadline minus what the handler keeps back).
#[derive(Clone, Debug)]
pub(super) struct Budget<'a> {
    pub steps: &'a Steps,
    pub until: Instant,
}

/// Sends one AWS call about `subject`. Throttling, trouble on the service's side and calls
/// that get no (usable) answer are retried with exponential backoff and full jitter, so that
/// many functions throttled at once spread out, for as long as the budget allows; an error
/// that waiting does not fix (validation, access denied, not found, a quota) is not.
pub(super) async fn call<T, E, Fut>(
    budget: &Budget<'_>,
    operation: &'static str,
    subject: &str,
    mut send: impl FnMut() -> Fut,
) -> Result<T, AwsError>
where
    Fut: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let _step = budget.steps.begin(format!("{operation} ({subject})"));
    let first_started = Instant::now();
    let mut attempt = 1;
    // Whether an earlier attempt may have been carried out: then so may the call, whatever
    // the last attempt was told.
    let mut maybe_carried_out = false;
    loop {
        let started = Instant::now();
        // Boxed: the SDK's futures nest deep enough to overflow the compiler's layout depth
        // limit in every future that awaits them.
        let result = tokio::time::timeout(ATTEMPT_TIMEOUT, Box::pin(send())).await;
        let elapsed_ms = started.elapsed().as_millis() as u64;
        let mut error = match result {
            Ok(Ok(output)) => {
                // `attempt` and `retrying_ms` tell, on the final line, what retries it took.
                info!(
                    aws.operation = operation,
                    aws.subject = subject,
                    attempt,
                    elapsed_ms,
                    outcome = "ok",
                    retrying_ms =
                        (first_started.elapsed().as_millis() as u64).saturating_sub(elapsed_ms),
                    "AWS call"
                );
                return Ok(output);
            }
            Ok(Err(error)) => AwsError::from_sdk(operation, error),
            Err(_) => AwsError::no_answer(operation, ATTEMPT_TIMEOUT),
        };
        maybe_carried_out |= error.outcome_unknown;
        error.outcome_unknown = maybe_carried_out;
        // The wait is cut short rather than skipped when little time is left, so that the
        // last attempt still starts with time to be answered.
        let room = budget
            .until
            .saturating_duration_since(Instant::now())
            .saturating_sub(LAST_ATTEMPT_ROOM);
        let retry = error.transient && !room.is_zero();
        let pause = backoff::delay(attempt - 1, BACKOFF_BASE, BACKOFF_CAP).min(room);
        // A Reason says what retries a failure took: all the time there was, or some attempts.
        if !retry && (error.transient || attempt > 1) {
            error.retried = Some(Retried {
                attempts: attempt,
                over: first_started.elapsed(),
                out_of_time: error.transient,
            });
        }
        warn!(
            aws.operation = operation,
            aws.subject = subject,
            attempt,
            elapsed_ms,
            outcome = "error",
            error = %error,
            detail = %error.detail(),
            will_retry = retry,
            retrying_ms = first_started.elapsed().as_millis() as u64,
            "AWS call"
        );
        if !retry {
            return Err(error);
        }
        tokio::time::sleep(pause).await;
        attempt += 1;
    }
}

/// Same as [`call`] for a deletion: whatever is already gone counts as done.
pub(super) async fn delete<T, E, Fut>(
    budget: &Budget<'_>,
    operation: &'static str,
    subject: &str,
    send: impl FnMut() -> Fut,
) -> Result<(), AwsError>
where
    Fut: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match call(budget, operation, subject, send).await {
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

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_applicationautoscaling::error::ErrorMetadata;
    use aws_sdk_applicationautoscaling::operation::register_scalable_target::RegisterScalableTargetError as E;
    use aws_smithy_types::body::SdkBody;
    use std::cell::Cell;

    fn refused() -> SdkError<E, HttpResponse> {
        let metadata = ErrorMetadata::builder()
            .code("ValidationException")
            .message("The scalable target that you tried to tag already exists.")
            .build();
        let raw = HttpResponse::new(400.try_into().unwrap(), SdkBody::empty());
        SdkError::service_error(E::generic(metadata), raw)
    }

    async fn outcome_unknown(first_attempt: SdkError<E, HttpResponse>) -> bool {
        let steps = Steps::default();
        let budget = Budget {
            steps: &steps,
            until: Instant::now() + Duration::from_secs(30),
        };
        let first = Cell::new(Some(first_attempt));
        let result: Result<(), AwsError> = call(&budget, "RegisterScalableTarget", "t", || {
            let answer = first.take().unwrap_or_else(refused);
            async move { Err(answer) }
        })
        .await;
        result.unwrap_err().outcome_unknown
    }

    #[tokio::test]
    async fn a_refusal_after_an_attempt_without_answer_leaves_the_outcome_unknown() {
        // The first attempt may have been carried out: its retry is refused because of it.
        assert!(outcome_unknown(SdkError::timeout_error("no answer")).await);
        // Refused every time: nothing was carried out.
        assert!(!outcome_unknown(refused()).await);
    }
}
