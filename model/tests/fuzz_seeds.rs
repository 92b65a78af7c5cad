//! The committed seed of the `rome_loader` fuzz target (`fuzz/seeds/rome_loader/`) is a
//! loadable export, so fuzzing starts from inputs that reach the engine, not only from the
//! loader's error paths.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::borrow::Cow;

use passerelle_model::catalogue::{Catalogue, RomeFiles, ROME_FILES};
use passerelle_model::embedded;
use passerelle_model::engine::{Engine, ProfileQuery, RecommendQuery};
use passerelle_model::target_set::TargetSets;
use passerelle_model::transition::ModelArtifact;

#[test]
fn tiny_export_seed_loads_and_answers() {
    let seed = include_bytes!("../../fuzz/seeds/rome_loader/tiny_export");
    let mut parts = seed.split(|&b| b == 0);
    let files = ROME_FILES.iter().map(|&name| (name, Cow::Borrowed(parts.next().unwrap_or_default()))).collect();
    let catalogue = Catalogue::from_files(&RomeFiles { files }).expect("the seed is a valid export");
    assert_eq!(catalogue.occupations.len(), 3);
    assert_eq!(catalogue.items.len(), 6);
    assert_eq!(catalogue.mobilities.len(), 2);
    let sets = TargetSets::from_toml("fuzz", "", &catalogue).expect("ALL only");
    let artifact = ModelArtifact::from_json(embedded::MODEL_JSON).expect("embedded model");
    let engine = Engine::new(catalogue, sets, artifact).expect("engine");
    let query = RecommendQuery {
        profile: ProfileQuery { occupation_code: Some("A1001".into()), ..ProfileQuery::default() },
        top_k: Some(5),
        target_set: "ALL".into(),
        include_current_occupation: false,
        model_only: false,
        tension_weight: 0.0,
        max_other_skills: None,
    };
    let answer = engine.recommend(&query).expect("answer");
    let codes: Vec<&str> = answer.results.iter().map(|r| r.occupation.code.as_str()).collect();
    // A1001's only curated mobility (numero_ordre 1) comes first.
    assert_eq!(codes, ["A1002", "B2001"]);
}
