//! The answer CloudFormation receives, encoded within its 4096-byte limit.

use super::request::Envelope;
use aws_lambda_events::event::cloudformation::{
    CloudFormationCustomResourceResponse, CloudFormationCustomResourceResponseStatus,
};
use std::collections::BTreeMap;

/// CloudFormation refuses a larger answer ("Response object is too long").
pub const MAX_BODY_BYTES: usize = 4096;

const TRUNCATION_MARK: &str = " [...]";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Success,
    Failed,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Answer {
    pub status: Status,
    pub reason: String,
    pub physical_resource_id: String,
    pub data: BTreeMap<String, String>,
}

impl Answer {
    pub fn success(
        physical_resource_id: String,
        data: BTreeMap<String, String>,
        reason: String,
    ) -> Self {
        Answer {
            status: Status::Success,
            reason,
            physical_resource_id,
            data,
        }
    }

    pub fn failed(physical_resource_id: String, reason: String) -> Self {
        Answer {
            status: Status::Failed,
            reason,
            physical_resource_id,
            data: BTreeMap::new(),
        }
    }
}

/// The body to PUT, and the answer it actually carries: a long Reason is shortened keeping its
/// head (where the cause is), and Data that cannot fit turns the answer into a short FAILED.
pub fn encode(envelope: &Envelope, answer: &Answer) -> (Vec<u8>, Answer) {
    let mut answer = answer.clone();
    let body = serialize(envelope, &answer);
    if body.len() <= MAX_BODY_BYTES {
        return (body, answer);
    }
    if let Some(body) = shorten_reason(envelope, &mut answer) {
        return (body, answer);
    }
    let data_bytes: usize = answer.data.iter().map(|(k, v)| k.len() + v.len() + 6).sum();
    answer = Answer::failed(
        answer.physical_resource_id,
        format!(
            "The answer would exceed CloudFormation's {MAX_BODY_BYTES}-byte limit: its Data \
             alone is about {data_bytes} bytes"
        ),
    );
    let body = serialize(envelope, &answer);
    if body.len() <= MAX_BODY_BYTES {
        return (body, answer);
    }
    // Only the echoed fields can still be too long; they cannot be changed, so the reason goes.
    let body =
        shorten_reason(envelope, &mut answer).unwrap_or_else(|| serialize(envelope, &answer));
    (body, answer)
}

/// Keeps the longest head of the Reason with which the body fits (found by bisection, since
/// JSON escaping makes a byte of Reason cost one to six bytes of body), or answers `None` when
/// even an empty Reason does not fit.
fn shorten_reason(envelope: &Envelope, answer: &mut Answer) -> Option<Vec<u8>> {
    let original = std::mem::take(&mut answer.reason);
    let mut with_head = |cut: usize| {
        answer.reason = format!("{}{TRUNCATION_MARK}", &original[..cut]);
        serialize(envelope, answer)
    };
    // Every place the Reason can be cut, shortest head first.
    let mut cuts: Vec<usize> = original.char_indices().map(|(i, _)| i).collect();
    if cuts.is_empty() {
        cuts.push(0);
    }
    let fits = |body: &Vec<u8>| body.len() <= MAX_BODY_BYTES;
    if !fits(&with_head(0)) {
        return None;
    }
    // Invariant: cutting at cuts[low] fits; cutting at cuts[high] (or beyond) does not.
    let (mut low, mut high) = (0, cuts.len());
    while high - low > 1 {
        let middle = low + (high - low) / 2;
        if fits(&with_head(cuts[middle])) {
            low = middle;
        } else {
            high = middle;
        }
    }
    Some(with_head(cuts[low]))
}

fn serialize(envelope: &Envelope, answer: &Answer) -> Vec<u8> {
    let mut response = CloudFormationCustomResourceResponse::default();
    response.status = match answer.status {
        Status::Success => CloudFormationCustomResourceResponseStatus::Success,
        Status::Failed => CloudFormationCustomResourceResponseStatus::Failed,
    };
    response.reason = Some(answer.reason.clone());
    response.physical_resource_id = answer.physical_resource_id.clone();
    response.stack_id = envelope.stack_id.clone();
    response.request_id = envelope.request_id.clone();
    response.logical_resource_id = envelope.logical_resource_id.clone();
    response.no_echo = false;
    response.data = answer
        .data
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    // Serializing strings and a string map cannot fail.
    serde_json::to_vec(&response).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cfn::delivery::ResponseUrl;
    use serde_json::Value;

    fn envelope() -> Envelope {
        Envelope {
            response_url: ResponseUrl::parse("https://bucket.s3.amazonaws.com/r?X-Amz-Signature=s")
                .unwrap(),
            stack_id: "arn:aws:cloudformation:us-east-1:123456789012:stack/s/1".into(),
            request_id: "r-1".into(),
            logical_resource_id: "Scaling".into(),
            request_type: "Create".into(),
            resource_type: "Custom::AsyncEndpointAutoScaling".into(),
            physical_resource_id: None,
        }
    }

    fn parsed(body: &[u8]) -> Value {
        serde_json::from_slice(body).unwrap()
    }

    #[test]
    fn the_body_echoes_the_request_and_carries_the_answer() {
        let data = BTreeMap::from([("ResourceId".to_owned(), "endpoint/e/variant/v".to_owned())]);
        let answer = Answer::success("endpoint/e/variant/v".into(), data, "done".into());
        let (body, sent) = encode(&envelope(), &answer);
        assert_eq!(sent, answer);
        let body = parsed(&body);
        assert_eq!(body["Status"], "SUCCESS");
        assert_eq!(body["RequestId"], "r-1");
        assert_eq!(body["LogicalResourceId"], "Scaling");
        assert_eq!(body["NoEcho"], false);
        assert_eq!(body["Data"]["ResourceId"], "endpoint/e/variant/v");
    }

    #[test]
    fn a_long_reason_keeps_its_head_and_fits() {
        let reason = format!("PutScalingPolicy failed: {}", "\"quoted\" é ".repeat(2000));
        let (body, sent) = encode(&envelope(), &Answer::failed("p".into(), reason));
        assert!(body.len() <= MAX_BODY_BYTES, "{} bytes", body.len());
        assert!(
            body.len() > MAX_BODY_BYTES - 64,
            "shortened too much: {}",
            body.len()
        );
        assert!(
            sent.reason
                .starts_with("PutScalingPolicy failed: \"quoted\"")
        );
        assert!(sent.reason.ends_with(TRUNCATION_MARK));
        assert_eq!(parsed(&body)["Reason"], sent.reason.as_str());
    }

    #[test]
    fn data_that_cannot_fit_becomes_a_short_failure() {
        let data = BTreeMap::from([("Big".to_owned(), "x".repeat(5000))]);
        let (body, sent) = encode(&envelope(), &Answer::success("p".into(), data, "ok".into()));
        assert!(body.len() <= MAX_BODY_BYTES);
        assert_eq!(sent.status, Status::Failed);
        assert!(sent.reason.contains("4096-byte limit"));
        assert_eq!(parsed(&body)["Data"], serde_json::json!({}));
    }
}
