use crate::Report;
use perfgate_model::{Finding, Severity};
use std::fmt::Write;

struct Paint(bool);

impl Paint {
    fn sev(&self, s: Severity, text: &str) -> String {
        if !self.0 {
            return text.to_owned();
        }
        let code = match s {
            Severity::Critical | Severity::High => "1;31",
            Severity::Medium => "1;33",
            Severity::Low => "1;36",
            Severity::Info => "1;37",
        };
        format!("\x1b[{code}m{text}\x1b[0m")
    }
    fn bold(&self, text: &str) -> String {
        if self.0 {
            format!("\x1b[1m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }
    fn dim(&self, text: &str) -> String {
        if self.0 {
            format!("\x1b[2m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }
}

/// Compiler-style: `path:line:col: severity[rule] message`, the source line with a caret,
/// then the trace, impact and fix.
pub(crate) fn render(r: &Report, color: bool) -> String {
    let p = Paint(color);
    let mut out = String::new();
    for f in &r.findings {
        finding(&mut out, f, &p);
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
    let gutter = f.line.to_string().len();
    let pad = " ".repeat(gutter);
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
        "{pad} | {}{}",
        " ".repeat(start as usize),
        p.sev(f.severity, &"^".repeat(carets))
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
