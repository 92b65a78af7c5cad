//! Reading profiles for batch scoring and cohort analysis, one record at a time (the whole
//! file is never held in memory).
//!
//! Two formats, chosen by [`InputFormat::from_path`] (extension) or a flag:
//!
//! - **JSON Lines** (`.jsonl`, `.ndjson`, `.json`): one object per line,
//!   `{"id": "A-17", "occupation_code": "I1315", "item_codes": ["403964"], "removed_item_codes": ["400772"]}`.
//!   `id` is required (a string, or an integer taken as its decimal text); the profile
//!   fields are those of `passerelle.v1.Profile` and each is optional; any other key is an
//!   error. Blank lines are skipped (they are not records).
//! - **CSV** (`.csv`): a header line, then one profile per line. Columns by name: `id`
//!   (required), `occupation_code`, `item_codes`, `removed_item_codes` (optional; codes
//!   separated by `;` or spaces). Other columns are ignored.
//!
//! A record that cannot be read (malformed JSON, wrong number of CSV fields, a missing id,
//! a field of the wrong type) comes out as an [`InputRecord`] whose `profile` is an
//! [`RecordError`] naming the field and the reason, with its 1-based line number; the
//! following records are still read. Only an I/O failure of the file itself stops the run.

use std::io::BufRead;
use std::path::Path;

use passerelle_model::engine::ProfileQuery;
use passerelle_model::error::echo;
use serde_json::Value;

/// Format of a profile or result file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum InputFormat {
    /// JSON Lines: one JSON object per line.
    Jsonl,
    /// CSV with a header line.
    Csv,
}

impl InputFormat {
    /// The format given by a file's extension (`jsonl`, `ndjson`, `json` or `csv`, any
    /// case), if it names one.
    pub fn from_path(path: &Path) -> Option<Self> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "jsonl" | "ndjson" | "json" => Some(InputFormat::Jsonl),
            "csv" => Some(InputFormat::Csv),
            _ => None,
        }
    }
}

/// Why one record was refused: the field at fault (`line` for the record as a whole) and
/// the reason, as written in error records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordError {
    /// Field of the record (`id`, `occupation_code`, `item_codes[2]`…) or `line`.
    pub field: String,
    /// What is wrong, with the offending value cut at 40 characters.
    pub reason: String,
}

/// One record of the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputRecord {
    /// 1-based line number in the file (for CSV, the header is line 1).
    pub line: u64,
    /// The caller's id, when it could be read.
    pub id: Option<String>,
    /// The profile, or why the record was refused.
    pub profile: Result<ProfileQuery, RecordError>,
}

/// Reads [`InputRecord`]s from a buffered reader, one at a time.
pub struct ProfileReader<R: BufRead> {
    inner: Inner<R>,
}

enum Inner<R: BufRead> {
    Jsonl { reader: R, line: u64, buf: String },
    Csv { reader: R, line: u64, buf: String, columns: Option<Result<Columns, String>> },
}

/// One physical line: `Ok(Some(true))` appended to `buf`, `Ok(Some(false))` consumed but
/// not appended because it is not UTF-8, `Ok(None)` at the end of the input. The line's
/// bytes are read whole first, so a bad line never eats into the next one.
fn read_line<R: BufRead>(reader: &mut R, buf: &mut String) -> std::io::Result<Option<bool>> {
    let mut bytes = Vec::new();
    if reader.read_until(b'\n', &mut bytes)? == 0 {
        return Ok(None);
    }
    match String::from_utf8(bytes) {
        Ok(text) => {
            buf.push_str(&text);
            Ok(Some(true))
        }
        Err(_) => Ok(Some(false)),
    }
}

fn not_utf8(line: u64) -> InputRecord {
    InputRecord { line, id: None, profile: Err(RecordError { field: "line".into(), reason: "not valid UTF-8".into() }) }
}

#[derive(Debug, Clone, Copy)]
struct Columns {
    id: usize,
    occupation: Option<usize>,
    items: Option<usize>,
    removed: Option<usize>,
    job_title: Option<usize>,
    region: Option<usize>,
    department: Option<usize>,
}

impl<R: BufRead> std::fmt::Debug for ProfileReader<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ProfileReader")
    }
}

impl<R: BufRead> ProfileReader<R> {
    /// A reader of `format` over `reader`.
    pub fn new(reader: R, format: InputFormat) -> Self {
        let inner = match format {
            InputFormat::Jsonl => Inner::Jsonl { reader, line: 0, buf: String::new() },
            InputFormat::Csv => Inner::Csv { reader, line: 0, buf: String::new(), columns: None },
        };
        ProfileReader { inner }
    }

    /// The next record, `Ok(None)` at the end of the input.
    ///
    /// # Errors
    /// Only an I/O error of the underlying reader (a bad record is an [`InputRecord`]
    /// carrying a [`RecordError`]). A CSV file whose header has no `id` column yields one
    /// error record per line.
    pub fn next_record(&mut self) -> std::io::Result<Option<InputRecord>> {
        match &mut self.inner {
            Inner::Jsonl { reader, line, buf } => loop {
                buf.clear();
                let Some(utf8) = read_line(reader, buf)? else { return Ok(None) };
                *line += 1;
                if !utf8 {
                    return Ok(Some(not_utf8(*line)));
                }
                // A byte-order mark (spreadsheet exports) is not part of the first record.
                let text = if *line == 1 { buf.trim_start_matches('\u{feff}') } else { buf.as_str() };
                if text.trim().is_empty() {
                    continue;
                }
                return Ok(Some(parse_json_line(*line, text)));
            },
            // Lines are read one by one (so line numbers are exact, blank lines included);
            // a quoted field may span lines: lines are joined while the quotes are unbalanced.
            Inner::Csv { reader, line, buf, columns } => loop {
                buf.clear();
                let Some(utf8) = read_line(reader, buf)? else { return Ok(None) };
                *line += 1;
                let first = *line;
                if !utf8 {
                    return Ok(Some(not_utf8(first)));
                }
                let mut eof = false;
                while buf.bytes().filter(|&b| b == b'"').count() % 2 == 1 {
                    match read_line(reader, buf)? {
                        None => {
                            eof = true;
                            break;
                        }
                        Some(utf8) => {
                            *line += 1;
                            if !utf8 {
                                return Ok(Some(not_utf8(first)));
                            }
                        }
                    }
                }
                if buf.trim().is_empty() {
                    continue;
                }
                let record = if eof {
                    Err("malformed CSV: a quoted field is not closed".to_string())
                } else {
                    parse_csv_line(buf)
                };
                let Some(cols) = columns else {
                    *columns = Some(record.and_then(|r| header_columns(&r)));
                    continue;
                };
                return Ok(Some(match record {
                    Ok(record) => parse_csv_record(first, cols, &record),
                    Err(reason) => InputRecord {
                        line: first,
                        id: None,
                        profile: Err(RecordError { field: "line".into(), reason }),
                    },
                }));
            },
        }
    }
}

/// Parses one CSV record (which may span lines inside quotes).
fn parse_csv_line(text: &str) -> Result<csv::StringRecord, String> {
    let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(text.as_bytes());
    let mut record = csv::StringRecord::new();
    match reader.read_record(&mut record) {
        Ok(true) => Ok(record),
        Ok(false) => Ok(csv::StringRecord::new()),
        Err(err) => Err(format!("malformed CSV: {err}")),
    }
}

fn header_columns(header: &csv::StringRecord) -> Result<Columns, String> {
    let find = |name: &str| header.iter().position(|h| h.trim().trim_start_matches('\u{feff}') == name);
    let id = find("id").ok_or_else(|| "the CSV header has no `id` column".to_string())?;
    Ok(Columns {
        id,
        occupation: find("occupation_code"),
        job_title: find("job_title"),
        region: find("region"),
        department: find("department"),
        items: find("item_codes"),
        removed: find("removed_item_codes"),
    })
}

fn parse_csv_record(line: u64, columns: &Result<Columns, String>, record: &csv::StringRecord) -> InputRecord {
    let columns = match columns {
        Ok(c) => *c,
        Err(reason) => {
            return InputRecord {
                line,
                id: None,
                profile: Err(RecordError { field: "id".into(), reason: reason.clone() }),
            }
        }
    };
    let id = record.get(columns.id).map(str::trim).filter(|s| !s.is_empty()).map(str::to_string);
    let Some(id) = id else {
        let reason = if record.get(columns.id).is_none() {
            format!("the line has {} fields, the header more", record.len())
        } else {
            "required".to_string()
        };
        return InputRecord { line, id: None, profile: Err(RecordError { field: "id".into(), reason }) };
    };
    let cell = |c: Option<usize>| c.and_then(|i| record.get(i)).unwrap_or("");
    let codes = |text: &str| -> Vec<String> {
        text.split(|c: char| c == ';' || c.is_whitespace()).filter(|s| !s.is_empty()).map(str::to_string).collect()
    };
    let text = |c: Option<usize>| Some(cell(c).trim()).filter(|s| !s.is_empty()).map(str::to_string);
    InputRecord {
        line,
        id: Some(id),
        profile: Ok(ProfileQuery {
            occupation_code: text(columns.occupation),
            item_codes: codes(cell(columns.items)),
            removed_item_codes: codes(cell(columns.removed)),
            job_title: text(columns.job_title),
            region: text(columns.region),
            department: text(columns.department),
        }),
    }
}

/// The fields of a JSON Lines profile record.
const FIELDS: [&str; 7] =
    ["id", "occupation_code", "item_codes", "removed_item_codes", "job_title", "region", "department"];

fn parse_json_line(line: u64, text: &str) -> InputRecord {
    let bad = |id: Option<String>, field: &str, reason: String| InputRecord {
        line,
        id,
        profile: Err(RecordError { field: field.to_string(), reason }),
    };
    let value: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => return bad(None, "line", format!("malformed JSON: {e}")),
    };
    let Value::Object(map) = value else {
        return bad(None, "line", "expected a JSON object".to_string());
    };
    let id = match map.get("id") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
        Some(Value::Number(n)) if n.is_u64() || n.is_i64() => n.to_string(),
        Some(Value::String(_)) | None | Some(Value::Null) => return bad(None, "id", "required".to_string()),
        Some(other) => return bad(None, "id", format!("expected a string, got {}", kind(other))),
    };
    let id = Some(id);
    for key in map.keys() {
        if !FIELDS.contains(&key.as_str()) {
            return bad(id, &echo(key), format!("unknown field (expected {})", FIELDS.join(", ")));
        }
    }
    let text = |field: &str| match map.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok((!s.trim().is_empty()).then(|| s.clone())),
        Some(other) => {
            Err(RecordError { field: field.to_string(), reason: format!("expected a string, got {}", kind(other)) })
        }
    };
    let (occupation_code, job_title, region, department) =
        match (text("occupation_code"), text("job_title"), text("region"), text("department")) {
            (Ok(o), Ok(j), Ok(r), Ok(d)) => (o, j, r, d),
            (Err(e), ..) | (_, Err(e), ..) | (_, _, Err(e), _) | (.., Err(e)) => {
                return InputRecord { line, id, profile: Err(e) }
            }
        };
    let list = |field: &str| -> Result<Vec<String>, RecordError> {
        match map.get(field) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(values)) => values
                .iter()
                .enumerate()
                .map(|(i, v)| match v {
                    Value::String(s) => Ok(s.clone()),
                    Value::Number(n) if n.is_u64() => Ok(n.to_string()),
                    other => Err(RecordError {
                        field: format!("{field}[{i}]"),
                        reason: format!("expected a code_ogr string, got {}", kind(other)),
                    }),
                })
                .collect(),
            Some(other) => {
                Err(RecordError { field: field.to_string(), reason: format!("expected an array, got {}", kind(other)) })
            }
        }
    };
    let profile = list("item_codes").and_then(|item_codes| {
        Ok(ProfileQuery {
            occupation_code,
            item_codes,
            removed_item_codes: list("removed_item_codes")?,
            job_title,
            region,
            department,
        })
    });
    InputRecord { line, id, profile }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(text: &str, format: InputFormat) -> Vec<InputRecord> {
        let mut reader = ProfileReader::new(text.as_bytes(), format);
        let mut out = Vec::new();
        while let Some(r) = reader.next_record().expect("in memory") {
            out.push(r);
        }
        out
    }

    #[test]
    fn jsonl_records_and_errors_keep_their_lines() {
        let text = "{\"id\":\"a\",\"occupation_code\":\"I1315\",\"removed_item_codes\":[\"400772\"]}\n\
                    \n\
                    {not json\n\
                    {\"id\":7,\"item_codes\":[\"125917\",12]}\n\
                    {\"id\":\"b\",\"item_codes\":[true]}\n\
                    {\"id\":\"c\",\"colour\":\"red\"}\n\
                    {\"occupation_code\":\"I1315\"}\n";
        let records = read_all(text, InputFormat::Jsonl);
        let summary: Vec<(u64, Option<&str>, Result<(), &str>)> = records
            .iter()
            .map(|r| (r.line, r.id.as_deref(), r.profile.as_ref().map(|_| ()).map_err(|e| e.field.as_str())))
            .collect();
        assert_eq!(
            summary,
            [
                (1, Some("a"), Ok(())),
                (3, None, Err("line")),
                (4, Some("7"), Ok(())),
                (5, Some("b"), Err("item_codes[0]")),
                (6, Some("c"), Err("colour")),
                (7, None, Err("id")),
            ]
        );
        let Ok(p) = &records[0].profile else { panic!("valid") };
        assert_eq!(p.occupation_code.as_deref(), Some("I1315"));
        assert_eq!(p.removed_item_codes, ["400772"]);
        let Ok(p) = &records[2].profile else { panic!("valid") };
        assert_eq!(p.item_codes, ["125917", "12"]);
    }

    #[test]
    fn csv_records_and_errors_keep_their_lines() {
        let text = "id,occupation_code,item_codes,removed_item_codes\n\
                    a,I1315,,400772\n\
                    b,,125917;126016 300,\n\
                    c,I1315\n\
                    ,F1602,,\n\
                    \n\
                    d,F1602,,\n";
        let records = read_all(text, InputFormat::Csv);
        let summary: Vec<(u64, Option<&str>, bool)> =
            records.iter().map(|r| (r.line, r.id.as_deref(), r.profile.is_ok())).collect();
        assert_eq!(
            summary,
            [(2, Some("a"), true), (3, Some("b"), true), (4, Some("c"), true), (5, None, false), (7, Some("d"), true)]
        );
        let Ok(p) = &records[1].profile else { panic!("valid") };
        assert_eq!(p.item_codes, ["125917", "126016", "300"]);
        assert_eq!(p.occupation_code, None);
    }

    #[test]
    fn csv_quoted_fields_may_span_lines_and_an_unclosed_quote_is_an_error_record() {
        let text = "id,occupation_code\n\"multi\nline\",I1315\nb,F1602\n\"open,I1315\nc,F1602\n";
        let records = read_all(text, InputFormat::Csv);
        let summary: Vec<(u64, Option<&str>, bool)> =
            records.iter().map(|r| (r.line, r.id.as_deref(), r.profile.is_ok())).collect();
        assert_eq!(summary, [(2, Some("multi\nline"), true), (4, Some("b"), true), (5, None, false)]);
        assert!(records[2].profile.as_ref().is_err_and(|e| e.reason.contains("not closed")));
    }

    #[test]
    fn a_line_that_is_not_utf8_is_one_error_record_and_the_next_lines_are_kept() {
        let mut bytes = b"\xef\xbb\xbf{\"id\":\"a\",\"occupation_code\":\"I1315\"}\n".to_vec();
        bytes.extend_from_slice(b"{\"id\":\"b\xff\"}\n{\"id\":\"c\",\"occupation_code\":\"F1602\"}\n{\"id\":\"d\"}\n");
        let mut reader = ProfileReader::new(bytes.as_slice(), InputFormat::Jsonl);
        let mut summary = Vec::new();
        while let Some(r) = reader.next_record().unwrap() {
            summary.push((r.line, r.id, r.profile.map_err(|e| e.reason).err()));
        }
        assert_eq!(
            summary,
            [
                (1, Some("a".to_string()), None),
                (2, None, Some("not valid UTF-8".to_string())),
                (3, Some("c".to_string()), None),
                (4, Some("d".to_string()), None),
            ]
        );
        let csv = b"id,occupation_code\nx\xff,I1315\ny,F1602\n";
        let mut reader = ProfileReader::new(csv.as_slice(), InputFormat::Csv);
        let mut lines = Vec::new();
        while let Some(r) = reader.next_record().unwrap() {
            lines.push((r.line, r.id, r.profile.is_ok()));
        }
        assert_eq!(lines, [(2, None, false), (3, Some("y".to_string()), true)]);
    }

    #[test]
    fn csv_without_id_column_fails_every_line() {
        let records = read_all("occupation_code\nI1315\nF1602\n", InputFormat::Csv);
        assert_eq!(records.len(), 2);
        assert!(records.iter().all(|r| r.profile.as_ref().is_err_and(|e| e.field == "id")));
    }

    #[test]
    fn format_from_extension() {
        assert_eq!(InputFormat::from_path(Path::new("a/b.JSONL")), Some(InputFormat::Jsonl));
        assert_eq!(InputFormat::from_path(Path::new("b.csv")), Some(InputFormat::Csv));
        assert_eq!(InputFormat::from_path(Path::new("b.parquet")), None);
    }
}
