//! The custom resource types the function serves, as one trait: what a type does on Create,
//! Update and Delete. The handler chooses the implementation once, from the request's
//! `ResourceType`, and runs the request on it; everything around the operation (its own task,
//! the deadline, a panic, the answer, removing what a failed Create made) is the handler's, the
//! same for every type. A new resource type is one implementation, in a module of its own, and
//! one arm where the handler chooses.

use crate::aws::ScalingApi;
use crate::scaling::Owner;
use crate::scaling::rollback::Rollback;
use serde_json::Value;
use std::collections::BTreeMap;
use std::future::Future;

/// What every operation of one request works with.
pub struct RequestContext {
    /// The seam to AWS, whose calls retry until the operation's time is up.
    pub api: ScalingApi,
    /// The CloudFormation resource the request is for: its stack and logical id.
    pub owner: Owner,
    /// CloudFormation's id of the request.
    pub request_id: String,
    /// The record of what the request set out to create, which the handler removes should the
    /// request fail or run out of time.
    pub rollback: Rollback,
}

/// A resource operation that succeeded: what CloudFormation gets back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Done {
    pub physical_resource_id: String,
    /// The `Data` attributes (`Fn::GetAtt`).
    pub data: BTreeMap<String, String>,
    /// What the operation did, in a sentence or two: the answer's Reason.
    pub summary: String,
}

/// One custom resource type: its three operations. Each gets the request's
/// `ResourceProperties` as sent (a type reads its own) and answers what it did, or why it
/// failed in words a user reads in the stack's events.
pub trait CustomResource: Send + Sync + 'static {
    type Failure: std::error::Error + Send;

    fn create(
        &self,
        context: &RequestContext,
        properties: Value,
    ) -> impl Future<Output = Result<Done, Self::Failure>> + Send;

    fn update(
        &self,
        context: &RequestContext,
        physical_resource_id: String,
        properties: Value,
        old_properties: Value,
    ) -> impl Future<Output = Result<Done, Self::Failure>> + Send;

    fn delete(
        &self,
        context: &RequestContext,
        physical_resource_id: String,
        properties: Value,
    ) -> impl Future<Output = Result<Done, Self::Failure>> + Send;
}
