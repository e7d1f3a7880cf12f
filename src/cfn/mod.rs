//! The CloudFormation custom resource protocol: the request, the answer, and its delivery.

pub mod delivery;
pub mod request;
pub mod response;
