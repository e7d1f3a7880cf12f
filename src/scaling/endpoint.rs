//! A scaling resource that names its endpoint's configuration waits for the endpoint to run it.

use super::Failure;
use crate::aws::ScalingApi;
use crate::properties::ScalingProperties;
use std::time::Duration;
use tokio::time::Instant;
use tracing::info;

/// The first look again comes after this long, each next one after twice as long, up to the cap.
const FIRST_WAIT: Duration = Duration::from_millis(250);
const LONGEST_WAIT: Duration = Duration::from_secs(10);

/// Why the endpoint is not ready for its variant to be registered.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EndpointProblem {
    #[error("The endpoint {endpoint} does not exist")]
    Missing { endpoint: String },
    /// It settled on another configuration than `EndpointConfigName` (an update that failed
    /// and rolled back, say).
    #[error(
        "The endpoint {endpoint} runs the configuration {running}, not {expected} \
         (EndpointConfigName){}; nothing was registered",
        because(.failure_reason)
    )]
    OtherConfig {
        endpoint: String,
        running: String,
        expected: String,
        failure_reason: Option<String>,
    },
    #[error(
        "The endpoint {endpoint} is {status}, not InService{}; nothing was registered",
        because(.failure_reason)
    )]
    NotInService {
        endpoint: String,
        status: String,
        failure_reason: Option<String>,
    },
    #[error(
        "The endpoint {endpoint} was still {status} after {} s, when the operation's \
         time was up; nothing was registered",
        .waited.as_secs()
    )]
    StillChanging {
        endpoint: String,
        status: String,
        waited: Duration,
    },
}

/// The endpoint's `FailureReason`, when it has one, for a Reason.
fn because(reason: &Option<String>) -> String {
    match reason {
        Some(reason) => format!(" (its FailureReason: {reason})"),
        None => String::new(),
    }
}

/// Waits, within the operation's time, until the endpoint is InService, and checks that it
/// runs the configuration the properties name. Without `EndpointConfigName`, nothing is called.
pub(super) async fn wait_for_endpoint(
    api: &ScalingApi,
    props: &ScalingProperties,
) -> Result<(), Failure> {
    // The properties give `EndpointConfigName` with a variant only.
    let (Some(expected), Some(variant)) = (&props.endpoint_config_name, props.resource.variant())
    else {
        return Ok(());
    };
    let endpoint_name = &variant.endpoint_name;
    let started = Instant::now();
    let mut wait = FIRST_WAIT;
    loop {
        let Some(endpoint) = api.endpoint(endpoint_name).await? else {
            return Err(EndpointProblem::Missing {
                endpoint: endpoint_name.clone(),
            }
            .into());
        };
        if endpoint.changing() {
            let left = api.time_left();
            if left <= wait {
                return Err(EndpointProblem::StillChanging {
                    endpoint: endpoint_name.clone(),
                    status: endpoint.status,
                    waited: started.elapsed(),
                }
                .into());
            }
            info!(endpoint = %endpoint_name, status = %endpoint.status, "waiting for the endpoint");
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(LONGEST_WAIT);
            continue;
        }
        if !endpoint.in_service() {
            return Err(EndpointProblem::NotInService {
                endpoint: endpoint_name.clone(),
                status: endpoint.status,
                failure_reason: endpoint.failure_reason,
            }
            .into());
        }
        if endpoint.config_name != *expected {
            return Err(EndpointProblem::OtherConfig {
                endpoint: endpoint_name.clone(),
                running: endpoint.config_name,
                expected: expected.clone(),
                failure_reason: endpoint.failure_reason,
            }
            .into());
        }
        return Ok(());
    }
}
