//! Robustness of the request path, in process: any decoded `RecommendPathwaysRequest`
//! (arbitrary strings, codes, `top_k`, target sets, or arbitrary bytes that happen to decode)
//! is answered by the `PathwayService` handler either with a valid answer or with
//! `INVALID_ARGUMENT` carrying a `google.rpc.BadRequest` field violation; never a panic.
//! A valid answer keeps every score in [0, 1] and the documented order.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, OnceLock};

use arc_swap::ArcSwapOption;
use passerelle_model::engine::Engine;
use passerelle_model::error::MAX_LISTED_ERRORS;
use passerelle_service::grpc::pathway::PathwayApi;
use passerelle_service::proto::v1::pathway_service_server::PathwayService;
use passerelle_service::proto::v1::{Profile, RecommendPathwaysRequest, RecommendPathwaysResponse};
use prop::collection::vec;
use proptest::prelude::*;
use prost::Message;
use tonic::Code;
use tonic_types::StatusExt;

struct Fixture {
    engine: Arc<Engine>,
    runtime: tokio::runtime::Runtime,
    occupation_codes: Vec<String>,
    item_codes: Vec<String>,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let engine = Arc::new(passerelle_model::embedded::engine().expect("embedded engine"));
        let occupation_codes = engine.catalogue().occupations.iter().map(|o| o.code.clone()).collect();
        let item_codes = engine.catalogue().items.iter().map(|i| i.code.to_string()).collect();
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
        Fixture { engine, runtime, occupation_codes, item_codes }
    })
}

/// Calls the handler and checks the contract; returns the status code for statistics.
fn check(request: RecommendPathwaysRequest) -> Result<Code, TestCaseError> {
    let f = fixture();
    let expected_len = match request.top_k {
        None => 10,
        Some(k) => k as usize,
    };
    let model_only = request.model_only;
    let slot = Arc::new(ArcSwapOption::from(Some(Arc::clone(&f.engine))));
    let api = PathwayApi::new(slot);
    let result = f.runtime.block_on(api.recommend_pathways(tonic::Request::new(request)));
    match result {
        Ok(response) => {
            check_answer(&response.into_inner(), expected_len, model_only)?;
            Ok(Code::Ok)
        }
        Err(status) => {
            prop_assert_eq!(status.code(), Code::InvalidArgument, "{}", status.message());
            let details = status.get_error_details();
            let violations = &details.bad_request().expect("BadRequest details").field_violations;
            // One violation per field at fault (two when target_set and target_set_name
            // name different sets; one per unknown code, at most MAX_LISTED_ERRORS).
            prop_assert!((1..=MAX_LISTED_ERRORS).contains(&violations.len()), "{violations:?}");
            prop_assert!(violations.iter().all(|v| !v.field.is_empty()));
            prop_assert!(status.message().starts_with(&violations[0].field), "{}", status.message());
            // Echoed values are cut: a message stays short whatever the input (it travels in
            // a header): under 200 characters a fault, under 1,200 bytes in all.
            let chars = status.message().chars().count();
            prop_assert!(chars < 200 * violations.len(), "{}", status.message());
            prop_assert!(status.message().len() < 1_200, "{}", status.message());
            Ok(Code::InvalidArgument)
        }
    }
}

fn check_answer(answer: &RecommendPathwaysResponse, top_k: usize, model_only: bool) -> Result<(), TestCaseError> {
    let p = &answer.pathways;
    prop_assert!(p.len() <= top_k);
    prop_assert_eq!(p.len(), top_k.min(answer.candidates_scored as usize));
    for r in p {
        for score in [r.probability, r.cosine_similarity, r.core_coverage] {
            prop_assert!((0.0..=1.0).contains(&score), "score {score} out of [0, 1]");
        }
    }
    // Curated mobilities first by their order (unless model_only), then by probability.
    let curated = if model_only { 0 } else { p.iter().take_while(|r| r.curated_order > 0).count() };
    prop_assert!(p[..curated].windows(2).all(|w| w[0].curated_order < w[1].curated_order));
    if !model_only {
        prop_assert!(p[curated..].iter().all(|r| r.curated_order == 0));
    }
    prop_assert!(p[curated..].windows(2).all(|w| w[0].probability >= w[1].probability));
    Ok(())
}

/// A code: real, real but mangled, or arbitrary text.
fn code(list: fn(&'static Fixture) -> &'static [String]) -> impl Strategy<Value = String> {
    prop_oneof![
        4 => real(list),
        1 => real(list).prop_map(|c| format!(" {} ", c.to_lowercase())),
        1 => any::<u64>().prop_map(|n| n.to_string()),
        1 => "-?[0-9]{0,25}",
        1 => "\\PC{0,50}",
        1 => any::<String>(),
    ]
}

fn occupations(f: &'static Fixture) -> &'static [String] {
    &f.occupation_codes
}

fn items(f: &'static Fixture) -> &'static [String] {
    &f.item_codes
}

/// Well-formed requests (real codes, `top_k` absent or in range, known target sets) mixed
/// with hostile ones.
fn request() -> impl Strategy<Value = RecommendPathwaysRequest> {
    prop_oneof![valid_request(), hostile_request()]
}

fn real(list: fn(&'static Fixture) -> &'static [String]) -> impl Strategy<Value = String> {
    (0usize..100_000).prop_map(move |i| {
        let r = list(fixture());
        r[i % r.len()].clone()
    })
}

fn valid_request() -> impl Strategy<Value = RecommendPathwaysRequest> {
    let profile = (
        prop_oneof![1 => Just(String::new()), 3 => real(occupations)],
        vec(real(items), 0..12),
        vec(real(items), 0..6),
    )
        .prop_map(|(occupation_code, item_codes, removed_item_codes)| Profile {
            occupation_code,
            item_codes,
            removed_item_codes,
            ..Default::default()
        });
    // The enum alone, or a name with the enum unspecified or naming the same set.
    let target = prop_oneof![
        3 => (0i32..=2, Just(String::new())),
        1 => (prop_oneof![Just(0i32), Just(2)], Just("digital_infrastructure".to_string())),
    ];
    (profile, prop::option::of(1u32..=100), target, any::<bool>(), any::<bool>()).prop_map(
        |(profile, top_k, (target_set, target_set_name), include_current_occupation, model_only)| {
            RecommendPathwaysRequest {
                profile: Some(profile),
                top_k,
                target_set,
                target_set_name,
                include_current_occupation,
                model_only,
                ..Default::default()
            }
        },
    )
}

fn hostile_request() -> impl Strategy<Value = RecommendPathwaysRequest> {
    let area = || prop_oneof![3 => Just(String::new()), 1 => Just("11".to_string()), 1 => "\\PC{0,6}"];
    let profile =
        (
            prop_oneof![1 => Just(String::new()), 3 => code(occupations)],
            vec(code(items), 0..12),
            vec(code(items), 0..6),
            prop_oneof![4 => Just(String::new()), 1 => "\\PC{0,40}"],
            area(),
            area(),
        )
            .prop_map(|(occupation_code, item_codes, removed_item_codes, job_title, region, department)| {
                Profile { occupation_code, item_codes, removed_item_codes, job_title, region, department }
            });
    (
        prop::option::weighted(0.9, profile),
        prop::option::of(prop_oneof![4 => 0u32..=120, 1 => any::<u32>()]),
        prop_oneof![4 => 0i32..=3, 1 => any::<i32>()],
        prop_oneof![
            3 => Just(String::new()),
            1 => Just("ALL".to_string()),
            1 => Just(" digital_infrastructure ".to_string()),
            1 => "\\PC{0,60}",
        ],
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(profile, top_k, target_set, target_set_name, include_current_occupation, model_only)| {
            RecommendPathwaysRequest {
                profile,
                top_k,
                target_set,
                target_set_name,
                include_current_occupation,
                model_only,
                ..Default::default()
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_request_is_answered_or_refused_with_invalid_argument(request in request()) {
        check(request)?;
    }

    #[test]
    fn any_decodable_bytes_are_answered_or_refused(bytes in vec(any::<u8>(), 0..256)) {
        if let Ok(request) = RecommendPathwaysRequest::decode(bytes.as_slice()) {
            check(request)?;
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Encoded valid requests with a few bytes overwritten: mostly still decodable, with
    /// lengths, tags and strings damaged in ways a hand-written generator would not try.
    #[test]
    fn damaged_encodings_are_answered_or_refused(
        request in valid_request(),
        damage in vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
    ) {
        let mut bytes = request.encode_to_vec();
        if !bytes.is_empty() {
            for (at, value) in damage {
                let i = at.index(bytes.len());
                bytes[i] = value;
            }
        }
        if let Ok(request) = RecommendPathwaysRequest::decode(bytes.as_slice()) {
            check(request)?;
        }
    }
}

/// The generator is not degenerate: it produces both valid answers and refusals.
#[test]
fn generated_requests_cover_answers_and_refusals() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let (mut ok, mut refused) = (0, 0);
    for _ in 0..200 {
        let request = request().new_tree(&mut runner).unwrap().current();
        match check(request).unwrap() {
            Code::Ok => ok += 1,
            _ => refused += 1,
        }
    }
    assert!(ok >= 20 && refused >= 20, "ok {ok}, refused {refused}");
}

#[test]
fn an_unknown_target_set_name_is_refused_on_target_set_name() {
    // The engine's error named `target_set` even when the set came from `target_set_name`,
    // a field the caller had left empty.
    let f = fixture();
    let api = PathwayApi::new(Arc::new(ArcSwapOption::from(Some(Arc::clone(&f.engine)))));
    let request = RecommendPathwaysRequest {
        profile: Some(Profile { occupation_code: "I1315".into(), ..Default::default() }),
        target_set_name: "nope".into(),
        ..Default::default()
    };
    let status = f.runtime.block_on(api.recommend_pathways(tonic::Request::new(request))).expect_err("unknown set");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(status.message(), "target_set_name: unknown target set `nope`");
    let details = status.get_error_details();
    let fields: Vec<&str> =
        details.bad_request().expect("BadRequest").field_violations.iter().map(|v| v.field.as_str()).collect();
    assert_eq!(fields, ["target_set_name"]);
}
