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
    /// The field delimiter (`,` unless [`Self::with_delimiter`]), to find an unclosed quote.
    delimiter: u8,
}

impl<'a> CsvRows<'a> {
    /// Reads `bytes` with `builder`'s settings.
    pub(crate) fn new(builder: &ReaderBuilder, bytes: &'a [u8]) -> Self {
        CsvRows { bytes, reader: builder.from_reader(bytes), counted: 0, line: 1, delimiter: b',' }
    }

    /// Tells which delimiter `builder` was given (`ReaderBuilder` does not say), so that a
    /// quote left open on the last record is found.
    pub(crate) fn with_delimiter(mut self, delimiter: u8) -> Self {
        self.delimiter = delimiter;
        self
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
    /// header's (for a reader that is not flexible), invalid UTF-8 (`invalid UTF-8 in
    /// field "hours" (column 3)`), or a quoted field that is never closed (`a quoted field
    /// opened on line 7 is never closed: the file ends inside it (cut short?), and lines 7–9
    /// were read as this one record`; the csv crate reads it as a short record, which would
    /// be reported as a field count). The records after it can still be read.
    pub(crate) fn next_row(&mut self) -> Option<(u64, Result<StringRecord, String>)> {
        let mut record = ByteRecord::new();
        let (start, read) = match self.reader.read_byte_record(&mut record) {
            Ok(false) => return None,
            Ok(true) => (record.position().map(Position::byte), Ok(())),
            Err(e) => (e.position().map(Position::byte), Err(reason(&e))),
        };
        let line = self.line_of(start.unwrap_or_else(|| self.reader.position().byte()));
        // Only the last record can hold a quote that is never closed: it runs to the end.
        if usize::try_from(self.reader.position().byte()).is_ok_and(|end| end >= self.bytes.len()) {
            if let Some((opened, last)) = unclosed_quote(&self.bytes[self.counted..], self.delimiter) {
                let (opened, last) = (line + opened, line + last);
                let reason = if opened == last {
                    format!("a quoted field opened on line {opened}, the last line, is never closed: the file ends inside it (cut short?)")
                } else {
                    format!(
                        "a quoted field opened on line {opened} is never closed: the file ends inside it (cut short?), and lines {line}–{last} were read as this one record"
                    )
                };
                return Some((line, Err(reason)));
            }
        }
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

/// Whether the record that starts `rest` and runs to the end of the input leaves a quoted
/// field open (RFC 4180: a quote opens a field only as its first byte, `""` inside it is one
/// quote); if so, the line breaks before the quote that opened it and the line breaks of the
/// whole record (a final line break not counted), as offsets from its first line.
fn unclosed_quote(rest: &[u8], delimiter: u8) -> Option<(u64, u64)> {
    let (mut quoted, mut field_start, mut i, mut breaks, mut opened) = (false, true, 0, 0, 0);
    while i < rest.len() {
        let b = rest[i];
        if b == b'\n' || (b == b'\r' && rest.get(i + 1) != Some(&b'\n')) {
            breaks += 1;
        }
        if quoted {
            if b == b'"' {
                if rest.get(i + 1) == Some(&b'"') {
                    i += 1;
                } else {
                    quoted = false;
                }
            }
        } else if field_start && b == b'"' {
            (quoted, opened) = (true, breaks);
        }
        field_start = !quoted && (b == delimiter || b == b'\n' || b == b'\r');
        i += 1;
    }
    // A line break that ends the file ends the last line; it starts no new one.
    let trailing = u64::from(rest.last().is_some_and(|&b| b == b'\n' || b == b'\r'));
    quoted.then(|| (opened, breaks - trailing))
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

    /// A quote left open on the last record was reported as a field count ("1 fields where
    /// the header has 3"): the csv crate reads it to the end of the file as one short record.
    #[test]
    fn a_quote_left_open_on_the_last_record_is_named_with_its_lines() {
        let mut flexible = ReaderBuilder::new();
        flexible.flexible(true);
        for builder in [ReaderBuilder::new(), flexible] {
            let one = b"h,v,w\na,1,2\n\"b,3,4\n";
            assert_eq!(
                lines(&builder, one),
                [
                    (2, Ok("a".to_string())),
                    (3, Err("a quoted field opened on line 3, the last line, is never closed: the file ends inside it (cut short?)".to_string()))
                ]
            );
            let three = b"h,v,w\r\na,1,2\r\nb,\"x\r\nc,5,6\r\nd,7,8";
            assert_eq!(
                lines(&builder, three)[1],
                (
                    3,
                    Err("a quoted field opened on line 3 is never closed: the file ends inside it (cut short?), and lines 3–5 \
                         were read as this one record"
                        .to_string())
                )
            );
        }
        // The quote that is never closed opens on the record's second line (after a closed
        // multi-line field): that line is named, and the record's first.
        let later = b"h,v,w\na,1,2\n\"b\nb\",\"x\ny\n";
        assert_eq!(
            lines(ReaderBuilder::new().flexible(true), later)[1],
            (
                3,
                Err("a quoted field opened on line 4 is never closed: the file ends inside it (cut short?), and lines 3–5 \
                     were read as this one record"
                    .to_string())
            )
        );
        // Closed quotes, escaped quotes, a quote inside an unquoted field and a `;` delimiter
        // are read as before.
        let fine = b"h,v\n\"a \"\"b\"\"\",12\" screen\n";
        assert_eq!(lines(&ReaderBuilder::new(), fine), [(2, Ok("a \"b\"".to_string()))]);
        let mut semi = ReaderBuilder::new();
        semi.delimiter(b';');
        let mut rows = CsvRows::new(&semi, b"h;v\na;\"x\n").with_delimiter(b';');
        assert_eq!(
            rows.next_row().map(|(l, r)| (l, r.map(|r| r.len()))),
            Some((2, Err("a quoted field opened on line 2, the last line, is never closed: the file ends inside it (cut short?)".to_string())))
        );
        assert_eq!(unclosed_quote(b"a,b\"c\n", b','), None);
        assert_eq!(unclosed_quote(b"a;\"b\n", b','), None, "a quote after another delimiter is data");
    }
}
