//! A scaling policy as data: what PutScalingPolicy sets. The properties are read into it, the
//! desired state is a list of it, and the AWS seam turns it into one request. A new kind of
//! policy is one variant of [`PolicyKind`] and one arm where the seam builds the request.
//!
//! The guard's records keep policies in this form too, as JSON.

use serde::{Deserialize, Serialize};

/// One scaling policy on the scalable target, by its name.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PolicySpec {
    pub name: String,
    pub kind: PolicyKind,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum PolicyKind {
    TargetTracking(TargetTracking),
    Step(StepScaling),
}

impl PolicySpec {
    pub fn is_target_tracking(&self) -> bool {
        matches!(self.kind, PolicyKind::TargetTracking(_))
    }
}

/// `TargetTrackingScalingPolicyConfiguration`, with the native resource's names. What is
/// `None` is not sent, and Application Auto Scaling applies its default.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TargetTracking {
    pub target_value: f64,
    pub metric: TrackedMetric,
    pub scale_in_cooldown: Option<i32>,
    pub scale_out_cooldown: Option<i32>,
    pub disable_scale_in: Option<bool>,
}

/// The metric a target-tracking policy keeps at its target value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum TrackedMetric {
    /// `PredefinedMetricSpecification`.
    Predefined {
        metric_type: String,
        resource_label: Option<String>,
    },
    /// `CustomizedMetricSpecification` with one metric and a statistic.
    Customized {
        metric: Metric,
        statistic: String,
        unit: Option<String>,
    },
    /// `CustomizedMetricSpecification.Metrics`: metric math, one query returning the value.
    Math(Vec<MetricQuery>),
}

/// A CloudWatch metric: namespace, name and dimensions (in the order given).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Metric {
    pub namespace: String,
    pub metric_name: String,
    pub dimensions: Vec<(String, String)>,
}

/// One entry of `Metrics`: an expression or a metric with its statistic.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MetricQuery {
    pub id: String,
    pub source: QuerySource,
    pub label: Option<String>,
    pub return_data: Option<bool>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum QuerySource {
    Expression(String),
    /// `MetricStat`: a metric, its statistic (`Stat`) and unit.
    MetricStat {
        metric: Metric,
        stat: String,
        unit: Option<String>,
    },
}

/// `StepScalingPolicyConfiguration`, as this resource uses it: a change in capacity by
/// metric interval.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepScaling {
    pub cooldown: i32,
    /// `MetricAggregationType`.
    pub aggregation: String,
    pub steps: Vec<Step>,
}

/// A `StepAdjustment`: the bounds are relative to the alarm's threshold.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Step {
    pub lower_bound: Option<f64>,
    pub upper_bound: Option<f64>,
    pub adjustment: i32,
}
