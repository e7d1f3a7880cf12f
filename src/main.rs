use lambda_runtime::{Error, LambdaEvent, service_fn};
use sagemaker_async_autoscaling::Handler;
use sagemaker_async_autoscaling::cfn::delivery::Responder;
use sagemaker_async_autoscaling::scaling::aws::AwsClients;
use serde_json::Value;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    sagemaker_async_autoscaling::logging::init();
    let handler = Handler::new(AwsClients::from_environment().await, Responder::default());
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| {
        let handler = handler.clone();
        async move {
            handler
                .handle(event.payload, event.context.deadline())
                .await
        }
    }))
    .await
}
