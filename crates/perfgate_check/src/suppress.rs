//! Inline suppressions: `# perfgate: ignore[rule-id, ...]` / `// perfgate: ignore[...]` on
//! the finding's line or the line above. Unknown ids are reported.

use perfgate_model::{Confidence, Finding, SourceFile};
use perfgate_rules::INVALID_SUPPRESSION;
use rustc_hash::FxHashMap;

struct Suppression {
    line: u32,
    rules: Vec<String>,
    column: u32,
    end_column: u32,
    text: String,
}

/// Suppressions in the file's directive comments (never in strings or doc comments).
fn scan(file: &SourceFile) -> Vec<Suppression> {
    const MARK: &str = "perfgate: ignore[";
    let mut out = Vec::new();
    for c in &file.module.directive_comments {
        let comment = file.slice(*c);
        let mut from = 0;
        while let Some(i) = comment[from..].find(MARK) {
            let at = from + i;
            from = at + MARK.len();
            let rest = &comment[from..];
            let Some(close) = rest.find(']') else {
                break;
            };
            let rules = rest[..close]
                .split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect();
            let start = c.start + at as u32;
            let end = c.start + (from + close + 1) as u32;
            let (line, column) = file.line_col(start);
            out.push(Suppression {
                line,
                rules,
                column,
                end_column: file.line_col(end).1,
                text: comment[at..from + close + 1].to_owned(),
            });
        }
    }
    out
}

pub fn apply(files: &[SourceFile], findings: &mut Vec<Finding>, report_invalid: bool) {
    let mut by_file: FxHashMap<&str, Vec<Suppression>> = FxHashMap::default();
    for f in files {
        let s = scan(f);
        if !s.is_empty() {
            by_file.insert(f.path.as_str(), s);
        }
    }
    findings.retain(|f| {
        let Some(sups) = by_file.get(f.path.as_str()) else {
            return true;
        };
        !sups.iter().any(|s| {
            (s.line == f.line || s.line + 1 == f.line)
                && s.rules.iter().any(|r| r == &f.rule || r == "all")
        })
    });
    if !report_invalid {
        return;
    }
    for file in files {
        let Some(sups) = by_file.get(file.path.as_str()) else {
            continue;
        };
        for s in sups {
            for r in &s.rules {
                if r == "all" || perfgate_rules::find(r).is_some() {
                    continue;
                }
                let text = file.line_text(s.line).to_owned();
                findings.push(Finding {
                    rule: INVALID_SUPPRESSION.id.into(),
                    category: INVALID_SUPPRESSION.category,
                    severity: INVALID_SUPPRESSION.severity,
                    path: file.path.clone(),
                    line: s.line,
                    column: s.column,
                    end_line: s.line,
                    end_column: s.end_column,
                    function: String::new(),
                    message: format!("suppression names unknown rule `{r}`"),
                    impact: "it suppresses nothing; the finding it was meant for is still reported"
                        .into(),
                    fix: "use a rule id from `perfgate rules`".into(),
                    trace: Vec::new(),
                    fingerprint: perfgate_rules::fingerprint(&[
                        INVALID_SUPPRESSION.id,
                        &file.path,
                        &s.text,
                        r,
                    ]),
                    confidence: Confidence::Certain,
                    root_cause: None,
                    snippet: text,
                });
            }
        }
    }
}
