//! Log setup: Lambda's logging controls, minus the one log line that would leak a credential.
//!
//! It honours what `lambda_runtime::tracing::init_default_subscriber` honours
//! (`AWS_LAMBDA_LOG_LEVEL`, else `RUST_LOG`, else INFO; JSON lines when
//! `AWS_LAMBDA_LOG_FORMAT=JSON`), and adds one rule: the runtime's TRACE events are never
//! written, because one of them is the raw event, whose ResponseURL carries a signature.

use tracing::Level;
use tracing_subscriber::filter::{EnvFilter, LevelFilter, filter_fn};
use tracing_subscriber::prelude::*;

pub fn init() {
    let level = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .or_else(|_| std::env::var("RUST_LOG"))
        .ok()
        .and_then(|text| text.parse::<LevelFilter>().ok())
        .unwrap_or(LevelFilter::INFO);
    let levels = EnvFilter::builder()
        .with_default_directive(level.into())
        .from_env_lossy();
    let no_raw_events = filter_fn(|metadata| {
        !(metadata.target().starts_with("lambda_runtime") && *metadata.level() == Level::TRACE)
    });
    let json = std::env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    let format = tracing_subscriber::fmt::layer()
        .with_target(false)
        .without_time();
    let registry = tracing_subscriber::registry()
        .with(levels)
        .with(no_raw_events);
    if json {
        registry.with(format.json()).init();
    } else {
        registry.with(format).init();
    }
}
