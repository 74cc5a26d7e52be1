//! `target-missed`: a measured figure over its declared target.

use crate::{Checker, RuleMeta};
use perfgate_model::{Category, Finding, Language, Severity};

pub struct Rule;

pub static META: RuleMeta = RuleMeta {
    id: "target-missed",
    category: Category::Benchmarks,
    severity: Severity::High,
    languages: &[Language::Rust, Language::Python],
    summary: "a measured figure (mean, median, p95, p99, peak memory) over its declared target",
    doc: r#"## What it does
With `perfgate check --bench`, checks each `[[target]]` that names benchmarks against the
latest recorded run: the target's metric (`mean`, `median`, `p95`, `p99`, `min`, `max`) of
every matching benchmark must be within its limit.

```toml
[[target]]
name = "clip scoring"
limit = "p99 <= 3s"
benches = ["clip/*"]
```

## Why is this bad?
A target is a promise to users or to another team ("scores within 3 s"). A benchmark over
it says the promise is already broken in the lab, before any production load.

## Example
```text
target `clip scoring` (p99 <= 3s): clip/score_batch p99 = 3.42 s
```

## Use instead
Make the code meet the target (see the static findings for where time goes), or change
the target with the people who depend on it.
"#,
};

impl crate::Rule for Rule {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Checker, out: &mut Vec<Finding>) {
        for t in &cx.project.targets {
            for (id, v) in &t.measured {
                if *v <= t.limit {
                    continue;
                }
                let shown = |x: f64| {
                    if t.is_time {
                        crate::rules::fmt_seconds(x)
                    } else {
                        crate::rules::fmt_bytes(x)
                    }
                };
                cx.emit_at(
                    &META,
                    &t.place,
                    &format!("{}:{id}", t.name),
                    format!(
                        "target `{}` ({}) missed: `{id}` {} = {}",
                        t.name,
                        t.limit_text,
                        t.metric,
                        shown(*v)
                    ),
                    format!(
                        "{} over the limit ({:.0}% above it)",
                        shown(v - t.limit),
                        (v / t.limit - 1.0) * 100.0
                    ),
                    "speed up the benchmarked path until it meets the target, or renegotiate the target".into(),
                    out,
                );
            }
        }
    }
}
