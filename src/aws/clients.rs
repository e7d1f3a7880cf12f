//! The AWS clients, built once during init, and the settings they share.

use crate::http::Http;
use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_applicationautoscaling as autoscaling;
use aws_sdk_applicationautoscaling::config::{Credentials, SharedCredentialsProvider};
use aws_sdk_cloudwatch as cloudwatch;
use aws_sdk_sagemaker as sagemaker;
use aws_sdk_ssm as ssm;
use std::env;

/// The SDK does not retry: the seam does (see `call`), for as long as the operation's time
/// allows rather than a fixed number of attempts.
pub fn retry_config() -> RetryConfig {
    RetryConfig::disabled()
}

/// The AWS clients, built once per process and shared by every invocation. Building a client
/// sends nothing: a scaling resource without a guard never calls SageMaker or Parameter Store.
#[derive(Clone, Debug)]
pub struct AwsClients {
    pub autoscaling: autoscaling::Client,
    pub cloudwatch: cloudwatch::Client,
    pub sagemaker: sagemaker::Client,
    pub ssm: ssm::Client,
}

impl AwsClients {
    pub fn new(
        autoscaling: autoscaling::Client,
        cloudwatch: cloudwatch::Client,
        sagemaker: sagemaker::Client,
        ssm: ssm::Client,
    ) -> Self {
        AwsClients {
            autoscaling,
            cloudwatch,
            sagemaker,
            ssm,
        }
    }

    /// Clients for the Lambda environment, on the shared HTTP client. Lambda gives a function
    /// its region and its role's credentials in environment variables, so nothing else is
    /// consulted: no profile files, no SSO, no instance metadata. Only where those variables
    /// are missing (`cargo lambda watch` on a developer's machine, say) does the SDK's full
    /// chain run. `AWS_ENDPOINT_URL` and the per-service `AWS_ENDPOINT_URL_APPLICATION_AUTO_SCALING`,
    /// `AWS_ENDPOINT_URL_CLOUDWATCH`, `AWS_ENDPOINT_URL_SAGEMAKER` and `AWS_ENDPOINT_URL_SSM` point
    /// the clients at an emulator, as in the SDKs.
    pub(crate) async fn from_environment(http: &Http) -> Self {
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
        let endpoints = Endpoints {
            autoscaling: endpoint("APPLICATION_AUTO_SCALING"),
            cloudwatch: endpoint("CLOUDWATCH"),
            sagemaker: endpoint("SAGEMAKER"),
            ssm: endpoint("SSM"),
        };
        AwsClients::configured(&config, endpoints)
    }

    /// Clients for a given configuration (the tests' emulator, say), which must carry an HTTP
    /// client.
    pub fn from_config(config: &SdkConfig) -> Self {
        AwsClients::configured(config, Endpoints::default())
    }

    fn configured(config: &SdkConfig, endpoints: Endpoints) -> Self {
        // Each builder takes the shared configuration's endpoint, unless one is given here.
        macro_rules! client {
            ($service:ident, $url:expr) => {{
                let mut builder =
                    $service::config::Builder::from(config).retry_config(retry_config());
                if let Some(url) = $url {
                    builder.set_endpoint_url(Some(url));
                }
                $service::Client::from_conf(builder.build())
            }};
        }
        AwsClients::new(
            client!(autoscaling, endpoints.autoscaling),
            client!(cloudwatch, endpoints.cloudwatch),
            client!(sagemaker, endpoints.sagemaker),
            client!(ssm, endpoints.ssm),
        )
    }
}

/// Per-service endpoint URLs that override the shared configuration's.
#[derive(Default)]
struct Endpoints {
    autoscaling: Option<String>,
    cloudwatch: Option<String>,
    sagemaker: Option<String>,
    ssm: Option<String>,
}
