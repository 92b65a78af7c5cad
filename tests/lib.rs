//! Helpers for the end-to-end tests: start the real Passerelle server on `127.0.0.1:0` and
//! connect a real tonic client to it.

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

use passerelle_model::engine::Engine;
use passerelle_service::auth::ApiKeys;
use passerelle_service::metrics::Metrics;
use passerelle_service::proto::v1::admin_service_client::AdminServiceClient;
use passerelle_service::proto::v1::pathway_service_client::PathwayServiceClient;
use passerelle_service::proto::v1::search_service_client::SearchServiceClient;
use passerelle_service::proto::v1::training_service_client::TrainingServiceClient;
use passerelle_service::server::{serve, serve_observed, serve_with_settings, EngineSource, ServeError};
use passerelle_service::settings::Settings;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::transport::Channel;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::HealthCheckRequest;

/// The embedded engine, loaded once per test binary (about half a second).
pub fn shared_engine() -> Arc<Engine> {
    static ENGINE: OnceLock<Arc<Engine>> = OnceLock::new();
    Arc::clone(ENGINE.get_or_init(|| match passerelle_model::embedded::engine() {
        Ok(engine) => Arc::new(engine),
        Err(err) => panic!("embedded engine does not load: {err}"),
    }))
}

/// A running server and a channel to it.
pub struct TestApp {
    /// Where the server listens.
    pub addr: SocketAddr,
    /// A connected channel.
    pub channel: Channel,
    shutdown: Option<oneshot::Sender<()>>,
    handle: JoinHandle<Result<(), ServeError>>,
}

impl TestApp {
    /// A `PathwayService` client.
    pub fn pathways(&self) -> PathwayServiceClient<Channel> {
        PathwayServiceClient::new(self.channel.clone())
    }

    /// An `AdminService` client.
    pub fn admin(&self) -> AdminServiceClient<Channel> {
        AdminServiceClient::new(self.channel.clone())
    }

    /// A `TrainingService` client.
    pub fn training(&self) -> TrainingServiceClient<Channel> {
        TrainingServiceClient::new(self.channel.clone())
    }

    /// A `SearchService` client.
    pub fn search(&self) -> SearchServiceClient<Channel> {
        SearchServiceClient::new(self.channel.clone())
    }

    /// A health client.
    pub fn health(&self) -> HealthClient<Channel> {
        HealthClient::new(self.channel.clone())
    }

    /// Asks the server to stop and waits for it; returns how `serve` ended.
    pub async fn stop(mut self) -> Result<(), ServeError> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        self.join().await
    }

    /// Waits for the server to end by itself (e.g. after a load failure).
    pub async fn join(self) -> Result<(), ServeError> {
        match self.handle.await {
            Ok(result) => result,
            Err(e) => panic!("server task panicked: {e}"),
        }
    }
}

/// Starts the server with the embedded engine and waits until health reports SERVING.
pub async fn spawn_app() -> TestApp {
    let app = spawn_with(EngineSource::default(), Some(shared_engine())).await;
    wait_serving(&app).await;
    app
}

/// Starts the server with the given source (not waiting for the model).
pub async fn spawn_with(source: EngineSource, preloaded: Option<Arc<Engine>>) -> TestApp {
    let (listener, addr) = bind_loopback().await;
    let (tx, rx) = oneshot::channel::<()>();
    // A short grace period keeps the shutdown tests quick.
    let grace = std::time::Duration::from_secs(1);
    let handle = tokio::spawn(serve(
        listener,
        source,
        preloaded,
        async move {
            let _ = rx.await;
        },
        grace,
    ));
    let channel = match Channel::from_shared(format!("http://{addr}")) {
        Ok(endpoint) => endpoint.connect_lazy(),
        Err(e) => panic!("endpoint: {e}"),
    };
    TestApp { addr, channel, shutdown: Some(tx), handle }
}

/// Starts the server with the embedded engine and a metrics endpoint on another port of
/// 127.0.0.1; waits until health reports SERVING. Returns the app and the metrics address.
pub async fn spawn_observed() -> (TestApp, SocketAddr) {
    let (listener, addr) = bind_loopback().await;
    let (metrics_listener, metrics_addr) = bind_loopback().await;
    let (tx, rx) = oneshot::channel::<()>();
    let handle = tokio::spawn(serve_observed(
        listener,
        Some(metrics_listener),
        Metrics::new(),
        EngineSource::default(),
        Some(shared_engine()),
        async move {
            let _ = rx.await;
        },
        std::time::Duration::from_secs(1),
    ));
    let channel = match Channel::from_shared(format!("http://{addr}")) {
        Ok(endpoint) => endpoint.connect_lazy(),
        Err(e) => panic!("endpoint: {e}"),
    };
    let app = TestApp { addr, channel, shutdown: Some(tx), handle };
    wait_serving(&app).await;
    (app, metrics_addr)
}

async fn bind_loopback() -> (TcpListener, SocketAddr) {
    let listener = match TcpListener::bind("127.0.0.1:0").await {
        Ok(l) => l,
        Err(e) => panic!("bind 127.0.0.1:0: {e}"),
    };
    match listener.local_addr() {
        Ok(addr) => (listener, addr),
        Err(e) => panic!("local_addr: {e}"),
    }
}

/// The services the server at `channel` lists through gRPC reflection (v1), by full name.
pub async fn reflected_services(channel: &Channel) -> std::collections::HashSet<String> {
    use tokio_stream::StreamExt;
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
    use tonic_reflection::pb::v1::ServerReflectionRequest;
    let mut client = ServerReflectionClient::new(channel.clone());
    let outbound = tokio_stream::iter(vec![ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    }]);
    let mut inbound = match client.server_reflection_info(outbound).await {
        Ok(answer) => answer.into_inner(),
        Err(e) => panic!("reflection: {e}"),
    };
    match inbound.next().await {
        Some(Ok(response)) => match response.message_response {
            Some(MessageResponse::ListServicesResponse(list)) => list.service.into_iter().map(|s| s.name).collect(),
            other => panic!("unexpected reflection answer: {other:?}"),
        },
        other => panic!("no reflection answer: {other:?}"),
    }
}

/// `GET path` over HTTP/1.1 on `addr`; returns the status line and the body.
pub async fn http_get(addr: SocketAddr, path: &str) -> (String, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = match tokio::net::TcpStream::connect(addr).await {
        Ok(s) => s,
        Err(e) => panic!("connect {addr}: {e}"),
    };
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    if let Err(e) = stream.write_all(request.as_bytes()).await {
        panic!("write: {e}");
    }
    let mut raw = String::new();
    if let Err(e) = stream.read_to_string(&mut raw).await {
        panic!("read: {e}");
    }
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((raw.as_str(), ""));
    let status = head.lines().next().unwrap_or_default().to_string();
    (status, body.to_string())
}

/// Waits (through the health Watch stream, no sleep) until the server reports SERVING.
pub async fn wait_serving(app: &TestApp) {
    wait_serving_on(app.channel.clone()).await;
}

/// [`wait_serving`] over any channel (e.g. a TLS one).
pub async fn wait_serving_on(channel: Channel) {
    let mut stream = match HealthClient::new(channel).watch(HealthCheckRequest { service: String::new() }).await {
        Ok(r) => r.into_inner(),
        Err(e) => panic!("health watch: {e}"),
    };
    loop {
        match stream.message().await {
            Ok(Some(msg)) if msg.status == ServingStatus::Serving as i32 => return,
            Ok(Some(_)) => continue,
            Ok(None) => panic!("health stream ended before SERVING"),
            Err(e) => panic!("health stream: {e}"),
        }
    }
}

/// Starts the server with `settings` (its `addr` is replaced by `127.0.0.1:0`), the given
/// API keys and, if given, a preloaded engine; does not wait for the model (see
/// [`wait_serving`]). `channel` is plain-text HTTP/2: with TLS settings,
/// build a TLS channel to `addr` instead.
pub async fn spawn_with_settings(settings: Settings, keys: Option<ApiKeys>, preloaded: Option<Arc<Engine>>) -> TestApp {
    let (listener, addr) = bind_loopback().await;
    let (tx, rx) = oneshot::channel::<()>();
    let handle = tokio::spawn(serve_with_settings(
        listener,
        settings,
        keys,
        preloaded,
        async move {
            let _ = rx.await;
        },
        tokio_stream::pending(),
    ));
    let channel = match Channel::from_shared(format!("http://{addr}")) {
        Ok(endpoint) => endpoint.connect_lazy(),
        Err(e) => panic!("endpoint: {e}"),
    };
    TestApp { addr, channel, shutdown: Some(tx), handle }
}
