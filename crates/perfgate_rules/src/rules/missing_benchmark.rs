//! `missing-benchmark`: a component required by the benchmark plan that has no benchmark.

use crate::{Checker, RuleMeta};
use perfgate_model::{Category, Finding, Language, Severity};

pub struct Rule;

pub static META: RuleMeta = RuleMeta {
    id: "missing-benchmark",
    category: Category::Benchmarks,
    severity: Severity::Medium,
    languages: &[Language::Rust, Language::Python],
    summary: "a component required by the benchmark plan that has no benchmark",
    doc: r#"## What it does
Matches each component of the benchmark plan against the benchmarks found in the project
(criterion, divan and iai-callgrind benches, pytest-benchmark tests, asv suites): by
benchmark id, bench function name or bench file path, with the component's `match`
patterns (substrings, `*` globs, case-insensitive; default: the component's name). A
component nothing matches is reported.

```toml
[[bench.required]]
component = "QUIC transport"
match = ["quic"]
```

## Why is this bad?
The plan lists what must be measured because regressions there matter. A component with
no benchmark can regress without anyone seeing a number move.

## Example
Five suites present, `quic` and `wasm` missing: two components of the plan are unmeasured.

## Use instead
Add a benchmark for the component (a criterion `bench_function("quic/handshake", ..)`,
a `test_quic_roundtrip(benchmark)`), or take it out of the plan.
"#,
};

impl crate::Rule for Rule {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Checker, out: &mut Vec<Finding>) {
        for c in &cx.project.plan {
            if !covering(cx.project, c).is_empty() {
                continue;
            }
            let patterns = c.patterns.join("`, `");
            cx.emit_at(
                &META,
                &c.place,
                &c.component,
                format!(
                    "the benchmark plan requires `{}` but no benchmark matches `{patterns}`",
                    c.component
                ),
                "this component can regress without any benchmark noticing".into(),
                format!(
                    "add a benchmark for `{}` (an id, function or file matching `{patterns}`), or remove it from the plan",
                    c.component
                ),
                out,
            );
        }
    }
}

/// The benchmarks (ids, functions or files) that cover a planned component.
pub fn covering(
    p: &crate::project::ProjectFacts,
    c: &crate::project::PlannedComponent,
) -> Vec<String> {
    let mut hits = Vec::new();
    for f in &p.bench_files {
        for pat in &c.patterns {
            if matches(pat, &f.path) {
                hits.push(f.path.clone());
            }
            for id in &f.ids {
                if matches(pat, id) {
                    hits.push(id.clone());
                }
            }
        }
    }
    hits.sort();
    hits.dedup();
    hits
}

/// Case-insensitive: a `*` glob, or a substring.
pub fn matches(pattern: &str, s: &str) -> bool {
    let p = pattern.to_ascii_lowercase();
    let s = s.to_ascii_lowercase();
    if !p.contains('*') {
        return s.contains(&p);
    }
    glob(&p, &s)
}

fn glob(p: &str, s: &str) -> bool {
    let parts: Vec<&str> = p.split('*').collect();
    let mut rest = s;
    for (i, part) in parts.iter().enumerate() {
        if part.is_empty() {
            continue;
        }
        if i == 0 {
            match rest.strip_prefix(part) {
                Some(r) => rest = r,
                None => return false,
            }
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else {
            match rest.find(part) {
                Some(j) => rest = &rest[j + part.len()..],
                None => return false,
            }
        }
    }
    p.ends_with('*') || rest.is_empty() || parts.len() == 1
}
