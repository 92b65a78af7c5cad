//! Fuzz target: the ROME CSV loader and what is built on a loaded catalogue.
//! The input is the ten files of an export separated by NUL bytes, in the order of
//! `catalogue::ROME_FILES` (missing ones empty). A loaded catalogue then gets target sets
//! (embedded rules), the embedded model (an engine) and one recommendation per occupation.
//! Checks: no panic; every error is a `DataError` (file and line).
#![no_main]

use std::borrow::Cow;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use passerelle_model::catalogue::{Catalogue, RomeFiles, ROME_FILES};
use passerelle_model::embedded;
use passerelle_model::engine::{Engine, ProfileQuery, RecommendQuery};
use passerelle_model::target_set::TargetSets;
use passerelle_model::transition::ModelArtifact;

fn artifact() -> &'static ModelArtifact {
    static ARTIFACT: OnceLock<ModelArtifact> = OnceLock::new();
    ARTIFACT.get_or_init(|| ModelArtifact::from_json(embedded::MODEL_JSON).expect("embedded model"))
}

fuzz_target!(
    init: {
        let _ = artifact();
    },
    |data: &[u8]| {
    let mut parts = data.split(|&b| b == 0);
    let files = ROME_FILES.iter().map(|&name| (name, Cow::Borrowed(parts.next().unwrap_or_default()))).collect();
    let Ok(catalogue) = Catalogue::from_files(&RomeFiles { files }) else { return };
    // The embedded rules, or (on a small export they match nothing of) only the ALL set.
    let sets = ["", "sets = {}"].iter().fold(
        TargetSets::from_toml("data/target_sets.toml", embedded::TARGET_SETS_TOML, &catalogue),
        |sets, text| sets.or_else(|_| TargetSets::from_toml("fuzz", text, &catalogue)),
    );
    let Ok(sets) = sets else { return };
    let codes: Vec<String> = catalogue.occupations.iter().map(|o| o.code.clone()).collect();
    let Ok(engine) = Engine::new(catalogue, sets, artifact().clone()) else { return };
    for code in codes {
        let query = RecommendQuery {
            profile: ProfileQuery { occupation_code: Some(code), ..Default::default() },
            top_k: Some(5),
            include_current_occupation: true,
            ..Default::default()
        };
        if let Ok(answer) = engine.recommend(&query) {
            for r in &answer.results {
                assert!((0.0..=1.0).contains(&r.probability), "probability {}", r.probability);
            }
        }
    }
}
);
