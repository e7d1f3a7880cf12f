//! The narrow seam between the scaling logic and AWS: one method per call the logic needs.
//!
//! Every call goes through [`call::call`], which logs one line per attempt, retries what is
//! worth retrying while the operation has time, records the step for a deadline Reason, and
//! turns an SDK error into an [`AwsError`] worded for a user.

mod call;
mod clients;
mod endpoint;
mod error;
mod put_scaling_policy;
mod records;

pub use call::Steps;
pub use clients::{AwsClients, retry_config};
pub use endpoint::{Endpoint, EndpointConfig, InstancePool, Placement};
pub use error::AwsError;
pub use records::StoredRecord;

use crate::contract::Tags;
use crate::policy_spec::PolicySpec;
use crate::properties::{ScheduledAction, SuspendedState as Suspended};
use crate::target::ScalableResource;
use aws_sdk_applicationautoscaling::primitives::DateTime;
use aws_sdk_applicationautoscaling::types::{
    ScalableDimension, ScalableTargetAction, ServiceNamespace, SuspendedState,
};
use aws_sdk_cloudwatch::types::{ComparisonOperator, Dimension, Statistic, Tag};
use call::Budget;
use tokio::time::Instant;

/// What RegisterScalableTarget sets on a scalable target, and DescribeScalableTargets shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TargetSettings {
    pub min_capacity: i32,
    pub max_capacity: i32,
    pub suspended: Suspended,
}

/// A scalable target that is registered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegisteredTarget {
    /// Absent only from an endpoint that predates scalable target ARNs.
    pub arn: Option<String>,
    /// Absent when DescribeScalableTargets leaves its suspended state out.
    pub settings: Option<TargetSettings>,
}

/// A metric alarm's definition: what PutMetricAlarm sets and DescribeAlarms shows. A put
/// replaces the whole definition, so what it leaves out is cleared.
#[derive(Clone, Debug, PartialEq)]
pub struct AlarmDefinition {
    pub description: String,
    pub namespace: String,
    pub metric_name: String,
    pub dimensions: Vec<(String, String)>,
    pub statistic: String,
    pub period: i32,
    pub evaluation_periods: i32,
    pub datapoints_to_alarm: i32,
    pub threshold: f64,
    pub comparison_operator: String,
    pub treat_missing_data: String,
    pub alarm_actions: Vec<String>,
    /// Whether it has a setting this resource never puts: OK or INSUFFICIENT_DATA actions,
    /// disabled actions, an extended statistic, a unit, metric math, a threshold metric or a
    /// low-sample percentile rule.
    pub other_settings: bool,
}

/// A scaling policy as DescribeScalingPolicies shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct ExistingPolicy {
    pub name: String,
    pub arn: String,
    /// What it is, in the terms of what this resource puts; `None` when it has settings this
    /// resource never puts.
    pub spec: Option<PolicySpec>,
}

/// A metric alarm as DescribeAlarms shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct ExistingAlarm {
    pub name: String,
    pub arn: String,
    pub definition: AlarmDefinition,
}

/// The scalable dimension of the resource's kind, as the SDK names it.
fn dimension(resource: &ScalableResource) -> ScalableDimension {
    ScalableDimension::from(resource.kind().scalable_dimension)
}

/// Every Application Auto Scaling request about a target names it the same way: the SageMaker
/// namespace, the kind's dimension, and the resource's ResourceId.
trait OnTarget: Sized {
    fn on_target(self, resource: &ScalableResource) -> Self;
}

macro_rules! on_target {
    ($($builder:path),* $(,)?) => {$(
        impl OnTarget for $builder {
            fn on_target(self, resource: &ScalableResource) -> Self {
                self.service_namespace(ServiceNamespace::Sagemaker)
                    .scalable_dimension(dimension(resource))
                    .resource_id(resource.resource_id())
            }
        }
    )*};
}

on_target!(
    aws_sdk_applicationautoscaling::operation::register_scalable_target::builders::RegisterScalableTargetFluentBuilder,
    aws_sdk_applicationautoscaling::operation::deregister_scalable_target::builders::DeregisterScalableTargetFluentBuilder,
    aws_sdk_applicationautoscaling::operation::put_scaling_policy::builders::PutScalingPolicyFluentBuilder,
    aws_sdk_applicationautoscaling::operation::delete_scaling_policy::builders::DeleteScalingPolicyFluentBuilder,
    aws_sdk_applicationautoscaling::operation::put_scheduled_action::builders::PutScheduledActionFluentBuilder,
    aws_sdk_applicationautoscaling::operation::delete_scheduled_action::builders::DeleteScheduledActionFluentBuilder,
    aws_sdk_applicationautoscaling::operation::describe_scaling_policies::builders::DescribeScalingPoliciesFluentBuilder,
    aws_sdk_applicationautoscaling::operation::describe_scheduled_actions::builders::DescribeScheduledActionsFluentBuilder,
);

/// The seam itself: the calls the scaling logic makes, for one invocation.
#[derive(Clone, Debug)]
pub struct ScalingApi {
    clients: AwsClients,
    steps: Steps,
    /// Calls are retried until this instant at most: the end of the operation's own time.
    until: Instant,
}

impl ScalingApi {
    pub fn new(clients: AwsClients, steps: Steps, until: Instant) -> Self {
        ScalingApi {
            clients,
            steps,
            until,
        }
    }

    /// The same seam with another end to its time (for a cleanup, which has time of its own).
    pub fn until(&self, until: Instant) -> Self {
        ScalingApi {
            until,
            ..self.clone()
        }
    }

    /// How much of the operation's time is left.
    pub fn time_left(&self) -> std::time::Duration {
        self.until.saturating_duration_since(Instant::now())
    }

    fn budget(&self) -> Budget<'_> {
        Budget {
            steps: &self.steps,
            until: self.until,
        }
    }

    pub async fn find_target(
        &self,
        resource: &ScalableResource,
    ) -> Result<Option<RegisteredTarget>, AwsError> {
        let resource_id = resource.resource_id();
        let output = call::call(
            &self.budget(),
            "DescribeScalableTargets",
            &resource_id,
            || {
                self.clients
                    .autoscaling
                    .describe_scalable_targets()
                    .service_namespace(ServiceNamespace::Sagemaker)
                    .scalable_dimension(dimension(resource))
                    .resource_ids(&resource_id)
                    .send()
            },
        )
        .await?;
        Ok(output
            .scalable_targets()
            .iter()
            .find(|t| t.resource_id() == resource_id)
            .map(|t| RegisteredTarget {
                arn: t.scalable_target_arn().map(str::to_owned),
                settings: t.suspended_state().map(|suspended| TargetSettings {
                    min_capacity: t.min_capacity(),
                    max_capacity: t.max_capacity(),
                    suspended: Suspended {
                        dynamic_scaling_in: suspended.dynamic_scaling_in_suspended() == Some(true),
                        dynamic_scaling_out: suspended.dynamic_scaling_out_suspended()
                            == Some(true),
                        scheduled_scaling: suspended.scheduled_scaling_suspended() == Some(true),
                    },
                }),
            }))
    }

    /// The registered target and its tags, read one after the other: `None` for tags when the
    /// target has no ARN (one registered before ARNs existed), `Err` when they could not be read.
    pub async fn find_target_with_tags(
        &self,
        resource: &ScalableResource,
    ) -> Result<Option<(RegisteredTarget, Option<Result<Tags, AwsError>>)>, AwsError> {
        let Some(target) = self.find_target(resource).await? else {
            return Ok(None);
        };
        let tags = match &target.arn {
            Some(arn) => Some(self.target_tags(arn).await),
            None => None,
        };
        Ok(Some((target, tags)))
    }

    pub async fn target_tags(&self, target_arn: &str) -> Result<Tags, AwsError> {
        let output = call::call(&self.budget(), "ListTagsForResource", target_arn, || {
            self.clients
                .autoscaling
                .list_tags_for_resource()
                .resource_arn(target_arn)
                .send()
        })
        .await?;
        let tags = output.tags().into_iter().flatten();
        Ok(tags.map(|(k, v)| (k.clone(), v.clone())).collect())
    }

    /// Registers the target, or updates one already registered. `tags` are given only when
    /// the target is new: AWS refuses tags for a target that exists. The suspended state is
    /// always sent, so that properties that drop it resume scaling. Answers the target's ARN,
    /// when AWS gives it.
    pub async fn register_target(
        &self,
        resource: &ScalableResource,
        settings: &TargetSettings,
        tags: Option<&Tags>,
    ) -> Result<Option<String>, AwsError> {
        let suspended = SuspendedState::builder()
            .dynamic_scaling_in_suspended(settings.suspended.dynamic_scaling_in)
            .dynamic_scaling_out_suspended(settings.suspended.dynamic_scaling_out)
            .scheduled_scaling_suspended(settings.suspended.scheduled_scaling)
            .build();
        let output = call::call(
            &self.budget(),
            "RegisterScalableTarget",
            &resource.resource_id(),
            || {
                self.clients
                    .autoscaling
                    .register_scalable_target()
                    .on_target(resource)
                    .min_capacity(settings.min_capacity)
                    .max_capacity(settings.max_capacity)
                    .suspended_state(suspended.clone())
                    .set_tags(tags.map(|t| t.clone().into_iter().collect()))
                    .send()
            },
        )
        .await?;
        Ok(output.scalable_target_arn().map(str::to_owned))
    }

    pub async fn tag_target(&self, target_arn: &str, tags: &Tags) -> Result<(), AwsError> {
        call::call(&self.budget(), "TagResource", target_arn, || {
            self.clients
                .autoscaling
                .tag_resource()
                .resource_arn(target_arn)
                .set_tags(Some(tags.clone().into_iter().collect()))
                .send()
        })
        .await?;
        Ok(())
    }

    pub async fn untag_target(&self, target_arn: &str, keys: &[String]) -> Result<(), AwsError> {
        call::call(&self.budget(), "UntagResource", target_arn, || {
            self.clients
                .autoscaling
                .untag_resource()
                .resource_arn(target_arn)
                .set_tag_keys(Some(keys.to_vec()))
                .send()
        })
        .await?;
        Ok(())
    }

    pub async fn deregister_target(&self, resource: &ScalableResource) -> Result<(), AwsError> {
        call::delete(
            &self.budget(),
            "DeregisterScalableTarget",
            &resource.resource_id(),
            || {
                self.clients
                    .autoscaling
                    .deregister_scalable_target()
                    .on_target(resource)
                    .send()
            },
        )
        .await
    }

    /// Puts one scaling policy on the resource's target and answers its ARN.
    pub async fn put_policy(
        &self,
        resource: &ScalableResource,
        spec: &PolicySpec,
    ) -> Result<String, AwsError> {
        let configure = put_scaling_policy::configure(spec)?;
        let subject = format!("{} on {}", spec.name, resource.resource_id());
        let output = call::call(&self.budget(), "PutScalingPolicy", &subject, || {
            let request = self
                .clients
                .autoscaling
                .put_scaling_policy()
                .policy_name(&spec.name)
                .on_target(resource);
            configure(request).send()
        })
        .await?;
        Ok(output.policy_arn().to_owned())
    }

    /// The scaling policies on the resource's target, every page of them.
    pub async fn policies(
        &self,
        resource: &ScalableResource,
    ) -> Result<Vec<ExistingPolicy>, AwsError> {
        let resource_id = &resource.resource_id();
        call::every_page(|next_token| async move {
            let output = call::call(
                &self.budget(),
                "DescribeScalingPolicies",
                resource_id,
                || {
                    self.clients
                        .autoscaling
                        .describe_scaling_policies()
                        .on_target(resource)
                        .set_next_token(next_token.clone())
                        .send()
                },
            )
            .await?;
            // Exactly this target's: the filters are the request's, but an emulator may match
            // a ResourceId by prefix.
            let on_target = output.scaling_policies().iter().filter(|p| {
                p.resource_id() == resource_id && *p.scalable_dimension() == dimension(resource)
            });
            let policies = on_target.map(|p| ExistingPolicy {
                name: p.policy_name().to_owned(),
                arn: p.policy_arn().to_owned(),
                spec: put_scaling_policy::spec_of(p),
            });
            Ok((policies.collect(), output.next_token().map(str::to_owned)))
        })
        .await
    }

    pub async fn delete_policy(
        &self,
        resource: &ScalableResource,
        policy_name: &str,
    ) -> Result<(), AwsError> {
        let subject = format!("{policy_name} on {}", resource.resource_id());
        call::delete(&self.budget(), "DeleteScalingPolicy", &subject, || {
            self.clients
                .autoscaling
                .delete_scaling_policy()
                .policy_name(policy_name)
                .on_target(resource)
                .send()
        })
        .await
    }

    /// Puts one scheduled action on the resource's target.
    pub async fn put_scheduled_action(
        &self,
        resource: &ScalableResource,
        action: &ScheduledAction,
    ) -> Result<(), AwsError> {
        let subject = format!("{} on {}", action.name, resource.resource_id());
        let capacity = ScalableTargetAction::builder()
            .set_min_capacity(action.min_capacity)
            .set_max_capacity(action.max_capacity)
            .build();
        call::call(&self.budget(), "PutScheduledAction", &subject, || {
            self.clients
                .autoscaling
                .put_scheduled_action()
                .on_target(resource)
                .scheduled_action_name(&action.name)
                .schedule(&action.schedule)
                .set_timezone(action.timezone.clone())
                .set_start_time(action.start_time.map(DateTime::from_secs))
                .set_end_time(action.end_time.map(DateTime::from_secs))
                .scalable_target_action(capacity.clone())
                .send()
        })
        .await?;
        Ok(())
    }

    pub async fn delete_scheduled_action(
        &self,
        resource: &ScalableResource,
        name: &str,
    ) -> Result<(), AwsError> {
        let subject = format!("{name} on {}", resource.resource_id());
        call::delete(&self.budget(), "DeleteScheduledAction", &subject, || {
            self.clients
                .autoscaling
                .delete_scheduled_action()
                .on_target(resource)
                .scheduled_action_name(name)
                .send()
        })
        .await
    }

    /// The scheduled actions on the resource's target, every page of them.
    pub async fn scheduled_actions(
        &self,
        resource: &ScalableResource,
    ) -> Result<Vec<ScheduledAction>, AwsError> {
        let resource_id = &resource.resource_id();
        call::every_page(|next_token| async move {
            let output = call::call(
                &self.budget(),
                "DescribeScheduledActions",
                resource_id,
                || {
                    self.clients
                        .autoscaling
                        .describe_scheduled_actions()
                        .on_target(resource)
                        .set_next_token(next_token.clone())
                        .send()
                },
            )
            .await?;
            let on_target = output
                .scheduled_actions()
                .iter()
                .filter(|a| a.resource_id() == resource_id);
            let actions = on_target.map(|a| {
                let capacity = a.scalable_target_action();
                ScheduledAction {
                    name: a.scheduled_action_name().to_owned(),
                    schedule: a.schedule().to_owned(),
                    timezone: a.timezone().map(str::to_owned),
                    start_time: a.start_time().map(DateTime::secs),
                    end_time: a.end_time().map(DateTime::secs),
                    min_capacity: capacity.and_then(|c| c.min_capacity()),
                    max_capacity: capacity.and_then(|c| c.max_capacity()),
                }
            });
            Ok((actions.collect(), output.next_token().map(str::to_owned)))
        })
        .await
    }

    /// The metric alarms that exist under these names.
    pub async fn find_alarms(&self, names: &[String]) -> Result<Vec<ExistingAlarm>, AwsError> {
        let output = call::call(&self.budget(), "DescribeAlarms", &names.join(", "), || {
            self.clients
                .cloudwatch
                .describe_alarms()
                .set_alarm_names(Some(names.to_vec()))
                .send()
        })
        .await?;
        Ok(output
            .metric_alarms()
            .iter()
            .filter(|a| a.alarm_name().is_some_and(|n| names.iter().any(|m| m == n)))
            .map(existing_alarm)
            .collect())
    }

    /// The metric alarms with an action that starts with `action_prefix` (a policy's ARN: the
    /// alarms that fire it), every page of them.
    pub async fn alarms_firing(&self, action_prefix: &str) -> Result<Vec<ExistingAlarm>, AwsError> {
        call::every_page(|next_token| async move {
            let output = call::call(&self.budget(), "DescribeAlarms", action_prefix, || {
                self.clients
                    .cloudwatch
                    .describe_alarms()
                    .action_prefix(action_prefix)
                    .set_next_token(next_token.clone())
                    .send()
            })
            .await?;
            let firing = output.metric_alarms().iter().filter(|a| {
                a.alarm_actions()
                    .iter()
                    .any(|action| action.starts_with(action_prefix))
            });
            let alarms = firing.map(existing_alarm).collect();
            Ok((alarms, output.next_token().map(str::to_owned)))
        })
        .await
    }

    pub async fn alarm_tags(&self, alarm_arn: &str) -> Result<Tags, AwsError> {
        let output = call::call(&self.budget(), "ListTagsForResource", alarm_arn, || {
            self.clients
                .cloudwatch
                .list_tags_for_resource()
                .resource_arn(alarm_arn)
                .send()
        })
        .await?;
        let tags = output.tags().iter();
        Ok(tags
            .map(|t| {
                let text = |v: Option<&str>| v.unwrap_or_default().to_owned();
                (text(t.key()), text(t.value()))
            })
            .collect())
    }

    /// Puts the alarm that fires the step policy when requests wait and no instance runs.
    /// `tags` are given only when the alarm is new: AWS ignores them on an existing alarm.
    pub async fn put_alarm(
        &self,
        name: &str,
        definition: &AlarmDefinition,
        tags: Option<&Tags>,
    ) -> Result<(), AwsError> {
        let dimensions: Vec<Dimension> = definition
            .dimensions
            .iter()
            .map(|(name, value)| Dimension::builder().name(name).value(value).build())
            .collect();
        let tags = tags.map(cloudwatch_tags);
        call::call(&self.budget(), "PutMetricAlarm", name, || {
            self.clients
                .cloudwatch
                .put_metric_alarm()
                .alarm_name(name)
                .alarm_description(&definition.description)
                .metric_name(&definition.metric_name)
                .namespace(&definition.namespace)
                .set_dimensions(Some(dimensions.clone()))
                .statistic(Statistic::from(definition.statistic.as_str()))
                .period(definition.period)
                .evaluation_periods(definition.evaluation_periods)
                .datapoints_to_alarm(definition.datapoints_to_alarm)
                .threshold(definition.threshold)
                .comparison_operator(ComparisonOperator::from(
                    definition.comparison_operator.as_str(),
                ))
                .treat_missing_data(&definition.treat_missing_data)
                .set_alarm_actions(Some(definition.alarm_actions.clone()))
                .set_tags(tags.clone())
                .send()
        })
        .await?;
        Ok(())
    }

    pub async fn tag_alarm(&self, alarm_arn: &str, tags: &Tags) -> Result<(), AwsError> {
        let tags = cloudwatch_tags(tags);
        call::call(&self.budget(), "TagResource", alarm_arn, || {
            self.clients
                .cloudwatch
                .tag_resource()
                .resource_arn(alarm_arn)
                .set_tags(Some(tags.clone()))
                .send()
        })
        .await?;
        Ok(())
    }

    pub async fn untag_alarm(&self, alarm_arn: &str, keys: &[String]) -> Result<(), AwsError> {
        call::call(&self.budget(), "UntagResource", alarm_arn, || {
            self.clients
                .cloudwatch
                .untag_resource()
                .resource_arn(alarm_arn)
                .set_tag_keys(Some(keys.to_vec()))
                .send()
        })
        .await?;
        Ok(())
    }

    /// Deletes the named alarms, in one call; names that do not exist are no error.
    pub async fn delete_alarms(&self, names: &[String]) -> Result<(), AwsError> {
        call::delete(&self.budget(), "DeleteAlarms", &names.join(", "), || {
            self.clients
                .cloudwatch
                .delete_alarms()
                .set_alarm_names(Some(names.to_vec()))
                .send()
        })
        .await
    }
}

fn cloudwatch_tags(tags: &Tags) -> Vec<Tag> {
    let tag = |(k, v): (&String, &String)| Tag::builder().key(k).value(v).build();
    tags.iter().map(tag).collect()
}

/// An alarm as DescribeAlarms shows it, in the terms of what PutMetricAlarm sets.
fn existing_alarm(a: &aws_sdk_cloudwatch::types::MetricAlarm) -> ExistingAlarm {
    let text = |value: Option<&str>| value.unwrap_or_default().to_owned();
    ExistingAlarm {
        name: text(a.alarm_name()),
        arn: text(a.alarm_arn()),
        definition: AlarmDefinition {
            description: text(a.alarm_description()),
            namespace: text(a.namespace()),
            metric_name: text(a.metric_name()),
            dimensions: a
                .dimensions()
                .iter()
                .map(|d| (text(d.name()), text(d.value())))
                .collect(),
            statistic: text(a.statistic().map(Statistic::as_str)),
            period: a.period().unwrap_or_default(),
            evaluation_periods: a.evaluation_periods().unwrap_or_default(),
            // Left out, it equals EvaluationPeriods.
            datapoints_to_alarm: a
                .datapoints_to_alarm()
                .or(a.evaluation_periods())
                .unwrap_or_default(),
            // Missing, it equals nothing: the alarm is put again.
            threshold: a.threshold().unwrap_or(f64::NAN),
            comparison_operator: text(a.comparison_operator().map(ComparisonOperator::as_str)),
            treat_missing_data: text(a.treat_missing_data()),
            alarm_actions: a.alarm_actions().to_vec(),
            other_settings: !a.ok_actions().is_empty()
                || !a.insufficient_data_actions().is_empty()
                || a.actions_enabled() == Some(false)
                || a.extended_statistic().is_some()
                || a.unit().is_some()
                || !a.metrics().is_empty()
                || a.threshold_metric_id().is_some()
                || a.evaluate_low_sample_count_percentile().is_some(),
        },
    }
}
