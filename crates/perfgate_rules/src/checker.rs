use crate::RuleMeta;
use perfgate_analysis::{Analysis, FuncId, Shape, Step};
use perfgate_model::{Confidence, Finding, RootCause, Span, TraceStep};
use std::borrow::Cow;

/// What rules get: the analysis, the project's non-code facts, and how to turn a location
/// into a [`Finding`].
pub struct Checker<'a> {
    pub a: &'a Analysis<'a>,
    pub project: &'a crate::project::ProjectFacts,
}

static NO_FACTS: std::sync::LazyLock<crate::project::ProjectFacts> =
    std::sync::LazyLock::new(Default::default);

/// A finding being built; `Checker::emit` locates and fingerprints it.
pub struct Draft<'m> {
    pub meta: &'m RuleMeta,
    pub func: FuncId,
    pub span: Span,
    pub message: String,
    pub impact: Cow<'static, str>,
    pub fix: Cow<'static, str>,
    /// Evidence, outermost first; empty for findings that are their own evidence.
    pub trace: Vec<Step>,
    pub confidence: Confidence,
}

impl<'m> Draft<'m> {
    /// A finding at a call, with that call as its one step of evidence. Set `message`,
    /// `impact` and `fix` with struct update syntax.
    pub fn at_call(
        meta: &'m RuleMeta,
        a: &Analysis,
        id: perfgate_analysis::CallId,
        note: String,
    ) -> Self {
        let span = a.call(id).span;
        Draft {
            meta,
            func: id.func,
            span,
            message: String::new(),
            impact: Cow::Borrowed(""),
            fix: Cow::Borrowed(""),
            trace: vec![Step {
                func: id.func,
                span,
                call: Some(id.call),
                note,
            }],
            confidence: Confidence::Certain,
        }
    }
}

impl<'a> Checker<'a> {
    /// A checker over code alone (no manifests, CI files, targets or measurements).
    pub fn new(a: &'a Analysis<'a>) -> Self {
        Checker {
            a,
            project: &NO_FACTS,
        }
    }

    pub fn with_project(a: &'a Analysis<'a>, project: &'a crate::project::ProjectFacts) -> Self {
        Checker { a, project }
    }

    /// A finding in a non-code file (a manifest, a workflow, a configuration file).
    #[allow(clippy::too_many_arguments)]
    pub fn emit_at(
        &self,
        meta: &RuleMeta,
        place: &crate::project::Place,
        subject: &str,
        message: String,
        impact: String,
        fix: String,
        out: &mut Vec<Finding>,
    ) {
        let line = place.line.max(1);
        out.push(Finding {
            rule: Cow::Borrowed(meta.id),
            category: meta.category,
            severity: meta.severity,
            path: place.path.clone(),
            line,
            column: 1,
            end_line: line,
            end_column: place.text.chars().count() as u32 + 1,
            function: String::new(),
            message,
            impact: impact.into(),
            fix: fix.into(),
            trace: Vec::new(),
            fingerprint: fingerprint(&[meta.id, &place.path, subject]),
            confidence: Confidence::Certain,
            root_cause: None,
            snippet: place.text.clone(),
        });
    }

    /// The functions rules check: tests are not production paths and are left out.
    pub fn functions(&self) -> impl Iterator<Item = FuncId> + '_ {
        self.a.functions_shaped(Shape::ANY, Shape::TEST)
    }

    /// The functions rules check that hold any of the [`Shape`] bits in `any` (loops,
    /// handlers, ...), found without reading the others.
    pub fn functions_with(&self, any: u16) -> impl Iterator<Item = FuncId> + '_ {
        self.a.functions_shaped(any, Shape::TEST)
    }

    pub fn emit(&self, d: Draft, out: &mut Vec<Finding>) {
        let file = self.a.file(d.func);
        let func = self.a.func(d.func);
        let (line, column) = file.line_col(d.span.start);
        let (end_line, end_column) = file.line_col(d.span.end);
        let stmt = file.slice(d.span);
        let fp = fingerprint(&[d.meta.id, &file.path, &func.qualname, stmt]);
        let root_cause = if d.trace.len() > 1 {
            let root = d.trace.last().expect("non-empty");
            let rf = self.a.file(root.func);
            let rfunc = self.a.func(root.func);
            Some(Box::new(RootCause {
                fingerprint: fingerprint(&[
                    d.meta.id,
                    &rf.path,
                    &rfunc.qualname,
                    rf.slice(root.span),
                ]),
                path: rf.path.clone(),
                line: rf.lines().line(root.span.start),
                function: rfunc.qualname.to_string(),
                note: root.note.clone(),
            }))
        } else {
            None
        };
        let trace: Vec<TraceStep> = d.trace.into_iter().map(|s| self.trace_step(s)).collect();
        let mut snippet = String::new();
        for l in line..=end_line.min(line + 3) {
            if l > line {
                snippet.push('\n');
            }
            snippet.push_str(file.line_text(l));
        }
        out.push(Finding {
            rule: Cow::Borrowed(d.meta.id),
            category: d.meta.category,
            severity: d.meta.severity,
            path: file.path.clone(),
            line,
            column,
            end_line,
            end_column,
            function: func.qualname.to_string(),
            message: d.message,
            impact: d.impact,
            fix: d.fix,
            trace,
            fingerprint: fp,
            confidence: d.confidence,
            root_cause,
            snippet,
        });
    }

    fn trace_step(&self, s: Step) -> TraceStep {
        let f = self.a.file(s.func);
        TraceStep {
            path: f.path.clone(),
            line: f.lines().line(s.span.start),
            function: self.a.func(s.func).qualname.to_string(),
            note: s.note,
        }
    }
}

/// A 64-bit FNV-1a hash of the parts, whitespace removed from each so that reformatting
/// and edits elsewhere in the file leave it unchanged. Stable across versions and platforms.
pub fn fingerprint(parts: &[&str]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for b in part.bytes() {
            // Without a branch: whether a byte of code is a space is a coin toss to the
            // branch predictor, and a missed guess cost more than the hash step.
            let next = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
            h = std::hint::select_unpredictable(b.is_ascii_whitespace(), h, next);
        }
        h ^= 0xff;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    // Sixteen lowercase hex digits, as `format!("{h:016x}")` writes them, without the
    // formatting machinery: every finding computes one or two.
    const HEX: &[u8; 16] = b"0123456789abcdef";
    (0..16)
        .rev()
        .map(|i| char::from(HEX[(h >> (i * 4)) as usize & 0xf]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::fingerprint;

    /// Baselines and suppressions hold fingerprints from earlier versions: the hash, its
    /// whitespace rule and its spelling (16 lowercase hex digits) must never change.
    #[test]
    fn fingerprints_are_those_earlier_versions_wrote() {
        // Whitespace does not count: a reformatted statement keeps its fingerprint.
        for stmt in ["requests.get(url)", "requests.get( url )\n"] {
            let parts = ["blocking-io-in-async", "svc/m0.py", "fetch_remote_0", stmt];
            assert_eq!(fingerprint(&parts), "0c4d6ebc2368ff65", "{stmt:?}");
        }
        assert_eq!(fingerprint(&[""]), "af64724c8602eb6e");
    }
}
