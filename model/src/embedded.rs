//! The default data and model compiled into the binary, so `passerelle serve` works with no
//! file, database or download.
//!
//! - ROME 4.0 v460 (France Travail, Licence Ouverte / Etalab 2.0): the ten files of
//!   `data/rome-v460/` the model is trained on; the appellations (job titles) among them
//!   also feed text search.
//! - DARES / Pôle emploi tension indicators, 2019 (Licence Ouverte): `data/dares-tensions/`.
//! - Target sets: `data/target_sets.toml`.
//! - Training facts: `data/training/` (certification facts, kind defaults, the map from ROME
//!   certifications to facts rows; see `data/training/README.md`).
//! - Model: `data/model/transition-model.json`, a committed artifact produced by
//!   `passerelle train` on the same data (a test checks that it matches the embedded data).
//!   A committed artifact rather than training at start-up: start-up stays in the
//!   hundreds of milliseconds, every server answers with the same, audited model whose
//!   checksum and held-out metrics are in its model card.

use std::borrow::Cow;

use crate::catalogue::{
    Catalogue, RomeFiles, FILE_APPELLATIONS, FILE_HIERARCHY, FILE_ITEMS, FILE_LINKS, FILE_MOBILITIES, FILE_OCCUPATIONS,
    FILE_SAVOIRS, FILE_SECTORS, FILE_TEXTS, FILE_THEMES,
};
use crate::engine::Engine;
use crate::error::DataError;
use crate::search::SearchIndex;
use crate::target_set::TargetSets;
use crate::tension::TensionTable;
use crate::training::catalogue::{RowIssue, TrainingCatalogue, TrainingFiles};
use crate::transition::ModelArtifact;

macro_rules! rome {
    ($name:expr, $file:literal) => {
        ($name, Cow::Borrowed(&include_bytes!(concat!("../../data/rome-v460/", $file))[..]))
    };
}

/// Name of the embedded data, as reported in answers and model cards.
pub const DATA_NAME: &str = "ROME 4.0 v460 (France Travail)";

/// Attribution required by the Licence Ouverte for the ROME data.
pub const ROME_ATTRIBUTION: &str =
    "Source : France Travail, Répertoire opérationnel des métiers et des emplois (ROME) 4.0, version 460";

/// The embedded target-set rules (TOML).
pub const TARGET_SETS_TOML: &str = include_str!("../../data/target_sets.toml");

/// The embedded model artifact (JSON).
pub const MODEL_JSON: &str = include_str!("../../data/model/transition-model.json");

/// The embedded training files (`data/training/`).
pub const TRAINING_FILES: TrainingFiles<'static> = TrainingFiles {
    facts: include_str!("../../data/training/certification_facts.csv"),
    kind_defaults: include_str!("../../data/training/kind_defaults.csv"),
    rome_map: include_str!("../../data/training/rome_certifications.csv"),
};

/// The training catalogue on `catalogue` from the embedded training files, with an optional
/// operator catalogue `(file name, CSV bytes)`; returns the operator rows refused (a row
/// with invalid UTF-8 among them).
///
/// # Errors
/// Only if an embedded file was corrupted at build time (a test loads them), or the
/// operator file lacks a column.
pub fn training_catalogue(
    catalogue: &Catalogue,
    operator: Option<(&str, &[u8])>,
) -> Result<(TrainingCatalogue, Vec<RowIssue>), DataError> {
    TrainingCatalogue::build(catalogue, TRAINING_FILES, operator)
}

/// The embedded ROME appellations (job titles), `data/rome-v460/unix_referentiel_appellation_v460_utf8.csv`,
/// used by text search and by the model (one of [`rome_files`]).
pub const APPELLATIONS_CSV: &[u8] = include_bytes!("../../data/rome-v460/unix_referentiel_appellation_v460_utf8.csv");

/// The embedded DARES / Pôle emploi tension indicators, 2019 (`data/dares-tensions/tensions.csv`).
pub const TENSIONS_CSV: &[u8] = include_bytes!("../../data/dares-tensions/tensions.csv");

/// The embedded FAP 225 → ROME v3 correspondence (`data/dares-tensions/fap225_rome.csv`).
pub const FAP_ROME_CSV: &[u8] = include_bytes!("../../data/dares-tensions/fap225_rome.csv");

/// The search index over `catalogue`'s appellations (job titles) and labels.
///
/// # Errors
/// Only if the search vocabulary cannot be built ([`SearchIndex::new`]).
pub fn search_index(catalogue: &Catalogue) -> Result<SearchIndex, DataError> {
    SearchIndex::new(catalogue, &catalogue.appellations)
}

/// The embedded DARES tension indicators (2019) and FAP → ROME v3 map.
///
/// # Errors
/// Only if the embedded files were corrupted at build time (a test loads them).
pub fn tension_table() -> Result<TensionTable, DataError> {
    TensionTable::from_csv(TENSIONS_CSV, FAP_ROME_CSV)
}

/// The ten embedded ROME files.
pub fn rome_files() -> RomeFiles<'static> {
    RomeFiles {
        files: vec![
            rome!(FILE_OCCUPATIONS, "unix_referentiel_code_rome_v460_utf8.csv"),
            rome!(FILE_HIERARCHY, "unix_cr_gd_dp_v460_utf8.csv"),
            rome!(FILE_ITEMS, "unix_item_v460_utf8.csv"),
            rome!(FILE_SAVOIRS, "unix_referentiel_savoir_v460_utf8.csv"),
            rome!(FILE_LINKS, "unix_coherence_item_v460_utf8.csv"),
            rome!(FILE_MOBILITIES, "unix_rubrique_mobilite_v460_utf8.csv"),
            (FILE_APPELLATIONS, Cow::Borrowed(APPELLATIONS_CSV)),
            rome!(FILE_TEXTS, "unix_texte_v460_utf8.csv"),
            rome!(FILE_SECTORS, "unix_arborescence_secteur_activite_v460_utf8.csv"),
            rome!(FILE_THEMES, "unix_arborescence_thematique_v460_utf8.csv"),
        ],
    }
}

/// The embedded catalogue.
///
/// # Errors
/// Only if the embedded files were corrupted at build time (a test loads them).
pub fn catalogue() -> Result<Catalogue, DataError> {
    Catalogue::from_files(&rome_files())
}

/// The engine on embedded data, target sets and model, with text search (appellations) and
/// the DARES tension indicators.
///
/// # Errors
/// As [`catalogue`], or if the embedded artifact is refused.
pub fn engine() -> Result<Engine, DataError> {
    let catalogue = catalogue()?;
    let sets = TargetSets::from_toml("data/target_sets.toml", TARGET_SETS_TOML, &catalogue)?;
    let artifact = ModelArtifact::from_json(MODEL_JSON)?;
    let search = search_index(&catalogue)?;
    Ok(Engine::new(catalogue, sets, artifact)?.with_search(search).with_tensions(tension_table()?))
}
