//! `bench-regression`: a benchmark measurably slower than its baseline.

use crate::{Checker, RuleMeta};
use perfgate_model::{Category, Finding, Language, Severity};

pub struct Rule;

pub static META: RuleMeta = RuleMeta {
    id: "bench-regression",
    category: Category::Benchmarks,
    severity: Severity::High,
    languages: &[Language::Rust, Language::Python],
    summary: "a benchmark measurably slower than its baseline (statistical test on the raw samples plus a minimum effect size)",
    doc: r#"## What it does
With `perfgate check --bench`, compares the latest recorded benchmark run (`perfgate bench
record`) with its baseline (`--baseline REF`, `[bench] baseline`, or the previous run) and
reports each benchmark whose median got slower.

The test: a 95% bootstrap confidence interval (2,000 resamples of the raw samples, seeded
from the data so results are reproducible) for the ratio of medians, new / baseline. A
benchmark regressed when the whole interval lies above 1 *and* the median moved by at least
`[bench] min-effect` (default 5%). Medians and resampling make no assumption about the
shape of the timing distribution and are not pulled around by outliers (a page fault, a
context switch); the minimum effect keeps real but negligible differences from failing a
build. Simulated on noisy data, an unchanged benchmark is flagged in fewer than 5 of 100
runs and a 10% slowdown with 20 samples a side in more than 95 of 100 (tests in
`perfgate_bench`). Benchmarks with fewer than 5 samples on either side are not tested.

## Why is this bad?
A regression that lands is paid by every user on every request until someone notices;
catching it in the change that caused it is the cheapest moment to fix it.

## Example
```text
parse/large_file: 41.2 ms -> 47.9 ms (+16.3% [+12.9%, +19.8%])
```

## Use instead
Find the change that slowed it (profile both builds), fix it, or — when the slowdown is
the accepted price of a feature — record a new baseline with
`perfgate bench record --name baseline`.
"#,
};

impl crate::Rule for Rule {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Checker, out: &mut Vec<Finding>) {
        for c in cx.project.comparisons.iter().filter(|c| c.regression) {
            cx.emit_at(
                &META,
                &c.place,
                &c.id,
                format!(
                    "benchmark `{}` regressed: median {} -> {} ({:+.1}%, 95% CI [{:+.1}%, {:+.1}%], {} vs {} samples)",
                    c.id,
                    crate::rules::fmt_seconds(c.baseline_median),
                    crate::rules::fmt_seconds(c.current_median),
                    (c.ratio - 1.0) * 100.0,
                    (c.ci_low - 1.0) * 100.0,
                    (c.ci_high - 1.0) * 100.0,
                    c.samples.1,
                    c.samples.0
                ),
                format!(
                    "every call is {:.0}% slower than the baseline (more than the {:.0}% minimum effect, and outside the noise)",
                    (c.ratio - 1.0) * 100.0,
                    c.min_effect * 100.0
                ),
                "profile the baseline and current builds on this benchmark; fix the slowdown or record a new baseline if it is accepted".into(),
                out,
            );
        }
    }
}
