//! Prometheus metrics: a tower layer over the gRPC server that counts, times and logs every
//! call, and a tiny HTTP endpoint serving `GET /metrics` on its own port.
//!
//! Exposed series (OpenMetrics text, `prometheus-client`):
//!
//! | series | type | labels | meaning |
//! |---|---|---|---|
//! | `passerelle_grpc_requests_total` | counter | `method`, `code` | finished calls by gRPC method path and status code name (`OK`, `INVALID_ARGUMENT`, …) |
//! | `passerelle_grpc_request_duration_seconds` | histogram | `method` | seconds from the request's arrival to the end of the response body |
//! | `passerelle_grpc_requests_in_flight` | gauge | | calls started and not yet finished |
//! | `passerelle_model_info` | gauge (1) | `checksum`, `kind`, `trained_on`, `calibrated` | the model served (absent until it is loaded) |
//! | `passerelle_model_load_seconds` | gauge | | seconds taken to load data, model and feature index |
//!
//! `method` is the gRPC path (`/passerelle.v1.PathwayService/RecommendPathways`) of one of
//! the methods the server implements ([`METHODS`]); a call to any other path is counted
//! under `method="other"`, whatever its status (`UNIMPLEMENTED`, or `UNAUTHENTICATED` /
//! `RESOURCE_EXHAUSTED` from the guard, which answers before the path is routed), so
//! arbitrary paths cannot grow the number of series. A call whose client went away before
//! the status was sent counts as `CANCELLED`.
//!
//! No label carries request content: profiles are personal data.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderMap, Request, Response, StatusCode};
use http_body::{Body, Frame, SizeHint};
use http_body_util::Full;
use passerelle_model::engine::ModelInfo;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use tokio::net::TcpListener;
use tonic::Code;

/// Upper bounds of the latency histogram buckets, in seconds (100 µs to 10 s).
pub const LATENCY_BUCKETS_SECS: [f64; 16] =
    [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// `method` label of calls to paths the server does not implement.
pub const OTHER_METHOD: &str = "other";

/// The gRPC paths the server implements, each its own `method` label; any other path is
/// counted under [`OTHER_METHOD`].
pub const METHODS: [&str; 12] = [
    "/passerelle.v1.PathwayService/RecommendPathways",
    "/passerelle.v1.TrainingService/PlanTraining",
    "/passerelle.v1.TrainingService/ExplorePathways",
    "/passerelle.v1.SearchService/SearchOccupations",
    "/passerelle.v1.SearchService/SearchSkills",
    "/passerelle.v1.BatchService/ScoreProfiles",
    "/passerelle.v1.BatchService/AnalyzeCohort",
    "/passerelle.v1.AdminService/ReloadModel",
    "/grpc.health.v1.Health/Check",
    "/grpc.health.v1.Health/Watch",
    "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
    "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
];

/// Content type of the OpenMetrics text exposition.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallLabels {
    method: String,
    code: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct MethodLabels {
    method: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ModelLabels {
    checksum: String,
    kind: String,
    trained_on: String,
    calibrated: &'static str,
}

type HistogramMaker = fn() -> Histogram;

fn latency_histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS_SECS)
}

/// The metrics of one server (one registry per server, so tests running several servers in
/// one process see only their own counts).
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: Family<CallLabels, Counter>,
    latency: Family<MethodLabels, Histogram, HistogramMaker>,
    in_flight: Gauge,
    model_info: Family<ModelLabels, Gauge>,
    model_load_seconds: Gauge<f64, AtomicU64>,
}

impl Metrics {
    /// A fresh registry with every series registered (counts at zero, no model yet).
    pub fn new() -> Arc<Self> {
        let mut registry = Registry::default();
        let requests = Family::<CallLabels, Counter>::default();
        let latency = Family::<MethodLabels, Histogram, HistogramMaker>::new_with_constructor(
            latency_histogram as HistogramMaker,
        );
        let in_flight = Gauge::default();
        let model_info = Family::<ModelLabels, Gauge>::default();
        let model_load_seconds = Gauge::<f64, AtomicU64>::default();
        registry.register(
            "passerelle_grpc_requests",
            "Finished gRPC calls by method path and status code name",
            requests.clone(),
        );
        registry.register(
            "passerelle_grpc_request_duration_seconds",
            "Seconds from a gRPC request's arrival to the end of its response",
            latency.clone(),
        );
        registry.register(
            "passerelle_grpc_requests_in_flight",
            "gRPC calls started and not finished",
            in_flight.clone(),
        );
        registry.register("passerelle_model_info", "The model served (value 1)", model_info.clone());
        registry.register(
            "passerelle_model_load_seconds",
            "Seconds taken to load the ROME data, target sets, model and feature index",
            model_load_seconds.clone(),
        );
        Arc::new(Metrics { registry, requests, latency, in_flight, model_info, model_load_seconds })
    }

    /// Records the model now served and how long it took to load. A previous model's info
    /// series is removed (one model is served at a time).
    pub fn model_loaded(&self, info: &ModelInfo, elapsed: Duration) {
        self.model_info.clear();
        let labels = ModelLabels {
            checksum: info.checksum.clone(),
            kind: info.model_kind.clone(),
            trained_on: info.trained_on.clone(),
            calibrated: if info.calibrated { "true" } else { "false" },
        };
        self.model_info.get_or_create(&labels).set(1);
        self.model_load_seconds.set(elapsed.as_secs_f64());
    }

    /// The OpenMetrics text exposition of every series.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }

    /// The tower layer that observes every call of the gRPC server.
    pub fn layer(self: &Arc<Self>) -> MetricsLayer {
        MetricsLayer { metrics: Arc::clone(self) }
    }

    fn start(self: &Arc<Self>, path: &str) -> CallRecord {
        // Only the implemented paths: the guard answers any other path (UNAUTHENTICATED,
        // RESOURCE_EXHAUSTED) before routing, so its status says nothing about the path.
        let method = METHODS.iter().find(|&&m| m == path).copied().unwrap_or(OTHER_METHOD).to_string();
        self.in_flight.inc();
        CallRecord {
            metrics: Arc::clone(self),
            method,
            started: Instant::now(),
            code: None,
            span: tracing::Span::current(),
        }
    }
}

/// The canonical name of a gRPC status code (`OK`, `INVALID_ARGUMENT`, …), as in the gRPC
/// specification's status-codes table.
pub fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

fn grpc_status(headers: &HeaderMap) -> Option<Code> {
    headers.get("grpc-status").map(|v| Code::from_bytes(v.as_bytes()))
}

/// One call being observed; recorded (counter, histogram, in-flight, access log) when the
/// response body ends or is dropped.
#[derive(Debug)]
struct CallRecord {
    metrics: Arc<Metrics>,
    method: String,
    started: Instant,
    /// The status once seen (in the headers of a trailers-only answer, or in the trailers).
    code: Option<Code>,
    /// The request's span (request id), so the access log line carries it.
    span: tracing::Span,
}

impl Drop for CallRecord {
    fn drop(&mut self) {
        let elapsed = self.started.elapsed();
        let metrics = &self.metrics;
        metrics.in_flight.dec();
        let method = std::mem::take(&mut self.method);
        let code = code_name(self.code.unwrap_or(Code::Cancelled));
        tracing::info!(
            parent: &self.span,
            method = %method,
            code,
            elapsed_us = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX),
            "call finished"
        );
        metrics.latency.get_or_create(&MethodLabels { method: method.clone() }).observe(elapsed.as_secs_f64());
        metrics.requests.get_or_create(&CallLabels { method, code }).inc();
    }
}

/// Tower layer adding [`MetricsService`]; see the module docs for the series.
#[derive(Debug, Clone)]
pub struct MetricsLayer {
    metrics: Arc<Metrics>,
}

impl<S> tower_layer::Layer<S> for MetricsLayer {
    type Service = MetricsService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        MetricsService { inner, metrics: Arc::clone(&self.metrics) }
    }
}

/// Observes each call of the wrapped HTTP/2 (gRPC) service.
#[derive(Debug, Clone)]
pub struct MetricsService<S> {
    inner: S,
    metrics: Arc<Metrics>,
}

impl<S, ReqBody, ResBody> tower_service::Service<Request<ReqBody>> for MetricsService<S>
where
    S: tower_service::Service<Request<ReqBody>, Response = Response<ResBody>>,
{
    type Response = Response<MetricsBody<ResBody>>;
    type Error = S::Error;
    type Future = MetricsFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let record = self.metrics.start(request.uri().path());
        MetricsFuture { inner: self.inner.call(request), record: Some(record) }
    }
}

pin_project_lite::pin_project! {
    /// Future of [`MetricsService`]: the inner response with its body wrapped.
    pub struct MetricsFuture<F> {
        #[pin]
        inner: F,
        record: Option<CallRecord>,
    }
}

impl<F, ResBody, E> Future for MetricsFuture<F>
where
    F: Future<Output = Result<Response<ResBody>, E>>,
{
    type Output = Result<Response<MetricsBody<ResBody>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = match this.inner.poll(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(result) => result,
        };
        let mut record = this.record.take();
        Poll::Ready(match result {
            Ok(response) => {
                if let Some(code) = grpc_status(response.headers()) {
                    // A trailers-only answer (most errors) carries its status in the headers and
                    // has no body: record it now, before the client can see it.
                    if let Some(mut record) = record.take() {
                        record.code = Some(code);
                    }
                }
                Ok(response.map(|inner| MetricsBody { inner, record }))
            }
            Err(err) => {
                if let Some(record) = record.as_mut() {
                    record.code = Some(Code::Internal);
                }
                Err(err)
            }
        })
    }
}

pin_project_lite::pin_project! {
    /// Response body of [`MetricsService`]: records the call when it ends or is dropped.
    pub struct MetricsBody<B> {
        #[pin]
        inner: B,
        record: Option<CallRecord>,
    }
}

impl<B: Body> Body for MetricsBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.project();
        let polled = this.inner.poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(trailers) = frame.trailers_ref() {
                    // Trailers end a gRPC response: record it before they reach the client.
                    if let Some(mut record) = this.record.take() {
                        record.code = grpc_status(trailers).or(Some(Code::Unknown));
                    }
                }
            }
            Poll::Ready(None) => {
                // End of the response: record it now rather than when hyper drops the body.
                this.record.take();
            }
            Poll::Ready(Some(Err(_))) => {
                if let Some(record) = this.record.as_mut() {
                    record.code.get_or_insert(Code::Internal);
                }
            }
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Most connections the metrics endpoint keeps open at once; more are closed as soon as
/// they are accepted. A scraper needs one; without a bound, idle connections (each held up
/// to the 10 s header timeout) could take every file descriptor of the process, and the
/// gRPC listener's with them.
pub const METRICS_MAX_CONNECTIONS: usize = 16;

/// Serves `GET /metrics` (OpenMetrics text) over HTTP/1.1 on `listener` until the task is
/// dropped or aborted; any other path is 404, any other method 405. At most
/// [`METRICS_MAX_CONNECTIONS`] connections are open at once.
pub async fn serve_endpoint(listener: TcpListener, metrics: Arc<Metrics>) {
    serve_endpoint_limited(listener, metrics, METRICS_MAX_CONNECTIONS).await;
}

/// [`serve_endpoint`] with at most `max` open connections.
async fn serve_endpoint_limited(listener: TcpListener, metrics: Arc<Metrics>, max: usize) {
    let permits = Arc::new(tokio::sync::Semaphore::new(max));
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                // E.g. too many open files: wait a little rather than spin.
                tracing::warn!("metrics endpoint: accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(permit) = Arc::clone(&permits).try_acquire_owned() else {
            tracing::debug!(max, "metrics endpoint: connection refused, {max} already open");
            drop(stream);
            continue;
        };
        let metrics = Arc::clone(&metrics);
        tokio::spawn(async move {
            let _permit = permit;
            let service = hyper::service::service_fn(move |request: Request<hyper::body::Incoming>| {
                let answer = respond(&metrics, request.method(), request.uri().path());
                async move { Ok::<_, Infallible>(answer) }
            });
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(Duration::from_secs(10))
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service);
            if let Err(e) = connection.await {
                tracing::debug!("metrics endpoint connection: {e}");
            }
        });
    }
}

fn respond(metrics: &Metrics, method: &http::Method, path: &str) -> Response<Full<Bytes>> {
    let (status, content_type, body) = match (method, path) {
        (&http::Method::GET, "/metrics") => (StatusCode::OK, CONTENT_TYPE, metrics.encode()),
        (_, "/metrics") => (StatusCode::METHOD_NOT_ALLOWED, "text/plain", "only GET\n".to_string()),
        _ => (StatusCode::NOT_FOUND, "text/plain", "try /metrics\n".to_string()),
    };
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static(content_type));
    if status == StatusCode::METHOD_NOT_ALLOWED {
        // RFC 9110 §15.5.6: a 405 says which methods the resource has.
        response.headers_mut().insert(http::header::ALLOW, http::HeaderValue::from_static("GET"));
    }
    response
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn empty_registry_has_every_family_and_no_sample() {
        let text = Metrics::new().encode();
        assert!(!text.contains("passerelle_grpc_requests_total"), "{text}");
        assert!(text.contains("passerelle_grpc_requests_in_flight 0\n"), "{text}");
        assert!(text.contains("passerelle_model_load_seconds 0.0"), "{text}");
        assert!(text.ends_with("# EOF\n"), "{text}");
    }

    #[test]
    fn a_finished_call_is_counted_timed_and_leaves_flight() {
        let metrics = Metrics::new();
        let mut record = metrics.start("/passerelle.v1.PathwayService/RecommendPathways");
        let in_flight = "passerelle_grpc_requests_in_flight";
        assert!(metrics.encode().contains(&format!("{in_flight} 1\n")));
        record.code = Some(Code::InvalidArgument);
        drop(record);
        let text = metrics.encode();
        assert!(text.contains(&format!("{in_flight} 0\n")), "{text}");
        assert!(text.contains(
            "passerelle_grpc_requests_total{method=\"/passerelle.v1.PathwayService/RecommendPathways\",code=\"INVALID_ARGUMENT\"} 1\n"
        ), "{text}");
        assert!(text.contains(
            "passerelle_grpc_request_duration_seconds_count{method=\"/passerelle.v1.PathwayService/RecommendPathways\"} 1\n"
        ), "{text}");
    }

    #[test]
    fn unimplemented_paths_and_vanished_clients() {
        let metrics = Metrics::new();
        let mut record = metrics.start("/attacker.Chosen/Path123");
        record.code = Some(Code::Unimplemented);
        drop(record);
        drop(metrics.start("/grpc.health.v1.Health/Check"));
        let text = metrics.encode();
        assert!(text.contains("passerelle_grpc_requests_total{method=\"other\",code=\"UNIMPLEMENTED\"} 1\n"), "{text}");
        assert!(!text.contains("attacker"), "{text}");
        assert!(
            text.contains(
                "passerelle_grpc_requests_total{method=\"/grpc.health.v1.Health/Check\",code=\"CANCELLED\"} 1\n"
            ),
            "{text}"
        );
    }

    /// A client without an API key made one series per path it invented: the guard answers
    /// UNAUTHENTICATED (or RESOURCE_EXHAUSTED) before the router's UNIMPLEMENTED.
    #[test]
    fn paths_refused_by_the_guard_are_counted_as_other() {
        let metrics = Metrics::new();
        for (path, code) in [
            ("/passerelle.v1.PathwayService/Attacker1", Code::Unauthenticated),
            ("/passerelle.v1.PathwayService/Attacker2", Code::Unauthenticated),
            ("/x/y", Code::ResourceExhausted),
            ("/passerelle.v1.PathwayService/RecommendPathways", Code::Unauthenticated),
        ] {
            let mut record = metrics.start(path);
            record.code = Some(code);
            drop(record);
        }
        let text = metrics.encode();
        assert!(
            text.contains("passerelle_grpc_requests_total{method=\"other\",code=\"UNAUTHENTICATED\"} 2\n"),
            "{text}"
        );
        assert!(
            text.contains("passerelle_grpc_requests_total{method=\"other\",code=\"RESOURCE_EXHAUSTED\"} 1\n"),
            "{text}"
        );
        assert!(text.contains(
            "passerelle_grpc_requests_total{method=\"/passerelle.v1.PathwayService/RecommendPathways\",code=\"UNAUTHENTICATED\"} 1\n"
        ), "{text}");
        assert!(!text.contains("Attacker") && !text.contains("/x/y"), "{text}");
    }

    /// [`METHODS`] lists every `rpc` of the contract's services.
    #[test]
    fn every_rpc_of_the_contract_has_its_label() {
        for proto in [
            include_str!("../../proto/passerelle/v1/pathways.proto"),
            include_str!("../../proto/passerelle/v1/training.proto"),
            include_str!("../../proto/passerelle/v1/search.proto"),
            include_str!("../../proto/passerelle/v1/batch.proto"),
            include_str!("../../proto/passerelle/v1/admin.proto"),
        ] {
            let mut service = "";
            for line in proto.lines().map(str::trim) {
                if let Some(rest) = line.strip_prefix("service ") {
                    service = rest.split_whitespace().next().unwrap();
                } else if let Some(rest) = line.strip_prefix("rpc ") {
                    let rpc = rest.split('(').next().unwrap().trim();
                    let path = format!("/passerelle.v1.{service}/{rpc}");
                    assert!(METHODS.contains(&path.as_str()), "{path} is not in METHODS");
                }
            }
        }
        let ours = METHODS.iter().filter(|m| m.starts_with("/passerelle.v1.")).count();
        assert_eq!(ours, 8, "METHODS lists an rpc the contract does not have");
    }

    #[test]
    fn endpoint_answers_only_get_metrics() {
        let metrics = Metrics::new();
        assert_eq!(respond(&metrics, &http::Method::GET, "/metrics").status(), StatusCode::OK);
        let post = respond(&metrics, &http::Method::POST, "/metrics");
        assert_eq!(post.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(post.headers().get(http::header::ALLOW).map(|v| v.as_bytes()), Some(&b"GET"[..]));
        assert_eq!(respond(&metrics, &http::Method::GET, "/").status(), StatusCode::NOT_FOUND);
    }

    /// Idle connections were unbounded: each held a file descriptor for up to 10 s, so a
    /// flood could exhaust the process's descriptors, the gRPC listener's included.
    #[tokio::test]
    async fn the_endpoint_keeps_at_most_its_connection_limit_open() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(serve_endpoint_limited(listener, Metrics::new(), 2));
        let get = || async move {
            let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
            let mut answer = Vec::new();
            // A refused connection is closed unread: end of stream or a reset.
            let request = b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
            if stream.write_all(request).await.is_ok() {
                let _ = stream.read_to_end(&mut answer).await;
            }
            String::from_utf8_lossy(&answer).lines().next().unwrap_or_default().to_string()
        };
        let idle_1 = tokio::net::TcpStream::connect(addr).await.unwrap();
        let idle_2 = tokio::net::TcpStream::connect(addr).await.unwrap();
        assert_eq!(get().await, "", "a third connection is closed without an answer");
        drop((idle_1, idle_2));
        // The two slots come back once the server has seen the idle connections close.
        let mut answer = String::new();
        for _ in 0..200 {
            answer = get().await;
            if !answer.is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(answer, "HTTP/1.1 200 OK");
        server.abort();
    }

    #[test]
    fn every_code_has_its_canonical_name() {
        assert_eq!(code_name(Code::from_bytes(b"0")), "OK");
        assert_eq!(code_name(Code::from_bytes(b"3")), "INVALID_ARGUMENT");
        assert_eq!(code_name(Code::from_bytes(b"14")), "UNAVAILABLE");
        assert_eq!(code_name(Code::from_bytes(b"16")), "UNAUTHENTICATED");
    }
}
