//! The target-tracking policies: the one-policy shorthand (`TargetMetric`, `TargetValue` and the
//! cooldowns) or `TargetTrackingPolicies`, a list in the shape and with the names of the native
//! resource's `TargetTrackingScalingPolicyConfiguration`, so that a block pastes across. Lengths,
//! patterns and enums are those of the AWS API models (Application Auto Scaling's, and
//! CloudWatch's for metric math).

use super::reader::{Reader, quote};
use crate::policy_spec::{Metric, MetricQuery, QuerySource, TargetTracking, TrackedMetric};
use crate::target::{KINDS, Kind, TargetMetric};
use aws_sdk_applicationautoscaling::types::{MetricStatistic, MetricType};

/// Application Auto Scaling's quota: scaling policies per scalable target, step and target
/// tracking together; not adjustable.
pub const MAX_POLICIES_PER_TARGET: usize = 50;

/// CloudWatch allows this many dimensions per metric.
const MAX_DIMENSIONS: usize = 30;

/// The properties of the one-policy form; none of them goes with `TargetTrackingPolicies`.
const SHORTHAND: [&str; 5] = [
    "TargetMetric",
    "TargetValue",
    "ScaleInCooldown",
    "ScaleOutCooldown",
    "DisableScaleIn",
];

/// `MetricStatistic`'s values, as a Reason lists them: the SDK's, with the three that the API
/// model and the native resource's documentation list first in their order (Average, Minimum,
/// Maximum), the rest after them in the SDK's order.
fn statistics() -> Vec<&'static str> {
    const FIRST: [&str; 3] = ["Average", "Minimum", "Maximum"];
    let mut statistics = MetricStatistic::values().to_vec();
    statistics.sort_by_key(|s| FIRST.iter().position(|f| f == s).unwrap_or(FIRST.len()));
    statistics
}

/// How the target-tracking policies were asked for.
#[derive(Clone, Debug, PartialEq)]
pub enum TargetTrackingPolicies {
    /// `TargetMetric` and `TargetValue` with the cooldowns: one policy on a fixed metric.
    Shorthand(Shorthand),
    /// `TargetTrackingPolicies`, in the order given.
    Listed(Vec<ListedPolicy>),
}

/// The one-policy form, with the design's defaults.
#[derive(Clone, Debug, PartialEq)]
pub struct Shorthand {
    pub metric: TargetMetric,
    pub target_value: f64,
    pub scale_in_cooldown: i32,
    pub scale_out_cooldown: i32,
    pub disable_scale_in: bool,
}

/// One entry of `TargetTrackingPolicies`.
#[derive(Clone, Debug, PartialEq)]
pub struct ListedPolicy {
    pub name: String,
    pub tracking: TargetTracking,
}

pub(super) fn read(
    reader: &mut Reader<'_>,
    with_step: bool,
    kind: &'static Kind,
) -> TargetTrackingPolicies {
    // Every shorthand key is read, so that each is a known property in either form.
    let metric = read_target_metric(reader, kind);
    let shorthand = Shorthand {
        metric,
        target_value: reader.positive_number("TargetValue", metric.default_target_value()),
        scale_in_cooldown: reader.integer("ScaleInCooldown", 300, 0..=i32::MAX),
        scale_out_cooldown: reader.integer("ScaleOutCooldown", 300, 0..=i32::MAX),
        disable_scale_in: reader.boolean("DisableScaleIn", false),
    };
    if !reader.has("TargetTrackingPolicies") {
        return TargetTrackingPolicies::Shorthand(shorthand);
    }
    let both: Vec<&str> = SHORTHAND.into_iter().filter(|k| reader.has(k)).collect();
    if !both.is_empty() {
        reader.problem(format!(
            "TargetTrackingPolicies replaces the one-policy form: remove {} (give each policy \
             its own TargetValue and cooldowns)",
            both.join(", ")
        ));
    }
    let items: Vec<_> = reader
        .list("TargetTrackingPolicies", usize::MAX, "policies")
        .collect();
    let limit = MAX_POLICIES_PER_TARGET - usize::from(with_step);
    if items.len() > limit {
        let step = match with_step {
            true => ", and ScaleFromZero's step policy is one of them",
            false => "",
        };
        reader.problem(format!(
            "TargetTrackingPolicies may hold at most {limit} policies, got {}: Application Auto \
             Scaling allows {MAX_POLICIES_PER_TARGET} per scalable target{step}",
            items.len()
        ));
    }
    let read = |r: &mut Reader<'_>| read_policy(r, kind);
    TargetTrackingPolicies::Listed(reader.items(&items, "PolicyName", read))
}

/// `TargetMetric`: one of the kind's own metrics.
fn read_target_metric(reader: &mut Reader<'_>, kind: &'static Kind) -> TargetMetric {
    let default = kind.default_metric;
    let Some(text) = reader.string("TargetMetric") else {
        return default;
    };
    let names: Vec<&str> = TargetMetric::ALL
        .iter()
        .filter(|m| m.kind() == kind)
        .map(|m| m.metric_name())
        .collect();
    match TargetMetric::parse(&text) {
        Some(metric) if metric.kind() == kind => metric,
        Some(metric) => {
            reader.problem(format!(
                "TargetMetric {} is an {}'s metric; for an {}: {}",
                quote(&text),
                metric.kind().noun,
                kind.noun,
                names.join(", ")
            ));
            default
        }
        None => {
            reader.problem(format!(
                "TargetMetric must be one of {}, got {}",
                names.join(", "),
                quote(&text)
            ));
            default
        }
    }
}

fn read_policy(r: &mut Reader<'_>, kind: &'static Kind) -> Option<ListedPolicy> {
    // The API model's `\p{Print}+`: printable ASCII, space included. (Other control
    // characters are refused by `text` already.)
    let name = text(r, "PolicyName", Some(256), Required::Yes);
    let printable = |n: &String| {
        n.chars()
            .all(|c| (' '..='~').contains(&c) || c.is_control())
    };
    if let Some(name) = name.as_ref().filter(|n| !printable(n)) {
        let message = format!(
            "{} may hold only printable ASCII characters (letters, digits, spaces and \
             punctuation), got {}",
            r.name("PolicyName"),
            quote(name)
        );
        r.problem(message);
    }
    if let Some(name) = name.as_ref().filter(|n| n.contains(['\r', '\n', '\t'])) {
        let message = format!(
            "{} must not contain tabs or line breaks, got {}",
            r.name("PolicyName"),
            quote(name)
        );
        r.problem(message);
    }
    if name.as_deref() == Some(kind.step_policy_name) {
        let message = format!(
            "{} must not be {}: the step policy of ScaleFromZero has that name",
            r.name("PolicyName"),
            kind.step_policy_name
        );
        r.problem(message);
    }
    let target_value = match r.has("TargetValue") {
        true => Some(r.positive_number("TargetValue", 1.0)),
        false => {
            let message = format!("{} is required", r.name("TargetValue"));
            r.problem(message);
            None
        }
    };
    let scale_in_cooldown = r.optional_integer("ScaleInCooldown", 0..=i32::MAX);
    let scale_out_cooldown = r.optional_integer("ScaleOutCooldown", 0..=i32::MAX);
    let disable_scale_in = r
        .has("DisableScaleIn")
        .then(|| r.boolean("DisableScaleIn", false));
    let predefined = r.get("PredefinedMetricSpecification");
    let customized = r.get("CustomizedMetricSpecification");
    let metric = match (predefined, customized) {
        (Some(value), None) => {
            let path = r.name("PredefinedMetricSpecification");
            r.nested(value, path, |r| read_predefined(r, kind))
                .flatten()
        }
        (None, Some(value)) => {
            let path = r.name("CustomizedMetricSpecification");
            r.nested(value, path, read_customized).flatten()
        }
        (given, _) => {
            let message = format!(
                "{} needs exactly one of PredefinedMetricSpecification and \
                 CustomizedMetricSpecification, got {}",
                r.here(),
                if given.is_some() { "both" } else { "neither" }
            );
            r.problem(message);
            None
        }
    };
    Some(ListedPolicy {
        name: name?,
        tracking: TargetTracking {
            target_value: target_value?,
            metric: metric?,
            scale_in_cooldown,
            scale_out_cooldown,
            disable_scale_in,
        },
    })
}

fn read_predefined(r: &mut Reader<'_>, kind: &'static Kind) -> Option<TrackedMetric> {
    let metric_type = r.required_string("PredefinedMetricType");
    // AWS takes a label only with ALBRequestCountPerTarget, which scales no SageMaker target.
    let resource_label = text(r, "ResourceLabel", Some(1023), Required::No);
    if resource_label.is_some() {
        let message = format!(
            "{} is for ALBRequestCountPerTarget only; leave it out for an {}",
            r.name("ResourceLabel"),
            kind.noun
        );
        r.problem(message);
    }
    let metric_type = metric_type?;
    if let Err(why) = check_predefined(&metric_type, kind) {
        let message = format!(
            "{} {} {why}",
            r.name("PredefinedMetricType"),
            quote(&metric_type)
        );
        r.problem(message);
        return None;
    }
    Some(TrackedMetric::Predefined {
        metric_type,
        resource_label,
    })
}

/// Which predefined metrics can scale the kind of target: its own types, as AWS takes them.
/// For a variant, not every one: AWS takes every `SageMakerVariant` type, but an asynchronous
/// endpoint publishes no `Invocations` metrics and has no provisioned concurrency, so a policy
/// on those would never act and the endpoint would not scale. That is refused rather than
/// deployed.
fn check_predefined(metric_type: &str, kind: &Kind) -> Result<(), String> {
    let others = |prefix: &str| {
        let mut own: Vec<&str> = MetricType::values()
            .iter()
            .copied()
            .filter(|t| t.starts_with(prefix) && check_predefined(t, kind).is_ok())
            .collect();
        // The shorthand's metrics first, in `TargetMetric`'s order (the kind's default first),
        // then the others in the SDK's order.
        own.sort_by_key(|t| {
            let shorthand = TargetMetric::ALL.iter().position(|m| m.metric_name() == *t);
            shorthand.unwrap_or(usize::MAX)
        });
        format!("for an {}: {}", kind.noun, own.join(", "))
    };
    let prefix = kind.predefined_metric_prefix;
    if !MetricType::values().contains(&metric_type) {
        return Err(format!(
            "is not a predefined metric type of Application Auto Scaling; {}",
            others(prefix)
        ));
    }
    match metric_type {
        t if !t.starts_with("SageMaker") => Err(format!(
            "belongs to another service; an {} takes {prefix} types",
            kind.noun
        )),
        t if !t.starts_with(prefix) => {
            let theirs = KINDS
                .into_iter()
                .find(|k| t.starts_with(k.predefined_metric_prefix));
            Err(match theirs {
                Some(theirs) => format!(
                    "is for an {}, not an {}; {}",
                    theirs.noun,
                    kind.noun,
                    others(prefix)
                ),
                None => format!("is for another SageMaker resource; {}", others(prefix)),
            })
        }
        "SageMakerVariantInvocationsPerInstance" => Err(
            "never scales an asynchronous endpoint: those publish no Invocations metrics. Track \
             ApproximateBacklogSizePerInstance instead (TargetMetric, or a \
             CustomizedMetricSpecification)"
                .to_owned(),
        ),
        "SageMakerVariantProvisionedConcurrencyUtilization" => Err(
            "scales the provisioned concurrency of a serverless endpoint, not an endpoint \
             variant's instances"
                .to_owned(),
        ),
        _ => Ok(()),
    }
}

fn read_customized(r: &mut Reader<'_>) -> Option<TrackedMetric> {
    const SINGLE: [&str; 5] = ["MetricName", "Namespace", "Dimensions", "Statistic", "Unit"];
    let single: Vec<&str> = SINGLE.into_iter().filter(|k| r.has(k)).collect();
    let metric = read_metric(r, Required::No);
    let statistic = r.string("Statistic");
    let unit = text(r, "Unit", None, Required::No);
    let Some(metrics) = r.get("Metrics") else {
        for key in ["MetricName", "Namespace", "Statistic"] {
            if !r.has(key) {
                let message = format!(
                    "{} is required (or give Metrics, for metric math)",
                    r.name(key)
                );
                r.problem(message);
            }
        }
        let statistic = statistic?;
        if !MetricStatistic::values().contains(&statistic.as_str()) {
            let message = format!(
                "{} must be one of {}, got {}",
                r.name("Statistic"),
                statistics().join(", "),
                quote(&statistic)
            );
            r.problem(message);
        }
        return Some(TrackedMetric::Customized {
            metric: metric?,
            statistic,
            unit,
        });
    };
    if !single.is_empty() {
        let message = format!(
            "{} takes either Metrics (metric math) or MetricName, Namespace, Dimensions, \
             Statistic and Unit: remove {} or Metrics",
            r.here(),
            single.join(", ")
        );
        r.problem(message);
    }
    read_math(r, metrics)
}

fn read_math(r: &mut Reader<'_>, metrics: &serde_json::Value) -> Option<TrackedMetric> {
    let path = r.name("Metrics");
    let items: Vec<_> = r.list("Metrics", usize::MAX, "queries").collect();
    if items.is_empty() && metrics.is_array() {
        r.problem(format!("{path} must hold at least one query"));
    }
    let queries = r.items(&items, "Id", read_query);
    if queries.len() == items.len() && !queries.is_empty() {
        // Left out, ReturnData is true.
        let returning = queries
            .iter()
            .filter(|q| q.return_data != Some(false))
            .count();
        if returning != 1 {
            r.problem(format!(
                "{path} must have exactly one query that returns data, the value to track \
                 (ReturnData true, which is also what leaving it out means; false on every \
                 other), got {returning}"
            ));
        }
    }
    (queries.len() == items.len() && !queries.is_empty()).then_some(TrackedMetric::Math(queries))
}

fn read_query(r: &mut Reader<'_>) -> Option<MetricQuery> {
    let id = r.required_string("Id");
    if let Some(id) = &id
        && !is_metric_math_id(id)
    {
        let message = format!(
            "{} must start with a lowercase letter and hold only letters, digits and \
                 underscores, at most 255 (CloudWatch's rule for metric math Ids), got {}",
            r.name("Id"),
            quote(id)
        );
        r.problem(message);
    }
    let expression = text(r, "Expression", Some(2048), Required::No);
    let metric_stat = r.get("MetricStat");
    let label = text(r, "Label", None, Required::No);
    let return_data = r.has("ReturnData").then(|| r.boolean("ReturnData", true));
    let source = match (expression, metric_stat) {
        (Some(expression), None) => Some(QuerySource::Expression(expression)),
        (None, Some(value)) => {
            let path = r.name("MetricStat");
            r.nested(value, path, read_metric_stat).flatten()
        }
        (expression, _) => {
            let message = format!(
                "{} needs exactly one of Expression and MetricStat, got {}",
                r.here(),
                if expression.is_some() {
                    "both"
                } else {
                    "neither"
                }
            );
            r.problem(message);
            None
        }
    };
    Some(MetricQuery {
        id: id?,
        source: source?,
        label,
        return_data,
    })
}

fn read_metric_stat(r: &mut Reader<'_>) -> Option<QuerySource> {
    let metric = match r.get("Metric") {
        Some(value) => {
            let path = r.name("Metric");
            r.nested(value, path, |r| read_metric(r, Required::Yes))
                .flatten()
        }
        None => {
            let message = format!("{} is required", r.name("Metric"));
            r.problem(message);
            None
        }
    };
    let stat = text(r, "Stat", None, Required::Yes);
    let unit = text(r, "Unit", Some(1023), Required::No);
    Some(QuerySource::MetricStat {
        metric: metric?,
        stat: stat?,
        unit,
    })
}

/// `MetricName`, `Namespace` and `Dimensions` of one metric; `None` unless name and namespace
/// are both there.
fn read_metric(r: &mut Reader<'_>, required: Required) -> Option<Metric> {
    let metric_name = text(r, "MetricName", Some(255), required);
    let namespace = text(r, "Namespace", Some(255), required);
    let mut dimensions = Vec::new();
    let items: Vec<_> = r.list("Dimensions", MAX_DIMENSIONS, "dimensions").collect();
    for (path, item) in items {
        let read = |r: &mut Reader<'_>| {
            let name = text(r, "Name", Some(255), Required::Yes);
            let value = text(r, "Value", Some(1024), Required::Yes);
            name.zip(value)
        };
        if let Some(Some(dimension)) = r.nested(item, path, read) {
            dimensions.push(dimension);
        }
    }
    Some(Metric {
        namespace: namespace?,
        metric_name: metric_name?,
        dimensions,
    })
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Required {
    Yes,
    No,
}

/// A string of 1 to `max` characters (any length when `None`) without control characters other
/// than tabs and line breaks: the API models' lengths and patterns.
fn text(
    r: &mut Reader<'_>,
    key: &'static str,
    max: Option<usize>,
    required: Required,
) -> Option<String> {
    let value = match required {
        Required::Yes => r.required_string(key)?,
        Required::No => r.string(key)?,
    };
    let length = value.chars().count();
    let problem = if length == 0 {
        Some("must not be empty".to_owned())
    } else if let Some(max) = max.filter(|max| length > *max) {
        Some(format!("must be 1 to {max} characters, got {length}"))
    } else if value
        .chars()
        .any(|c| c.is_control() && !"\r\n\t".contains(c))
    {
        Some("must not contain control characters".to_owned())
    } else {
        None
    };
    if let Some(problem) = problem {
        let message = format!("{} {problem}", r.name(key));
        r.problem(message);
    }
    Some(value)
}

/// CloudWatch's rule for the Id of a metric math query.
fn is_metric_math_id(id: &str) -> bool {
    let mut chars = id.chars();
    id.len() <= 255
        && chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::STEP_POLICY_NAME;
    use crate::properties::ScalingProperties;
    use serde_json::{Value, json};

    fn parse(extra: Value) -> Result<ScalingProperties, String> {
        let mut properties = json!({"EndpointName": "e", "VariantName": "v"});
        for (k, v) in extra.as_object().unwrap() {
            properties[k] = v.clone();
        }
        ScalingProperties::parse(&properties).map_err(|problems| problems.to_string())
    }

    fn listed(extra: Value) -> Vec<ListedPolicy> {
        match parse(extra).unwrap().target_tracking {
            TargetTrackingPolicies::Listed(listed) => listed,
            other => panic!("{other:?}"),
        }
    }

    fn problems(extra: Value) -> String {
        parse(extra).unwrap_err()
    }

    fn assert_reason(reason: &str, expected: &[&str]) {
        for fragment in expected {
            assert!(
                reason.contains(fragment),
                "{fragment:?} missing from {reason:?}"
            );
        }
    }

    /// A policy as the native resource's documentation shows one, pasted in.
    fn gpu() -> Value {
        json!({"PolicyName": "gpu", "TargetValue": "60", "ScaleInCooldown": "600",
               "DisableScaleIn": "true",
               "CustomizedMetricSpecification": {
                   "MetricName": "GPUUtilization", "Namespace": "/aws/sagemaker/Endpoints",
                   "Dimensions": [{"Name": "EndpointName", "Value": "e"},
                                  {"Name": "VariantName", "Value": "v"}],
                   "Statistic": "Average", "Unit": "Percent"}})
    }

    fn backlog_per_instance() -> Value {
        json!({"PolicyName": "backlog-per-instance", "TargetValue": 5,
               "CustomizedMetricSpecification": {"Metrics": [
                   {"Id": "backlog", "ReturnData": false, "MetricStat": {
                       "Metric": {"MetricName": "ApproximateBacklogSize", "Namespace": "AWS/SageMaker",
                                  "Dimensions": [{"Name": "EndpointName", "Value": "e"}]},
                       "Stat": "Average"}},
                   {"Id": "e1", "Expression": "backlog / 2", "Label": "per instance",
                    "ReturnData": true}]}})
    }

    #[test]
    fn the_native_shape_is_read_with_every_member() {
        let policies = listed(
            json!({"TargetTrackingPolicies": [gpu(), backlog_per_instance(),
            {"PolicyName": "concurrency", "TargetValue": 4, "PredefinedMetricSpecification": {
                "PredefinedMetricType": "SageMakerVariantConcurrentRequestsPerModelHighResolution"}}]}),
        );
        let names: Vec<&str> = policies.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["gpu", "backlog-per-instance", "concurrency"]);
        assert_eq!(
            policies[0].tracking,
            TargetTracking {
                target_value: 60.0,
                metric: TrackedMetric::Customized {
                    metric: Metric {
                        namespace: "/aws/sagemaker/Endpoints".into(),
                        metric_name: "GPUUtilization".into(),
                        dimensions: vec![
                            ("EndpointName".into(), "e".into()),
                            ("VariantName".into(), "v".into())
                        ],
                    },
                    statistic: "Average".into(),
                    unit: Some("Percent".into()),
                },
                scale_in_cooldown: Some(600),
                scale_out_cooldown: None,
                disable_scale_in: Some(true),
            }
        );
        let TrackedMetric::Math(queries) = &policies[1].tracking.metric else {
            panic!("{:?}", policies[1].tracking.metric);
        };
        assert_eq!(queries.len(), 2);
        assert_eq!(queries[0].return_data, Some(false));
        assert!(
            matches!(&queries[0].source, QuerySource::MetricStat { stat, .. } if stat == "Average")
        );
        assert_eq!(
            queries[1].source,
            QuerySource::Expression("backlog / 2".into())
        );
        assert_eq!(queries[1].label.as_deref(), Some("per instance"));
        assert!(matches!(
            &policies[2].tracking.metric,
            TrackedMetric::Predefined {
                resource_label: None,
                ..
            }
        ));
    }

    #[test]
    fn the_shorthand_and_the_list_do_not_mix() {
        assert_reason(
            &problems(
                json!({"TargetMetric": "GPUUtilization", "ScaleInCooldown": 60,
                             "TargetTrackingPolicies": [gpu()]}),
            ),
            &[
                "TargetTrackingPolicies replaces the one-policy form: remove TargetMetric, ScaleInCooldown",
            ],
        );
        assert!(listed(json!({"TargetTrackingPolicies": []})).is_empty());
    }

    #[test]
    fn names_are_unique_printable_and_not_the_step_policys() {
        let mut second = gpu();
        second["CustomizedMetricSpecification"]["Statistic"] = "Maximum".into();
        let mut step = gpu();
        step["PolicyName"] = STEP_POLICY_NAME.into();
        let mut long = gpu();
        long["PolicyName"] = "x".repeat(257).into();
        let mut tab = gpu();
        tab["PolicyName"] = "a\tb".into();
        let mut accented = gpu();
        accented["PolicyName"] = "gpu-équipe".into();
        assert_reason(
            &problems(
                json!({"TargetTrackingPolicies": [gpu(), second, step, long, tab, accented]}),
            ),
            &[
                "TargetTrackingPolicies[1].PolicyName \"gpu\" is also TargetTrackingPolicies[0]'s; each PolicyName must be unique",
                "TargetTrackingPolicies[2].PolicyName must not be HasBacklogWithoutCapacity-ScalingPolicy",
                "TargetTrackingPolicies[3].PolicyName must be 1 to 256 characters, got 257",
                "TargetTrackingPolicies[4].PolicyName must not contain tabs or line breaks, got \"a\\tb\"",
                "TargetTrackingPolicies[5].PolicyName may hold only printable ASCII characters (letters, digits, spaces and punctuation), got \"gpu-équipe\"",
            ],
        );
    }

    #[test]
    fn at_most_fifty_policies_per_target_count_the_step_policy() {
        let many = |n: usize| -> Value {
            (0..n)
                .map(|i| {
                    let mut policy = gpu();
                    policy["PolicyName"] = format!("p{i}").into();
                    policy
                })
                .collect()
        };
        assert_reason(
            &problems(json!({"TargetTrackingPolicies": many(50)})),
            &[
                "TargetTrackingPolicies may hold at most 49 policies, got 50: Application Auto \
               Scaling allows 50 per scalable target, and ScaleFromZero's step policy is one of \
               them",
            ],
        );
        assert_eq!(
            listed(json!({"TargetTrackingPolicies": many(49)})).len(),
            49
        );
        let without_step = json!({"ScaleFromZero": false, "TargetTrackingPolicies": many(50)});
        assert_eq!(listed(without_step).len(), 50);
    }

    #[test]
    fn every_member_is_checked_as_the_api_models_say() {
        let reason = problems(json!({"TargetTrackingPolicies": [
            {"PolicyName": "a"},
            {"PolicyName": "b", "TargetValue": 1, "PredefinedMetricSpecification": {
                "PredefinedMetricType": "SageMakerVariantInvocationsPerMinute"}},
            {"PolicyName": "c", "TargetValue": 1, "PredefinedMetricSpecification": {
                "PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"}},
            {"PolicyName": "d", "TargetValue": 1, "PredefinedMetricSpecification": {
                "PredefinedMetricType": "ECSServiceAverageCPUUtilization"},
             "CustomizedMetricSpecification": {}},
            {"PolicyName": "e", "TargetValue": 1, "PredefinedMetricSpecification": {
                "PredefinedMetricType": "SageMakerInferenceComponentInvocationsPerCopy",
                "ResourceLabel": ""}},
            {"PolicyName": "f", "TargetValue": -1, "ScaleOutCooldown": -5,
             "CustomizedMetricSpecification": {"MetricName": "m", "Statistic": "p99",
                "Dimmensions": []}},
            {"PolicyName": "g", "TargetValue": 1, "CustomizedMetricSpecification": {
                "MetricName": "m", "Namespace": "n", "Statistic": "Sum", "Metrics": []}}
        ]}));
        assert_reason(
            &reason,
            &[
                "TargetTrackingPolicies[0].TargetValue is required",
                "TargetTrackingPolicies[0] needs exactly one of PredefinedMetricSpecification and CustomizedMetricSpecification, got neither",
                "TargetTrackingPolicies[1].PredefinedMetricSpecification.PredefinedMetricType \"SageMakerVariantInvocationsPerMinute\" is not a predefined metric type of Application Auto Scaling; for an endpoint variant: SageMakerVariantConcurrentRequestsPerModelHighResolution",
                "TargetTrackingPolicies[2].PredefinedMetricSpecification.PredefinedMetricType \"SageMakerVariantInvocationsPerInstance\" never scales an asynchronous endpoint",
                "TargetTrackingPolicies[3] needs exactly one of PredefinedMetricSpecification and CustomizedMetricSpecification, got both",
                "TargetTrackingPolicies[4].PredefinedMetricSpecification.ResourceLabel is for ALBRequestCountPerTarget only",
                "TargetTrackingPolicies[4].PredefinedMetricSpecification.PredefinedMetricType \"SageMakerInferenceComponentInvocationsPerCopy\" is for an inference component, not an endpoint variant; for an endpoint variant: SageMakerVariantConcurrentRequestsPerModelHighResolution",
                "TargetTrackingPolicies[5].TargetValue must be a positive number, got -1",
                "TargetTrackingPolicies[5].ScaleOutCooldown must be at least 0, got -5",
                "TargetTrackingPolicies[5].CustomizedMetricSpecification.Namespace is required (or give Metrics, for metric math)",
                "TargetTrackingPolicies[5].CustomizedMetricSpecification.Statistic must be one of Average, Minimum, Maximum, SampleCount, Sum, got \"p99\"",
                "\"TargetTrackingPolicies[5].CustomizedMetricSpecification.Dimmensions\" is not a known property (did you mean TargetTrackingPolicies[5].CustomizedMetricSpecification.Dimensions?)",
                "TargetTrackingPolicies[6].CustomizedMetricSpecification takes either Metrics (metric math) or MetricName, Namespace, Dimensions, Statistic and Unit: remove MetricName, Namespace, Statistic or Metrics",
                "TargetTrackingPolicies[6].CustomizedMetricSpecification.Metrics must hold at least one query",
            ],
        );
        assert!(
            problems(json!({"TargetTrackingPolicies": [{"PolicyName": "d", "TargetValue": 1,
                "PredefinedMetricSpecification": {"PredefinedMetricType": "ECSServiceAverageCPUUtilization"}}]}))
                .contains("belongs to another service")
        );
    }

    /// The values a Reason offers are the SDK's, in the order it has always listed them: the
    /// shorthand's metrics first, and Minimum before Maximum.
    #[test]
    fn the_values_a_reason_offers_are_the_sdks_in_a_stable_order() {
        let reason = ScalingProperties::parse(&json!({"InferenceComponentName": "ic",
            "TargetTrackingPolicies": [{"PolicyName": "p", "TargetValue": 1,
                "PredefinedMetricSpecification": {"PredefinedMetricType":
                    "SageMakerVariantConcurrentRequestsPerModelHighResolution"}}]}))
        .unwrap_err()
        .to_string();
        assert_reason(
            &reason,
            &[
                "is for an endpoint variant, not an inference component; for an inference \
               component: SageMakerInferenceComponentInvocationsPerCopy, \
               SageMakerInferenceComponentConcurrentRequestsPerCopyHighResolution",
            ],
        );
        assert_eq!(
            statistics(),
            ["Average", "Minimum", "Maximum", "SampleCount", "Sum"]
        );
    }

    #[test]
    fn metric_math_has_unique_ids_and_exactly_one_value() {
        let math = |metrics: Value| {
            json!({"TargetTrackingPolicies": [{"PolicyName": "m", "TargetValue": 1,
                "CustomizedMetricSpecification": {"Metrics": metrics}}]})
        };
        let stat = json!({"Metric": {"MetricName": "ApproximateBacklogSize",
                                     "Namespace": "AWS/SageMaker"}, "Stat": "Average"});
        let path = "TargetTrackingPolicies[0].CustomizedMetricSpecification.Metrics";
        // Left out, ReturnData is true: two queries without it both return data.
        assert_reason(
            &problems(math(
                json!([{"Id": "m1", "MetricStat": stat}, {"Id": "e1", "Expression": "m1 * 2"}]),
            )),
            &[&format!(
                "{path} must have exactly one query that returns data, the value to track (ReturnData true, which is also what leaving it out means; false on every other), got 2"
            )],
        );
        assert_reason(
            &problems(math(
                json!([{"Id": "m1", "MetricStat": stat, "ReturnData": false}]),
            )),
            &[
                &format!("{path} must have exactly one query that returns data"),
                "got 0",
            ],
        );
        assert_reason(
            &problems(math(json!([
                {"Id": "m1", "MetricStat": stat, "ReturnData": false},
                {"Id": "m1", "Expression": "m1", "ReturnData": false},
                {"Id": "E1", "Expression": "m1", "MetricStat": stat},
                {"Id": "e2"},
                {"Id": "e3", "MetricStat": {"Metric": {"MetricName": "x"}}}
            ]))),
            &[
                &format!("{path}[1].Id \"m1\" is also {path}[0]'s; each Id must be unique"),
                &format!(
                    "{path}[2].Id must start with a lowercase letter and hold only letters, digits and underscores"
                ),
                &format!("{path}[2] needs exactly one of Expression and MetricStat, got both"),
                &format!("{path}[3] needs exactly one of Expression and MetricStat, got neither"),
                &format!("{path}[4].MetricStat.Metric.Namespace is required"),
                &format!("{path}[4].MetricStat.Stat is required"),
            ],
        );
        assert_eq!(
            listed(math(json!([{"Id": "m1", "MetricStat": stat}]))).len(),
            1
        );
    }
}
