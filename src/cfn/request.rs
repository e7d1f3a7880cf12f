//! Reading a CloudFormation custom resource request, in two passes.
//!
//! The first pass ([`Envelope`]) reads only what an answer needs, loosely, so that an event
//! whose typed parse fails (an unknown RequestType, a missing field) still gets a FAILED answer
//! instead of leaving the stack waiting. The second pass ([`Request`]) is the typed one.

use super::delivery::ResponseUrl;
use aws_lambda_events::event::cloudformation::CloudFormationCustomResourceRequest;
use serde_json::Value;

/// What every answer echoes, and where it goes.
#[derive(Clone, Debug)]
pub struct Envelope {
    pub response_url: ResponseUrl,
    pub stack_id: String,
    pub request_id: String,
    pub logical_resource_id: String,
    /// As sent, for logs; `Request::parse` decides whether it is valid.
    pub request_type: String,
    /// `Custom::...` as the template names it: which of the function's resources this is.
    pub resource_type: String,
    pub physical_resource_id: Option<String>,
}

/// An event that cannot be answered: not a CloudFormation request, or one whose ResponseURL
/// this function refuses to contact. It becomes an invocation error.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Unanswerable(pub String);

impl Envelope {
    pub fn read(event: &Value) -> Result<Self, Unanswerable> {
        let Some(url) = event.get("ResponseURL").and_then(Value::as_str) else {
            return Err(Unanswerable(
                "not a CloudFormation custom resource request: no ResponseURL string".to_owned(),
            ));
        };
        let response_url = ResponseUrl::parse(url).map_err(Unanswerable)?;
        let text = |name: &str| {
            event
                .get(name)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        Ok(Envelope {
            response_url,
            stack_id: text("StackId"),
            request_id: text("RequestId"),
            logical_resource_id: text("LogicalResourceId"),
            request_type: text("RequestType"),
            resource_type: text("ResourceType"),
            physical_resource_id: event
                .get("PhysicalResourceId")
                .and_then(Value::as_str)
                .map(str::to_owned),
        })
    }
}

/// The typed request, with ResourceProperties left as JSON: `ScalingProperties` reads them
/// with messages that name each property.
#[derive(Clone, Debug, PartialEq)]
pub enum Request {
    Create {
        properties: Value,
    },
    Update {
        physical_resource_id: String,
        properties: Value,
        old_properties: Value,
    },
    Delete {
        physical_resource_id: String,
        properties: Value,
    },
}

impl Request {
    pub fn parse(event: Value) -> Result<Self, String> {
        let typed: CloudFormationCustomResourceRequest<Value, Value> =
            serde_json::from_value(event)
                .map_err(|e| format!("Malformed CloudFormation request: {e}"))?;
        Ok(match typed {
            CloudFormationCustomResourceRequest::Create(create) => Request::Create {
                properties: create.resource_properties,
            },
            CloudFormationCustomResourceRequest::Update(update) => Request::Update {
                physical_resource_id: update.physical_resource_id,
                properties: update.resource_properties,
                old_properties: update.old_resource_properties,
            },
            CloudFormationCustomResourceRequest::Delete(delete) => Request::Delete {
                physical_resource_id: delete.physical_resource_id,
                properties: delete.resource_properties,
            },
            // The enum is non-exhaustive; a RequestType this crate learns later is still
            // one this function does not handle.
            _ => return Err("Unsupported RequestType".to_owned()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(request_type: &str) -> Value {
        json!({
            "RequestType": request_type,
            "ResponseURL": "https://bucket.s3.amazonaws.com/key?X-Amz-Signature=abc",
            "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/s/1",
            "RequestId": "r-1",
            "ResourceType": "Custom::AsyncEndpointAutoScaling",
            "LogicalResourceId": "Scaling",
            "PhysicalResourceId": "endpoint/e/variant/v",
            "ResourceProperties": {"EndpointName": "new"},
            "OldResourceProperties": {"EndpointName": "old"}
        })
    }

    #[test]
    fn an_unknown_request_type_still_has_an_envelope() {
        let event = event("Replace");
        let envelope = Envelope::read(&event).unwrap();
        assert_eq!(envelope.request_id, "r-1");
        let reason = Request::parse(event).unwrap_err();
        assert!(reason.contains("unknown variant `Replace`"), "{reason}");
    }

    #[test]
    fn an_event_without_response_url_is_unanswerable() {
        let error = Envelope::read(&json!({"RequestType": "Create"})).unwrap_err();
        assert!(error.0.contains("no ResponseURL"));
    }

    #[test]
    fn each_request_type_parses_with_its_own_properties() {
        assert_eq!(
            Request::parse(event("Create")),
            Ok(Request::Create {
                properties: json!({"EndpointName": "new"})
            })
        );
        assert_eq!(
            Request::parse(event("Update")),
            Ok(Request::Update {
                physical_resource_id: "endpoint/e/variant/v".into(),
                properties: json!({"EndpointName": "new"}),
                old_properties: json!({"EndpointName": "old"}),
            })
        );
        assert_eq!(
            Request::parse(event("Delete")),
            Ok(Request::Delete {
                physical_resource_id: "endpoint/e/variant/v".into(),
                properties: json!({"EndpointName": "new"}),
            })
        );
    }
}
