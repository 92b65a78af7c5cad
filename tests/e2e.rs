//! End to end: the real server on 127.0.0.1, a real tonic client, the embedded ROME v460
//! data and committed model.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod batch;

use std::collections::HashSet;

use passerelle_service::proto::v1::{Profile, RecommendPathwaysRequest, TargetSet};
use passerelle_service::server::{EngineSource, ServeError};
use passerelle_tests::{reflected_services, shared_engine, spawn_app, spawn_with};
use tonic::Code;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::HealthCheckRequest;
use tonic_types::StatusExt;

/// SearchService, job titles and labour-market tension (issue #7).
mod search;

fn request(occupation: &str, set: TargetSet, top_k: Option<u32>) -> RecommendPathwaysRequest {
    RecommendPathwaysRequest {
        profile: Some(Profile { occupation_code: occupation.to_string(), ..Default::default() }),
        top_k,
        target_set: set as i32,
        ..Default::default()
    }
}

#[tokio::test]
async fn health_reports_serving_for_the_server_and_the_service() {
    let app = spawn_app().await;
    for service in ["", "passerelle.v1.PathwayService"] {
        let status = app
            .health()
            .check(HealthCheckRequest { service: service.to_string() })
            .await
            .expect("health check")
            .into_inner()
            .status;
        assert_eq!(status, ServingStatus::Serving as i32, "service `{service}`");
    }
    app.stop().await.expect("clean stop");
}

#[tokio::test]
async fn reflection_lists_the_pathway_service() {
    let app = spawn_app().await;
    let names = reflected_services(&app.channel).await;
    assert!(names.contains("passerelle.v1.PathwayService"), "{names:?}");
    assert!(names.contains("grpc.health.v1.Health"), "{names:?}");
    app.stop().await.expect("clean stop");
}

#[tokio::test]
async fn fibre_splicer_gets_digital_infrastructure_pathways() {
    let app = spawn_app().await;
    let response = app
        .pathways()
        .recommend_pathways(request("I1315", TargetSet::DigitalInfrastructure, Some(10)))
        .await
        .expect("valid request")
        .into_inner();
    let codes: Vec<&str> =
        response.pathways.iter().filter_map(|p| p.occupation.as_ref()).map(|o| o.code.as_str()).collect();
    assert_eq!(codes.len(), 10);
    // I1311 is France Travail's closest mobility (numero_ordre 1) for I1315.
    assert!(codes[..5].contains(&"I1311"), "{codes:?}");
    assert!(!codes.contains(&"I1315"));
    assert!(response.pathways.iter().all(|p| (0.0..=1.0).contains(&p.probability)));
    // Curated moves first in France Travail's order, then by probability.
    let curated: Vec<u32> = response.pathways.iter().map(|p| p.curated_order).collect();
    assert_eq!(curated[..5], [1, 2, 6, 7, 0]);
    assert!(response.pathways[4..].windows(2).all(|w| w[0].probability >= w[1].probability));
    assert_eq!(response.target_set, "DIGITAL_INFRASTRUCTURE");
    assert_eq!(response.anchor_occupation.as_ref().map(|o| o.code.as_str()), Some("I1315"));
    assert!(!response.anchor_inferred);
    let info = response.info.expect("provenance");
    assert!(info.data_source.contains("France Travail"));
    assert!(info.probability_basis.contains("unix_rubrique_mobilite"));
    assert!(info.ranking_basis.contains("curated_order"));

    // Each gap lists only items of the target that the profile lacks.
    let engine = shared_engine();
    let cat = engine.catalogue();
    let items_of = |code: &str| -> HashSet<String> {
        let id = cat.occupation_id(code).expect("known code");
        cat.occupation(id).items.iter().map(|l| cat.item(l.item).code.to_string()).collect()
    };
    let own = items_of("I1315");
    for p in &response.pathways {
        let code = &p.occupation.as_ref().expect("occupation").code;
        let target = items_of(code);
        assert!(!p.missing_core_skills.is_empty() || !p.matched_core_skills.is_empty());
        for s in p.missing_core_skills.iter().chain(&p.missing_other_skills) {
            assert!(target.contains(&s.code), "{code}: {} is not an item of the target", s.code);
            assert!(!own.contains(&s.code), "{code}: {} is already held", s.code);
        }
        assert!(p.missing_core_skills.iter().all(|s| s.core));
        assert!(p.missing_other_skills.iter().all(|s| !s.core));
        for s in &p.matched_core_skills {
            assert!(own.contains(&s.code) && target.contains(&s.code) && s.core);
        }
    }
    app.stop().await.expect("clean stop");
}

#[tokio::test]
async fn grpc_answer_equals_the_engine_answer() {
    let app = spawn_app().await;
    let mut req = request("", TargetSet::All, Some(3));
    req.profile = Some(Profile {
        occupation_code: String::new(),
        item_codes: vec!["100023".into(), "100063".into()],
        ..Default::default()
    });
    let response = app.pathways().recommend_pathways(req).await.expect("valid").into_inner();
    assert!(response.anchor_inferred);
    assert_eq!(response.profile_items, 2);
    let direct = shared_engine()
        .recommend(&passerelle_model::engine::RecommendQuery {
            profile: passerelle_model::engine::ProfileQuery {
                occupation_code: None,
                item_codes: vec!["100023".into(), "100063".into()],
                ..Default::default()
            },
            top_k: Some(3),
            target_set: "ALL".into(),
            include_current_occupation: false,
            model_only: false,
            tension_weight: 0.0,
            max_other_skills: None,
        })
        .expect("valid");
    let grpc: Vec<(String, f64)> = response
        .pathways
        .iter()
        .map(|p| (p.occupation.as_ref().map(|o| o.code.clone()).unwrap_or_default(), p.probability))
        .collect();
    let local: Vec<(String, f64)> = direct.results.iter().map(|r| (r.occupation.code.clone(), r.probability)).collect();
    assert_eq!(grpc, local);
    app.stop().await.expect("clean stop");
}

/// Asserts INVALID_ARGUMENT with a BadRequest violation on `field` and the exact message.
async fn assert_invalid(req: RecommendPathwaysRequest, field: &str, message: &str) {
    let app = spawn_app().await;
    let status = app.pathways().recommend_pathways(req).await.expect_err("must be refused");
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert_eq!(status.message(), message);
    let details = status.get_error_details();
    let violation = &details.bad_request().expect("BadRequest details").field_violations[0];
    assert_eq!(violation.field, field);
    app.stop().await.expect("clean stop");
}

#[tokio::test]
async fn unknown_rome_code_is_invalid_argument() {
    assert_invalid(
        request("X9999", TargetSet::All, None),
        "profile.occupation_code",
        "profile.occupation_code: unknown ROME code `X9999`",
    )
    .await;
}

#[tokio::test]
async fn long_values_are_echoed_short() {
    // Error messages travel in headers: a 10,000-character code must not blow them up.
    let long = "A".repeat(10_000);
    let expected = format!("profile.occupation_code: unknown ROME code `{}…`", "A".repeat(40));
    assert_invalid(request(&long, TargetSet::All, None), "profile.occupation_code", &expected).await;
}

#[tokio::test]
async fn signed_or_zero_padded_item_codes_are_refused() {
    for (i, code) in ["+100023", "0100023", "-5"].into_iter().enumerate() {
        let mut req = request("I1315", TargetSet::All, None);
        if let Some(p) = req.profile.as_mut() {
            p.item_codes = vec!["100023".into(); i + 1];
            p.item_codes[i] = code.into();
        }
        let field = format!("profile.item_codes[{i}]");
        assert_invalid(req, &field, &format!("{field}: unknown item code `{code}`")).await;
    }
}

#[tokio::test]
async fn unknown_item_code_is_invalid_argument() {
    let mut req = request("I1315", TargetSet::All, None);
    if let Some(p) = req.profile.as_mut() {
        p.removed_item_codes = vec!["abc".into()];
    }
    assert_invalid(req, "profile.removed_item_codes[0]", "profile.removed_item_codes[0]: unknown item code `abc`")
        .await;
}

#[tokio::test]
async fn every_unknown_code_of_a_profile_is_reported_at_once() {
    // An adviser's platform with three stale codes learns of all three in one answer.
    let mut req = request("X9999", TargetSet::All, None);
    if let Some(p) = req.profile.as_mut() {
        p.item_codes = vec!["100023".into(), "12x".into()];
        p.removed_item_codes = vec!["abc".into()];
    }
    let app = spawn_app().await;
    let status = app.pathways().recommend_pathways(req).await.expect_err("must be refused");
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert_eq!(
        status.message(),
        "profile.occupation_code: unknown ROME code `X9999`; profile.item_codes[1]: unknown item code `12x`; \
         profile.removed_item_codes[0]: unknown item code `abc`"
    );
    let details = status.get_error_details();
    let fields: Vec<&str> =
        details.bad_request().expect("BadRequest details").field_violations.iter().map(|v| v.field.as_str()).collect();
    assert_eq!(fields, ["profile.occupation_code", "profile.item_codes[1]", "profile.removed_item_codes[0]"]);
    // An unknown region comes with the unknown codes, after them (field order).
    let mut req = request("X9999", TargetSet::All, None);
    if let Some(p) = req.profile.as_mut() {
        p.region = "99".into();
    }
    let status = app.pathways().recommend_pathways(req).await.expect_err("must be refused");
    assert_eq!(
        status.message(),
        "profile.occupation_code: unknown ROME code `X9999`; profile.region: `99` is not an INSEE region code covered \
         by the DARES tension data"
    );
    // An unknown region and department: both, after the codes.
    let mut req = request("X9999", TargetSet::All, None);
    if let Some(p) = req.profile.as_mut() {
        p.region = "99".into();
        p.department = "2C".into();
    }
    let status = app.pathways().recommend_pathways(req).await.expect_err("must be refused");
    let fields: Vec<String> = status
        .get_error_details()
        .bad_request()
        .map(|b| b.field_violations.iter().map(|v| v.field.clone()).collect())
        .unwrap_or_default();
    assert_eq!(fields, ["profile.occupation_code", "profile.region", "profile.department"]);
    // Twelve unknown codes: five listed (message and details), seven counted.
    let mut req = request("I1315", TargetSet::All, None);
    if let Some(p) = req.profile.as_mut() {
        p.item_codes = (0..12).map(|i| format!("x{i}")).collect();
    }
    let status = app.pathways().recommend_pathways(req).await.expect_err("must be refused");
    assert!(status.message().starts_with("profile.item_codes[0]: unknown item code `x0`; "), "{}", status.message());
    assert!(
        status.message().ends_with("profile.item_codes[4]: unknown item code `x4` (and 7 more)"),
        "{}",
        status.message()
    );
    assert_eq!(status.get_error_details().bad_request().map(|b| b.field_violations.len()), Some(5));
    app.stop().await.expect("clean stop");
}

#[tokio::test]
async fn empty_or_missing_profile_is_invalid_argument() {
    assert_invalid(
        request("", TargetSet::All, None),
        "profile",
        "profile: the profile is empty (give an occupation code or item codes, and do not remove every item)",
    )
    .await;
    let req = RecommendPathwaysRequest { profile: None, ..Default::default() };
    assert_invalid(req, "profile", "profile: required").await;
}

#[tokio::test]
async fn top_k_out_of_range_is_invalid_argument() {
    assert_invalid(request("I1315", TargetSet::All, Some(0)), "top_k", "top_k: 0 is out of range 1..=100").await;
    assert_invalid(request("I1315", TargetSet::All, Some(101)), "top_k", "top_k: 101 is out of range 1..=100").await;
}

#[tokio::test]
async fn optional_skill_lists_follow_max_other_skills_and_count_every_skill() {
    let app = spawn_app().await;
    let ask = |limit: Option<u32>| {
        let mut req = request("I1315", TargetSet::DigitalInfrastructure, Some(10));
        req.max_other_skills = limit;
        req
    };
    let default = app.pathways().recommend_pathways(ask(None)).await.expect("valid").into_inner();
    let full = app.pathways().recommend_pathways(ask(Some(1000))).await.expect("valid").into_inner();
    let engine = shared_engine();
    let cat = engine.catalogue();
    let own: HashSet<String> = cat
        .occupation(cat.occupation_id("I1315").expect("I1315"))
        .items
        .iter()
        .map(|l| cat.item(l.item).code.to_string())
        .collect();
    for (d, f) in default.pathways.iter().zip(&full.pathways) {
        let code = &f.occupation.as_ref().expect("occupation").code;
        let target = cat.occupation(cat.occupation_id(code).expect("known code"));
        // Optional skills of the target (work contexts aside) that I1315 lacks, from the data.
        let lacking = target
            .items
            .iter()
            .filter(|l| l.relevance != passerelle_model::catalogue::Relevance::Core)
            .filter(|l| cat.item(l.item).kind != passerelle_model::catalogue::ItemKind::WorkContext)
            .filter(|l| !own.contains(&cat.item(l.item).code.to_string()))
            .count();
        assert_eq!(f.missing_other_total as usize, lacking, "{code}");
        assert_eq!(f.missing_other_skills.len(), lacking, "{code}");
        assert_eq!(d.missing_other_total as usize, lacking, "{code}");
        assert_eq!(d.missing_other_skills[..], f.missing_other_skills[..lacking.min(10)], "{code}");
        assert_eq!(d.missing_core_skills, f.missing_core_skills);
    }
    app.stop().await.expect("clean stop");
    assert_invalid(ask(Some(1001)), "max_other_skills", "max_other_skills: 1001 is out of range 0..=1000").await;
}

#[tokio::test]
async fn unknown_target_set_is_invalid_argument() {
    let mut req = request("I1315", TargetSet::All, None);
    req.target_set = 42;
    assert_invalid(req, "target_set", "target_set: unknown enum value 42").await;
    let mut req = request("I1315", TargetSet::Unspecified, None);
    req.target_set_name = "MARS_COLONY".into();
    assert_invalid(req, "target_set_name", "target_set_name: unknown target set `MARS_COLONY`").await;
}

#[tokio::test]
async fn target_set_and_target_set_name_are_refused_when_they_disagree_and_accepted_when_they_agree() {
    let app = spawn_app().await;
    let mut both = request("I1315", TargetSet::DigitalInfrastructure, Some(10));
    both.target_set_name = "ALL".into();
    let status = app.pathways().recommend_pathways(both.clone()).await.expect_err("two different sets");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(
        status.message(),
        "target_set and target_set_name name different sets: TARGET_SET_DIGITAL_INFRASTRUCTURE and `ALL`; give one \
         of them, or both naming the same set"
    );
    let details = status.get_error_details();
    let fields: Vec<&str> =
        details.bad_request().expect("BadRequest").field_violations.iter().map(|v| v.field.as_str()).collect();
    assert_eq!(fields, ["target_set", "target_set_name"]);
    // The same set named twice (the name in any case): the same answer as the enum alone.
    both.target_set_name = "digital_infrastructure".into();
    let agreed = app.pathways().recommend_pathways(both).await.expect("the same set").into_inner();
    let alone = app
        .pathways()
        .recommend_pathways(request("I1315", TargetSet::DigitalInfrastructure, Some(10)))
        .await
        .expect("valid")
        .into_inner();
    assert_eq!(agreed.target_set, "DIGITAL_INFRASTRUCTURE");
    assert_eq!(agreed.pathways, alone.pathways);
    app.stop().await.expect("clean stop");
}

#[tokio::test]
async fn default_top_k_is_ten() {
    let app = spawn_app().await;
    let response = app.pathways().recommend_pathways(request("F1602", TargetSet::All, None)).await.expect("ok");
    assert_eq!(response.into_inner().pathways.len(), 10);
    app.stop().await.expect("clean stop");
}

#[tokio::test]
async fn a_corrupt_model_file_stops_the_server_with_a_clear_error() {
    let dir = tempfile::Builder::new().prefix("passerelle-e2e-").tempdir().expect("temp dir");
    let path = dir.path().join("broken-model.json");
    std::fs::write(&path, "{\"format_version\": 1, \"model\": 3}").expect("write");
    let app = spawn_with(EngineSource { model: Some(path.clone()), ..Default::default() }, None).await;
    let err = app.join().await.expect_err("a corrupt artifact is refused");
    assert!(matches!(err, ServeError::Load(_)));
    let expected = format!("model artifact refused: {}: malformed artifact", path.display());
    assert!(err.to_string().starts_with(&expected), "{err}");
}

#[tokio::test]
async fn shutdown_ends_even_with_a_health_watch_stream_open() {
    let app = spawn_app().await;
    let mut stream =
        app.health().watch(HealthCheckRequest { service: String::new() }).await.expect("watch").into_inner();
    let first = stream.message().await.expect("stream").expect("a status");
    assert_eq!(first.status, ServingStatus::Serving as i32);
    let stopping = tokio::spawn(app.stop());
    // The watcher is told the server is going away...
    let next = stream.message().await.expect("stream").expect("a status");
    assert_eq!(next.status, ServingStatus::NotServing as i32);
    // ...and the server stops after its grace period although the stream is still open.
    stopping.await.expect("join").expect("clean stop");
    drop(stream);
}

mod observability;
mod python_interop;
