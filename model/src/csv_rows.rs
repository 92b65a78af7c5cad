//! CSV records held in memory, each with the physical line it starts on.
//!
//! The csv crate's `Position::line()` is wrong with CRLF line endings and after the blank
//! lines it skips (rust-csv issue #395), and its error messages repeat that line. Its
//! `Position::byte()` is right but points where the read began: at the `\n` of the previous
//! record's `\r\n`, or at the blank lines before the record. [`CsvRows`] therefore counts
//! lines itself, from that offset past any line breaks. It reads records as bytes and checks
//! their UTF-8 itself, so an invalid byte is one record's error naming the line and the
//! column, not an error of the whole file.

use csv::{ByteRecord, Position, Reader, ReaderBuilder, StringRecord};

/// Reads the records of a CSV in memory, each with its 1-based physical line (the header is
/// line 1 when it is the file's first line).
pub(crate) struct CsvRows<'a> {
    bytes: &'a [u8],
    reader: Reader<&'a [u8]>,
    /// Line breaks are counted up to this byte offset…
    counted: usize,
    /// …which is on this line (1-based).
    line: u64,
}

impl<'a> CsvRows<'a> {
    /// Reads `bytes` with `builder`'s settings.
    pub(crate) fn new(builder: &ReaderBuilder, bytes: &'a [u8]) -> Self {
        CsvRows { bytes, reader: builder.from_reader(bytes), counted: 0, line: 1 }
    }

    /// The header record (read on the first call).
    ///
    /// # Errors
    /// Why the header cannot be read: `invalid UTF-8 in column 6`, or the csv crate's error.
    pub(crate) fn headers(&mut self) -> Result<&StringRecord, String> {
        self.reader.headers().map_err(|e| match e.kind() {
            csv::ErrorKind::Utf8 { err, .. } => format!("invalid UTF-8 in column {}", err.field() + 1),
            _ => e.to_string(),
        })
    }

    /// The next record and the line it starts on, or `None` at the end of the input. A record
    /// that cannot be read is `Err(reason)` with its line: a field count other than the
    /// header's (for a reader that is not flexible), or invalid UTF-8 (`invalid UTF-8 in
    /// field "hours" (column 3)`). The records after it can still be read.
    pub(crate) fn next_row(&mut self) -> Option<(u64, Result<StringRecord, String>)> {
        let mut record = ByteRecord::new();
        let (start, read) = match self.reader.read_byte_record(&mut record) {
            Ok(false) => return None,
            Ok(true) => (record.position().map(Position::byte), Ok(())),
            Err(e) => (e.position().map(Position::byte), Err(reason(&e))),
        };
        let line = self.line_of(start.unwrap_or_else(|| self.reader.position().byte()));
        let row = read.and_then(|()| {
            StringRecord::from_byte_record(record).map_err(|e| {
                let field = e.utf8_error().field();
                let name =
                    self.reader.headers().ok().and_then(|h| h.get(field)).map(|h| h.trim_start_matches('\u{feff}'));
                match name {
                    Some(name) => format!("invalid UTF-8 in field \"{name}\" (column {})", field + 1),
                    None => format!("invalid UTF-8 in column {}", field + 1),
                }
            })
        });
        Some((line, row))
    }

    /// The line of the record whose read began at byte `offset`: line breaks (`\n`, `\r\n`,
    /// or a lone `\r`, as the csv crate splits records) before its first byte, after skipping
    /// the line breaks at `offset` (the end of the previous line, blank lines). A record
    /// never starts with a line break: a quoted field starts with `"`, and an unquoted field
    /// cannot hold one. Counting goes on from the previous call, so a file is scanned once.
    fn line_of(&mut self, offset: u64) -> u64 {
        let bytes = self.bytes;
        let mut start = usize::try_from(offset).unwrap_or(usize::MAX).min(bytes.len());
        while matches!(bytes.get(start), Some(b'\r' | b'\n')) {
            start += 1;
        }
        if start < self.counted {
            (self.counted, self.line) = (0, 1);
        }
        for (i, &b) in bytes.iter().enumerate().take(start).skip(self.counted) {
            if b == b'\n' || (b == b'\r' && bytes.get(i + 1) != Some(&b'\n')) {
                self.line += 1;
            }
        }
        self.counted = start;
        self.line
    }
}

/// A csv error in words, without the csv crate's line (see the module docs).
fn reason(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::UnequalLengths { expected_len, len, .. } => {
            format!("{len} fields where the header has {expected_len}")
        }
        _ => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each record's line and first field (or error).
    fn lines(builder: &ReaderBuilder, bytes: &[u8]) -> Vec<(u64, Result<String, String>)> {
        let mut rows = CsvRows::new(builder, bytes);
        std::iter::from_fn(|| rows.next_row()).map(|(l, r)| (l, r.map(|r| r[0].to_string()))).collect()
    }

    #[test]
    fn lines_are_physical_with_crlf_blank_lines_and_quoted_breaks() {
        let builder = ReaderBuilder::new();
        // Line 1 header, 2 a, 3 blank, 4 b, 5-6 c (a quoted line break), 7 blank, 8 blank, 9 d.
        let text = "h,v\r\na,1\r\n\r\nb,2\r\n\"c\r\nc\",3\r\n\r\n\r\nd,4\r\n";
        let ok = |l: u64, f: &str| (l, Ok(f.to_string()));
        assert_eq!(lines(&builder, text.as_bytes()), [ok(2, "a"), ok(4, "b"), ok(5, "c\r\nc"), ok(9, "d")]);
        // The same with `\n`, and with lone `\r` (which the csv crate splits records on).
        let lf = text.replace("\r\n", "\n");
        assert_eq!(lines(&builder, lf.as_bytes()), [ok(2, "a"), ok(4, "b"), ok(5, "c\nc"), ok(9, "d")]);
        let cr = text.replace("\r\n", "\r");
        assert_eq!(lines(&builder, cr.as_bytes()), [ok(2, "a"), ok(4, "b"), ok(5, "c\rc"), ok(9, "d")]);
    }

    #[test]
    fn a_ragged_record_and_invalid_utf8_are_errors_of_their_line_only() {
        let text = b"h,title\r\n\r\na,1\r\nb\r\n\r\nc,\xFF\r\nd,4\r\n";
        let got = lines(&ReaderBuilder::new(), text);
        assert_eq!(
            got,
            [
                (3, Ok("a".to_string())),
                (4, Err("1 fields where the header has 2".to_string())),
                (6, Err("invalid UTF-8 in field \"title\" (column 2)".to_string())),
                (7, Ok("d".to_string())),
            ]
        );
        let mut rows = CsvRows::new(&ReaderBuilder::new(), b"h,t\xFFtle\r\na,1\r\n");
        assert_eq!(rows.headers().map(|h| h.len()), Err("invalid UTF-8 in column 2".to_string()));
    }
}
