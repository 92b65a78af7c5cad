//! The request guard: one tower layer in front of every gRPC service that, for each call
//! other than health and reflection (which stay open and unlimited),
//!
//! 1. checks the API key when keys are configured → `UNAUTHENTICATED` ("missing or invalid
//!    API key", the same words whatever was wrong);
//! 2. takes one of `max_concurrent_requests` permits shared by all connections, without
//!    waiting → `RESOURCE_EXHAUSTED` at once when none is free (load shedding instead of an
//!    unbounded queue);
//! 3. bounds the call by the shorter of `request_timeout_ms` and the client's
//!    `grpc-timeout` → `DEADLINE_EXCEEDED` (tonic's own timeout would answer `CANCELLED`).
//!    The streaming batch calls ([`STREAMING_PREFIXES`]: a register or a cohort may take
//!    minutes) are bounded by the client's deadline only; their flow control bounds memory.
//!
//! A streaming call counts against `max_concurrent_requests` for its whole life: its permit
//! is held by the response body ([`PermitBody`]) until the stream's last frame (trailers) is
//! produced, the stream fails, or the client goes away (the body is dropped). Releasing it
//! when the answer headers are sent, as for a unary call, would let any number of
//! `ScoreProfiles` streams score at once. For the same reason the client's deadline bounds
//! the whole stream, not only its headers: when it passes, the stream ends with
//! `DEADLINE_EXCEEDED` trailers (answers already sent stay sent).
//!
//! Rejections are logged at debug level with the method only, never the request.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tonic::Status;

use crate::auth::ApiKeys;

/// Path prefixes of the services that stay open: health checks and reflection.
pub const OPEN_PREFIXES: [&str; 2] = ["/grpc.health.v1.Health/", "/grpc.reflection."];

/// Path prefixes of the streaming services that `request_timeout_ms` does not bound (the
/// client's `grpc-timeout` still does).
pub const STREAMING_PREFIXES: [&str; 1] = ["/passerelle.v1.BatchService/"];

/// What the guard enforces.
#[derive(Debug)]
struct GuardState {
    keys: Option<ApiKeys>,
    permits: Arc<Semaphore>,
    max_concurrent: usize,
    timeout: Duration,
}

/// The layer (see the module docs). Clones share one permit pool.
#[derive(Debug, Clone)]
pub struct GuardLayer {
    state: Arc<GuardState>,
}

impl GuardLayer {
    /// A guard with these keys (`None`: authentication off), at most `max_concurrent`
    /// calls in progress and a server-side limit of `timeout` per call.
    pub fn new(keys: Option<ApiKeys>, max_concurrent: usize, timeout: Duration) -> Self {
        GuardLayer {
            state: Arc::new(GuardState {
                keys,
                permits: Arc::new(Semaphore::new(max_concurrent)),
                max_concurrent,
                timeout,
            }),
        }
    }

    /// Calls in progress now (guarded calls only).
    pub fn in_flight(&self) -> usize {
        self.state.max_concurrent - self.state.permits.available_permits()
    }
}

impl<S> tower::Layer<S> for GuardLayer {
    type Service = Guard<S>;

    fn layer(&self, inner: S) -> Guard<S> {
        Guard { inner, state: Arc::clone(&self.state) }
    }
}

/// The guarded service (see [`GuardLayer`]).
#[derive(Debug, Clone)]
pub struct Guard<S> {
    inner: S,
    state: Arc<GuardState>,
}

pin_project_lite::pin_project! {
    /// The response body of a streaming call: holds the call's concurrency permit until
    /// the body ends (its trailers or an error are produced) or is dropped (client gone,
    /// connection closed); with a client deadline, ends the stream when it passes, with
    /// `DEADLINE_EXCEEDED` trailers.
    pub struct PermitBody {
        #[pin]
        inner: tonic::body::Body,
        permit: Option<OwnedSemaphorePermit>,
        deadline: Option<(Pin<Box<tokio::time::Sleep>>, Duration)>,
        expired: bool,
    }
}

impl PermitBody {
    /// `inner`, holding `permit` until it ends; when `deadline` is given (the instant and
    /// the client's `grpc-timeout` it comes from), the stream is cut there.
    pub fn wrap(
        inner: tonic::body::Body,
        permit: OwnedSemaphorePermit,
        deadline: Option<(tokio::time::Instant, Duration)>,
    ) -> tonic::body::Body {
        let deadline = deadline.map(|(at, limit)| (Box::pin(tokio::time::sleep_until(at)), limit));
        tonic::body::Body::new(PermitBody { inner, permit: Some(permit), deadline, expired: false })
    }
}

impl http_body::Body for PermitBody {
    type Data = bytes::Bytes;
    type Error = Status;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<bytes::Bytes>, Status>>> {
        let this = self.project();
        if *this.expired {
            return Poll::Ready(None);
        }
        if let Some((sleep, limit)) = this.deadline.as_mut() {
            if sleep.as_mut().poll(cx).is_ready() {
                *this.expired = true;
                this.permit.take();
                tracing::debug!(limit_ms = limit.as_millis() as u64, "stream cut at the client's deadline");
                let status = Status::deadline_exceeded(format!(
                    "deadline exceeded: the stream did not end within {} ms (the client's deadline)",
                    limit.as_millis()
                ));
                let mut trailers = http::HeaderMap::new();
                let _ = status.add_header(&mut trailers);
                return Poll::Ready(Some(Ok(http_body::Frame::trailers(trailers))));
            }
        }
        let frame = std::task::ready!(this.inner.poll_frame(cx));
        // The permit goes before the last frame is handed on, so a client that has read the
        // trailers finds the permit free.
        if !matches!(&frame, Some(Ok(f)) if f.is_data()) {
            this.permit.take();
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.expired || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// The reply to a refused call.
fn reject(status: Status) -> http::Response<tonic::body::Body> {
    status.into_http()
}

/// Parses a `grpc-timeout` header value: 1 to 8 digits and a unit (`H`, `M`, `S`, `m`,
/// `u`, `n`). `None` when absent or malformed (then only the server limit applies).
pub fn parse_grpc_timeout(value: &[u8]) -> Option<Duration> {
    let (digits, unit) = value.split_at(value.len().checked_sub(1)?);
    if digits.is_empty() || digits.len() > 8 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let n: u64 = std::str::from_utf8(digits).ok()?.parse().ok()?;
    Some(match unit {
        b"H" => Duration::from_secs(n * 3600),
        b"M" => Duration::from_secs(n * 60),
        b"S" => Duration::from_secs(n),
        b"m" => Duration::from_millis(n),
        b"u" => Duration::from_micros(n),
        b"n" => Duration::from_nanos(n),
        _ => return None,
    })
}

impl<S, B> tower::Service<http::Request<B>> for Guard<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<tonic::body::Body>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    B: Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        // The readied service answers this call; a fresh clone takes its place.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let path = request.uri().path();
        if OPEN_PREFIXES.iter().any(|p| path.starts_with(p)) {
            return Box::pin(inner.call(request));
        }
        let state = &self.state;
        if let Some(keys) = &state.keys {
            if !keys.authorizes(request.headers()) {
                tracing::debug!(method = path, "refused: missing or invalid API key");
                return Box::pin(std::future::ready(Ok(reject(Status::unauthenticated("missing or invalid API key")))));
            }
        }
        let Ok(permit) = Arc::clone(&state.permits).try_acquire_owned() else {
            tracing::debug!(method = path, "refused: overloaded");
            let status = Status::resource_exhausted(format!(
                "server overloaded: {} requests already in progress; retry with backoff",
                state.max_concurrent
            ));
            return Box::pin(std::future::ready(Ok(reject(status))));
        };
        let client_deadline = request.headers().get("grpc-timeout").and_then(|v| parse_grpc_timeout(v.as_bytes()));
        let streaming = STREAMING_PREFIXES.iter().any(|p| path.starts_with(p));
        let (limit, by_client) = match client_deadline {
            Some(d) if d < state.timeout || streaming => (d, true),
            _ if streaming => {
                return Box::pin(async move {
                    let answer = inner.call(request).await;
                    Ok(answer?.map(|body| PermitBody::wrap(body, permit, None)))
                });
            }
            _ => (state.timeout, false),
        };
        // tonic's transport also enforces the client's `grpc-timeout` around this layer and
        // answers CANCELLED; expiring 1 ms earlier makes this layer's DEADLINE_EXCEEDED the
        // answer (tonic polls the inner future before its own timer).
        let timer = if by_client { limit.saturating_sub(Duration::from_millis(1)) } else { limit };
        let method = path.to_string();
        let deadline = tokio::time::Instant::now() + timer;
        Box::pin(async move {
            let answer = tokio::time::timeout_at(deadline, inner.call(request)).await;
            match answer {
                Ok(Ok(response)) if streaming => {
                    Ok(response.map(|body| PermitBody::wrap(body, permit, Some((deadline, limit)))))
                }
                Ok(result) => result,
                Err(_) => {
                    tracing::debug!(method, limit_ms = limit.as_millis() as u64, by_client, "deadline exceeded");
                    let whose = if by_client { "the client's deadline" } else { "the server's request_timeout_ms" };
                    Ok(reject(Status::deadline_exceeded(format!(
                        "deadline exceeded: no answer within {} ms ({whose})",
                        limit.as_millis()
                    ))))
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use tower::{Layer, Service};

    #[test]
    fn grpc_timeout_values() {
        assert_eq!(parse_grpc_timeout(b"100m"), Some(Duration::from_millis(100)));
        assert_eq!(parse_grpc_timeout(b"2S"), Some(Duration::from_secs(2)));
        assert_eq!(parse_grpc_timeout(b"1H"), Some(Duration::from_secs(3600)));
        assert_eq!(parse_grpc_timeout(b"5n"), Some(Duration::from_nanos(5)));
        assert_eq!(parse_grpc_timeout(b"99999999u"), Some(Duration::from_micros(99_999_999)));
        for bad in [&b""[..], b"m", b"123456789m", b"10x", b"-1S", b"1.5S"] {
            assert_eq!(parse_grpc_timeout(bad), None, "{bad:?}");
        }
    }

    type Svc =
        tower::util::BoxCloneService<http::Request<()>, http::Response<tonic::body::Body>, std::convert::Infallible>;

    /// A service that answers OK after `delay`.
    fn slow(delay: Duration) -> Svc {
        tower::util::BoxCloneService::new(tower::service_fn(move |_req: http::Request<()>| async move {
            tokio::time::sleep(delay).await;
            Ok::<_, std::convert::Infallible>(http::Response::new(tonic::body::Body::default()))
        }))
    }

    fn code(response: &http::Response<tonic::body::Body>) -> Option<tonic::Code> {
        Status::from_header_map(response.headers()).map(|s| s.code())
    }

    fn req(path: &str) -> http::Request<()> {
        http::Request::builder().uri(path).body(()).unwrap()
    }

    #[tokio::test(start_paused = true)]
    async fn second_call_is_shed_while_the_first_holds_the_only_permit() {
        let layer = GuardLayer::new(None, 1, Duration::from_secs(60));
        let mut svc = layer.layer(slow(Duration::from_secs(5)));
        let first = tokio::spawn(svc.call(req("/passerelle.v1.PathwayService/RecommendPathways")));
        tokio::task::yield_now().await;
        // The first call's future has not run yet: the permit is taken at call time.
        assert_eq!(layer.in_flight(), 1);
        let second = svc.call(req("/passerelle.v1.PathwayService/RecommendPathways")).await.unwrap();
        assert_eq!(code(&second), Some(tonic::Code::ResourceExhausted));
        // Health stays open under load.
        let health = tokio::spawn(svc.call(req("/grpc.health.v1.Health/Check")));
        let first = first.await.unwrap().unwrap();
        assert_eq!(code(&first), None, "the first call is answered");
        assert_eq!(layer.in_flight(), 0);
        assert_eq!(code(&health.await.unwrap().unwrap()), None);
    }

    #[tokio::test(start_paused = true)]
    async fn the_shorter_of_client_and_server_deadline_wins() {
        let layer = GuardLayer::new(None, 4, Duration::from_secs(2));
        let mut svc = layer.layer(slow(Duration::from_secs(3)));
        let answer = svc.call(req("/x.Y/Z")).await.unwrap();
        assert_eq!(code(&answer), Some(tonic::Code::DeadlineExceeded));
        let status = Status::from_header_map(answer.headers()).unwrap();
        assert_eq!(status.message(), "deadline exceeded: no answer within 2000 ms (the server's request_timeout_ms)");
        let mut with_deadline = req("/x.Y/Z");
        with_deadline.headers_mut().insert("grpc-timeout", "500m".parse().unwrap());
        let started = tokio::time::Instant::now();
        let answer = svc.call(with_deadline).await.unwrap();
        assert_eq!(started.elapsed(), Duration::from_millis(499), "1 ms before tonic's own timer");
        let status = Status::from_header_map(answer.headers()).unwrap();
        assert_eq!(status.message(), "deadline exceeded: no answer within 500 ms (the client's deadline)");
        assert_eq!(layer.in_flight(), 0, "the permit is released on expiry");
    }

    #[tokio::test(start_paused = true)]
    async fn batch_streams_outlive_the_server_timeout_but_not_the_client_deadline() {
        let layer = GuardLayer::new(None, 4, Duration::from_secs(2));
        let mut svc = layer.layer(slow(Duration::from_secs(30)));
        let started = tokio::time::Instant::now();
        let answer = svc.call(req("/passerelle.v1.BatchService/AnalyzeCohort")).await.unwrap();
        assert_eq!(code(&answer), None, "a 30 s cohort is not cut at the server's 2 s");
        assert_eq!(started.elapsed(), Duration::from_secs(30));
        let mut with_deadline = req("/passerelle.v1.BatchService/ScoreProfiles");
        with_deadline.headers_mut().insert("grpc-timeout", "5S".parse().unwrap());
        let answer = svc.call(with_deadline).await.unwrap();
        let status = Status::from_header_map(answer.headers()).unwrap();
        assert_eq!(status.message(), "deadline exceeded: no answer within 5000 ms (the client's deadline)");
        assert_eq!(layer.in_flight(), 0);
    }

    type Frames = tokio::sync::mpsc::Sender<Result<http_body::Frame<bytes::Bytes>, Status>>;

    /// A service whose answers are streams fed by the senders it hands to `calls`.
    fn streaming(calls: tokio::sync::mpsc::UnboundedSender<Frames>) -> Svc {
        tower::util::BoxCloneService::new(tower::service_fn(move |_req: http::Request<()>| {
            let (tx, rx) = tokio::sync::mpsc::channel(4);
            let _ = calls.send(tx);
            let body = http_body_util::StreamBody::new(tokio_stream::wrappers::ReceiverStream::new(rx));
            std::future::ready(Ok::<_, std::convert::Infallible>(http::Response::new(tonic::body::Body::new(body))))
        }))
    }

    #[tokio::test]
    async fn a_batch_stream_holds_its_permit_until_its_trailers_or_until_dropped() {
        use http_body_util::BodyExt;
        let layer = GuardLayer::new(None, 1, Duration::from_secs(2));
        let (calls, mut senders) = tokio::sync::mpsc::unbounded_channel();
        let mut svc = layer.layer(streaming(calls));
        let mut stream = svc.call(req("/passerelle.v1.BatchService/ScoreProfiles")).await.unwrap().into_body();
        let frames = senders.recv().await.unwrap();
        // The answer headers are out; the stream goes on and still counts.
        assert_eq!(layer.in_flight(), 1);
        let shed = svc.call(req("/passerelle.v1.PathwayService/RecommendPathways")).await.unwrap();
        assert_eq!(code(&shed), Some(tonic::Code::ResourceExhausted));
        frames.send(Ok(http_body::Frame::data(bytes::Bytes::from_static(b"answer")))).await.unwrap();
        assert!(stream.frame().await.unwrap().unwrap().is_data());
        assert_eq!(layer.in_flight(), 1, "a data frame does not end the stream");
        let mut trailers = http::HeaderMap::new();
        trailers.insert("grpc-status", "0".parse().unwrap());
        frames.send(Ok(http_body::Frame::trailers(trailers))).await.unwrap();
        assert!(stream.frame().await.unwrap().unwrap().is_trailers());
        assert_eq!(layer.in_flight(), 0, "released with the last frame, before the client sees it");

        // A client that goes away mid-stream (the body is dropped) releases it too; so does a
        // stream with a client deadline (the server's timeout does not apply).
        let mut with_deadline = req("/passerelle.v1.BatchService/ScoreProfiles");
        with_deadline.headers_mut().insert("grpc-timeout", "5S".parse().unwrap());
        let stream = svc.call(with_deadline).await.unwrap().into_body();
        let _frames = senders.recv().await.unwrap();
        assert_eq!(layer.in_flight(), 1);
        drop(stream);
        assert_eq!(layer.in_flight(), 0);
        // A unary call releases its permit with its answer.
        let answer = svc.call(req("/passerelle.v1.PathwayService/RecommendPathways")).await.unwrap();
        assert_eq!((code(&answer), layer.in_flight()), (None, 0));
    }

    #[tokio::test(start_paused = true)]
    async fn a_batch_stream_is_cut_at_the_clients_deadline_with_deadline_exceeded_trailers() {
        use http_body::Body as _;
        use http_body_util::BodyExt;
        let layer = GuardLayer::new(None, 1, Duration::from_secs(2));
        let (calls, mut senders) = tokio::sync::mpsc::unbounded_channel();
        let mut svc = layer.layer(streaming(calls));
        let mut with_deadline = req("/passerelle.v1.BatchService/ScoreProfiles");
        with_deadline.headers_mut().insert("grpc-timeout", "5S".parse().unwrap());
        let started = tokio::time::Instant::now();
        let mut stream = svc.call(with_deadline).await.unwrap().into_body();
        let frames = senders.recv().await.unwrap();
        frames.send(Ok(http_body::Frame::data(bytes::Bytes::from_static(b"answer")))).await.unwrap();
        assert!(stream.frame().await.unwrap().unwrap().is_data());
        // Longer than the server's 2 s: only the client's deadline bounds a stream.
        let last = stream.frame().await.unwrap().unwrap();
        assert_eq!(started.elapsed(), Duration::from_millis(4999), "1 ms before tonic's own timer");
        let trailers = last.into_trailers().expect("trailers");
        let status = Status::from_header_map(&trailers).unwrap();
        assert_eq!(status.code(), tonic::Code::DeadlineExceeded);
        assert_eq!(
            status.message(),
            "deadline exceeded: the stream did not end within 5000 ms (the client's deadline)"
        );
        assert_eq!(layer.in_flight(), 0);
        assert!(stream.is_end_stream());
        assert!(stream.frame().await.is_none());
    }

    #[tokio::test]
    async fn keys_are_required_except_for_health_and_reflection() {
        let keys = ApiKeys::load(None, Some("0123456789abcdef-key")).unwrap();
        let layer = GuardLayer::new(keys, 4, Duration::from_secs(2));
        let mut svc = layer.layer(slow(Duration::ZERO));
        let answer = svc.call(req("/passerelle.v1.AdminService/ReloadModel")).await.unwrap();
        assert_eq!(code(&answer), Some(tonic::Code::Unauthenticated));
        let mut ok = req("/passerelle.v1.AdminService/ReloadModel");
        ok.headers_mut().insert("x-api-key", "0123456789abcdef-key".parse().unwrap());
        assert_eq!(code(&svc.call(ok).await.unwrap()), None);
        for open in ["/grpc.health.v1.Health/Check", "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"] {
            assert_eq!(code(&svc.call(req(open)).await.unwrap()), None, "{open}");
        }
    }
}
