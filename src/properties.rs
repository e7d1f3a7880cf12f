//! The custom resource's `ResourceProperties`: parsed, defaulted and validated in one place.
//!
//! CloudFormation sends numbers and booleans from a template as strings (`"2"`, `"true"`), while
//! `cargo lambda invoke` and hand-written events often carry real JSON numbers and booleans, so
//! both are accepted. Every problem is reported, each naming its property, so a user fixes a
//! template in one round trip instead of one error at a time.

use crate::contract::{TargetMetric, VariantId, default_alarm_name, is_sagemaker_name};
use serde_json::{Map, Value};
use std::fmt;

/// Properties CloudFormation itself puts into `ResourceProperties`; never an error.
const CLOUDFORMATION_PROPERTIES: [&str; 2] = ["ServiceToken", "ServiceTimeout"];

/// Every property this resource understands, in the order the README documents them.
pub const KNOWN_PROPERTIES: [&str; 12] = [
    "EndpointName",
    "VariantName",
    "MinCapacity",
    "MaxCapacity",
    "TargetMetric",
    "TargetValue",
    "ScaleInCooldown",
    "ScaleOutCooldown",
    "ScaleFromZero",
    "StepCooldown",
    "AlarmName",
    "AdoptExisting",
];

/// The validated desired configuration of one endpoint variant's auto scaling.
#[derive(Clone, Debug, PartialEq)]
pub struct ScalingProperties {
    pub endpoint_name: String,
    pub variant_name: String,
    pub min_capacity: i32,
    pub max_capacity: i32,
    pub target_metric: TargetMetric,
    pub target_value: f64,
    pub scale_in_cooldown: i32,
    pub scale_out_cooldown: i32,
    pub scale_from_zero: bool,
    pub step_cooldown: i32,
    pub alarm_name: String,
    pub adopt_existing: bool,
}

/// Why `ResourceProperties` were refused: one message per problem, each naming its property.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidProperties(pub Vec<String>);

impl fmt::Display for InvalidProperties {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Invalid ResourceProperties: {}", self.0.join("; "))
    }
}

impl std::error::Error for InvalidProperties {}

impl ScalingProperties {
    pub fn parse(properties: &Value) -> Result<Self, InvalidProperties> {
        let Some(map) = properties.as_object() else {
            return Err(InvalidProperties(vec![format!(
                "ResourceProperties must be an object, got {}",
                describe(properties)
            )]));
        };
        let mut reader = Reader {
            map,
            problems: Vec::new(),
        };

        let endpoint_name = reader.sagemaker_name("EndpointName", None);
        let variant_name = reader.sagemaker_name("VariantName", Some("AllTraffic"));
        let variant = VariantId::new(&endpoint_name, &variant_name);
        let alarm_name = reader
            .alarm_name()
            .unwrap_or_else(|| default_alarm_name(&variant));
        let problems_before_capacity = reader.problems.len();
        let min_capacity = reader.integer("MinCapacity", 0, 0);
        let max_capacity = reader.integer("MaxCapacity", 1, 1);
        if reader.problems.len() == problems_before_capacity && min_capacity > max_capacity {
            reader.problem(format!(
                "MinCapacity ({min_capacity}) must not be greater than MaxCapacity ({max_capacity})"
            ));
        }
        let properties = ScalingProperties {
            target_metric: reader.target_metric(),
            target_value: reader.positive_number("TargetValue", 50.0),
            scale_in_cooldown: reader.integer("ScaleInCooldown", 300, 0),
            scale_out_cooldown: reader.integer("ScaleOutCooldown", 300, 0),
            scale_from_zero: reader.boolean("ScaleFromZero", true),
            step_cooldown: reader.integer("StepCooldown", 300, 0),
            adopt_existing: reader.boolean("AdoptExisting", false),
            endpoint_name,
            variant_name,
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
        self.variant().resource_id()
    }

    pub fn variant(&self) -> VariantId {
        VariantId::new(&self.endpoint_name, &self.variant_name)
    }
}

/// Reads one property at a time, remembering every problem instead of stopping at the first.
/// A reader that records a problem returns a stand-in value; `parse` then refuses the whole set.
struct Reader<'a> {
    map: &'a Map<String, Value>,
    problems: Vec<String>,
}

impl<'a> Reader<'a> {
    fn problem(&mut self, message: String) {
        self.problems.push(message);
    }

    /// The property's value, with JSON `null` treated as absent.
    fn get(&self, name: &str) -> Option<&'a Value> {
        self.map.get(name).filter(|v| !v.is_null())
    }

    fn string(&mut self, name: &str) -> Option<String> {
        match self.get(name)? {
            Value::String(s) => Some(s.clone()),
            other => {
                let message = format!("{name} must be a string, got {}", describe(other));
                self.problem(message);
                None
            }
        }
    }

    fn sagemaker_name(&mut self, name: &str, default: Option<&str>) -> String {
        let present = self.get(name).is_some();
        match (self.string(name), default) {
            (Some(value), _) if is_sagemaker_name(&value) => value,
            (Some(value), _) => {
                self.problem(format!(
                    "{name} must be 1 to 63 letters, digits and hyphens, not starting or ending \
                     with a hyphen (SageMaker's naming rule), got {}",
                    quote(&value)
                ));
                value
            }
            (None, Some(default)) if !present => default.to_owned(),
            (None, None) if !present => {
                self.problem(format!("{name} is required"));
                String::new()
            }
            (None, _) => String::new(),
        }
    }

    fn alarm_name(&mut self) -> Option<String> {
        let name = self.string("AlarmName")?;
        let length = name.chars().count();
        if !(1..=255).contains(&length) {
            self.problem(format!(
                "AlarmName must be 1 to 255 characters, got {length} characters"
            ));
        } else if name.chars().any(char::is_control) {
            self.problem("AlarmName must not contain control characters".to_owned());
        }
        Some(name)
    }

    fn integer(&mut self, name: &str, default: i32, minimum: i32) -> i32 {
        let Some(raw) = self.get(name) else {
            return default;
        };
        let value = match raw {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.trim().parse::<i64>().ok(),
            _ => None,
        };
        let message = match value.map(i32::try_from) {
            Some(Ok(v)) if v >= minimum => return v,
            Some(Ok(v)) => format!("{name} must be at least {minimum}, got {v}"),
            Some(Err(_)) => format!("{name} is out of range, got {}", describe(raw)),
            None => format!("{name} must be a whole number, got {}", describe(raw)),
        };
        self.problem(message);
        default
    }

    fn positive_number(&mut self, name: &str, default: f64) -> f64 {
        let Some(raw) = self.get(name) else {
            return default;
        };
        let value = match raw {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => s.trim().parse::<f64>().ok(),
            _ => None,
        };
        match value {
            Some(v) if v.is_finite() && v > 0.0 => v,
            _ => {
                let message = format!("{name} must be a positive number, got {}", describe(raw));
                self.problem(message);
                default
            }
        }
    }

    fn boolean(&mut self, name: &str, default: bool) -> bool {
        let Some(raw) = self.get(name) else {
            return default;
        };
        match raw {
            Value::Bool(b) => *b,
            Value::String(s) if s.eq_ignore_ascii_case("true") => true,
            Value::String(s) if s.eq_ignore_ascii_case("false") => false,
            _ => {
                let message = format!("{name} must be true or false, got {}", describe(raw));
                self.problem(message);
                default
            }
        }
    }

    fn target_metric(&mut self) -> TargetMetric {
        let Some(text) = self.string("TargetMetric") else {
            return TargetMetric::CpuUtilization;
        };
        TargetMetric::parse(&text).unwrap_or_else(|| {
            self.problem(format!(
                "TargetMetric must be CPUUtilization or ApproximateBacklogSizePerInstance, got {}",
                quote(&text)
            ));
            TargetMetric::CpuUtilization
        })
    }

    /// A misspelt property must never be silently ignored: `MaxCapcity` would otherwise leave
    /// MaxCapacity at its default without a word.
    fn reject_unknown(&mut self) {
        let unknown: Vec<String> = self
            .map
            .keys()
            .filter(|k| {
                !KNOWN_PROPERTIES.contains(&k.as_str())
                    && !CLOUDFORMATION_PROPERTIES.contains(&k.as_str())
            })
            .map(|k| match closest_known(k) {
                Some(known) => {
                    format!(
                        "{} is not a known property (did you mean {known}?)",
                        quote(k)
                    )
                }
                None => format!("{} is not a known property", quote(k)),
            })
            .collect();
        self.problems.extend(unknown);
    }
}

/// The known property a misspelling most likely meant, if any is close enough.
fn closest_known(name: &str) -> Option<&'static str> {
    let lower = name.to_ascii_lowercase();
    KNOWN_PROPERTIES
        .into_iter()
        .chain(CLOUDFORMATION_PROPERTIES)
        .map(|known| (edit_distance(&lower, &known.to_ascii_lowercase()), known))
        .filter(|(distance, known)| *distance <= 2.max(known.len() / 5))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, known)| known)
}

/// Levenshtein distance, on bytes: property names are ASCII.
fn edit_distance(a: &str, b: &str) -> usize {
    let b = b.as_bytes();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.bytes().enumerate() {
        let mut current = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        previous = current;
    }
    previous[b.len()]
}

/// A value as a user would recognise it in a Reason, kept short.
fn describe(value: &Value) -> String {
    match value {
        Value::String(s) => quote(s),
        Value::Array(_) => "a list".to_owned(),
        Value::Object(_) => "an object".to_owned(),
        other => other.to_string(),
    }
}

/// A user-supplied string, quoted and cut to a length that keeps a Reason readable.
fn quote(text: &str) -> String {
    const LIMIT: usize = 80;
    if text.chars().count() <= LIMIT {
        format!("{text:?}")
    } else {
        let head: String = text.chars().take(LIMIT).collect();
        format!("{head:?}... ({} characters)", text.chars().count())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn problems(properties: Value) -> String {
        ScalingProperties::parse(&properties)
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn defaults_follow_the_design() {
        let props = ScalingProperties::parse(&json!({"EndpointName": "esd-type-c356f91"})).unwrap();
        assert_eq!(props.variant_name, "AllTraffic");
        assert_eq!((props.min_capacity, props.max_capacity), (0, 1));
        assert_eq!(props.target_metric, TargetMetric::CpuUtilization);
        assert_eq!(props.target_value, 50.0);
        assert_eq!(
            (props.scale_in_cooldown, props.scale_out_cooldown),
            (300, 300)
        );
        assert!(props.scale_from_zero);
        assert_eq!(props.step_cooldown, 300);
        assert_eq!(
            props.alarm_name,
            "esd-type-c356f91-AllTraffic-HasBacklogWithoutCapacity"
        );
        assert!(!props.adopt_existing);
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
        assert_eq!(props.target_value, 7.5);
        assert!(!props.scale_from_zero && props.adopt_existing);
        assert_eq!(props.scale_in_cooldown, 60);
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
            "TargetMetric must be CPUUtilization or ApproximateBacklogSizePerInstance, got \"GPU\"",
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
