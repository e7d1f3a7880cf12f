//! `make bench`: start-up, per-event overhead, sequential AWS round trips, peak memory and
//! package size of the release build, printed as one table.
//!
//! The function runs as Lambda runs it, against a Runtime API stand-in, with moto behind a
//! proxy that adds a fixed delay to every AWS call and records when each call was in flight.
//! An operation's overhead is its wall time (event handed out to result reported) minus the
//! time at least one AWS call was in flight: the function's own time. The answer's PUT goes
//! to a local listener and is counted as overhead, so the figure is an upper bound.
//!
//! Usage: bench <x86_64 bootstrap> <arm64 bootstrap.zip> [cold build seconds]

#[path = "../tests/integration/support/mod.rs"]
mod support;

use serde_json::json;
use std::time::{Duration, Instant};
use support::Stack;
use support::aws::Aws;
use support::runtime_api::{Function, Outcome, RuntimeApi};

const AWS_DELAY: Duration = Duration::from_millis(100);
const STARTS: usize = 20;
const LIFECYCLES: usize = 5;
const BUDGET_INIT_MS: f64 = 10.0;
const BUDGET_OVERHEAD_MS: f64 = 20.0;
const BUDGET_ROUND_TRIPS: usize = 5;
const BUDGET_RSS_MB: f64 = 20.0;
const BUDGET_ZIP_MB: f64 = 5.0;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (binary, zip) = (&args[1], &args[2]);
    let cold_build = args.get(3).and_then(|s| s.parse::<f64>().ok());

    let inits = measure_init(binary).await;
    let lifecycles = measure_lifecycles(binary).await;
    let zip_mb = std::fs::metadata(zip).expect("the arm64 zip").len() as f64 / 1e6;

    println!("\n| measure | result | budget |");
    println!("|---|---|---|");
    row(
        &format!("init, process start to first Runtime API poll (median of {STARTS}; max)"),
        format!("{:.1} ms; {:.1} ms", median(&inits), max(&inits)),
        format!("<= {BUDGET_INIT_MS} ms"),
        max(&inits) <= BUDGET_INIT_MS,
    );
    for (i, name) in ["Create", "Update", "Delete"].into_iter().enumerate() {
        let overheads: Vec<f64> = lifecycles
            .iter()
            .map(|l| l.operations[i].overhead_ms)
            .collect();
        let trips = lifecycles
            .iter()
            .map(|l| l.operations[i].round_trips)
            .max()
            .unwrap();
        let calls = lifecycles
            .iter()
            .map(|l| l.operations[i].calls)
            .max()
            .unwrap();
        let budget_trips = i != 1;
        row(
            &format!("{name}: sequential AWS round trips (AWS calls)"),
            format!("{trips} ({calls})"),
            if budget_trips {
                format!("<= {BUDGET_ROUND_TRIPS}")
            } else {
                "-".into()
            },
            !budget_trips || trips <= BUDGET_ROUND_TRIPS,
        );
        let cold = i == 0;
        row(
            &format!(
                "{name}: overhead, wall time minus time waiting on AWS ({}median of {LIFECYCLES}; max)",
                if cold {
                    "first event after start, "
                } else {
                    ""
                }
            ),
            format!("{:.1} ms; {:.1} ms", median(&overheads), max(&overheads)),
            if cold {
                format!("<= {BUDGET_OVERHEAD_MS} ms")
            } else {
                "-".into()
            },
            !cold || max(&overheads) <= BUDGET_OVERHEAD_MS,
        );
    }
    let rss: Vec<f64> = lifecycles.iter().map(|l| l.peak_rss_mb).collect();
    row(
        "peak RSS over a whole lifecycle (max)",
        format!("{:.1} MB", max(&rss)),
        format!("<= {BUDGET_RSS_MB} MB"),
        max(&rss) <= BUDGET_RSS_MB,
    );
    row(
        "arm64 release package (bootstrap.zip)",
        format!("{zip_mb:.2} MB"),
        format!("<= {BUDGET_ZIP_MB} MB"),
        zip_mb <= BUDGET_ZIP_MB,
    );
    if let Some(seconds) = cold_build {
        row(
            "cold `cargo build --release`",
            format!("{seconds:.0} s"),
            "-".into(),
            true,
        );
    }
}

fn row(measure: &str, result: String, budget: String, within: bool) {
    let mark = if within { "" } else { " **over budget**" };
    println!("| {measure} | {result}{mark} | {budget} |");
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted[sorted.len() / 2]
}

fn max(values: &[f64]) -> f64 {
    values.iter().copied().fold(f64::MIN, f64::max)
}

/// Milliseconds from spawning the process to its first request for work.
async fn measure_init(binary: &str) -> Vec<f64> {
    let mut inits = Vec::new();
    for _ in 0..STARTS {
        let runtime = RuntimeApi::start(Duration::from_secs(60)).await;
        let started = Instant::now();
        let _function = Function::spawn(binary, &runtime, &[]);
        while runtime.first_poll().is_none() {
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
        inits.push((runtime.first_poll().unwrap() - started).as_secs_f64() * 1e3);
    }
    inits
}

struct Measured {
    overhead_ms: f64,
    round_trips: usize,
    calls: usize,
}

struct Lifecycle {
    /// Create, Update, Delete.
    operations: Vec<Measured>,
    peak_rss_mb: f64,
}

/// One fresh process per lifecycle, so that Create is always its first (cold) event.
async fn measure_lifecycles(binary: &str) -> Vec<Lifecycle> {
    let mut all = Vec::new();
    for round in 0..LIFECYCLES {
        let aws = Aws::start().await;
        aws.delay_every_call(AWS_DELAY);
        let stack = Stack::new(aws.clients().await, "bench").await;
        let runtime = RuntimeApi::start(Duration::from_secs(60)).await;
        let function = Function::spawn(binary, &runtime, &[("AWS_ENDPOINT_URL", &aws.url())]);
        while runtime.first_poll().is_none() {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }

        let endpoint = format!("esd-bench-{round}");
        let props = json!({"EndpointName": endpoint, "VariantName": "prod", "MaxCapacity": "2"});
        let id = format!("endpoint/{endpoint}/variant/prod");
        let mut new = props.clone();
        new["MaxCapacity"] = "4".into();
        let events = [
            stack.event("Create", None, props.clone(), None),
            stack.event("Update", Some(&id), new.clone(), Some(props)),
            stack.event("Delete", Some(&id), new, None),
        ];
        let mut measured = Vec::new();
        for (i, event) in events.into_iter().enumerate() {
            aws.clear_calls();
            let started = Instant::now();
            runtime.push(event);
            let outcomes = runtime.wait_for(i + 1, Duration::from_secs(60)).await;
            let wall = started.elapsed();
            let Outcome::Response(result) = &outcomes[i] else {
                panic!("invocation failed: {:?}", outcomes[i]);
            };
            assert_eq!(result["Status"], "SUCCESS", "{result}");
            let calls = aws.calls();
            let mut busy: Vec<(Instant, Instant)> =
                calls.iter().map(|c| (c.started, c.ended)).collect();
            measured.push(Measured {
                overhead_ms: (wall.saturating_sub(union(&mut busy))).as_secs_f64() * 1e3,
                round_trips: critical_path(&calls),
                calls: calls.len(),
            });
        }
        all.push(Lifecycle {
            operations: measured,
            peak_rss_mb: peak_rss_mb(function.pid()),
        });
    }
    all
}

/// Total time covered by at least one interval.
fn union(intervals: &mut [(Instant, Instant)]) -> Duration {
    intervals.sort();
    let mut total = Duration::ZERO;
    let mut current: Option<(Instant, Instant)> = None;
    for &(start, end) in intervals.iter() {
        current = match current {
            Some((s, e)) if start <= e => Some((s, e.max(end))),
            Some((s, e)) => {
                total += e - s;
                Some((start, end))
            }
            None => Some((start, end)),
        };
    }
    if let Some((s, e)) = current {
        total += e - s;
    }
    total
}

/// The longest chain of calls each of which started after the previous one ended: the number
/// of AWS round trips the operation had to wait for one after another.
fn critical_path(calls: &[support::aws::Call]) -> usize {
    let mut calls = calls.to_vec();
    calls.sort_by_key(|c| c.ended);
    let mut longest: Vec<usize> = Vec::with_capacity(calls.len());
    for (i, call) in calls.iter().enumerate() {
        let before = (0..i)
            .filter(|&j| calls[j].ended <= call.started)
            .map(|j| longest[j])
            .max()
            .unwrap_or(0);
        longest.push(before + 1);
    }
    longest.into_iter().max().unwrap_or(0)
}

/// The high-water mark of the process's resident memory, from /proc.
fn peak_rss_mb(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kb / 1024.0
}
