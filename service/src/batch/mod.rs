//! Batch work from files: `passerelle score` (every profile of a register, one result per
//! profile, in order), `passerelle cohort` (where a group can go, which core skills it
//! most often lacks) and `passerelle gen-profiles` (synthetic real-shaped profiles for load
//! tests). The domain work is in `passerelle_model` (`Engine::recommend_many`,
//! `cohort`, `synth`); this module reads, writes and reports.
//!
//! Memory stays flat in the input size: records are read, scored on all cores (rayon) and
//! written in chunks of [`CHUNK_RECORDS`], in input order.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use passerelle_model::error::{DataError, QueryError};

pub mod cohort;
pub mod generate;
pub mod input;
pub mod output;
pub mod score;

pub use input::InputFormat;

/// Records read, scored and written together: bounds memory (a JSON result with top-10
/// gaps is about 10–20 KiB) while keeping every core busy.
pub const CHUNK_RECORDS: usize = 1024;

/// Exit code of `score` and `cohort` when some records failed (the others were processed);
/// a fatal error exits with 1.
pub const EXIT_SOME_FAILED: u8 = 2;

/// Exit code of `score` stopped by SIGINT or SIGTERM (128 + SIGINT, as a shell reports a
/// Ctrl-C): the records read until then were scored and written, with their provenance.
pub const EXIT_INTERRUPTED: u8 = 130;

/// Why a batch command stopped, or how many records it could not process.
#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    /// The data, target sets or model could not be loaded.
    #[error(transparent)]
    Load(#[from] DataError),
    /// An option is invalid (unknown target set…), named by its flag (`--target-set`).
    #[error("invalid option: {}", crate::cli::in_cli_terms(.0.field(), &.0.to_string()))]
    Option(#[from] QueryError),
    /// The format cannot be told from the file name.
    #[error("{path}: cannot tell the format from the extension (use .jsonl or .csv, or pass --{flag} jsonl|csv)")]
    UnknownFormat {
        /// The file.
        path: PathBuf,
        /// The flag that sets it.
        flag: &'static str,
    },
    /// Reading the input failed.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// A CSV input whose header cannot be a profile header (no `id` column, no profile
    /// column, `;`- or tab-separated): the file is refused once instead of line by line.
    #[error("{}:{}: {}", path.display(), error.line, error.detail())]
    Header {
        /// The file.
        path: PathBuf,
        /// What is wrong with the header.
        error: input::HeaderError,
    },
    /// Writing the output failed. On standard output (`-`), a broken pipe (the reader,
    /// e.g. `head`, stopped early) is a normal stop: see [`BatchError::is_closed_stdout`].
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// An output file (the answers, or their provenance beside them) is the input file:
    /// writing would destroy the input before it is read.
    #[error("{path}: this output is the input file; choose another output")]
    SameFile {
        /// The file.
        path: PathBuf,
    },
    /// The signal handlers of an interruptible run could not be installed.
    #[error("cannot install the SIGINT / SIGTERM handlers: {0}")]
    Signals(#[source] std::io::Error),
    /// SIGINT or SIGTERM stopped the run: every record read until then (up to input line
    /// `last_line`) was scored and written; nothing after it was read.
    #[error(
        "interrupted: {records} record{s} scored and written, up to input line {last_line}; nothing after it was read (to resume, score the records after line {last_line})",
        s = if *records == 1 { "" } else { "s" }
    )]
    Interrupted {
        /// Records read, scored and written.
        records: u64,
        /// Input line of the last of them (0 when none was read).
        last_line: u64,
    },
    /// The run completed but some records were refused; each has an error record.
    #[error("{failed} of {total} records failed (see the error records{where_})")]
    SomeFailed {
        /// Records refused.
        failed: u64,
        /// Records read.
        total: u64,
        /// Where the error records are, e.g. " in out.jsonl".
        where_: String,
    },
}

impl BatchError {
    /// Whether this is a write to standard output (`-`) whose reader went away (a broken
    /// pipe: `passerelle score … --output - | head`): the command stops early, quietly,
    /// with exit code 0, as the reader asked for no more.
    pub fn is_closed_stdout(&self) -> bool {
        matches!(self, BatchError::Write { path, source }
            if path == Path::new("-") && source.kind() == std::io::ErrorKind::BrokenPipe)
    }
}

/// An opened input: the reader, the file size if known, and the bytes read so far.
type OpenedInput = (Box<dyn BufRead + Send>, Option<u64>, Arc<AtomicU64>);

/// Opens `path` for reading (`-` is standard input) and counts the bytes read, for the
/// progress bar.
fn open_input(path: &Path) -> Result<OpenedInput, BatchError> {
    let counter = Arc::new(AtomicU64::new(0));
    if path == Path::new("-") {
        let reader = Counting { inner: std::io::stdin(), count: Arc::clone(&counter) };
        return Ok((Box::new(BufReader::with_capacity(1 << 16, reader)), None, counter));
    }
    let file = File::open(path).map_err(|source| BatchError::Read { path: path.to_path_buf(), source })?;
    let metadata = file.metadata().ok();
    // A directory opens, and fails only at the first read: after `score` has created (and
    // so emptied) its output file. Refuse it here, before anything is written.
    if metadata.as_ref().is_some_and(std::fs::Metadata::is_dir) {
        return Err(directory_error(path, true));
    }
    let len = metadata.map(|m| m.len());
    let reader = Counting { inner: file, count: Arc::clone(&counter) };
    Ok((Box::new(BufReader::with_capacity(1 << 16, reader)), len, counter))
}

/// Refuses an `output` that is the `input` file: the same file by path, symbolic link or
/// hard link (device and inode, via `same-file`): creating it would empty the input before a
/// record is read. An output that does not exist yet cannot be the input.
///
/// # Errors
/// [`BatchError::SameFile`] naming `output`.
fn refuse_same_file(input: &Path, output: &Path) -> Result<(), BatchError> {
    if input == Path::new("-") || output == Path::new("-") {
        return Ok(());
    }
    if same_file::is_same_file(input, output).unwrap_or(false) {
        return Err(BatchError::SameFile { path: output.to_path_buf() });
    }
    Ok(())
}

/// The error of reading `path`: [`BatchError::Header`] for a refused CSV header, else
/// [`BatchError::Read`].
fn read_error(path: &Path, source: std::io::Error) -> BatchError {
    match input::HeaderError::of(&source) {
        Some(error) => BatchError::Header { path: path.to_path_buf(), error: error.clone() },
        None => BatchError::Read { path: path.to_path_buf(), source },
    }
}

/// `--max-record-bytes`: the largest input record (line breaks not counted).
#[derive(Debug, Clone, Copy, clap::Args)]
pub struct RecordLimitArgs {
    /// Largest input record in bytes, 1024..=67108864; a longer one is an error record for
    /// its line (skipped without being held in memory) and the next ones are read.
    #[arg(long, default_value_t = input::DEFAULT_MAX_RECORD_BYTES as u64, value_parser = crate::cli::whole::<u64>(1024..=64 << 20))]
    pub max_record_bytes: u64,
}

impl RecordLimitArgs {
    /// The limit in bytes.
    pub fn bytes(&self) -> usize {
        usize::try_from(self.max_record_bytes).unwrap_or(input::DEFAULT_MAX_RECORD_BYTES)
    }
}

/// Opens `path` for writing (`-` is standard output).
fn open_output(path: &Path) -> Result<Box<dyn Write + Send>, BatchError> {
    if path == Path::new("-") {
        return Ok(Box::new(BufWriter::with_capacity(1 << 16, std::io::stdout())));
    }
    let file = File::create(path).map_err(|source| BatchError::Write { path: path.to_path_buf(), source })?;
    Ok(Box::new(BufWriter::with_capacity(1 << 16, file)))
}

/// The error of a directory given as a file to read (`reading`) or to write.
fn directory_error(path: &Path, reading: bool) -> BatchError {
    let source = std::io::Error::new(std::io::ErrorKind::IsADirectory, "a directory, not a file");
    let path = path.to_path_buf();
    if reading {
        BatchError::Read { path, source }
    } else {
        BatchError::Write { path, source }
    }
}

/// The format of `path` (an input when `name` is `input-format`, else an output): `flag`
/// if given, else from the extension. A directory is refused as such first (its name has
/// no extension to tell the format from, and it is no file to read or write).
fn format_of(path: &Path, flag: Option<InputFormat>, name: &'static str) -> Result<InputFormat, BatchError> {
    if path != Path::new("-") && path.is_dir() {
        return Err(directory_error(path, name == "input-format"));
    }
    flag.or_else(|| InputFormat::from_path(path))
        .ok_or_else(|| BatchError::UnknownFormat { path: path.to_path_buf(), flag: name })
}

struct Counting<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// A progress bar on standard error when it is a terminal and the input size is known
/// (rate in profiles/s and ETA); hidden otherwise, so pipes and logs stay quiet.
fn progress_bar(input_len: Option<u64>) -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    match input_len {
        Some(len) if std::io::stderr().is_terminal() => {
            let bar = indicatif::ProgressBar::new(len);
            let style = indicatif::ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {wide_bar} {percent:>3}% {msg} ETA {eta}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
            bar.set_style(style);
            bar
        }
        _ => indicatif::ProgressBar::hidden(),
    }
}

/// The message of a record refused by the engine, in the record's own field names
/// (`item_codes[2]` rather than the RPC's `profile.item_codes[2]`); for several unknown
/// codes, the field of the first and every code in the reason.
pub fn record_error(err: &QueryError) -> input::RecordError {
    let strip = |s: &str| s.strip_prefix("profile.").map(str::to_string).unwrap_or_else(|| s.to_string());
    input::RecordError { field: strip(err.field()), reason: err.describe(|e| strip(&e.to_string())) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn several_unknown_codes_make_one_record_error_in_the_record_field_names() {
        let err = QueryError::Several(vec![
            QueryError::UnknownOccupation { field: "profile.occupation_code".into(), code: "X9999".into() },
            QueryError::UnknownItem { field: "profile.item_codes[1]".into(), code: "12x".into() },
        ]);
        let record = record_error(&err);
        assert_eq!(record.field, "occupation_code");
        assert_eq!(record.reason, "occupation_code: unknown ROME code `X9999`; item_codes[1]: unknown item code `12x`");
        let one = QueryError::UnknownItem { field: "profile.item_codes[0]".into(), code: "12x".into() };
        assert_eq!(record_error(&one).reason, "item_codes[0]: unknown item code `12x`");
    }
}
