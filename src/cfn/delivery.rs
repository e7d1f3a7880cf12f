//! Delivering the answer: one HTTP PUT of the body to the pre-signed ResponseURL, retried.
//!
//! The URL's query string is a credential (a signature valid for hours), so a [`ResponseUrl`]
//! displays without it and errors are stripped of the URL before anything is logged.

use crate::backoff;
use reqwest::Url;
use reqwest::header::CONTENT_TYPE;
use std::fmt;
use std::net::IpAddr;
use std::time::Duration;
use tokio::time::Instant;
use tracing::warn;

const MAX_ATTEMPTS: u32 = 5;
/// Each PUT gets this long at most: S3 answers in well under a second.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(4);
/// Stop this long before the deadline, so the function still returns and logs.
const DEADLINE_MARGIN: Duration = Duration::from_millis(200);

/// A ResponseURL this function is willing to contact: https to an Amazon S3 endpoint of an AWS
/// partition, where CloudFormation's pre-signed URLs point, or plain http to a loopback
/// address for local use. Anyone allowed to invoke the function can hand it a URL; anything
/// else is refused and never fetched.
#[derive(Clone, PartialEq, Eq)]
pub struct ResponseUrl(Url);

/// The DNS suffixes of the AWS partitions (commercial and GovCloud, China, the isolated
/// regions, the European Sovereign Cloud), as the SDKs' partition data lists them.
const PARTITION_SUFFIXES: [&str; 7] = [
    "amazonaws.com",
    "amazonaws.com.cn",
    "c2s.ic.gov",
    "sc2s.sgov.gov",
    "cloud.adc-e.uk",
    "csp.hci.ic.gov",
    "amazonaws.eu",
];

impl ResponseUrl {
    pub fn parse(text: &str) -> Result<Self, String> {
        let url = Url::parse(text).map_err(|e| format!("ResponseURL is not a URL: {e}"))?;
        let host = url.host_str().unwrap_or_default();
        let loopback = host.eq_ignore_ascii_case("localhost")
            || host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .parse::<IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
        let accepted = match url.scheme() {
            "https" => is_s3_host(host),
            "http" => loopback,
            _ => false,
        };
        if accepted && url.username().is_empty() && url.password().is_none() {
            Ok(ResponseUrl(url))
        } else {
            Err(format!(
                "ResponseURL {} is refused: only https to an Amazon S3 endpoint, or http to a \
                 loopback address, is contacted",
                Redacted(&url)
            ))
        }
    }
}

/// An Amazon S3 host of an AWS partition: path-style (`s3.us-east-1.amazonaws.com`),
/// virtual-hosted (`bucket.s3.us-east-1.amazonaws.com`), the legacy dash form
/// (`bucket.s3-us-west-2.amazonaws.com`), dual-stack, FIPS (`s3-fips.`), and VPC endpoints
/// (`bucket.vpce-1a2b.s3.us-east-1.vpce.amazonaws.com`): a partition's suffix, preceded by
/// labels one of which is `s3` or starts with `s3-`.
fn is_s3_host(host: &str) -> bool {
    let host = host.to_ascii_lowercase();
    PARTITION_SUFFIXES.iter().any(|suffix| {
        let Some(labels) = host
            .strip_suffix(suffix)
            .and_then(|rest| rest.strip_suffix('.'))
        else {
            return false;
        };
        let labels: Vec<&str> = labels.split('.').collect();
        labels.iter().all(|label| is_dns_label(label))
            && labels
                .iter()
                .any(|label| *label == "s3" || label.starts_with("s3-"))
    })
}

fn is_dns_label(label: &str) -> bool {
    (1..=63).contains(&label.len())
        && label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !label.starts_with('-')
        && !label.ends_with('-')
}

/// Scheme, host, port and path: never the query string that carries the signature.
impl fmt::Display for ResponseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        Redacted(&self.0).fmt(f)
    }
}

impl fmt::Debug for ResponseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ResponseUrl({self})")
    }
}

struct Redacted<'a>(&'a Url);

impl fmt::Display for Redacted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let url = self.0;
        write!(f, "{}://{}", url.scheme(), url.host_str().unwrap_or(""))?;
        if let Some(port) = url.port() {
            write!(f, ":{port}")?;
        }
        f.write_str(url.path())
    }
}

/// Why the answer did not reach CloudFormation. The last attempt's error is kept as text, never
/// as the HTTP client's error: that one carries the ResponseURL, whose query is a credential.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the answer was not delivered after {attempts} attempt(s): {last_error}")]
pub struct DeliveryFailed {
    pub attempts: u32,
    pub last_error: String,
}

/// Sends answers, on the function's shared HTTP client.
#[derive(Clone, Debug)]
pub struct Responder {
    http: reqwest::Client,
}

impl Responder {
    pub fn new(http: reqwest::Client) -> Self {
        Responder { http }
    }

    /// PUTs the body until a 2xx answer, with backoff, all before `deadline`, and answers how
    /// many attempts it took. Failed attempts are logged here; the outcome by the caller.
    pub(crate) async fn deliver(
        &self,
        url: &ResponseUrl,
        body: Vec<u8>,
        deadline: Instant,
    ) -> Result<u32, DeliveryFailed> {
        let give_up_at = deadline.checked_sub(DEADLINE_MARGIN).unwrap_or(deadline);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let remaining = give_up_at.saturating_duration_since(Instant::now());
            let error = if remaining.is_zero() {
                "no time left before the deadline".to_owned()
            } else {
                match self.put(url, &body, remaining.min(ATTEMPT_TIMEOUT)).await {
                    Ok(()) => return Ok(attempt),
                    Err(error) => error,
                }
            };
            let retry_in = backoff::delay(
                attempt - 1,
                Duration::from_millis(200),
                Duration::from_secs(2),
            );
            let retry = attempt < MAX_ATTEMPTS && Instant::now() + retry_in < give_up_at;
            warn!(response_url = %url, attempt, error = %error, will_retry = retry, "answer not delivered");
            if !retry {
                return Err(DeliveryFailed {
                    attempts: attempt,
                    last_error: error,
                });
            }
            tokio::time::sleep(retry_in).await;
        }
    }

    async fn put(&self, url: &ResponseUrl, body: &[u8], timeout: Duration) -> Result<(), String> {
        // An empty Content-Type: older pre-signed URLs were signed without one and answer
        // SignatureDoesNotMatch when a type is sent. reqwest sets the exact Content-Length.
        let request = self
            .http
            .put(url.0.clone())
            .header(CONTENT_TYPE, "")
            .body(body.to_vec())
            .timeout(timeout)
            .send();
        match request.await {
            Ok(response) if response.status().is_success() => Ok(()),
            // The body of an S3 error can echo the signature: only the status is kept.
            Ok(response) => Err(format!("HTTP {}", response.status())),
            Err(error) if error.is_timeout() => Err(format!("no answer within {timeout:?}")),
            Err(error) => Err(error.without_url().to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s3_endpoints_of_every_partition_are_accepted() {
        for url in [
            // What CloudFormation sends: the response bucket, virtual-hosted.
            "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/arn%3Aaws/k?X-Amz-Signature=1",
            "https://cloudformation-custom-resource-response-uswest2.s3-us-west-2.amazonaws.com/k",
            "https://cloudformation-custom-resource-response-euwest1.s3.eu-west-1.amazonaws.com/k",
            "https://cloudformation-custom-resource-response-cnnorth1.s3.cn-north-1.amazonaws.com.cn/k",
            "https://cloudformation-custom-resource-response-usgovwest1.s3.us-gov-west-1.amazonaws.com/k",
            // Path-style, dual-stack, FIPS, and the other partitions.
            "https://s3.amazonaws.com/bucket/k",
            "https://s3.dualstack.us-east-1.amazonaws.com/bucket/k",
            "https://s3-fips.us-gov-west-1.amazonaws.com/bucket/k",
            "https://bucket.s3-fips.dualstack.us-east-1.amazonaws.com/k",
            "https://bucket.s3.us-iso-east-1.c2s.ic.gov/k",
            "https://bucket.s3.us-isob-east-1.sc2s.sgov.gov/k",
            "https://bucket.s3.eu-isoe-west-1.cloud.adc-e.uk/k",
            "https://bucket.s3.us-isof-south-1.csp.hci.ic.gov/k",
            "https://bucket.s3.eusc-de-east-1.amazonaws.eu/k",
            // A VPC interface endpoint.
            "https://bucket.vpce-1a2b3c4d-5e6f.s3.us-east-1.vpce.amazonaws.com/k",
            "https://BUCKET.S3.AMAZONAWS.COM/k",
        ] {
            assert!(ResponseUrl::parse(url).is_ok(), "{url}");
        }
    }

    #[test]
    fn anything_but_s3_over_https_or_loopback_http_is_refused() {
        for url in [
            "https://example.com/k",
            "https://s3.amazonaws.com.evil.example/k",
            "https://amazonaws.com/k",
            "https://ec2.us-east-1.amazonaws.com/k",
            "https://bucket.s3x.amazonaws.com/k",
            "https://evil-s3.amazonaws.com.example.org/k",
            "https://s3.amazonaws.com@evil.example/k",
            "https://user:pass@s3.amazonaws.com/k",
            "https://127.0.0.1/k",
            "http://s3.amazonaws.com/bucket/k",
            "http://10.255.255.1/answers",
            "file:///etc/passwd",
            "not a url",
        ] {
            assert!(ResponseUrl::parse(url).is_err(), "{url}");
        }
        assert!(ResponseUrl::parse("http://127.0.0.1:5000/b/k").is_ok());
        assert!(ResponseUrl::parse("http://[::1]:5000/b/k").is_ok());
        assert!(ResponseUrl::parse("http://localhost/b/k").is_ok());
    }

    #[test]
    fn a_refusal_names_the_host_and_never_the_signature() {
        let refused = ResponseUrl::parse("https://attacker.example/latest?X-Amz-Signature=secret");
        let reason = refused.unwrap_err();
        assert!(
            reason.contains("https://attacker.example/latest is refused"),
            "{reason}"
        );
        assert!(!reason.contains("secret"));
    }

    #[test]
    fn the_query_string_never_shows() {
        let url =
            ResponseUrl::parse("https://b.s3.amazonaws.com:8443/k%20x?X-Amz-Signature=s3cr3t")
                .unwrap();
        assert_eq!(url.to_string(), "https://b.s3.amazonaws.com:8443/k%20x");
        assert!(!format!("{url:?}").contains("s3cr3t"));
    }
}
