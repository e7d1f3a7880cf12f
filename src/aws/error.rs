//! An AWS call that failed, worded for a user, and the rules that read it: already gone, worth
//! retrying.
//!
//! What a user reads in the stack's events is one short sentence: the operation, then the
//! service's error code and message when AWS sent one, otherwise the HTTP status or the
//! transport problem in plain words. The SDK's full account of the error goes to the log line
//! of the call, never into a Reason.

use aws_sdk_applicationautoscaling::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::ConnectorError;
use std::error::Error;
use std::time::Duration;

/// An error of any kind, as a cause is kept.
type Cause = Box<dyn Error + Send + Sync>;

/// The longest service message a Reason quotes; the whole of it is in the log.
const MESSAGE_LIMIT: usize = 200;

/// Error codes the services use for throttling. `LimitExceeded(Exception)` is not among them:
/// for these services it means a quota (alarms, policies) is used up, which waiting does not fix.
const THROTTLING_CODES: [&str; 10] = [
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottled",
    "RequestThrottledException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "BandwidthLimitExceeded",
    "SlowDown",
    "PriorRequestNotComplete",
];

/// Error codes of trouble on the service's side that goes away (Parameter Store's is
/// InternalServerError), and the answers while another change to the same object is in
/// progress (Application Auto Scaling's ConcurrentUpdateException, Parameter Store's
/// TooManyUpdates).
const TRANSIENT_CODES: [&str; 11] = [
    "ConcurrentUpdateException",
    "TooManyUpdates",
    "InternalFailure",
    "InternalError",
    "InternalServerError",
    "InternalServiceError",
    "InternalServiceException",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "RequestTimeout",
    "RequestTimeoutException",
];

/// An AWS call that failed for good. Its text is what a Reason shows; the SDK's error, when
/// there is one, is its source.
#[derive(Debug, thiserror::Error)]
#[error(
    "{operation} failed: {code}{message}{retried}",
    code = .code.as_ref().map(|code| format!("{code}: ")).unwrap_or_default(),
    message = shorten(.message, MESSAGE_LIMIT),
    retried = .retried.map(Retried::note).unwrap_or_default()
)]
pub struct AwsError {
    pub operation: &'static str,
    /// The service's error code, when the service answered with one.
    pub code: Option<String>,
    /// The service's message, or what went wrong in plain words.
    pub message: String,
    /// The SDK's error (or the builder's), for the log, never for a Reason: see [`Self::detail`].
    pub source: Option<Cause>,
    /// Worth trying again: throttling, trouble on the service's side, no or no usable answer.
    pub transient: bool,
    /// How long the call was retried before it gave up, when it was.
    pub retried: Option<Retried>,
    /// Whether the call may have taken effect all the same: some attempt got no answer, an
    /// answer that could not be read, or a server-side error (5xx). Only a refusal (4xx) on
    /// every attempt says for certain that AWS did not carry the request out.
    pub outcome_unknown: bool,
}

/// The retries behind a failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retried {
    pub attempts: u32,
    pub over: Duration,
    /// Still worth retrying, but the operation's time was up.
    pub out_of_time: bool,
}

impl Retried {
    /// What a Reason adds after the error: how many attempts over how long.
    fn note(self) -> String {
        let plural = if self.attempts == 1 { "" } else { "s" };
        let seconds = self.over.as_secs_f64();
        if self.out_of_time {
            format!(
                " (still failing after {} attempt{plural} over {seconds:.1} s, when the \
                 operation's time was up)",
                self.attempts
            )
        } else {
            format!(" (after {} attempts over {seconds:.1} s)", self.attempts)
        }
    }
}

impl AwsError {
    pub(super) fn from_sdk<E>(operation: &'static str, error: SdkError<E, HttpResponse>) -> Self
    where
        E: ProvideErrorMetadata + Error + Send + Sync + 'static,
    {
        let status = match &error {
            SdkError::ServiceError(context) => Some(context.raw().status().as_u16()),
            SdkError::ResponseError(context) => Some(context.raw().status().as_u16()),
            _ => None,
        };
        let (code, message, transient) = match &error {
            SdkError::ServiceError(_) => match error.code() {
                Some(code) => (
                    Some(code.to_owned()),
                    error.message().unwrap_or("no message").to_owned(),
                    THROTTLING_CODES.contains(&code)
                        || TRANSIENT_CODES.contains(&code)
                        || status.is_some_and(is_transient_status),
                ),
                // Not an AWS error answer at all: a proxy's error page, say.
                None => {
                    let status = status.unwrap_or_default();
                    (
                        None,
                        format!("HTTP {status}, an answer that is not an AWS error response"),
                        is_transient_status(status),
                    )
                }
            },
            SdkError::ResponseError(_) => {
                let status = status.unwrap_or_default();
                (
                    None,
                    format!("HTTP {status}, an answer that could not be read"),
                    is_transient_status(status) || status < 300,
                )
            }
            SdkError::TimeoutError(_) => (None, "no answer in time".to_owned(), true),
            SdkError::DispatchFailure(failure) => match failure.as_connector_error() {
                Some(connector) => (None, connector_problem(connector), !connector.is_user()),
                None => (None, "the request could not be sent".to_owned(), true),
            },
            _ => (None, "the request could not be built".to_owned(), false),
        };
        // A 4xx answer is a refusal, and a request that was never built was never sent;
        // anything else may have been carried out.
        let outcome_unknown = match &error {
            SdkError::ConstructionFailure(_) => false,
            _ => !status.is_some_and(|s| (400..500).contains(&s)),
        };
        AwsError {
            operation,
            code,
            message,
            source: Some(Box::new(error)),
            transient,
            retried: None,
            outcome_unknown,
        }
    }

    /// An attempt that got no answer within its own time limit.
    pub(super) fn no_answer(operation: &'static str, within: Duration) -> Self {
        let message = format!("no answer within {} s", within.as_secs());
        AwsError::without_answer(operation, message, true)
    }

    /// A request the SDK refused to build (a required field missing): never sent.
    pub(super) fn build(operation: &'static str, error: impl Into<Cause>) -> Self {
        let error = error.into();
        let message = format!("could not build the request: {error}");
        AwsError {
            source: Some(error),
            outcome_unknown: false,
            ..AwsError::without_answer(operation, message, false)
        }
    }

    fn without_answer(operation: &'static str, message: String, transient: bool) -> Self {
        AwsError {
            operation,
            code: None,
            message,
            source: None,
            transient,
            retried: None,
            outcome_unknown: true,
        }
    }

    /// Everything the SDK says about the error, for the call's log line, never for a Reason:
    /// its source with the whole chain of causes, or the message when there is none.
    pub fn detail(&self) -> String {
        match &self.source {
            Some(cause) => DisplayErrorContext(&**cause).to_string(),
            None => self.message.clone(),
        }
    }

    /// The thing to delete is already gone: ObjectNotFoundException (Application Auto
    /// Scaling), ResourceNotFound or ResourceNotFoundException (CloudWatch, tagging) or
    /// ParameterNotFound (Parameter Store). A ValidationException is bad input, never this.
    pub fn is_not_found(&self) -> bool {
        matches!(
            self.code.as_deref(),
            Some(
                "ObjectNotFoundException"
                    | "ResourceNotFound"
                    | "ResourceNotFoundException"
                    | "ParameterNotFound",
            )
        )
    }
}

fn is_transient_status(status: u16) -> bool {
    status == 429 || status >= 500
}

/// A transport failure in plain words: the innermost cause, which names the problem
/// ("Connection refused (os error 111)") rather than the layers it passed through.
fn connector_problem(error: &ConnectorError) -> String {
    let mut cause: &dyn Error = error;
    while let Some(inner) = cause.source() {
        cause = inner;
    }
    let what = if error.is_timeout() {
        "the connection timed out"
    } else if error.is_io() {
        "the connection failed"
    } else {
        "the request could not be sent"
    };
    format!("{what} ({})", shorten(&cause.to_string(), 120))
}

/// A text cut to at most `limit` characters, marked when cut.
fn shorten(text: &str, limit: usize) -> String {
    let text = text.trim();
    if text.chars().count() <= limit {
        return text.to_owned();
    }
    let head: String = text.chars().take(limit).collect();
    format!("{}...", head.trim_end())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(code: Option<&str>, message: &str) -> AwsError {
        AwsError {
            operation: "PutMetricAlarm",
            code: code.map(str::to_owned),
            message: message.to_owned(),
            source: None,
            transient: false,
            retried: None,
            outcome_unknown: false,
        }
    }

    #[test]
    fn a_service_error_reads_operation_code_and_message() {
        let error = error(Some("LimitExceeded"), "The maximum number of alarms");
        assert_eq!(
            error.to_string(),
            "PutMetricAlarm failed: LimitExceeded: The maximum number of alarms"
        );
    }

    #[test]
    fn a_long_message_is_cut_and_the_retries_are_told() {
        let mut error = error(Some("ThrottlingException"), &"Rate exceeded ".repeat(100));
        error.retried = Some(Retried {
            attempts: 9,
            over: Duration::from_millis(41_250),
            out_of_time: true,
        });
        let reason = error.to_string();
        assert!(reason.chars().count() < 400, "{} characters", reason.len());
        assert!(reason.starts_with("PutMetricAlarm failed: ThrottlingException: Rate exceeded"));
        assert!(reason.ends_with(
            "... (still failing after 9 attempts over 41.2 s, when the operation's time was up)"
        ));
    }

    #[test]
    fn a_call_that_failed_for_good_after_retries_says_how_many() {
        let mut error = error(Some("ValidationException"), "Bad value");
        error.retried = Some(Retried {
            attempts: 3,
            over: Duration::from_millis(1_500),
            out_of_time: false,
        });
        assert_eq!(
            error.to_string(),
            "PutMetricAlarm failed: ValidationException: Bad value (after 3 attempts over 1.5 s)"
        );
    }

    #[test]
    fn only_a_refusal_or_a_request_never_sent_says_the_call_was_not_carried_out() {
        use aws_sdk_applicationautoscaling::error::ErrorMetadata;
        use aws_sdk_applicationautoscaling::operation::register_scalable_target::RegisterScalableTargetError as E;
        use aws_smithy_types::body::SdkBody;
        let answered = |status: u16, code: &str| -> SdkError<E, HttpResponse> {
            let metadata = ErrorMetadata::builder().code(code).message("m").build();
            let raw = HttpResponse::new(status.try_into().unwrap(), SdkBody::empty());
            SdkError::service_error(E::generic(metadata), raw)
        };
        let unknown = |error: SdkError<E, HttpResponse>| {
            AwsError::from_sdk("RegisterScalableTarget", error).outcome_unknown
        };
        assert!(!unknown(answered(400, "ValidationException")));
        assert!(!unknown(answered(400, "ThrottlingException")));
        assert!(unknown(answered(500, "InternalFailure")));
        assert!(unknown(answered(503, "ServiceUnavailable")));
        assert!(unknown(SdkError::timeout_error("slow")));
        assert!(!unknown(SdkError::construction_failure("no ResourceId")));
        assert!(
            AwsError::no_answer("RegisterScalableTarget", Duration::from_secs(10)).outcome_unknown
        );
        assert!(!AwsError::build("RegisterScalableTarget", "missing").outcome_unknown);
    }

    #[test]
    fn the_sdks_error_is_the_source_and_its_whole_account_the_logs_detail() {
        use aws_sdk_applicationautoscaling::error::ErrorMetadata;
        use aws_sdk_applicationautoscaling::operation::register_scalable_target::RegisterScalableTargetError as E;
        use aws_smithy_types::body::SdkBody;
        let refused = || -> SdkError<E, HttpResponse> {
            let metadata = ErrorMetadata::builder()
                .code("ValidationException")
                .message("Bad value")
                .build();
            let raw = HttpResponse::new(400.try_into().unwrap(), SdkBody::empty());
            SdkError::service_error(E::generic(metadata), raw)
        };
        let expected = DisplayErrorContext(refused()).to_string();
        let error = AwsError::from_sdk("RegisterScalableTarget", refused());
        assert_eq!(error.detail(), expected);
        let source = error.source().expect("the SDK's error");
        assert_eq!(source.to_string(), refused().to_string());
        assert_eq!(
            error.to_string(),
            "RegisterScalableTarget failed: ValidationException: Bad value"
        );
        let no_answer = AwsError::no_answer("DescribeAlarms", Duration::from_secs(10));
        assert!(no_answer.source().is_none());
        assert_eq!(no_answer.detail(), "no answer within 10 s");
    }

    #[test]
    fn what_aws_says_of_a_missing_object_is_already_gone_and_bad_input_is_not() {
        assert!(error(Some("ObjectNotFoundException"), "x").is_not_found());
        assert!(error(Some("ResourceNotFound"), "x").is_not_found());
        assert!(!error(Some("ValidationException"), "No scalable target found").is_not_found());
        assert!(!error(Some("ValidationException"), "MinCapacity too high").is_not_found());
        assert!(!error(None, "HTTP 500").is_not_found());
    }

    #[test]
    fn throttling_and_service_trouble_are_transient_but_quotas_are_not() {
        for code in [
            "Throttling",
            "ThrottlingException",
            "ConcurrentUpdateException",
        ] {
            assert!(THROTTLING_CODES.contains(&code) || TRANSIENT_CODES.contains(&code));
        }
        for code in [
            "LimitExceeded",
            "LimitExceededException",
            "AccessDeniedException",
        ] {
            assert!(!THROTTLING_CODES.contains(&code) && !TRANSIENT_CODES.contains(&code));
        }
        assert!(is_transient_status(503) && is_transient_status(429));
        assert!(!is_transient_status(400));
    }
}
