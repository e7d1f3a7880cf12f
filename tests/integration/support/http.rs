//! A small HTTP/1.1 server for tests: it stands in for CloudFormation's ResponseURL, for a
//! misbehaving AWS endpoint, for the proxy in front of the emulator, and for the Lambda
//! Runtime API. Each test decides what every request gets.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

#[derive(Clone, Debug)]
pub struct Request {
    pub method: String,
    /// Path and query, as sent.
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Every byte received for this request, as received: the head, the body as delimited by
    /// Content-Length (or chunks), and any stray bytes the client sent after it.
    pub raw: Vec<u8>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }
}

pub enum Reply {
    Respond {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    /// Read the request, then never answer (the connection stays open).
    Hang,
}

impl Reply {
    pub fn status(status: u16) -> Self {
        Reply::Respond {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    pub fn json(status: u16, body: &serde_json::Value) -> Self {
        Reply::Respond {
            status,
            headers: vec![("Content-Type".into(), "application/x-amz-json-1.1".into())],
            body: serde_json::to_vec(body).unwrap(),
        }
    }
}

pub type BoxReply = Pin<Box<dyn Future<Output = Reply> + Send>>;
type Respond = dyn Fn(Request) -> BoxReply + Send + Sync;

/// A running server; it stops when dropped.
pub struct Server {
    pub addr: SocketAddr,
    received: Arc<Mutex<Vec<Request>>>,
    task: JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Server {
    /// Serves on a free loopback port; `respond` decides each reply.
    pub async fn start(respond: impl Fn(Request) -> BoxReply + Send + Sync + 'static) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let received = Arc::new(Mutex::new(Vec::new()));
        let respond: Arc<Respond> = Arc::new(respond);
        let log = received.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                tokio::spawn(serve_connection(stream, respond.clone(), log.clone()));
            }
        });
        Server {
            addr,
            received,
            task,
        }
    }

    /// Answers every request with the same status and records it.
    pub async fn answering(status: u16) -> Server {
        Server::start(move |_| Box::pin(async move { Reply::status(status) })).await
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn received(&self) -> Vec<Request> {
        self.received.lock().unwrap().clone()
    }
}

async fn serve_connection(stream: TcpStream, respond: Arc<Respond>, log: Arc<Mutex<Vec<Request>>>) {
    let _ = stream.set_nodelay(true);
    let mut stream = BufReader::new(stream);
    while let Some(request) = read_request(&mut stream).await {
        log.lock().unwrap().push(request.clone());
        match respond(request).await {
            Reply::Hang => std::future::pending::<()>().await,
            Reply::Respond {
                status,
                headers,
                body,
            } => {
                let mut head = format!("HTTP/1.1 {status} {}\r\n", reason(status));
                for (name, value) in &headers {
                    head.push_str(&format!("{name}: {value}\r\n"));
                }
                head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
                // One write: a head and a body in two small segments would wait out the
                // peer's delayed ACK (Nagle), some 40 ms that the benchmark would count.
                let mut message = head.into_bytes();
                message.extend_from_slice(&body);
                if stream.get_mut().write_all(&message).await.is_err() {
                    return;
                }
            }
        }
    }
}

async fn read_request(stream: &mut BufReader<TcpStream>) -> Option<Request> {
    let mut line = String::new();
    if stream.read_line(&mut line).await.ok()? == 0 {
        return None;
    }
    let mut raw = line.clone().into_bytes();
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_owned();
    let target = parts.next()?.to_owned();
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        stream.read_line(&mut line).await.ok()?;
        raw.extend_from_slice(line.as_bytes());
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':')?;
        headers.push((name.trim().to_owned(), value.trim().to_owned()));
    }
    let mut request = Request {
        method,
        target,
        headers,
        body: Vec::new(),
        raw,
    };
    if let Some(length) = request.header("content-length") {
        let mut body = vec![0; length.parse().ok()?];
        stream.read_exact(&mut body).await.ok()?;
        request.body = body;
    } else if request
        .header("transfer-encoding")
        .is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
    {
        request.body = read_chunked(stream).await?;
    }
    request.raw.extend_from_slice(&request.body);
    // Bytes already sent beyond the declared length (a Content-Length too small) would be read
    // as the next request; record them with this one, without waiting for more.
    let stray = stream.buffer().to_vec();
    stream.consume(stray.len());
    request.raw.extend_from_slice(&stray);
    let mut more = [0u8; 4096];
    while let Ok(n) = stream.get_ref().try_read(&mut more) {
        if n == 0 {
            break;
        }
        request.raw.extend_from_slice(&more[..n]);
    }
    Some(request)
}

async fn read_chunked(stream: &mut BufReader<TcpStream>) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let mut size = String::new();
        stream.read_line(&mut size).await.ok()?;
        let size = usize::from_str_radix(size.trim().split(';').next()?, 16).ok()?;
        let mut chunk = vec![0; size + 2];
        stream.read_exact(&mut chunk).await.ok()?;
        if size == 0 {
            return Some(body);
        }
        body.extend_from_slice(&chunk[..size]);
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        202 => "Accepted",
        400 => "Bad Request",
        404 => "Not Found",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

/// A port that is free now and that no test binds while it runs: below the kernel's range of
/// ephemeral ports, from which every server of the tests is given its own. For a server started
/// outside the tests (the demo's), and for a port that must refuse connections (a port merely
/// found free in that range could be handed to another test's server meanwhile).
pub fn port_no_test_binds(taken: &[u16]) -> u16 {
    let range = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range");
    let first_ephemeral = range
        .ok()
        .and_then(|r| r.split_whitespace().next()?.parse().ok())
        .unwrap_or(32768u16);
    let free = |port: u16| std::net::TcpListener::bind(("::", port)).is_ok();
    std::iter::repeat_with(|| fastrand::u16(first_ephemeral / 2..first_ephemeral))
        .take(1000)
        .find(|port| !taken.contains(port) && free(*port))
        .expect("a free port below the ephemeral range")
}
