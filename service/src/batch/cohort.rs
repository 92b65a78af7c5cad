//! `passerelle cohort`: the "map of skill needs" of a group of profiles — most frequent
//! destinations (people, mean probability), most frequent missing core skills (people,
//! share of the cohort) and the certifications that would unlock the most realistic moves
//! for the most people (training planner, one plan per person and move) — as a terminal
//! table, JSON or CSV. Definitions are in `passerelle_model::cohort`.

use std::fmt::Write as _;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use clap::Args;
use passerelle_model::cohort::{
    plan_moves, CohortAccumulator, CohortReport, DistinctIds, DEFAULT_COHORT_ROWS, MAX_COHORT_ROWS,
};
use passerelle_model::engine::{Engine, DEFAULT_TOP_K, MAX_TOP_K};
use passerelle_model::training::catalogue::{Basis, Figure, TrainingCatalogue};
use passerelle_model::training::plan::{Planner, TrainingPlan};
use rayon::prelude::*;
use serde::Serialize;

use crate::batch::input::{InputRecord, ProfileReader, RecordError};
use crate::batch::output::Outcome;
use crate::batch::score::ScoreOptions;
use crate::batch::{
    directory_error, format_of, open_input, open_output, read_error, refuse_same_file, BatchError, InputFormat,
    CHUNK_RECORDS,
};
use crate::cli::SourceArgs;
use crate::server::EngineSource;

/// At most this many refused records are listed in a report (all are counted).
pub const MAX_LISTED_ERRORS: usize = 100;

/// Output format of `passerelle cohort`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CohortFormat {
    /// Aligned tables for a terminal.
    Table,
    /// One JSON document.
    Json,
    /// CSV for a spreadsheet, one row per listed entry; columns
    /// `section,rank,code,label,kind,people,share,mean_probability,moves,expected_moves,hours,hours_basis,cost_eur,cost_basis`.
    Csv,
}

/// `passerelle cohort`.
#[derive(Debug, Args)]
pub struct CohortArgs {
    /// Profiles, JSON Lines or CSV (same layout as `passerelle score`; `-` for standard input).
    #[arg(long)]
    pub input: PathBuf,
    /// Format of the input (default: from the extension).
    #[arg(long, value_enum)]
    pub input_format: Option<InputFormat>,
    /// Target set: ALL, DIGITAL_INFRASTRUCTURE, or a set of --target-sets.
    #[arg(long, default_value = "ALL")]
    pub target_set: String,
    /// Moves considered per person: their top k (1..=100).
    #[arg(long, default_value_t = DEFAULT_TOP_K, value_parser = crate::cli::whole::<u32>(1..=u64::from(MAX_TOP_K)))]
    pub moves_per_person: u32,
    /// Rows in each list (1..=1000).
    #[arg(long, default_value_t = DEFAULT_COHORT_ROWS, value_parser = crate::cli::whole::<usize>(1..=MAX_COHORT_ROWS as u64))]
    pub rows: usize,
    /// Rank by the model alone, ignoring France Travail's curated lists.
    #[arg(long)]
    pub model_only: bool,
    /// Skip the certification list (no training plans: faster on large cohorts).
    #[arg(long)]
    pub no_certifications: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = CohortFormat::Table)]
    pub format: CohortFormat,
    /// Where to write the report (default: standard output).
    #[arg(long, default_value = "-")]
    pub output: PathBuf,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub record_limit: crate::batch::RecordLimitArgs,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub source: SourceArgs,
}

/// A refused record, as listed in a cohort report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RefusedRecord {
    /// 1-based line in the input.
    pub line: u64,
    /// The caller's id, if it could be read.
    pub id: Option<String>,
    /// Field at fault.
    pub field: String,
    /// Reason.
    pub reason: String,
}

/// A cohort report with the records that could not be analysed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CohortOutput {
    /// The report over the valid profiles.
    pub report: CohortReport,
    /// Moves considered per person.
    pub moves_per_person: u32,
    /// Records refused (not in the report).
    pub refused: u64,
    /// The first [`MAX_LISTED_ERRORS`] refused records.
    pub refused_records: Vec<RefusedRecord>,
    /// Data source and licence.
    pub data_source: String,
    /// What the probability means.
    pub probability_basis: String,
    /// Model checksum.
    pub model_checksum: String,
    /// Why the certification section is empty, when it is.
    pub certifications_note: Option<String>,
}

/// Why the certification section is empty: no training catalogue was available.
pub const CERTIFICATIONS_NOTE: &str = "Certifications that unlock the most moves need the training catalogue, which was not loaded: the section is left empty rather than estimated.";

/// Why the certification section is empty: `passerelle cohort --no-certifications` (the
/// catalogue is there, the plans were not asked for).
pub const CERTIFICATIONS_SKIPPED_NOTE: &str = "Certifications that unlock the most moves were not computed (--no-certifications): the section is left empty rather than estimated.";

/// What the certification list means (shown with it).
pub const CERTIFICATIONS_BASIS: &str = "Certifications: people = persons with at least one of their top-k moves whose training plan (default constraints) includes it; moves = such (person, move) pairs; expected moves = sum of those moves' model probabilities (realistic moves unlocked). Hours and cost are the catalogue's typical figures, with their basis.";

/// The error of a record whose id was already counted on line `first`.
fn duplicate_id(first: u64) -> RecordError {
    RecordError::on(
        "id",
        &format!("this id was already counted on line {first}: a person is counted once; this record is left out"),
    )
}

/// Analyses every record of `reader` in chunks scored in parallel; memory is bounded by
/// the chunk and the catalogue, not by the cohort size.
///
/// # Errors
/// An I/O error of the input.
///
/// With a training catalogue, each valid person's moves are planned (in parallel) and the
/// report lists the certifications; a person whose moves cannot be planned is refused.
///
/// A person is counted once: a record whose id was already counted (an earlier valid
/// record with the same id) is refused on field `id`, naming the line of the first one
/// ([`DistinctIds`]; ids are exact, case included).
pub fn analyse<R: BufRead>(
    engine: &Engine,
    training: Option<&TrainingCatalogue>,
    options: &ScoreOptions,
    reader: &mut ProfileReader<R>,
    rows: usize,
) -> std::io::Result<CohortOutput> {
    let planner = match training.map(|t| Planner::new(engine, t)) {
        Some(Ok(planner)) => Some(planner),
        Some(Err(e)) => {
            tracing::warn!(error = %e, "cohort: no certification list");
            None
        }
        None => None,
    };
    let mut acc = CohortAccumulator::new();
    if planner.is_some() {
        acc.add_plans(&[], &[]); // the list is on, even for an empty cohort
    }
    let mut ids = DistinctIds::new();
    let mut refused = 0u64;
    let mut refused_records = Vec::new();
    let mut records: Vec<InputRecord> = Vec::with_capacity(CHUNK_RECORDS);
    loop {
        records.clear();
        while records.len() < CHUNK_RECORDS {
            match reader.next_record()? {
                Some(r) => records.push(r),
                None => break,
            }
        }
        if records.is_empty() {
            break;
        }
        let outcomes = crate::batch::score::score_records(engine, options, &records);
        let plans: Vec<Option<Result<PersonPlans, RecordError>>> = records
            .par_iter()
            .zip(outcomes.par_iter())
            .map(|(r, outcome)| match (&planner, &r.profile, outcome) {
                (Some(planner), Ok(profile), Outcome::Ok(answer)) => Some(
                    plan_moves(planner, profile, answer)
                        .map_err(|e| RecordError { field: e.field().to_string(), reason: e.to_string() }),
                ),
                _ => None,
            })
            .collect();
        for ((r, outcome), plans) in records.iter().zip(outcomes).zip(plans) {
            let outcome = match (outcome, plans) {
                (Outcome::Ok(_), Some(Err(e))) => Outcome::Error(e),
                // A person is counted once: the first record of an id that is analysed counts.
                (Outcome::Ok(answer), plans) => match r.id.as_deref().and_then(|id| ids.first_seen(id, r.line)) {
                    Some(first) => Outcome::Error(duplicate_id(first)),
                    None => {
                        if let Some(Ok((plans, probabilities))) = &plans {
                            acc.add_plans(plans, probabilities);
                        }
                        Outcome::Ok(answer)
                    }
                },
                (outcome, _) => outcome,
            };
            match outcome {
                Outcome::Ok(a) => acc.add(&a),
                Outcome::Error(RecordError { field, reason }) => {
                    refused += 1;
                    if refused_records.len() < MAX_LISTED_ERRORS {
                        refused_records.push(RefusedRecord { line: r.line, id: r.id.clone(), field, reason });
                    }
                }
            }
        }
    }
    let mut report = acc.finish(rows);
    // An empty cohort has no answer to take the set's name from: name the set asked for, by
    // its own name (`all` asked, `ALL` named), as `AnalyzeCohort` does.
    if report.target_set.is_none() {
        let asked = options.target_set.trim();
        report.target_set =
            Some(engine.target_sets().get(asked).map_or_else(|| asked.to_string(), |set| set.name.clone()));
    }
    let certifications_note = report.certifications.is_none().then(|| CERTIFICATIONS_NOTE.to_string());
    Ok(CohortOutput {
        report,
        moves_per_person: options.top_k,
        refused,
        refused_records,
        data_source: passerelle_model::embedded::ROME_ATTRIBUTION.to_string(),
        probability_basis: crate::grpc::convert::probability_basis(engine.model_info().calibrated),
        model_checksum: engine.model_info().checksum.clone(),
        certifications_note,
    })
}

/// One person's plans and their moves' probabilities.
type PersonPlans = (Vec<TrainingPlan>, Vec<f64>);

/// The name of a basis (`sourced`, `derived`, `assumption`, `estimate`, `operator`).
pub fn basis_name(basis: Basis) -> &'static str {
    match basis {
        Basis::Sourced => "sourced",
        Basis::Derived => "derived",
        Basis::Assumption => "assumption",
        Basis::Estimate => "estimate",
        Basis::Operator => "operator",
    }
}

/// A figure with its basis, to 0.1, e.g. `24.5 h (sourced)`.
fn with_basis(f: &Figure, unit: &str) -> String {
    format!("{} {unit} ({})", (f.value * 10.0).round() / 10.0, basis_name(f.basis))
}

/// The report as aligned text tables.
pub fn table(c: &CohortOutput) -> String {
    let r = &c.report;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Cohort of {} people ({} records refused), target set {}, top {} moves per person",
        r.people,
        c.refused,
        r.target_set.as_deref().unwrap_or("-"),
        c.moves_per_person
    );
    let _ = writeln!(out, "\nMost frequent destinations");
    let _ = writeln!(out, "{:>4}  {:<6} {:>7} {:>6} {:>9}  label", "rank", "ROME", "people", "share", "mean prob");
    for (i, o) in r.occupations.iter().enumerate() {
        let _ = writeln!(
            out,
            "{:>4}  {:<6} {:>7} {:>5.1}% {:>9.3}  {}",
            i + 1,
            o.occupation.code,
            o.people,
            100.0 * o.share,
            o.mean_probability,
            o.occupation.label
        );
    }
    let _ = writeln!(out, "\nMost frequent missing core skills");
    let _ = writeln!(out, "{:>4}  {:<8} {:>7} {:>6} {:>7}  label", "rank", "code_ogr", "people", "share", "moves");
    for (i, s) in r.missing_core_skills.iter().enumerate() {
        let _ = writeln!(
            out,
            "{:>4}  {:<8} {:>7} {:>5.1}% {:>7}  {}",
            i + 1,
            s.code,
            s.people,
            100.0 * s.share,
            s.moves,
            s.label
        );
    }
    if let Some(certs) = &r.certifications {
        let _ = writeln!(out, "\nCertifications that unlock the most realistic moves");
        let _ = writeln!(
            out,
            "{:>4}  {:<8} {:>7} {:>6} {:>6} {:>9}  {:<20} {:<22} label",
            "rank", "code_ogr", "people", "share", "moves", "exp.moves", "hours", "cost"
        );
        for (i, k) in certs.iter().enumerate() {
            let _ = writeln!(
                out,
                "{:>4}  {:<8} {:>7} {:>5.1}% {:>6} {:>9.2}  {:<20} {:<22} {}",
                i + 1,
                k.code,
                k.people,
                100.0 * k.share,
                k.moves,
                k.expected_moves,
                with_basis(&k.hours, "h"),
                with_basis(&k.cost_eur, "EUR"),
                k.label
            );
        }
        let _ = writeln!(out, "{CERTIFICATIONS_BASIS}");
    }
    if let Some(note) = &c.certifications_note {
        let _ = writeln!(out, "\n{note}");
    }
    for line in refused_lines(c) {
        let _ = writeln!(out, "{line}");
    }
    let _ = writeln!(out, "\n{}. {}", c.data_source, c.probability_basis);
    out
}

/// One line per listed refused record, `refused: line N (id X): reason` (`-` for a record
/// whose id could not be read), then, when more were refused than listed, a line saying how
/// many more.
pub fn refused_lines(c: &CohortOutput) -> Vec<String> {
    let mut lines: Vec<String> = c
        .refused_records
        .iter()
        .map(|e| {
            // A reason about a field starts with it; one about the whole record (`line`) is
            // written as it is.
            let reason = if e.field == "line" || e.reason.starts_with(&e.field) {
                e.reason.clone()
            } else {
                format!("{}: {}", e.field, e.reason)
            };
            // The id echoed: a bidirectional override in it would turn the line around.
            let id = e.id.as_deref().map_or_else(|| "-".to_string(), passerelle_model::error::echo);
            format!("refused: line {} (id {id}): {reason}", e.line)
        })
        .collect();
    let unlisted = c.refused.saturating_sub(c.refused_records.len() as u64);
    if unlisted > 0 {
        lines.push(format!("refused: {unlisted} more records, not listed (the first {MAX_LISTED_ERRORS} are)"));
    }
    lines
}

/// The report as CSV: `section,rank,code,label,kind,people,share,mean_probability,moves,
/// expected_moves,hours,hours_basis,cost_eur,cost_basis`, with section `occupation`,
/// `missing_core_skill` or `certification` (the last four columns are filled for
/// certifications only; cells that do not apply are empty).
pub fn csv(c: &CohortOutput) -> Result<Vec<u8>, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "section",
        "rank",
        "code",
        "label",
        "kind",
        "people",
        "share",
        "mean_probability",
        "moves",
        "expected_moves",
        "hours",
        "hours_basis",
        "cost_eur",
        "cost_basis",
    ])?;
    for (i, o) in c.report.occupations.iter().enumerate() {
        w.write_record([
            "occupation",
            &(i + 1).to_string(),
            &o.occupation.code,
            &o.occupation.label,
            "",
            &o.people.to_string(),
            &o.share.to_string(),
            &o.mean_probability.to_string(),
            "",
            "",
            "",
            "",
            "",
            "",
        ])?;
    }
    for (i, s) in c.report.missing_core_skills.iter().enumerate() {
        let kind = serde_json::to_value(s.kind).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
        w.write_record([
            "missing_core_skill",
            &(i + 1).to_string(),
            &s.code.to_string(),
            &s.label,
            &kind,
            &s.people.to_string(),
            &s.share.to_string(),
            "",
            &s.moves.to_string(),
            "",
            "",
            "",
            "",
            "",
        ])?;
    }
    for (i, k) in c.report.certifications.iter().flatten().enumerate() {
        w.write_record([
            "certification",
            &(i + 1).to_string(),
            &k.code.to_string(),
            &k.label,
            "certification",
            &k.people.to_string(),
            &k.share.to_string(),
            "",
            &k.moves.to_string(),
            &k.expected_moves.to_string(),
            &k.hours.value.to_string(),
            basis_name(k.hours.basis),
            &k.cost_eur.value.to_string(),
            basis_name(k.cost_eur.basis),
        ])?;
    }
    w.into_inner().map_err(|e| csv::Error::from(e.into_error()))
}

/// Runs `passerelle cohort`.
///
/// # Errors
/// [`BatchError`]; [`BatchError::SomeFailed`] (after printing the report) when records
/// were refused. The table and JSON list the refused records in the report; with CSV, whose
/// rows are the aggregate only, they are listed on stderr, one `refused: line N (id X):
/// reason` line each.
pub fn run(args: CohortArgs) -> Result<(), BatchError> {
    let input_format = format_of(&args.input, args.input_format, "input-format")?;
    // The report is written after the whole cohort is analysed: a directory as the output is
    // refused before that, as `score` refuses it (not after minutes, with the OS's words).
    if args.output != Path::new("-") && args.output.is_dir() {
        return Err(directory_error(&args.output, false));
    }
    let source = EngineSource::from(args.source);
    let engine = source.load()?;
    let training = if args.no_certifications { None } else { Some(source.load_training(engine.catalogue())?) };
    let options = ScoreOptions {
        top_k: args.moves_per_person,
        target_set: args.target_set.trim().to_string(),
        include_current_occupation: false,
        model_only: args.model_only,
        // The cohort counts the core gap only.
        max_other_skills: 0,
    };
    options.check(&engine)?;
    refuse_same_file(&args.input, &args.output)?;
    let (input, _, _) = open_input(&args.input)?;
    let mut reader = ProfileReader::new(input, input_format).with_max_record_bytes(args.record_limit.bytes());
    let mut result = analyse(&engine, training.as_ref(), &options, &mut reader, args.rows)
        .map_err(|source| read_error(&args.input, source))?;
    if args.no_certifications {
        // The catalogue is embedded (or given): the section is empty because it was skipped.
        result.certifications_note = Some(CERTIFICATIONS_SKIPPED_NOTE.to_string());
    }
    let bytes = match args.format {
        CohortFormat::Table => table(&result).into_bytes(),
        CohortFormat::Json => {
            let mut text = serde_json::to_string_pretty(&result).unwrap_or_default();
            text.push('\n');
            text.into_bytes()
        }
        CohortFormat::Csv => csv(&result).map_err(|e| BatchError::Write {
            path: args.output.clone(),
            source: std::io::Error::other(e.to_string()),
        })?,
    };
    let mut out = open_output(&args.output)?;
    out.write_all(&bytes)
        .and_then(|()| out.flush())
        .map_err(|source| BatchError::Write { path: args.output.clone(), source })?;
    if result.refused > 0 {
        // The CSV holds the aggregate only: its refused records are listed on stderr, in the
        // table's words.
        let where_ = if args.format == CohortFormat::Csv {
            for line in refused_lines(&result) {
                eprintln!("{line}");
            }
            " listed on standard error"
        } else {
            " listed in the report"
        };
        return Err(BatchError::SomeFailed {
            failed: result.refused,
            total: result.refused + result.report.people as u64,
            where_: where_.to_string(),
        });
    }
    Ok(())
}
