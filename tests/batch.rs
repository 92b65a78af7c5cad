//! End to end: `passerelle.v1.BatchService` through a real tonic client.

use std::collections::{BTreeMap, BTreeSet};

use passerelle_service::proto::v1::batch_service_client::BatchServiceClient;
use passerelle_service::proto::v1::score_profiles_response::Outcome;
use passerelle_service::proto::v1::{
    AnalyzeCohortRequest, Basis, CohortOptions, CohortProfile, PlanTrainingRequest, Profile, RecommendPathwaysRequest,
    ScoreProfilesRequest, ScoreProfilesResponse, TargetSet,
};
use passerelle_tests::spawn_app;
use tokio_stream::StreamExt;

fn profile(occupation: &str, removed: &[&str]) -> Profile {
    Profile {
        occupation_code: occupation.to_string(),
        item_codes: Vec::new(),
        removed_item_codes: removed.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    }
}

fn request(p: Profile, top_k: u32) -> RecommendPathwaysRequest {
    RecommendPathwaysRequest {
        profile: Some(p),
        top_k: Some(top_k),
        target_set: TargetSet::DigitalInfrastructure as i32,
        ..Default::default()
    }
}

/// Sends `messages` through one `ScoreProfiles` stream and collects every answer; the stream
/// must be accepted and end cleanly.
async fn score_stream(
    app: &passerelle_tests::TestApp,
    messages: Vec<ScoreProfilesRequest>,
) -> Vec<ScoreProfilesResponse> {
    BatchServiceClient::new(app.channel.clone())
        .score_profiles(tokio_stream::iter(messages))
        .await
        .expect("stream accepted")
        .into_inner()
        .collect::<Result<Vec<_>, _>>()
        .await
        .expect("the stream ends cleanly")
}

/// Each response's outcome in one line: `field | message` for an error record, `N pathways`
/// for a result.
fn outcome_lines(responses: Vec<ScoreProfilesResponse>) -> Vec<String> {
    responses
        .into_iter()
        .map(|r| match r.outcome {
            Some(Outcome::Error(e)) => format!("{} | {}", e.field, e.message),
            Some(Outcome::Result(r)) => format!("{} pathways", r.pathways.len()),
            None => "nothing".into(),
        })
        .collect()
}

#[tokio::test]
async fn score_profiles_names_every_unknown_code_of_a_message_under_its_request() {
    let app = spawn_app().await;
    let messages =
        vec![ScoreProfilesRequest { id: "c".into(), request: Some(request(profile("Z9999", &["12x", "400772"]), 5)) }];
    let responses = score_stream(&app, messages).await;
    let Some(Outcome::Error(c)) = &responses[0].outcome else { panic!("c is refused: {:?}", responses[0]) };
    assert_eq!(c.field, "request.profile.occupation_code");
    assert_eq!(
        c.message,
        "request.profile.occupation_code: unknown ROME code `Z9999`; request.profile.removed_item_codes[0]: unknown \
         item code `12x`"
    );
    app.stop().await.expect("clean stop");
}

#[tokio::test]
async fn score_profiles_stream_equals_unary_answers_and_goes_on_after_bad_messages() {
    let app = spawn_app().await;
    let messages = vec![
        ScoreProfilesRequest { id: "a".into(), request: Some(request(profile("I1315", &[]), 5)) },
        ScoreProfilesRequest { id: "b".into(), request: Some(request(profile("F1602", &["400772"]), 3)) },
        // Invalid in the middle: unknown ROME code, then no request at all.
        ScoreProfilesRequest { id: "c".into(), request: Some(request(profile("Z9999", &[]), 5)) },
        ScoreProfilesRequest { id: "d".into(), request: None },
        ScoreProfilesRequest { id: "e".into(), request: Some(request(profile("I1311", &[]), 4)) },
    ];
    let responses = score_stream(&app, messages.clone()).await;
    let ids: Vec<&str> = responses.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["a", "b", "c", "d", "e"]);
    let sequences: Vec<u64> = responses.iter().map(|r| r.sequence).collect();
    assert_eq!(sequences, [0, 1, 2, 3, 4]);
    let Some(Outcome::Error(c)) = &responses[2].outcome else { panic!("c is refused: {:?}", responses[2]) };
    assert_eq!(c.field, "request.profile.occupation_code");
    assert_eq!(c.message, "request.profile.occupation_code: unknown ROME code `Z9999`");
    let Some(Outcome::Error(d)) = &responses[3].outcome else { panic!("d is refused") };
    assert_eq!((d.field.as_str(), d.message.as_str()), ("request", "request: required"));
    for i in [0, 1, 4] {
        let unary = app
            .pathways()
            .recommend_pathways(messages[i].request.clone().expect("valid"))
            .await
            .expect("unary answer")
            .into_inner();
        let Some(Outcome::Result(streamed)) = &responses[i].outcome else { panic!("{i} is scored") };
        assert_eq!(streamed, &unary, "message {i}");
    }
    app.stop().await.expect("clean stop");
}

#[tokio::test]
async fn a_bad_max_other_skills_in_a_stream_is_that_messages_error_and_the_stream_goes_on() {
    let app = spawn_app().await;
    let with = |id: &str, max_other_skills: Option<u32>| ScoreProfilesRequest {
        id: id.into(),
        request: Some(RecommendPathwaysRequest { max_other_skills, ..request(profile("I1315", &[]), 3) }),
    };
    let messages = vec![with("a", Some(2)), with("b", Some(1001)), with("c", Some(u32::MAX)), with("d", None)];
    let responses = score_stream(&app, messages).await;
    let ids: Vec<(&str, u64)> = responses.iter().map(|r| (r.id.as_str(), r.sequence)).collect();
    assert_eq!(ids, [("a", 0), ("b", 1), ("c", 2), ("d", 3)]);
    for (i, value) in [(1, 1001u64), (2, u64::from(u32::MAX))] {
        let Some(Outcome::Error(e)) = &responses[i].outcome else { panic!("{i} is refused: {:?}", responses[i]) };
        assert_eq!(e.field, "request.max_other_skills");
        assert_eq!(e.message, format!("request.max_other_skills: {value} is out of range 0..=1000"));
    }
    // I1315 → I1311 (its first curated move) lacks 23 optional skills: 2 listed for `a`,
    // the default 10 for `d` (after the refused messages), 23 counted for both.
    for (i, listed) in [(0, 2), (3, 10)] {
        let Some(Outcome::Result(r)) = &responses[i].outcome else { panic!("{i} is scored: {:?}", responses[i]) };
        let first = &r.pathways[0];
        assert_eq!(first.occupation.as_ref().map(|o| o.code.as_str()), Some("I1311"));
        assert_eq!((first.missing_other_skills.len(), first.missing_other_total), (listed, 23), "message {i}");
    }
    app.stop().await.expect("clean stop");
}

/// `include_training_plan` was answered without plans and a bad `plan_constraints` was
/// accepted: the first is now refused by name, the second checked as `RecommendPathways`
/// checks it, and the stream goes on.
#[tokio::test]
async fn training_plan_fields_in_a_stream_are_refused_or_checked_not_ignored() {
    use passerelle_service::proto::v1::PlanConstraints;
    let app = spawn_app().await;
    let with = |id: &str, include_training_plan: bool, max_level: Option<u32>| ScoreProfilesRequest {
        id: id.into(),
        request: Some(RecommendPathwaysRequest {
            include_training_plan,
            plan_constraints: max_level.map(|l| PlanConstraints { max_level: Some(l), ..Default::default() }),
            ..request(profile("I1315", &[]), 1)
        }),
    };
    let messages = vec![with("a", true, None), with("b", false, Some(0)), with("c", false, Some(3))];
    let outcomes = outcome_lines(score_stream(&app, messages).await);
    assert_eq!(
        outcomes,
        [
            "request.include_training_plan | request.include_training_plan: ScoreProfiles attaches no training plans; \
             call RecommendPathways or PlanTraining for them",
            "request.plan_constraints.max_level | request.plan_constraints.max_level: 0 is not a qualification level 1-8",
            "1 pathways",
        ]
    );
    app.stop().await.expect("clean stop");
}

/// The target-set conflict's message names two fields; the whole message was prefixed, so
/// the second stayed bare (`request.target_set and target_set_name …`), a field the
/// stream's messages do not have.
#[tokio::test]
async fn a_target_set_conflict_in_a_stream_names_both_fields_under_request() {
    let app = spawn_app().await;
    let with = |id: &str, target_set: TargetSet, name: &str| ScoreProfilesRequest {
        id: id.into(),
        request: Some(RecommendPathwaysRequest {
            target_set: target_set as i32,
            target_set_name: name.into(),
            ..request(profile("I1315", &[]), 1)
        }),
    };
    let messages = vec![
        with("a", TargetSet::DigitalInfrastructure, "all"),
        with("b", TargetSet::Unspecified, "nope"),
        with("c", TargetSet::All, "ALL"),
    ];
    let outcomes = outcome_lines(score_stream(&app, messages).await);
    assert_eq!(
        outcomes,
        [
            "request.target_set | request.target_set and request.target_set_name name different sets: \
             TARGET_SET_DIGITAL_INFRASTRUCTURE and `all`; give one of them, or both naming the same set",
            "request.target_set_name | request.target_set_name: unknown target set `nope`",
            "1 pathways",
        ]
    );
    app.stop().await.expect("clean stop");
}

#[tokio::test]
async fn a_long_stream_is_answered_in_order() {
    let app = spawn_app().await;
    let codes = ["I1315", "F1602", "I1311", "F1623", "I1307"];
    let n = 600;
    let (tx, rx) = tokio::sync::mpsc::channel(16);
    tokio::spawn(async move {
        for i in 0..n {
            let code = codes[i % codes.len()];
            let message = ScoreProfilesRequest { id: format!("id-{i}"), request: Some(request(profile(code, &[]), 1)) };
            if tx.send(message).await.is_err() {
                break;
            }
        }
    });
    let mut client = BatchServiceClient::new(app.channel.clone());
    let mut inbound = client
        .score_profiles(tokio_stream::wrappers::ReceiverStream::new(rx))
        .await
        .expect("stream accepted")
        .into_inner();
    let mut seen = 0usize;
    while let Some(r) = inbound.next().await {
        let r = r.expect("answer");
        assert_eq!(r.id, format!("id-{seen}"));
        assert!(matches!(r.outcome, Some(Outcome::Result(_))));
        seen += 1;
    }
    assert_eq!(seen, n);
    app.stop().await.expect("clean stop");
}

/// A person is counted once: a later profile whose id was already counted is refused naming
/// the first one by its message and place (`messages[0].profiles[0].id`); an id whose first profile was refused is counted at its
/// next valid one; empty ids are anonymous. The report equals that of the cohort without the
/// repeated profiles.
#[tokio::test]
async fn analyze_cohort_counts_a_repeated_id_once_and_names_its_first_profile() {
    let app = spawn_app().await;
    let mut client = BatchServiceClient::new(app.channel.clone());
    let options = || CohortOptions { moves_per_person: Some(3), rows: Some(1000), ..Default::default() };
    let cohort = |id: &str, occupation: &str| CohortProfile { id: id.into(), profile: Some(profile(occupation, &[])) };
    let with_repeats = vec![
        AnalyzeCohortRequest {
            options: Some(options()),
            profiles: vec![cohort("A", "I1315"), cohort("B", "F1602"), cohort("C", "Z9999"), cohort("", "I1315")],
        },
        AnalyzeCohortRequest {
            options: None,
            profiles: vec![cohort("A", "F1602"), cohort("C", "I1315"), cohort("", "I1315")],
        },
    ];
    let distinct = vec![AnalyzeCohortRequest {
        options: Some(options()),
        profiles: vec![
            cohort("A", "I1315"),
            cohort("B", "F1602"),
            cohort("", "I1315"),
            cohort("C", "I1315"),
            cohort("", "I1315"),
        ],
    }];
    let report = client.analyze_cohort(tokio_stream::iter(with_repeats)).await.expect("valid cohort").into_inner();
    let expected = client.analyze_cohort(tokio_stream::iter(distinct)).await.expect("valid cohort").into_inner();
    assert_eq!((report.people, expected.people), (5, 5));
    assert_eq!(report.occupations, expected.occupations);
    assert_eq!(report.missing_core_skills, expected.missing_core_skills);
    assert_eq!(report.certifications, expected.certifications);
    assert_eq!(report.refused, 2);
    let repeated = &report.refused_profiles[1];
    assert_eq!((repeated.id.as_str(), repeated.sequence), ("A", 4));
    let error = repeated.error.as_ref().expect("error");
    assert_eq!(error.field, "messages[1].profiles[0].id");
    assert_eq!(
        error.message,
        "messages[1].profiles[0].id: this id was already counted (messages[0].profiles[0].id): a person is counted \
         once; this profile is left out"
    );
    assert_eq!(report.refused_profiles[0].id, "C");
    app.stop().await.expect("clean stop");
}

/// The first profile of the second message is not named like the stream's first profile:
/// paths carry the message, as options errors do (`messages[1].options`); an id over 256
/// bytes is refused as in `ScoreProfiles`, 256 bytes are accepted.
#[tokio::test]
async fn analyze_cohort_names_a_refused_profile_by_message_and_refuses_long_ids() {
    let app = spawn_app().await;
    let cohort = |id: &str, occupation: &str| CohortProfile { id: id.into(), profile: Some(profile(occupation, &[])) };
    let long = "x".repeat(300);
    let messages = vec![
        AnalyzeCohortRequest { options: None, profiles: vec![cohort("a", "Z9999"), cohort(&"y".repeat(256), "I1315")] },
        AnalyzeCohortRequest { options: None, profiles: vec![cohort("b", "Z9998"), cohort(&long, "I1315")] },
    ];
    let mut client = BatchServiceClient::new(app.channel.clone());
    let report = client.analyze_cohort(tokio_stream::iter(messages)).await.expect("valid cohort").into_inner();
    assert_eq!((report.people, report.refused), (1, 3));
    let errors: Vec<(&str, u64, &str, &str)> = report
        .refused_profiles
        .iter()
        .map(|r| {
            let e = r.error.as_ref().expect("error");
            (r.id.as_str(), r.sequence, e.field.as_str(), e.message.as_str())
        })
        .collect();
    let echoed = format!("{}…", "x".repeat(40));
    assert_eq!(
        errors,
        vec![
            (
                "a",
                0,
                "messages[0].profiles[0].profile.occupation_code",
                "messages[0].profiles[0].profile.occupation_code: unknown ROME code `Z9999`"
            ),
            (
                "b",
                2,
                "messages[1].profiles[0].profile.occupation_code",
                "messages[1].profiles[0].profile.occupation_code: unknown ROME code `Z9998`"
            ),
            (
                echoed.as_str(),
                3,
                "messages[1].profiles[1].id",
                "messages[1].profiles[1].id: 300 bytes, at most 256 are accepted"
            ),
        ]
    );
    app.stop().await.expect("clean stop");
}

/// Options errors are named by their message, as profile errors are
/// (`messages[0].options.rows`, like `messages[m].profiles[i].profile`); they were
/// `options.rows`.
#[tokio::test]
async fn analyze_cohort_names_an_options_error_by_its_message() {
    use tonic_types::StatusExt;
    let app = spawn_app().await;
    let mut client = BatchServiceClient::new(app.channel.clone());
    let cases = [
        (
            CohortOptions { rows: Some(0), ..Default::default() },
            "messages[0].options.rows",
            "messages[0].options.rows: 0 is out of range 1..=1000",
        ),
        (
            CohortOptions { moves_per_person: Some(101), ..Default::default() },
            "messages[0].options.moves_per_person",
            "messages[0].options.moves_per_person: 101 is out of range 1..=100",
        ),
        (
            CohortOptions { target_set_name: "NOPE".into(), ..Default::default() },
            "messages[0].options.target_set_name",
            "messages[0].options.target_set_name: unknown target set `NOPE`",
        ),
    ];
    for (options, field, message) in cases {
        let messages = vec![AnalyzeCohortRequest {
            options: Some(options),
            profiles: vec![CohortProfile { id: "a".into(), profile: Some(profile("I1315", &[])) }],
        }];
        let status = client.analyze_cohort(tokio_stream::iter(messages)).await.expect_err("refused");
        assert_eq!(status.code(), tonic::Code::InvalidArgument);
        assert_eq!(status.message(), message);
        let details = status.get_error_details();
        let fields: Vec<&str> =
            details.bad_request().expect("BadRequest").field_violations.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(fields, [field]);
    }
    app.stop().await.expect("clean stop");
}

/// Three people, checked against their own unary answers: I1315 (fibre splicer), I1315
/// without work at height (400772), F1602 (electrician); top 3 moves each in
/// DIGITAL_INFRASTRUCTURE, model only; plus two refused profiles (unknown code, no
/// profile) in a second message.
#[tokio::test]
async fn analyze_cohort_of_three_people_by_hand() {
    let app = spawn_app().await;
    let people = [profile("I1315", &[]), profile("I1315", &["400772"]), profile("F1602", &[])];
    let mut unary = Vec::new();
    for p in &people {
        let mut r = request(p.clone(), 3);
        r.model_only = true;
        unary.push(app.pathways().recommend_pathways(r).await.expect("valid").into_inner());
    }
    // Expected counts from the three answers.
    let mut occupations: BTreeMap<String, (u64, f64)> = BTreeMap::new();
    let mut skills: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for answer in &unary {
        let mut mine = BTreeSet::new();
        for p in &answer.pathways {
            let e = occupations.entry(p.occupation.as_ref().expect("occupation").code.clone()).or_default();
            e.0 += 1;
            e.1 += p.probability;
            for s in &p.missing_core_skills {
                let e = skills.entry(s.code.clone()).or_default();
                e.1 += 1;
                if mine.insert(s.code.clone()) {
                    e.0 += 1;
                }
            }
        }
    }
    // Expected certifications from each person's PlanTraining answers, one per move:
    // code -> (people, moves, sum of the moves' probabilities).
    let mut certifications: BTreeMap<String, (u64, u64, f64)> = BTreeMap::new();
    for (p, answer) in people.iter().zip(&unary) {
        let mut mine = BTreeSet::new();
        for move_ in &answer.pathways {
            let plan = app
                .training()
                .plan_training(PlanTrainingRequest {
                    profile: Some(p.clone()),
                    target_occupation_code: move_.occupation.as_ref().expect("occupation").code.clone(),
                    constraints: None,
                })
                .await
                .expect("valid plan")
                .into_inner()
                .plan
                .expect("plan");
            for c in &plan.certifications {
                let e = certifications.entry(c.code.clone()).or_default();
                e.1 += 1;
                e.2 += move_.probability;
                if mine.insert(c.code.clone()) {
                    e.0 += 1;
                }
            }
        }
    }
    assert!(!certifications.is_empty(), "some move of the three needs a certification");
    let options = CohortOptions {
        target_set: TargetSet::DigitalInfrastructure as i32,
        moves_per_person: Some(3),
        rows: Some(1000),
        model_only: true,
        ..Default::default()
    };
    let cohort = |id: &str, p: Profile| CohortProfile { id: id.into(), profile: Some(p) };
    let messages = vec![
        AnalyzeCohortRequest {
            options: Some(options),
            profiles: vec![cohort("p1", people[0].clone()), cohort("p2", people[1].clone())],
        },
        AnalyzeCohortRequest {
            options: None,
            profiles: vec![
                cohort("bad", profile("Z9999", &[])),
                CohortProfile { id: "missing".into(), profile: None },
                cohort("p3", people[2].clone()),
            ],
        },
    ];
    let mut client = BatchServiceClient::new(app.channel.clone());
    let report = client.analyze_cohort(tokio_stream::iter(messages)).await.expect("valid cohort").into_inner();
    assert_eq!(report.people, 3);
    assert_eq!(report.target_set, "DIGITAL_INFRASTRUCTURE");
    assert_eq!(report.moves_per_person, 3);
    assert_eq!(report.refused, 2);
    let refused = &report.refused_profiles[0];
    assert_eq!((refused.id.as_str(), refused.sequence), ("bad", 2));
    assert_eq!(refused.error.as_ref().expect("error").field, "messages[1].profiles[0].profile.occupation_code");
    let missing = &report.refused_profiles[1];
    assert_eq!((missing.id.as_str(), missing.sequence), ("missing", 3));
    assert_eq!(missing.error.as_ref().expect("error").field, "messages[1].profiles[1].profile");
    assert!(report.certifications_note.is_empty(), "{}", report.certifications_note);
    assert_eq!(report.certifications.len(), certifications.len());
    for c in &report.certifications {
        let code = &c.certification.as_ref().expect("certification").code;
        let (count, moves, sum) = certifications[code];
        assert_eq!((c.people, c.moves), (count, moves), "{code}");
        assert!((c.expected_moves - sum).abs() < 1e-12, "{code}: {} vs {sum}", c.expected_moves);
        assert!((c.share - count as f64 / 3.0).abs() < 1e-12);
        for f in [c.hours.as_ref().expect("hours"), c.cost_eur.as_ref().expect("cost")] {
            assert_ne!(f.basis, Basis::Unspecified as i32, "{code}: every figure carries its basis");
            assert!(!f.source.is_empty());
        }
    }
    assert!(report
        .certifications
        .windows(2)
        .all(|w| (w[0].people, w[0].expected_moves) >= (w[1].people, w[1].expected_moves)));

    assert_eq!(report.occupations.len(), occupations.len());
    for o in &report.occupations {
        let code = &o.occupation.as_ref().expect("occupation").code;
        let (count, sum) = occupations[code];
        assert_eq!(o.people, count, "{code}");
        assert!((o.share - count as f64 / 3.0).abs() < 1e-12);
        assert!((o.mean_probability - sum / count as f64).abs() < 1e-12, "{code}");
    }
    assert!(report.occupations.windows(2).all(|w| w[0].people >= w[1].people));
    assert_eq!(report.missing_core_skills.len(), skills.len());
    for s in &report.missing_core_skills {
        let skill = s.skill.as_ref().expect("skill");
        assert!(skill.core);
        assert_eq!((s.people, s.moves), skills[&skill.code], "{}", skill.code);
    }
    // The two fibre splicers share their destinations: something reaches at least 2 people.
    assert!(report.occupations[0].people >= 2);
    app.stop().await.expect("clean stop");
}
