//! SageMaker, read only: the endpoint and its configurations, for the guard and for a scaling
//! resource that waits for its endpoint.

use super::error::AwsError;
use super::{ScalingApi, call};
use aws_sdk_sagemaker::primitives::DateTimeFormat;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;

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

/// An endpoint configuration's production variants: name and what each runs on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndpointConfig {
    pub name: String,
    pub variants: Vec<(String, Placement)>,
}

impl EndpointConfig {
    /// What the variant runs on: `None` when the configuration has no such variant.
    pub fn placement(&self, variant: &str) -> Option<&Placement> {
        self.variants
            .iter()
            .find(|(name, _)| name == variant)
            .map(|(_, placement)| placement)
    }
}

/// What a production variant runs on: one instance type, instance pools (up to five types
/// by priority, SageMaker's since 2026), or neither (a serverless variant).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Placement {
    InstanceType(String),
    InstancePools(Vec<InstancePool>),
    Serverless,
}

/// One of a variant's instance pools, as its configuration gives it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct InstancePool {
    pub instance_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_name_override: Option<String>,
}

impl Placement {
    /// Whether a variant moving from `self` to `other` keeps its instances, as SageMaker's rule
    /// for registered variants reads here: the same instance type, or pools of the same set of
    /// types (priorities and ModelNameOverride may change). AWS documents the rule for the
    /// instance type; that pools follow it by their set of types, and that a move between an
    /// instance type and pools is a change, is this project's reading.
    pub fn same_instances(&self, other: &Placement) -> bool {
        match (self, other) {
            (Placement::InstancePools(a), Placement::InstancePools(b)) => {
                pool_types(a) == pool_types(b)
            }
            (a, b) => a == b,
        }
    }
}

fn pool_types(pools: &[InstancePool]) -> BTreeSet<&str> {
    pools.iter().map(|p| p.instance_type.as_str()).collect()
}

/// The instance type, `pools a, b` (the pools' types by priority) or `none`.
impl fmt::Display for Placement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Placement::InstanceType(instance_type) => f.write_str(instance_type),
            Placement::InstancePools(pools) => {
                let mut by_priority: Vec<&InstancePool> = pools.iter().collect();
                by_priority.sort_by_key(|p| p.priority);
                let types: Vec<&str> = by_priority
                    .iter()
                    .map(|p| p.instance_type.as_str())
                    .collect();
                write!(f, "pools {}", types.join(", "))
            }
            Placement::Serverless => f.write_str("none"),
        }
    }
}

/// What a ProductionVariant runs on.
fn placement(variant: &aws_sdk_sagemaker::types::ProductionVariant) -> Placement {
    if let Some(instance_type) = variant.instance_type() {
        return Placement::InstanceType(instance_type.as_str().to_owned());
    }
    let pools = variant.instance_pools();
    if pools.is_empty() {
        return Placement::Serverless;
    }
    Placement::InstancePools(
        pools
            .iter()
            .map(|p| InstancePool {
                instance_type: p
                    .instance_type()
                    .map(|t| t.as_str().to_owned())
                    .unwrap_or_default(),
                priority: p.priority(),
                model_name_override: p.model_name_override().map(str::to_owned),
            })
            .collect(),
    )
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
                    (
                        v.variant_name().unwrap_or_default().to_owned(),
                        placement(v),
                    )
                })
                .collect(),
        }))
    }
}
