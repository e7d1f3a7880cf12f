//! The function's one HTTP client, built once during init: the answer's PUT and every AWS call
//! go through it, so the TLS trust roots are read and parsed once, and no client is built at
//! the first event (where a 128 MB function has a fraction of a vCPU) rather than during init
//! (where it has burst CPU).
//!
//! Trust roots: the system's store, as the AWS SDKs use it (on Lambda's provided.al2023,
//! `/etc/pki/tls/certs/ca-bundle.crt`; `SSL_CERT_FILE` and `SSL_CERT_DIR` point elsewhere),
//! plus the PEM bundle named by `AWS_CA_BUNDLE`, the SDKs' convention for a TLS-inspecting proxy.

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use reqwest::header::{HeaderName, HeaderValue};
use rustls::RootCertStore;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tracing::{info, warn};

/// A connection that has not been set up in this time is given up (and the call retried).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// Lambda freezes the process between events; a pooled connection older than this is not
/// trusted to be open.
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// The shared client; cheap to clone.
#[derive(Clone, Debug)]
pub struct Http {
    client: reqwest::Client,
}

impl Http {
    /// The client with the system's trust roots and `AWS_CA_BUNDLE`'s.
    pub fn from_environment() -> Self {
        let bundle = std::env::var_os("AWS_CA_BUNDLE").map(PathBuf::from);
        Http::with_roots(trust_roots(bundle.as_deref()))
    }

    fn with_roots(roots: RootCertStore) -> Self {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("the default protocol versions are supported")
            .with_root_certificates(roots)
            .with_no_client_auth();
        let client = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .connect_timeout(CONNECT_TIMEOUT)
            .pool_idle_timeout(POOL_IDLE_TIMEOUT)
            .build()
            .expect("an HTTP client with a preconfigured TLS backend builds");
        Http { client }
    }

    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// The same client as the AWS SDK's HTTP client.
    pub fn for_sdk(&self) -> SharedHttpClient {
        SharedHttpClient::new(SdkHttp(self.client.clone()))
    }
}

/// The system's trust roots, and those of a PEM bundle. A bundle that cannot be read is logged
/// and left out: the function still answers CloudFormation, and a call that needed it fails
/// with a TLS error that says so.
fn trust_roots(bundle: Option<&Path>) -> RootCertStore {
    let mut roots = RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    for error in &native.errors {
        warn!(%error, "a system trust root could not be read");
    }
    let (system, _) = roots.add_parsable_certificates(native.certs);
    let mut added = 0;
    if let Some(path) = bundle {
        let certificates =
            CertificateDer::pem_file_iter(path).and_then(Iterator::collect::<Result<Vec<_>, _>>);
        match certificates {
            Ok(certificates) => added = roots.add_parsable_certificates(certificates).0,
            Err(error) => warn!(
                path = %path.display(),
                %error,
                "AWS_CA_BUNDLE could not be read; its certificates are not trusted"
            ),
        }
    }
    info!(system, aws_ca_bundle = added, "trust roots loaded");
    roots
}

/// The SDK's seam for HTTP, answered by reqwest. Request bodies are always in memory for the
/// operations this function calls; answers are read whole.
#[derive(Clone, Debug)]
struct SdkHttp(reqwest::Client);

impl HttpClient for SdkHttp {
    fn http_connector(
        &self,
        _settings: &HttpConnectorSettings,
        _components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(self.clone())
    }
}

impl HttpConnector for SdkHttp {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let client = self.0.clone();
        HttpConnectorFuture::new(async move {
            let request = to_reqwest(request)?;
            let response = client.execute(request).await.map_err(connector_error)?;
            let status = StatusCode::try_from(response.status().as_u16())
                .map_err(|e| ConnectorError::other(e.into(), None))?;
            let headers: Vec<(String, String)> = response
                .headers()
                .iter()
                .filter_map(|(name, value)| {
                    Some((name.to_string(), value.to_str().ok()?.to_owned()))
                })
                .collect();
            let body = response.bytes().await.map_err(connector_error)?;
            let mut answer = HttpResponse::new(status, SdkBody::from(body));
            for (name, value) in headers {
                answer.headers_mut().append(name, value);
            }
            Ok(answer)
        })
    }
}

fn to_reqwest(request: HttpRequest) -> Result<reqwest::Request, ConnectorError> {
    let user = |e: Box<dyn std::error::Error + Send + Sync>| ConnectorError::user(e);
    let method =
        reqwest::Method::from_bytes(request.method().as_bytes()).map_err(|e| user(e.into()))?;
    let url = reqwest::Url::parse(request.uri()).map_err(|e| user(e.into()))?;
    let mut outgoing = reqwest::Request::new(method, url);
    for (name, value) in request.headers() {
        let name = HeaderName::from_bytes(name.as_bytes()).map_err(|e| user(e.into()))?;
        let value = HeaderValue::from_str(value).map_err(|e| user(e.into()))?;
        outgoing.headers_mut().append(name, value);
    }
    let body = request
        .body()
        .bytes()
        .ok_or_else(|| user("a streaming request body is not supported".into()))?;
    *outgoing.body_mut() = Some(body.to_vec().into());
    Ok(outgoing)
}

/// A transport failure as the SDK classifies it: timeouts and failed connections are worth
/// another attempt.
fn connector_error(error: reqwest::Error) -> ConnectorError {
    let error = error.without_url();
    if error.is_timeout() {
        ConnectorError::timeout(error.into())
    } else if error.is_connect() || error.is_request() || error.is_body() {
        ConnectorError::io(error.into())
    } else {
        ConnectorError::other(error.into(), None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEST_CA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/test-ca.pem");

    #[test]
    fn aws_ca_bundle_adds_its_certificates_to_the_systems() {
        let system = trust_roots(None).len();
        assert_eq!(trust_roots(Some(Path::new(TEST_CA))).len(), system + 1);
    }

    #[test]
    fn an_unreadable_bundle_leaves_the_system_roots() {
        let system = trust_roots(None).len();
        assert_eq!(
            trust_roots(Some(Path::new("/nonexistent/ca.pem"))).len(),
            system
        );
        let not_pem = concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml");
        assert_eq!(trust_roots(Some(Path::new(not_pem))).len(), system);
    }
}
