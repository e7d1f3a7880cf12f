//! The custom resource's `ResourceProperties`: parsed, defaulted and validated in one place.
//!
//! CloudFormation sends numbers and booleans from a template as strings (`"2"`, `"true"`), while
//! `cargo lambda invoke` and hand-written events often carry real JSON numbers and booleans, so
//! both are accepted. Every problem is reported, each naming its property (and, inside a list
//! or an object, its path: `ScheduledActions[1].Schedule`), so a user fixes a template in one
//! round trip instead of one error at a time.

mod guard;
mod reader;
mod schedule;
mod target_tracking;

pub use guard::GuardProperties;
pub use schedule::ScheduledAction;
pub use target_tracking::{MAX_POLICIES_PER_TARGET, Shorthand, TargetTrackingPolicies};

use crate::contract::{TAG_PREFIX, Tags};
use crate::target::{ScalableResource, VariantId, is_sagemaker_name};
use reader::{Reader, describe, quote};
use serde_json::Value;

/// Properties CloudFormation itself puts into `ResourceProperties`; never an error.
const CLOUDFORMATION_PROPERTIES: [&str; 2] = ["ServiceToken", "ServiceTimeout"];

/// At most this many user tags: both services allow 50 per resource, and this resource adds
/// its own (the two ownership tags, and the follows-endpoint-config mark).
const MAX_TAGS: usize = 40;

/// The validated desired configuration of one endpoint variant's or inference component's
/// auto scaling.
#[derive(Clone, Debug, PartialEq)]
pub struct ScalingProperties {
    /// The variant (`EndpointName` and `VariantName`) or the inference component
    /// (`InferenceComponentName`).
    pub resource: ScalableResource,
    /// With an inference component, `EndpointName` is optional: its scaling names the component
    /// only, and the endpoint shows in the alarm's description.
    pub endpoint_name: Option<String>,
    /// The endpoint's configuration (`!GetAtt` of it): given, every endpoint change sends this
    /// resource an Update, which waits for the endpoint and registers the variant again.
    pub endpoint_config_name: Option<String>,
    pub min_capacity: i32,
    pub max_capacity: i32,
    pub target_tracking: TargetTrackingPolicies,
    pub scale_from_zero: bool,
    pub step_cooldown: i32,
    pub alarm_name: String,
    /// The alarm's EvaluationPeriods and DatapointsToAlarm (periods of 60 s).
    pub alarm_evaluation_periods: i32,
    pub scheduled_actions: Vec<ScheduledAction>,
    pub suspended_state: SuspendedState,
    /// The user's tags, for the scalable target and the alarm.
    pub tags: Tags,
    pub adopt_existing: bool,
}

/// Which kinds of scaling are suspended on the target; all run when nothing is said.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SuspendedState {
    pub dynamic_scaling_in: bool,
    pub dynamic_scaling_out: bool,
    pub scheduled_scaling: bool,
}

/// Why `ResourceProperties` were refused: one message per problem, each naming its property.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("Invalid ResourceProperties: {}", .0.join("; "))]
pub struct InvalidProperties(pub Vec<String>);

impl ScalingProperties {
    pub fn parse(properties: &Value) -> Result<Self, InvalidProperties> {
        let mut reader = top_reader(properties)?;

        let (resource, endpoint_name) = read_resource(&mut reader);
        let kind = resource.kind();
        let endpoint_config_name = reader
            .has("EndpointConfigName")
            .then(|| sagemaker_name(&mut reader, "EndpointConfigName", None));
        if endpoint_config_name.is_some() && resource.variant().is_none() {
            reader.problem(
                "EndpointConfigName is for an endpoint variant, whose instance type a guard \
                 follows; leave it out with InferenceComponentName"
                    .to_owned(),
            );
        }
        let alarm_name =
            read_alarm_name(&mut reader).unwrap_or_else(|| resource.default_alarm_name());
        let problems_before_capacity = reader.problems.len();
        let min_capacity = reader.integer("MinCapacity", 0, 0..=i32::MAX);
        let max_capacity = reader.integer("MaxCapacity", 1, 1..=i32::MAX);
        if reader.problems.len() == problems_before_capacity && min_capacity > max_capacity {
            reader.problem(format!(
                "MinCapacity ({min_capacity}) must not be greater than MaxCapacity ({max_capacity})"
            ));
        }
        let problems_before = reader.problems.len();
        let scale_from_zero = reader.boolean("ScaleFromZero", true);
        // The step policy counts against the quota only when ScaleFromZero could be read: a
        // wrong value is a problem of its own, not one policy more.
        let with_step = scale_from_zero && reader.problems.len() == problems_before;
        let properties = ScalingProperties {
            target_tracking: target_tracking::read(&mut reader, with_step, kind),
            scale_from_zero,
            step_cooldown: reader.integer("StepCooldown", kind.step_cooldown, 0..=i32::MAX),
            // A day at most: CloudWatch evaluates at most 86400 s of 60 s periods.
            alarm_evaluation_periods: reader.integer(
                "AlarmEvaluationPeriods",
                kind.alarm.evaluation_periods,
                1..=1440,
            ),
            scheduled_actions: schedule::read_scheduled_actions(&mut reader),
            suspended_state: read_suspended_state(&mut reader),
            tags: read_tags(&mut reader),
            adopt_existing: reader.boolean("AdoptExisting", false),
            resource,
            endpoint_name,
            endpoint_config_name,
            alarm_name,
            min_capacity,
            max_capacity,
        };
        reader.reject_unknown();

        if reader.problems.is_empty() {
            Ok(properties)
        } else {
            Err(InvalidProperties(reader.problems))
        }
    }

    /// The scalable target's ResourceId, which is also the custom resource's PhysicalResourceId.
    pub fn resource_id(&self) -> String {
        self.resource.resource_id()
    }

    /// Whether properties that may no longer validate name the endpoint's configuration, read
    /// leniently for a Delete: then the resource works with a guard, whose record it removes.
    pub fn follows_endpoint_config_leniently(properties: &Value) -> bool {
        properties
            .get("EndpointConfigName")
            .is_some_and(Value::is_string)
    }

    /// The `AlarmName` of properties that may no longer validate, read leniently for a Delete:
    /// a Delete must not fail over properties, or the stack could never be deleted.
    pub fn alarm_name_leniently(properties: &Value) -> Option<&str> {
        match properties.get("AlarmName") {
            Some(Value::String(name)) if !name.is_empty() => Some(name),
            _ => None,
        }
    }
}

/// The reader of a resource's `ResourceProperties`, which must be an object.
fn top_reader(properties: &Value) -> Result<Reader<'_>, InvalidProperties> {
    match properties.as_object() {
        Some(map) => Ok(Reader::new(map, String::new(), &CLOUDFORMATION_PROPERTIES)),
        None => Err(InvalidProperties(vec![format!(
            "ResourceProperties must be an object, got {}",
            describe(properties)
        )])),
    }
}

/// What is scaled: `InferenceComponentName`, or the variant `VariantName` (by default
/// AllTraffic) of `EndpointName`; and `EndpointName`, which an inference component may give.
fn read_resource(reader: &mut Reader<'_>) -> (ScalableResource, Option<String>) {
    if !reader.has("InferenceComponentName") {
        let endpoint_name = sagemaker_name(reader, "EndpointName", None);
        let variant_name = sagemaker_name(reader, "VariantName", Some("AllTraffic"));
        let variant = VariantId::new(&endpoint_name, &variant_name);
        return (ScalableResource::Variant(variant), Some(endpoint_name));
    }
    let name = inference_component_name(reader);
    if reader.has("VariantName") {
        reader.problem(
            "VariantName and InferenceComponentName name two kinds of target: give one of them, \
             not both"
                .to_owned(),
        );
    }
    let endpoint_name = reader
        .has("EndpointName")
        .then(|| sagemaker_name(reader, "EndpointName", None));
    (ScalableResource::InferenceComponent(name), endpoint_name)
}

/// `InferenceComponentName`: the component's name, as given to it. Not its ARN, which is what
/// `!Ref` of an `AWS::SageMaker::InferenceComponent` gives: SageMaker writes the name in an ARN
/// in lower case, while the component's metrics (the alarm's dimension) carry it as given, so a
/// name read from an ARN could leave the alarm watching a metric nobody publishes.
fn inference_component_name(reader: &mut Reader<'_>) -> String {
    const KEY: &str = "InferenceComponentName";
    let Some(value) = reader.string(KEY) else {
        return String::new();
    };
    if value.starts_with("arn:") {
        reader.problem(format!(
            "{KEY} must be the inference component's name, not its ARN (which !Ref gives, with \
             the name in lower case, while its metrics carry the name as given): set \
             InferenceComponentName on the AWS::SageMaker::InferenceComponent and pass the same \
             name here, with DependsOn on the component; got {}",
            quote(&value)
        ));
    } else if !is_sagemaker_name(&value) {
        reader.problem(format!(
            "{KEY} must be 1 to 63 letters, digits and hyphens, not starting or ending with a \
             hyphen (SageMaker's naming rule), got {}",
            quote(&value)
        ));
    }
    value
}

fn sagemaker_name(reader: &mut Reader<'_>, key: &'static str, default: Option<&str>) -> String {
    let present = reader.get(key).is_some();
    match (reader.string(key), default) {
        (Some(value), _) if is_sagemaker_name(&value) => value,
        (Some(value), _) => {
            reader.problem(format!(
                "{key} must be 1 to 63 letters, digits and hyphens, not starting or ending \
                 with a hyphen (SageMaker's naming rule), got {}",
                quote(&value)
            ));
            value
        }
        (None, Some(default)) if !present => default.to_owned(),
        (None, None) if !present => {
            reader.problem(format!("{key} is required"));
            String::new()
        }
        (None, _) => String::new(),
    }
}

fn read_alarm_name(reader: &mut Reader<'_>) -> Option<String> {
    let name = reader.string("AlarmName")?;
    let length = name.chars().count();
    if !(1..=255).contains(&length) {
        reader.problem(format!(
            "AlarmName must be 1 to 255 characters, got {length} characters"
        ));
    } else if name.chars().any(char::is_control) {
        reader.problem("AlarmName must not contain control characters".to_owned());
    }
    Some(name)
}

fn read_suspended_state(reader: &mut Reader<'_>) -> SuspendedState {
    let Some(value) = reader.get("SuspendedState") else {
        return SuspendedState::default();
    };
    let read = |r: &mut Reader<'_>| SuspendedState {
        dynamic_scaling_in: r.boolean("DynamicScalingInSuspended", false),
        dynamic_scaling_out: r.boolean("DynamicScalingOutSuspended", false),
        scheduled_scaling: r.boolean("ScheduledScalingSuspended", false),
    };
    reader
        .nested(value, "SuspendedState".to_owned(), read)
        .unwrap_or_default()
}

/// `Tags`, as every CloudFormation resource takes them: a list of `{Key, Value}`.
fn read_tags(reader: &mut Reader<'_>) -> Tags {
    let mut tags = Tags::new();
    for (path, item) in reader.list("Tags", MAX_TAGS, "tags") {
        let read = |r: &mut Reader<'_>| {
            let key = r.required_string("Key");
            let value = r.required_string("Value");
            if let Some(key) = &key
                && let Err(why) = check_tag_key(key)
            {
                let message = format!("{} {why}, got {}", r.name("Key"), quote(key));
                r.problem(message);
            }
            if let Some(value) = &value
                && let Err(why) = check_tag_text(value, 0..=256)
            {
                let message = format!("{} {why}, got {}", r.name("Value"), quote(value));
                r.problem(message);
            }
            key.zip(value)
        };
        if let Some(Some((key, value))) = reader.nested(item, path, read)
            && tags.insert(key.clone(), value).is_some()
        {
            reader.problem(format!(
                "Tags has the key {} twice; keys must be unique",
                quote(&key)
            ));
        }
    }
    tags
}

fn check_tag_key(key: &str) -> Result<(), String> {
    check_tag_text(key, 1..=128)?;
    if key.to_ascii_lowercase().starts_with("aws:") {
        return Err("must not start with aws: (AWS reserves it)".to_owned());
    }
    if key.starts_with(TAG_PREFIX) {
        return Err(format!(
            "must not start with {TAG_PREFIX} (this resource's own tags)"
        ));
    }
    Ok(())
}

/// AWS's rule for tag keys and values: letters, digits, spaces and `_ . : / = + - @`.
fn check_tag_text(text: &str, length: std::ops::RangeInclusive<usize>) -> Result<(), String> {
    let count = text.chars().count();
    if !length.contains(&count) {
        return Err(format!(
            "must be {} to {} characters",
            length.start(),
            length.end()
        ));
    }
    let allowed = |c: char| c.is_alphanumeric() || c == ' ' || "_.:/=+-@".contains(c);
    if !text.chars().all(allowed) {
        return Err(
            "may hold only letters, digits, spaces and the characters _ . : / = + - @".to_owned(),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::target::TargetMetric;
    use serde_json::json;

    fn problems(properties: Value) -> String {
        ScalingProperties::parse(&properties)
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn defaults_follow_the_design() {
        let props = ScalingProperties::parse(&json!({"EndpointName": "esd-type-c356f91"})).unwrap();
        assert_eq!(
            props.resource_id(),
            "endpoint/esd-type-c356f91/variant/AllTraffic"
        );
        assert_eq!((props.min_capacity, props.max_capacity), (0, 1));
        assert_eq!(
            props.target_tracking,
            TargetTrackingPolicies::Shorthand(Shorthand {
                metric: TargetMetric::CpuUtilization,
                target_value: 50.0,
                scale_in_cooldown: 300,
                scale_out_cooldown: 300,
                disable_scale_in: false,
            })
        );
        assert!(props.scale_from_zero);
        assert_eq!(props.step_cooldown, 300);
        assert_eq!(
            props.alarm_name,
            "esd-type-c356f91-AllTraffic-HasBacklogWithoutCapacity"
        );
        assert!(!props.adopt_existing);
        assert_eq!(props.alarm_evaluation_periods, 2);
        assert!(props.scheduled_actions.is_empty());
        assert_eq!(props.suspended_state, SuspendedState::default());
        assert!(props.tags.is_empty());
    }

    #[test]
    fn an_inference_component_takes_the_guides_defaults() {
        let props =
            ScalingProperties::parse(&json!({"InferenceComponentName": "llama-ic"})).unwrap();
        assert_eq!(
            props.resource,
            ScalableResource::InferenceComponent("llama-ic".into())
        );
        assert_eq!(props.resource_id(), "inference-component/llama-ic");
        assert_eq!(props.endpoint_name, None);
        assert_eq!(
            props.target_tracking,
            TargetTrackingPolicies::Shorthand(Shorthand {
                metric: TargetMetric::InvocationsPerCopy,
                target_value: 1.0,
                scale_in_cooldown: 300,
                scale_out_cooldown: 300,
                disable_scale_in: false,
            })
        );
        assert_eq!(props.step_cooldown, 60);
        assert_eq!(props.alarm_evaluation_periods, 1);
        assert_eq!(props.alarm_name, "llama-ic-NoCapacityInvocationFailures");
        assert_eq!((props.min_capacity, props.max_capacity), (0, 1));
    }

    #[test]
    fn an_inference_components_settings_are_read_as_for_a_variant() {
        let props = ScalingProperties::parse(&json!({
            "InferenceComponentName": "Llama-IC", "EndpointName": "llm",
            "TargetMetric": "SageMakerInferenceComponentConcurrentRequestsPerCopyHighResolution",
            "TargetValue": "4", "StepCooldown": "120", "AlarmEvaluationPeriods": "2"
        }))
        .unwrap();
        assert_eq!(props.resource_id(), "inference-component/Llama-IC");
        assert_eq!(props.alarm_name, "Llama-IC-NoCapacityInvocationFailures");
        assert_eq!(props.endpoint_name.as_deref(), Some("llm"));
        assert!(matches!(&props.target_tracking,
            TargetTrackingPolicies::Shorthand(s) if s.metric == TargetMetric::ConcurrentRequestsPerCopy && s.target_value == 4.0));
        assert_eq!(
            (props.step_cooldown, props.alarm_evaluation_periods),
            (120, 2)
        );
    }

    #[test]
    fn a_target_of_two_kinds_or_the_other_kinds_metrics_are_refused_by_name() {
        assert_eq!(
            problems(
                json!({"EndpointName": "e", "VariantName": "v", "InferenceComponentName": "ic"})
            ),
            "Invalid ResourceProperties: VariantName and InferenceComponentName name two kinds of \
             target: give one of them, not both"
        );
        let reason = problems(json!({
            "InferenceComponentName": "ic", "EndpointConfigName": "c", "TargetMetric": "CPUUtilization"
        }));
        for expected in [
            "EndpointConfigName is for an endpoint variant, whose instance type a guard follows; \
             leave it out with InferenceComponentName",
            "TargetMetric \"CPUUtilization\" is an endpoint variant's metric; for an inference \
             component: SageMakerInferenceComponentInvocationsPerCopy, \
             SageMakerInferenceComponentConcurrentRequestsPerCopyHighResolution",
        ] {
            assert!(
                reason.contains(expected),
                "{expected:?} missing from {reason:?}"
            );
        }
        assert_eq!(
            problems(
                json!({"EndpointName": "e", "TargetMetric": "SageMakerInferenceComponentInvocationsPerCopy"})
            ),
            "Invalid ResourceProperties: TargetMetric \"SageMakerInferenceComponentInvocationsPerCopy\" \
             is an inference component's metric; for an endpoint variant: CPUUtilization, \
             ApproximateBacklogSizePerInstance, GPUUtilization"
        );
        for bad in [
            json!(""),
            json!("-ic"),
            json!("ic_1"),
            json!("x".repeat(64)),
        ] {
            let reason = problems(json!({"InferenceComponentName": bad}));
            assert!(
                reason.starts_with(
                    "Invalid ResourceProperties: InferenceComponentName must be 1 to 63 letters, \
                     digits and hyphens, not starting or ending with a hyphen (SageMaker's naming \
                     rule), got "
                ),
                "{reason}"
            );
        }
        let reason = problems(json!({
            "InferenceComponentName": "arn:aws:sagemaker:us-east-1:123456789012:inference-component/ic"
        }));
        assert!(
            reason.starts_with(
                "Invalid ResourceProperties: InferenceComponentName must be the inference \
                 component's name, not its ARN"
            ),
            "{reason}"
        );
        assert_eq!(
            problems(json!({"InferenceComponentName": 7})),
            "Invalid ResourceProperties: InferenceComponentName must be a string, got 7"
        );
    }

    #[test]
    fn schedules_suspension_and_tags_are_read_as_cloudformation_sends_them() {
        let props = ScalingProperties::parse(&json!({
            "EndpointName": "e",
            "DisableScaleIn": "true",
            "AlarmEvaluationPeriods": "1",
            "ScheduledActions": [
                {"ScheduledActionName": "night-off", "Schedule": "cron(0 20 ? * MON-FRI *)",
                 "Timezone": "Europe/Berlin", "MinCapacity": "0", "MaxCapacity": "0"},
                {"ScheduledActionName": "morning-on", "Schedule": "cron(0 7 ? * MON-FRI *)",
                 "StartTime": "2026-12-01T00:00:00Z", "EndTime": "2027-01-01T00:00:00+01:00",
                 "MinCapacity": "1"}
            ],
            "SuspendedState": {"ScheduledScalingSuspended": "true"},
            "Tags": [{"Key": "team", "Value": "ml"}, {"Key": "cost-centre", "Value": ""}]
        }))
        .unwrap();
        assert!(
            matches!(&props.target_tracking, TargetTrackingPolicies::Shorthand(s) if s.disable_scale_in)
        );
        assert_eq!(props.alarm_evaluation_periods, 1);
        assert_eq!(
            props.scheduled_actions,
            [
                ScheduledAction {
                    name: "night-off".into(),
                    schedule: "cron(0 20 ? * MON-FRI *)".into(),
                    timezone: Some("Europe/Berlin".into()),
                    start_time: None,
                    end_time: None,
                    min_capacity: Some(0),
                    max_capacity: Some(0),
                },
                ScheduledAction {
                    name: "morning-on".into(),
                    schedule: "cron(0 7 ? * MON-FRI *)".into(),
                    timezone: None,
                    start_time: Some(1_796_083_200),
                    end_time: Some(1_798_758_000),
                    min_capacity: Some(1),
                    max_capacity: None,
                },
            ]
        );
        assert_eq!(
            props.suspended_state,
            SuspendedState {
                scheduled_scaling: true,
                ..SuspendedState::default()
            }
        );
        assert_eq!(
            props.tags,
            Tags::from([
                ("cost-centre".into(), String::new()),
                ("team".into(), "ml".into())
            ])
        );
    }

    #[test]
    fn every_problem_inside_lists_and_objects_names_its_path() {
        let reason = problems(json!({
            "EndpointName": "e",
            "AlarmEvaluationPeriods": "1441",
            "ScheduledActions": [
                {"ScheduledActionName": "a", "Schedule": "cron(0 20 * * *)", "MaxCapacity": 0},
                {"ScheduledActionName": "a", "Shedule": "rate(1 day)", "MinCapacity": 2,
                 "MaxCapacity": 1, "Timezone": "Europe/Berln"},
                {"Schedule": "rate(1 day)", "StartTime": "2027-01-01T00:00:00Z",
                 "EndTime": "2026-01-01T00:00:00Z", "MinCapacity": "-1"},
                {"ScheduledActionName": "b/c", "Schedule": "at(2026-12-24T18:00:00)"},
                "night"
            ],
            "SuspendedState": {"DynamicScalingInSuspended": "yes", "Everything": true},
            "Tags": [{"Key": "aws:team", "Value": "x"}, {"Key": "sagemaker-async-autoscaling:stack-id", "Value": "x"},
                     {"Key": "a", "Value": "x"}, {"Key": "a", "Value": "y"}, {"Key": "b"},
                     {"Key": "c", "Value": "x", "Owner": "me"}, {"Key": "d", "Value": "<script>"}]
        }));
        for expected in [
            "AlarmEvaluationPeriods must be from 1 to 1440, got 1441",
            "ScheduledActions[0].Schedule \"cron(0 20 * * *)\" is not a schedule Application Auto Scaling takes (cron() takes 6 fields, got 5); use at(yyyy-mm-ddThh:mm:ss), rate(",
            "\"ScheduledActions[1].Shedule\" is not a known property (did you mean ScheduledActions[1].Schedule?)",
            "ScheduledActions[1].Schedule is required",
            "ScheduledActions[1].MinCapacity (2) must not be greater than ScheduledActions[1].MaxCapacity (1)",
            "ScheduledActions[1].Timezone must be an IANA time zone name such as Europe/Berlin or UTC, got \"Europe/Berln\"",
            "ScheduledActions[2].ScheduledActionName is required",
            "ScheduledActions[2].StartTime must be before ScheduledActions[2].EndTime",
            "ScheduledActions[2].MinCapacity must be at least 0, got -1",
            "ScheduledActions[3].ScheduledActionName must not contain ':', '/', '|' or control characters, got \"b/c\"",
            "ScheduledActions[3] needs MinCapacity, MaxCapacity or both",
            "ScheduledActions[4] must be an object, got \"night\"",
            "ScheduledActions[1].ScheduledActionName \"a\" is also ScheduledActions[0]'s; each ScheduledActionName must be unique",
            "SuspendedState.DynamicScalingInSuspended must be true or false, got \"yes\"",
            "\"SuspendedState.Everything\" is not a known property",
            "Tags[0].Key must not start with aws: (AWS reserves it), got \"aws:team\"",
            "Tags[1].Key must not start with sagemaker-async-autoscaling: (this resource's own tags)",
            "Tags has the key \"a\" twice; keys must be unique",
            "Tags[4].Value is required",
            "\"Tags[5].Owner\" is not a known property",
            "Tags[6].Value may hold only letters, digits, spaces and the characters _ . : / = + - @",
        ] {
            assert!(
                reason.contains(expected),
                "{expected:?} missing from {reason:?}"
            );
        }
    }

    #[test]
    fn lists_have_their_limits() {
        let tags: Vec<_> = (0..41)
            .map(|n| json!({"Key": format!("k{n}"), "Value": "v"}))
            .collect();
        assert!(
            problems(json!({"EndpointName": "e", "Tags": tags}))
                .contains("Tags may hold at most 40 tags, got 41")
        );
        let long_names: Vec<_> = (0..9)
            .map(|n| {
                json!({"ScheduledActionName": format!("{n}{}", "x".repeat(250)),
                            "Schedule": "rate(1 day)", "MinCapacity": 1})
            })
            .collect();
        assert!(
            problems(json!({"EndpointName": "e", "ScheduledActions": long_names}))
                .contains("names add up to 2268 characters; at most 2048")
        );
        assert!(
            problems(json!({"EndpointName": "e", "ScheduledActions": {"a": 1}}))
                .contains("ScheduledActions must be a list, got an object")
        );
        assert!(
            problems(json!({"EndpointName": "e", "SuspendedState": "all"}))
                .contains("SuspendedState must be an object, got \"all\"")
        );
    }

    #[test]
    fn strings_from_cloudformation_are_read_as_numbers_and_booleans() {
        let props = ScalingProperties::parse(&json!({
            "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:f",
            "ServiceTimeout": "300",
            "EndpointName": "e", "VariantName": "prod", "MinCapacity": "1", "MaxCapacity": "4",
            "TargetValue": "7.5", "ScaleFromZero": "false", "AdoptExisting": "TRUE",
            "ScaleInCooldown": 60, "TargetMetric": "ApproximateBacklogSizePerInstance"
        }))
        .unwrap();
        assert_eq!((props.min_capacity, props.max_capacity), (1, 4));
        let TargetTrackingPolicies::Shorthand(shorthand) = &props.target_tracking else {
            panic!("{:?}", props.target_tracking);
        };
        assert_eq!(shorthand.target_value, 7.5);
        assert_eq!(shorthand.scale_in_cooldown, 60);
        assert!(!props.scale_from_zero && props.adopt_existing);
        assert_eq!(props.resource_id(), "endpoint/e/variant/prod");
    }

    #[test]
    fn every_problem_is_reported_with_its_property() {
        let reason = problems(json!({
            "MinCapacity": "3", "MaxCapacity": "lots", "TargetValue": "0",
            "ScaleOutCooldown": -1, "ScaleFromZero": "yes", "TargetMetric": "GPU"
        }));
        for expected in [
            "EndpointName is required",
            "MaxCapacity must be a whole number, got \"lots\"",
            "TargetValue must be a positive number, got \"0\"",
            "ScaleOutCooldown must be at least 0, got -1",
            "ScaleFromZero must be true or false, got \"yes\"",
            "TargetMetric must be one of CPUUtilization, ApproximateBacklogSizePerInstance, GPUUtilization, got \"GPU\"",
        ] {
            assert!(
                reason.contains(expected),
                "{expected:?} missing from {reason:?}"
            );
        }
    }

    #[test]
    fn min_above_max_names_both() {
        let reason = problems(json!({"EndpointName": "e", "MinCapacity": 3, "MaxCapacity": 2}));
        assert!(reason.contains("MinCapacity (3) must not be greater than MaxCapacity (2)"));
    }

    #[test]
    fn a_misspelt_property_is_refused_with_a_suggestion() {
        let reason = problems(json!({"EndpointName": "e", "MaxCapcity": 3}));
        assert!(
            reason.contains("\"MaxCapcity\" is not a known property (did you mean MaxCapacity?)")
        );
        let reason = problems(json!({"EndpointName": "e", "Colour": "blue"}));
        assert!(reason.contains("\"Colour\" is not a known property"));
        assert!(!reason.contains("did you mean"));
    }

    #[test]
    fn names_follow_sagemaker_rules() {
        assert!(problems(json!({"EndpointName": "bad_name"})).contains("EndpointName must be"));
        assert!(
            problems(json!({"EndpointName": "e", "VariantName": "-x"}))
                .contains("VariantName must be")
        );
        assert!(
            problems(json!({"EndpointName": 12})).contains("EndpointName must be a string, got 12")
        );
        assert!(
            problems(json!({"EndpointName": "e", "AlarmName": ""}))
                .contains("AlarmName must be 1 to 255")
        );
    }

    #[test]
    fn non_object_properties_are_refused() {
        assert!(
            problems(json!(["EndpointName"]))
                .contains("ResourceProperties must be an object, got a list")
        );
    }
}
