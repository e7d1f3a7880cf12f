//! Reads one object of the properties at a time, remembering every problem instead of stopping
//! at the first, each named by its path (`MaxCapacity`, `ScheduledActions[1].Schedule`). A read
//! that records a problem returns a stand-in value; the caller then refuses the whole set.
//!
//! The reader also remembers every key it was asked for: those are the object's properties, and
//! any other key is refused. So the code that reads a property is its only definition, and no
//! separate list of known names can drift from it.

use serde_json::{Map, Value};
use std::cell::RefCell;
use std::ops::RangeInclusive;

pub(super) struct Reader<'a> {
    map: &'a Map<String, Value>,
    /// Where this object sits: empty at the top, `ScheduledActions[1].` inside a list.
    path: String,
    /// The keys read so far: the object's known properties.
    asked: RefCell<Vec<&'static str>>,
    /// Keys that are never an error (CloudFormation's own, at the top).
    tolerated: &'static [&'static str],
    pub problems: Vec<String>,
}

impl<'a> Reader<'a> {
    pub fn new(
        map: &'a Map<String, Value>,
        path: String,
        tolerated: &'static [&'static str],
    ) -> Self {
        Reader {
            map,
            path,
            asked: RefCell::new(Vec::new()),
            tolerated,
            problems: Vec::new(),
        }
    }

    /// Whether the object has the key at all (not `null`). Like every read, this makes the key
    /// one of the object's known properties.
    pub fn has(&self, key: &'static str) -> bool {
        self.get(key).is_some()
    }

    /// This object's own path, as a Reason names it: `TargetTrackingPolicies[1]`.
    pub fn here(&self) -> &str {
        self.path.trim_end_matches('.')
    }

    /// The full name of one of this object's keys, as a Reason names it.
    pub fn name(&self, key: &str) -> String {
        format!("{}{key}", self.path)
    }

    pub fn problem(&mut self, message: String) {
        self.problems.push(message);
    }

    /// The key's value, with JSON `null` treated as absent.
    pub fn get(&self, key: &'static str) -> Option<&'a Value> {
        let mut asked = self.asked.borrow_mut();
        if !asked.contains(&key) {
            asked.push(key);
        }
        self.map.get(key).filter(|v| !v.is_null())
    }

    pub fn string(&mut self, key: &'static str) -> Option<String> {
        match self.get(key)? {
            Value::String(s) => Some(s.clone()),
            other => {
                let message = format!(
                    "{} must be a string, got {}",
                    self.name(key),
                    describe(other)
                );
                self.problem(message);
                None
            }
        }
    }

    /// A string that must be given; `None` (with the problem recorded) when it is not.
    pub fn required_string(&mut self, key: &'static str) -> Option<String> {
        if self.get(key).is_none() {
            let message = format!("{} is required", self.name(key));
            self.problem(message);
            return None;
        }
        self.string(key)
    }

    /// A whole number within `range`, or `None` when absent.
    pub fn optional_integer(
        &mut self,
        key: &'static str,
        range: RangeInclusive<i32>,
    ) -> Option<i32> {
        let raw = self.get(key)?;
        let value = match raw {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.trim().parse::<i64>().ok(),
            _ => None,
        };
        let name = self.name(key);
        let message = match value.map(i32::try_from) {
            Some(Ok(v)) if range.contains(&v) => return Some(v),
            Some(Ok(v)) if *range.end() == i32::MAX => {
                format!("{name} must be at least {}, got {v}", range.start())
            }
            Some(Ok(v)) => format!(
                "{name} must be from {} to {}, got {v}",
                range.start(),
                range.end()
            ),
            Some(Err(_)) => format!("{name} is out of range, got {}", describe(raw)),
            None => format!("{name} must be a whole number, got {}", describe(raw)),
        };
        self.problem(message);
        None
    }

    pub fn integer(&mut self, key: &'static str, default: i32, range: RangeInclusive<i32>) -> i32 {
        self.optional_integer(key, range).unwrap_or(default)
    }

    pub fn positive_number(&mut self, key: &'static str, default: f64) -> f64 {
        let Some(raw) = self.get(key) else {
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
                let message = format!(
                    "{} must be a positive number, got {}",
                    self.name(key),
                    describe(raw)
                );
                self.problem(message);
                default
            }
        }
    }

    pub fn boolean(&mut self, key: &'static str, default: bool) -> bool {
        let Some(raw) = self.get(key) else {
            return default;
        };
        match raw {
            Value::Bool(b) => *b,
            Value::String(s) if s.eq_ignore_ascii_case("true") => true,
            Value::String(s) if s.eq_ignore_ascii_case("false") => false,
            _ => {
                let message = format!(
                    "{} must be true or false, got {}",
                    self.name(key),
                    describe(raw)
                );
                self.problem(message);
                default
            }
        }
    }

    /// A list of at most `limit` `items` (an empty one when absent), each with its path:
    /// `Tags[0]`, `Tags[1]`...
    pub fn list(
        &mut self,
        key: &'static str,
        limit: usize,
        items: &str,
    ) -> impl Iterator<Item = (String, &'a Value)> + use<'a> {
        let list: &'a [Value] = match self.get(key) {
            None => &[],
            Some(Value::Array(list)) => list,
            Some(other) => {
                let message = format!("{} must be a list, got {}", self.name(key), describe(other));
                self.problem(message);
                &[]
            }
        };
        if list.len() > limit {
            let message = format!(
                "{} may hold at most {limit} {items}, got {}",
                self.name(key),
                list.len()
            );
            self.problem(message);
        }
        let name = self.name(key);
        list.iter()
            .enumerate()
            .map(move |(index, item)| (format!("{name}[{index}]"), item))
    }

    /// Reads an object found under `path` (a list item, or a key's value); its problems, and
    /// its keys that `read` did not ask for, become this reader's problems.
    pub fn nested<T>(
        &mut self,
        value: &'a Value,
        path: String,
        read: impl FnOnce(&mut Reader<'a>) -> T,
    ) -> Option<T> {
        let Some(map) = value.as_object() else {
            self.problem(format!("{path} must be an object, got {}", describe(value)));
            return None;
        };
        let mut reader = Reader::new(map, format!("{path}."), &[]);
        let read = read(&mut reader);
        reader.reject_unknown();
        self.problems.append(&mut reader.problems);
        Some(read)
    }

    /// Reads every item of a list with `read` (the items a read refuses are left out) and
    /// refuses a `unique` key that two items share, naming both:
    /// `ScheduledActions[2].ScheduledActionName "night" is also ScheduledActions[0]'s`.
    pub fn items<T>(
        &mut self,
        items: &[(String, &'a Value)],
        unique: &'static str,
        read: impl Fn(&mut Reader<'a>) -> Option<T>,
    ) -> Vec<T> {
        let mut read_items = Vec::new();
        let mut first: Vec<(&str, &str)> = Vec::new();
        for (path, item) in items {
            if let Some(Some(value)) = self.nested(item, path.clone(), &read) {
                read_items.push(value);
            }
            let Some(name) = item.get(unique).and_then(Value::as_str) else {
                continue;
            };
            match first.iter().find(|(seen, _)| *seen == name) {
                Some((_, earlier)) => self.problem(format!(
                    "{path}.{unique} {} is also {earlier}'s; each {unique} must be unique",
                    quote(name)
                )),
                None => first.push((name, path)),
            }
        }
        read_items
    }

    /// A misspelt key must never be silently ignored: `MaxCapcity` would otherwise leave
    /// MaxCapacity at its default without a word.
    pub fn reject_unknown(&mut self) {
        let known = self.asked.borrow();
        let unknown: Vec<String> = self
            .map
            .keys()
            .filter(|k| !known.contains(&k.as_str()) && !self.tolerated.contains(&k.as_str()))
            .map(|k| {
                let name = quote(&self.name(k));
                match closest(k, &known).or_else(|| closest(k, self.tolerated)) {
                    Some(known) => format!(
                        "{name} is not a known property (did you mean {}?)",
                        self.name(known)
                    ),
                    None => format!("{name} is not a known property"),
                }
            })
            .collect();
        drop(known);
        self.problems.extend(unknown);
    }
}

/// The known key a misspelling most likely meant, if any is close enough.
fn closest(name: &str, known: &[&'static str]) -> Option<&'static str> {
    let lower = name.to_ascii_lowercase();
    known
        .iter()
        .map(|known| (edit_distance(&lower, &known.to_ascii_lowercase()), *known))
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
pub(super) fn describe(value: &Value) -> String {
    match value {
        Value::String(s) => quote(s),
        Value::Array(_) => "a list".to_owned(),
        Value::Object(_) => "an object".to_owned(),
        other => other.to_string(),
    }
}

/// A user-supplied string, quoted and cut to a length that keeps a Reason readable.
pub(super) fn quote(text: &str) -> String {
    const LIMIT: usize = 80;
    if text.chars().count() <= LIMIT {
        format!("{text:?}")
    } else {
        let head: String = text.chars().take(LIMIT).collect();
        format!("{head:?}... ({} characters)", text.chars().count())
    }
}
