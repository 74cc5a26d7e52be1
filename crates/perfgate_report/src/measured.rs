//! The measured side of a report: benchmark results against their baseline, declared
//! targets against what was measured, and which planned benchmarks exist. Plain data,
//! filled by the driver from the history database and the configuration; the renderers
//! here know nothing of where it came from.

use serde::Serialize;
use std::fmt::Write;

/// JSON keys `benchmarks`, `targets`, `baseline` (SPEC §3: added, never changed).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Measured {
    /// The run the figures come from, if benchmarks were compared.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current: Option<RunRef>,
    pub baseline: Option<RunRef>,
    pub benchmarks: Vec<BenchRow>,
    pub targets: Vec<TargetRow>,
    /// Planned components and the benchmarks found for them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub coverage: Vec<CoverageRow>,
    /// How regressions are decided, for readers of the report.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub method: String,
}

impl Measured {
    pub fn is_empty(&self) -> bool {
        self.current.is_none()
            && self.benchmarks.is_empty()
            && self.targets.is_empty()
            && self.coverage.is_empty()
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct RunRef {
    pub id: i64,
    pub name: Option<String>,
    pub commit: Option<String>,
    pub branch: Option<String>,
    /// RFC 3339, UTC.
    pub recorded_at: String,
    pub machine: String,
}

impl RunRef {
    pub fn label(&self) -> String {
        let mut parts = vec![format!("run #{}", self.id)];
        if let Some(n) = &self.name {
            parts.push(format!("`{n}`"));
        }
        if let Some(c) = &self.commit {
            parts.push(format!("commit {}", &c[..c.len().min(10)]));
        }
        if let Some(b) = &self.branch {
            parts.push(format!("on {b}"));
        }
        parts.join(", ")
    }
}

/// One benchmark: its figures now and against the baseline. Times in seconds.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct BenchRow {
    pub id: String,
    pub source: String,
    pub samples: u32,
    pub mean: f64,
    pub median: f64,
    pub p95: f64,
    pub p99: f64,
    pub baseline_median: Option<f64>,
    /// Relative change of the median (0.12 = 12% slower) and its 95% interval.
    pub change: Option<f64>,
    pub change_low: Option<f64>,
    pub change_high: Option<f64>,
    /// `regression`, `improvement`, `no change`, `not enough samples`, `new`.
    pub status: String,
    /// Median per run, oldest first (for trend charts).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub trend: Vec<(i64, f64)>,
}

/// A declared target: what it bounds, the limit, what was found.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct TargetRow {
    pub name: String,
    /// `p99 <= 3s`, as declared.
    pub limit: String,
    /// What was checked against it: a benchmark id, or a configured timeout.
    pub subject: String,
    /// The figure, in the limit's unit, as text (`2.41 s`).
    pub measured: String,
    /// `met`, `missed`, `no data`.
    pub status: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct CoverageRow {
    pub component: String,
    pub benchmarks: Vec<String>,
    pub covered: bool,
}

pub use perfgate_model::units::seconds;

pub fn percent(x: f64) -> String {
    format!("{:+.1}%", x * 100.0)
}

fn change_cell(b: &BenchRow) -> String {
    match (b.change, b.change_low, b.change_high) {
        (Some(c), Some(lo), Some(hi)) if lo.is_finite() && hi.is_finite() => {
            format!("{} [{}, {}]", percent(c), percent(lo), percent(hi))
        }
        (Some(c), _, _) => percent(c),
        _ => "–".into(),
    }
}

/// Plain-text tables, for the terminal.
pub fn render_text(m: &Measured, out: &mut String) {
    if m.is_empty() {
        return;
    }
    if let Some(c) = &m.current {
        let _ = write!(out, "\nbenchmarks: {}", c.label());
        match &m.baseline {
            Some(b) => {
                let _ = writeln!(out, " against baseline {}", b.label());
            }
            None => {
                let _ = writeln!(out, " (no baseline)");
            }
        }
    }
    if !m.benchmarks.is_empty() {
        let w = m
            .benchmarks
            .iter()
            .map(|b| b.id.len())
            .max()
            .unwrap_or(9)
            .max(9);
        let _ = writeln!(
            out,
            "  {:w$}  {:>10}  {:>10}  {:>10}  {:>28}  status",
            "benchmark", "median", "p99", "baseline", "change [95% CI]"
        );
        for b in &m.benchmarks {
            let _ = writeln!(
                out,
                "  {:w$}  {:>10}  {:>10}  {:>10}  {:>28}  {}",
                b.id,
                seconds(b.median),
                seconds(b.p99),
                b.baseline_median.map_or("–".into(), seconds),
                change_cell(b),
                b.status
            );
        }
    }
    if !m.targets.is_empty() {
        let _ = writeln!(out, "targets:");
        for t in &m.targets {
            let _ = writeln!(
                out,
                "  {} ({}): {} = {} — {}",
                t.name, t.limit, t.subject, t.measured, t.status
            );
        }
    }
    if !m.coverage.is_empty() {
        let covered = m.coverage.iter().filter(|c| c.covered).count();
        let _ = writeln!(
            out,
            "benchmark plan: {covered} of {} components covered",
            m.coverage.len()
        );
    }
}

/// The markdown sections of the reference reports.
pub fn render_markdown(m: &Measured, out: &mut String) {
    let _ = writeln!(out, "## Response Time Analysis\n");
    if m.targets.is_empty() {
        let _ = writeln!(
            out,
            "No targets declared: add `[[target]]` entries to the configuration to check measured figures and configured timeouts against them.\n"
        );
    } else {
        let _ = writeln!(out, "| target | limit | checked | measured | status |");
        let _ = writeln!(out, "|---|---|---|---|---|");
        for t in &m.targets {
            let mark = match t.status.as_str() {
                "met" => "✅ met",
                "missed" => "❌ missed",
                other => other,
            };
            let _ = writeln!(
                out,
                "| {} | `{}` | {} | {} | {mark} |",
                t.name, t.limit, t.subject, t.measured
            );
        }
        let _ = writeln!(out);
    }
    let _ = writeln!(out, "## Baseline Comparison\n");
    match (&m.current, &m.baseline) {
        (None, _) => {
            let _ = writeln!(
                out,
                "**NO BENCHMARK RESULTS**: record a run with `perfgate bench record` and check with `--bench`.\n"
            );
        }
        (Some(c), None) => {
            let _ = writeln!(
                out,
                "**NO BASELINE AVAILABLE** for {}: record one with `perfgate bench record --name baseline` on the reference branch.\n",
                c.label()
            );
        }
        (Some(c), Some(b)) => {
            let _ = writeln!(out, "Current: {} · Baseline: {}\n", c.label(), b.label());
        }
    }
    if !m.benchmarks.is_empty() {
        let _ = writeln!(
            out,
            "| benchmark | samples | median | p95 | p99 | baseline median | change [95% CI] | status |"
        );
        let _ = writeln!(out, "|---|---|---|---|---|---|---|---|");
        for b in &m.benchmarks {
            let _ = writeln!(
                out,
                "| `{}` | {} | {} | {} | {} | {} | {} | {} |",
                b.id,
                b.samples,
                seconds(b.median),
                seconds(b.p95),
                seconds(b.p99),
                b.baseline_median.map_or("–".into(), seconds),
                change_cell(b),
                b.status
            );
        }
        let _ = writeln!(out);
    }
    if !m.method.is_empty() {
        let _ = writeln!(out, "{}\n", m.method);
    }
    let _ = writeln!(out, "## Benchmark Coverage\n");
    if m.coverage.is_empty() {
        let _ = writeln!(
            out,
            "No benchmark plan declared (`[[bench.required]]` in the configuration).\n"
        );
    } else {
        let _ = writeln!(out, "| component | benchmarks | status |");
        let _ = writeln!(out, "|---|---|---|");
        for c in &m.coverage {
            let _ = writeln!(
                out,
                "| {} | {} | {} |",
                c.component,
                if c.benchmarks.is_empty() {
                    "–".into()
                } else {
                    c.benchmarks
                        .iter()
                        .map(|b| format!("`{b}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                },
                if c.covered {
                    "✅ present"
                } else {
                    "❌ MISSING"
                }
            );
        }
        let _ = writeln!(out);
    }
}
