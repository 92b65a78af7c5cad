//! Observability end to end: Prometheus metrics scraped over HTTP after real calls, and the
//! request id echoed in response metadata.

use passerelle_service::proto::v1::{Profile, RecommendPathwaysRequest, TargetSet};
use passerelle_tests::{http_get, shared_engine, spawn_observed};
use tonic::Code;

fn fibre_splicer() -> RecommendPathwaysRequest {
    RecommendPathwaysRequest {
        profile: Some(Profile { occupation_code: "I1315".into(), ..Default::default() }),
        top_k: Some(5),
        target_set: TargetSet::DigitalInfrastructure as i32,
        ..Default::default()
    }
}

const RECOMMEND: &str = "/passerelle.v1.PathwayService/RecommendPathways";

#[tokio::test]
async fn metrics_count_two_calls_exactly_by_method_and_status() {
    let (app, metrics_addr) = spawn_observed().await;
    app.pathways().recommend_pathways(fibre_splicer()).await.expect("valid request");
    let mut unknown = fibre_splicer();
    unknown.profile = Some(Profile { occupation_code: "Z9999".into(), ..Default::default() });
    let err = app.pathways().recommend_pathways(unknown).await.expect_err("unknown ROME code");
    assert_eq!(err.code(), Code::InvalidArgument);

    let (status, body) = http_get(metrics_addr, "/metrics").await;
    assert_eq!(status, "HTTP/1.1 200 OK");
    let lines: Vec<&str> = body.lines().collect();
    for expected in [
        format!("passerelle_grpc_requests_total{{method=\"{RECOMMEND}\",code=\"OK\"}} 1"),
        format!("passerelle_grpc_requests_total{{method=\"{RECOMMEND}\",code=\"INVALID_ARGUMENT\"}} 1"),
        format!("passerelle_grpc_request_duration_seconds_count{{method=\"{RECOMMEND}\"}} 2"),
        // Both calls took less than 10 s.
        format!("passerelle_grpc_request_duration_seconds_bucket{{le=\"10.0\",method=\"{RECOMMEND}\"}} 2"),
    ] {
        assert!(lines.contains(&expected.as_str()), "missing `{expected}` in\n{body}");
    }
    // The histogram is cumulative: bucket counts never decrease and end at the call count.
    // (How many calls fall in the small buckets depends on the machine: not asserted.)
    let prefix = "passerelle_grpc_request_duration_seconds_bucket{le=\"";
    let buckets: Vec<u64> = lines
        .iter()
        .filter(|l| l.starts_with(prefix) && l.contains(&format!("method=\"{RECOMMEND}\"")))
        .filter_map(|l| l.rsplit(' ').next()?.parse().ok())
        .collect();
    assert!(buckets.len() > 2, "{body}");
    assert!(buckets.windows(2).all(|w| w[0] <= w[1]), "not cumulative: {buckets:?}");
    assert_eq!(buckets.last(), Some(&2), "{body}");
    let info = shared_engine().model_info().clone();
    let model_line = format!(
        "passerelle_model_info{{checksum=\"{}\",kind=\"{}\",trained_on=\"{}\",calibrated=\"true\"}} 1",
        info.checksum, info.model_kind, info.trained_on
    );
    assert!(lines.contains(&model_line.as_str()), "missing `{model_line}` in\n{body}");
    assert!(lines.iter().any(|l| l.starts_with("passerelle_model_load_seconds ")), "{body}");
    assert_eq!(lines.last(), Some(&"# EOF"));

    let (status, _) = http_get(metrics_addr, "/").await;
    assert_eq!(status, "HTTP/1.1 404 Not Found");
    app.stop().await.expect("clean stop");
}

#[tokio::test]
async fn request_id_is_echoed_or_generated() {
    let (app, _) = spawn_observed().await;
    let mut request = tonic::Request::new(fibre_splicer());
    request.metadata_mut().insert("x-request-id", "adviser-42".parse().expect("ascii"));
    let response = app.pathways().recommend_pathways(request).await.expect("valid request");
    assert_eq!(response.metadata().get("x-request-id").expect("echoed"), "adviser-42");

    // Errors are trailers-only answers: the id is still in their metadata.
    let mut bad = tonic::Request::new(RecommendPathwaysRequest::default());
    bad.metadata_mut().insert("x-request-id", "has space".parse().expect("ascii"));
    let status = app.pathways().recommend_pathways(bad).await.expect_err("no profile");
    assert_eq!(status.code(), Code::InvalidArgument);
    let generated = status.metadata().get("x-request-id").expect("generated").to_str().expect("ascii");
    assert_eq!(generated.len(), 16, "{generated}");
    assert!(generated.bytes().all(|b| b.is_ascii_hexdigit()), "{generated}");
    app.stop().await.expect("clean stop");
}
