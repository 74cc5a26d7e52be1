//! Reporters: render a [`Report`] as text, markdown, JSON or SARIF. They know findings,
//! counts and rule descriptions as data, and nothing of how rules work.

pub mod measured;
pub use measured::Measured;
mod html;
mod json;
mod markdown;
mod prefetch;
mod sarif;
mod text;

use perfgate_model::{Category, Finding, Severity};
use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Decision {
    Pass,
    Warn,
    Fail,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Pass => "PASS",
            Decision::Warn => "WARN",
            Decision::Fail => "FAIL",
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub critical: u32,
    pub high: u32,
    pub medium: u32,
    pub low: u32,
    pub info: u32,
}

impl Counts {
    pub fn of(findings: &[Finding]) -> Counts {
        let mut c = Counts::default();
        for f in findings {
            *c.get_mut(f.severity) += 1;
        }
        c
    }

    pub fn get(&self, s: Severity) -> u32 {
        match s {
            Severity::Critical => self.critical,
            Severity::High => self.high,
            Severity::Medium => self.medium,
            Severity::Low => self.low,
            Severity::Info => self.info,
        }
    }

    fn get_mut(&mut self, s: Severity) -> &mut u32 {
        match s {
            Severity::Critical => &mut self.critical,
            Severity::High => &mut self.high,
            Severity::Medium => &mut self.medium,
            Severity::Low => &mut self.low,
            Severity::Info => &mut self.info,
        }
    }

    pub fn total(&self) -> u32 {
        self.critical + self.high + self.medium + self.low + self.info
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct FileCounts {
    pub analyzed: u32,
    pub skipped: u32,
    pub parse_errors: u32,
}

/// A file that was skipped or did not parse cleanly, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileProblem {
    pub path: String,
    pub message: String,
    pub parse_error: bool,
}

/// The score formula, so reports can print it and readers recompute it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Gate {
    /// Points per finding: critical, high, medium, low, info.
    pub weights: [u32; 5],
    pub fail_below: u32,
    pub warn_below: u32,
}

/// A rule as reporters see it: data to describe findings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleInfo {
    pub id: String,
    pub category: Category,
    pub severity: Severity,
    pub summary: String,
    pub doc: String,
}

#[derive(Clone, Debug)]
pub struct Report {
    pub version: String,
    pub decision: Decision,
    pub score: u32,
    pub counts: Counts,
    pub files: FileCounts,
    /// Sorted by path, line, column, rule.
    pub findings: Vec<Finding>,
    pub problems: Vec<FileProblem>,
    pub gate: Gate,
    /// The rules that ran, for checklists and SARIF rule metadata.
    pub rules: Vec<RuleInfo>,
    /// Benchmarks, targets and coverage (empty when nothing was measured or declared).
    pub measured: Measured,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Text,
    Markdown,
    Json,
    Sarif,
    Html,
}

impl Format {
    pub fn parse(s: &str) -> Option<Format> {
        Some(match s {
            "text" => Format::Text,
            "markdown" | "md" => Format::Markdown,
            "json" => Format::Json,
            "sarif" => Format::Sarif,
            "html" => Format::Html,
            _ => return None,
        })
    }
}

/// Render a report. `color` applies to text only.
pub fn render(report: &Report, format: Format, color: bool) -> String {
    match format {
        Format::Text => text::render(report, color),
        Format::Markdown => markdown::render(report),
        Format::Json => json::render(report),
        Format::Sarif => sarif::render(report),
        Format::Html => html::render(report),
    }
}

/// Write a report in a format. JSON and SARIF are written as they are serialised (JSON's
/// findings rendered in parallel batches on the current rayon pool): a report with
/// thousands of findings is megabytes, and building it in memory first cost as much as
/// serialising it (fresh pages for each larger copy).
pub fn write(
    report: &Report,
    format: Format,
    color: bool,
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    match format {
        Format::Json => json::write(report, out),
        Format::Sarif => sarif::write(report, out),
        _ => out.write_all(render(report, format, color).as_bytes()),
    }
}

/// A document as pretty JSON and a final newline. serde_json writes a token at a time:
/// through a buffer of a concrete type those writes are inlined copies, where each was a call
/// through `dyn Write`.
fn write_pretty_json(
    doc: &impl serde::Serialize,
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    use std::io::Write;
    let mut buf = std::io::BufWriter::with_capacity(1 << 16, out);
    serde_json::to_writer_pretty(&mut buf, doc)?;
    buf.write_all(b"\n")?;
    buf.flush()
}

/// What a writer writes, as a string.
fn in_memory(write: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()>) -> String {
    let mut out = Vec::new();
    write(&mut out).expect("writing to memory cannot fail");
    String::from_utf8(out).expect("reports are UTF-8")
}

/// Fence language for a path's code block.
fn lang_of(path: &str) -> &'static str {
    if path.ends_with(".rs") {
        "rust"
    } else if path.ends_with(".py") {
        "python"
    } else {
        ""
    }
}

#[cfg(test)]
mod tests;
