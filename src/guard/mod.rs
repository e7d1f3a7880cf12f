//! The guard (`Custom::AsyncEndpointScalingGuard`): lets an endpoint update that SageMaker
//! refuses while variants are registered for auto scaling (an instance-type change, a variant
//! removed) go through, without losing the scaling.
//!
//! The endpoint `DependsOn` the guard, so CloudFormation updates the guard first, forward and
//! in rollback. Its Update records each affected variant's scaling in Parameter Store and
//! deregisters it; the scaling resource's own Update (it names the endpoint's configuration)
//! registers it again afterwards. When the endpoint update fails instead, a record is restored
//! by the guard's rollback Update, or by SageMaker's state-change event once the endpoint is
//! InService again. [`plan`] holds every decision; this module reads and writes.

pub mod plan;
pub mod record;
mod restore;
mod take;

use crate::aws::{AwsError, Endpoint, EndpointConfig, ScalingApi, StoredRecord};
use crate::contract::{GUARD_ID_PREFIX, RESTORING_TAG};
use crate::properties::{GuardProperties, InvalidProperties};
use crate::resource::{CustomResource, Done, RequestContext};
use crate::target::VariantId;
use plan::{Registered, Registrant, RestoreDecision, Trigger};
use record::Record;
use serde_json::Value;
use std::collections::BTreeMap;
use tracing::{info, warn};

/// Why a guard operation failed.
#[derive(Debug, thiserror::Error)]
pub enum GuardFailure {
    #[error(transparent)]
    Invalid(#[from] InvalidProperties),
    #[error(transparent)]
    Aws(#[from] AwsError),
    /// A variant in the update's way belongs to no scaling resource of this stack.
    #[error(transparent)]
    Refused(#[from] plan::DeregistrationRefusal),
    /// An endpoint configuration the guard must read is not there.
    #[error("The endpoint configuration {0} does not exist")]
    ConfigMissing(String),
    /// What a variant holds cannot be recorded whole, so it is not deregistered.
    #[error(
        "Nothing was deregistered: the auto scaling of {} cannot be recorded to be put \
         back: {why}",
        .variant.resource_id()
    )]
    Unrecordable { variant: VariantId, why: String },
    /// A step failed after some variants were deregistered (their records are stored).
    #[error(
        "{error}. Deregistered before that, and recorded to be restored by the \
         rollback: {}",
        .done.join(", ")
    )]
    Partly {
        done: Vec<String>,
        #[source]
        error: Box<AwsError>,
    },
}

/// The guard (`Custom::AsyncEndpointScalingGuard`). The request's id (in the
/// `RequestContext`) marks the restores its operations begin (see `restore`).
pub struct Guard;

impl CustomResource for Guard {
    type Failure = GuardFailure;

    async fn create(
        &self,
        _context: &RequestContext,
        properties: Value,
    ) -> Result<Done, GuardFailure> {
        create(&properties)
    }

    async fn update(
        &self,
        context: &RequestContext,
        _physical_resource_id: String,
        properties: Value,
        _old_properties: Value,
    ) -> Result<Done, GuardFailure> {
        let RequestContext {
            api,
            owner,
            request_id,
            ..
        } = context;
        update(api, &properties, &owner.stack_id, request_id).await
    }

    async fn delete(
        &self,
        context: &RequestContext,
        physical_resource_id: String,
        _properties: Value,
    ) -> Result<Done, GuardFailure> {
        let summary = delete(&context.api, &physical_resource_id, &context.request_id).await?;
        Ok(Done {
            physical_resource_id,
            data: BTreeMap::new(),
            summary,
        })
    }
}

fn physical_id(endpoint_name: &str) -> String {
    format!("{GUARD_ID_PREFIX}{endpoint_name}")
}

/// Create: the endpoint does not run yet, or runs what the stack is about to adopt; there is
/// nothing to guard. Only the properties are checked.
fn create(properties: &Value) -> Result<Done, GuardFailure> {
    let props = GuardProperties::parse(properties)?;
    Ok(Done {
        physical_resource_id: physical_id(&props.endpoint_name),
        data: BTreeMap::new(),
        summary: format!(
            "Guarding the endpoint {}: its next update deregisters and records the variants \
             that SageMaker would refuse to change while registered",
            props.endpoint_name
        ),
    })
}

/// Update, forward or rollback (the two look the same). It reads the endpoint, both
/// configurations and the endpoint's records, decides which registered variants the coming
/// endpoint update changes in a way SageMaker refuses, and reads each into a record; every
/// refusal comes before the first write. Then it settles the other records (a rollback
/// restores here what its forward Update deregistered), stores the new ones, and deregisters.
async fn update(
    api: &ScalingApi,
    properties: &Value,
    stack_id: &str,
    restorer: &str,
) -> Result<Done, GuardFailure> {
    let props = GuardProperties::parse(properties)?;
    let physical_resource_id = physical_id(&props.endpoint_name);
    let records_path = record::endpoint_path(&props.endpoint_name);
    let (endpoint, stored) = tokio::try_join!(
        api.endpoint(&props.endpoint_name),
        api.records_under(&records_path)
    )?;
    let current = match &endpoint {
        Some(endpoint) => api.endpoint_config(&endpoint.config_name).await?,
        None => None,
    };
    let (affected, takes) = match &endpoint {
        Some(endpoint) if endpoint.config_name != props.endpoint_config_name => {
            let current = current
                .as_ref()
                .ok_or_else(|| GuardFailure::ConfigMissing(endpoint.config_name.clone()))?;
            plan_takes(
                api,
                endpoint,
                current,
                &props.endpoint_config_name,
                stack_id,
                &stored,
            )
            .await?
        }
        _ => (Vec::new(), Vec::new()),
    };

    // The records of variants this update changes are replaced by a new take, or kept (a
    // duplicate of this request, or a variant still waiting for its restore): restored now,
    // the variant would be registered just before the endpoint update that SageMaker then
    // refuses.
    let mut lines = settle(
        api,
        endpoint.as_ref(),
        current.as_ref(),
        stored,
        &affected,
        Trigger::GuardEvent,
        restorer,
    )
    .await?;
    for take in &takes {
        let description = format!(
            "What the guard deregistered for {}, to be restored if the update fails",
            take.affected.variant.resource_id()
        );
        api.put_record(&take.record.parameter_name(), &take.value, &description)
            .await?;
    }
    let mut done = Vec::new();
    for take in &takes {
        let variant = &take.affected.variant;
        if let Err(error) = api.deregister_target(&variant.into()).await {
            return Err(match done.is_empty() {
                true => GuardFailure::Aws(error),
                false => GuardFailure::Partly {
                    done,
                    error: Box::new(error),
                },
            });
        }
        info!(resource_id = %variant.resource_id(), change = %take.affected.change, "deregistered for the endpoint update");
        done.push(variant.resource_id());
        lines.push(format!(
            "deregistered {} ({}) and recorded it at {}: {}'s Update registers it again after \
             the endpoint update, or the record is restored if the update fails",
            variant.resource_id(),
            take.affected.change,
            take.record.parameter_name(),
            take.logical_resource_id
        ));
    }
    let summary = match lines.is_empty() {
        true => format!(
            "Nothing to deregister for the endpoint {}",
            props.endpoint_name
        ),
        false => capitalize(&lines.join("; ")),
    };
    Ok(Done {
        physical_resource_id,
        data: BTreeMap::new(),
        summary,
    })
}

/// A variant to deregister, read into its record.
struct Take {
    affected: plan::Affected,
    /// The scaling resource that registers it again.
    logical_resource_id: String,
    record: Record,
    /// The record as stored.
    value: String,
}

/// The variants that moving from `current` to `new_config` affects (all of them, registered
/// or not), and those of them that are registered, each read into a record. A registered one
/// that this stack does not register again refuses the update.
async fn plan_takes(
    api: &ScalingApi,
    endpoint: &Endpoint,
    current: &EndpointConfig,
    new_config: &str,
    stack_id: &str,
    stored: &[StoredRecord],
) -> Result<(Vec<VariantId>, Vec<Take>), GuardFailure> {
    let new = api
        .endpoint_config(new_config)
        .await?
        .ok_or_else(|| GuardFailure::ConfigMissing(new_config.to_owned()))?;
    let affected = plan::affected_variants(&endpoint.name, current, &new);
    let affected_ids = affected.iter().map(|a| a.variant.clone()).collect();
    let mut takes = Vec::new();
    let registered = futures_util::future::try_join_all(affected.into_iter().map(|a| async {
        let Some((target, tags)) = api.find_target_with_tags(&(&a.variant).into()).await? else {
            return Ok::<_, AwsError>(None);
        };
        let tags = match tags {
            Some(tags) => tags.map_err(|e| e.to_string()),
            None => Err("it has no ARN".to_owned()),
        };
        let registrant = Registrant::from_tags(tags.as_ref().map_err(Clone::clone), stack_id);
        Ok(Some((a, registrant, (target, tags.unwrap_or_default()))))
    }))
    .await?;
    let allowed = plan::plan_deregistrations(registered.into_iter().flatten().collect())?;
    for (affected, logical_resource_id, (target, tags)) in allowed {
        // A target a restore registered and did not finish is deregistered again with that
        // record, not read into a new one: what it holds is not the whole of it.
        let halfway = match tags.contains_key(RESTORING_TAG) {
            true => stored_record(stored, &affected.variant),
            false => None,
        };
        let (record, value) = match halfway {
            Some(earlier) => {
                let mut record = Record {
                    endpoint_last_modified: endpoint.last_modified.clone(),
                    from_config: endpoint.config_name.clone(),
                    for_config: new_config.to_owned(),
                    ..earlier
                };
                record.set_placement(&affected.placement);
                let value = record
                    .encode()
                    .expect("a stored record fits where it was stored");
                (record, value)
            }
            None => take::take(api, &affected, &target, tags, endpoint, new_config).await?,
        };
        takes.push(Take {
            affected,
            logical_resource_id,
            record,
            value,
        });
    }
    Ok((affected_ids, takes))
}

/// The stored record of `variant`, when there is one this version can read.
fn stored_record(stored: &[StoredRecord], variant: &VariantId) -> Option<Record> {
    let name = record::parameter_name(variant);
    let stored = stored.iter().find(|r| r.name == name)?;
    Record::decode(&stored.value)
}

/// Delete: the guard's last event settles the endpoint's records (a record of an endpoint
/// that is gone is deleted). It deregisters nothing. A failed Create's id names no endpoint:
/// its rollback Delete touches nothing.
async fn delete(
    api: &ScalingApi,
    physical_resource_id: &str,
    restorer: &str,
) -> Result<String, GuardFailure> {
    let endpoint_name = physical_resource_id
        .strip_prefix(GUARD_ID_PREFIX)
        .filter(|name| crate::target::is_sagemaker_name(name));
    let Some(endpoint_name) = endpoint_name else {
        return Ok(format!(
            "Nothing to delete: {physical_resource_id:?} is not a guard this function created"
        ));
    };
    let lines = settle_endpoint(api, endpoint_name, Trigger::GuardEvent, restorer).await?;
    Ok(match lines.is_empty() {
        true => format!("Stopped guarding the endpoint {endpoint_name}"),
        false => format!(
            "Stopped guarding the endpoint {endpoint_name}: {}",
            lines.join("; ")
        ),
    })
}

/// SageMaker's "Endpoint State Change" event: restores the endpoint's records that may be
/// restored now. Safe to receive late or twice.
pub async fn endpoint_changed(
    api: &ScalingApi,
    endpoint_name: &str,
    restorer: &str,
) -> Result<String, GuardFailure> {
    let lines = settle_endpoint(api, endpoint_name, Trigger::StateChange, restorer).await?;
    Ok(match lines.is_empty() {
        true => format!("No record of the endpoint {endpoint_name} to restore"),
        false => capitalize(&lines.join("; ")),
    })
}

async fn settle_endpoint(
    api: &ScalingApi,
    endpoint_name: &str,
    trigger: Trigger,
    restorer: &str,
) -> Result<Vec<String>, GuardFailure> {
    let stored = api
        .records_under(&record::endpoint_path(endpoint_name))
        .await?;
    if stored.is_empty() {
        return Ok(Vec::new());
    }
    let endpoint = api.endpoint(endpoint_name).await?;
    let config = match &endpoint {
        Some(endpoint) => api.endpoint_config(&endpoint.config_name).await?,
        None => None,
    };
    settle(
        api,
        endpoint.as_ref(),
        config.as_ref(),
        stored,
        &[],
        trigger,
        restorer,
    )
    .await
}

/// Restores, discards or keeps each stored record, as [`plan::decide_restore`] says; the
/// records of `skip` are left alone. Answers a line for each record acted on.
async fn settle(
    api: &ScalingApi,
    endpoint: Option<&Endpoint>,
    config: Option<&EndpointConfig>,
    stored: Vec<StoredRecord>,
    skip: &[VariantId],
    trigger: Trigger,
    restorer: &str,
) -> Result<Vec<String>, GuardFailure> {
    let mut lines = Vec::new();
    for StoredRecord { name, value } in stored {
        let Some(record) = Record::decode(&value) else {
            warn!(parameter = %name, "not a record this version wrote: left alone");
            continue;
        };
        let variant = record.variant();
        if skip.contains(&variant) || record.parameter_name() != name {
            continue;
        }
        let registered = match api.find_target_with_tags(&(&variant).into()).await? {
            None => Registered::No,
            Some((_, tags)) => {
                // A target without an ARN has no tags: not a restore's.
                let tags = tags.transpose()?.unwrap_or_default();
                match tags.contains_key(RESTORING_TAG) {
                    true => Registered::ByRestore,
                    false => Registered::Other,
                }
            }
        };
        match plan::decide_restore(&record, endpoint, config, registered, trigger) {
            RestoreDecision::Restore => lines.push(restore::restore(api, &name, restorer).await?),
            RestoreDecision::Discard(why) => {
                api.delete_record(&name).await?;
                info!(parameter = %name, %why, "record discarded");
                lines.push(format!(
                    "deleted the record of {} ({why})",
                    variant.resource_id()
                ));
            }
            RestoreDecision::Keep(why) => {
                info!(parameter = %name, %why, "record kept");
                lines.push(format!(
                    "kept the record of {} for later: {why}",
                    variant.resource_id()
                ));
            }
        }
    }
    Ok(lines)
}

/// A scaling resource that configured its variant from its own properties removes the
/// variant's record: its properties win over it.
pub async fn forget(api: &ScalingApi, variant: &VariantId) -> Result<(), AwsError> {
    api.delete_record(&record::parameter_name(variant)).await
}

fn capitalize(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
