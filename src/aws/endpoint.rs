//! SageMaker, read only: the endpoint and its configurations, for the guard and for a scaling
//! resource that waits for its endpoint.

use super::error::AwsError;
use super::{ScalingApi, call};
use aws_sdk_sagemaker::primitives::DateTimeFormat;

/// An endpoint as DescribeEndpoint shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    pub name: String,
    /// The configuration it runs: while it updates, still the old one.
    pub config_name: String,
    /// `InService`, `Creating`, `Updating`, `RollingBack`, `Failed`...
    pub status: String,
    /// When it last changed state, as SageMaker writes it: what tells a restore whether the
    /// endpoint has been through an update since a record was taken.
    pub last_modified: String,
    pub failure_reason: Option<String>,
}

impl Endpoint {
    pub fn in_service(&self) -> bool {
        self.status == "InService"
    }

    /// Still changing: it will settle by itself.
    pub fn changing(&self) -> bool {
        matches!(
            self.status.as_str(),
            "Creating" | "Updating" | "SystemUpdating" | "RollingBack"
        )
    }
}

/// An endpoint configuration's production variants: name and instance type (none for a
/// serverless variant).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndpointConfig {
    pub name: String,
    pub variants: Vec<(String, Option<String>)>,
}

impl EndpointConfig {
    /// The variant's instance type: `None` when the configuration has no such variant,
    /// `Some(None)` for a variant without one.
    pub fn instance_type(&self, variant: &str) -> Option<Option<&str>> {
        self.variants
            .iter()
            .find(|(name, _)| name == variant)
            .map(|(_, instance_type)| instance_type.as_deref())
    }
}

/// SageMaker answers a missing endpoint or configuration with a ValidationException "Could not
/// find ...", its only not-found signal: `None` then.
fn found<T>(output: Result<T, AwsError>) -> Result<Option<T>, AwsError> {
    match output {
        Ok(output) => Ok(Some(output)),
        Err(error)
            if error.code.as_deref() == Some("ValidationException")
                && error.message.starts_with("Could not find") =>
        {
            Ok(None)
        }
        Err(error) => Err(error),
    }
}

impl ScalingApi {
    /// The endpoint, or `None` when there is none of that name.
    pub async fn endpoint(&self, name: &str) -> Result<Option<Endpoint>, AwsError> {
        let output = call::call(&self.budget(), "DescribeEndpoint", name, || {
            self.clients
                .sagemaker
                .describe_endpoint()
                .endpoint_name(name)
                .send()
        })
        .await;
        let Some(output) = found(output)? else {
            return Ok(None);
        };
        Ok(Some(Endpoint {
            name: output.endpoint_name().unwrap_or(name).to_owned(),
            config_name: output.endpoint_config_name().unwrap_or_default().to_owned(),
            status: output
                .endpoint_status()
                .map(|s| s.as_str().to_owned())
                .unwrap_or_default(),
            last_modified: output
                .last_modified_time()
                .and_then(|t| t.fmt(DateTimeFormat::DateTime).ok())
                .unwrap_or_default(),
            failure_reason: output.failure_reason().map(str::to_owned),
        }))
    }

    /// The endpoint configuration, or `None` when there is none of that name.
    pub async fn endpoint_config(&self, name: &str) -> Result<Option<EndpointConfig>, AwsError> {
        let output = call::call(&self.budget(), "DescribeEndpointConfig", name, || {
            self.clients
                .sagemaker
                .describe_endpoint_config()
                .endpoint_config_name(name)
                .send()
        })
        .await;
        let Some(output) = found(output)? else {
            return Ok(None);
        };
        Ok(Some(EndpointConfig {
            name: name.to_owned(),
            variants: output
                .production_variants()
                .iter()
                .map(|v| {
                    let instance_type = v.instance_type().map(|t| t.as_str().to_owned());
                    (
                        v.variant_name().unwrap_or_default().to_owned(),
                        instance_type,
                    )
                })
                .collect(),
        }))
    }
}
