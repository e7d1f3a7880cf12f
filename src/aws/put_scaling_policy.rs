//! A [`PolicySpec`] as PutScalingPolicy's request, and a policy DescribeScalingPolicies shows
//! read back into one: one arm each way per kind of policy.

use super::AwsError;
use crate::policy_spec::Step;
use crate::policy_spec::{
    Metric, MetricQuery, PolicyKind, PolicySpec, QuerySource, StepScaling, TargetTracking,
    TrackedMetric,
};
use aws_sdk_applicationautoscaling::operation::put_scaling_policy::builders::PutScalingPolicyFluentBuilder;
use aws_sdk_applicationautoscaling::types::{
    AdjustmentType, CustomizedMetricSpecification, MetricAggregationType, MetricDimension,
    MetricStatistic, MetricType, PolicyType, PredefinedMetricSpecification, ScalingPolicy,
    StepAdjustment, StepScalingPolicyConfiguration, TargetTrackingMetric,
    TargetTrackingMetricDataQuery, TargetTrackingMetricDimension, TargetTrackingMetricStat,
    TargetTrackingScalingPolicyConfiguration,
};

const OPERATION: &str = "PutScalingPolicy";

/// What a PutScalingPolicy request carries for one policy: its type and configuration.
pub(super) type Configure =
    Box<dyn Fn(PutScalingPolicyFluentBuilder) -> PutScalingPolicyFluentBuilder + Send + Sync>;

/// The policy's type and configuration, built once (a spec that AWS's builders refuse fails
/// here, before any call) and set on each attempt's request. One arm per kind of policy.
pub(super) fn configure(spec: &PolicySpec) -> Result<Configure, AwsError> {
    Ok(match &spec.kind {
        PolicyKind::TargetTracking(tracking) => {
            let configuration = target_tracking(tracking)?;
            Box::new(move |request| {
                request
                    .policy_type(PolicyType::TargetTrackingScaling)
                    .target_tracking_scaling_policy_configuration(configuration.clone())
            })
        }
        PolicyKind::Step(step) => {
            let configuration = step_scaling(step)?;
            Box::new(move |request| {
                request
                    .policy_type(PolicyType::StepScaling)
                    .step_scaling_policy_configuration(configuration.clone())
            })
        }
    })
}

fn build_error(error: impl std::error::Error + Send + Sync + 'static) -> AwsError {
    AwsError::build(OPERATION, error)
}

fn target_tracking(
    tracking: &TargetTracking,
) -> Result<TargetTrackingScalingPolicyConfiguration, AwsError> {
    let mut configuration = TargetTrackingScalingPolicyConfiguration::builder()
        .target_value(tracking.target_value)
        .set_scale_in_cooldown(tracking.scale_in_cooldown)
        .set_scale_out_cooldown(tracking.scale_out_cooldown)
        .set_disable_scale_in(tracking.disable_scale_in);
    configuration = match &tracking.metric {
        TrackedMetric::Predefined {
            metric_type,
            resource_label,
        } => configuration.predefined_metric_specification(
            PredefinedMetricSpecification::builder()
                .predefined_metric_type(MetricType::from(metric_type.as_str()))
                .set_resource_label(resource_label.clone())
                .build()
                .map_err(build_error)?,
        ),
        TrackedMetric::Customized {
            metric,
            statistic,
            unit,
        } => {
            let dimensions = metric
                .dimensions
                .iter()
                .map(|(name, value)| MetricDimension::builder().name(name).value(value).build())
                .collect::<Result<Vec<_>, _>>()
                .map_err(build_error)?;
            configuration.customized_metric_specification(
                CustomizedMetricSpecification::builder()
                    .metric_name(&metric.metric_name)
                    .namespace(&metric.namespace)
                    .set_dimensions(non_empty(dimensions))
                    .statistic(MetricStatistic::from(statistic.as_str()))
                    .set_unit(unit.clone())
                    .build(),
            )
        }
        TrackedMetric::Math(queries) => {
            let queries = queries.iter().map(query).collect::<Result<Vec<_>, _>>()?;
            configuration.customized_metric_specification(
                CustomizedMetricSpecification::builder()
                    .set_metrics(Some(queries))
                    .build(),
            )
        }
    };
    configuration.build().map_err(build_error)
}

fn query(query: &MetricQuery) -> Result<TargetTrackingMetricDataQuery, AwsError> {
    let mut built = TargetTrackingMetricDataQuery::builder()
        .id(&query.id)
        .set_label(query.label.clone())
        .set_return_data(query.return_data);
    built = match &query.source {
        QuerySource::Expression(expression) => built.expression(expression),
        QuerySource::MetricStat { metric, stat, unit } => built.metric_stat(
            TargetTrackingMetricStat::builder()
                .metric(tracked(metric)?)
                .stat(stat)
                .set_unit(unit.clone())
                .build()
                .map_err(build_error)?,
        ),
    };
    built.build().map_err(build_error)
}

fn tracked(metric: &Metric) -> Result<TargetTrackingMetric, AwsError> {
    let dimensions = metric
        .dimensions
        .iter()
        .map(|(name, value)| {
            TargetTrackingMetricDimension::builder()
                .name(name)
                .value(value)
                .build()
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(build_error)?;
    Ok(TargetTrackingMetric::builder()
        .metric_name(&metric.metric_name)
        .namespace(&metric.namespace)
        .set_dimensions(non_empty(dimensions))
        .build())
}

/// A metric without dimensions is sent without the member, as a template would leave it out.
fn non_empty<T>(list: Vec<T>) -> Option<Vec<T>> {
    (!list.is_empty()).then_some(list)
}

fn step_scaling(step: &StepScaling) -> Result<StepScalingPolicyConfiguration, AwsError> {
    let adjustments = step
        .steps
        .iter()
        .map(|s| {
            StepAdjustment::builder()
                .set_metric_interval_lower_bound(s.lower_bound)
                .set_metric_interval_upper_bound(s.upper_bound)
                .scaling_adjustment(s.adjustment)
                .build()
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(build_error)?;
    Ok(StepScalingPolicyConfiguration::builder()
        .adjustment_type(AdjustmentType::ChangeInCapacity)
        .metric_aggregation_type(MetricAggregationType::from(step.aggregation.as_str()))
        .cooldown(step.cooldown)
        .set_step_adjustments(Some(adjustments))
        .build())
}

/// A policy as AWS holds it, in the terms this resource puts: `None` when it has a setting this
/// resource never puts (another adjustment type, a minimum adjustment magnitude, a policy type
/// it does not know), so that it never equals a desired policy and is put again. A kind of
/// policy without an arm here is correct too, only put on every Update.
pub(super) fn spec_of(policy: &ScalingPolicy) -> Option<PolicySpec> {
    let kind = match policy.policy_type() {
        PolicyType::TargetTrackingScaling => PolicyKind::TargetTracking(tracking_of(
            policy.target_tracking_scaling_policy_configuration()?,
        )?),
        PolicyType::StepScaling => {
            PolicyKind::Step(step_of(policy.step_scaling_policy_configuration()?)?)
        }
        _ => return None,
    };
    Some(PolicySpec {
        name: policy.policy_name().to_owned(),
        kind,
    })
}

fn tracking_of(configuration: &TargetTrackingScalingPolicyConfiguration) -> Option<TargetTracking> {
    let metric = match (
        configuration.predefined_metric_specification(),
        configuration.customized_metric_specification(),
    ) {
        (Some(predefined), None) => TrackedMetric::Predefined {
            metric_type: predefined.predefined_metric_type().as_str().to_owned(),
            resource_label: predefined.resource_label().map(str::to_owned),
        },
        // Metric math with a single metric's members besides is nothing this resource puts.
        (None, Some(customized))
            if !customized.metrics().is_empty()
                && customized.metric_name().is_none()
                && customized.namespace().is_none()
                && customized.dimensions().is_empty()
                && customized.statistic().is_none()
                && customized.unit().is_none() =>
        {
            TrackedMetric::Math(
                customized
                    .metrics()
                    .iter()
                    .map(query_of)
                    .collect::<Option<_>>()?,
            )
        }
        (None, Some(customized)) if customized.metrics().is_empty() => TrackedMetric::Customized {
            metric: Metric {
                namespace: customized.namespace()?.to_owned(),
                metric_name: customized.metric_name()?.to_owned(),
                dimensions: customized
                    .dimensions()
                    .iter()
                    .map(|d| (d.name().to_owned(), d.value().to_owned()))
                    .collect(),
            },
            statistic: customized.statistic()?.as_str().to_owned(),
            unit: customized.unit().map(str::to_owned),
        },
        _ => return None,
    };
    Some(TargetTracking {
        target_value: configuration.target_value(),
        metric,
        scale_in_cooldown: configuration.scale_in_cooldown(),
        scale_out_cooldown: configuration.scale_out_cooldown(),
        disable_scale_in: configuration.disable_scale_in(),
    })
}

fn query_of(query: &TargetTrackingMetricDataQuery) -> Option<MetricQuery> {
    let source = match (query.expression(), query.metric_stat()) {
        (Some(expression), None) => QuerySource::Expression(expression.to_owned()),
        (None, Some(stat)) => {
            let metric = stat.metric()?;
            QuerySource::MetricStat {
                metric: Metric {
                    namespace: metric.namespace()?.to_owned(),
                    metric_name: metric.metric_name()?.to_owned(),
                    dimensions: metric
                        .dimensions()
                        .iter()
                        .map(|d| (d.name().to_owned(), d.value().to_owned()))
                        .collect(),
                },
                stat: stat.stat().to_owned(),
                unit: stat.unit().map(str::to_owned),
            }
        }
        _ => return None,
    };
    Some(MetricQuery {
        id: query.id().to_owned(),
        source,
        label: query.label().map(str::to_owned),
        return_data: query.return_data(),
    })
}

fn step_of(configuration: &StepScalingPolicyConfiguration) -> Option<StepScaling> {
    if configuration.adjustment_type() != Some(&AdjustmentType::ChangeInCapacity)
        || configuration.min_adjustment_magnitude().is_some()
    {
        return None;
    }
    Some(StepScaling {
        cooldown: configuration.cooldown()?,
        aggregation: configuration.metric_aggregation_type()?.as_str().to_owned(),
        steps: configuration
            .step_adjustments()
            .iter()
            .map(|s| Step {
                lower_bound: s.metric_interval_lower_bound(),
                upper_bound: s.metric_interval_upper_bound(),
                adjustment: s.scaling_adjustment(),
            })
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_applicationautoscaling::primitives::DateTime;
    use aws_sdk_applicationautoscaling::types::{ScalableDimension, ServiceNamespace};

    /// A policy as DescribeScalingPolicies would show the one this spec puts.
    fn as_described(spec: &PolicySpec) -> ScalingPolicy {
        let policy = ScalingPolicy::builder()
            .policy_arn("arn:aws:autoscaling:us-east-1:123456789012:scalingPolicy:0f")
            .policy_name(&spec.name)
            .service_namespace(ServiceNamespace::Sagemaker)
            .resource_id("endpoint/e/variant/v")
            .scalable_dimension(ScalableDimension::SageMakerVariantDesiredInstanceCount)
            .creation_time(DateTime::from_secs(0));
        let policy = match &spec.kind {
            PolicyKind::TargetTracking(tracking) => policy
                .policy_type(PolicyType::TargetTrackingScaling)
                .target_tracking_scaling_policy_configuration(target_tracking(tracking).unwrap()),
            PolicyKind::Step(step) => policy
                .policy_type(PolicyType::StepScaling)
                .step_scaling_policy_configuration(step_scaling(step).unwrap()),
        };
        policy.build().unwrap()
    }

    fn metric(name: &str, dimensions: &[(&str, &str)]) -> Metric {
        Metric {
            namespace: "AWS/SageMaker".into(),
            metric_name: name.into(),
            dimensions: dimensions
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    #[test]
    fn every_kind_of_policy_reads_back_as_the_spec_that_put_it() {
        let tracking = |metric: TrackedMetric| TargetTracking {
            target_value: 7.5,
            metric,
            scale_in_cooldown: Some(60),
            scale_out_cooldown: None,
            disable_scale_in: Some(true),
        };
        let specs = [
            PolicyKind::TargetTracking(tracking(TrackedMetric::Customized {
                metric: metric(
                    "GPUUtilization",
                    &[("EndpointName", "e"), ("VariantName", "v")],
                ),
                statistic: "Average".into(),
                unit: Some("Percent".into()),
            })),
            PolicyKind::TargetTracking(tracking(TrackedMetric::Customized {
                metric: metric("NoDimensions", &[]),
                statistic: "Sum".into(),
                unit: None,
            })),
            PolicyKind::TargetTracking(tracking(TrackedMetric::Predefined {
                metric_type: "SageMakerVariantConcurrentRequestsPerModelHighResolution".into(),
                resource_label: None,
            })),
            PolicyKind::TargetTracking(tracking(TrackedMetric::Math(vec![
                MetricQuery {
                    id: "backlog".into(),
                    source: QuerySource::MetricStat {
                        metric: metric("ApproximateBacklogSize", &[("EndpointName", "e")]),
                        stat: "Average".into(),
                        unit: None,
                    },
                    label: None,
                    return_data: Some(false),
                },
                MetricQuery {
                    id: "e1".into(),
                    source: QuerySource::Expression("backlog / 2".into()),
                    label: Some("per instance".into()),
                    return_data: None,
                },
            ]))),
            PolicyKind::Step(StepScaling {
                cooldown: 300,
                aggregation: "Average".into(),
                steps: vec![Step {
                    lower_bound: Some(0.0),
                    upper_bound: None,
                    adjustment: 1,
                }],
            }),
        ];
        for kind in specs {
            let spec = PolicySpec {
                name: "p".into(),
                kind,
            };
            assert_eq!(spec_of(&as_described(&spec)), Some(spec));
        }
    }

    #[test]
    fn a_policy_with_settings_this_resource_never_puts_reads_back_as_none() {
        let step = PolicySpec {
            name: "p".into(),
            kind: PolicyKind::Step(StepScaling {
                cooldown: 300,
                aggregation: "Average".into(),
                steps: Vec::new(),
            }),
        };
        let mut described = as_described(&step);
        let configuration = StepScalingPolicyConfiguration::builder()
            .adjustment_type(AdjustmentType::PercentChangeInCapacity)
            .cooldown(300)
            .metric_aggregation_type(MetricAggregationType::Average)
            .build();
        described.step_scaling_policy_configuration = Some(configuration);
        assert_eq!(spec_of(&described), None);
    }
}
