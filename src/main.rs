use lambda_runtime::{Error, LambdaEvent, service_fn};
use sagemaker_async_autoscaling::Handler;
use serde_json::Value;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    sagemaker_async_autoscaling::logging::init();
    // Built before the first event: init runs with burst CPU, a 128 MB function's events with
    // about 7 % of a vCPU.
    let handler = Handler::from_environment().await;
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| {
        handler.handle(event.payload, event.context.deadline())
    }))
    .await
}
