//! An AWS call that failed for good, and the rules that read it: already gone, worth retrying.

use aws_sdk_applicationautoscaling::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use std::fmt;

/// An AWS call that failed for good (after retries).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AwsError {
    pub operation: &'static str,
    pub code: Option<String>,
    pub message: String,
}

impl fmt::Display for AwsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.code {
            Some(code) => write!(f, "{} failed: {code}: {}", self.operation, self.message),
            None => write!(f, "{} failed: {}", self.operation, self.message),
        }
    }
}

impl std::error::Error for AwsError {}

impl AwsError {
    pub(super) fn from_sdk<E, R>(operation: &'static str, error: &SdkError<E, R>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: fmt::Debug,
    {
        match error {
            SdkError::ServiceError(_) => AwsError {
                operation,
                code: error.code().map(str::to_owned),
                message: error
                    .message()
                    .map(str::to_owned)
                    .unwrap_or_else(|| DisplayErrorContext(error).to_string()),
            },
            _ => AwsError {
                operation,
                code: None,
                message: DisplayErrorContext(error).to_string(),
            },
        }
    }

    /// A request the SDK refused to build (a required field missing).
    pub(super) fn build(operation: &'static str, error: impl fmt::Display) -> Self {
        AwsError {
            operation,
            code: None,
            message: format!("could not build the request: {error}"),
        }
    }

    /// The thing to delete is already gone. Real AWS says ObjectNotFoundException (Application
    /// Auto Scaling) or ResourceNotFound (CloudWatch); moto says ValidationException with a
    /// "No scalable target"/"No scaling policy" message, which real AWS uses only for bad input.
    pub fn is_not_found(&self) -> bool {
        match self.code.as_deref() {
            Some("ObjectNotFoundException" | "ResourceNotFound" | "ResourceNotFoundException") => {
                true
            }
            Some("ValidationException") => {
                self.message.starts_with("No scalable target")
                    || self.message.starts_with("No scaling policy")
            }
            _ => false,
        }
    }
}
