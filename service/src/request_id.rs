//! Request ids: every gRPC call runs in a `tracing` span `grpc` carrying `request_id` and
//! `method`, so each log line of the call (JSON field `span.request_id`) can be joined to the
//! caller's own logs.
//!
//! The id is the caller's `x-request-id` metadata when it is 1 to [`MAX_REQUEST_ID_LEN`]
//! characters among `A-Z a-z 0-9 - _ . :` (anything else could forge log lines), otherwise a
//! fresh random 16-hex-digit id. It is echoed in the response's initial metadata (headers,
//! also for error answers) as `x-request-id`, and handlers can read it from the request
//! metadata.

use std::task::{Context, Poll};

use http::{HeaderValue, Request, Response};
use tracing::instrument::Instrumented;
use tracing::Instrument;

/// Metadata key of the request id, in requests and responses.
pub const HEADER: &str = "x-request-id";

/// Longest caller-supplied request id kept, in characters.
pub const MAX_REQUEST_ID_LEN: usize = 64;

/// The caller's id if it is acceptable, otherwise a new random one.
pub fn accept_or_generate(supplied: Option<&HeaderValue>) -> HeaderValue {
    if let Some(value) = supplied {
        let bytes = value.as_bytes();
        let acceptable = !bytes.is_empty()
            && bytes.len() <= MAX_REQUEST_ID_LEN
            && bytes.iter().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'));
        if acceptable {
            return value.clone();
        }
    }
    let id = format!("{:016x}", rand::random::<u64>());
    // Sixteen hex digits are always a valid header value.
    HeaderValue::from_str(&id).unwrap_or(HeaderValue::from_static("0000000000000000"))
}

/// Tower layer adding [`RequestIdService`].
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestIdLayer;

impl<S> tower_layer::Layer<S> for RequestIdLayer {
    type Service = RequestIdService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequestIdService { inner }
    }
}

/// Sets the request id on the request, runs the call in its span and echoes the id.
#[derive(Debug, Clone)]
pub struct RequestIdService<S> {
    inner: S,
}

impl<S, ReqBody, ResBody> tower_service::Service<Request<ReqBody>> for RequestIdService<S>
where
    S: tower_service::Service<Request<ReqBody>, Response = Response<ResBody>>,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = EchoId<Instrumented<S::Future>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        let id = accept_or_generate(request.headers().get(HEADER));
        request.headers_mut().insert(HEADER, id.clone());
        let span = tracing::info_span!(
            "grpc",
            request_id = %String::from_utf8_lossy(id.as_bytes()),
            method = %request.uri().path(),
        );
        // The inner service's `call` runs in the span too (the metrics layer records it there).
        let inner = span.in_scope(|| self.inner.call(request));
        EchoId { inner: inner.instrument(span), id: Some(id) }
    }
}

pin_project_lite::pin_project! {
    /// Future of [`RequestIdService`]: the inner response with `x-request-id` added.
    pub struct EchoId<F> {
        #[pin]
        inner: F,
        id: Option<HeaderValue>,
    }
}

impl<F, ResBody, E> std::future::Future for EchoId<F>
where
    F: std::future::Future<Output = Result<Response<ResBody>, E>>,
{
    type Output = Result<Response<ResBody>, E>;

    fn poll(self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        match this.inner.poll(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Ok(mut response)) => {
                if let Some(id) = this.id.take() {
                    response.headers_mut().insert(HEADER, id);
                }
                Poll::Ready(Ok(response))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::metrics::Metrics;
    use crate::telemetry::{subscriber, LogFormat};
    use tower_layer::Layer;
    use tower_service::Service;

    /// A gRPC handler stand-in: logs inside the call and answers INVALID_ARGUMENT
    /// trailers-only, as tonic does for an error.
    #[derive(Clone)]
    struct Handler;

    impl Service<Request<()>> for Handler {
        type Response = Response<http_body_util::Empty<bytes::Bytes>>;
        type Error = std::convert::Infallible;
        type Future = std::future::Ready<Result<Self::Response, Self::Error>>;

        fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
            Poll::Ready(Ok(()))
        }

        fn call(&mut self, request: Request<()>) -> Self::Future {
            tracing::info!(seen_id = ?request.headers().get(HEADER), "inside the handler");
            let mut response = Response::new(http_body_util::Empty::new());
            response.headers_mut().insert("grpc-status", HeaderValue::from_static("3"));
            std::future::ready(Ok(response))
        }
    }

    #[derive(Clone)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[tokio::test]
    async fn json_logs_of_a_call_carry_its_request_id_and_the_id_is_echoed() {
        let buffer = Buffer(Arc::new(Mutex::new(Vec::new())));
        let sink = buffer.clone();
        let filter = tracing_subscriber::EnvFilter::new("info");
        let _guard = tracing::subscriber::set_default(subscriber(LogFormat::Json, filter, false, move || sink.clone()));
        let metrics = Metrics::new();
        let mut service = RequestIdLayer.layer(metrics.layer().layer(Handler));
        let request = Request::builder()
            .uri("/passerelle.v1.PathwayService/RecommendPathways")
            .header(HEADER, "adviser-7")
            .body(())
            .unwrap();
        let response = service.call(request).await.unwrap();
        assert_eq!(response.headers().get(HEADER).unwrap(), "adviser-7");

        let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert_eq!(lines[0]["fields"]["message"], "inside the handler");
        assert_eq!(lines[1]["fields"]["message"], "call finished");
        assert_eq!(lines[1]["fields"]["code"], "INVALID_ARGUMENT");
        for line in &lines {
            assert_eq!(line["span"]["name"], "grpc", "{line}");
            assert_eq!(line["span"]["request_id"], "adviser-7", "{line}");
            assert_eq!(line["span"]["method"], "/passerelle.v1.PathwayService/RecommendPathways", "{line}");
        }
        assert!(metrics.encode().contains(
            "passerelle_grpc_requests_total{method=\"/passerelle.v1.PathwayService/RecommendPathways\",code=\"INVALID_ARGUMENT\"} 1\n"
        ));
    }

    #[test]
    fn a_clean_caller_id_is_kept() {
        let id = HeaderValue::from_static("adviser-42.req:7");
        assert_eq!(accept_or_generate(Some(&id)), id);
    }

    #[test]
    fn a_forged_or_long_id_is_replaced_by_a_random_one() {
        for bad in ["", "a b", "x\"y", "{\"level\":\"ERROR\"}", &"a".repeat(65)] {
            let supplied = HeaderValue::from_str(bad).ok();
            let id = accept_or_generate(supplied.as_ref());
            assert_eq!(id.len(), 16, "{bad:?}");
            assert!(id.as_bytes().iter().all(u8::is_ascii_hexdigit), "{bad:?}");
        }
        assert_eq!(accept_or_generate(None).len(), 16);
    }
}
