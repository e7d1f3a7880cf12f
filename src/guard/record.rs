//! A record: everything deregistering a variant's target removes, kept in Parameter Store until
//! it is restored. Pure data and its JSON form; the AWS side is in [`super::take`] and
//! [`super::restore`].

use crate::aws::{InstancePool, Placement, TargetSettings};
use crate::contract::{RECORD_PATH_PREFIX, Tags};
use crate::policy_spec::PolicySpec;
use crate::properties::ScheduledAction;
use crate::target::VariantId;
use serde::{Deserialize, Serialize};

/// Parameter Store's value limit: 8192 characters, in the advanced tier (the standard tier holds
/// 4096). Measured in bytes here, which is never fewer than characters.
pub const ADVANCED_TIER_LIMIT: usize = 8192;

/// The format's version: a record written by a later version that this one cannot read is
/// left alone rather than misread.
const VERSION: u32 = 1;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub version: u32,
    pub endpoint_name: String,
    pub variant_name: String,
    /// The variant's instance type when it was deregistered, or none (pools, serverless): a
    /// restore puts the scaling back only on a variant that runs on the same instances again.
    pub instance_type: Option<String>,
    /// The variant's instance pools when it ran on pools. Left out when empty, so that a record
    /// of a variant without pools is written as before, and a function older than pools reads
    /// every record.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub instance_pools: Vec<InstancePool>,
    /// The endpoint's LastModifiedTime when it was deregistered: a state-change event restores
    /// only once the endpoint has changed since.
    pub endpoint_last_modified: String,
    /// The configuration the endpoint ran when the record was taken: a restore puts the
    /// scaling back only on an endpoint that runs it again (SageMaker's or CloudFormation's
    /// rollback), never into a later update that happens to use the same instance type.
    pub from_config: String,
    /// The configuration the endpoint was about to move to (for whoever reads the record).
    pub for_config: String,
    pub target: RecordedTarget,
    pub policies: Vec<PolicySpec>,
    pub scheduled_actions: Vec<ScheduledAction>,
    /// The alarms that fired the target's step policies.
    pub alarms: Vec<RecordedAlarm>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RecordedTarget {
    pub settings: TargetSettings,
    pub tags: Tags,
}

/// An alarm that fired one of the target's policies, by the policy's name and old ARN: a
/// restore points it at the ARN the policy gets when it is put again.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RecordedAlarm {
    pub name: String,
    pub policy_name: String,
    pub policy_arn: String,
}

impl Record {
    pub fn variant(&self) -> VariantId {
        VariantId::new(&self.endpoint_name, &self.variant_name)
    }

    pub fn parameter_name(&self) -> String {
        parameter_name(&self.variant())
    }

    /// The record as stored; `Err` with its size when Parameter Store cannot hold it.
    pub fn encode(&self) -> Result<String, usize> {
        let value = serde_json::to_string(self).expect("a record serializes");
        match value.len() {
            n if n <= ADVANCED_TIER_LIMIT => Ok(value),
            n => Err(n),
        }
    }

    /// Reads a stored record; `None` for anything this version did not write.
    pub fn decode(value: &str) -> Option<Record> {
        let record: Record = serde_json::from_str(value).ok()?;
        (record.version == VERSION).then_some(record)
    }

    /// What the variant ran on when it was deregistered.
    pub fn placement(&self) -> Placement {
        match (&self.instance_type, self.instance_pools.is_empty()) {
            (Some(instance_type), _) => Placement::InstanceType(instance_type.clone()),
            (None, false) => Placement::InstancePools(self.instance_pools.clone()),
            (None, true) => Placement::Serverless,
        }
    }

    /// Records what the variant runs on.
    pub fn set_placement(&mut self, placement: &Placement) {
        (self.instance_type, self.instance_pools) = match placement {
            Placement::InstanceType(instance_type) => (Some(instance_type.clone()), Vec::new()),
            Placement::InstancePools(pools) => (None, pools.clone()),
            Placement::Serverless => (None, Vec::new()),
        };
    }

    pub fn new(
        variant: &VariantId,
        placement: &Placement,
        endpoint_last_modified: String,
        from_config: String,
        for_config: String,
        target: RecordedTarget,
    ) -> Record {
        let mut record = Record {
            version: VERSION,
            endpoint_name: variant.endpoint_name.clone(),
            variant_name: variant.variant_name.clone(),
            instance_type: None,
            instance_pools: Vec::new(),
            endpoint_last_modified,
            from_config,
            for_config,
            target,
            policies: Vec::new(),
            scheduled_actions: Vec::new(),
            alarms: Vec::new(),
        };
        record.set_placement(placement);
        record
    }
}

/// Where a variant's record lives.
pub fn parameter_name(variant: &VariantId) -> String {
    format!(
        "{RECORD_PATH_PREFIX}{}/{}",
        variant.endpoint_name, variant.variant_name
    )
}

/// The path under which an endpoint's records live (GetParametersByPath takes no final `/`).
pub fn endpoint_path(endpoint_name: &str) -> String {
    format!("{RECORD_PATH_PREFIX}{endpoint_name}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy_spec::{PolicyKind, Step, StepScaling};
    use crate::properties::SuspendedState;

    fn record() -> Record {
        let mut record = Record::new(
            &VariantId::new("e", "v"),
            &Placement::InstanceType("ml.g5.xlarge".into()),
            "2026-12-02T01:00:00Z".into(),
            "config-1".into(),
            "config-2".into(),
            RecordedTarget {
                settings: TargetSettings {
                    min_capacity: 0,
                    max_capacity: 4,
                    suspended: SuspendedState {
                        dynamic_scaling_in: true,
                        ..SuspendedState::default()
                    },
                },
                tags: Tags::from([("team".into(), "ml".into())]),
            },
        );
        record.policies.push(PolicySpec {
            name: "step".into(),
            kind: PolicyKind::Step(StepScaling {
                cooldown: 300,
                aggregation: "Average".into(),
                steps: vec![Step {
                    lower_bound: Some(0.0),
                    upper_bound: None,
                    adjustment: 1,
                }],
            }),
        });
        record
    }

    #[test]
    fn a_record_reads_back_as_it_was_written() {
        let record = record();
        let encoded = record.encode().unwrap();
        assert_eq!(Record::decode(&encoded), Some(record));
    }

    #[test]
    fn a_record_larger_than_parameter_store_holds_is_refused() {
        let mut record = record();
        let size = |r: &Record| serde_json::to_string(r).unwrap().len();
        while size(&record) <= 4096 {
            record.scheduled_actions.push(ScheduledAction {
                name: format!("action-{}", record.scheduled_actions.len()),
                schedule: "cron(0 7 ? * MON-FRI *)".into(),
                timezone: None,
                start_time: None,
                end_time: None,
                min_capacity: Some(1),
                max_capacity: None,
            });
        }
        assert!(record.encode().is_ok());
        while size(&record) <= ADVANCED_TIER_LIMIT {
            record
                .scheduled_actions
                .push(record.scheduled_actions[0].clone());
        }
        assert_eq!(record.encode(), Err(size(&record)));
    }

    #[test]
    fn a_record_keeps_a_variants_pools_and_one_without_pools_is_written_as_before() {
        let pools = Placement::InstancePools(vec![
            InstancePool {
                instance_type: "ml.g6.xlarge".into(),
                priority: Some(1),
                model_name_override: None,
            },
            InstancePool {
                instance_type: "ml.g5.xlarge".into(),
                priority: Some(2),
                model_name_override: Some("model-for-g5".into()),
            },
        ]);
        let mut on_pools = record();
        on_pools.set_placement(&pools);
        let encoded = on_pools.encode().unwrap();
        assert!(
            encoded.contains(r#""instance_type":null,"instance_pools":[{"InstanceType":"ml.g6.xlarge","Priority":1},{"InstanceType":"ml.g5.xlarge","Priority":2,"ModelNameOverride":"model-for-g5"}]"#),
            "{encoded}"
        );
        assert_eq!(Record::decode(&encoded).unwrap().placement(), pools);

        let single = record().encode().unwrap();
        assert!(!single.contains("instance_pools"), "{single}");
        assert_eq!(
            Record::decode(&single).unwrap().placement(),
            Placement::InstanceType("ml.g5.xlarge".into())
        );
    }

    #[test]
    fn a_record_of_another_format_version_is_not_read() {
        let value = record().encode().unwrap().replace(
            &format!("\"version\":{VERSION}"),
            &format!("\"version\":{}", VERSION + 1),
        );
        assert_eq!(Record::decode(&value), None);
        assert_eq!(Record::decode("not json"), None);
    }

    #[test]
    fn records_live_under_the_functions_own_path() {
        let variant = VariantId::new("e", "v");
        assert_eq!(
            parameter_name(&variant),
            "/sagemaker-async-autoscaling/records/e/v"
        );
        assert!(parameter_name(&variant).starts_with(&format!("{}/", endpoint_path("e"))));
    }
}
