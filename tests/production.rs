//! End to end, production behaviour: configured limits, deadlines, load shedding, API keys,
//! TLS and mutual TLS (certificates generated at test time with rcgen), model hot reload,
//! and graceful shutdown with requests in flight. The real server on 127.0.0.1 and a real
//! tonic client; no sleeps.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use passerelle_model::transition::ModelArtifact;
use passerelle_service::auth::ApiKeys;
use passerelle_service::proto::v1::{
    Profile, RecommendPathwaysRequest, RecommendPathwaysResponse, ReloadModelRequest, TargetSet,
};
use passerelle_service::settings::Settings;
use passerelle_tests::{shared_engine, spawn_with_settings, wait_serving, wait_serving_on, TestApp};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use tempfile::TempDir;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};
use tonic::{Code, Request, Status};
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::HealthCheckRequest;
use tonic_types::StatusExt;

const KEY: &str = "test-key-0123456789abcdef";

fn request(occupation: &str, top_k: Option<u32>) -> RecommendPathwaysRequest {
    RecommendPathwaysRequest {
        profile: Some(Profile { occupation_code: occupation.to_string(), ..Default::default() }),
        top_k,
        target_set: TargetSet::DigitalInfrastructure as i32,
        ..Default::default()
    }
}

fn settings() -> Settings {
    Settings { shutdown_grace_secs: 1, ..Settings::default() }
}

async fn started(settings: Settings, keys: Option<ApiKeys>) -> TestApp {
    let app = spawn_with_settings(settings, keys, Some(shared_engine())).await;
    wait_serving(&app).await;
    app
}

/// A fresh folder, removed when the returned guard is dropped: a test holds it until the
/// server reading its files has stopped.
fn temp_dir(name: &str) -> TempDir {
    tempfile::Builder::new().prefix(&format!("passerelle-prod-{name}-")).tempdir().unwrap()
}

/// A `RecommendPathways` call whose request message is only sent when the returned sender
/// is used: the server holds the call (and its permit) until then.
fn held_call(
    channel: Channel,
    timeout: Option<Duration>,
) -> (mpsc::Sender<RecommendPathwaysRequest>, tokio::task::JoinHandle<Result<RecommendPathwaysResponse, Status>>) {
    let (tx, rx) = mpsc::channel(1);
    let handle = tokio::spawn(async move {
        let mut grpc = tonic::client::Grpc::new(channel);
        grpc.ready().await.map_err(|e| Status::unavailable(e.to_string()))?;
        let mut req = Request::new(ReceiverStream::new(rx));
        if let Some(t) = timeout {
            req.set_timeout(t);
        }
        let path =
            tonic::codegen::http::uri::PathAndQuery::from_static("/passerelle.v1.PathwayService/RecommendPathways");
        let codec = tonic_prost::ProstCodec::<RecommendPathwaysRequest, RecommendPathwaysResponse>::default();
        grpc.client_streaming(req, path, codec).await.map(tonic::Response::into_inner)
    });
    (tx, handle)
}

type Held =
    (mpsc::Sender<RecommendPathwaysRequest>, tokio::task::JoinHandle<Result<RecommendPathwaysResponse, Status>>);

/// Starts `n` held calls and makes sure the server holds all of them: plain requests are
/// sent one at a time until one is shed (then every permit of a server with
/// `max_concurrent_requests = n` is taken by a held call). A held call shed because it
/// arrived while a plain request was in progress is started again. Returns the calls and the
/// shed request's status (panics after 1000 answers).
async fn hold(app: &TestApp, n: usize) -> (Vec<Held>, Status) {
    let mut calls: Vec<Held> = (0..n).map(|_| held_call(app.channel.clone(), None)).collect();
    for _ in 0..1000 {
        let mut restarted = false;
        for call in calls.iter_mut() {
            if call.1.is_finished() {
                *call = held_call(app.channel.clone(), None);
                restarted = true;
            }
        }
        if restarted {
            // Let the restarted calls reach the server before the next plain request takes a
            // permit (otherwise they can be shed again, round after round).
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        match app.pathways().recommend_pathways(request("I1315", Some(1))).await {
            Err(status) if status.code() == Code::ResourceExhausted => return (calls, status),
            Err(status) => panic!("unexpected {status:?}"),
            Ok(_) => tokio::task::yield_now().await,
        }
    }
    panic!("no request was shed");
}

#[tokio::test]
async fn the_clients_deadline_gives_deadline_exceeded() {
    let app = started(settings(), None).await;
    // A bare hyper client: tonic's Channel would also enforce the deadline on its side and
    // answer CANCELLED first; here only the server's answer can arrive.
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .http2_only(true)
        .build::<_, tonic::body::Body>(hyper_util::client::legacy::connect::HttpConnector::new());
    let mut grpc = tonic::client::Grpc::with_origin(client, format!("http://{}", app.addr).parse().unwrap());
    grpc.ready().await.unwrap();
    let (_tx, rx) = mpsc::channel::<RecommendPathwaysRequest>(1);
    let mut req = Request::new(ReceiverStream::new(rx));
    req.metadata_mut().insert("grpc-timeout", "300m".parse().unwrap());
    let path = tonic::codegen::http::uri::PathAndQuery::from_static("/passerelle.v1.PathwayService/RecommendPathways");
    let codec = tonic_prost::ProstCodec::<RecommendPathwaysRequest, RecommendPathwaysResponse>::default();
    let status = grpc.client_streaming(req, path, codec).await.expect_err("the request never completes");
    assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");
    assert_eq!(status.message(), "deadline exceeded: no answer within 300 ms (the client's deadline)");
    app.stop().await.expect("clean stop");
}

#[tokio::test]
async fn the_servers_request_timeout_gives_deadline_exceeded() {
    let app = started(Settings { request_timeout_ms: 200, ..settings() }, None).await;
    let (_tx, call) = held_call(app.channel.clone(), Some(Duration::from_secs(30)));
    let status = call.await.unwrap().expect_err("the request never completes");
    assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");
    assert_eq!(status.message(), "deadline exceeded: no answer within 200 ms (the server's request_timeout_ms)");
    app.stop().await.expect("clean stop");
}

#[tokio::test]
async fn an_oversize_message_is_out_of_range() {
    let app = started(Settings { max_request_bytes: 1024, ..settings() }, None).await;
    let mut req = request("I1315", None);
    // 200 codes of 6 digits: 200 × 8 bytes of protobuf, over 1024.
    req.profile.as_mut().unwrap().item_codes = vec!["100023".to_string(); 200];
    let status = app.pathways().recommend_pathways(req).await.expect_err("too large");
    // tonic 0.14 answers OUT_OF_RANGE for a message over the decoding limit.
    assert_eq!(status.code(), Code::OutOfRange, "{status:?}");
    assert_eq!(status.message(), "Error, decoded message length too large: found 1612 bytes, the limit is: 1024 bytes");
    // A small request on the same connection still works.
    app.pathways().recommend_pathways(request("I1315", Some(3))).await.expect("small request");
    app.stop().await.expect("clean stop");
}

#[tokio::test]
async fn configured_item_and_top_k_limits_are_invalid_argument() {
    let app = started(Settings { max_profile_items: 3, max_top_k: 20, ..settings() }, None).await;
    let mut req = request("I1315", None);
    req.profile.as_mut().unwrap().item_codes = vec!["100023".to_string(); 4];
    let status = app.pathways().recommend_pathways(req).await.expect_err("too many items");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(status.message(), "profile.item_codes: 4 entries, at most 3 are accepted");
    let details = status.get_error_details();
    assert_eq!(details.bad_request().unwrap().field_violations[0].field, "profile.item_codes");

    let status = app.pathways().recommend_pathways(request("I1315", Some(21))).await.expect_err("top_k");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(status.message(), "top_k: 21 is out of range 1..=20");
    let ok = app.pathways().recommend_pathways(request("I1315", Some(20))).await.expect("at the limit");
    assert_eq!(ok.into_inner().pathways.len(), 20);
    app.stop().await.expect("clean stop");
}

/// Sends `requests` through one `ScoreProfiles` stream (ids 0, 1, …); each answer as
/// (field, message) for an error record, ("", "N pathways") for a result. The stream must
/// go on to its end.
async fn score_outcomes(app: &TestApp, requests: Vec<RecommendPathwaysRequest>) -> Vec<(String, String)> {
    use passerelle_service::proto::v1::batch_service_client::BatchServiceClient;
    use passerelle_service::proto::v1::{score_profiles_response::Outcome, ScoreProfilesRequest};
    let stream = tokio_stream::iter(
        requests.into_iter().enumerate().map(|(i, r)| ScoreProfilesRequest { id: i.to_string(), request: Some(r) }),
    );
    let mut answers = BatchServiceClient::new(app.channel.clone()).score_profiles(stream).await.unwrap().into_inner();
    let mut outcomes = Vec::new();
    while let Some(answer) = answers.message().await.expect("the stream goes on") {
        outcomes.push(match answer.outcome.unwrap() {
            Outcome::Error(e) => (e.field, e.message),
            Outcome::Result(r) => (String::new(), format!("{} pathways", r.pathways.len())),
        });
    }
    outcomes
}

/// `ScoreProfiles` answered `top_k` 50 and 4 items past quotas of 20 and 3, and its default
/// `top_k` ignored a smaller `max_top_k`: its requests now meet the quotas of
/// `RecommendPathways`, each breach that request's error record.
#[tokio::test]
async fn configured_limits_apply_to_each_request_of_a_score_profiles_stream() {
    let app = started(Settings { max_profile_items: 3, max_top_k: 5, ..settings() }, None).await;
    let mut items = request("I1315", None);
    items.profile.as_mut().unwrap().item_codes = vec!["100023".to_string(); 4];
    let requests = vec![request("I1315", Some(6)), items, request("I1315", None), request("I1315", Some(5))];
    let outcomes: Vec<String> =
        score_outcomes(&app, requests).await.into_iter().map(|(field, text)| format!("{field} {text}")).collect();
    assert_eq!(
        outcomes,
        [
            "request.top_k request.top_k: 6 is out of range 1..=5",
            "request.profile.item_codes request.profile.item_codes: 4 entries, at most 3 are accepted",
            " 5 pathways",
            " 5 pathways",
        ]
    );
    app.stop().await.expect("clean stop");
}

/// `AnalyzeCohort` took 50 moves per person and 4 items past quotas of 5 and 3, and
/// defaulted to 10 moves: the options and each profile now meet the quotas.
#[tokio::test]
async fn configured_limits_apply_to_a_cohort_and_each_of_its_profiles() {
    use passerelle_service::proto::v1::batch_service_client::BatchServiceClient;
    use passerelle_service::proto::v1::{AnalyzeCohortRequest, CohortOptions, CohortProfile};
    let app = started(Settings { max_profile_items: 3, max_top_k: 5, ..settings() }, None).await;
    let mut batch = BatchServiceClient::new(app.channel.clone());
    let person = |id: &str, items: usize| CohortProfile {
        id: id.to_string(),
        profile: Some(Profile {
            occupation_code: "I1315".to_string(),
            item_codes: vec!["100023".to_string(); items],
            ..Default::default()
        }),
    };
    let options = CohortOptions { moves_per_person: Some(6), ..Default::default() };
    let message = AnalyzeCohortRequest { options: Some(options), profiles: vec![person("a", 0)] };
    let status = batch.analyze_cohort(tokio_stream::iter([message])).await.expect_err("over max_top_k");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(status.message(), "messages[0].options.moves_per_person: 6 is out of range 1..=5");
    let message = AnalyzeCohortRequest { options: None, profiles: vec![person("a", 3), person("b", 4)] };
    let report = batch.analyze_cohort(tokio_stream::iter([message])).await.expect("a report").into_inner();
    assert_eq!((report.people, report.moves_per_person, report.refused), (1, 5, 1));
    let error = report.refused_profiles[0].error.clone().unwrap();
    assert_eq!(error.field, "messages[0].profiles[1].profile.item_codes");
    assert_eq!(error.message, "messages[0].profiles[1].profile.item_codes: 4 entries, at most 3 are accepted");
    app.stop().await.expect("clean stop");
}

/// `PlanTraining` and `ExplorePathways` took profiles past `max_profile_items`.
#[tokio::test]
async fn the_item_quota_applies_to_training_plans_and_explorations() {
    use passerelle_service::proto::v1::{ExplorePathwaysRequest, PlanTrainingRequest};
    let app = started(Settings { max_profile_items: 3, ..settings() }, None).await;
    let profile = |items: usize, removed: usize| {
        Some(Profile {
            occupation_code: "I1315".to_string(),
            item_codes: vec!["100023".to_string(); items],
            removed_item_codes: vec!["100063".to_string(); removed],
            ..Default::default()
        })
    };
    let plan = |p| PlanTrainingRequest { profile: p, target_occupation_code: "F1623".into(), ..Default::default() };
    let status = app.training().plan_training(plan(profile(4, 0))).await.expect_err("over the quota");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(status.message(), "profile.item_codes: 4 entries, at most 3 are accepted");
    assert_eq!(status.get_error_details().bad_request().unwrap().field_violations[0].field, "profile.item_codes");
    app.training().plan_training(plan(profile(3, 3))).await.expect("at the quota");
    let explore = ExplorePathwaysRequest { profile: profile(0, 4), max_intermediates: Some(0), ..Default::default() };
    let status = app.training().explore_pathways(explore).await.expect_err("over the quota");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(status.message(), "profile.removed_item_codes: 4 entries, at most 3 are accepted");
    app.stop().await.expect("clean stop");
}

/// One `ScoreProfiles` answer over `max_response_bytes` ended the whole stream with
/// `OUT_OF_RANGE` (tonic's encoder), losing the requests after it: it is now that request's
/// error record and the stream goes on.
#[tokio::test]
async fn a_score_profiles_answer_over_the_response_limit_is_its_error_record() {
    let app = started(Settings { max_response_bytes: 65536, ..settings() }, None).await;
    let mut big = request("I1315", Some(100));
    big.target_set = TargetSet::All as i32;
    big.max_other_skills = Some(1000);
    let outcomes = score_outcomes(&app, vec![request("I1315", Some(1)), big, request("I1315", Some(2))]).await;
    assert_eq!(outcomes.len(), 3, "{outcomes:?}");
    assert_eq!(outcomes[0].1, "1 pathways");
    assert_eq!(outcomes[2].1, "2 pathways");
    assert_eq!(outcomes[1].0, "request");
    let len: usize = outcomes[1].1.split(' ').nth(4).and_then(|n| n.parse().ok()).expect("a size");
    assert!(len > 65536, "{len}");
    assert_eq!(
        outcomes[1].1,
        format!(
            "request: the answer is {len} bytes, over the server's limit of 65536 (max_response_bytes); ask a smaller \
             top_k or max_other_skills"
        )
    );
    app.stop().await.expect("clean stop");
}

#[tokio::test]
async fn overload_is_resource_exhausted_at_once_and_health_stays_open() {
    let app = started(Settings { max_concurrent_requests: 1, ..settings() }, None).await;
    let (mut calls, status) = hold(&app, 1).await;
    let (tx, held) = calls.remove(0);
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert_eq!(status.message(), "server overloaded: 1 requests already in progress; retry with backoff");
    let health = app.health().check(HealthCheckRequest { service: String::new() }).await.expect("health is open");
    assert_eq!(health.into_inner().status, ServingStatus::Serving as i32);
    // The held call completes once its message arrives, and frees its permit.
    tx.send(request("I1315", Some(2))).await.unwrap();
    drop(tx);
    assert_eq!(held.await.unwrap().expect("held call answered").pathways.len(), 2);
    app.pathways().recommend_pathways(request("I1315", Some(1))).await.expect("capacity is back");
    app.stop().await.expect("clean stop");
}

#[tokio::test]
async fn a_score_profiles_stream_counts_against_the_concurrency_limit_for_its_whole_life() {
    use passerelle_service::proto::v1::batch_service_client::BatchServiceClient;
    use passerelle_service::proto::v1::ScoreProfilesRequest;
    let app = started(Settings { max_concurrent_requests: 1, ..settings() }, None).await;
    let mut batch = BatchServiceClient::new(app.channel.clone());
    let (tx, rx) = mpsc::channel(1);
    let mut answers = batch.score_profiles(ReceiverStream::new(rx)).await.expect("stream accepted").into_inner();
    tx.send(ScoreProfilesRequest { id: "a".into(), request: Some(request("I1315", Some(2))) }).await.unwrap();
    let first = answers.message().await.expect("an answer").expect("not the end");
    assert_eq!(first.id, "a");
    // The stream's headers and first answer are out; it still holds the only permit.
    let shed = app.pathways().recommend_pathways(request("I1315", Some(1))).await.expect_err("shed");
    assert_eq!(shed.code(), Code::ResourceExhausted, "{shed:?}");
    assert_eq!(shed.message(), "server overloaded: 1 requests already in progress; retry with backoff");
    let (_tx2, rx2) = mpsc::channel::<ScoreProfilesRequest>(1);
    let second = batch.score_profiles(ReceiverStream::new(rx2)).await.expect_err("a second stream is shed");
    assert_eq!(second.code(), Code::ResourceExhausted);
    // The client ends its stream: the server ends its own and frees the permit before its
    // trailers are sent.
    drop(tx);
    assert!(answers.message().await.expect("a clean end").is_none());
    app.pathways().recommend_pathways(request("I1315", Some(1))).await.expect("capacity is back");
    app.stop().await.expect("clean stop");
}

#[tokio::test]
async fn a_score_profiles_stream_ends_at_the_clients_deadline_and_frees_its_permit() {
    use passerelle_service::proto::v1::batch_service_client::BatchServiceClient;
    use passerelle_service::proto::v1::ScoreProfilesRequest;
    let app = started(Settings { max_concurrent_requests: 1, ..settings() }, None).await;
    let mut batch = BatchServiceClient::new(app.channel.clone());
    let (tx, rx) = mpsc::channel(1);
    let mut req = Request::new(ReceiverStream::new(rx));
    req.set_timeout(Duration::from_millis(300));
    let mut answers = batch.score_profiles(req).await.expect("stream accepted").into_inner();
    tx.send(ScoreProfilesRequest { id: "a".into(), request: Some(request("I1315", Some(1))) }).await.unwrap();
    assert_eq!(answers.message().await.expect("an answer").expect("not the end").id, "a");
    // The client keeps its stream open and sends nothing more: the server ends it.
    let status = answers.message().await.expect_err("cut at the deadline");
    assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");
    assert_eq!(status.message(), "deadline exceeded: the stream did not end within 300 ms (the client's deadline)");
    app.pathways().recommend_pathways(request("I1315", Some(1))).await.expect("the permit is free");
    drop(tx);
    app.stop().await.expect("clean stop");
}

#[tokio::test]
async fn api_keys_are_required_except_for_health_and_reflection() {
    let keys = ApiKeys::load(None, Some(KEY)).unwrap();
    let app = started(settings(), keys).await;
    let status = app.pathways().recommend_pathways(request("I1315", Some(1))).await.expect_err("no key");
    assert_eq!((status.code(), status.message()), (Code::Unauthenticated, "missing or invalid API key"));

    let mut wrong = Request::new(request("I1315", Some(1)));
    wrong.metadata_mut().insert("authorization", "Bearer test-key-0123456789abcdeX".parse().unwrap());
    let status = app.pathways().recommend_pathways(wrong).await.expect_err("wrong key");
    assert_eq!((status.code(), status.message()), (Code::Unauthenticated, "missing or invalid API key"));

    let mut bad_scheme = Request::new(request("I1315", Some(1)));
    bad_scheme.metadata_mut().insert("authorization", format!("Basic {KEY}").parse().unwrap());
    let status = app.pathways().recommend_pathways(bad_scheme).await.expect_err("wrong scheme");
    assert_eq!((status.code(), status.message()), (Code::Unauthenticated, "missing or invalid API key"));

    let status = app.admin().reload_model(ReloadModelRequest {}).await.expect_err("admin needs a key");
    assert_eq!(status.code(), Code::Unauthenticated);

    for (header, value) in [("authorization", format!("Bearer {KEY}")), ("x-api-key", KEY.to_string())] {
        let mut ok = Request::new(request("I1315", Some(1)));
        ok.metadata_mut().insert(header, value.parse().unwrap());
        app.pathways().recommend_pathways(ok).await.expect(header);
    }
    let health = app.health().check(HealthCheckRequest { service: String::new() }).await.expect("health open");
    assert_eq!(health.into_inner().status, ServingStatus::Serving as i32);
    app.stop().await.expect("clean stop");
}

/// A CA, a server certificate for `localhost` and a client certificate, all signed by it.
struct Pki {
    ca_pem: String,
    server: (String, String),
    client: (String, String),
}

fn pki(name: &str) -> Pki {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(DnType::CommonName, format!("Passerelle test CA {name}"));
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let leaf = |san: &str| {
        let key = KeyPair::generate().unwrap();
        let cert = CertificateParams::new(vec![san.to_string()]).unwrap().signed_by(&key, &ca).unwrap();
        (cert.pem(), key.serialize_pem())
    };
    Pki { ca_pem: ca.pem(), server: leaf("localhost"), client: leaf("client.passerelle.test") }
}

fn tls_settings(dir: &std::path::Path, server: &Pki, client_ca: Option<&str>) -> Settings {
    std::fs::write(dir.join("server.pem"), &server.server.0).unwrap();
    std::fs::write(dir.join("server.key"), &server.server.1).unwrap();
    let tls_client_ca = client_ca.map(|pem| {
        std::fs::write(dir.join("client-ca.pem"), pem).unwrap();
        dir.join("client-ca.pem")
    });
    Settings {
        tls_cert: Some(dir.join("server.pem")),
        tls_key: Some(dir.join("server.key")),
        tls_client_ca,
        ..settings()
    }
}

async fn tls_channel(app: &TestApp, ca_pem: &str, identity: Option<&(String, String)>) -> Result<Channel, String> {
    let mut tls = ClientTlsConfig::new().ca_certificate(Certificate::from_pem(ca_pem)).domain_name("localhost");
    if let Some((cert, key)) = identity {
        tls = tls.identity(Identity::from_pem(cert, key));
    }
    let endpoint = Channel::from_shared(format!("https://{}", app.addr)).unwrap().tls_config(tls).unwrap();
    endpoint.connect().await.map_err(|e| format!("{e:?}"))
}

async fn tls_call(channel: Channel) -> Result<usize, Status> {
    let mut client = passerelle_service::proto::v1::pathway_service_client::PathwayServiceClient::new(channel);
    Ok(client.recommend_pathways(request("I1315", Some(2))).await?.into_inner().pathways.len())
}

#[tokio::test]
async fn tls_handshake_with_the_wrong_ca_fails() {
    let dir = temp_dir("tls");
    let good = pki("good");
    let other = pki("other");
    let app = spawn_with_settings(tls_settings(dir.path(), &good, None), None, Some(shared_engine())).await;
    wait_serving_on(tls_channel(&app, &good.ca_pem, None).await.expect("TLS connect")).await;
    // Trusting another CA: the server certificate is refused.
    let refused = match tls_channel(&app, &other.ca_pem, None).await {
        Err(e) => e,
        Ok(channel) => tls_call(channel).await.expect_err("must fail").to_string(),
    };
    assert!(refused.to_lowercase().contains("certificate") || refused.contains("transport"), "{refused}");
    // Trusting the right CA works, and plain text is not served.
    let channel = tls_channel(&app, &good.ca_pem, None).await.expect("TLS connect");
    assert_eq!(tls_call(channel).await.expect("TLS call"), 2);
    assert!(app.pathways().recommend_pathways(request("I1315", Some(1))).await.is_err(), "plain text refused");
    app.stop().await.expect("clean stop");
}

#[tokio::test]
async fn mutual_tls_requires_a_client_certificate_from_the_ca() {
    let dir = temp_dir("mtls");
    let good = pki("mtls");
    let stranger = pki("stranger");
    let app =
        spawn_with_settings(tls_settings(dir.path(), &good, Some(&good.ca_pem)), None, Some(shared_engine())).await;
    wait_serving_on(tls_channel(&app, &good.ca_pem, Some(&good.client)).await.expect("mTLS connect")).await;
    for identity in [None, Some(&stranger.client)] {
        let outcome = match tls_channel(&app, &good.ca_pem, identity).await {
            Err(e) => Err(e),
            Ok(channel) => tls_call(channel).await.map_err(|s| s.to_string()),
        };
        assert!(outcome.is_err(), "client certificate {:?} must be refused", identity.is_some());
    }
    let channel = tls_channel(&app, &good.ca_pem, Some(&good.client)).await.expect("mTLS connect");
    assert_eq!(tls_call(channel).await.expect("mTLS call"), 2);
    app.stop().await.expect("clean stop");
}

/// The committed model with one hyperparameter changed: a valid artifact, another checksum.
fn variant_artifact() -> (String, String) {
    let mut artifact = ModelArtifact::from_json(passerelle_model::embedded::MODEL_JSON).unwrap();
    artifact.params.seed += 1;
    let json = artifact.to_json().unwrap();
    (json, artifact.checksum)
}

async fn served_checksum(app: &TestApp) -> String {
    let response = app.pathways().recommend_pathways(request("I1315", Some(1))).await.expect("served");
    response.into_inner().info.expect("info").model_checksum
}

#[tokio::test]
async fn reload_swaps_a_good_model_and_refuses_a_bad_one() {
    let dir = temp_dir("reload");
    let path = dir.path().join("model.json");
    std::fs::write(&path, passerelle_model::embedded::MODEL_JSON).unwrap();
    let original = ModelArtifact::from_json(passerelle_model::embedded::MODEL_JSON).unwrap().checksum;
    let app = spawn_with_settings(Settings { model: Some(path.clone()), ..settings() }, None, None).await;
    wait_serving(&app).await;
    assert_eq!(served_checksum(&app).await, original);

    // Same file: same checksum.
    let same = app.admin().reload_model(ReloadModelRequest {}).await.expect("reload").into_inner();
    assert_eq!((same.checksum.as_str(), same.changed), (original.as_str(), false));

    // A new valid artifact: swapped, answers use it.
    let (json, checksum) = variant_artifact();
    assert_ne!(checksum, original);
    std::fs::write(&path, json).unwrap();
    let done = app.admin().reload_model(ReloadModelRequest {}).await.expect("reload").into_inner();
    assert_eq!(done.checksum, checksum);
    assert_eq!(done.previous_checksum, original);
    assert!(done.changed);
    assert_eq!(done.model_path, path.display().to_string());
    assert_eq!(done.model_kind, "linfa-logistic cascade (2 stages)");
    assert_eq!(served_checksum(&app).await, checksum);

    // A corrupt artifact: refused, the previous model keeps serving.
    std::fs::write(&path, "{ not json").unwrap();
    let status = app.admin().reload_model(ReloadModelRequest {}).await.expect_err("refused");
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
    assert!(
        status
            .message()
            .starts_with(&format!("model artifact refused: {}: not a Passerelle model artifact", path.display())),
        "{}",
        status.message()
    );
    assert!(status.message().ends_with(&format!("; still serving model {checksum}")), "{}", status.message());
    let details = status.get_error_details();
    let violation = &details.precondition_failure().expect("PreconditionFailure").violations[0];
    assert_eq!((violation.r#type.as_str(), violation.subject.clone()), ("MODEL_ARTIFACT", path.display().to_string()));
    assert_eq!(served_checksum(&app).await, checksum);

    // A missing file: refused too.
    std::fs::remove_file(&path).unwrap();
    let status = app.admin().reload_model(ReloadModelRequest {}).await.expect_err("refused");
    assert_eq!(status.code(), Code::FailedPrecondition);
    let details = status.get_error_details();
    let violation = &details.precondition_failure().expect("PreconditionFailure").violations[0];
    assert_eq!((violation.r#type.as_str(), violation.subject.clone()), ("MODEL_ARTIFACT", path.display().to_string()));
    assert_eq!(served_checksum(&app).await, checksum);
    app.stop().await.expect("clean stop");
}

/// A reload re-reads the target sets too: one refused for its target-set file named the
/// artifact as the file at fault (type `MODEL_ARTIFACT`, subject the model path).
#[tokio::test]
async fn a_reload_refused_for_its_target_sets_names_that_file() {
    let dir = temp_dir("reload-sets");
    let (model, sets) = (dir.path().join("model.json"), dir.path().join("sets.toml"));
    std::fs::write(&model, passerelle_model::embedded::MODEL_JSON).unwrap();
    std::fs::write(&sets, passerelle_model::embedded::TARGET_SETS_TOML).unwrap();
    let settings = Settings { model: Some(model.clone()), target_sets: Some(sets.clone()), ..settings() };
    let app = spawn_with_settings(settings, None, None).await;
    wait_serving(&app).await;
    let checksum = served_checksum(&app).await;

    std::fs::write(&sets, "").unwrap();
    let status = app.admin().reload_model(ReloadModelRequest {}).await.expect_err("refused");
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
    assert_eq!(
        status.message(),
        format!(
            "{}: no target set defined (`[sets.NAME]` with a `description`); the file replaces the embedded sets, so \
             it would leave only the built-in ALL; still serving model {checksum}",
            sets.display()
        )
    );
    let details = status.get_error_details();
    let violation = &details.precondition_failure().expect("PreconditionFailure").violations[0];
    assert_eq!((violation.r#type.as_str(), violation.subject.clone()), ("DATA_FILE", sets.display().to_string()));
    assert_eq!(served_checksum(&app).await, checksum);
    app.stop().await.expect("clean stop");
}

#[tokio::test]
async fn reload_without_a_model_path_is_failed_precondition() {
    let app = started(settings(), None).await;
    let status = app.admin().reload_model(ReloadModelRequest {}).await.expect_err("nothing to reload");
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert_eq!(
        status.message(),
        "no model path configured (the embedded model is served); start with --model PATH to enable reload"
    );
    app.stop().await.expect("clean stop");
}

#[tokio::test]
async fn shutdown_with_requests_in_flight_loses_none() {
    const IN_FLIGHT: usize = 6;
    let app =
        started(Settings { max_concurrent_requests: IN_FLIGHT, shutdown_grace_secs: 5, ..settings() }, None).await;
    let mut watch =
        app.health().watch(HealthCheckRequest { service: String::new() }).await.expect("watch").into_inner();
    assert_eq!(watch.message().await.unwrap().unwrap().status, ServingStatus::Serving as i32);
    // Every permit is held once a plain request is shed: all the calls are in the server.
    let (calls, _) = hold(&app, IN_FLIGHT).await;

    let stopping = tokio::spawn(app.stop());
    assert_eq!(watch.message().await.unwrap().unwrap().status, ServingStatus::NotServing as i32);
    for (i, (tx, _)) in calls.iter().enumerate() {
        tx.send(request("I1315", Some(1 + i as u32))).await.unwrap();
    }
    for (i, (tx, call)) in calls.into_iter().enumerate() {
        drop(tx);
        let answer = call.await.unwrap().unwrap_or_else(|s| panic!("call {i} lost: {s:?}"));
        assert_eq!(answer.pathways.len(), 1 + i);
    }
    drop(watch);
    stopping.await.unwrap().expect("clean stop");
}

#[tokio::test]
async fn unreadable_or_unusable_tls_files_stop_the_server_naming_the_setting() {
    let dir = temp_dir("badtls");
    let missing = dir.path().join("absent.pem");
    let app = spawn_with_settings(
        Settings { tls_cert: Some(missing.clone()), tls_key: Some(missing.clone()), ..settings() },
        None,
        Some(shared_engine()),
    )
    .await;
    let err = app.join().await.expect_err("refused").to_string();
    assert!(err.starts_with(&format!("invalid setting `tls_cert`: {}: cannot read: ", missing.display())), "{err}");

    // Each file is checked for what its setting needs, and the setting at fault named:
    // rustls said `peer sent no certificates` (tls_cert) and `no root trust anchors were
    // provided` (tls_client_ca), under all three keys.
    let garbage = dir.path().join("garbage.pem");
    std::fs::write(&garbage, "not a certificate").unwrap();
    let good = pki("badtls");
    let good = tls_settings(dir.path(), &good, Some(&good.ca_pem));
    let broken = dir.path().join("broken.pem");
    std::fs::write(&broken, "-----BEGIN CERTIFICATE-----\nMIIB\n").unwrap();
    let (cert, key) = (good.tls_cert.clone().unwrap(), good.tls_key.clone().unwrap());
    for (settings, expected) in [
        (
            Settings { tls_cert: Some(garbage.clone()), ..good.clone() },
            format!(
                "invalid setting `tls_cert`: {}: no PEM certificate (-----BEGIN CERTIFICATE-----) in the file",
                garbage.display()
            ),
        ),
        (
            // A certificate where the key belongs.
            Settings { tls_key: Some(cert.clone()), ..good.clone() },
            format!(
                "invalid setting `tls_key`: {}: no PEM private key (-----BEGIN PRIVATE KEY-----, RSA PRIVATE KEY \
                 or EC PRIVATE KEY) in the file",
                cert.display()
            ),
        ),
        (
            // The server's key where the clients' CA belongs.
            Settings { tls_client_ca: Some(key.clone()), ..good.clone() },
            format!(
                "invalid setting `tls_client_ca`: {}: no PEM certificate (-----BEGIN CERTIFICATE-----) in the file",
                key.display()
            ),
        ),
        (
            Settings { tls_client_ca: Some(broken.clone()), ..good.clone() },
            format!(
                "invalid setting `tls_client_ca`: {}: not valid PEM (a section without its END line, or not base64)",
                broken.display()
            ),
        ),
    ] {
        let app = spawn_with_settings(settings, None, Some(shared_engine())).await;
        let err = app.join().await.expect_err("refused").to_string();
        assert_eq!(err, expected);
    }
    // A certificate and a key that do not belong together are only seen by rustls.
    let other = pki("badtls-other");
    let other_key = dir.path().join("other.key");
    std::fs::write(&other_key, &other.server.1).unwrap();
    let app = spawn_with_settings(Settings { tls_key: Some(other_key), ..good }, None, Some(shared_engine())).await;
    let err = app.join().await.expect_err("refused").to_string();
    assert!(
        err.starts_with(
            "invalid setting `tls_cert, tls_key or tls_client_ca`: not a usable PEM certificate, key or CA: "
        ),
        "{err}"
    );
}

#[tokio::test]
async fn a_connection_over_max_connections_is_closed() {
    let app = started(Settings { max_connections: 1, ..settings() }, None).await;
    // `app.channel` holds the only connection (wait_serving used it).
    let second = async {
        let channel = Channel::from_shared(format!("http://{}", app.addr)).unwrap().connect().await?;
        passerelle_service::proto::v1::pathway_service_client::PathwayServiceClient::new(channel)
            .recommend_pathways(request("I1315", Some(1)))
            .await
            .map_err(|s| Box::new(s) as Box<dyn std::error::Error + Send + Sync>)?;
        Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
    };
    assert!(second.await.is_err(), "the second connection must be refused");
    // The first connection is unaffected.
    app.pathways().recommend_pathways(request("I1315", Some(1))).await.expect("first connection serves");
    app.stop().await.expect("clean stop");
}
