//! A CloudFormation custom resource that configures the auto scaling of an Amazon SageMaker
//! asynchronous inference endpoint variant (or of an inference component): a scalable target,
//! target-tracking policies, a step-scaling policy that takes it from 0 to 1 instance (or copy),
//! and the alarm that fires it.
//!
//! Layout (every module but `logging` is the crate's own): `cfn` speaks
//! CloudFormation's protocol, `properties` reads the resource's properties, `scaling` decides
//! what to do (its rules are pure plans in `scaling::plan`) and carries it out through the
//! narrow seam to AWS in `aws`, `policy_spec` is a scaling policy as data, `target` is what is
//! scaled (each kind of target and its fixed settings), `contract` holds every name users see,
//! `resource` is what a resource type does (implemented by `scaling` and `guard`), and
//! `handler` ties one invocation together under its deadline. What the function's `main`, the
//! tests and the examples use is re-exported below; nothing else is public, so the compiler
//! reports whatever the crate itself no longer uses.

// The handler answers CloudFormation FAILED when the operation panics, which only an unwinding
// panic allows: a build that aborts on panic (cargo-lambda's default for releases, unless
// Cargo.toml's release profile says otherwise; or `-C panic=abort` in RUSTFLAGS) would leave a
// stack waiting. Such a build does not compile.
#[cfg(not(panic = "unwind"))]
compile_error!("the handler answers a panic only if panics unwind: build with panic = \"unwind\"");

pub mod logging;

pub(crate) mod aws;
pub(crate) mod backoff;
pub(crate) mod cfn;
pub(crate) mod contract;
pub(crate) mod guard;
pub(crate) mod handler;
pub(crate) mod http;
pub(crate) mod policy_spec;
pub(crate) mod properties;
pub(crate) mod resource;
pub(crate) mod scaling;
pub(crate) mod target;

// The crate's API: what the function's `main`, the tests and the examples use.
pub use aws::{AwsClients, retry_config};
pub use cfn::delivery::Responder;
pub use cfn::request::Unanswerable;
pub use contract::{GUARD_RESOURCE_TYPE, RECORD_PATH_PREFIX};
pub use handler::{Handler, InvocationError, InvocationResult};
pub use http::Http;
