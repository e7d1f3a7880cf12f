//! TargetTrackingPolicies: several target-tracking policies on one variant, in the shape and
//! with the names of the native ScalingPolicy's TargetTrackingScalingPolicyConfiguration, and
//! the one-policy shorthand beside them. Checked by reading back what AWS holds after every
//! step, on the emulator (which pages DescribeScalingPolicies 10 at a time and keeps the
//! 50-policy quota, as AWS does).

use crate::support::{Fixture, assert_failed, assert_step_policy, assert_success};
use aws_sdk_applicationautoscaling::types::{
    CustomizedMetricSpecification, MetricAggregationType, MetricDimension, MetricStatistic,
    MetricType, PolicyType, PredefinedMetricSpecification, ScalingPolicy, TargetTrackingMetric,
    TargetTrackingMetricDataQuery, TargetTrackingMetricDimension, TargetTrackingMetricStat,
    TargetTrackingScalingPolicyConfiguration,
};
use serde_json::{Value, json};
use std::collections::BTreeMap;

const STEP_POLICY: &str = "HasBacklogWithoutCapacity-ScalingPolicy";
const ARNS: &str = "TargetTrackingPolicyArns.";
/// CloudFormation's limit on a custom resource's answer.
const MAX_ANSWER_BYTES: usize = 4096;

fn resource_id(endpoint: &str) -> String {
    format!("endpoint/{endpoint}/variant/prod")
}

fn alarm_name(endpoint: &str) -> String {
    format!("{endpoint}-prod-HasBacklogWithoutCapacity")
}

/// The design's variant with these target-tracking policies.
fn with_policies(endpoint: &str, policies: &[Value]) -> Value {
    json!({
        "EndpointName": endpoint, "VariantName": "prod", "MaxCapacity": 2,
        "TargetTrackingPolicies": policies,
    })
}

/// The backlog per instance, as SageMaker's guide for asynchronous endpoints tracks it.
fn backlog_policy(endpoint: &str) -> Value {
    json!({
        "PolicyName": "backlog-per-instance",
        "TargetValue": 5,
        "ScaleInCooldown": 600,
        "ScaleOutCooldown": 60,
        "CustomizedMetricSpecification": {
            "MetricName": "ApproximateBacklogSizePerInstance",
            "Namespace": "AWS/SageMaker",
            "Dimensions": [{"Name": "EndpointName", "Value": endpoint}],
            "Statistic": "Average",
        },
    })
}

/// The variant's GPUs, with scale-in left to the other policies.
fn gpu_policy(endpoint: &str) -> Value {
    json!({
        "PolicyName": "gpu-utilization",
        "TargetValue": 70.5,
        "ScaleInCooldown": 900,
        "ScaleOutCooldown": 120,
        "DisableScaleIn": true,
        "CustomizedMetricSpecification": {
            "MetricName": "GPUUtilization",
            "Namespace": "/aws/sagemaker/Endpoints",
            "Dimensions": [
                {"Name": "EndpointName", "Value": endpoint},
                {"Name": "VariantName", "Value": "prod"},
            ],
            "Statistic": "Average",
            "Unit": "Percent",
        },
    })
}

/// Metric math: the backlog divided by the instances in service (a metric the user publishes),
/// never by zero. Only the expression returns data; ScaleOutCooldown is left out.
fn math_policy(endpoint: &str, name: &str) -> Value {
    json!({
        "PolicyName": name,
        "TargetValue": 3,
        "ScaleInCooldown": 300,
        "CustomizedMetricSpecification": {
            "Metrics": [
                {
                    "Id": "backlog",
                    "MetricStat": {
                        "Metric": {
                            "MetricName": "ApproximateBacklogSize",
                            "Namespace": "AWS/SageMaker",
                            "Dimensions": [{"Name": "EndpointName", "Value": endpoint}],
                        },
                        "Stat": "Average",
                        "Unit": "Count",
                    },
                    "ReturnData": false,
                },
                {
                    "Id": "instances",
                    "MetricStat": {
                        "Metric": {
                            "MetricName": "InServiceInstances",
                            "Namespace": "Custom/SageMaker",
                            "Dimensions": [
                                {"Name": "EndpointName", "Value": endpoint},
                                {"Name": "VariantName", "Value": "prod"},
                            ],
                        },
                        "Stat": "Maximum",
                    },
                    "ReturnData": false,
                },
                {
                    "Id": "e1",
                    "Expression": "backlog / IF(instances > 0, instances, 1)",
                    "Label": "Backlog per instance",
                    "ReturnData": true,
                },
            ],
        },
    })
}

/// A small backlog policy of this name and target value.
fn numbered_policy(endpoint: &str, n: usize) -> Value {
    let mut policy = backlog_policy(endpoint);
    policy["PolicyName"] = format!("backlog-{n:02}").into();
    policy["TargetValue"] = (n as f64 + 0.5).into();
    policy
}

fn name_of(policy: &Value) -> &str {
    policy["PolicyName"].as_str().unwrap()
}

async fn create(f: &Fixture, properties: Value) -> (String, Value) {
    let answer = f.stack.create(properties).await;
    assert_success(&answer);
    let id = answer["PhysicalResourceId"].as_str().unwrap().to_owned();
    (id, answer)
}

/// The configuration PutScalingPolicy must have been given for a listed policy: every member
/// as asked, and nothing that was not asked for.
fn expected_configuration(policy: &Value) -> TargetTrackingScalingPolicyConfiguration {
    let int = |v: &Value| v.as_i64().map(|n| i32::try_from(n).unwrap());
    let text = |v: &Value| v.as_str().map(str::to_owned);
    let mut configuration = TargetTrackingScalingPolicyConfiguration::builder()
        .target_value(policy["TargetValue"].as_f64().unwrap())
        .set_scale_in_cooldown(int(&policy["ScaleInCooldown"]))
        .set_scale_out_cooldown(int(&policy["ScaleOutCooldown"]))
        .set_disable_scale_in(policy["DisableScaleIn"].as_bool());
    let predefined = &policy["PredefinedMetricSpecification"];
    if !predefined.is_null() {
        let kind = predefined["PredefinedMetricType"].as_str().unwrap();
        configuration = configuration.predefined_metric_specification(
            PredefinedMetricSpecification::builder()
                .predefined_metric_type(MetricType::from(kind))
                .set_resource_label(text(&predefined["ResourceLabel"]))
                .build()
                .unwrap(),
        );
    }
    let customized = &policy["CustomizedMetricSpecification"];
    if !customized.is_null() {
        let queries = customized["Metrics"].as_array().map(|queries| {
            let queries = queries.iter().map(expected_query);
            queries.collect::<Vec<_>>()
        });
        let dimensions = customized["Dimensions"].as_array().map(|dimensions| {
            let pairs = dimensions.iter().map(|d| {
                let (name, value) = (d["Name"].as_str().unwrap(), d["Value"].as_str().unwrap());
                MetricDimension::builder()
                    .name(name)
                    .value(value)
                    .build()
                    .unwrap()
            });
            pairs.collect::<Vec<_>>()
        });
        let statistic = customized["Statistic"].as_str().map(MetricStatistic::from);
        configuration = configuration.customized_metric_specification(
            CustomizedMetricSpecification::builder()
                .set_metric_name(text(&customized["MetricName"]))
                .set_namespace(text(&customized["Namespace"]))
                .set_dimensions(dimensions)
                .set_statistic(statistic)
                .set_unit(text(&customized["Unit"]))
                .set_metrics(queries)
                .build(),
        );
    }
    configuration.build().unwrap()
}

fn expected_query(query: &Value) -> TargetTrackingMetricDataQuery {
    let text = |v: &Value| v.as_str().map(str::to_owned);
    let stat = &query["MetricStat"];
    let metric_stat = (!stat.is_null()).then(|| {
        let metric = &stat["Metric"];
        let dimensions = metric["Dimensions"].as_array().map(|dimensions| {
            let pairs = dimensions.iter().map(|d| {
                let (name, value) = (d["Name"].as_str().unwrap(), d["Value"].as_str().unwrap());
                let dimension = TargetTrackingMetricDimension::builder()
                    .name(name)
                    .value(value);
                dimension.build().unwrap()
            });
            pairs.collect::<Vec<_>>()
        });
        TargetTrackingMetricStat::builder()
            .metric(
                TargetTrackingMetric::builder()
                    .set_metric_name(text(&metric["MetricName"]))
                    .set_namespace(text(&metric["Namespace"]))
                    .set_dimensions(dimensions)
                    .build(),
            )
            .stat(stat["Stat"].as_str().unwrap())
            .set_unit(text(&stat["Unit"]))
            .build()
            .unwrap()
    });
    TargetTrackingMetricDataQuery::builder()
        .id(query["Id"].as_str().unwrap())
        .set_expression(text(&query["Expression"]))
        .set_metric_stat(metric_stat)
        .set_label(text(&query["Label"]))
        .set_return_data(query["ReturnData"].as_bool())
        .build()
        .unwrap()
}

/// The target's policies, by name.
async fn policies_by_name(f: &Fixture, resource_id: &str) -> BTreeMap<String, ScalingPolicy> {
    let policies = f.emulator.policies(resource_id).await.into_iter();
    policies.map(|p| (p.policy_name().to_owned(), p)).collect()
}

/// What AWS holds for the variant after a Create or Update with these listed policies, and what
/// the answer says of it: each listed policy put as asked, nothing else but the step policy,
/// the alarm firing the step policy, and each ARN in the Data. Answers each policy's ARN by
/// name, the step policy's included.
async fn assert_holds_as_asked(
    f: &Fixture,
    endpoint: &str,
    asked: &[Value],
    answer: &Value,
) -> BTreeMap<String, String> {
    let resource_id = resource_id(endpoint);
    let held = policies_by_name(f, &resource_id).await;
    let mut expected_names: Vec<&str> = asked.iter().map(name_of).collect();
    expected_names.push(STEP_POLICY);
    expected_names.sort();
    let names: Vec<&str> = held.keys().map(String::as_str).collect();
    assert_eq!(names, expected_names, "the target's policies");

    for policy in asked {
        let name = name_of(policy);
        let put = &held[name];
        assert_eq!(
            put.policy_type(),
            &PolicyType::TargetTrackingScaling,
            "{name}"
        );
        assert_eq!(
            put.target_tracking_scaling_policy_configuration(),
            Some(&expected_configuration(policy)),
            "{name} as asked"
        );
        assert!(put.step_scaling_policy_configuration().is_none(), "{name}");
    }

    let step = &held[STEP_POLICY];
    assert_is_the_designs_step_policy(step);
    let alarm = f
        .emulator
        .alarm(&alarm_name(endpoint))
        .await
        .expect("the alarm");
    assert_eq!(alarm.metric_name(), Some("HasBacklogWithoutCapacity"));
    assert_eq!(
        alarm.alarm_actions(),
        [step.policy_arn()],
        "the alarm fires the step policy"
    );

    let data = &answer["Data"];
    assert_eq!(data["ResourceId"], resource_id.as_str());
    let mut listed: Vec<&str> = asked.iter().map(name_of).collect();
    listed.sort();
    // CloudFormation takes at most 4096 bytes of answer: ARNs that would fill more than half of
    // it may be left out, all of them, and the Reason says so.
    let arn_bytes: usize = listed
        .iter()
        .map(|name| ARNS.len() + name.len() + held[*name].policy_arn().len() + 6)
        .sum();
    let in_data = data_arn_names(data);
    if in_data.is_empty() && arn_bytes > MAX_ANSWER_BYTES / 2 {
        let reason = answer["Reason"].as_str().unwrap_or_default();
        assert!(
            reason.contains(ARNS.trim_end_matches('.')),
            "ARNs left out of Data ({arn_bytes} bytes) without a word in the Reason: {reason:?}"
        );
    } else {
        assert_eq!(in_data, listed, "Data's {ARNS}* keys: {data:#}");
        for name in &listed {
            let key = format!("{ARNS}{name}");
            assert_eq!(data[&key], held[*name].policy_arn(), "Data {key}");
        }
    }
    let first = name_of(&asked[0]);
    assert_eq!(
        data["TargetTrackingPolicyArn"],
        held[first].policy_arn(),
        "TargetTrackingPolicyArn is the first listed policy's, {first}'s"
    );
    assert_eq!(data["StepScalingPolicyArn"], step.policy_arn());
    assert_eq!(data["AlarmArn"], alarm.alarm_arn().unwrap());

    let arns = held.iter();
    arns.map(|(name, p)| (name.clone(), p.policy_arn().to_owned()))
        .collect()
}

/// The policy names under `TargetTrackingPolicyArns.` in an answer's Data, sorted.
fn data_arn_names(data: &Value) -> Vec<&str> {
    let keys = data.as_object().into_iter().flat_map(|d| d.keys());
    let mut names: Vec<&str> = keys.filter_map(|k| k.strip_prefix(ARNS)).collect();
    names.sort();
    names
}

/// ScaleFromZero's step policy, as the design specifies it.
fn assert_is_the_designs_step_policy(step: &ScalingPolicy) {
    assert_step_policy(step, MetricAggregationType::Average, 300);
}

#[tokio::test]
async fn listed_policies_are_created_updated_by_name_and_deleted() {
    let f = Fixture::start("listed_policies_are_created_updated_by_name_and_deleted").await;
    let endpoint = f.endpoint("listed");
    let id = resource_id(&endpoint);
    let created = [
        backlog_policy(&endpoint),
        gpu_policy(&endpoint),
        math_policy(&endpoint, "backlog-math"),
    ];
    let old = with_policies(&endpoint, &created);
    let (physical_id, answer) = create(&f, old.clone()).await;
    assert_eq!(physical_id, id);
    let target = f.emulator.target(&id).await.expect("target registered");
    assert_eq!((target.min_capacity(), target.max_capacity()), (0, 2));
    let before = assert_holds_as_asked(&f, &endpoint, &created, &answer).await;
    let alarm_arn = answer["Data"]["AlarmArn"].clone();

    // The GPU policy is dropped and the math policy renamed (and listed first now).
    let updated = [
        math_policy(&endpoint, "backlog-math-v2"),
        backlog_policy(&endpoint),
    ];
    let new = with_policies(&endpoint, &updated);
    let answer = f.stack.update(&id, new.clone(), old).await;
    assert_success(&answer);
    assert_eq!(answer["PhysicalResourceId"], id.as_str());
    let after = assert_holds_as_asked(&f, &endpoint, &updated, &answer).await;
    assert_eq!(
        after[STEP_POLICY], before[STEP_POLICY],
        "the step policy is untouched"
    );
    assert_eq!(
        after["backlog-per-instance"], before["backlog-per-instance"],
        "a policy kept by name is updated in place"
    );
    assert_eq!(
        answer["Data"]["AlarmArn"], alarm_arn,
        "the alarm is the same"
    );
    let target = f.emulator.target(&id).await.expect("target kept");
    assert_eq!((target.min_capacity(), target.max_capacity()), (0, 2));

    assert_success(&f.stack.delete(&id, new).await);
    f.emulator
        .assert_nothing_left(&id, &alarm_name(&endpoint))
        .await;
}

#[tokio::test]
async fn the_gpu_utilization_target_metric_tracks_the_variants_gpus() {
    let f = Fixture::start("the_gpu_utilization_target_metric_tracks_the_variants_gpus").await;
    let endpoint = f.endpoint("gpu");
    let props = json!({
        "EndpointName": endpoint, "VariantName": "prod", "MaxCapacity": 2,
        "TargetMetric": "GPUUtilization", "TargetValue": 60,
    });
    let (id, answer) = create(&f, props).await;

    let policies = policies_by_name(&f, &id).await;
    let names: Vec<&str> = policies.keys().map(String::as_str).collect();
    assert_eq!(names, ["GPUUtilization-ScalingPolicy", STEP_POLICY]);
    let gpu = &policies["GPUUtilization-ScalingPolicy"];
    assert_eq!(gpu.policy_type(), &PolicyType::TargetTrackingScaling);
    let tracking = gpu.target_tracking_scaling_policy_configuration().unwrap();
    assert_eq!(tracking.target_value(), 60.0);
    assert_eq!(tracking.scale_in_cooldown(), Some(300));
    assert_eq!(tracking.scale_out_cooldown(), Some(300));
    assert!(tracking.predefined_metric_specification().is_none());
    let metric = tracking.customized_metric_specification().unwrap();
    assert_eq!(metric.metric_name(), Some("GPUUtilization"));
    assert_eq!(metric.namespace(), Some("/aws/sagemaker/Endpoints"));
    assert_eq!(metric.statistic(), Some(&MetricStatistic::Average));
    assert_eq!(metric.unit(), Some("Percent"));
    let dimensions: Vec<_> = metric
        .dimensions()
        .iter()
        .map(|d| (d.name(), d.value()))
        .collect();
    assert_eq!(
        dimensions,
        [("EndpointName", endpoint.as_str()), ("VariantName", "prod")]
    );
    assert!(metric.metrics().is_empty());

    let step = &policies[STEP_POLICY];
    assert_is_the_designs_step_policy(step);
    let alarm = f
        .emulator
        .alarm(&alarm_name(&endpoint))
        .await
        .expect("the alarm");
    assert_eq!(alarm.alarm_actions(), [step.policy_arn()]);
    let data = &answer["Data"];
    assert_eq!(data["TargetTrackingPolicyArn"], gpu.policy_arn());
    assert_eq!(data_arn_names(data), ["GPUUtilization-ScalingPolicy"]);
    assert_eq!(
        data["TargetTrackingPolicyArns.GPUUtilization-ScalingPolicy"],
        gpu.policy_arn()
    );
}

#[tokio::test]
async fn switching_between_the_shorthand_and_the_list_replaces_the_policies() {
    let f =
        Fixture::start("switching_between_the_shorthand_and_the_list_replaces_the_policies").await;
    let endpoint = f.endpoint("switch");
    let shorthand = json!({"EndpointName": endpoint, "VariantName": "prod", "MaxCapacity": 2});
    let (id, answer) = create(&f, shorthand.clone()).await;
    let step_arn = answer["Data"]["StepScalingPolicyArn"].clone();
    assert_eq!(
        f.emulator.policy_names(&id).await,
        ["CPUUtil-ScalingPolicy", STEP_POLICY]
    );

    let asked = [backlog_policy(&endpoint), gpu_policy(&endpoint)];
    let listed = with_policies(&endpoint, &asked);
    let answer = f.stack.update(&id, listed.clone(), shorthand).await;
    assert_success(&answer);
    let arns = assert_holds_as_asked(&f, &endpoint, &asked, &answer).await;
    assert_eq!(
        arns[STEP_POLICY],
        step_arn.as_str().unwrap(),
        "the step policy stays"
    );

    let mut back = json!({"EndpointName": endpoint, "VariantName": "prod", "MaxCapacity": 2});
    back["TargetMetric"] = "ApproximateBacklogSizePerInstance".into();
    back["TargetValue"] = 5.into();
    let answer = f.stack.update(&id, back, listed).await;
    assert_success(&answer);
    let policies = policies_by_name(&f, &id).await;
    let names: Vec<&str> = policies.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "ApproximateBacklogSizePerInstance-ScalingPolicy",
            STEP_POLICY
        ]
    );
    let backlog = &policies["ApproximateBacklogSizePerInstance-ScalingPolicy"];
    assert_eq!(
        answer["Data"]["TargetTrackingPolicyArn"],
        backlog.policy_arn()
    );
    assert_eq!(
        data_arn_names(&answer["Data"]),
        ["ApproximateBacklogSizePerInstance-ScalingPolicy"]
    );
    assert_eq!(
        policies[STEP_POLICY].policy_arn(),
        step_arn.as_str().unwrap()
    );
    let alarm = f
        .emulator
        .alarm(&alarm_name(&endpoint))
        .await
        .expect("the alarm");
    assert_eq!(alarm.alarm_actions(), [step_arn.as_str().unwrap()]);
}

#[tokio::test]
async fn a_predefined_metric_policy_is_put_as_given() {
    let f = Fixture::start("a_predefined_metric_policy_is_put_as_given").await;
    let endpoint = f.endpoint("predefined");
    let asked = [json!({
        "PolicyName": "concurrency",
        "TargetValue": 4,
        "PredefinedMetricSpecification": {
            "PredefinedMetricType": "SageMakerVariantConcurrentRequestsPerModelHighResolution",
        },
    })];
    let (_, answer) = create(&f, with_policies(&endpoint, &asked)).await;
    assert_holds_as_asked(&f, &endpoint, &asked, &answer).await;
}

#[tokio::test]
async fn an_update_removes_the_policies_dropped_past_the_first_page_of_policies() {
    let f =
        Fixture::start("an_update_removes_the_policies_dropped_past_the_first_page_of_policies")
            .await;
    // 14 listed and the step policy: more than the 10 a DescribeScalingPolicies page holds
    // on AWS, so the dropped ones are on both pages.
    let endpoint = f.endpoint("many");
    let id = resource_id(&endpoint);
    let many: Vec<Value> = (1..=14).map(|n| numbered_policy(&endpoint, n)).collect();
    let old = with_policies(&endpoint, &many);
    let (_, answer) = create(&f, old.clone()).await;
    assert_holds_as_asked(&f, &endpoint, &many, &answer).await;

    let kept = [
        numbered_policy(&endpoint, 3),
        numbered_policy(&endpoint, 14),
    ];
    let new = with_policies(&endpoint, &kept);
    let answer = f.stack.update(&id, new.clone(), old).await;
    assert_success(&answer);
    assert_holds_as_asked(&f, &endpoint, &kept, &answer).await;

    assert_success(&f.stack.delete(&id, new).await);
    f.emulator
        .assert_nothing_left(&id, &alarm_name(&endpoint))
        .await;
}

#[tokio::test]
async fn forty_nine_listed_policies_and_the_step_policy_fill_the_quota_and_a_rename_fits() {
    let f = Fixture::start(
        "forty_nine_listed_policies_and_the_step_policy_fill_the_quota_and_a_rename_fits",
    )
    .await;
    // AWS allows 50 scaling policies per scalable target (the emulator too): a rename at
    // the quota fits only if the old name goes before the new one is put.
    let endpoint = f.endpoint("quota");
    let id = resource_id(&endpoint);
    let full: Vec<Value> = (1..=49).map(|n| numbered_policy(&endpoint, n)).collect();
    let old = with_policies(&endpoint, &full);
    let (_, answer) = create(&f, old.clone()).await;
    assert_holds_as_asked(&f, &endpoint, &full, &answer).await;

    let mut renamed = full.clone();
    renamed[48]["PolicyName"] = "backlog-49-renamed".into();
    let answer = f
        .stack
        .update(&id, with_policies(&endpoint, &renamed), old)
        .await;
    assert_success(&answer);
    assert_holds_as_asked(&f, &endpoint, &renamed, &answer).await;
}

#[tokio::test]
async fn wrong_target_tracking_policies_fail_naming_the_path_before_any_aws_call() {
    let f =
        Fixture::start("wrong_target_tracking_policies_fail_naming_the_path_before_any_aws_call")
            .await;
    let endpoint = f.endpoint("bad-policies");
    let backlog = backlog_policy(&endpoint);
    let with = |policies: Vec<Value>| with_policies(&endpoint, &policies);
    let both_forms = |key: &str, value: Value| {
        let mut props = with(vec![backlog.clone()]);
        props[key] = value;
        props
    };
    let mut duplicate = gpu_policy(&endpoint);
    duplicate["PolicyName"] = name_of(&backlog).into();
    let mut none_returns = math_policy(&endpoint, "none-returns");
    none_returns["CustomizedMetricSpecification"]["Metrics"][2]["ReturnData"] = false.into();
    let mut two_return = math_policy(&endpoint, "two-return");
    two_return["CustomizedMetricSpecification"]["Metrics"][0]["ReturnData"] = true.into();
    let unknown_type = json!({
        "PolicyName": "unknown-type", "TargetValue": 1,
        "PredefinedMetricSpecification": {"PredefinedMetricType": "NotAMetricType"},
    });
    let fifty: Vec<Value> = (1..=50).map(|n| numbered_policy(&endpoint, n)).collect();

    let cases: Vec<(&str, Value, Vec<&str>)> = vec![
        (
            "the shorthand's TargetMetric with the list",
            both_forms("TargetMetric", "CPUUtilization".into()),
            vec!["TargetTrackingPolicies", "TargetMetric"],
        ),
        (
            "the shorthand's TargetValue with the list",
            both_forms("TargetValue", 5.into()),
            vec!["TargetTrackingPolicies", "TargetValue"],
        ),
        (
            "the shorthand's ScaleInCooldown with the list",
            both_forms("ScaleInCooldown", 60.into()),
            vec!["TargetTrackingPolicies", "ScaleInCooldown"],
        ),
        (
            "two policies of one name",
            with(vec![backlog.clone(), duplicate]),
            vec![
                "TargetTrackingPolicies[1].PolicyName",
                "backlog-per-instance",
            ],
        ),
        (
            "metric math where no query returns data",
            with(vec![none_returns]),
            vec![
                "TargetTrackingPolicies[0].CustomizedMetricSpecification.Metrics",
                "ReturnData",
            ],
        ),
        (
            "metric math where two queries return data",
            with(vec![backlog.clone(), two_return]),
            vec![
                "TargetTrackingPolicies[1].CustomizedMetricSpecification.Metrics",
                "ReturnData",
            ],
        ),
        (
            "a predefined metric type Application Auto Scaling does not have",
            with(vec![backlog.clone(), gpu_policy(&endpoint), unknown_type]),
            vec![
                "TargetTrackingPolicies[2].PredefinedMetricSpecification.PredefinedMetricType",
                "NotAMetricType",
            ],
        ),
        (
            "50 listed policies and ScaleFromZero's step policy",
            with(fifty),
            vec!["TargetTrackingPolicies", "50"],
        ),
    ];
    // Every case is tried before the test fails, so that one run shows each Reason.
    let mut wrong = Vec::new();
    for (case, properties, fragments) in cases {
        let answer = f.stack.create(properties).await;
        let reason = answer["Reason"].as_str().unwrap_or_default();
        let missing: Vec<_> = fragments.iter().filter(|&&x| !reason.contains(x)).collect();
        if answer["Status"] != "FAILED" || !missing.is_empty() {
            wrong.push(format!(
                "{case}: {missing:?} not in {} {reason:?}",
                answer["Status"]
            ));
            continue;
        }
        let id = answer["PhysicalResourceId"].as_str().unwrap();
        assert!(id.starts_with("create-failed/"), "{case}: {id}");
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
    f.aws.assert_no_calls();
    assert!(f.emulator.target(&resource_id(&endpoint)).await.is_none());
}

#[tokio::test]
async fn a_bad_update_of_the_policies_fails_and_leaves_them_as_they_were() {
    let f = Fixture::start("a_bad_update_of_the_policies_fails_and_leaves_them_as_they_were").await;
    let endpoint = f.endpoint("bad-policy-update");
    let id = resource_id(&endpoint);
    let asked = [backlog_policy(&endpoint), gpu_policy(&endpoint)];
    let old = with_policies(&endpoint, &asked);
    let (_, answer) = create(&f, old.clone()).await;
    let before = assert_holds_as_asked(&f, &endpoint, &asked, &answer).await;

    let mut renamed_into_a_duplicate = gpu_policy(&endpoint);
    renamed_into_a_duplicate["PolicyName"] = name_of(&asked[0]).into();
    let new = with_policies(&endpoint, &[asked[0].clone(), renamed_into_a_duplicate]);
    f.aws.clear_calls();
    let answer = f.stack.update(&id, new, old).await;
    assert_failed(&answer, &["TargetTrackingPolicies[1].PolicyName"]);
    assert_eq!(answer["PhysicalResourceId"], id.as_str());
    f.aws.assert_no_calls();
    let held = policies_by_name(&f, &id).await;
    let after: BTreeMap<String, String> = held
        .iter()
        .map(|(name, p)| (name.clone(), p.policy_arn().to_owned()))
        .collect();
    assert_eq!(after, before, "nothing changed");
}

/// The design's properties (the CPU shorthand) for the test's own endpoint.
fn shorthand(endpoint: &str) -> Value {
    json!({"EndpointName": endpoint, "VariantName": "prod", "MaxCapacity": 2})
}

#[tokio::test]
async fn an_update_removes_a_policy_added_to_the_target_by_hand_and_puts_nothing_unchanged() {
    let f = Fixture::start(
        "an_update_removes_a_policy_added_to_the_target_by_hand_and_puts_nothing_unchanged",
    )
    .await;
    let endpoint = f.endpoint("by-hand");
    let props = shorthand(&endpoint);
    let (id, created) = create(&f, props.clone()).await;
    f.emulator.put_users_policy(&id, "by-hand").await;

    f.aws.clear_calls();
    let answer = f.stack.update(&id, props.clone(), props).await;
    assert_success(&answer);
    assert_eq!(
        f.emulator.policy_names(&id).await,
        [
            "CPUUtil-ScalingPolicy",
            "HasBacklogWithoutCapacity-ScalingPolicy"
        ]
    );
    let operations = f.aws.operations();
    assert!(
        operations.contains(&"DeleteScalingPolicy".to_owned()),
        "{operations:?}"
    );
    assert!(
        !operations.contains(&"PutScalingPolicy".to_owned()),
        "both policies were as asked already: {operations:?}"
    );
    for key in [
        "TargetTrackingPolicyArn",
        "StepScalingPolicyArn",
        "AlarmArn",
    ] {
        assert_eq!(answer["Data"][key], created["Data"][key], "{key}");
    }
}

#[tokio::test]
async fn a_failed_put_on_update_leaves_the_policy_it_would_have_replaced() {
    let f = Fixture::start("a_failed_put_on_update_leaves_the_policy_it_would_have_replaced").await;
    let endpoint = f.endpoint("put-fails");
    let old = with_policies(
        &endpoint,
        &[backlog_policy(&endpoint), gpu_policy(&endpoint)],
    );
    let mut renamed_gpu = gpu_policy(&endpoint);
    renamed_gpu["PolicyName"] = "gpu-renamed".into();
    let new = with_policies(&endpoint, &[backlog_policy(&endpoint), renamed_gpu]);
    let (id, _) = create(&f, old.clone()).await;
    let before = f.emulator.policy_names(&id).await;

    f.aws
        .fail("PutScalingPolicy", 1, "ValidationException", "Bad policy");
    let answer = f.stack.update(&id, new, old).await;
    assert_failed(
        &answer,
        &["PutScalingPolicy failed: ValidationException: Bad policy"],
    );
    assert_eq!(
        f.emulator.policy_names(&id).await,
        before,
        "nothing removed"
    );
}

#[tokio::test]
async fn an_update_that_cannot_read_the_policies_removes_only_what_the_old_properties_had() {
    let f = Fixture::start(
        "an_update_that_cannot_read_the_policies_removes_only_what_the_old_properties_had",
    )
    .await;
    let endpoint = f.endpoint("no-describe");
    let old = shorthand(&endpoint);
    let mut new = old.clone();
    new["TargetMetric"] = "ApproximateBacklogSizePerInstance".into();
    let (id, _) = create(&f, old.clone()).await;
    f.emulator.put_users_policy(&id, "by-hand").await;

    f.aws.fail(
        "DescribeScalingPolicies",
        1,
        "AccessDeniedException",
        "User is not authorized to perform: application-autoscaling:DescribeScalingPolicies",
    );
    let answer = f.stack.update(&id, new, old).await;
    assert_success(&answer);
    let reason = answer["Reason"].as_str().unwrap();
    assert!(
        reason.contains("could not read the target's scaling policies"),
        "{reason}"
    );
    assert_eq!(
        f.emulator.policy_names(&id).await,
        [
            "ApproximateBacklogSizePerInstance-ScalingPolicy",
            "HasBacklogWithoutCapacity-ScalingPolicy",
            "by-hand"
        ]
    );
}

#[tokio::test]
async fn a_take_over_leaves_the_previous_owners_policies_until_the_next_update() {
    let f = Fixture::start("a_take_over_leaves_the_previous_owners_policies_until_the_next_update")
        .await;
    let endpoint = f.endpoint("adopt-policies");
    let id = resource_id(&endpoint);
    f.emulator.register_target(&id, 1, 3).await;
    f.emulator.put_users_policy(&id, "users-own").await;
    let mut props = shorthand(&endpoint);
    props["AdoptExisting"] = true.into();

    let (_, answer) = create(&f, props.clone()).await;
    let reason = answer["Reason"].as_str().unwrap();
    assert!(
        reason.contains("left the policies users-own on the target taken over"),
        "{reason}"
    );
    assert_eq!(
        f.emulator.policy_names(&id).await,
        [
            "CPUUtil-ScalingPolicy",
            "HasBacklogWithoutCapacity-ScalingPolicy",
            "users-own"
        ]
    );

    assert_success(&f.stack.update(&id, props.clone(), props).await);
    assert_eq!(
        f.emulator.policy_names(&id).await,
        [
            "CPUUtil-ScalingPolicy",
            "HasBacklogWithoutCapacity-ScalingPolicy"
        ]
    );
}

#[tokio::test]
async fn an_update_that_fails_at_the_alarm_removes_nothing_it_no_longer_asks_for() {
    let f =
        Fixture::start("an_update_that_fails_at_the_alarm_removes_nothing_it_no_longer_asks_for")
            .await;
    let endpoint = f.endpoint("late-fail");
    let mut old = with_policies(
        &endpoint,
        &[backlog_policy(&endpoint), gpu_policy(&endpoint)],
    );
    old["ScheduledActions"] = json!([{"ScheduledActionName": "night",
        "Schedule": "cron(0 20 ? * MON-FRI *)", "MinCapacity": 0, "MaxCapacity": 0}]);
    let mut new = with_policies(&endpoint, &[backlog_policy(&endpoint)]);
    new["AlarmName"] = format!("{endpoint}-wake-up").into();
    let (id, _) = create(&f, old.clone()).await;
    let policies_before = f.emulator.policy_names(&id).await;

    // The new alarm cannot be put: the dropped policy, the dropped schedule and the old
    // alarm are all still there for CloudFormation's rollback.
    f.aws
        .fail("PutMetricAlarm", 1, "ValidationException", "Bad alarm");
    let answer = f.stack.update(&id, new, old).await;
    assert_failed(
        &answer,
        &["PutMetricAlarm failed: ValidationException: Bad alarm"],
    );
    assert_eq!(f.emulator.policy_names(&id).await, policies_before);
    assert_eq!(f.emulator.scheduled_actions(&id).await.len(), 1);
    assert!(f.emulator.alarm(&alarm_name(&endpoint)).await.is_some());
}

#[tokio::test]
async fn a_take_over_of_a_target_too_full_to_add_its_policies_fails_before_any_write() {
    let f = Fixture::start(
        "a_take_over_of_a_target_too_full_to_add_its_policies_fails_before_any_write",
    )
    .await;
    let endpoint = f.endpoint("too-full");
    let id = resource_id(&endpoint);
    f.emulator.register_target(&id, 1, 3).await;
    for n in 0..49 {
        f.emulator
            .put_users_policy(&id, &format!("users-{n:02}"))
            .await;
    }
    let mut props = shorthand(&endpoint);
    props["AdoptExisting"] = true.into();

    // 49 that stay, and the CPU and step policies to add: 51.
    f.aws.clear_calls();
    let answer = f.stack.create(props.clone()).await;
    assert_failed(
        &answer,
        &[&format!(
            "The scalable target of {id} holds 49 scaling policies that this resource did \
             not put (users-00, users-01, users-02, users-03, users-04 and 44 more); with the \
             2 asked for, it would exceed Application Auto Scaling's quota of 50 per target"
        )],
    );
    let written: Vec<String> = f
        .aws
        .operations()
        .into_iter()
        .filter(|o| !o.starts_with("Describe") && !o.starts_with("List"))
        .collect();
    assert!(written.is_empty(), "wrote {written:?}");
    assert_eq!(f.emulator.policy_names(&id).await.len(), 49);
    let target = f.emulator.target(&id).await.unwrap();
    assert_eq!(
        (target.min_capacity(), target.max_capacity()),
        (1, 3),
        "left untouched"
    );
}
