//! Errors of the model crate: one enum for loading data and artifacts, one for requests.
//!
//! The service maps [`QueryError`] to gRPC statuses in one exhaustive `match`, so every
//! variant here is a decision the adapter must take.

use std::path::PathBuf;

/// An error while loading a ROME export, a target-set file or a model artifact.
///
/// Every variant names the file, and where it applies the 1-based line of the CSV
/// record (header = line 1), so a user can fix a malformed export.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// The file could not be read.
    #[error("{file}: cannot read: {source}")]
    Io {
        /// Path or name of the file.
        file: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A required column is absent from the CSV header.
    #[error("{file}: line 1: missing column `{column}`")]
    MissingColumn {
        /// File name.
        file: String,
        /// The column that was expected.
        column: &'static str,
    },
    /// A CSV record is malformed or fails validation.
    #[error("{file}: line {line}: {reason}")]
    BadRow {
        /// File name.
        file: String,
        /// 1-based line number of the record (the header is line 1).
        line: u64,
        /// What is wrong, with the offending value.
        reason: String,
    },
    /// A whole-file check failed (e.g. no occupation at all).
    #[error("{file}: {reason}")]
    Invalid {
        /// File name.
        file: String,
        /// What is wrong.
        reason: String,
    },
    /// A model artifact cannot be used.
    #[error("model artifact refused: {reason}")]
    Artifact {
        /// Why the artifact was refused (corrupt JSON, checksum, incompatible version…).
        reason: String,
    },
}

/// Why a recommendation query was refused. Each variant names the request field at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    /// The ROME code is not in the loaded catalogue.
    #[error("{field}: unknown ROME code `{code}`")]
    UnknownOccupation {
        /// Request field (e.g. `profile.occupation_code`).
        field: String,
        /// The code as received.
        code: String,
    },
    /// The item code (`code_ogr`) is not in the loaded catalogue (or not a plain number).
    #[error("{field}: unknown item code `{code}`")]
    UnknownItem {
        /// Request field (e.g. `profile.item_codes[2]`).
        field: String,
        /// The code as received.
        code: String,
    },
    /// The profile resolves to no item at all.
    #[error("profile: the profile is empty (give an occupation code or item codes, and do not remove every item)")]
    EmptyProfile,
    /// `top_k` outside `1..=max`.
    #[error("top_k: {got} is out of range 1..={max}")]
    TopKOutOfRange {
        /// The value received.
        got: u32,
        /// The largest accepted value.
        max: u32,
    },
    /// A list in the request is longer than the engine accepts.
    #[error("{field}: {got} entries, at most {max} are accepted")]
    TooManyItems {
        /// Request field.
        field: String,
        /// Entries received.
        got: usize,
        /// Largest accepted count.
        max: usize,
    },
    /// The named target set is not defined.
    #[error("target_set: unknown target set `{name}`")]
    UnknownTargetSet {
        /// The name as received.
        name: String,
    },
    /// A value is malformed or out of its documented range (an empty or too long search
    /// text, a tension weight outside [0, 1], …).
    #[error("{field}: {reason}")]
    InvalidValue {
        /// Request field.
        field: String,
        /// What is wrong, with the accepted range.
        reason: String,
    },
    /// A job title matches no occupation well enough.
    #[error("{field}: no occupation matches `{text}` (try other words, or give a ROME code)")]
    NoMatchingOccupation {
        /// Request field (e.g. `profile.job_title`).
        field: String,
        /// The text as received (cut).
        text: String,
    },
    /// A region or department code is not an INSEE code covered by the tension data.
    #[error("{field}: `{code}` is not an INSEE {what} code covered by the DARES tension data")]
    UnknownArea {
        /// Request field (`profile.region` or `profile.department`).
        field: String,
        /// The code as received (cut).
        code: String,
        /// `region` or `department`.
        what: &'static str,
    },
    /// A feature needs data this engine was built without (e.g. search without an index).
    #[error("{field}: {what} is not loaded in this server")]
    NotLoaded {
        /// Request field that needs it.
        field: String,
        /// What is missing.
        what: &'static str,
    },
    /// More than one code of a profile is unknown ([`QueryError::UnknownOccupation`],
    /// [`QueryError::UnknownItem`], [`QueryError::UnknownArea`]): each one, in request order
    /// (occupation code, `item_codes`, `removed_item_codes`, then region or department), so
    /// a caller fixes them all at once. The message lists the first [`MAX_LISTED_ERRORS`]
    /// and counts the rest.
    #[error("{}", list_messages(.0.iter().map(ToString::to_string), .0.len()))]
    Several(Vec<QueryError>),
}

/// Most errors a [`QueryError::Several`] message (and its gRPC `BadRequest` details) lists;
/// the rest are counted. Error messages and details travel in gRPC headers, which clients
/// cap at 8–16 KiB: five echoes of 40 characters keep both under about 3 KiB.
pub const MAX_LISTED_ERRORS: usize = 5;

/// The messages of several errors as one: the first [`MAX_LISTED_ERRORS`] of `messages`
/// joined by `; `, then `(and N more)` when `total` is larger.
///
/// ```
/// use passerelle_model::error::list_messages;
/// let messages = (0..12).map(|i| format!("item_codes[{i}]: unknown item code `x`"));
/// let joined = list_messages(messages, 12);
/// assert!(joined.starts_with("item_codes[0]: unknown item code `x`; item_codes[1]: "));
/// assert!(joined.ends_with("item_codes[4]: unknown item code `x` (and 7 more)"));
/// ```
pub fn list_messages(messages: impl Iterator<Item = String>, total: usize) -> String {
    let listed: Vec<String> = messages.take(MAX_LISTED_ERRORS).collect();
    let mut out = listed.join("; ");
    if total > listed.len() {
        out.push_str(&format!(" (and {} more)", total - listed.len()));
    }
    out
}

/// Longest echo of a client value in an error message, in characters: error messages
/// travel in gRPC headers (clients refuse headers over 8–16 KiB).
pub const MAX_ECHO_CHARS: usize = 40;

/// A client value as echoed in an error: control characters, and the invisible ones that
/// reorder or hide text around them (bidirectional overrides and isolates such as U+202E,
/// zero-width characters, the byte-order mark), shown as `?`; at most [`MAX_ECHO_CHARS`]
/// characters, then `…`. An echo cannot turn the rest of a message or log line around. A
/// value that starts with a combining mark (an accent typed alone, U+0301) gets the dotted
/// circle `◌` before it, as Unicode shows a mark with no base, so that the mark does not sit
/// on the quote before the value.
///
/// ```
/// use passerelle_model::error::echo;
/// assert_eq!(echo("I13\u{202E}51"), "I13?51");
/// assert_eq!(echo("a\u{200B}b\tc\u{FEFF}"), "a?b?c?");
/// assert_eq!(echo("Électricien"), "Électricien");
/// assert_eq!(echo("\u{301}"), "\u{25CC}\u{301}");
/// assert_eq!(echo("e\u{301}"), "e\u{301}");
/// ```
pub fn echo(value: &str) -> String {
    let mut chars = value.chars().map(|c| if c.is_control() || hides_text(c) { '?' } else { c });
    let base = value.chars().next().filter(|&c| combining_mark(c)).map(|_| '\u{25CC}');
    let head: String = base.into_iter().chain(chars.by_ref().take(MAX_ECHO_CHARS)).collect();
    if chars.next().is_some() {
        head + "…"
    } else {
        head
    }
}

/// `text` with the invisible characters that reorder or hide the text around them (those
/// [`echo`] masks besides control characters: bidirectional overrides and isolates such as
/// U+202E, zero-width characters, the byte-order mark) shown as `?`; kept whole, line breaks
/// included. For a parser's message that quotes a line of the file it refuses.
///
/// ```
/// use passerelle_model::error::mask_hidden;
/// assert_eq!(mask_hidden("2 | [sets.\"x\u{202E}y\"]\n  |  ^"), "2 | [sets.\"x?y\"]\n  |  ^");
/// ```
pub fn mask_hidden(text: &str) -> String {
    text.chars().map(|c| if hides_text(c) { '?' } else { c }).collect()
}

/// The blocks of combining marks (diacritical marks and their extended and supplement
/// blocks, marks for symbols, half marks): a mark in them attaches to the character before.
fn combining_mark(c: char) -> bool {
    matches!(c, '\u{0300}'..='\u{036F}' | '\u{1AB0}'..='\u{1AFF}' | '\u{1DC0}'..='\u{1DFF}' | '\u{20D0}'..='\u{20FF}' | '\u{FE20}'..='\u{FE2F}')
}

/// Unicode format characters that change how the text around them reads without being
/// seen: zero-width spaces and joiners, directional marks, embeddings, overrides and
/// isolates, word joiners and invisible operators, the byte-order mark.
fn hides_text(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}')
}

/// A client number as echoed in an error: as written (`-0.3`, `1.5`, `NaN`) when that
/// fits in [`MAX_ECHO_CHARS`] characters, else in scientific notation (`1e308`, `5e-324`):
/// the plain form of a huge or tiny `f64` is hundreds of digits long.
///
/// ```
/// use passerelle_model::error::echo_number;
/// assert_eq!(echo_number(-0.3), "-0.3");
/// assert_eq!(echo_number(1e308), "1e308");
/// assert_eq!(echo_number(5e-324), "5e-324");
/// ```
pub fn echo_number(value: f64) -> String {
    let plain = value.to_string();
    if plain.chars().count() <= MAX_ECHO_CHARS {
        plain
    } else {
        format!("{value:e}")
    }
}

/// The first of `names` that a CSV header gives more than once, as the start of a reason:
/// `` the column `certification` appears 2 times (columns 1 and 8) `` (1-based columns).
/// `None` when each of `names` appears at most once. Callers say why that is ambiguous.
///
/// ```
/// use passerelle_model::error::repeated_column;
/// let header = ["id", "occupation_code", "id", "id"];
/// assert_eq!(
///     repeated_column(&header, ["occupation_code", "id"]).as_deref(),
///     Some("the column `id` appears 3 times (columns 1, 3 and 4)")
/// );
/// assert_eq!(repeated_column(&header, ["occupation_code"]), None);
/// ```
pub fn repeated_column<'a, H: AsRef<str>>(header: &[H], names: impl IntoIterator<Item = &'a str>) -> Option<String> {
    names.into_iter().find_map(|name| {
        let at: Vec<String> =
            header.iter().enumerate().filter(|(_, h)| h.as_ref() == name).map(|(i, _)| (i + 1).to_string()).collect();
        let (last, first @ [_, ..]) = at.split_last()? else { return None };
        Some(format!("the column `{name}` appears {} times (columns {} and {last})", at.len(), first.join(", ")))
    })
}

/// `bytes` as text, or the 1-based line of its first byte that is not UTF-8 (a line ends
/// at `\n`), for a text file refused with that line rather than as a whole.
///
/// ```
/// use passerelle_model::error::utf8_or_line;
/// assert_eq!(utf8_or_line(b"a = 1\n"), Ok("a = 1\n"));
/// assert_eq!(utf8_or_line(b"a = 1\r\n# caf\xe9\n"), Err(2));
/// ```
///
/// # Errors
/// The line of the first invalid byte.
pub fn utf8_or_line(bytes: &[u8]) -> Result<&str, usize> {
    std::str::from_utf8(bytes).map_err(|e| bytes[..e.valid_up_to()].iter().filter(|&&b| b == b'\n').count() + 1)
}

/// Why a CSV record's field count is refused: `` 1 field, the header has 7 ``.
pub fn field_count(fields: usize, header_len: usize) -> String {
    format!("{fields} field{}, the header has {header_len}", if fields == 1 { "" } else { "s" })
}

/// The usual cause of a record with fields past its header, for the end of a reason.
pub const QUOTE_THE_COMMA: &str = "a value that holds a comma must be quoted";

/// Whether a CSV record (`fields`) holds something past the header's `header_len` columns:
/// a value with an unquoted comma, which shifts the columns after it. Empty fields there (a
/// trailing comma) do not count.
///
/// ```
/// use passerelle_model::error::spills_past_header;
/// assert!(spills_past_header(["a", "Technicien", " fibre"], 2));
/// assert!(!spills_past_header(["a", "I1315", ""], 2));
/// ```
pub fn spills_past_header<'a>(fields: impl IntoIterator<Item = &'a str>, header_len: usize) -> bool {
    fields.into_iter().skip(header_len).any(|f| !f.trim().is_empty())
}

impl QueryError {
    /// The request field this error is about (for a `BadRequest` field violation).
    pub fn field(&self) -> &str {
        match self {
            QueryError::UnknownOccupation { field, .. }
            | QueryError::UnknownItem { field, .. }
            | QueryError::TooManyItems { field, .. }
            | QueryError::InvalidValue { field, .. }
            | QueryError::NoMatchingOccupation { field, .. }
            | QueryError::UnknownArea { field, .. }
            | QueryError::NotLoaded { field, .. } => field,
            QueryError::EmptyProfile => "profile",
            QueryError::TopKOutOfRange { .. } => "top_k",
            QueryError::UnknownTargetSet { .. } => "target_set",
            QueryError::Several(errors) => errors.first().map_or("profile", QueryError::field),
        }
    }

    /// The errors this one stands for: the list of a [`QueryError::Several`], else itself.
    /// One `BadRequest` field violation (or batch error field) each.
    pub fn violations(&self) -> &[QueryError] {
        match self {
            QueryError::Several(errors) => errors,
            one => std::slice::from_ref(one),
        }
    }

    /// Whether this is an unknown code of a profile, or several
    /// ([`QueryError::UnknownOccupation`], [`QueryError::UnknownItem`],
    /// [`QueryError::UnknownArea`], [`QueryError::Several`]): the errors reported together.
    fn is_unknown_code(&self) -> bool {
        matches!(
            self,
            QueryError::UnknownOccupation { .. }
                | QueryError::UnknownItem { .. }
                | QueryError::UnknownArea { .. }
                | QueryError::Several(_)
        )
    }

    /// `first` then `second` as one [`QueryError::Several`] when both are unknown codes of
    /// a profile (the profile's codes and its area, or its region and its department);
    /// `None` otherwise, for the caller to report the one it checks first.
    pub fn both(first: &QueryError, second: &QueryError) -> Option<QueryError> {
        (first.is_unknown_code() && second.is_unknown_code())
            .then(|| QueryError::Several([first.violations(), second.violations()].concat()))
    }

    /// The message of this error with each of its [`violations`](Self::violations) written
    /// by `each` (a batch record's prefix, a CLI option for the field), listed and counted
    /// as [`list_messages`] does.
    pub fn describe(&self, each: impl Fn(&QueryError) -> String) -> String {
        let all = self.violations();
        list_messages(all.iter().map(each), all.len())
    }

    /// `errors` as one error: `None` for none, the error itself for one, else
    /// [`QueryError::Several`].
    pub fn combine(mut errors: Vec<QueryError>) -> Option<QueryError> {
        match errors.len() {
            0 => None,
            1 => errors.pop(),
            _ => Some(QueryError::Several(errors)),
        }
    }
}

/// Why training or evaluation could not run.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// A hyperparameter is outside its documented range.
    #[error("invalid hyperparameter `{name}`: {reason}")]
    InvalidParam {
        /// Parameter name.
        name: &'static str,
        /// Accepted range and value received.
        reason: String,
    },
    /// The data has too few mobilities to train or evaluate.
    #[error("not enough training data: {reason}")]
    NotEnoughData {
        /// What was missing.
        reason: String,
    },
    /// linfa failed to fit the model.
    #[error("linfa logistic regression failed: {0}")]
    Fit(#[from] linfa_logistic::error::Error),
    /// linfa-trees failed to fit a decision tree of the boosted reranker.
    #[error("linfa-trees decision tree failed: {0}")]
    TreeFit(linfa::Error),
    /// A model trained here could not be read back (a bug, not a data problem).
    #[error("the trained model is inconsistent: {0}")]
    Inconsistent(#[from] DataError),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_values_are_cut_in_messages() {
        assert_eq!(echo("I1315"), "I1315");
        let long = "A".repeat(10_000);
        assert_eq!(echo(&long).chars().count(), MAX_ECHO_CHARS + 1);
        assert!(echo(&long).ends_with('…'));
        assert_eq!(echo(&"é".repeat(41)), "é".repeat(40) + "…");
        assert_eq!(echo("a\u{1b}[31mb\nc"), "a?[31mb?c");
    }
}
