use crate::Report;
use perfgate_model::{Finding, Severity};
use std::fmt::Write;

struct Paint(bool);

/// Text in an ANSI style, or plain when colour is off; written straight into the report.
struct Painted<'a> {
    code: Option<&'static str>,
    text: &'a str,
}

impl std::fmt::Display for Painted<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.code {
            Some(code) => write!(f, "\x1b[{code}m{}\x1b[0m", self.text),
            None => f.write_str(self.text),
        }
    }
}

impl Paint {
    fn paint<'a>(&self, code: &'static str, text: &'a str) -> Painted<'a> {
        Painted {
            code: self.0.then_some(code),
            text,
        }
    }
    fn sev<'a>(&self, s: Severity, text: &'a str) -> Painted<'a> {
        let code = match s {
            Severity::Critical | Severity::High => "1;31",
            Severity::Medium => "1;33",
            Severity::Low => "1;36",
            Severity::Info => "1;37",
        };
        self.paint(code, text)
    }
    fn bold<'a>(&self, text: &'a str) -> Painted<'a> {
        self.paint("1", text)
    }
    fn dim<'a>(&self, text: &'a str) -> Painted<'a> {
        self.paint("2", text)
    }
}

/// Compiler-style: `path:line:col: severity[rule] message`, the source line with a caret,
/// then the trace, impact and fix.
pub(crate) fn render(r: &Report, color: bool) -> String {
    use rayon::prelude::*;
    let p = Paint(color);
    // Findings are most of a report (4.7 MB for 7,700 of them): rendered in parallel, in
    // order, on the current rayon pool.
    let chunks: Vec<String> = r
        .findings
        .par_chunks(64)
        .map(|chunk| {
            let mut out = String::with_capacity(chunk.len() * 640);
            crate::prefetch::each(chunk, |f| finding(&mut out, f, &p));
            out
        })
        .collect();
    let mut out = String::with_capacity(chunks.iter().map(String::len).sum::<usize>() + 4096);
    for chunk in &chunks {
        out.push_str(chunk);
    }
    for prob in &r.problems {
        let kind = if prob.parse_error {
            "parse error"
        } else {
            "skipped"
        };
        let _ = writeln!(out, "{}: {}: {}", prob.path, p.dim(kind), prob.message);
    }
    crate::measured::render_text(&r.measured, &mut out);
    let c = &r.counts;
    let _ = writeln!(
        out,
        "{} score {}/100 — {} critical, {} high, {} medium, {} low, {} info in {} files ({} skipped, {} parse errors)",
        p.bold(&format!("perfgate: {}", r.decision.as_str())),
        r.score,
        c.critical,
        c.high,
        c.medium,
        c.low,
        c.info,
        r.files.analyzed,
        r.files.skipped,
        r.files.parse_errors,
    );
    out
}

fn finding(out: &mut String, f: &Finding, p: &Paint) {
    let _ = writeln!(
        out,
        "{}:{}:{}: {} {}",
        f.path,
        f.line,
        f.column,
        p.sev(f.severity, &format!("{}[{}]", f.severity.as_str(), f.rule)),
        p.bold(&f.message)
    );
    let first = f.snippet.lines().next().unwrap_or("");
    let gutter = f.line.checked_ilog10().unwrap_or(0) as usize + 1;
    let pad = &"                    "[..gutter];
    let _ = writeln!(out, "{pad} |");
    let _ = writeln!(out, "{} | {}", f.line, first);
    let width = first.chars().count() as u32;
    let start = f.column.saturating_sub(1).min(width);
    let end = if f.end_line == f.line {
        f.end_column.saturating_sub(1).min(width)
    } else {
        width
    };
    let carets = end.saturating_sub(start).max(1) as usize;
    let _ = writeln!(
        out,
        "{pad} | {:start$}{}",
        "",
        p.sev(f.severity, &"^".repeat(carets)),
        start = start as usize
    );
    if f.trace.len() > 1 {
        for (i, t) in f.trace.iter().enumerate() {
            let label = if i == 0 { "= trace:" } else { "        " };
            let _ = writeln!(
                out,
                "{pad} {label} {}:{} {}: {}",
                t.path, t.line, t.function, t.note
            );
        }
    }
    let _ = writeln!(out, "{pad} = impact: {}", f.impact);
    let _ = writeln!(out, "{pad} = fix: {}", f.fix);
    out.push('\n');
}
