//! The scaling logic: what Create, Update and Delete do to the auto scaling of one endpoint
//! variant or inference component.
//!
//! Each operation reads what AWS holds ([`observe`]), asks [`plan`] what to do, and carries the
//! plan out ([`apply`]) through the seam in [`crate::aws`], the independent calls of each stage
//! at once. It knows nothing of CloudFormation's wire format. [`ScalingResource`] is the
//! resource type whose operations these are.

mod apply;
mod endpoint;
mod failure;
mod observe;
pub mod plan;
pub mod rollback;

pub use failure::Failure;
pub use plan::Owner;

use crate::aws::ScalingApi;
use crate::properties::ScalingProperties;
use crate::resource::{CustomResource, Done, RequestContext};
use crate::target::ScalableResource;
use failure::{Interrupted, Race};
use observe::observe;
use plan::{DeletePlan, Desired, Intent, Observed, Ownership};
use rollback::Rollback;
use serde_json::Value;
use std::collections::BTreeMap;
use tracing::{info, warn};

/// The scaling resource (`Custom::AsyncEndpointAutoScaling`, and any type but the guard's).
pub struct ScalingResource;

impl CustomResource for ScalingResource {
    type Failure = Failure;

    async fn create(&self, context: &RequestContext, properties: Value) -> Result<Done, Failure> {
        let props = ScalingProperties::parse(&properties)?;
        let RequestContext {
            api,
            owner,
            rollback,
            ..
        } = context;
        create(api, &props, owner, rollback).await
    }

    async fn update(
        &self,
        context: &RequestContext,
        physical_resource_id: String,
        properties: Value,
        old_properties: Value,
    ) -> Result<Done, Failure> {
        let props = ScalingProperties::parse(&properties)?;
        let RequestContext {
            api,
            owner,
            rollback,
            ..
        } = context;
        update(
            api,
            &physical_resource_id,
            &props,
            &old_properties,
            owner,
            rollback,
        )
        .await
    }

    async fn delete(
        &self,
        context: &RequestContext,
        physical_resource_id: String,
        properties: Value,
    ) -> Result<Done, Failure> {
        let RequestContext { api, owner, .. } = context;
        let summary = delete(api, &physical_resource_id, &properties, owner).await?;
        Ok(Done {
            physical_resource_id,
            data: BTreeMap::new(),
            summary,
        })
    }
}

/// Create: configure a target that this resource does not manage yet.
async fn create(
    api: &ScalingApi,
    props: &ScalingProperties,
    owner: &Owner,
    rollback: &Rollback,
) -> Result<Done, Failure> {
    endpoint::wait_for_endpoint(api, props).await?;
    let desired = Desired::new(props, owner);
    let configured = configure(api, props, &desired, Intent::Configure, owner, rollback).await?;
    let note = forget_record(api, props).await;
    Ok(with_note(configured, note))
}

/// With a guard (`EndpointConfigName`), the variant is now configured from the properties, so a
/// record the guard kept of it goes: the properties win. Only after the variant is configured:
/// should this request fail halfway, the record still holds the scaling until CloudFormation's
/// rollback. A record that cannot be removed fails nothing (a restore that comes later finds a
/// target without the restoring tag, which wins); the summary says so.
async fn forget_record(api: &ScalingApi, props: &ScalingProperties) -> Option<String> {
    props.endpoint_config_name.as_ref()?;
    let variant = props.resource.variant()?;
    let error = crate::guard::forget(api, variant).await.err()?;
    warn!(%error, "the guard's record of the variant could not be removed");
    Some(format!(
        "the guard's record of it could not be removed ({error}), which does no harm"
    ))
}

fn with_note(mut configured: Done, note: Option<String>) -> Done {
    if let Some(note) = note {
        configured.summary = format!("{}; {note}", configured.summary);
    }
    configured
}

/// Update. With the same target, the whole desired state is applied again (which also repairs
/// drift) and what AWS holds beyond it, or the old properties asked for, is removed. With
/// another target, that one is configured as on Create; CloudFormation then deletes the old
/// one with a Delete.
pub async fn update(
    api: &ScalingApi,
    physical_resource_id: &str,
    props: &ScalingProperties,
    old_properties: &Value,
    owner: &Owner,
    rollback: &Rollback,
) -> Result<Done, Failure> {
    endpoint::wait_for_endpoint(api, props).await?;
    let desired = Desired::new(props, owner);
    if physical_resource_id != props.resource_id() {
        info!(
            old = physical_resource_id,
            new = %props.resource_id(),
            "the target changed: configuring the new one, CloudFormation deletes the old one"
        );
        let configured =
            configure(api, props, &desired, Intent::Configure, owner, rollback).await?;
        let note = forget_record(api, props).await;
        return Ok(with_note(configured, note));
    }
    let previous = match ScalingProperties::parse(old_properties) {
        Ok(previous) => Some(Desired::new(&previous, owner)),
        // Old properties were valid when they were applied; if they no longer parse, only
        // what AWS holds tells what to remove, and applying the new state is still right.
        Err(problems) => {
            warn!(%problems, "old properties unreadable: removing only what AWS shows");
            None
        }
    };
    let intent = Intent::Reconfigure {
        previous: previous.as_ref(),
    };
    let configured = configure(api, props, &desired, intent, owner, rollback).await?;
    let note = forget_record(api, props).await;
    Ok(with_note(configured, note))
}

/// Delete: remove what this resource owns of the target that the physical id names; what
/// another resource took over stays, and anything already gone counts as done.
async fn delete(
    api: &ScalingApi,
    physical_resource_id: &str,
    properties: &Value,
    owner: &Owner,
) -> Result<String, Failure> {
    let Some(resource) = ScalableResource::from_resource_id(physical_resource_id) else {
        return Ok(format!(
            "Nothing to delete: {physical_resource_id:?} is not a target this resource configured"
        ));
    };
    let alarm_name = ScalingProperties::alarm_name_leniently(properties);
    let alarm_names = plan::alarm_names_to_delete(&resource, alarm_name);
    let observed = observe(api, Some(&resource), &alarm_names, owner, false).await?;
    // With a guard, the variant's record goes first, with its scaling: nothing is left to
    // restore. A record that cannot be deleted fails nothing, so the stack stays deletable; it
    // can only be restored on an endpoint that runs the configuration it was taken on again.
    let mut forgot = Ok(());
    if let (Some(variant), true) = (
        resource.variant(),
        ScalingProperties::follows_endpoint_config_leniently(properties),
    ) {
        forgot = crate::guard::forget(api, variant).await;
    }
    let plan = plan::plan_delete(&resource, &observed);
    apply::remove(api, &plan).await?;
    let mut summary = format!("Removed the auto scaling of {}", resource.resource_id());
    if !plan.left.is_empty() {
        summary = format!(
            "{summary}, except what another resource now manages: left {}",
            plan.left.join("; and ")
        );
    }
    if let Err(error) = forgot {
        warn!(%error, "the guard's record of the variant could not be removed");
        summary = format!("{summary}; the guard's record of it could not be removed ({error})");
    }
    Ok(summary)
}

/// Removes what a failed request made, as its rollback record says, reading again first what
/// it may have made; answers what was done, for the Reason.
pub async fn remove_created(
    api: &ScalingApi,
    created: &plan::Created,
    owner: &Owner,
) -> Result<String, Failure> {
    let (target, alarms) = created.to_verify();
    let observed = match (target, alarms.is_empty()) {
        (None, true) => Observed::default(),
        _ => observe(api, target, &alarms, owner, false).await?,
    };
    let plan: DeletePlan = plan::plan_rollback(created, &observed);
    apply::remove(api, &plan).await?;
    let removed = match (&plan.target, plan.alarms.as_slice()) {
        (Some(resource), _) => Some(resource.resource_id()),
        (None, [alarm, ..]) => Some(format!("the alarm {alarm}")),
        (None, []) => None,
    };
    let mut outcome = match removed {
        Some(what) => format!("Removed what this request had set up for {what}."),
        None => format!(
            "Nothing to remove: what this request tried to create for {} is not there or not \
             its own.",
            created.describe()
        ),
    };
    if !plan.left.is_empty() {
        outcome = format!("{outcome} Left {}.", plan.left.join("; and "));
    }
    Ok(outcome)
}

/// How often a request observes and plans again after another writer got between its read
/// and its write: once for the target and once for the alarm, each of which can race only
/// while it is being created.
const REPLANS: usize = 2;

/// Create and Update: observe, plan, and carry the plan out. When another request creates the
/// target or the alarm between this request's read and its write, it observes again and plans
/// again: with its own objects (a copy of this request) it carries on as an Update; with
/// another owner's it is refused as it would have been had it read them in the first place.
///
/// Only a request that configures a target it does not manage yet (`Intent::Configure`)
/// keeps a rollback record: a failed Update is rolled back by CloudFormation's own Update with
/// the old properties, which removes what the new ones added.
async fn configure(
    api: &ScalingApi,
    props: &ScalingProperties,
    desired: &Desired,
    intent: Intent<'_>,
    owner: &Owner,
    rollback: &Rollback,
) -> Result<Done, Failure> {
    let resource = &desired.resource;
    let rollback = matches!(intent, Intent::Configure).then_some(rollback);
    let alarm_names = plan::alarm_names_to_observe(desired, intent.previous());
    let read_policies = intent.reads_policies(desired);
    let observe_again = || observe(api, Some(resource), &alarm_names, owner, read_policies);
    let mut observed = observe_again().await?;
    let (mut replans, mut notes, mut last_race) = (0, Vec::new(), None);
    loop {
        let plan = plan::plan_configure(desired, intent, owner, &observed)
            .map_err(|refusal| Race::refused(last_race.as_ref(), refusal))?;
        for note in &plan.notes {
            info!(resource_id = %resource.resource_id(), "{note}");
        }
        let race = match apply::apply(api, props, desired, owner, &plan, rollback).await {
            Ok(mut configured) => {
                if !notes.is_empty() {
                    configured.summary = format!("{}; {}", configured.summary, notes.join("; "));
                }
                return Ok(configured);
            }
            Err(Interrupted::Failed(failure)) => return Err(failure),
            Err(Interrupted::Raced(race)) => race,
        };
        let again = replans < REPLANS;
        replans += 1;
        info!(
            resource_id = %resource.resource_id(),
            %race,
            again,
            "another writer got between the read and the write"
        );
        if !again {
            return Err(race.into_failure());
        }
        observed = match observe_again().await {
            Ok(observed) => observed,
            Err(failure) => return Err(race.failure_or(failure)),
        };
        if let Race::Target(error) = &race {
            let Some(found) = &observed.target else {
                // Still not registered: the registration failed for its own reasons.
                return Err(race.into_failure());
            };
            // AWS refused the registration and the target carries this resource's tags: a
            // copy of this request registered it.
            if !error.outcome_unknown && found.ownership == Ownership::Ours {
                record(rollback, |r| r.stand_down(resource));
                notes.push(
                    "found the scalable target registered by another copy of this request and \
                     carried on as an Update"
                        .to_owned(),
                );
            }
        }
        last_race = Some(race);
    }
}

/// Writes to the rollback record, when the request keeps one.
fn record(rollback: Option<&Rollback>, write: impl FnOnce(&Rollback)) {
    if let Some(rollback) = rollback {
        write(rollback);
    }
}
