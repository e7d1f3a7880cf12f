//! A CloudFormation custom resource that configures the auto scaling of an Amazon SageMaker
//! asynchronous inference endpoint variant (or of an inference component): a scalable target,
//! target-tracking policies, a step-scaling policy that takes it from 0 to 1 instance (or copy),
//! and the alarm that fires it.
//!
//! Layout: [`cfn`] speaks CloudFormation's protocol, [`properties`] reads the resource's
//! properties, [`scaling`] decides what to do (its rules are pure plans in
//! [`scaling::plan`]) and carries it out through the narrow seam to AWS in [`aws`],
//! [`policy`] is a scaling policy as data, [`contract`] holds every name users see, and
//! [`handler`] ties one invocation together under its deadline.

pub mod aws;
pub mod backoff;
pub mod cfn;
pub mod contract;
pub mod guard;
pub mod handler;
pub mod http;
pub mod logging;
pub mod policy;
pub mod properties;
pub mod scaling;

pub use handler::Handler;
