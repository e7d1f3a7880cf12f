use lambda_runtime::{Error, LambdaEvent, service_fn};
use sagemaker_async_autoscaling::Handler;
use sagemaker_async_autoscaling::aws::AwsClients;
use sagemaker_async_autoscaling::cfn::delivery::Responder;
use serde_json::Value;
use tokio::sync::OnceCell;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    sagemaker_async_autoscaling::logging::init();
    // Built at the first event, not at start: both HTTP clients read the system's trust store,
    // which would more than double the time before the function asks Lambda for work. The
    // answer's client is built in the background while the first operation waits on AWS.
    let handler = OnceCell::new();
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| {
        let handler = &handler;
        async move {
            let handler = handler
                .get_or_init(|| async {
                    let responder = Responder::start();
                    Handler::new(AwsClients::from_environment().await, responder)
                })
                .await;
            handler
                .handle(event.payload, event.context.deadline())
                .await
        }
    }))
    .await
}
