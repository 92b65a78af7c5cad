//! `passerelle score`: one result per input profile, in input order, on all cores.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use clap::Args;
use passerelle_model::engine::{Engine, ProfileQuery, RecommendQuery, MAX_TOP_K};
use passerelle_model::error::QueryError;
use rayon::prelude::*;

use crate::batch::input::{InputRecord, ProfileReader, RecordError};
use crate::batch::output::{self, Outcome, OutputFormat, SkillDetail};
use crate::batch::{
    directory_error, format_of, open_input, open_output, progress_bar, read_error, record_error, refuse_same_file,
    BatchError, InputFormat, CHUNK_RECORDS,
};
use crate::cli::SourceArgs;
use crate::server::EngineSource;

/// `passerelle score`.
#[derive(Debug, Args)]
pub struct ScoreArgs {
    /// Profiles, JSON Lines or CSV (`-` for standard input, then give --input-format).
    #[arg(long)]
    pub input: PathBuf,
    /// Results, JSON Lines or CSV (`-` for standard output, then give --output-format).
    /// The provenance of the figures is written beside it as `<output>.provenance.json`.
    /// When the reader of standard output stops early (`| head`), scoring stops quietly
    /// with exit code 0.
    #[arg(long)]
    pub output: PathBuf,
    /// Format of both files (default: from each file's extension).
    #[arg(long, value_enum)]
    pub format: Option<InputFormat>,
    /// Format of the input (overrides --format).
    #[arg(long, value_enum)]
    pub input_format: Option<InputFormat>,
    /// Format of the output (overrides --format).
    #[arg(long, value_enum)]
    pub output_format: Option<InputFormat>,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub ranking: crate::cli::RankingArgs,
    /// JSON Lines: write each skill as a full object (code, label, kind, relevance) and
    /// each factor with its explanation, as `passerelle recommend` does; default: skills
    /// as `code_ogr` numbers (about 14 times smaller).
    #[arg(long)]
    pub skill_labels: bool,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub record_limit: crate::batch::RecordLimitArgs,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub source: SourceArgs,
}

/// The options applied to every profile of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScoreOptions {
    /// Results per profile.
    pub top_k: u32,
    /// Target set name.
    pub target_set: String,
    /// Whether the profile's own occupation may be returned.
    pub include_current_occupation: bool,
    /// Rank by the model alone.
    pub model_only: bool,
    /// Most optional skills listed per result (`missing_other`), 0..=1000.
    pub max_other_skills: u32,
}

impl ScoreOptions {
    /// The query for one profile.
    pub fn query(&self, profile: ProfileQuery) -> RecommendQuery {
        RecommendQuery {
            profile,
            top_k: Some(self.top_k),
            target_set: self.target_set.clone(),
            include_current_occupation: self.include_current_occupation,
            model_only: self.model_only,
            // Batch ranking is by transition probability; each result still carries the
            // tension figures of the profile's area when it gives one.
            tension_weight: 0.0,
            max_other_skills: Some(self.max_other_skills),
        }
    }

    /// Checks the options once, before any record is read.
    ///
    /// # Errors
    /// [`QueryError::UnknownTargetSet`] or [`QueryError::TopKOutOfRange`].
    pub fn check(&self, engine: &Engine) -> Result<(), QueryError> {
        if !(1..=MAX_TOP_K).contains(&self.top_k) {
            return Err(QueryError::TopKOutOfRange { got: self.top_k, max: MAX_TOP_K });
        }
        if engine.target_sets().get(self.target_set.trim()).is_none() {
            return Err(QueryError::UnknownTargetSet { name: passerelle_model::error::echo(&self.target_set) });
        }
        Ok(())
    }
}

/// Counts of a finished batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Summary {
    /// Records read (each has one output record).
    pub records: u64,
    /// Records refused (each has an error record).
    pub failed: u64,
    /// Whether the run was stopped by SIGINT or SIGTERM before the end of its input: the
    /// records read until then were scored and written, none after them was read.
    pub interrupted: bool,
    /// The input line of the last record read (its first physical line, 1-based; 0 when
    /// none was): an interrupted run resumes after it.
    pub last_line: u64,
}

/// The provenance file written beside `output`: `<output>.provenance.json`.
fn provenance_path(output: &std::path::Path) -> std::path::PathBuf {
    let mut path = output.as_os_str().to_os_string();
    path.push(".provenance.json");
    path.into()
}

/// Scores every record of `reader` and writes one output record per input record, in
/// order: chunks of `chunk` records are scored and rendered in parallel (rayon) while a
/// writer thread writes the previous chunk (at most two chunks wait for it, so memory is
/// bounded by the chunk size). `on_chunk` is called after each chunk with the records
/// done so far. When `stop` becomes true (a signal, see [`stop_on_signals`]), no record is
/// read after the one being read: those already read are scored and written, and the
/// summary says `interrupted`.
///
/// # Errors
/// An I/O error of the input (`Err(Ok(e))`) or of the output (`Err(Err(e))`); every record
/// before it has been handed to the writer.
#[allow(clippy::too_many_arguments)]
pub fn score_stream<R: BufRead>(
    engine: &Engine,
    options: &ScoreOptions,
    reader: &mut ProfileReader<R>,
    out: &mut (dyn Write + Send),
    format: OutputFormat,
    detail: SkillDetail,
    chunk: usize,
    stop: &AtomicBool,
    mut on_chunk: impl FnMut(u64),
) -> Result<Summary, Result<std::io::Error, std::io::Error>> {
    let mut summary = Summary { records: 0, failed: 0, interrupted: false, last_line: 0 };
    std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<(bool, Vec<u8>)>>(2);
        let writer = scope.spawn(move || -> std::io::Result<()> {
            if format == OutputFormat::Csv {
                out.write_all(&output::csv_header())?;
            }
            for rendered in rx {
                for (_, bytes) in &rendered {
                    out.write_all(bytes)?;
                }
                // Each chunk reaches the file whole once written: between chunks, what a
                // reader of a running batch (or of an interrupted one) sees ends on a record.
                out.flush()?;
            }
            out.flush()
        });
        let mut read_error = None;
        let mut records: Vec<InputRecord> = Vec::with_capacity(chunk);
        loop {
            records.clear();
            while records.len() < chunk.max(1) {
                if stop.load(Ordering::Relaxed) {
                    summary.interrupted = true;
                    break;
                }
                match reader.next_record() {
                    Ok(Some(r)) => {
                        summary.last_line = r.line;
                        records.push(r);
                    }
                    Ok(None) => break,
                    Err(e) => {
                        read_error = Some(e);
                        break;
                    }
                }
            }
            if records.is_empty() {
                break;
            }
            let outcomes = score_records(engine, options, &records);
            let rendered: Vec<(bool, Vec<u8>)> = records
                .par_iter()
                .zip(outcomes.par_iter())
                .map(|(r, outcome)| render_record(format, detail, r, outcome))
                .collect();
            for (failed, _) in &rendered {
                summary.records += 1;
                summary.failed += u64::from(*failed);
            }
            if tx.send(rendered).is_err() {
                break; // the writer stopped on an error, reported below
            }
            on_chunk(summary.records);
            if read_error.is_some() || summary.interrupted {
                break;
            }
        }
        drop(tx);
        let written = writer.join().unwrap_or_else(|_| Err(std::io::Error::other("the writer thread panicked")));
        match (read_error, written) {
            (_, Err(e)) => Err(Err(e)),
            (Some(e), Ok(())) => Err(Ok(e)),
            (None, Ok(())) => Ok(summary),
        }
    })
}

/// A flag that SIGINT (Ctrl-C) and SIGTERM set, for [`score_stream`]'s `stop`; a second
/// such signal ends the process at once with exit code 130, as without the handler.
///
/// # Errors
/// The signal handlers cannot be installed (the operating system refused them).
pub fn stop_on_signals() -> std::io::Result<Arc<AtomicBool>> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [SIGINT, SIGTERM] {
        // In this order: the first signal finds the flag false and only sets it.
        signal_hook::flag::register_conditional_shutdown(signal, 130, Arc::clone(&stop))?;
        signal_hook::flag::register(signal, Arc::clone(&stop))?;
    }
    Ok(stop)
}

/// Scores the valid records of a chunk on all cores (`Engine::recommend_many`); one
/// outcome per record, in order.
pub fn score_records(engine: &Engine, options: &ScoreOptions, records: &[InputRecord]) -> Vec<Outcome> {
    let queries: Vec<_> =
        records.iter().filter_map(|r| r.profile.as_ref().ok()).map(|p| options.query(p.clone())).collect();
    let mut answers = engine.recommend_many(&queries).into_iter();
    records
        .iter()
        .map(|r| match &r.profile {
            Err(e) => Outcome::Error(e.clone()),
            Ok(_) => match answers.next() {
                Some(Ok(answer)) => Outcome::Ok(answer),
                Some(Err(err)) => Outcome::Error(record_error(&err)),
                None => Outcome::Error(RecordError { field: "line".into(), reason: "internal: no answer".into() }),
            },
        })
        .collect()
}

/// Renders the output record(s) of one input record; `true` when it is an error record.
fn render_record(format: OutputFormat, detail: SkillDetail, r: &InputRecord, outcome: &Outcome) -> (bool, Vec<u8>) {
    let mut bytes = Vec::with_capacity(8 * 1024);
    let failed = matches!(outcome, Outcome::Error(_));
    if let Err(e) = output::render(format, detail, r.id.as_deref(), r.line, outcome, &mut bytes) {
        bytes.clear();
        let fallback =
            Outcome::Error(RecordError { field: "line".into(), reason: format!("cannot render the result: {e}") });
        let _ = output::render(format, detail, r.id.as_deref(), r.line, &fallback, &mut bytes);
        return (true, bytes);
    }
    (failed, bytes)
}

/// Runs `passerelle score`.
///
/// # Errors
/// [`BatchError`]; [`BatchError::SomeFailed`] when the run completed with refused records.
pub fn run(args: ScoreArgs) -> Result<(), BatchError> {
    let started = Instant::now();
    let input_format = format_of(&args.input, args.input_format.or(args.format), "input-format")?;
    let output_format = format_of(&args.output, args.output_format.or(args.format), "output-format")?;
    let engine = EngineSource::from(args.source).load()?;
    let options = ScoreOptions {
        top_k: args.ranking.top_k,
        target_set: args.ranking.target_set.trim().to_string(),
        include_current_occupation: args.ranking.include_current,
        model_only: args.ranking.model_only,
        max_other_skills: args.ranking.max_other_skills,
    };
    options.check(&engine)?;
    let (input, input_len, bytes_read) = open_input(&args.input)?;
    let mut reader = ProfileReader::new(input, input_format).with_max_record_bytes(args.record_limit.bytes());
    refuse_same_file(&args.input, &args.output)?;
    refuse_same_file(&args.input, &provenance_path(&args.output))?;
    // Found only after the whole run otherwise (the provenance is written last), exit code 1.
    let provenance = provenance_path(&args.output);
    if args.output != std::path::Path::new("-") && provenance.is_dir() {
        return Err(directory_error(&provenance, false));
    }
    // A CSV header that is not a profile header stops the run before the output is created.
    reader.start().map_err(|source| read_error(&args.input, source))?;
    let mut out = open_output(&args.output)?;
    let stop = stop_on_signals().map_err(BatchError::Signals)?;
    let bar = progress_bar(input_len);
    let detail = if args.skill_labels { SkillDetail::Full } else { SkillDetail::Codes };
    let summary =
        score_stream(&engine, &options, &mut reader, &mut *out, output_format, detail, CHUNK_RECORDS, &stop, |done| {
            bar.set_position(bytes_read.load(std::sync::atomic::Ordering::Relaxed));
            let secs = bar.elapsed().as_secs_f64().max(1e-9);
            bar.set_message(format!("{done} profiles, {:.0} profiles/s", done as f64 / secs));
        })
        .map_err(|e| match e {
            Ok(source) => read_error(&args.input, source),
            Err(source) => BatchError::Write { path: args.output.clone(), source },
        })?;
    bar.finish_and_clear();
    drop(out);
    let elapsed = started.elapsed().as_secs_f64();
    let rate = summary.records as f64 / elapsed.max(1e-9);
    if args.output != std::path::Path::new("-") {
        let path = provenance_path(&args.output);
        let options_json = serde_json::json!({
            "top_k": options.top_k,
            "target_set": options.target_set,
            "include_current_occupation": options.include_current_occupation,
            "model_only": options.model_only,
            "max_other_skills": options.max_other_skills,
            "output_format": format!("{output_format:?}").to_lowercase(),
            "skill_labels": args.skill_labels,
        });
        let text = output::provenance(engine.model_info(), options_json, serde_json::json!(summary));
        std::fs::write(&path, text + "\n")
            .map_err(|source| BatchError::Write { path: PathBuf::from(&path), source })?;
    }
    eprintln!(
        "scored {} profile{} ({} ok, {} failed) in {elapsed:.1} s, {rate:.0} profiles/s (including start-up) → {}",
        summary.records,
        if summary.records == 1 { "" } else { "s" },
        summary.records - summary.failed,
        summary.failed,
        args.output.display()
    );
    if summary.interrupted {
        return Err(BatchError::Interrupted { records: summary.records, last_line: summary.last_line });
    }
    if summary.failed > 0 {
        return Err(BatchError::SomeFailed {
            failed: summary.failed,
            total: summary.records,
            where_: format!(" in {}", args.output.display()),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    /// A stop raised after the first chunk of 2: those 2 records are written, the third is
    /// never read (its line is past `last_line`), and the summary says so.
    #[test]
    fn a_stop_ends_the_run_after_the_records_already_read() {
        let engine = passerelle_model::embedded::engine().expect("embedded engine");
        let options = ScoreOptions {
            top_k: 1,
            target_set: "ALL".into(),
            include_current_occupation: false,
            model_only: false,
            max_other_skills: 0,
        };
        let text = "{\"id\":\"a\",\"occupation_code\":\"I1315\"}\n\n{\"id\":\"b\",\"occupation_code\":\"Z9999\"}\n{\"id\":\"c\",\"occupation_code\":\"I1315\"}\n";
        let stop = AtomicBool::new(false);
        // One run over `text` with chunks of 2: its summary and the ids written.
        let run = |on_chunk: &dyn Fn()| {
            let mut reader = ProfileReader::new(text.as_bytes(), InputFormat::Jsonl);
            let mut out = Vec::new();
            let summary = score_stream(
                &engine,
                &options,
                &mut reader,
                &mut out,
                OutputFormat::Jsonl,
                SkillDetail::Codes,
                2,
                &stop,
                |_| on_chunk(),
            )
            .expect("scored");
            let ids: Vec<String> = String::from_utf8(out)
                .unwrap()
                .lines()
                .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["id"].as_str().unwrap().to_string())
                .collect();
            (summary, ids)
        };
        let (summary, ids) = run(&|| stop.store(true, Ordering::Relaxed));
        assert_eq!(summary, Summary { records: 2, failed: 1, interrupted: true, last_line: 3 });
        assert_eq!(ids, ["a", "b"]);
        // Raised before the run, nothing is read.
        let (summary, ids) = run(&|| {});
        assert_eq!(summary, Summary { records: 0, failed: 0, interrupted: true, last_line: 0 });
        assert!(ids.is_empty());
    }
}
