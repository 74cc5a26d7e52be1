use crate::{Counts, FileCounts, Report};
use perfgate_model::Finding;
use serde::Serialize;

#[derive(Serialize)]
pub(crate) struct Tool {
    name: &'static str,
    version: String,
}

/// SPEC §3, schema_version 1. Keys are only ever added.
#[derive(Serialize)]
pub(crate) struct JsonReport<'a> {
    schema_version: u32,
    tool: Tool,
    decision: &'static str,
    score: u32,
    counts: Counts,
    files: FileCounts,
    findings: &'a [Finding],
    /// Added keys (SPEC §3: later additions are new keys).
    benchmarks: &'a [crate::measured::BenchRow],
    targets: &'a [crate::measured::TargetRow],
    baseline: &'a Option<crate::measured::RunRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    benchmark_run: &'a Option<crate::measured::RunRef>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    coverage: &'a [crate::measured::CoverageRow],
}

/// The report as SPEC §3 lays it out, with these findings.
pub(crate) fn document<'a>(r: &'a Report, findings: &'a [Finding]) -> JsonReport<'a> {
    JsonReport {
        schema_version: 1,
        tool: Tool {
            name: "perfgate",
            version: r.version.clone(),
        },
        decision: r.decision.as_str(),
        score: r.score,
        counts: r.counts,
        files: r.files,
        findings,
        benchmarks: &r.measured.benchmarks,
        targets: &r.measured.targets,
        baseline: &r.measured.baseline,
        benchmark_run: &r.measured.current,
        coverage: &r.measured.coverage,
    }
}

pub(crate) fn write(r: &Report, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    use rayon::prelude::*;
    let doc = document(r, &[]);
    // The findings are most of a report (9 MB for 7,700 of them): they are written by hand
    // (see `finding`), in parallel, a batch at a time, and spliced into the document
    // rendered without them. The findings key is found by its line: a newline inside a JSON
    // string is escaped.
    let frame = serde_json::to_vec_pretty(&doc)?;
    const KEY: &[u8] = b"\n  \"findings\": []";
    let at = memchr::memmem::find(&frame, KEY)
        .map(|i| i + KEY.len() - 2)
        .expect("the report has a findings key");
    // Straight to `out`, unbuffered here: the callers' writers are buffered, and a task's
    // text (tens of kilobytes) is as large as their buffers, which pass such writes through
    // without copying them.
    out.write_all(&frame[..at])?;
    if r.findings.is_empty() {
        out.write_all(b"[]")?;
    } else {
        out.write_all(b"[")?;
        // One buffer per task, reused batch after batch: their memory stays warm.
        let mut texts: Vec<Vec<u8>> = Vec::new();
        for (b, batch) in r.findings.chunks(FINDINGS_PER_BATCH).enumerate() {
            let tasks = batch.len().div_ceil(FINDINGS_PER_TASK);
            if texts.len() < tasks {
                texts.resize_with(tasks, Vec::new);
            }
            texts[..tasks]
                .par_iter_mut()
                .zip(batch.par_chunks(FINDINGS_PER_TASK))
                .for_each(|(text, chunk)| {
                    text.clear();
                    crate::prefetch::each(chunk, |f| {
                        text.extend_from_slice(b",\n    ");
                        finding(f, text);
                    });
                });
            for (i, text) in texts[..tasks].iter().enumerate() {
                // Every finding is written after a separator; the array's first has none.
                let skip = usize::from(b == 0 && i == 0);
                out.write_all(&text[skip..])?;
            }
        }
        out.write_all(b"\n  ]")?;
    }
    out.write_all(&frame[at + 2..])?;
    out.write_all(b"\n")?;
    out.flush()
}

/// Findings rendered at a time: enough to share among threads, few enough that their
/// text stays in cache.
const FINDINGS_PER_BATCH: usize = 256;
/// Findings one thread renders into one buffer: about 75 KB of text, more than the 64 KB
/// buffers the report is written through, so that they pass it on without a copy.
const FINDINGS_PER_TASK: usize = 64;

/// One finding, byte for byte as `serde_json::to_vec_pretty` writes its `Serialize` form two
/// levels deep (a test holds the two together). Written by hand because serde_json escapes
/// strings a byte at a time through its formatter, which was most of the report's cost, and
/// its pretty printer cannot start at a depth, so each finding had to be indented again.
fn finding(f: &Finding, out: &mut Vec<u8>) {
    let mut o = Object::open(out, b"\n      ");
    o.str("rule", &f.rule);
    o.str("category", f.category.as_str());
    o.str("severity", f.severity.as_str());
    o.str("path", &f.path);
    o.num("line", f.line);
    o.num("column", f.column);
    o.num("end_line", f.end_line);
    o.num("end_column", f.end_column);
    o.str("function", &f.function);
    o.str("message", &f.message);
    o.str("impact", &f.impact);
    o.str("fix", &f.fix);
    o.key("trace");
    if f.trace.is_empty() {
        o.out.extend_from_slice(b"[]");
    } else {
        o.out.push(b'[');
        for (i, step) in f.trace.iter().enumerate() {
            o.out.extend_from_slice(if i == 0 {
                b"\n        "
            } else {
                b",\n        "
            });
            let mut s = Object::open(o.out, b"\n          ");
            s.str("path", &step.path);
            s.num("line", step.line);
            s.str("function", &step.function);
            s.str("note", &step.note);
            s.close();
        }
        o.out.extend_from_slice(b"\n      ]");
    }
    o.str("fingerprint", &f.fingerprint);
    o.str("confidence", f.confidence.as_str());
    if let Some(root) = &f.root_cause {
        o.key("root_cause");
        let mut s = Object::open(o.out, b"\n        ");
        s.str("fingerprint", &root.fingerprint);
        s.str("path", &root.path);
        s.num("line", root.line);
        s.str("function", &root.function);
        s.str("note", &root.note);
        s.close();
    }
    o.close();
}

/// A pretty JSON object being written: `indent` is a newline and the indentation of its keys
/// (two spaces more than the braces').
struct Object<'a> {
    out: &'a mut Vec<u8>,
    indent: &'static [u8],
    empty: bool,
}

impl<'a> Object<'a> {
    fn open(out: &'a mut Vec<u8>, indent: &'static [u8]) -> Self {
        out.push(b'{');
        Object {
            out,
            indent,
            empty: true,
        }
    }

    fn key(&mut self, key: &str) {
        if !self.empty {
            self.out.push(b',');
        }
        self.empty = false;
        self.out.extend_from_slice(self.indent);
        // Keys are this file's own identifiers: nothing in them to escape.
        debug_assert!(key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'));
        self.out.push(b'"');
        self.out.extend_from_slice(key.as_bytes());
        self.out.extend_from_slice(b"\": ");
    }

    fn str(&mut self, key: &str, value: &str) {
        self.key(key);
        string(self.out, value);
    }

    fn num(&mut self, key: &str, value: u32) {
        self.key(key);
        self.out
            .extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
    }

    fn close(self) {
        if !self.empty {
            self.out
                .extend_from_slice(&self.indent[..self.indent.len() - 2]);
        }
        self.out.push(b'}');
    }
}

/// A JSON string as serde_json writes it: `"` and `\\` escaped, control characters as their
/// short escapes or `\u00XX`, everything else (non-ASCII included) as it is.
fn string(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    // Most texts need no escape, and those that do need few: the bytes between escapes are
    // found eight at a time and copied as they are.
    let mut from = 0;
    while let Some(i) = next_escaped(bytes, from) {
        out.extend_from_slice(&bytes[from..i]);
        from = i + 1;
        match bytes[i] {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            b => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(b"\\u00");
                out.push(HEX[usize::from(b >> 4)]);
                out.push(HEX[usize::from(b & 0xf)]);
            }
        }
    }
    out.extend_from_slice(&bytes[from..]);
    out.push(b'"');
}

/// The first byte at or after `from` that JSON escapes, looked for eight bytes at a time (the
/// last few padded to a word with bytes that need none).
fn next_escaped(bytes: &[u8], from: usize) -> Option<usize> {
    let rest = &bytes[from..];
    let words = rest.chunks_exact(8);
    let tail = words.remainder();
    for (n, w) in words.enumerate() {
        let mask = escaped_mask(u64::from_le_bytes(w.try_into().expect("eight bytes")));
        if mask != 0 {
            return Some(from + n * 8 + first_byte(mask));
        }
    }
    let mut last = [b'a'; 8];
    last[..tail.len()].copy_from_slice(tail);
    let mask = escaped_mask(u64::from_le_bytes(last));
    (mask != 0).then(|| bytes.len() - tail.len() + first_byte(mask))
}

/// The index of the lowest byte whose high bit is set in a mask from [`escaped_mask`].
fn first_byte(mask: u64) -> usize {
    mask.trailing_zeros() as usize / 8
}

/// The high bit of each of eight bytes (little-endian) that JSON escapes, by the bit tricks
/// for "a byte is zero" and "a byte is below n". A borrow may also mark a byte above a marked
/// one, never one below: the lowest mark is exact, and it is the only one read.
fn escaped_mask(word: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let below = |n: u8| word.wrapping_sub(ONES * u64::from(n)) & !word & HIGH;
    let equal = |c: u8| {
        let x = word ^ (ONES * u64::from(c));
        x.wrapping_sub(ONES) & !x & HIGH
    };
    below(0x20) | equal(b'"') | equal(b'\\')
}

#[cfg(test)]
fn escaped(b: u8) -> bool {
    b < 0x20 || b == b'"' || b == b'\\'
}

pub(crate) fn render(r: &Report) -> String {
    crate::in_memory(|out| write(r, out))
}

#[cfg(test)]
mod tests {
    use super::{escaped, escaped_mask, first_byte, string};

    #[test]
    fn the_first_byte_to_escape_in_a_word_is_found_exactly() {
        // Every pair of byte values in every pair of places: the borrows of the bit tricks
        // cross bytes, so one byte alone would not show a wrong answer.
        for a in 0..=255u8 {
            for b in 0..=255u8 {
                for (i, j) in [(0, 1), (1, 0), (3, 7), (6, 7), (7, 0), (2, 5)] {
                    let mut word = [b'a'; 8];
                    word[i] = a;
                    word[j] = b;
                    let mask = escaped_mask(u64::from_le_bytes(word));
                    let first = word.iter().position(|&b| escaped(b));
                    assert_eq!((mask != 0).then(|| first_byte(mask)), first, "{word:?}");
                }
            }
        }
    }

    #[test]
    fn strings_are_escaped_as_serde_json_escapes_them() {
        let mut texts = vec![
            String::new(),
            "plain".to_owned(),
            "a \"quoted\" \\path\\ with\nlines\tand\r\u{8}\u{c}\u{1}\u{1f}".to_owned(),
            "ünïcödé `x` — \"".to_owned(),
        ];
        // Escapes at every offset of words and tails.
        for len in 0..20 {
            for at in 0..len {
                let mut t: Vec<char> = "abcdefghijklmnopqrst"[..len].chars().collect();
                t[at] = '"';
                texts.push(t.iter().collect());
                t[len - 1] = '\n';
                texts.push(t.into_iter().collect());
            }
        }
        for t in texts {
            let mut out = Vec::new();
            string(&mut out, &t);
            assert_eq!(
                String::from_utf8(out).unwrap(),
                serde_json::to_string(&t).unwrap()
            );
        }
    }
}
