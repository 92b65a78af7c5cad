//! End to end: `passerelle.v1.TrainingService` and the plans attached to
//! `RecommendPathways`, through a real tonic client against the real server on 127.0.0.1.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;

use passerelle_service::proto::v1::{
    Basis, ExplorePathwaysRequest, PlanConstraints, PlanRole, PlanSolver, PlanTrainingRequest, Profile,
    RecommendPathwaysRequest, TargetSet,
};
use passerelle_tests::{reflected_services, spawn_app};
use tonic::Code;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::HealthCheckRequest;
use tonic_types::StatusExt;

fn fibre_splicer_without_aipr() -> Profile {
    Profile { occupation_code: "I1315".into(), removed_item_codes: vec!["403964".into()], ..Default::default() }
}

#[tokio::test]
async fn plan_training_gives_aipr_first_then_the_fibre_certification() {
    let app = spawn_app().await;
    let response = app
        .training()
        .plan_training(PlanTrainingRequest {
            profile: Some(fibre_splicer_without_aipr()),
            target_occupation_code: "F1623".into(),
            constraints: None,
        })
        .await
        .expect("valid request")
        .into_inner();
    let plan = response.plan.expect("plan");
    let codes: Vec<&str> = plan.certifications.iter().map(|c| c.code.as_str()).collect();
    assert_eq!(codes, ["403964", "490944"]);
    let aipr = &plan.certifications[0];
    assert_eq!(aipr.role, PlanRole::RegulatedPrerequisite as i32);
    let hours = aipr.hours.as_ref().expect("hours");
    assert_eq!((hours.value, hours.basis), (7.0, Basis::Sourced as i32));
    assert!(hours.source.contains("certification_facts.csv"), "{}", hours.source);
    let cqp = &plan.certifications[1];
    assert_eq!(cqp.covers.len(), 8);
    assert_eq!(cqp.hours.as_ref().map(|h| h.basis), Some(Basis::Assumption as i32));
    assert_eq!(cqp.cost_eur.as_ref().map(|c| (c.value, c.basis)), Some((7650.0, Basis::Estimate as i32)));
    assert_eq!(plan.total_hours, 307.0);
    assert_eq!(plan.missing_core_skills.len(), 8);
    assert!(plan.uncovered_core_skills.is_empty());
    assert_eq!(plan.solver, PlanSolver::Exact as i32);
    assert!(plan.summary.starts_with("2 certification(s), 307.0 h in total"), "{}", plan.summary);
    let info = response.info.expect("info");
    assert!(info.training_basis.contains("25.5 EUR/h"));
    assert!(info.data_source.contains("France Travail"));
    app.stop().await.expect("clean stop");
}

#[tokio::test]
async fn plan_training_refuses_bad_input_naming_the_field() {
    let app = spawn_app().await;
    let mut client = app.training();
    let cases = [
        (
            PlanTrainingRequest {
                profile: Some(fibre_splicer_without_aipr()),
                target_occupation_code: "Z9999".into(),
                constraints: None,
            },
            "target_occupation_code",
        ),
        (
            PlanTrainingRequest {
                profile: Some(fibre_splicer_without_aipr()),
                target_occupation_code: "F1623".into(),
                constraints: Some(PlanConstraints { max_level: Some(9), ..Default::default() }),
            },
            "constraints.max_level",
        ),
        (
            PlanTrainingRequest {
                profile: Some(fibre_splicer_without_aipr()),
                target_occupation_code: "F1623".into(),
                constraints: Some(PlanConstraints { held_certifications: vec!["100023".into()], ..Default::default() }),
            },
            "constraints.held_certifications[0]",
        ),
        (PlanTrainingRequest { profile: None, target_occupation_code: "F1623".into(), constraints: None }, "profile"),
    ];
    for (request, field) in cases {
        let status = client.plan_training(request).await.expect_err("refused");
        assert_eq!(status.code(), Code::InvalidArgument, "{field}: {}", status.message());
        let details = status.get_error_details();
        let violation = &details.bad_request().expect("BadRequest details").field_violations[0];
        assert_eq!(violation.field, field);
    }
    app.stop().await.expect("clean stop");
}

/// A request without a target occupation names the field as required, worded as for a
/// missing profile; it used to answer "unknown ROME code ``".
#[tokio::test]
async fn plan_training_without_a_target_says_the_field_is_required() {
    let app = spawn_app().await;
    let mut client = app.training();
    for code in ["", "  "] {
        let request = PlanTrainingRequest {
            profile: Some(fibre_splicer_without_aipr()),
            target_occupation_code: code.into(),
            constraints: None,
        };
        let status = client.plan_training(request).await.expect_err("refused");
        assert_eq!(status.code(), Code::InvalidArgument, "{code:?}: {}", status.message());
        assert_eq!(status.message(), "target_occupation_code: required", "{code:?}");
        let details = status.get_error_details();
        let violation = &details.bad_request().expect("BadRequest details").field_violations[0];
        assert_eq!(violation.field, "target_occupation_code");
        assert_eq!(violation.description, "target_occupation_code: required");
    }
    // The same wording as a missing profile.
    let request = PlanTrainingRequest { profile: None, target_occupation_code: "F1623".into(), constraints: None };
    let status = client.plan_training(request).await.expect_err("refused");
    assert_eq!(status.message(), "profile: required");
    app.stop().await.expect("clean stop");
}

#[tokio::test]
async fn explore_pathways_returns_ranked_acyclic_paths_within_max_hours() {
    let app = spawn_app().await;
    let response = app
        .training()
        .explore_pathways(ExplorePathwaysRequest {
            profile: Some(Profile { occupation_code: "I1315".into(), ..Default::default() }),
            target_set: TargetSet::DigitalInfrastructure as i32,
            top_k: Some(10),
            constraints: Some(PlanConstraints { max_total_hours: Some(900.0), ..Default::default() }),
            ..Default::default()
        })
        .await
        .expect("valid request")
        .into_inner();
    assert!((1..=10).contains(&response.paths.len()));
    assert!(response.paths_over_max_hours > 0);
    assert_eq!(response.target_set, "DIGITAL_INFRASTRUCTURE");
    assert!(response.paths.windows(2).all(|w| w[0].score >= w[1].score));
    assert!(response.paths.iter().any(|p| p.steps.len() == 2), "a two-step path in the 10 best");
    for path in &response.paths {
        assert!(path.total_hours <= 900.0);
        let mut seen = HashSet::from(["I1315".to_string()]);
        for step in &path.steps {
            let to = step.to_occupation.as_ref().expect("to").code.clone();
            assert!(seen.insert(to.clone()), "cycle at {to}");
            let plan = step.plan.as_ref().expect("each step has its plan");
            assert_eq!(plan.target.as_ref().map(|t| t.code.as_str()), Some(to.as_str()));
            assert!((0.0..=1.0).contains(&step.probability));
        }
        let product: f64 = path.steps.iter().map(|s| s.probability).product();
        assert!((path.probability - product).abs() < 1e-12);
    }
    assert!(response.info.expect("info").score_basis.contains("1607"));

    let status = app
        .training()
        .explore_pathways(ExplorePathwaysRequest {
            profile: Some(Profile { occupation_code: "I1315".into(), ..Default::default() }),
            fan_out: Some(11),
            ..Default::default()
        })
        .await
        .expect_err("fan_out out of range");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(status.message(), "fan_out: 11 is out of range 1..=10");
    app.stop().await.expect("clean stop");
}

#[tokio::test]
async fn recommend_pathways_attaches_a_plan_to_each_result_when_asked() {
    let app = spawn_app().await;
    let request = |plans: bool| RecommendPathwaysRequest {
        profile: Some(Profile { occupation_code: "I1315".into(), ..Default::default() }),
        top_k: Some(5),
        target_set: TargetSet::DigitalInfrastructure as i32,
        include_training_plan: plans,
        plan_constraints: Some(PlanConstraints { max_total_hours: Some(600.0), ..Default::default() }),
        ..Default::default()
    };
    let with = app.pathways().recommend_pathways(request(true)).await.expect("valid").into_inner();
    assert_eq!(with.pathways.len(), 5);
    for pathway in &with.pathways {
        let plan = pathway.training_plan.as_ref().expect("plan attached");
        assert_eq!(plan.target, pathway.occupation);
        assert!(plan.total_hours <= 600.0);
        // The plan's gap is the result's gap.
        assert_eq!(plan.missing_core_skills.len(), pathway.missing_core_skills.len());
    }
    assert!(!with.info.expect("info").training_basis.is_empty());
    let mut bad = request(true);
    bad.plan_constraints = Some(PlanConstraints { max_level: Some(0), ..Default::default() });
    let status = app.pathways().recommend_pathways(bad).await.expect_err("max_level 0");
    assert_eq!(status.code(), Code::InvalidArgument);
    let details = status.get_error_details();
    assert_eq!(details.bad_request().expect("BadRequest").field_violations[0].field, "plan_constraints.max_level");
    let without = app.pathways().recommend_pathways(request(false)).await.expect("valid").into_inner();
    assert!(without.pathways.iter().all(|p| p.training_plan.is_none()));
    assert!(without.info.expect("info").training_basis.is_empty());
    // Constraints are checked even when no plan is asked for.
    let cases = [
        (PlanConstraints { max_level: Some(9), ..Default::default() }, "plan_constraints.max_level"),
        (PlanConstraints { max_total_hours: Some(-1.0), ..Default::default() }, "plan_constraints.max_total_hours"),
        (
            PlanConstraints { held_certifications: vec!["100023".into()], ..Default::default() },
            "plan_constraints.held_certifications[0]",
        ),
    ];
    for (constraints, field) in cases {
        let mut bad = request(false);
        bad.plan_constraints = Some(constraints);
        let status = app.pathways().recommend_pathways(bad).await.expect_err(field);
        assert_eq!(status.code(), Code::InvalidArgument, "{field}");
        assert!(status.message().starts_with(field), "{}", status.message());
        let details = status.get_error_details();
        assert_eq!(details.bad_request().expect("BadRequest").field_violations[0].field, field);
    }
    assert_eq!(
        app.pathways()
            .recommend_pathways(RecommendPathwaysRequest {
                plan_constraints: Some(PlanConstraints { max_level: Some(9), ..Default::default() }),
                ..request(false)
            })
            .await
            .expect_err("max_level 9")
            .message(),
        "plan_constraints.max_level: 9 is not a qualification level 1-8"
    );
    app.stop().await.expect("clean stop");
}

#[tokio::test]
async fn plan_training_refuses_an_unknown_region_or_department_as_recommend_pathways_does() {
    let app = spawn_app().await;
    let mut client = app.training();
    let plan = |region: &str, department: &str| PlanTrainingRequest {
        profile: Some(Profile { region: region.into(), department: department.into(), ..fibre_splicer_without_aipr() }),
        target_occupation_code: "F1623".into(),
        constraints: None,
    };
    let cases = [
        (
            plan("99", ""),
            "profile.region",
            "profile.region: `99` is not an INSEE region code covered by the DARES tension data",
        ),
        (
            plan("", "2C"),
            "profile.department",
            "profile.department: `2C` is not an INSEE department code covered by the DARES tension data",
        ),
    ];
    for (request, field, message) in cases {
        let status = client.plan_training(request).await.expect_err("refused");
        assert_eq!((status.code(), status.message()), (Code::InvalidArgument, message));
        let details = status.get_error_details();
        assert_eq!(details.bad_request().expect("BadRequest").field_violations[0].field, field);
    }
    let recommend = app
        .pathways()
        .recommend_pathways(RecommendPathwaysRequest {
            profile: plan("99", "").profile,
            target_set: TargetSet::DigitalInfrastructure as i32,
            ..Default::default()
        })
        .await
        .expect_err("refused");
    assert_eq!(
        recommend.message(),
        "profile.region: `99` is not an INSEE region code covered by the DARES tension data"
    );
    // With unknown codes, the area is reported after them in one answer, as RecommendPathways
    // does (PlanTraining named the region alone; ExplorePathways the codes alone).
    let profile = Profile {
        occupation_code: "Z1".into(),
        item_codes: vec!["1".into()],
        region: "99".into(),
        ..Default::default()
    };
    let all = "profile.occupation_code: unknown ROME code `Z1`; profile.item_codes[0]: unknown item code `1`; \
               profile.region: `99` is not an INSEE region code covered by the DARES tension data";
    let request = PlanTrainingRequest { profile: Some(profile.clone()), ..plan("", "") };
    let status = client.plan_training(request).await.expect_err("refused");
    assert_eq!(status.message(), all);
    assert_eq!(status.get_error_details().bad_request().map(|b| b.field_violations.len()), Some(3));
    let explore = ExplorePathwaysRequest { profile: Some(profile), ..Default::default() };
    let status = client.explore_pathways(explore).await.expect_err("refused");
    assert_eq!(status.message(), all);
    // A covered region and department (La Réunion, 974) are accepted, spaces and case ignored.
    let ok = client.plan_training(plan(" 04 ", "974")).await.expect("valid area").into_inner();
    assert_eq!(ok.plan.expect("plan").total_hours, 307.0);
    app.stop().await.expect("clean stop");
}

#[tokio::test]
async fn training_service_is_in_health_and_reflection() {
    let app = spawn_app().await;
    let status = app
        .health()
        .check(HealthCheckRequest { service: "passerelle.v1.TrainingService".into() })
        .await
        .expect("health")
        .into_inner()
        .status;
    assert_eq!(status, ServingStatus::Serving as i32);
    let names = reflected_services(&app.channel).await;
    assert!(names.contains("passerelle.v1.TrainingService"), "{names:?}");
    app.stop().await.expect("clean stop");
}
