//! Tests on the real embedded data (ROME 4.0 v460) and the committed model artifact.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;
use std::sync::OnceLock;

use passerelle_model::catalogue::ItemKind;
use passerelle_model::embedded;
use passerelle_model::engine::{Engine, ProfileQuery, RecommendQuery};
use passerelle_model::error::{DataError, QueryError};
use passerelle_model::transition::ModelArtifact;
use proptest::prelude::*;

fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| match embedded::engine() {
        Ok(e) => e,
        Err(e) => panic!("embedded engine: {e}"),
    })
}

/// The `code_ogr` of every item of occupation `code`.
fn item_codes_of(engine: &Engine, code: &str) -> HashSet<u32> {
    let cat = engine.catalogue();
    cat.occupation(cat.occupation_id(code).expect("known code")).items.iter().map(|l| cat.item(l.item).code).collect()
}

fn query(occupation: &str, set: &str, top_k: Option<u32>) -> RecommendQuery {
    RecommendQuery {
        profile: ProfileQuery { occupation_code: Some(occupation.to_string()), ..Default::default() },
        top_k,
        target_set: set.to_string(),
        include_current_occupation: false,
        model_only: false,
        tension_weight: 0.0,
        max_other_skills: None,
    }
}

#[test]
fn embedded_data_has_the_published_counts() {
    let cat = engine().catalogue();
    assert_eq!(cat.occupations.len(), 1584);
    assert_eq!(cat.items.len(), 33_850);
    assert_eq!(cat.mobilities.len(), 14_912);
    let links: usize = cat.occupations.iter().map(|o| o.items.len()).sum();
    assert_eq!(links, 104_219);
    let certifications = cat.items.iter().filter(|i| i.kind == ItemKind::Certification).count();
    assert_eq!(certifications, 3_223);
}

#[test]
fn committed_artifact_was_trained_on_the_embedded_data_and_beats_the_baseline() {
    let artifact = engine().artifact();
    assert_eq!(artifact.data.checksum, engine().catalogue().checksum, "retrain with `passerelle train`");
    assert!(engine().model_info().same_data_as_training);
    let eval = artifact.evaluation.as_ref().expect("the committed model carries its held-out metrics");
    assert_eq!(eval.sources, 1584);
    assert_eq!(eval.candidates_per_source, 1583);
    assert!(eval.model.recall_at_k.low > eval.baseline_cosine.recall_at_k.high, "{eval:?}");
    assert!(eval.model.mrr.low > eval.baseline_cosine.mrr.high, "{eval:?}");
    assert!(eval.model.roc_auc.low > eval.baseline_cosine.roc_auc.high, "{eval:?}");
    // The served probabilities are calibrated: on the held-out pairs, each well-populated
    // bin's mean prediction is within 0.05 of the observed share of curated mobilities.
    assert!(artifact.model.calibration.is_some());
    for bin in eval.reliability_calibrated.iter().filter(|b| b.pairs >= 1000) {
        assert!((bin.mean_predicted - bin.observed).abs() < 0.05, "{bin:?}");
    }
}

#[test]
fn digital_infrastructure_set_holds_the_sector_trades_and_not_marketing() {
    let engine = engine();
    let set = engine.target_sets().get("DIGITAL_INFRASTRUCTURE").expect("set defined");
    let codes: HashSet<&str> = set.members.iter().map(|&id| engine.catalogue().occupation(id).code.as_str()).collect();
    for code in [
        "I1315", "I1311", "I1317", "F1623", "I1312", "I1319", "I1307", "I1403", "M1816", "M1845", "F1605", "F1602",
        "M1829", "M1835", "M1857", "M1862",
    ] {
        assert!(codes.contains(code), "{code} missing from DIGITAL_INFRASTRUCTURE");
    }
    for code in ["E1101", "M1805", "D1408", "M1405", "I1401", "I1405"] {
        assert!(!codes.contains(code), "{code} should not be in DIGITAL_INFRASTRUCTURE");
    }
}

#[test]
fn fibre_splicer_to_digital_infrastructure() {
    let engine = engine();
    let answer = engine.recommend(&query("I1315", "DIGITAL_INFRASTRUCTURE", Some(10))).expect("valid query");
    let codes: Vec<&str> = answer.results.iter().map(|r| r.occupation.code.as_str()).collect();
    assert_eq!(answer.results.len(), 10);
    // France Travail's closest mobility for I1315 is I1311.
    assert!(codes[..5].contains(&"I1311"), "{codes:?}");
    assert!(!codes.contains(&"I1315"));
    assert!(answer.results.iter().all(|r| (0.0..=1.0).contains(&r.probability)));
    // France Travail's list for I1315 within the set, in its order: I1311 (1), I1307 (2),
    // F1622 (6), F1605 (7); then the model's ranking.
    let curated: Vec<(&str, Option<u16>)> =
        answer.results.iter().take(4).map(|r| (r.occupation.code.as_str(), r.curated_order)).collect();
    assert_eq!(curated, [("I1311", Some(1)), ("I1307", Some(2)), ("F1622", Some(6)), ("F1605", Some(7))]);
    assert!(answer.results[4..].iter().all(|r| r.curated_order.is_none()));
    assert!(answer.results[4..].windows(2).all(|w| w[0].probability >= w[1].probability));
    assert!(answer.results.iter().all(|r| !r.top_factors.is_empty() && !r.top_factors[0].explanation.is_empty()));

    // By the model alone the order is by probability, and I1311 is still in the top 5.
    let mut q = query("I1315", "DIGITAL_INFRASTRUCTURE", Some(10));
    q.model_only = true;
    let by_model = engine.recommend(&q).expect("valid");
    assert!(by_model.results.windows(2).all(|w| w[0].probability >= w[1].probability));
    let top5: Vec<&str> = by_model.results[..5].iter().map(|r| r.occupation.code.as_str()).collect();
    assert!(top5.contains(&"I1311"), "{top5:?}");
    assert_eq!(by_model.results.iter().find(|r| r.occupation.code == "I1311").and_then(|r| r.curated_order), Some(1));

    // The gap lists exactly the target's skills the profile lacks; matched core are held.
    let cat = engine.catalogue();
    let own = item_codes_of(engine, "I1315");
    for r in &answer.results {
        let target = cat.occupation(cat.occupation_id(&r.occupation.code).expect("code"));
        let target_items: HashSet<u32> = target.items.iter().map(|l| cat.item(l.item).code).collect();
        for s in r.missing_core.iter().chain(&r.missing_other) {
            assert!(target_items.contains(&s.code) && !own.contains(&s.code), "{} {}", r.occupation.code, s.code);
            assert_ne!(s.kind, ItemKind::WorkContext);
        }
        for s in &r.matched_core {
            assert!(own.contains(&s.code));
        }
        let expected_missing: usize = target
            .items
            .iter()
            .filter(|l| !own.contains(&cat.item(l.item).code) && cat.item(l.item).kind != ItemKind::WorkContext)
            .count();
        assert_eq!(r.missing_core.len() + r.missing_other_total, expected_missing);
        assert_eq!(r.missing_other.len(), r.missing_other_total.min(10), "default: the 10 most specific");
        let core = r.matched_core.len() + r.missing_core.len();
        assert!((r.core_coverage - r.matched_core.len() as f64 / core as f64).abs() < 1e-12);
    }
}

#[test]
fn optional_skill_lists_are_cut_to_the_limit_asked_and_counted_in_full() {
    let engine = engine();
    let ask = |limit: Option<u32>| {
        let q = RecommendQuery { max_other_skills: limit, ..query("I1315", "DIGITAL_INFRASTRUCTURE", Some(10)) };
        engine.recommend(&q)
    };
    let full = ask(Some(1000)).expect("valid");
    let default = ask(None).expect("valid");
    let none = ask(Some(0)).expect("valid");
    let three = ask(Some(3)).expect("valid");
    let cat = engine.catalogue();
    let own = item_codes_of(engine, "I1315");
    let mut longer_than_ten = 0;
    for (i, f) in full.results.iter().enumerate() {
        // Every optional skill of the target the profile lacks, counted from the data.
        let target = cat.occupation(cat.occupation_id(&f.occupation.code).expect("code"));
        let lacking = target
            .items
            .iter()
            .filter(|l| l.relevance != passerelle_model::catalogue::Relevance::Core)
            .filter(|l| !own.contains(&cat.item(l.item).code) && cat.item(l.item).kind != ItemKind::WorkContext)
            .count();
        assert_eq!(f.missing_other.len(), lacking, "{}", f.occupation.code);
        assert_eq!(f.missing_other_total, lacking);
        longer_than_ten += usize::from(lacking > 10);
        // The same ranking and core gap whatever the limit; the lists are prefixes of the full one.
        for (cut, limit) in [(&default.results[i], 10), (&none.results[i], 0), (&three.results[i], 3)] {
            assert_eq!(cut.occupation, f.occupation);
            assert_eq!(cut.probability, f.probability);
            assert_eq!(cut.missing_core, f.missing_core);
            assert_eq!(cut.missing_other_total, lacking);
            assert_eq!(cut.missing_other[..], f.missing_other[..lacking.min(limit)]);
        }
    }
    assert!(longer_than_ten > 0, "some target lacks more than 10 optional skills, so the default cuts");
    let err = ask(Some(1001)).expect_err("over the limit");
    assert_eq!(err.field(), "max_other_skills");
}

#[test]
fn added_and_removed_items_change_the_profile() {
    let engine = engine();
    let cat = engine.catalogue();
    let i1315 = cat.occupation(cat.occupation_id("I1315").expect("I1315"));
    let first = cat.item(i1315.items[0].item).code.to_string();
    let base = engine.recommend(&query("I1315", "ALL", Some(5))).expect("valid");
    let mut q = query("I1315", "ALL", Some(5));
    q.profile.removed_item_codes = vec![first];
    let removed = engine.recommend(&q).expect("valid");
    assert_eq!(removed.profile_items, base.profile_items - 1);
    // An item that I1315 does not list (the first such item of the export).
    let extra = cat.items.iter().find(|i| !i1315.items.iter().any(|l| cat.item(l.item).code == i.code)).expect("item");
    let mut q = query("I1315", "ALL", Some(5));
    q.profile.item_codes = vec![extra.code.to_string(), format!(" {} ", extra.code)];
    assert_eq!(engine.recommend(&q).expect("valid").profile_items, base.profile_items + 1);
}

#[test]
fn own_occupation_only_when_asked() {
    let mut q = query("I1315", "DIGITAL_INFRASTRUCTURE", Some(100));
    let without = engine().recommend(&q).expect("valid");
    q.include_current_occupation = true;
    let with = engine().recommend(&q).expect("valid");
    assert_eq!(with.candidates_scored, without.candidates_scored + 1);
    let own = with.results.iter().find(|r| r.occupation.code == "I1315").expect("own occupation returned");
    assert!((own.cosine - 1.0).abs() < 1e-9, "a profile made of I1315's items has cosine 1 with I1315");
    assert!(own.missing_core.is_empty() && own.missing_other.is_empty());
    assert!(!without.results.iter().any(|r| r.occupation.code == "I1315"));
}

#[test]
fn invalid_queries_name_field_and_value() {
    let engine = engine();
    let err = engine.recommend(&query("Z9999", "ALL", None)).expect_err("unknown code");
    assert_eq!(err, QueryError::UnknownOccupation { field: "profile.occupation_code".into(), code: "Z9999".into() });
    let mut q = query("I1315", "ALL", None);
    q.profile.item_codes = vec!["100023".into(), "999999999".into()];
    let err = engine.recommend(&q).expect_err("unknown item");
    assert_eq!(err, QueryError::UnknownItem { field: "profile.item_codes[1]".into(), code: "999999999".into() });
    assert_eq!(
        engine.recommend(&query("I1315", "ALL", Some(0))).expect_err("top_k 0"),
        QueryError::TopKOutOfRange { got: 0, max: 100 }
    );
    assert_eq!(
        engine.recommend(&query("I1315", "ALL", Some(101))).expect_err("top_k 101"),
        QueryError::TopKOutOfRange { got: 101, max: 100 }
    );
    let empty = RecommendQuery { profile: ProfileQuery::default(), ..query("I1315", "ALL", None) };
    assert_eq!(engine.recommend(&empty).expect_err("empty"), QueryError::EmptyProfile);
    // An occupation minus all of its items is empty too.
    let cat = engine.catalogue();
    let mut q = query("I1315", "ALL", None);
    q.profile.removed_item_codes = cat
        .occupation(cat.occupation_id("I1315").expect("I1315"))
        .items
        .iter()
        .map(|l| cat.item(l.item).code.to_string())
        .collect();
    assert_eq!(engine.recommend(&q).expect_err("emptied"), QueryError::EmptyProfile);
    assert_eq!(
        engine.recommend(&query("I1315", "NOPE", None)).expect_err("set"),
        QueryError::UnknownTargetSet { name: "NOPE".into() }
    );
}

#[test]
fn corrupt_or_incompatible_artifacts_are_refused() {
    let err = ModelArtifact::from_json("not json").expect_err("refused");
    assert!(err.to_string().starts_with("model artifact refused: not a Passerelle model artifact"), "{err}");
    let mut value: serde_json::Value = serde_json::from_str(embedded::MODEL_JSON).expect("json");
    value["model"]["intercept"] = serde_json::json!(3.0);
    let edited = value.to_string();
    let err = ModelArtifact::from_json(&edited).expect_err("edited");
    assert!(err.to_string().contains("checksum mismatch"), "{err}");
    // Without its `checksum` key the message said "file says , content is …".
    let mut value: serde_json::Value = serde_json::from_str(embedded::MODEL_JSON).expect("json");
    let checksum = value["checksum"].as_str().expect("checksum").to_string();
    value.as_object_mut().expect("object").remove("checksum");
    let err = ModelArtifact::from_json(&value.to_string()).expect_err("no checksum");
    assert_eq!(
        err.to_string(),
        format!(
            "model artifact refused: no `checksum` (the key is missing or empty; the content's is {checksum}): \
             `passerelle train` always writes one, so the file is corrupt or was edited"
        )
    );
    let current = format!("\"format_version\": {}", passerelle_model::transition::ARTIFACT_FORMAT_VERSION);
    assert!(embedded::MODEL_JSON.contains(&current), "the embedded artifact has the newest layout (an embedding)");
    let newer = embedded::MODEL_JSON.replacen(&current, "\"format_version\": 99", 1);
    let err = ModelArtifact::from_json(&newer).expect_err("version");
    assert!(err.to_string().contains("format_version 99 is not supported"), "{err}");
    // The embedding needs layout 3: the same artifact written as layout 2 is refused.
    let mut older = ModelArtifact::from_json(embedded::MODEL_JSON).expect("artifact");
    older.format_version = 2;
    let json = older.to_json().expect("serialises");
    let err = ModelArtifact::from_json(&json).expect_err("layout 2 with an embedding");
    assert!(err.to_string().contains("format_version 2 does not match the model, which needs version 3"), "{err}");
    // A re-checksummed artifact with a decreasing or out-of-range calibration is refused.
    for edit in ["decreasing", "out_of_range", "empty"] {
        let mut value: serde_json::Value = serde_json::from_str(embedded::MODEL_JSON).expect("json");
        let isotonic = &mut value["model"]["calibration"]["isotonic"];
        let data = isotonic["response"]["data"].as_array_mut().expect("isotonic values");
        match edit {
            "decreasing" => data.reverse(),
            "out_of_range" => data.iter_mut().for_each(|v| *v = serde_json::json!(5.0)),
            _ => {
                for key in ["regressor", "response"] {
                    isotonic[key]["data"] = serde_json::json!([]);
                    isotonic[key]["dim"] = serde_json::json!([0]);
                }
            }
        }
        let mut artifact: ModelArtifact = serde_json::from_value(value).expect("still an artifact");
        let json = artifact.to_json().expect("json");
        let err = ModelArtifact::from_json(&json).expect_err(edit);
        assert!(err.to_string().contains("calibration"), "{edit}: {err}");
    }
    let mut artifact = ModelArtifact::from_json(embedded::MODEL_JSON).expect("valid");
    artifact.model.feature_names.pop();
    let json = artifact.to_json().expect("json");
    assert!(matches!(ModelArtifact::from_json(&json), Err(DataError::Artifact { .. })));
}

/// Re-checksummed edits of the committed artifact's embedding are refused on load, by
/// `ModelArtifact::from_json` (no catalogue needed), with the artifact field: parameters
/// outside the training ranges, held-out lists naming an unknown code or one twice or
/// empty, training parameters that do not describe the embedding stored, an embedding
/// inside the reranker (which would be ignored).
#[test]
fn hand_edited_embeddings_are_refused_with_the_field() {
    type Edit = fn(&mut serde_json::Value);
    let edits: [(&str, Edit, &str); 9] = [
        ("dim 0", |v| v["model"]["embedding"]["params"]["dim"] = 0.into(), "embedding.params.dim: 0 not in 1..=256"),
        (
            "dim 100000",
            |v| v["model"]["embedding"]["params"]["dim"] = 100_000.into(),
            "embedding.params.dim: 100000 not in 1..=256",
        ),
        (
            "epochs 0",
            |v| v["model"]["embedding"]["params"]["epochs"] = 0.into(),
            "embedding.params.epochs: 0 not in 1..=10000",
        ),
        (
            "min_df 0",
            |v| v["model"]["embedding"]["params"]["min_df"] = 0.into(),
            "embedding.params.min_df: must be ≥ 1",
        ),
        (
            "unknown held-out code",
            |v| v["model"]["embedding"]["folds"][3]["held_out"].as_array_mut().unwrap().push("Z9999".into()),
            "embedding.folds[3].held_out: Z9999 is not one of embedding.occupations",
        ),
        (
            "held-out code twice in one fold",
            |v| {
                let list = v["model"]["embedding"]["folds"][0]["held_out"].as_array_mut().unwrap();
                list.push(list[0].clone());
            },
            "appears twice",
        ),
        (
            "empty held-out list",
            |v| v["model"]["embedding"]["folds"][4]["held_out"] = serde_json::json!([]),
            "embedding.folds[4].held_out: empty",
        ),
        (
            "training parameters that do not describe the embedding",
            |v| v["params"]["embedding"]["dim"] = 32.into(),
            "params.embedding Some(EmbeddingParams { dim: 32",
        ),
        (
            "embedding in the reranker",
            |v| v["model"]["rerank"]["model"]["embedding"] = v["model"]["embedding"].clone(),
            "rerank.model.embedding: the reranker has no embedding of its own",
        ),
    ];
    for (what, edit, want) in edits {
        let mut value: serde_json::Value = serde_json::from_str(embedded::MODEL_JSON).expect("json");
        edit(&mut value);
        let mut artifact: ModelArtifact = serde_json::from_value(value).expect("still an artifact");
        let json = artifact.to_json().expect("json");
        let err = ModelArtifact::from_json(&json).expect_err(what);
        assert!(err.to_string().contains(want), "{what}: {err}");
    }
}

/// The most extreme finite matrices an artifact can hold (every f16 value ±65,504, or the
/// smallest subnormal) load and answer: logits stay finite in f32, so every probability is
/// in [0, 1], sorted, and the explanation factors are finite. No bound on the values is
/// needed to keep the server up (the checksum is not a signature: such a file is a bad
/// model, not a crash).
#[test]
fn extreme_embedding_values_give_valid_answers() {
    use base64::Engine as _;
    use passerelle_model::target_set::TargetSets;
    let b64 = base64::engine::general_purpose::STANDARD;
    for (what, bits) in [("largest", [0x7bffu16, 0xfbff]), ("subnormal", [0x0001, 0x8001])] {
        let mut artifact = ModelArtifact::from_json(embedded::MODEL_JSON).expect("artifact");
        let e = artifact.model.embedding.as_mut().expect("embedding");
        for fold in &mut e.folds {
            for matrix in [&mut fold.source, &mut fold.target, &mut fold.bias] {
                let n = b64.decode(matrix.as_bytes()).expect("base64").len() / 2;
                let bytes: Vec<u8> = (0..n).flat_map(|i| bits[i % 3 / 2].to_le_bytes()).collect();
                *matrix = b64.encode(bytes);
            }
        }
        let json = artifact.to_json().expect("json");
        let artifact = ModelArtifact::from_json(&json).expect(what);
        let cat = embedded::catalogue().expect("catalogue");
        let sets = TargetSets::from_toml("data/target_sets.toml", embedded::TARGET_SETS_TOML, &cat).expect("sets");
        let engine = Engine::new(cat, sets, artifact).expect(what);
        for code in ["I1315", "M1810", "K2204"] {
            let mut q = query(code, "ALL", Some(100));
            q.model_only = true;
            let answer = engine.recommend(&q).expect("answers");
            assert_eq!(answer.results.len(), 100, "{what} {code}");
            assert!(answer.results.iter().all(|r| (0.0..=1.0).contains(&r.probability)), "{what} {code}");
            assert!(answer.results.windows(2).all(|w| w[0].probability >= w[1].probability), "{what} {code}");
            assert!(answer.results.iter().flat_map(|r| &r.top_factors).all(|f| f.logit.is_finite()), "{what} {code}");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    /// Any profile of known items yields sorted scores in [0, 1] and gaps disjoint from it.
    #[test]
    fn random_profiles_give_sorted_probabilities(picks in prop::collection::vec(0usize..33_850, 1..40), k in 1u32..=100) {
        let engine = engine();
        let cat = engine.catalogue();
        let codes: Vec<String> = picks.iter().map(|&i| cat.items[i].code.to_string()).collect();
        let q = RecommendQuery {
            profile: ProfileQuery { occupation_code: None, item_codes: codes.clone(), ..Default::default() },
            top_k: Some(k),
            target_set: "ALL".into(),
            include_current_occupation: true,
            model_only: false,
            tension_weight: 0.0,
            max_other_skills: None,
        };
        let answer = engine.recommend(&q).expect("known items are valid");
        prop_assert_eq!(answer.results.len(), k as usize);
        prop_assert!(answer.results.windows(2).all(|w| w[0].probability >= w[1].probability));
        for r in &answer.results {
            prop_assert!((0.0..=1.0).contains(&r.probability) && (0.0..=1.0).contains(&r.cosine));
            for s in r.missing_core.iter().chain(&r.missing_other) {
                prop_assert!(!codes.contains(&s.code.to_string()));
            }
        }
    }
}

#[test]
fn digital_infrastructure_size_is_stable() {
    // Documented in README.md; a change of rules or data must update it.
    let set = engine().target_sets().get("DIGITAL_INFRASTRUCTURE").expect("set");
    assert_eq!(set.members.len(), 41);
}

#[test]
fn held_out_rows_never_reach_their_features() {
    // Leakage on the real export: fold 0 of the protocol is held out. Rotating the targets
    // of its sources' rows among themselves (every held-out source gets another one's list)
    // leaves the learned embeddings and every feature of those sources, against every
    // candidate, unchanged.
    use passerelle_model::embedding::{EmbeddingParams, EmbeddingSet};
    use passerelle_model::eval::folds;
    use passerelle_model::features::{FeatureIndex, MobilityEvidence, ProfileVector};
    let cat = engine().catalogue();
    let groups = folds(cat, 5, 7);
    let held: HashSet<_> = groups[0].iter().copied().collect();
    let train: Vec<_> = groups[1..].iter().flatten().copied().collect();
    let mut shuffled = cat.clone();
    let rows: Vec<usize> = (0..cat.mobilities.len()).filter(|&i| held.contains(&cat.mobilities[i].source)).collect();
    for (k, &i) in rows.iter().enumerate() {
        let j = rows[(k + 97) % rows.len()];
        shuffled.mobilities[i].target = cat.mobilities[j].target;
        shuffled.mobilities[i].order = cat.mobilities[j].order;
    }
    let changed = rows.iter().filter(|&&i| shuffled.mobilities[i].target != cat.mobilities[i].target).count();
    assert!(changed > rows.len() / 2, "{changed} of {} rows changed", rows.len());
    let index = FeatureIndex::new(cat);
    // The learned embeddings too (few steps: what they read does not depend on how long
    // they are fitted): fitted on the training rows only, identical on both tables.
    let ep = EmbeddingParams { dim: 4, epochs: 3, ..EmbeddingParams::default() };
    let (before_set, before_art) = EmbeddingSet::fit_cross(cat, &index, &train, 5, &ep).expect("rows");
    let (after_set, after_art) = EmbeddingSet::fit_cross(&shuffled, &index, &train, 5, &ep).expect("rows");
    assert!(before_art == after_art, "the embeddings never read a held-out row");
    let before_ev = MobilityEvidence::new(cat, &train).with_embeddings(before_set);
    let after_ev = MobilityEvidence::new(&shuffled, &train).with_embeddings(after_set);
    for &s in groups[0].iter().take(40) {
        let items: Vec<_> = cat.occupation(s).items.iter().map(|l| l.item).collect();
        let p = ProfileVector::new(&index, &items);
        let before = index.scan(cat, &before_ev, &p, Some(s));
        let after = index.scan(&shuffled, &after_ev, &p, Some(s));
        for t in cat.occupation_ids() {
            assert_eq!(before.features(&index, cat, t), after.features(&index, &shuffled, t), "{s:?} → {t:?}");
        }
    }
}

/// A profile given as skills only (the 12 first core items of I1403, no occupation): the
/// anchor is the nearest occupation, so the explanations speak of "the job closest to the
/// person's skills", never of "the person's job" the person did not give; and no result
/// whose skills do not overlap the profile's (cosine 0) is said to be "among the closest"
/// (a short profile leaves most occupations tied at cosine 0, at a rank below the mean).
#[test]
fn explanations_of_a_skills_only_profile_say_what_was_inferred_and_nothing_false() {
    let engine = engine();
    let cat = engine.catalogue();
    let i1403 = cat.occupation(cat.occupation_id("I1403").expect("I1403"));
    let core: Vec<String> = i1403
        .items
        .iter()
        .filter(|l| l.relevance == passerelle_model::catalogue::Relevance::Core)
        .take(12)
        .map(|l| cat.item(l.item).code.to_string())
        .collect();
    let mut q = query("I1403", "ALL", Some(100));
    q.profile = ProfileQuery { item_codes: core, ..Default::default() };
    let answer = engine.recommend(&q).expect("valid");
    assert_eq!(answer.anchor.code, "I1403");
    let factors: Vec<_> = answer.results.iter().flat_map(|r| r.top_factors.iter().map(move |f| (r, f))).collect();
    assert!(factors.iter().all(|(_, f)| !f.explanation.contains("the person's job")));
    let co_listed = factors.iter().find(|(_, f)| f.feature == "co_listed").expect("a co_listed factor");
    assert_eq!(
        co_listed.1.explanation,
        "jobs that lead to the job closest to the person's skills also lead to this one (France Travail mobilities)"
    );
    let without_overlap = answer.results.iter().filter(|r| r.cosine == 0.0).count();
    assert!(without_overlap > 50, "{without_overlap} results at cosine 0");
    for (r, f) in &factors {
        if r.cosine == 0.0 {
            assert!(
                !matches!(f.feature, "log_neighbour_rank" | "log_reverse_rank"),
                "{} {}",
                r.occupation.code,
                f.feature
            );
        }
    }
    // With the occupation declared, the words are the table's.
    let declared = engine.recommend(&query("I1403", "ALL", Some(100))).expect("valid");
    let f = declared.results.iter().flat_map(|r| &r.top_factors).find(|f| f.feature == "same_domaine");
    assert!(f.is_none_or(|f| f.explanation == "both jobs are in the same professional domain"));
}
