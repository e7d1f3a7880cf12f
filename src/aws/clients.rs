//! The two AWS clients, and the retry settings they share.

use aws_config::retry::RetryConfig;
use aws_sdk_applicationautoscaling as autoscaling;
use aws_sdk_cloudwatch as cloudwatch;

/// The SDK does not retry: the seam does (see `call`), for as long as the operation's time
/// allows rather than a fixed number of attempts.
pub fn retry_config() -> RetryConfig {
    RetryConfig::disabled()
}

/// The two AWS clients, built once per process and shared by every invocation.
#[derive(Clone, Debug)]
pub struct AwsClients {
    pub autoscaling: autoscaling::Client,
    pub cloudwatch: cloudwatch::Client,
}

impl AwsClients {
    pub fn new(autoscaling: autoscaling::Client, cloudwatch: cloudwatch::Client) -> Self {
        AwsClients {
            autoscaling,
            cloudwatch,
        }
    }

    /// Clients configured the way the SDK reads the Lambda environment: region, credentials
    /// (resolved lazily, at the first call) and `AWS_ENDPOINT_URL` for an emulator.
    pub async fn from_environment() -> Self {
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .load()
            .await;
        AwsClients::from_config(&config)
    }

    pub fn from_config(config: &aws_config::SdkConfig) -> Self {
        let config = config.to_builder().retry_config(retry_config()).build();
        AwsClients::new(
            autoscaling::Client::new(&config),
            cloudwatch::Client::new(&config),
        )
    }
}
