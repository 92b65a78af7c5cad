//! Writing batch results: one output record per input record, in input order, rendered to
//! bytes on the worker threads and written in order by the caller.
//!
//! - **JSON Lines**: one object per input record:
//!   `{"id": "A-17", "line": 2, "status": "ok", "answer": {…}}` where `answer` has the
//!   fields of `RecommendPathways` in the names of the domain types (as `passerelle
//!   recommend` prints them: `anchor`, `anchor_basis`, `target_set`, `profile_items`,
//!   `candidates_scored`, `results` with `occupation`, `probability`, `cosine`,
//!   `core_coverage`, `matched_core`, `missing_core`, `missing_other` (the most specific
//!   `--max-other-skills`), `missing_other_total`, `top_factors`,
//!   `curated_order`: 0 when the move is not in France Travail's list, as in gRPC). By default ([`SkillDetail::Codes`]) each skill list is an array of
//!   `code_ogr` numbers and each factor is `{"feature", "logit"}`: labels and explanations
//!   are reference data, the same for every record (join on `code_ogr` with ROME's
//!   `unix_item`), and writing them would make the output about 70 KiB per profile instead
//!   of about 5 KiB; [`SkillDetail::Full`] (`--skill-labels`) writes the full objects.
//!   A refused record is `{"id": "A-18", "line": 3, "status": "error", "error":
//!   {"field": "occupation_code", "reason": "…"}}` (`id` is `null` when it could not be
//!   read).
//! - **CSV**: a flat layout with one row per (profile, recommended occupation), see
//!   [`CSV_HEADER`]; skill lists are `;`-separated `code_ogr`s with their labels in the
//!   next column separated by ` | `; an invalid profile is one row with `status = error`
//!   and the `error_field` / `error_reason` columns.
//!
//! Provenance (data source, what the probability means, ranking, model checksum) is the
//! same for every record, so it is written once beside the output (see
//! [`provenance`]).

use passerelle_model::engine::{AnchorBasis, ModelInfo, OccupationRef, Recommendations, SkillRef};
use serde::Serialize;

use crate::batch::input::RecordError;

/// Format of a result file.
pub use crate::batch::input::InputFormat as OutputFormat;

/// Columns of the CSV output, in order.
pub const CSV_HEADER: [&str; 19] = [
    "id",
    "line",
    "status",
    "rank",
    "occupation_code",
    "occupation_label",
    "probability",
    "cosine",
    "core_coverage",
    "curated_order",
    "matched_core",
    "missing_core",
    "missing_core_labels",
    "missing_other",
    "missing_other_total",
    "top_factors",
    "target_set",
    "error_field",
    "error_reason",
];

/// The result for one input record.
// Most records are scored: boxing the common variant would add an allocation per record.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The profile was scored.
    Ok(Recommendations),
    /// The record or the profile was refused.
    Error(RecordError),
}

/// How skills are written in JSON Lines results.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkillDetail {
    /// `code_ogr` numbers only (and factors without their explanation).
    Codes,
    /// Full skill objects (code, label, kind, relevance) and factor explanations.
    Full,
}

#[derive(Serialize)]
#[serde(untagged)]
enum Answer<'a> {
    Full(&'a Recommendations),
    Compact(CompactAnswer<'a>),
}

#[derive(Serialize)]
struct CompactAnswer<'a> {
    anchor: &'a OccupationRef,
    anchor_basis: AnchorBasis,
    target_set: &'a str,
    profile_items: usize,
    candidates_scored: usize,
    results: Vec<CompactResult<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    job_title: Option<&'a passerelle_model::search::JobTitleMatch>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tension: Option<&'a passerelle_model::engine::TensionContext>,
}

#[derive(Serialize)]
struct CompactResult<'a> {
    occupation: &'a OccupationRef,
    probability: f64,
    cosine: f64,
    core_coverage: f64,
    matched_core: Vec<u32>,
    missing_core: Vec<u32>,
    missing_other: Vec<u32>,
    missing_other_total: usize,
    top_factors: Vec<CompactFactor>,
    /// 0 when not listed, as in gRPC.
    curated_order: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    tension: Option<&'a passerelle_model::tension::TensionFact>,
    #[serde(skip_serializing_if = "Option::is_none")]
    blended_score: Option<f64>,
}

#[derive(Serialize)]
struct CompactFactor {
    feature: &'static str,
    logit: f64,
}

fn compact(a: &Recommendations) -> CompactAnswer<'_> {
    let codes = |s: &[SkillRef]| s.iter().map(|s| s.code).collect();
    CompactAnswer {
        anchor: &a.anchor,
        anchor_basis: a.anchor_basis,
        target_set: &a.target_set,
        profile_items: a.profile_items,
        candidates_scored: a.candidates_scored,
        results: a
            .results
            .iter()
            .map(|r| CompactResult {
                occupation: &r.occupation,
                probability: r.probability,
                cosine: r.cosine,
                core_coverage: r.core_coverage,
                matched_core: codes(&r.matched_core),
                missing_core: codes(&r.missing_core),
                missing_other: codes(&r.missing_other),
                missing_other_total: r.missing_other_total,
                top_factors: r
                    .top_factors
                    .iter()
                    .map(|f| CompactFactor { feature: f.feature, logit: f.logit })
                    .collect(),
                curated_order: r.curated_order.unwrap_or(0),
                tension: r.tension.as_ref(),
                blended_score: r.blended_score,
            })
            .collect(),
        job_title: a.job_title.as_ref(),
        tension: a.tension.as_ref(),
    }
}

#[derive(Serialize)]
struct JsonRecord<'a> {
    id: Option<&'a str>,
    line: u64,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    answer: Option<Answer<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<JsonError<'a>>,
}

#[derive(Serialize)]
struct JsonError<'a> {
    field: &'a str,
    reason: &'a str,
}

/// Appends the output record(s) of one input record to `out`.
///
/// # Errors
/// Only if serialisation fails (it does not for these types; kept to avoid a panic path).
pub fn render(
    format: OutputFormat,
    detail: SkillDetail,
    id: Option<&str>,
    line: u64,
    outcome: &Outcome,
    out: &mut Vec<u8>,
) -> Result<(), std::io::Error> {
    match format {
        OutputFormat::Jsonl => {
            let record = match outcome {
                Outcome::Ok(answer) => {
                    let answer = match detail {
                        SkillDetail::Full => Answer::Full(answer),
                        SkillDetail::Codes => Answer::Compact(compact(answer)),
                    };
                    JsonRecord { id, line, status: "ok", answer: Some(answer), error: None }
                }
                Outcome::Error(e) => JsonRecord {
                    id,
                    line,
                    status: "error",
                    answer: None,
                    error: Some(JsonError { field: &e.field, reason: &e.reason }),
                },
            };
            serde_json::to_writer(&mut *out, &record)?;
            out.push(b'\n');
            Ok(())
        }
        OutputFormat::Csv => {
            let mut w = csv::WriterBuilder::new().has_headers(false).from_writer(&mut *out);
            let id = id.unwrap_or("");
            let line = line.to_string();
            match outcome {
                Outcome::Error(e) => {
                    let mut row = vec![""; CSV_HEADER.len()];
                    row[0] = id;
                    row[1] = &line;
                    row[2] = "error";
                    row[17] = &e.field;
                    row[18] = &e.reason;
                    w.write_record(&row)?;
                }
                Outcome::Ok(answer) if answer.results.is_empty() => {
                    let mut row = vec![""; CSV_HEADER.len()];
                    row[0] = id;
                    row[1] = &line;
                    row[2] = "ok";
                    row[16] = &answer.target_set;
                    w.write_record(&row)?;
                }
                Outcome::Ok(answer) => {
                    for (rank, r) in answer.results.iter().enumerate() {
                        let codes = |s: &[SkillRef]| s.iter().map(|s| s.code.to_string()).collect::<Vec<_>>().join(";");
                        let labels = |s: &[SkillRef]| s.iter().map(|s| s.label).collect::<Vec<_>>().join(" | ");
                        let factors = r.top_factors.iter().map(|f| f.feature).collect::<Vec<_>>().join(";");
                        w.write_record([
                            id,
                            &line,
                            "ok",
                            &(rank + 1).to_string(),
                            &r.occupation.code,
                            &r.occupation.label,
                            &r.probability.to_string(),
                            &r.cosine.to_string(),
                            &r.core_coverage.to_string(),
                            &r.curated_order.unwrap_or(0).to_string(),
                            &codes(&r.matched_core),
                            &codes(&r.missing_core),
                            &labels(&r.missing_core),
                            &codes(&r.missing_other),
                            &r.missing_other_total.to_string(),
                            &factors,
                            &answer.target_set,
                            "",
                            "",
                        ])?;
                    }
                }
            }
            w.flush()?;
            Ok(())
        }
    }
}

/// The CSV header line.
pub fn csv_header() -> Vec<u8> {
    let mut out = CSV_HEADER.join(",").into_bytes();
    out.push(b'\n');
    out
}

/// Provenance of every figure of a batch output, as JSON: data source, what the
/// probability means, how results are ordered, the model, the options and the counts.
pub fn provenance(model: &ModelInfo, options: serde_json::Value, summary: serde_json::Value) -> String {
    let value = serde_json::json!({
        "data_source": passerelle_model::embedded::ROME_ATTRIBUTION,
        "probability_basis": crate::grpc::convert::probability_basis(model.calibrated),
        "ranking_basis": crate::grpc::convert::RANKING_BASIS,
        "model": model,
        "options": options,
        "summary": summary,
    });
    serde_json::to_string_pretty(&value).unwrap_or_default()
}
