//! The two AWS clients, built once during init, and the settings they share.

use crate::http::Http;
use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_applicationautoscaling as autoscaling;
use aws_sdk_applicationautoscaling::config::{Credentials, SharedCredentialsProvider};
use aws_sdk_cloudwatch as cloudwatch;
use std::env;

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

    /// Clients for the Lambda environment, on the shared HTTP client. Lambda gives a function
    /// its region and its role's credentials in environment variables, so nothing else is
    /// consulted: no profile files, no SSO, no instance metadata. Only where those variables
    /// are missing (`cargo lambda watch` on a developer's machine, say) does the SDK's full
    /// chain run. `AWS_ENDPOINT_URL` and the per-service `AWS_ENDPOINT_URL_APPLICATION_AUTO_SCALING`
    /// and `AWS_ENDPOINT_URL_CLOUDWATCH` point the clients at an emulator, as in the SDKs.
    pub async fn from_environment(http: &Http) -> Self {
        let variable = |name: &str| env::var(name).ok().filter(|v| !v.is_empty());
        let region = variable("AWS_REGION").or_else(|| variable("AWS_DEFAULT_REGION"));
        let credentials = variable("AWS_ACCESS_KEY_ID")
            .zip(variable("AWS_SECRET_ACCESS_KEY"))
            .map(|(key, secret)| {
                let token = variable("AWS_SESSION_TOKEN");
                Credentials::new(key, secret, token, None, "environment")
            });
        let config = match (region, credentials) {
            (Some(region), Some(credentials)) => SdkConfig::builder()
                .behavior_version(BehaviorVersion::latest())
                .region(Region::new(region))
                .credentials_provider(SharedCredentialsProvider::new(credentials))
                .http_client(http.for_sdk())
                .build(),
            _ => {
                aws_config::defaults(BehaviorVersion::latest())
                    .http_client(http.for_sdk())
                    .load()
                    .await
            }
        };
        let ignore = variable("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")
            .is_some_and(|v| v.eq_ignore_ascii_case("true"));
        let endpoint = |service: &str| {
            let specific = variable(&format!("AWS_ENDPOINT_URL_{service}"));
            (!ignore)
                .then(|| specific.or_else(|| variable("AWS_ENDPOINT_URL")))
                .flatten()
        };
        AwsClients::configured(
            &config,
            endpoint("APPLICATION_AUTO_SCALING"),
            endpoint("CLOUDWATCH"),
        )
    }

    /// Clients for a given configuration (the tests' emulator, say), which must carry an HTTP
    /// client.
    pub fn from_config(config: &SdkConfig) -> Self {
        AwsClients::configured(config, None, None)
    }

    fn configured(
        config: &SdkConfig,
        autoscaling_endpoint: Option<String>,
        cloudwatch_endpoint: Option<String>,
    ) -> Self {
        // Each builder takes the shared configuration's endpoint, unless one is given here.
        let mut autoscaling =
            autoscaling::config::Builder::from(config).retry_config(retry_config());
        if let Some(url) = autoscaling_endpoint {
            autoscaling.set_endpoint_url(Some(url));
        }
        let mut cloudwatch = cloudwatch::config::Builder::from(config).retry_config(retry_config());
        if let Some(url) = cloudwatch_endpoint {
            cloudwatch.set_endpoint_url(Some(url));
        }
        let (autoscaling, cloudwatch) = (autoscaling.build(), cloudwatch.build());
        AwsClients::new(
            autoscaling::Client::from_conf(autoscaling),
            cloudwatch::Client::from_conf(cloudwatch),
        )
    }
}
