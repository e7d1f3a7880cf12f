//! One invocation, from event to delivered answer.
//!
//! Every event with a usable ResponseURL gets exactly one answer, whatever happens in between:
//! bad input, AWS errors, a panic, or the deadline. The operation runs in its own task so that
//! a panic is caught and the deadline can stop it; what a stopped Create had made is removed.

use crate::aws::{AwsClients, ScalingApi, Steps};
use crate::cfn::delivery::Responder;
use crate::cfn::request::{Envelope, Request, Unanswerable};
use crate::cfn::response::{self, Answer, Status};
use crate::contract::{ENDPOINT_STATE_CHANGE, FAILED_CREATE_ID_PREFIX, GUARD_RESOURCE_TYPE};
use crate::guard::{self, Guard};
use crate::http::Http;
use crate::resource::{CustomResource, RequestContext};
use crate::scaling::rollback::Rollback;
use crate::scaling::{self, Owner, ScalingResource};
use futures_util::FutureExt;
use serde_json::{Value, json};
use std::future::Future;
use std::time::{Duration, SystemTime};
use tokio::time::{Instant, timeout_at};
use tracing::{Instrument, error, info, info_span, warn};

/// Kept back from the operation for delivering the answer and its retries.
pub const DELIVERY_RESERVE: Duration = Duration::from_secs(3);
/// Kept back as well for removing what a Create that was stopped had already made.
pub const CLEANUP_RESERVE: Duration = Duration::from_secs(3);

/// What the Lambda invocation itself returns once the answer is delivered.
pub type InvocationResult = Result<Value, InvocationError>;

/// An invocation error: Lambda logs it and, for an asynchronous invocation, retries the event
/// (which every operation is safe to repeat).
#[derive(Debug, thiserror::Error)]
pub enum InvocationError {
    /// No answer can be sent: not a CloudFormation request, or a ResponseURL that is refused.
    #[error(transparent)]
    Unanswerable(Unanswerable),
    /// The answer was computed but did not reach CloudFormation before the deadline.
    #[error("{0}")]
    NotDelivered(String),
    /// An endpoint state-change event that could not be handled.
    #[error("{0}")]
    NotHandled(String),
}

impl From<InvocationError> for lambda_runtime::Diagnostic {
    fn from(error: InvocationError) -> Self {
        let error_type = match error {
            InvocationError::Unanswerable(_) => "Unanswerable",
            InvocationError::NotDelivered(_) => "AnswerNotDelivered",
            InvocationError::NotHandled(_) => "EndpointStateChangeNotHandled",
        };
        lambda_runtime::Diagnostic {
            error_type: error_type.to_owned(),
            error_message: error.to_string(),
        }
    }
}

/// Everything an invocation needs that outlives it: built once per process.
#[derive(Clone, Debug)]
pub struct Handler {
    clients: AwsClients,
    responder: Responder,
}

impl Handler {
    pub fn new(clients: AwsClients, responder: Responder) -> Self {
        Handler { clients, responder }
    }

    /// Everything every event needs, built during init, which Lambda runs with burst CPU: the
    /// one HTTP client (with its trust roots) and the AWS clients on it.
    pub async fn from_environment() -> Self {
        let http = Http::from_environment();
        let clients = AwsClients::from_environment(&http).await;
        Handler::new(clients, Responder::new(http.client().clone()))
    }

    /// Handles one event that must be answered before `deadline` (the Lambda context's).
    pub async fn handle(&self, event: Value, deadline: SystemTime) -> InvocationResult {
        let deadline = to_instant(deadline);
        if let Some((endpoint_name, event_id)) = endpoint_state_change(&event) {
            return self
                .endpoint_changed(endpoint_name, event_id, deadline)
                .await;
        }
        let envelope = Envelope::read(&event).map_err(|e| {
            error!(error = %e, "event not answered");
            InvocationError::Unanswerable(e)
        })?;
        let span = info_span!(
            "custom_resource",
            request_id = %envelope.request_id,
            logical_resource_id = %envelope.logical_resource_id,
            request_type = %envelope.request_type,
        );
        self.answer(event, envelope, deadline)
            .instrument(span)
            .await
    }

    async fn answer(
        &self,
        event: Value,
        envelope: Envelope,
        deadline: Instant,
    ) -> InvocationResult {
        info!(
            response_url = %envelope.response_url,
            physical_resource_id = envelope.physical_resource_id.as_deref().unwrap_or(""),
            remaining_ms = deadline.saturating_duration_since(Instant::now()).as_millis() as u64,
            "request received"
        );
        let answer = self.decide(event, &envelope, deadline).await;
        let (body, answer) = response::encode(&envelope, &answer);
        let status = match answer.status {
            Status::Success => "SUCCESS",
            Status::Failed => "FAILED",
        };
        let bytes = body.len();
        match self
            .responder
            .deliver(&envelope.response_url, body, deadline)
            .await
        {
            Ok(attempts) => info!(
                status,
                physical_resource_id = %answer.physical_resource_id,
                reason = %answer.reason,
                bytes,
                attempts,
                "answer sent"
            ),
            Err(e) => {
                error!(
                    status,
                    physical_resource_id = %answer.physical_resource_id,
                    reason = %answer.reason,
                    error = %e,
                    "CloudFormation did not receive the answer"
                );
                return Err(InvocationError::NotDelivered(e.to_string()));
            }
        }
        Ok(json!({
            "Status": status,
            "Reason": answer.reason,
            "PhysicalResourceId": answer.physical_resource_id,
            "Data": answer.data,
        }))
    }

    /// SageMaker's state-change event, from EventBridge: restores the endpoint's records that
    /// may be restored now. There is no one to answer; an error makes Lambda retry the event.
    async fn endpoint_changed(
        &self,
        endpoint_name: String,
        event_id: String,
        deadline: Instant,
    ) -> InvocationResult {
        let span = info_span!("endpoint_state_change", endpoint_name = %endpoint_name);
        let stop_at = deadline
            .checked_sub(DELIVERY_RESERVE)
            .unwrap_or_else(Instant::now);
        let api = ScalingApi::new(self.clients.clone(), Steps::default(), stop_at);
        let work = async move { guard::endpoint_changed(&api, &endpoint_name, &event_id).await };
        let outcome = match guarded(work.instrument(span.clone()), stop_at).await {
            Ok(Ok(summary)) => Ok(summary),
            Ok(Err(failure)) => Err(failure.to_string()),
            Err(Stopped::Panicked(detail)) => Err(format!("the function panicked ({detail})")),
            Err(Stopped::TimedOut) => Err("ran out of time".to_owned()),
        };
        let _entered = span.enter();
        match outcome {
            Ok(summary) => {
                info!(%summary, "endpoint state change handled");
                Ok(json!({ "Summary": summary }))
            }
            Err(reason) => {
                error!(%reason, "endpoint state change not handled; Lambda retries the event");
                Err(InvocationError::NotHandled(reason))
            }
        }
    }

    /// Runs the operation within the deadline and turns every outcome into an answer.
    async fn decide(&self, event: Value, envelope: &Envelope, deadline: Instant) -> Answer {
        let request = match Request::parse(event) {
            Ok(request) => request,
            Err(reason) => return Answer::failed(physical_id_on_failure(envelope, None), reason),
        };
        let failure_id = physical_id_on_failure(envelope, Some(&request));
        let is_create = matches!(request, Request::Create { .. });
        let steps = Steps::default();
        let rollback = Rollback::default();
        // The operation's own time, which is also how long its AWS calls may retry.
        let stop_at = deadline
            .checked_sub(DELIVERY_RESERVE + CLEANUP_RESERVE)
            .unwrap_or_else(Instant::now);
        let api = ScalingApi::new(self.clients.clone(), steps.clone(), stop_at);
        let owner = Owner {
            stack_id: envelope.stack_id.clone(),
            logical_resource_id: envelope.logical_resource_id.clone(),
        };

        let context = RequestContext {
            api: api.clone(),
            owner: owner.clone(),
            request_id: envelope.request_id.clone(),
            rollback: rollback.clone(),
        };
        // The resource type, chosen once: one arm per type, every type but the guard's being
        // the scaling resource.
        let operation = match envelope.resource_type.as_str() {
            GUARD_RESOURCE_TYPE => run(Guard, request, context).boxed(),
            _ => run(ScalingResource, request, context).boxed(),
        };
        let reason = match guarded(operation, stop_at).await {
            Ok(Ok(answer)) => return answer,
            Ok(Err(reason)) => reason,
            Err(Stopped::Panicked(detail)) => {
                error!(panic = %detail, "operation panicked");
                format!("Internal error: the function panicked ({detail})")
            }
            Err(Stopped::TimedOut) => {
                let reason = format!(
                    "Timed out: stopped {} with {}s left before the Lambda deadline, \
                     kept for answering CloudFormation",
                    steps.describe(),
                    (DELIVERY_RESERVE + CLEANUP_RESERVE).as_secs()
                );
                warn!(%reason, "operation stopped at the deadline");
                reason
            }
        };
        // Stood down for another copy of this Create: answer with the target's id, so that
        // CloudFormation's rollback Delete, should it act on this answer, removes the setup.
        let failure_id = match (rollback.stood_down(), is_create) {
            (Some(target), true) => target.resource_id(),
            _ => failure_id,
        };
        let Some(created) = rollback.take() else {
            return Answer::failed(failure_id, reason);
        };

        let resource_id = created.describe();
        let cleanup_deadline = deadline.checked_sub(DELIVERY_RESERVE).unwrap_or(stop_at);
        let cleanup_api = api.until(cleanup_deadline);
        let cleanup = async move { scaling::remove_created(&cleanup_api, &created, &owner).await };
        let outcome = match guarded(cleanup, cleanup_deadline).await {
            Ok(Ok(outcome)) => outcome,
            Ok(Err(failure)) => {
                format!(
                    "Could not remove what this request had set up for {resource_id}: {failure}"
                )
            }
            Err(Stopped::Panicked(detail)) => format!(
                "Could not remove what this request had set up for {resource_id}: the function \
                 panicked ({detail})"
            ),
            Err(Stopped::TimedOut) => format!(
                "Ran out of time removing what this request had set up for {resource_id}; \
                 remove it by hand (the rollback Delete leaves it alone)."
            ),
        };
        Answer::failed(
            failure_id,
            format!("{}. {outcome}", reason.trim_end_matches('.')),
        )
    }
}

/// How guarded work ended when it did not end by itself.
enum Stopped {
    Panicked(String),
    TimedOut,
}

/// Runs `work` in a task of its own until `until`: a panic or the deadline stops the work,
/// never the invocation, which still has an answer to send.
async fn guarded<T: Send + 'static>(
    work: impl Future<Output = T> + Send + 'static,
    until: Instant,
) -> Result<T, Stopped> {
    let mut task = tokio::spawn(work.in_current_span());
    match timeout_at(until, &mut task).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(join_error)) => Err(Stopped::Panicked(panic_message(join_error))),
        Err(_) => {
            task.abort();
            Err(Stopped::TimedOut)
        }
    }
}

/// The request's operation on its resource type, in its own task: the one place where a
/// Create, an Update and a Delete are told apart.
async fn run<R: CustomResource>(
    resource: R,
    request: Request,
    context: RequestContext,
) -> Result<Answer, String> {
    #[cfg(debug_assertions)]
    fault_injection::maybe_panic();
    let done = match request {
        Request::Create { properties } => resource.create(&context, properties).await,
        Request::Update {
            physical_resource_id,
            properties,
            old_properties,
        } => {
            resource
                .update(&context, physical_resource_id, properties, old_properties)
                .await
        }
        Request::Delete {
            physical_resource_id,
            properties,
        } => {
            resource
                .delete(&context, physical_resource_id, properties)
                .await
        }
    };
    match done {
        Ok(done) => Ok(Answer::success(
            done.physical_resource_id,
            done.data,
            done.summary,
        )),
        Err(failure) => Err(failure.to_string()),
    }
}

/// The PhysicalResourceId of a FAILED answer. Update and Delete keep the id they were sent.
/// A failed Create gets an id that can never be read as a target's, so the Delete that
/// CloudFormation sends when it rolls back touches nothing, least of all a target that
/// something else manages (the take-over refusal fails this way).
fn physical_id_on_failure(envelope: &Envelope, request: Option<&Request>) -> String {
    let sent = match request {
        Some(Request::Update {
            physical_resource_id,
            ..
        })
        | Some(Request::Delete {
            physical_resource_id,
            ..
        }) => Some(physical_resource_id),
        Some(Request::Create { .. }) => None,
        // Unreadable request: keep the id CloudFormation sent, if any.
        None => envelope.physical_resource_id.as_ref(),
    };
    match sent {
        Some(id) if !id.is_empty() => id.clone(),
        _ => {
            let request_id: String = envelope.request_id.chars().take(200).collect();
            format!("{FAILED_CREATE_ID_PREFIX}{request_id}")
        }
    }
}

/// The endpoint's name and the event's id, when the event is SageMaker's "Endpoint State
/// Change" from EventBridge.
fn endpoint_state_change(event: &Value) -> Option<(String, String)> {
    let is_state_change = event.get("source").and_then(Value::as_str) == Some("aws.sagemaker")
        && event.get("detail-type").and_then(Value::as_str) == Some(ENDPOINT_STATE_CHANGE);
    if !is_state_change {
        return None;
    }
    let name = event
        .pointer("/detail/EndpointName")
        .and_then(Value::as_str)?;
    let id = event
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or("state-change");
    Some((name.to_owned(), id.to_owned()))
}

fn panic_message(join_error: tokio::task::JoinError) -> String {
    if !join_error.is_panic() {
        return join_error.to_string();
    }
    let payload = join_error.into_panic();
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "no message".to_owned())
}

fn to_instant(deadline: SystemTime) -> Instant {
    let since_epoch = deadline
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or(Duration::ZERO);
    // Lambda sends the deadline as epoch milliseconds. Some local emulators (`cargo lambda
    // watch` sends 600000) send the timeout instead; no real deadline lies before 2001.
    let remaining = if since_epoch < Duration::from_secs(1_000_000_000) {
        since_epoch
    } else {
        deadline
            .duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO)
    };
    Instant::now() + remaining
}

/// Lets a test make the handler panic, to prove a panic is still answered. Compiled only into
/// debug builds (the tests'), never into a release, which is what `cargo lambda build --release`
/// makes and users deploy.
#[cfg(debug_assertions)]
mod fault_injection {
    pub fn maybe_panic() {
        if std::env::var("SAGEMAKER_AUTOSCALING_FAULT").as_deref() == Ok("panic") {
            panic!("fault injected by SAGEMAKER_AUTOSCALING_FAULT=panic");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The resource type is chosen from the request, and each answers through its own
    /// implementation; properties it refuses are refused before any AWS call (these clients
    /// have no HTTP client to make one).
    #[tokio::test]
    async fn each_resource_type_answers_through_its_own_implementation() {
        let config = aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .build();
        let context = || RequestContext {
            api: ScalingApi::new(
                AwsClients::from_config(&config),
                Steps::default(),
                Instant::now() + Duration::from_secs(5),
            ),
            owner: Owner {
                stack_id: "s".into(),
                logical_resource_id: "Scaling".into(),
            },
            request_id: "r-1".into(),
            rollback: Rollback::default(),
        };
        let create = |properties| Request::Create { properties };

        let guard = json!({"EndpointName": "e", "EndpointConfigName": "c"});
        let answer = run(Guard, create(guard), context()).await.unwrap();
        assert_eq!(answer.physical_resource_id, "endpoint-guard/e");
        assert_eq!(answer.status, Status::Success);
        let reason = run(Guard, create(json!({"EndpointName": "e"})), context())
            .await
            .unwrap_err();
        assert_eq!(
            reason,
            "Invalid ResourceProperties: EndpointConfigName is required"
        );
        let scaling = json!({"EndpointName": "e", "ScheduledActions": [{
            "ScheduledActionName": "night", "Schedule": "rate(1 day)", "MinCapacity": 0,
            "Timezone": "Europe/Berln"}]});
        let reason = run(ScalingResource, create(scaling), context())
            .await
            .unwrap_err();
        assert_eq!(
            reason,
            "Invalid ResourceProperties: ScheduledActions[0].Timezone must be an IANA time zone \
             name such as Europe/Berlin or UTC, got \"Europe/Berln\""
        );
    }

    #[test]
    fn an_epoch_deadline_and_a_local_emulators_duration_both_read_as_time_left() {
        let in_ten_seconds = SystemTime::now() + Duration::from_secs(10);
        let left = to_instant(in_ten_seconds) - Instant::now();
        assert!(left > Duration::from_secs(9) && left <= Duration::from_secs(10));

        let cargo_lambda_watch = SystemTime::UNIX_EPOCH + Duration::from_millis(600_000);
        let left = to_instant(cargo_lambda_watch) - Instant::now();
        assert!(left > Duration::from_secs(599) && left <= Duration::from_secs(600));

        let past = SystemTime::now() - Duration::from_secs(5);
        assert!(to_instant(past) <= Instant::now());
    }
}
