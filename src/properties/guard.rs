//! The guard's `ResourceProperties`: which endpoint, and the configuration it is about to run.

use super::{InvalidProperties, sagemaker_name, top_reader};
use serde_json::Value;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GuardProperties {
    /// The endpoint's literal name: the endpoint depends on the guard, so the guard cannot
    /// `!GetAtt` it.
    pub endpoint_name: String,
    /// The configuration the endpoint is about to run (`!GetAtt` of it).
    pub endpoint_config_name: String,
}

impl GuardProperties {
    pub fn parse(properties: &Value) -> Result<Self, InvalidProperties> {
        let mut reader = top_reader(properties)?;
        let endpoint_name = sagemaker_name(&mut reader, "EndpointName", None);
        let endpoint_config_name = sagemaker_name(&mut reader, "EndpointConfigName", None);
        reader.reject_unknown();
        if reader.problems.is_empty() {
            Ok(GuardProperties {
                endpoint_name,
                endpoint_config_name,
            })
        } else {
            Err(InvalidProperties(reader.problems))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_guard_needs_both_names_and_nothing_else() {
        let parsed = GuardProperties::parse(&json!({
            "ServiceToken": "arn:aws:lambda:us-east-1:1:function:f",
            "EndpointName": "e",
            "EndpointConfigName": "c-1"
        }));
        assert_eq!(
            parsed,
            Ok(GuardProperties {
                endpoint_name: "e".into(),
                endpoint_config_name: "c-1".into()
            })
        );
        let problems = GuardProperties::parse(&json!({"EndpointName": "-e", "VariantName": "v"}))
            .unwrap_err()
            .to_string();
        assert!(
            problems.contains("EndpointName must be 1 to 63"),
            "{problems}"
        );
        assert!(
            problems.contains("EndpointConfigName is required"),
            "{problems}"
        );
        assert!(problems.contains("VariantName"), "{problems}");
    }
}
