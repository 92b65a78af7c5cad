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
//!   (required), at least one of `occupation_code`, `item_codes`, `job_title`, and
//!   optionally `removed_item_codes`, `region`, `department` (codes separated by `;` or
//!   spaces). Other columns are ignored. A header without `id` or without any profile
//!   column (a `;`- or tab-separated file, a missing header line), or with one of these
//!   columns twice (`id,occupation_code,occupation_code`: which one to read is ambiguous),
//!   or a column that differs from one of them only by case or by `-`/space for `_` (`ID`,
//!   `Item Codes`: it would be ignored and its data lost), refuses the whole file with one
//!   [`HeaderError`] naming the line, the columns found and the expected ones.
//!
//! A UTF-8 byte-order mark at the start of any line (not only the file's first: files
//! joined with `cat` carry one each) is dropped in both formats; a line holding only one is
//! blank. A CSV line that repeats the header (the second file's header after `cat`) is one
//! error record (`this line repeats the header…`), not a profile with id `id`.
//!
//! A record that cannot be read (malformed JSON, wrong number of CSV fields, a missing id,
//! an id over [`MAX_ID_BYTES`], a field of the wrong type, a record over the size limit)
//! comes out as an [`InputRecord`] whose `profile` is an [`RecordError`] naming the field
//! and the reason, with its 1-based line number; the following records are still read. A
//! malformed JSON record names its file line and column (in characters). Records are read
//! in bounded chunks: one longer than [`DEFAULT_MAX_RECORD_BYTES`] (or the limit given to
//! [`ProfileReader::with_max_record_bytes`]) is skipped to its end without being held in
//! memory. Only an I/O failure of the file itself, or a refused CSV header, stops the run.

use std::io::BufRead;
use std::path::Path;

use passerelle_model::engine::ProfileQuery;
use passerelle_model::error::{echo, field_count, repeated_column, spills_past_header, QUOTE_THE_COMMA};
use serde_json::Value;

/// Default largest record, in bytes (1 MiB; `--max-record-bytes`): a profile of 2 × 1,000
/// item codes is about 20 KiB, so a longer record is a mistake (a file that is not a
/// profile file, a missing line break). It is one error record, skipped without being held
/// in memory.
pub const DEFAULT_MAX_RECORD_BYTES: usize = 1 << 20;

/// Longest accepted `id`, in bytes: the rule of the `id` of a `ScoreProfiles` request.
pub const MAX_ID_BYTES: usize = crate::grpc::batch::MAX_ID_BYTES;

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
/// the reason, as written in error records. A reason about a field starts with the field
/// (`occupation_code: given twice in the record`, `id: required`), as the engine's
/// reasons do (`occupation_code: unknown ROME code …`); a reason about the whole record
/// (field `line`) does not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordError {
    /// Field of the record (`id`, `occupation_code`, `item_codes[2]`…) or `line`.
    pub field: String,
    /// What is wrong, with the offending value cut at 40 characters.
    pub reason: String,
}

impl RecordError {
    /// The error of `field` (not `line`): the reason is prefixed with the field.
    pub(crate) fn on(field: &str, reason: &str) -> Self {
        RecordError { field: field.to_string(), reason: format!("{field}: {reason}") }
    }
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

/// Reads [`InputRecord`]s from a buffered reader, one at a time. Each record is read in
/// bounded chunks: at most `max_record_bytes` (plus the reader's own buffer) are held, and
/// a longer record is skipped to its end without being stored.
pub struct ProfileReader<R: BufRead> {
    reader: R,
    format: InputFormat,
    /// Last physical line read (1-based).
    line: u64,
    max_record_bytes: usize,
    /// The bytes of the current record (at most `max_record_bytes` + 2).
    bytes: Vec<u8>,
    /// CSV: the header, once read (`None` before, or for an empty file).
    columns: Option<Columns>,
    /// CSV: the header's column names (trimmed, without a byte-order mark).
    header: Vec<String>,
    header_read: bool,
    /// Whether the first bytes were checked for a UTF-16 or UTF-32 byte-order mark.
    encoding_checked: bool,
    /// First physical line of the record last read.
    line_of_record: u64,
}

/// Why a UTF-16 file is refused as a whole: each of its lines would be "not valid UTF-8".
pub const UTF16_REFUSED: &str = "the file is UTF-16 (it starts with a UTF-16 byte-order mark): save it as UTF-8 \
                                 (a spreadsheet's \"CSV UTF-8\", or `iconv -f UTF-16 -t UTF-8`)";

/// Why a UTF-32 file is refused as a whole: it would otherwise be read as UTF-16 (the
/// little-endian UTF-32 byte-order mark starts with the UTF-16 one), or line by line as
/// "not valid UTF-8".
pub const UTF32_REFUSED: &str = "the file is UTF-32 (it starts with a UTF-32 byte-order mark): save it as UTF-8 \
                                 (`iconv -f UTF-32 -t UTF-8`)";

/// Why a file that is UTF-16 or UTF-32 without a byte-order mark is refused as a whole, or
/// `None`. Read from the first bytes (up to 64, at least 4): UTF-16 little-endian when every
/// pair is a non-zero byte then a zero byte (`i\0d\0`: Latin-1 text, which a profile header
/// or record starts with), big-endian when the zero comes first; UTF-32 likewise by groups of
/// four. UTF-8 text has no zero byte there, so it is never refused by this; a wide file whose
/// first 32 characters are not all Latin-1 is not recognised and gets the line-by-line errors.
fn wide_without_bom(head: &[u8]) -> Option<String> {
    let window = &head[..head.len().min(64)];
    let wide = |width: usize, little_endian: bool| {
        let groups = window.chunks_exact(width);
        groups.len() > 0
            && window.len() >= 4
            && groups.clone().all(|g| {
                let (value, zeros) = if little_endian { (g[0], &g[1..]) } else { (g[width - 1], &g[..width - 1]) };
                value != 0 && zeros.iter().all(|&b| b == 0)
            })
    };
    let (name, iconv) = [
        (4, true, "UTF-32", "UTF-32LE"),
        (4, false, "UTF-32", "UTF-32BE"),
        (2, true, "UTF-16", "UTF-16LE"),
        (2, false, "UTF-16", "UTF-16BE"),
    ]
    .into_iter()
    .find(|&(width, little_endian, _, _)| wide(width, little_endian))
    .map(|(_, _, name, iconv)| (name, iconv))?;
    Some(format!(
        "the file looks like {name} without a byte-order mark (zero bytes between the characters of its first \
         line): save it as UTF-8 (a spreadsheet's \"CSV UTF-8\", or `iconv -f {iconv} -t UTF-8`)"
    ))
}

/// What one physical line held.
struct Physical {
    /// Bytes consumed, line break included.
    len: u64,
    /// Bytes of the line break (`\n` or `\r\n`: 0 to 2).
    terminator: u64,
    /// `"` bytes in the line.
    quotes: u64,
    /// Whether the whole line was appended to the buffer.
    stored: bool,
}

/// Reads one physical line (through its `\n`) in the reader's own chunks, appending it to
/// `bytes` only while the line fits in `room` bytes; a longer line is consumed (its size and
/// quotes counted) without being stored. `None` at the end of the input.
fn read_physical_line<R: BufRead>(
    reader: &mut R,
    bytes: &mut Vec<u8>,
    room: usize,
) -> std::io::Result<Option<Physical>> {
    let start = bytes.len();
    let (mut len, mut quotes, mut stored) = (0u64, 0u64, true);
    let mut last = [0u8; 2];
    loop {
        let chunk = match reader.fill_buf() {
            Ok(chunk) => chunk,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if chunk.is_empty() {
            break;
        }
        let (take, done) = match chunk.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (chunk.len(), false),
        };
        let part = &chunk[..take];
        quotes += part.iter().filter(|&&b| b == b'"').count() as u64;
        last = match part {
            [.., a, b] => [*a, *b],
            [b] => [last[1], *b],
            [] => last,
        };
        if stored {
            if bytes.len() - start + take <= room {
                bytes.extend_from_slice(part);
            } else {
                stored = false;
                bytes.truncate(start);
            }
        }
        len += take as u64;
        reader.consume(take);
        if done {
            break;
        }
    }
    if len == 0 {
        return Ok(None);
    }
    let terminator = match last {
        [b'\r', b'\n'] if len >= 2 => 2,
        [_, b'\n'] => 1,
        _ => 0,
    };
    Ok(Some(Physical { len, terminator, quotes, stored }))
}

fn not_utf8_error() -> RecordError {
    RecordError { field: "line".into(), reason: "not valid UTF-8".into() }
}

/// A CSV record that is not UTF-8 (`bytes`, one record), split into fields once: its error
/// names the first such field by its header column when there is one (`job_title: not
/// valid UTF-8 (column 4)`), and its id is kept when the `id_column` field is UTF-8, not
/// empty and at most [`MAX_ID_BYTES`] (trimmed, as a readable record's id).
fn not_utf8_in_csv(bytes: &[u8], header: &[String], id_column: usize) -> (RecordError, Option<String>) {
    let Some(record) = first_csv_record(bytes) else { return (not_utf8_error(), None) };
    let id = readable_id(record.get(id_column));
    let bad = record.iter().position(|field| std::str::from_utf8(field).is_err());
    let error = match bad.and_then(|i| Some(i).zip(header.get(i))).filter(|(_, n)| !n.is_empty()) {
        Some((i, name)) => RecordError::on(name, &format!("not valid UTF-8 (column {})", i + 1)),
        None => not_utf8_error(),
    };
    (error, id)
}

/// A CSV field as the id of a refused record: when it is UTF-8, not empty and at most
/// [`MAX_ID_BYTES`] (trimmed, as a readable record's id).
fn readable_id(field: Option<&[u8]>) -> Option<String> {
    field
        .and_then(|f| std::str::from_utf8(f).ok())
        .map(str::trim)
        .filter(|id| !id.is_empty() && id.len() <= MAX_ID_BYTES)
        .map(str::to_string)
}

/// The id of a CSV record whose quoted field is never closed (`bytes`: the record, to the
/// end of the file), when the `id_column` field comes before that quote and is readable
/// ([`readable_id`]). The csv reader reads the open field to the end of the input, as the
/// record's last field: a field before it is whole.
fn unclosed_record_id(bytes: &[u8], id_column: usize) -> Option<String> {
    let record = first_csv_record(bytes).filter(|r| id_column + 1 < r.len())?;
    readable_id(record.get(id_column))
}

/// The first record of `bytes` split into its fields, as bytes (any field count, no
/// header); `None` when there is none or the csv reader fails.
fn first_csv_record(bytes: &[u8]) -> Option<csv::ByteRecord> {
    let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(bytes);
    let mut record = csv::ByteRecord::new();
    matches!(reader.read_byte_record(&mut record), Ok(true)).then_some(record)
}

/// A JSON Lines record that is not UTF-8 (`bytes`, one line), read with the bytes that are
/// not UTF-8 replaced: when it is then a JSON object, its error names the first profile
/// field holding such bytes (`job_title: not valid UTF-8`, `item_codes[1]: …`), and its id
/// is kept when the `id` is one a readable record would have and holds none of them. The
/// line is read as a whole (no field, no id) when the bytes are outside a string, or when
/// the record holds U+FFFD itself (the replacement character would be ambiguous).
fn not_utf8_in_json(bytes: &[u8]) -> (RecordError, Option<String>) {
    let whole = (not_utf8_error(), None);
    let lossy = String::from_utf8_lossy(bytes);
    if bytes.utf8_chunks().any(|chunk| chunk.valid().contains(REPLACED)) {
        return whole;
    }
    let text = lossy.trim_start_matches('\u{feff}').trim_end_matches(['\n', '\r']);
    replaced_in_json(text, "not valid UTF-8").unwrap_or(whole)
}

/// The character that stands for a fault of a JSON Lines record (bytes that are not UTF-8,
/// a lone surrogate escape) while the rest of the record is read.
const REPLACED: char = char::REPLACEMENT_CHARACTER;

/// A JSON Lines record read with each of its faults replaced by [`REPLACED`] (`text`), when
/// it is then a JSON object: the error `reason` on the first profile field holding one
/// (`job_title`, `item_codes[1]`), or on the line when it is elsewhere (a key, an unknown
/// field), and the record's id when the `id` is one a readable record would have and holds
/// none. `None` when `text` is no JSON object (the record is malformed in another way).
fn replaced_in_json(text: &str, reason: &str) -> Option<(RecordError, Option<String>)> {
    let JsonEntries(entries) = serde_json::from_str::<JsonEntries>(text).ok()?;
    let replaced = |v: &Value| match v {
        Value::String(s) => s.contains(REPLACED),
        other => other.to_string().contains(REPLACED),
    };
    let id = entries.iter().rev().find(|(k, _)| k == "id").and_then(|(_, v)| match v {
        Value::String(s) if !s.trim().is_empty() && s.len() <= MAX_ID_BYTES && !s.contains(REPLACED) => Some(s.clone()),
        Value::Number(n) if n.is_u64() || n.is_i64() => Some(n.to_string()),
        _ => None,
    });
    let error = match entries.iter().find(|(k, v)| k.contains(REPLACED) || replaced(v)) {
        Some((key, Value::Array(values))) if FIELDS.contains(&key.as_str()) => match values.iter().position(replaced) {
            Some(i) => RecordError::on(&format!("{key}[{i}]"), reason),
            None => RecordError::on(key, reason),
        },
        Some((key, _)) if FIELDS.contains(&key.as_str()) => RecordError::on(key, reason),
        _ => RecordError { field: "line".into(), reason: reason.into() },
    };
    Some((error, id))
}

/// `text` (a JSON Lines record) with each lone surrogate escape (`\ud800` not followed by a
/// low surrogate escape, `\udc00` not preceded by a high one) written `\ufffd`, and the
/// first of them as written; `None` when there is none. Other escapes (`\\`, `\"`, a
/// surrogate pair) are passed over whole, so `\\ud800` (a backslash, then text) is none.
fn without_lone_surrogates(text: &str) -> Option<(String, &str)> {
    // The code unit of a `\uXXXX` escape at byte `at`.
    let unit = |at: usize| {
        text.get(at..at + 6)
            .filter(|e| e.starts_with("\\u") && e[2..].bytes().all(|b| b.is_ascii_hexdigit()))
            .and_then(|e| u16::from_str_radix(&e[2..], 16).ok())
    };
    let (mut out, mut copied, mut first, mut at) = (String::new(), 0, None, 0);
    while let Some(offset) = text.get(at..).and_then(|rest| rest.find('\\')) {
        at += offset;
        let Some(n) = unit(at) else {
            at += 2; // `\\`, `\"`, `\n`…: the escaped character is no escape itself
            continue;
        };
        if (0xD800..=0xDBFF).contains(&n) && unit(at + 6).is_some_and(|m| (0xDC00..=0xDFFF).contains(&m)) {
            at += 12;
            continue;
        }
        if (0xD800..=0xDFFF).contains(&n) {
            out.push_str(&text[copied..at]);
            out.push_str("\\ufffd");
            copied = at + 6;
            first.get_or_insert(&text[at..at + 6]);
        }
        at += 6;
    }
    let first = first?;
    out.push_str(&text[copied..]);
    Some((out, first))
}

/// The error record of a JSON Lines record (`text`, file line `line`) that serde refused,
/// when it holds a lone surrogate escape (`"\ud800"`: half of a UTF-16 pair, no character):
/// the error names the first profile field holding one (`job_title: invalid unicode escape
/// (lone surrogate \ud800)`) and the id is kept, as for a record that is not UTF-8
/// ([`replaced_in_json`]); the line as a whole, without id, when the record holds U+FFFD
/// itself (ambiguous) or is no object. A record malformed in another way too gets that
/// error, at its place in the file (`\ufffd` stands in for each lone escape: the columns
/// do not move). `None` when the record has no lone surrogate escape.
fn lone_surrogate_in_json(line: u64, text: &str) -> Option<InputRecord> {
    let (lenient, escape) = without_lone_surrogates(text)?;
    let whole =
        |reason: String| InputRecord { line, id: None, profile: Err(RecordError { field: "line".into(), reason }) };
    if let Err(e) = serde_json::from_str::<Value>(&lenient) {
        return Some(whole(malformed_json(line, &lenient, &e)));
    }
    let reason = format!("invalid unicode escape (lone surrogate {escape})");
    if text.contains(REPLACED) || text.to_ascii_lowercase().contains("\\ufffd") {
        return Some(whole(reason));
    }
    Some(match replaced_in_json(&lenient, &reason) {
        Some((error, id)) => InputRecord { line, id, profile: Err(error) },
        None => whole(reason),
    })
}

/// The entries of a JSON object in the order of the text (serde_json's `Map` sorts them).
struct JsonEntries(Vec<(String, Value)>);

impl<'de> serde::Deserialize<'de> for JsonEntries {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Entries;
        impl<'de> serde::de::Visitor<'de> for Entries {
            type Value = JsonEntries;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<JsonEntries, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry::<String, Value>()? {
                    entries.push(entry);
                }
                Ok(JsonEntries(entries))
            }
        }
        deserializer.deserialize_map(Entries)
    }
}

/// The error record of a record longer than the limit.
fn too_long(size: u64, max: usize) -> RecordError {
    RecordError {
        field: "line".into(),
        reason: format!("record of {size} bytes is over the limit of {max} bytes (--max-record-bytes); skipped"),
    }
}

/// One raw CSV record (lines joined while a quoted field is open).
enum RawCsv {
    /// Only spaces: not a record.
    Blank,
    /// The record's text is the reader's buffer (UTF-8 checked).
    Text,
    /// The record cannot be read (too long, not UTF-8, an unclosed quote): its error, and
    /// its id when that field is readable.
    Bad(RecordError, Option<String>),
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
    /// A reader of `format` over `reader`, with records of at most
    /// [`DEFAULT_MAX_RECORD_BYTES`].
    pub fn new(reader: R, format: InputFormat) -> Self {
        ProfileReader {
            reader,
            format,
            line: 0,
            max_record_bytes: DEFAULT_MAX_RECORD_BYTES,
            bytes: Vec::new(),
            columns: None,
            header: Vec::new(),
            header_read: false,
            encoding_checked: false,
            line_of_record: 0,
        }
    }

    /// The same with records of at most `max` bytes (line breaks not counted); a longer
    /// record is one error record for its first line, and is skipped without being held.
    pub fn with_max_record_bytes(mut self, max: usize) -> Self {
        self.max_record_bytes = max.max(1);
        self
    }

    /// Checks that the input is not UTF-16 or UTF-32 and reads the CSV header now (no header
    /// for JSON Lines), so that a file that is not a profile file is refused before anything
    /// is written. [`Self::next_record`] does it on its first call otherwise.
    ///
    /// # Errors
    /// An I/O error; a file that starts with a UTF-16 (UTF-32) byte-order mark is an I/O
    /// error of kind `InvalidData` saying [`UTF16_REFUSED`] ([`UTF32_REFUSED`]); a header
    /// that cannot be a profile header is an I/O error of kind `InvalidData` carrying a
    /// [`HeaderError`] (see [`HeaderError::of`]).
    pub fn start(&mut self) -> std::io::Result<()> {
        if !self.encoding_checked {
            self.encoding_checked = true;
            let head = self.reader.fill_buf()?;
            // UTF-32 first: its little-endian mark `FF FE 00 00` starts with UTF-16's `FF FE`.
            if head.starts_with(&[0xFF, 0xFE, 0x00, 0x00]) || head.starts_with(&[0x00, 0x00, 0xFE, 0xFF]) {
                return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, UTF32_REFUSED));
            }
            if head.starts_with(&[0xFF, 0xFE]) || head.starts_with(&[0xFE, 0xFF]) {
                return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, UTF16_REFUSED));
            }
            if let Some(refusal) = wide_without_bom(head) {
                return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, refusal));
            }
        }
        if self.format != InputFormat::Csv || self.header_read {
            return Ok(());
        }
        loop {
            let Some(raw) = self.read_csv()? else {
                self.header_read = true;
                return Ok(()); // an empty file: no records
            };
            let line = self.line_of_record;
            let header = match raw {
                RawCsv::Blank => continue,
                RawCsv::Bad(e, _) => Err(e.reason),
                RawCsv::Text => parse_csv_line(&self.text()),
            };
            self.header_read = true;
            let columns = header
                .map_err(|reason| HeaderError {
                    line,
                    reason: format!("unreadable header: {reason}"),
                    found: "no column".into(),
                })
                .and_then(|h| Ok((header_columns(line, &h)?, h)));
            return match columns {
                Ok((c, h)) => {
                    self.columns = Some(c);
                    self.header = h.iter().map(header_name).map(str::to_string).collect();
                    Ok(())
                }
                Err(e) => Err(std::io::Error::new(std::io::ErrorKind::InvalidData, e)),
            };
        }
    }

    /// The next record, `Ok(None)` at the end of the input.
    ///
    /// # Errors
    /// An I/O error of the underlying reader (a bad record is an [`InputRecord`] carrying
    /// a [`RecordError`]), or a CSV header that cannot be a profile header (see
    /// [`Self::start`]): the file is refused once, not line by line.
    pub fn next_record(&mut self) -> std::io::Result<Option<InputRecord>> {
        match self.format {
            InputFormat::Jsonl => loop {
                self.start()?;
                let max = self.max_record_bytes;
                self.bytes.clear();
                let Some(p) = read_physical_line(&mut self.reader, &mut self.bytes, max.saturating_add(2))? else {
                    return Ok(None);
                };
                self.line += 1;
                let line = self.line;
                let size = p.len - p.terminator;
                if !p.stored || size > max as u64 {
                    return Ok(Some(InputRecord { line, id: None, profile: Err(too_long(size, max)) }));
                }
                let Ok(text) = std::str::from_utf8(&self.bytes) else {
                    // The id is kept when it is UTF-8 itself (a Latin-1 job title does not hide
                    // whose record it is), as for CSV.
                    let (error, id) = not_utf8_in_json(&self.bytes);
                    return Ok(Some(InputRecord { line, id, profile: Err(error) }));
                };
                // A byte-order mark (spreadsheet exports) is not part of the record, at the start
                // of the file or of any line (files joined with `cat` carry one per file).
                let text = text.trim_start_matches('\u{feff}');
                if text.trim().is_empty() {
                    continue;
                }
                return Ok(Some(parse_json_line(line, text.trim_end_matches(['\n', '\r']))));
            },
            InputFormat::Csv => {
                self.start()?;
                let Some(columns) = self.columns else { return Ok(None) };
                loop {
                    let Some(raw) = self.read_csv()? else { return Ok(None) };
                    let line = self.line_of_record;
                    let record = match raw {
                        RawCsv::Blank => continue,
                        // A record refused as not UTF-8, or for an unclosed quote, keeps its id
                        // when the id's own field is readable (a Latin-1 job title, or a quote
                        // opened in a later column, does not hide whose record it is).
                        RawCsv::Bad(e, id) => return Ok(Some(InputRecord { line, id, profile: Err(e) })),
                        RawCsv::Text => {
                            parse_csv_line(&self.text()).map_err(|reason| RecordError { field: "line".into(), reason })
                        }
                    };
                    return Ok(Some(match record {
                        Ok(record) if record.iter().map(header_name).eq(self.header.iter().map(String::as_str)) => {
                            let reason =
                                "this line repeats the header (files joined with `cat`?): not a profile; skipped";
                            InputRecord {
                                line,
                                id: None,
                                profile: Err(RecordError { field: "line".into(), reason: reason.into() }),
                            }
                        }
                        Ok(record) => parse_csv_record(line, columns, self.header.len(), &record),
                        Err(e) => InputRecord { line, id: None, profile: Err(e) },
                    }));
                }
            }
        }
    }

    /// The current record's text (checked UTF-8 by [`Self::read_csv`]).
    fn text(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.bytes)
    }

    /// Reads one CSV record: physical lines are read one by one (so line numbers are exact,
    /// blank lines included) and joined while a quoted field is open; a record over the
    /// limit is consumed to its end without being stored. Sets `line_of_record`.
    fn read_csv(&mut self) -> std::io::Result<Option<RawCsv>> {
        let max = self.max_record_bytes;
        self.bytes.clear();
        let Some(p) = read_physical_line(&mut self.reader, &mut self.bytes, max.saturating_add(2))? else {
            return Ok(None);
        };
        self.line += 1;
        self.line_of_record = self.line;
        let (mut size, mut last_terminator, mut quotes, mut stored) = (p.len, p.terminator, p.quotes, p.stored);
        let mut unclosed = false;
        while quotes % 2 == 1 {
            stored = stored && size - last_terminator <= max as u64;
            let room = if stored { max.saturating_add(2).saturating_sub(self.bytes.len()) } else { 0 };
            if !stored {
                self.bytes.clear();
            }
            match read_physical_line(&mut self.reader, &mut self.bytes, room)? {
                None => {
                    unclosed = true;
                    break;
                }
                Some(q) => {
                    self.line += 1;
                    size += q.len;
                    last_terminator = q.terminator;
                    quotes += q.quotes;
                    stored = stored && q.stored;
                }
            }
        }
        let size = size - last_terminator;
        if !stored || size > max as u64 {
            self.bytes.clear();
            return Ok(Some(RawCsv::Bad(too_long(size, max), None)));
        }
        let Ok(text) = std::str::from_utf8(&self.bytes) else {
            let id_column = self.columns.map_or(0, |c| c.id);
            let (error, id) = not_utf8_in_csv(&self.bytes, &self.header, id_column);
            return Ok(Some(RawCsv::Bad(error, id)));
        };
        // The csv crate drops a byte-order mark at the start of each record (files joined with
        // `cat` carry one per file); a line holding only one is blank.
        if text.trim_start_matches('\u{feff}').trim().is_empty() {
            return Ok(Some(RawCsv::Blank));
        }
        if unclosed {
            let (first, last) = (self.line_of_record, self.line);
            let reason = if last > first {
                format!(
                    "malformed CSV: a quoted field opened on line {first} is never closed; lines {first}–{last} (the end of the file) were read as this one record and none of them is scored"
                )
            } else {
                format!("malformed CSV: a quoted field opened on line {first}, the last line, is never closed; it is not scored")
            };
            let id = unclosed_record_id(&self.bytes, self.columns.map_or(0, |c| c.id));
            return Ok(Some(RawCsv::Bad(RecordError { field: "line".into(), reason }, id)));
        }
        Ok(Some(RawCsv::Text))
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

/// What a profile CSV header must have, as written in [`HeaderError`].
pub const EXPECTED_COLUMNS: &str = "expected comma-separated columns `id` (required), at least one of `occupation_code`, `item_codes`, `job_title`, and optionally `removed_item_codes`, `region`, `department` (other columns are ignored)";

/// Columns listed in a [`HeaderError`]; more are counted.
const MAX_LISTED_COLUMNS: usize = 12;

/// A CSV header that cannot be a profile header: the file is refused as a whole, with one
/// error naming the line, the columns found and the expected ones (instead of one error
/// record per line).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {}", self.detail())]
pub struct HeaderError {
    /// 1-based line of the header (1 unless blank lines precede it).
    pub line: u64,
    /// What is wrong (no `id` column, looks `;`-separated…).
    pub reason: String,
    /// The columns found, quoted and cut: ``2 columns: `a`, `b` ``.
    pub found: String,
}

impl HeaderError {
    /// The message without the line: reason, columns found, columns expected.
    pub fn detail(&self) -> String {
        format!("{}; found {}; {EXPECTED_COLUMNS}", self.reason, self.found)
    }

    /// The header error an I/O error of [`ProfileReader`] carries, if any.
    pub fn of(err: &std::io::Error) -> Option<&HeaderError> {
        err.get_ref().and_then(|e| e.downcast_ref::<HeaderError>())
    }
}

/// A header cell as a column name: trimmed, without a byte-order mark.
fn header_name(cell: &str) -> &str {
    cell.trim_start_matches('\u{feff}').trim()
}

fn header_columns(line: u64, header: &csv::StringRecord) -> Result<Columns, HeaderError> {
    let names: Vec<&str> = header.iter().map(header_name).collect();
    let find = |name: &str| names.iter().position(|h| *h == name);
    let listed: Vec<String> = names.iter().take(MAX_LISTED_COLUMNS).map(|n| format!("`{}`", echo(n))).collect();
    let more = names.len().saturating_sub(MAX_LISTED_COLUMNS);
    let found = format!(
        "{} column{}: {}{}",
        names.len(),
        if names.len() == 1 { "" } else { "s" },
        listed.join(", "),
        if more > 0 { format!(" and {more} more") } else { String::new() }
    );
    let fail = |reason: &str| HeaderError { line, reason: reason.to_string(), found: found.clone() };
    // A profile column given twice is ambiguous (which one holds the profile?): refused, not
    // resolved by taking the first. Other columns are ignored, so their repeats do not matter.
    if let Some(repeated) = repeated_column(&names, FIELDS) {
        return Err(fail(&format!("{repeated}: which one holds the profile is ambiguous")));
    }
    // A column that differs from a profile column only by case or separators (`ID`,
    // `Occupation Code`) would be ignored, its data silently lost: refused with the exact names.
    let near: Vec<String> = names
        .iter()
        .filter(|h| !FIELDS.contains(h))
        .filter_map(|h| {
            let key: String =
                h.chars().map(|c| if c == '-' || c == ' ' { '_' } else { c.to_ascii_lowercase() }).collect();
            FIELDS.iter().find(|f| **f == key).map(|f| format!("`{}` must be written `{f}`", echo(h)))
        })
        .collect();
    if !near.is_empty() {
        return Err(fail(&format!("column names are exact (lower case, words joined by `_`): {}", near.join(", "))));
    }
    let Some(id) = find("id") else {
        let single = names.first().filter(|_| names.len() == 1).copied().unwrap_or_default();
        return Err(if single.contains(';') {
            fail("the header has no `id` column: the file looks `;`-separated (columns must be separated by commas)")
        } else if single.contains('\t') {
            fail("the header has no `id` column: the file looks tab-separated (columns must be separated by commas)")
        } else {
            fail("the header has no `id` column (is the header line missing?)")
        });
    };
    let columns = Columns {
        id,
        occupation: find("occupation_code"),
        job_title: find("job_title"),
        region: find("region"),
        department: find("department"),
        items: find("item_codes"),
        removed: find("removed_item_codes"),
    };
    if columns.occupation.is_none() && columns.items.is_none() && columns.job_title.is_none() {
        return Err(fail(
            "the header has no profile column (`occupation_code`, `item_codes` or `job_title`): no line could be scored",
        ));
    }
    Ok(columns)
}

/// The error record of an `id` longer than [`MAX_ID_BYTES`] (the id is echoed cut).
fn id_too_long(line: u64, id: &str) -> InputRecord {
    InputRecord {
        line,
        id: Some(echo(id)),
        profile: Err(RecordError { field: "id".into(), reason: crate::grpc::batch::id_too_long("id", id.len()) }),
    }
}

/// A profile from a CSV data line of a file whose header has `header_len` columns.
fn parse_csv_record(line: u64, columns: Columns, header_len: usize, record: &csv::StringRecord) -> InputRecord {
    let id = record.get(columns.id).map(str::trim).filter(|s| !s.is_empty()).map(str::to_string);
    if id.as_ref().is_some_and(|id| id.len() > MAX_ID_BYTES) {
        return id_too_long(line, id.as_deref().unwrap_or_default());
    }
    // A short line is read with its missing last columns empty (`c,I1315` under a header of
    // four columns); when that leaves no profile (`b` under `id,occupation_code`: a missing
    // delimiter, a cut export), the field count is the error, not an empty profile.
    let given = |c: Option<usize>| c.and_then(|i| record.get(i)).is_some_and(|v| !v.trim().is_empty());
    if record.len() < header_len && ![columns.occupation, columns.items, columns.job_title].into_iter().any(given) {
        // The record carries its line: the reason does not repeat it.
        let reason = field_count(record.len(), header_len);
        return InputRecord { line, id, profile: Err(RecordError { field: "line".into(), reason }) };
    }
    // A long line with something past the header's columns is a value holding an unquoted
    // comma (`Technicien, fibre`): the columns after it are shifted, so no field can be
    // trusted. Empty fields past the header (a trailing comma) are ignored.
    if spills_past_header(record, header_len) {
        let reason = format!("{} ({QUOTE_THE_COMMA}: \"Technicien, fibre\")", field_count(record.len(), header_len));
        return InputRecord { line, id, profile: Err(RecordError { field: "line".into(), reason }) };
    }
    let Some(id) = id else {
        return InputRecord { line, id: None, profile: Err(RecordError::on("id", "required")) };
    };
    let cell = |c: Option<usize>| c.and_then(|i| record.get(i)).unwrap_or("");
    let codes = |text: &str| -> Vec<String> {
        text.split(|c: char| c == ';' || c.is_whitespace()).filter(|s| !s.is_empty()).map(str::to_string).collect()
    };
    let text = |c: Option<usize>| Some(cell(c).trim()).filter(|s| !s.is_empty()).map(str::to_string);
    let (item_codes, removed_item_codes) = (codes(cell(columns.items)), codes(cell(columns.removed)));
    // A quoted `"403964,400772"` is one code to the CSV reader; no code_ogr holds a comma.
    let comma = [("item_codes", &item_codes), ("removed_item_codes", &removed_item_codes)]
        .into_iter()
        .find_map(|(field, list)| list.iter().position(|c| c.contains(',')).map(|i| (field, i, &list[i])));
    if let Some((field, i, code)) = comma {
        let reason = format!("unknown item code `{}` (codes are separated by `;` or spaces, not commas)", echo(code));
        return InputRecord { line, id: Some(id), profile: Err(RecordError::on(&format!("{field}[{i}]"), &reason)) };
    }
    InputRecord {
        line,
        id: Some(id),
        profile: Ok(ProfileQuery {
            occupation_code: text(columns.occupation),
            item_codes,
            removed_item_codes,
            job_title: text(columns.job_title),
            region: text(columns.region),
            department: text(columns.department),
        }),
    }
}

/// The fields of a JSON Lines profile record.
const FIELDS: [&str; 7] =
    ["id", "occupation_code", "item_codes", "removed_item_codes", "job_title", "region", "department"];

/// The profile fields of a JSON record, each at most once (values not read).
#[derive(serde::Deserialize)]
#[allow(dead_code)]
struct FieldsOnce {
    id: Option<serde::de::IgnoredAny>,
    occupation_code: Option<serde::de::IgnoredAny>,
    item_codes: Option<serde::de::IgnoredAny>,
    removed_item_codes: Option<serde::de::IgnoredAny>,
    job_title: Option<serde::de::IgnoredAny>,
    region: Option<serde::de::IgnoredAny>,
    department: Option<serde::de::IgnoredAny>,
}

fn parse_json_line(line: u64, text: &str) -> InputRecord {
    let bad = |id: Option<String>, field: &str, reason: String| InputRecord {
        line,
        id,
        profile: Err(if field == "line" {
            RecordError { field: field.to_string(), reason }
        } else {
            RecordError::on(field, &reason)
        }),
    };
    let value: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            // A lone surrogate escape names its field and keeps the record's id.
            return lone_surrogate_in_json(line, text)
                .unwrap_or_else(|| bad(None, "line", malformed_json(line, text, &e)));
        }
    };
    let Value::Object(map) = value else {
        return bad(None, "line", "expected a JSON object".to_string());
    };
    let id = match map.get("id") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
        Some(Value::Number(n)) if n.is_u64() || n.is_i64() => n.to_string(),
        Some(Value::String(_)) | None | Some(Value::Null) => return bad(None, "id", "required".to_string()),
        Some(Value::Number(_)) => {
            return bad(None, "id", "expected a string or an integer, got a number that is not a 64-bit integer".into())
        }
        Some(other) => return bad(None, "id", format!("expected a string or an integer, got {}", kind(other))),
    };
    if id.len() > MAX_ID_BYTES {
        return id_too_long(line, &id);
    }
    let id = Some(id);
    for key in map.keys() {
        if !FIELDS.contains(&key.as_str()) {
            return bad(id, &echo(key), format!("unknown field (expected {})", FIELDS.join(", ")));
        }
    }
    // A JSON object keeps the last of two equal keys; a profile that gives a field twice is
    // ambiguous, so it is refused (serde's derived visitor reports the duplicate).
    if let Err(e) = serde_json::from_str::<FieldsOnce>(text) {
        let message = e.to_string();
        let field = message.split('`').nth(1).filter(|f| FIELDS.contains(f)).unwrap_or("line");
        return bad(id, field, "given twice in the record".to_string());
    }
    let text = |field: &str| match map.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok((!s.trim().is_empty()).then(|| s.clone())),
        Some(other) => Err(RecordError::on(field, &format!("expected a string, got {}", kind(other)))),
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
                    other => Err(RecordError::on(
                        &format!("{field}[{i}]"),
                        &format!("expected a code_ogr string, got {}", kind(other)),
                    )),
                })
                .collect(),
            Some(other) => Err(RecordError::on(field, &format!("expected an array, got {}", kind(other)))),
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

/// serde's message for a malformed record, with its position given in the input file
/// (serde counts lines and byte columns within the record: always line 1 of a JSON Lines
/// record): `malformed JSON at line 7, column 12: expected `,` or `}``, the column in
/// characters.
fn malformed_json(line: u64, text: &str, err: &serde_json::Error) -> String {
    let message = err.to_string();
    let suffix = format!(" at line {} column {}", err.line(), err.column());
    let message = message.strip_suffix(&suffix).unwrap_or(&message);
    if err.line() == 0 {
        return format!("malformed JSON at line {line}: {message}");
    }
    let file_line = line + err.line() as u64 - 1;
    // The byte offset of serde's column in its line of `text`, counted in characters.
    let line_text = text.split('\n').nth(err.line() - 1).unwrap_or_default();
    let byte = err.column().saturating_sub(1).min(line_text.len());
    let column = (0..=byte).rev().find_map(|b| line_text.get(..b)).map_or(0, |t| t.chars().count()) + 1;
    format!("malformed JSON at line {file_line}, column {column}: {message}")
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

    /// The (field, reason) of every refused record, in order.
    fn field_errors(records: &[InputRecord]) -> Vec<(&str, &str)> {
        records.iter().filter_map(|r| r.profile.as_ref().err()).map(|e| (e.field.as_str(), e.reason.as_str())).collect()
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
        assert!(records[2].profile.as_ref().is_err_and(|e| e.reason.contains("is never closed")));
        // On the last line: one line, not "lines 3–3".
        let records = read_all("id,occupation_code\na,I1315\n\"open,I1315\n", InputFormat::Csv);
        let reason = records[1].profile.as_ref().err().map(|e| e.reason.as_str());
        assert_eq!(
            reason,
            Some("malformed CSV: a quoted field opened on line 3, the last line, is never closed; it is not scored")
        );
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
                (2, None, Some("id: not valid UTF-8".to_string())),
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

    /// The header error of a CSV text, from the first call of `next_record`.
    fn header_error(text: &str) -> HeaderError {
        let mut reader = ProfileReader::new(text.as_bytes(), InputFormat::Csv);
        let err = reader.next_record().expect_err("refused header");
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
        HeaderError::of(&err).expect("a header error").clone()
    }

    #[test]
    fn a_csv_header_without_the_required_columns_is_one_error_naming_line_and_columns() {
        let semicolons = header_error("id;occupation_code;item_codes\na;I1315;\nb;F1602;\n");
        assert_eq!(semicolons.line, 1);
        assert_eq!(
            semicolons.to_string(),
            "line 1: the header has no `id` column: the file looks `;`-separated (columns must be separated by \
             commas); found 1 column: `id;occupation_code;item_codes`; expected comma-separated columns `id` \
             (required), at least one of `occupation_code`, `item_codes`, `job_title`, and optionally \
             `removed_item_codes`, `region`, `department` (other columns are ignored)"
        );
        let tabs = header_error("\nid\toccupation_code\na\tI1315\n");
        assert_eq!(tabs.line, 2, "a blank first line is not the header");
        assert!(tabs.reason.ends_with("the file looks tab-separated (columns must be separated by commas)"));
        assert_eq!(tabs.found, "1 column: `id?occupation_code`");
        // A data line where the header should be.
        let missing = header_error("a,I1315,,400772\n");
        assert_eq!(missing.reason, "the header has no `id` column (is the header line missing?)");
        assert_eq!(missing.found, "4 columns: `a`, `I1315`, ``, `400772`");
        let no_profile = header_error("id,occupaton_code\na,I1315\n");
        assert!(no_profile.reason.starts_with("the header has no profile column"), "{}", no_profile.reason);
        let wide = header_error(&(0..15).map(|i| format!("c{i}")).collect::<Vec<_>>().join(","));
        assert!(wide.found.starts_with("15 columns: `c0`, `c1`"));
        assert!(wide.found.ends_with("`c11` and 3 more"), "{}", wide.found);
        // `start` reads it before any record; a good header is kept for the records.
        let mut reader = ProfileReader::new("\u{feff}id,job_title\na,monteur\n".as_bytes(), InputFormat::Csv);
        reader.start().unwrap();
        let record = reader.next_record().unwrap().unwrap();
        assert_eq!((record.line, record.id.as_deref()), (2, Some("a")));
        // An empty file has no records and no error.
        assert_eq!(ProfileReader::new(&b""[..], InputFormat::Csv).next_record().unwrap(), None);
    }

    #[test]
    fn a_profile_column_given_twice_refuses_the_header_naming_the_column_and_its_positions() {
        let twice = header_error("id,occupation_code,occupation_code\na,I1315,F1602\n");
        assert_eq!(
            twice.to_string(),
            "line 1: the column `occupation_code` appears 2 times (columns 2 and 3): which one holds the profile is \
             ambiguous; found 3 columns: `id`, `occupation_code`, `occupation_code`; expected comma-separated columns \
             `id` (required), at least one of `occupation_code`, `item_codes`, `job_title`, and optionally \
             `removed_item_codes`, `region`, `department` (other columns are ignored)"
        );
        let thrice = header_error("\nid,item_codes,id, id ,job_title\n");
        assert_eq!(thrice.line, 2);
        assert_eq!(
            thrice.reason,
            "the column `id` appears 3 times (columns 1, 3 and 4): which one holds the profile is ambiguous"
        );
        // A repeated column that is not read (ignored) does not matter.
        let records = read_all("id,note,occupation_code,note\na,x,I1315,y\n", InputFormat::Csv);
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].profile.as_ref().map(|p| p.occupation_code.as_deref()), Ok(Some("I1315")));
    }

    #[test]
    fn a_column_differing_only_by_case_or_separator_gets_the_exact_names() {
        let upper = header_error("ID,Occupation_Code\na,I1315\n");
        assert_eq!(
            upper.to_string(),
            "line 1: column names are exact (lower case, words joined by `_`): `ID` must be written `id`, \
             `Occupation_Code` must be written `occupation_code`; found 2 columns: `ID`, `Occupation_Code`; expected \
             comma-separated columns `id` (required), at least one of `occupation_code`, `item_codes`, `job_title`, \
             and optionally `removed_item_codes`, `region`, `department` (other columns are ignored)"
        );
        // Without the check the item codes of this file would be silently ignored.
        let hidden = header_error("id,occupation_code,Item Codes,removed-item-codes\na,I1315,403964,\n");
        assert_eq!(
            hidden.reason,
            "column names are exact (lower case, words joined by `_`): `Item Codes` must be written `item_codes`, \
             `removed-item-codes` must be written `removed_item_codes`"
        );
        // Columns that only look alike are still ignored.
        assert_eq!(read_all("id,job_title,IDs\na,monteur,x\n", InputFormat::Csv).len(), 1);
    }

    #[test]
    fn a_byte_order_mark_at_the_start_of_any_line_is_dropped_and_a_repeated_header_is_one_error_record() {
        // Two files joined with `cat`, each with its byte-order mark (and, for CSV, its header).
        let bom = "\u{feff}";
        let jsonl = format!(
            "{bom}{{\"id\":\"a\",\"occupation_code\":\"I1315\"}}\n{bom}{{\"id\":\"c\",\"occupation_code\":\"F1602\"}}\n{bom}\n{{\"id\":\"d\"}}\n"
        );
        let summary: Vec<(u64, Option<String>, bool)> =
            read_all(&jsonl, InputFormat::Jsonl).into_iter().map(|r| (r.line, r.id, r.profile.is_ok())).collect();
        assert_eq!(
            summary,
            [(1, Some("a".to_string()), true), (2, Some("c".to_string()), true), (4, Some("d".to_string()), true)]
        );
        let csv = format!("{bom}id,occupation_code\na,I1315\n{bom}id, occupation_code\n{bom}c,F1602\n{bom}\nd,F1602\n");
        let records = read_all(&csv, InputFormat::Csv);
        type Summary<'a> = (u64, Option<&'a str>, Result<Option<&'a str>, &'a str>);
        let summary: Vec<Summary<'_>> = records
            .iter()
            .map(|r| {
                let profile = r.profile.as_ref().map(|p| p.occupation_code.as_deref()).map_err(|e| e.reason.as_str());
                (r.line, r.id.as_deref(), profile)
            })
            .collect();
        assert_eq!(
            summary,
            [
                (2, Some("a"), Ok(Some("I1315"))),
                (3, None, Err("this line repeats the header (files joined with `cat`?): not a profile; skipped")),
                (4, Some("c"), Ok(Some("F1602"))),
                (6, Some("d"), Ok(Some("F1602"))),
            ]
        );
        // A byte-order mark inside a line is data: in JSON outside a string it is malformed.
        let inside = read_all(&format!("{{\"id\":\"e\",{bom}\"job_title\":\"x\"}}\n"), InputFormat::Jsonl);
        assert!(inside[0].profile.as_ref().is_err_and(|e| e.reason.starts_with("malformed JSON at line 1, column 11")));
    }

    #[test]
    fn an_oversize_record_is_one_error_record_and_the_next_lines_are_read() {
        let big = format!("{{\"id\":\"big\",\"job_title\":\"{}\"}}", "x".repeat(5000));
        let text = format!("{{\"id\":\"a\"}}\n{big}\r\n{{\"id\":\"b\"}}\n{}\n", "y".repeat(1024));
        let mut reader = ProfileReader::new(
            // A small buffer: the long line is read in many chunks.
            std::io::BufReader::with_capacity(64, text.as_bytes()),
            InputFormat::Jsonl,
        )
        .with_max_record_bytes(1024);
        let mut out = Vec::new();
        while let Some(r) = reader.next_record().unwrap() {
            out.push((r.line, r.id, r.profile.map(|_| ()).map_err(|e| (e.field, e.reason))));
        }
        assert_eq!(out.len(), 4);
        assert_eq!((out[0].0, out[0].1.as_deref()), (1, Some("a")));
        let size = big.len();
        assert_eq!(size, 5027);
        assert_eq!(
            out[1],
            (
                2,
                None,
                Err((
                    "line".to_string(),
                    "record of 5027 bytes is over the limit of 1024 bytes (--max-record-bytes); skipped".to_string()
                ))
            )
        );
        assert_eq!((out[2].0, out[2].1.as_deref()), (3, Some("b")));
        // Exactly at the limit: read (and refused as JSON, not for its size).
        assert_eq!(out[3].0, 4);
        assert!(out[3].2.as_ref().is_err_and(|(_, reason)| reason.starts_with("malformed JSON at line 4, column 1")));
        assert!(reader.bytes.capacity() <= 4 * 1024, "the long line was not held: {}", reader.bytes.capacity());

        // CSV: a quoted field spanning lines counts whole, and the record's lines are skipped.
        let csv = format!("id,job_title\na,monteur\nb,\"{}\n{}\"\nc,technicien\n", "z".repeat(600), "z".repeat(600));
        let mut reader = ProfileReader::new(std::io::BufReader::with_capacity(64, csv.as_bytes()), InputFormat::Csv)
            .with_max_record_bytes(1024);
        let mut out = Vec::new();
        while let Some(r) = reader.next_record().unwrap() {
            out.push((r.line, r.id, r.profile.err().map(|e| e.reason)));
        }
        assert_eq!(
            out,
            [
                (2, Some("a".to_string()), None),
                (
                    3,
                    None,
                    Some(
                        "record of 1205 bytes is over the limit of 1024 bytes (--max-record-bytes); skipped"
                            .to_string()
                    )
                ),
                (5, Some("c".to_string()), None),
            ]
        );
    }

    #[test]
    fn an_id_over_256_bytes_is_refused_in_both_formats() {
        let id = "é".repeat(129); // 258 bytes
        let jsonl = format!("{{\"id\":\"{id}\",\"occupation_code\":\"I1315\"}}\n");
        let csv = format!("id,occupation_code\n{id},I1315\n{},F1602\n", "a".repeat(256));
        let records = [read_all(&jsonl, InputFormat::Jsonl), read_all(&csv, InputFormat::Csv)];
        for r in [&records[0][0], &records[1][0]] {
            let err = r.profile.as_ref().unwrap_err();
            assert_eq!((err.field.as_str(), err.reason.as_str()), ("id", "id: 258 bytes, at most 256 are accepted"));
            assert_eq!(r.id.as_deref(), Some(format!("{}…", "é".repeat(40)).as_str()));
        }
        assert!(records[1][1].profile.is_ok(), "256 bytes are accepted");
    }

    #[test]
    fn malformed_json_names_the_file_line_and_column() {
        let text = "{\"id\":\"a\"}\n\n{\"id\":\"é\" \"x\"}\n{\"id\":\"c\",\n";
        let records = read_all(text, InputFormat::Jsonl);
        let reasons: Vec<_> =
            records.iter().filter_map(|r| r.profile.as_ref().err()).map(|e| e.reason.as_str()).collect();
        assert_eq!(
            reasons,
            [
                // Column 11 in characters (`é` is 2 bytes: serde says byte column 12).
                "malformed JSON at line 3, column 11: expected `,` or `}`",
                "malformed JSON at line 4, column 10: EOF while parsing a value",
            ]
        );
    }

    #[test]
    fn a_field_given_twice_and_a_fractional_id_are_refused_by_name() {
        let text = "{\"id\":\"a\",\"occupation_code\":\"I1315\",\"occupation_code\":\"F1605\"}\n\
                    {\"id\":1.5,\"occupation_code\":\"I1315\"}\n\
                    {\"id\":19,\"occupation_code\":\"I1315\"}\n";
        let records = read_all(text, InputFormat::Jsonl);
        let err = |i: usize| records[i].profile.as_ref().map_err(|e| (e.field.clone(), e.reason.clone())).err();
        assert_eq!(err(0), Some(("occupation_code".into(), "occupation_code: given twice in the record".into())));
        assert_eq!(records[0].id.as_deref(), Some("a"));
        assert_eq!(
            err(1),
            Some((
                "id".into(),
                "id: expected a string or an integer, got a number that is not a 64-bit integer".into()
            ))
        );
        assert_eq!((err(2), records[2].id.as_deref()), (None, Some("19")));
    }

    #[test]
    fn every_reason_about_a_field_starts_with_the_field() {
        let text = "{\"id\":\"c\",\"colour\":\"red\"}\n\
                    {\"occupation_code\":\"I1315\"}\n\
                    {\"id\":\"d\",\"item_codes\":[true]}\n\
                    {\"id\":\"e\",\"region\":4}\n";
        let records = read_all(text, InputFormat::Jsonl);
        let errors = field_errors(&records);
        assert_eq!(
            errors,
            [
                (
                    "colour",
                    "colour: unknown field (expected id, occupation_code, item_codes, removed_item_codes, job_title, region, department)"
                ),
                ("id", "id: required"),
                ("item_codes[0]", "item_codes[0]: expected a code_ogr string, got a boolean"),
                ("region", "region: expected a string, got a number"),
            ]
        );
        let csv = read_all("id,occupation_code\n,I1315\n", InputFormat::Csv);
        let err = csv[0].profile.as_ref().err().map(|e| (e.field.as_str(), e.reason.as_str()));
        assert_eq!(err, Some(("id", "id: required")));
    }

    #[test]
    fn a_short_csv_line_without_a_profile_is_a_field_count_error() {
        let text = "id,occupation_code\nb\nc,I1315\n";
        let records = read_all(text, InputFormat::Csv);
        let err = records[0].profile.as_ref().err().map(|e| (e.field.as_str(), e.reason.as_str()));
        assert_eq!(err, Some(("line", "1 field, the header has 2")));
        assert_eq!(records[0].id.as_deref(), Some("b"));
        let text = "id,occupation_code,item_codes,job_title\nb,,\nc,I1315\n";
        let records = read_all(text, InputFormat::Csv);
        let err = records[0].profile.as_ref().err().map(|e| (e.field.as_str(), e.reason.as_str()));
        assert_eq!(err, Some(("line", "3 fields, the header has 4")));
        assert!(records[1].profile.is_ok(), "a short line with a profile is read, its last columns empty");
    }

    /// A line with more fields than the header was read as if its columns were in place.
    #[test]
    fn a_csv_line_longer_than_the_header_is_refused_unless_the_extra_fields_are_empty() {
        let text = "id,occupation_code,job_title\na,,Technicien, fibre\nb,I1315,,\nc,I1315\n";
        let records = read_all(text, InputFormat::Csv);
        let err = records[0].profile.as_ref().err().map(|e| (e.field.as_str(), e.reason.as_str()));
        assert_eq!(
            err,
            Some((
                "line",
                "4 fields, the header has 3 (a value that holds a comma must be quoted: \"Technicien, fibre\")"
            ))
        );
        assert_eq!(records[0].id.as_deref(), Some("a"));
        assert!(records[1].profile.is_ok(), "an empty field past the header (a trailing comma) is ignored");
        assert!(records[2].profile.is_ok());
    }

    #[test]
    fn a_csv_code_with_a_comma_is_refused_with_the_separators() {
        let text =
            "id,occupation_code,item_codes,removed_item_codes\na,I1315,\"403964,400772\",\nb,I1315,403964,\"1 2,3\"\n";
        let records = read_all(text, InputFormat::Csv);
        let errors = field_errors(&records);
        assert_eq!(
            errors,
            [
                (
                    "item_codes[0]",
                    "item_codes[0]: unknown item code `403964,400772` (codes are separated by `;` or spaces, not commas)"
                ),
                (
                    "removed_item_codes[1]",
                    "removed_item_codes[1]: unknown item code `2,3` (codes are separated by `;` or spaces, not commas)"
                ),
            ]
        );
    }

    /// (line, id, field, reason) of each refused record of `bytes`.
    fn refused(bytes: &[u8], format: InputFormat) -> Vec<(u64, Option<String>, String, String)> {
        let mut reader = ProfileReader::new(bytes, format);
        let mut errors = Vec::new();
        while let Some(r) = reader.next_record().expect("in memory") {
            if let Err(e) = r.profile {
                errors.push((r.line, r.id, e.field, e.reason));
            }
        }
        errors
    }

    #[test]
    fn a_csv_line_that_is_not_utf8_names_its_column() {
        let mut bytes = b"id,occupation_code,job_title\na,I1315,Soudeur\nb,I1315,Soud".to_vec();
        bytes.extend_from_slice(&[0xe9, b'\n']);
        bytes.extend_from_slice(b"c,I1315,x,\xff\n");
        // The id is kept when its own column is UTF-8 (it was lost: `"id": null`).
        bytes.extend_from_slice(b"d\xe9,I1315,x\n");
        let errors = refused(&bytes, InputFormat::Csv);
        let some = |id: &str| Some(id.to_string());
        assert_eq!(
            errors,
            [
                (3, some("b"), "job_title".to_string(), "job_title: not valid UTF-8 (column 3)".to_string()),
                (4, some("c"), "line".to_string(), "not valid UTF-8".to_string()),
                (5, None, "id".to_string(), "id: not valid UTF-8 (column 1)".to_string()),
            ]
        );
    }

    /// A JSON Lines record that is not UTF-8 had no id and named no field, even when its id
    /// was readable (the CSV path named both).
    #[test]
    fn a_json_line_that_is_not_utf8_names_its_field_and_keeps_its_id() {
        let mut bytes = b"{\"id\":\"a\",\"occupation_code\":\"I1315\"}\n".to_vec();
        bytes.extend_from_slice(b"{\"id\":\"b\",\"occupation_code\":\"I1315\",\"job_title\":\"Soud\xe9\"}\n");
        bytes.extend_from_slice(b"{\"item_codes\":[\"403964\",\"4\xff\"],\"id\":17,\"region\":\"\xe9\"}\n");
        bytes.extend_from_slice(b"{\"id\":\"d\xe9\",\"occupation_code\":\"I1315\"}\n");
        bytes.extend_from_slice(b"{\"id\":\"e\",\"colour\":\"\xe9\"}\n");
        bytes.extend_from_slice(b"{\"id\":\"f\"}\xff\n");
        bytes.extend_from_slice(b"{\"id\":\"g\",\"job_title\":\"\xef\xbf\xbd \xe9\"}\n");
        let errors = refused(&bytes, InputFormat::Jsonl);
        let some = |id: &str| Some(id.to_string());
        assert_eq!(
            errors,
            [
                (2, some("b"), "job_title".to_string(), "job_title: not valid UTF-8".to_string()),
                (3, some("17"), "item_codes[1]".to_string(), "item_codes[1]: not valid UTF-8".to_string()),
                (4, None, "id".to_string(), "id: not valid UTF-8".to_string()),
                (5, some("e"), "line".to_string(), "not valid UTF-8".to_string()),
                (6, None, "line".to_string(), "not valid UTF-8".to_string()),
                (7, None, "line".to_string(), "not valid UTF-8".to_string()),
            ]
        );
    }

    /// A UTF-16 export (a spreadsheet's "Unicode text") was refused line by line as "not
    /// valid UTF-8", or as an unreadable header.
    #[test]
    fn a_utf16_file_is_refused_as_a_whole_saying_so() {
        for format in [InputFormat::Csv, InputFormat::Jsonl] {
            for bom in [[0xFF, 0xFE], [0xFE, 0xFF]] {
                let mut bytes = bom.to_vec();
                bytes.extend("id,occupation_code\n".encode_utf16().flat_map(u16::to_le_bytes));
                let mut reader = ProfileReader::new(bytes.as_slice(), format);
                let err = reader.next_record().expect_err("refused");
                assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
                assert_eq!(err.to_string(), UTF16_REFUSED);
            }
        }
        // A UTF-8 byte-order mark is read as before.
        let records = read_all("\u{feff}id,occupation_code\na,I1315\n", InputFormat::Csv);
        assert!(records[0].profile.is_ok());
    }

    /// A UTF-16 or UTF-32 file without a byte-order mark got a header error ("unreadable
    /// header" or a column list full of NULs) or one "not valid UTF-8" / malformed-JSON
    /// error per line.
    #[test]
    fn a_wide_file_without_a_byte_order_mark_is_refused_as_a_whole_naming_its_encoding() {
        let message = |name: &str, iconv: &str| {
            format!(
                "the file looks like {name} without a byte-order mark (zero bytes between the characters of its \
                 first line): save it as UTF-8 (a spreadsheet's \"CSV UTF-8\", or `iconv -f {iconv} -t UTF-8`)"
            )
        };
        let utf16 = |text: &str, le: bool| -> Vec<u8> {
            text.encode_utf16().flat_map(|u| if le { u.to_le_bytes() } else { u.to_be_bytes() }).collect()
        };
        let utf32 = |text: &str, le: bool| -> Vec<u8> {
            text.chars()
                .flat_map(|c| if le { u32::from(c).to_le_bytes() } else { u32::from(c).to_be_bytes() })
                .collect()
        };
        for (format, text) in [
            (InputFormat::Csv, "id,occupation_code\na,I1315\n"),
            (InputFormat::Jsonl, "{\"id\": \"Andr\u{e9}\", \"occupation_code\": \"I1315\"}\n"),
        ] {
            for (bytes, name, iconv) in [
                (utf16(text, true), "UTF-16", "UTF-16LE"),
                (utf16(text, false), "UTF-16", "UTF-16BE"),
                (utf32(text, true), "UTF-32", "UTF-32LE"),
                (utf32(text, false), "UTF-32", "UTF-32BE"),
            ] {
                let err = ProfileReader::new(bytes.as_slice(), format).next_record().expect_err("refused");
                assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
                assert_eq!(err.to_string(), message(name, iconv), "{format:?} {iconv}");
            }
        }
        // UTF-8 is read as before, also when a character outside Latin-1 or a NUL comes early.
        let records = read_all("id,occupation_code\n\u{4e2d},I1315\n", InputFormat::Csv);
        assert!(records[0].profile.is_ok());
        assert_eq!(wide_without_bom(b"a\0"), None, "two bytes are not enough to tell");
        assert_eq!(wide_without_bom(b"a\0b,c\n"), None, "one zero byte is not UTF-16");
    }

    /// A UTF-32 export was refused as UTF-16: its little-endian byte-order mark starts with
    /// the UTF-16 one.
    #[test]
    fn a_utf32_file_is_refused_as_a_whole_saying_utf32() {
        for format in [InputFormat::Csv, InputFormat::Jsonl] {
            for little_endian in [true, false] {
                let text = "\u{feff}id,occupation_code\n";
                let bytes: Vec<u8> = text
                    .chars()
                    .flat_map(|c| if little_endian { u32::from(c).to_le_bytes() } else { u32::from(c).to_be_bytes() })
                    .collect();
                assert_eq!(bytes[..4], if little_endian { [0xFF, 0xFE, 0, 0] } else { [0, 0, 0xFE, 0xFF] });
                let err = ProfileReader::new(bytes.as_slice(), format).next_record().expect_err("refused");
                assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
                assert_eq!(
                    err.to_string(),
                    "the file is UTF-32 (it starts with a UTF-32 byte-order mark): save it as UTF-8 (`iconv -f UTF-32 \
                     -t UTF-8`)"
                );
            }
        }
    }

    /// A record with an unclosed quote lost its id, also when the quote opened after it.
    #[test]
    fn a_csv_record_with_an_unclosed_quote_keeps_its_id_when_the_quote_opens_after_it() {
        let line = |s: &str| s.to_string();
        let text = "id,occupation_code,job_title\na,I1315,Soudeur\nb,I1315,\"Technicien\nc,F1602,x\n";
        assert_eq!(
            refused(text.as_bytes(), InputFormat::Csv),
            [(
                3,
                Some(line("b")),
                line("line"),
                line(
                    "malformed CSV: a quoted field opened on line 3 is never closed; lines 3–4 (the end of the file) \
                     were read as this one record and none of them is scored"
                )
            )]
        );
        // The id column need not be the first.
        let errors = refused(b"occupation_code,id,job_title\nI1315, c ,\"Soudeur\n", InputFormat::Csv);
        assert_eq!(errors.iter().map(|e| (e.0, e.1.as_deref())).collect::<Vec<_>>(), [(2, Some("c"))]);
        // A quote inside an unquoted value (an inch mark) leaves the fields before it whole.
        let errors = refused(b"id,occupation_code,job_title\nd,I1315,Ecran 15\"\n", InputFormat::Csv);
        assert_eq!(
            errors,
            [(
                2,
                Some(line("d")),
                line("line"),
                line(
                    "malformed CSV: a quoted field opened on line 2, the last line, is never closed; it is not scored"
                )
            )]
        );
        // The quote opens in the id itself: there is no id to keep.
        let errors = refused(b"id,occupation_code\n\"e,I1315\nf,F1602\n", InputFormat::Csv);
        assert_eq!(errors.iter().map(|e| (e.0, e.1.as_deref())).collect::<Vec<_>>(), [(2, None)]);
    }

    /// Spreadsheet exports may end lines with a comma: an empty field past the header is
    /// ignored on purpose (the columns are in place), a field holding data there is refused.
    #[test]
    fn empty_fields_past_the_header_are_ignored_and_fields_holding_data_are_refused() {
        let text = "id,occupation_code,job_title\na,I1315,,\nb,F1602,Soudeur,, ,\"\"\nc,I1315,Soudeur,,x\n";
        let records = read_all(text, InputFormat::Csv);
        type Read<'a> = (u64, Option<&'a str>, Result<(Option<&'a str>, Option<&'a str>), &'a str>);
        let read: Vec<Read<'_>> = records
            .iter()
            .map(|r| {
                let profile = r.profile.as_ref().map(|p| (p.occupation_code.as_deref(), p.job_title.as_deref()));
                (r.line, r.id.as_deref(), profile.map_err(|e| e.reason.as_str()))
            })
            .collect();
        assert_eq!(
            read,
            [
                (2, Some("a"), Ok((Some("I1315"), None))),
                (3, Some("b"), Ok((Some("F1602"), Some("Soudeur")))),
                (
                    4,
                    Some("c"),
                    Err(
                        "5 fields, the header has 3 (a value that holds a comma must be quoted: \"Technicien, fibre\")"
                    )
                ),
            ]
        );
    }

    /// A lone surrogate escape got serde's `lone leading surrogate in hex escape` (or
    /// `unexpected end of hex escape`) for the whole line, without the record's id.
    #[test]
    fn a_json_lone_surrogate_escape_names_its_field_and_keeps_the_id() {
        let text = concat!(
            "{\"id\":\"a\",\"job_title\":\"Soudeur \\ud800\"}\n",
            "{\"id\":7,\"item_codes\":[\"403964\",\"4\\uDC00\"]}\n",
            "{\"id\":\"\\ud800x\",\"occupation_code\":\"I1315\"}\n",
            // A surrogate pair, and an escaped backslash before `ud800`: no lone surrogate.
            "{\"id\":\"d\",\"job_title\":\"\\ud83d\\ude00 \\\\ud800\"}\n",
            "{\"id\":\"e\",\"colour\":\"\\ud800\"}\n",
            // Malformed in another way too: that error, at its column in the file.
            "{\"id\":\"f\",\"job_title\":\"\\ud800\" \"x\"}\n",
            // U+FFFD in the record would make the field ambiguous: the line as a whole.
            "{\"id\":\"g\",\"job_title\":\"\u{fffd}\",\"region\":\"\\udbff\"}\n",
        );
        let records = read_all(text, InputFormat::Jsonl);
        let Ok(p) = &records[3].profile else { panic!("valid: {:?}", records[3]) };
        assert_eq!(p.job_title.as_deref(), Some("\u{1f600} \\ud800"));
        let errors = refused(text.as_bytes(), InputFormat::Jsonl);
        let some = |id: &str| Some(id.to_string());
        let error = |line: u64, id: Option<String>, field: &str, reason: &str| (line, id, field.into(), reason.into());
        assert_eq!(
            errors,
            [
                error(1, some("a"), "job_title", "job_title: invalid unicode escape (lone surrogate \\ud800)"),
                error(2, some("7"), "item_codes[1]", "item_codes[1]: invalid unicode escape (lone surrogate \\uDC00)"),
                error(3, None, "id", "id: invalid unicode escape (lone surrogate \\ud800)"),
                error(5, some("e"), "line", "invalid unicode escape (lone surrogate \\ud800)"),
                error(6, None, "line", "malformed JSON at line 6, column 32: expected `,` or `}`"),
                error(7, None, "line", "invalid unicode escape (lone surrogate \\udbff)"),
            ]
        );
    }

    #[test]
    fn format_from_extension() {
        assert_eq!(InputFormat::from_path(Path::new("a/b.JSONL")), Some(InputFormat::Jsonl));
        assert_eq!(InputFormat::from_path(Path::new("b.csv")), Some(InputFormat::Csv));
        assert_eq!(InputFormat::from_path(Path::new("b.parquet")), None);
    }
}
