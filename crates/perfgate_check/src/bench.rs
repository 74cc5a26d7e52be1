//! `--bench`: the latest recorded run against its baseline, and declared targets against
//! what was measured; turned into report tables and the facts the benchmark rules read.

use crate::Error;
use perfgate_bench::history::{History, RunInfo};
use perfgate_bench::stats::{self, Verdict};
use perfgate_bench::BenchResult;
use perfgate_report::measured::{BenchRow, CoverageRow, Measured, RunRef, TargetRow};
use perfgate_rules::project::{BenchComparison, Place, ProjectFacts};
use std::path::{Path, PathBuf};

/// What `check --bench` compares.
#[derive(Clone, Debug, Default)]
pub struct BenchOptions {
    /// The history database (default: `[bench] db`, else `.perfgate/history.sqlite`).
    pub db: Option<PathBuf>,
    /// The baseline run: a name, branch, commit or `#id` (default: `[bench] baseline`,
    /// else the run before the latest).
    pub baseline: Option<String>,
}

pub const METHOD: &str = "Regressions are decided on the raw samples: a 95% bootstrap confidence interval (2,000 resamples, seeded from the data) for the ratio of medians current/baseline must lie wholly above 1, and the median must move by at least the minimum effect. Medians and resampling are robust to outliers and assume no distribution.";

pub fn run_ref(r: &RunInfo) -> RunRef {
    RunRef {
        id: r.id,
        name: r.name.clone(),
        commit: r.commit.clone(),
        branch: r.branch.clone(),
        recorded_at: rfc3339(r.recorded_at),
        machine: r.machine.clone(),
    }
}

/// Seconds since the epoch as `2026-11-25T16:58:29Z` (UTC, civil-from-days).
pub fn rfc3339(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Compare two runs' results: rows for the report, comparisons for the rules.
pub fn compare_runs(
    current: &[BenchResult],
    baseline: Option<&[BenchResult]>,
    min_effect: f64,
) -> Vec<(BenchRow, Option<stats::Comparison>)> {
    current
        .iter()
        .map(|c| {
            let base =
                baseline.and_then(|b| b.iter().find(|x| x.id == c.id && x.source == c.source));
            let cmp = base.map(|b| {
                if b.samples.is_empty() || c.samples.is_empty() {
                    // Summaries only: a ratio, no test.
                    stats::Comparison {
                        baseline_median: b.summary.median,
                        current_median: c.summary.median,
                        ratio: c.summary.median / b.summary.median,
                        ci_low: f64::NAN,
                        ci_high: f64::NAN,
                        verdict: Verdict::Insufficient,
                    }
                } else {
                    stats::compare(&b.samples, &c.samples, min_effect)
                }
            });
            let s = &c.summary;
            let row = BenchRow {
                id: c.id.clone(),
                source: c.source.as_str().to_owned(),
                samples: s.n,
                mean: s.mean,
                median: s.median,
                p95: s.p95,
                p99: s.p99,
                baseline_median: cmp.map(|x| x.baseline_median),
                change: cmp.map(|x| x.ratio - 1.0),
                change_low: cmp.map(|x| x.ci_low - 1.0),
                change_high: cmp.map(|x| x.ci_high - 1.0),
                status: cmp.map_or("new".to_owned(), |x| x.verdict.as_str().to_owned()),
                trend: Vec::new(),
            };
            (row, cmp)
        })
        .collect()
}

/// Load the runs, compare, and fill the facts (regressions, measured target figures) and
/// the report's tables.
pub fn apply(
    opts: &BenchOptions,
    cfg: &perfgate_config::Loaded,
    facts: &mut ProjectFacts,
    measured: &mut Measured,
) -> Result<(), Error> {
    let db_path = db_path(opts, cfg);
    if !db_path.is_file() {
        return Err(Error::Input {
            path: db_path.display().to_string(),
            message: "no benchmark history: record a run first with `perfgate bench record`".into(),
        });
    }
    let hist = History::open(&db_path).map_err(bench_err)?;
    let Some(current) = hist.latest(None).map_err(bench_err)? else {
        return Err(Error::Input {
            path: db_path.display().to_string(),
            message: "the history has no runs: record one with `perfgate bench record`".into(),
        });
    };
    let reference = opts
        .baseline
        .clone()
        .or_else(|| cfg.config.bench.baseline.clone());
    let baseline = match &reference {
        Some(r) => {
            let b = hist.find(r).map_err(bench_err)?;
            (b.id != current.id).then_some(b)
        }
        None => hist.latest(Some(current.id)).map_err(bench_err)?,
    };
    let cur = hist.results(current.id).map_err(bench_err)?;
    let base = match &baseline {
        Some(b) => Some(hist.results(b.id).map_err(bench_err)?),
        None => None,
    };
    let min_effect = cfg.config.bench.min_effect;
    let db_shown = db_path.display().to_string();
    for (mut row, cmp) in compare_runs(&cur, base.as_deref(), min_effect) {
        row.trend = hist
            .trend(&row.id, 20)
            .map_err(bench_err)?
            .into_iter()
            .map(|(r, v)| (r.id, v))
            .collect();
        if let Some(c) = cmp {
            facts.comparisons.push(BenchComparison {
                id: row.id.clone(),
                baseline_median: c.baseline_median,
                current_median: c.current_median,
                ratio: c.ratio,
                ci_low: c.ci_low,
                ci_high: c.ci_high,
                samples: (
                    base.as_ref()
                        .and_then(|b| b.iter().find(|x| x.id == row.id))
                        .map_or(0, |x| x.summary.n),
                    row.samples,
                ),
                regression: c.verdict == Verdict::Regression,
                min_effect,
                place: bench_place(facts, &row.id, &db_shown),
            });
        }
        measured.benchmarks.push(row);
    }
    for t in &mut facts.targets {
        let Some(cfg_t) = cfg.config.target.iter().find(|x| x.name == t.name) else {
            continue;
        };
        for r in &cur {
            if cfg_t
                .benches
                .iter()
                .any(|p| perfgate_rules::rules::missing_benchmark::matches(p, &r.id))
            {
                if let Some(v) = r.summary.get(&t.metric) {
                    t.measured.push((r.id.clone(), v));
                }
            }
        }
    }
    measured.current = Some(run_ref(&current));
    measured.baseline = baseline.as_ref().map(run_ref);
    measured.method = format!("{METHOD} Minimum effect: {:.0}%.", min_effect * 100.0);
    Ok(())
}

fn bench_err(e: perfgate_bench::Error) -> Error {
    Error::Usage(e.to_string())
}

pub fn db_path(opts: &BenchOptions, cfg: &perfgate_config::Loaded) -> PathBuf {
    if let Some(p) = &opts.db {
        return p.clone();
    }
    let dir = cfg
        .path
        .as_ref()
        .and_then(|p| p.parent())
        .map(Path::to_path_buf)
        .unwrap_or_default();
    match &cfg.config.bench.db {
        Some(d) => dir.join(d),
        None => PathBuf::from(perfgate_bench::history::DEFAULT_DB),
    }
}

/// Where a benchmark is defined: the bench file that declares its id (or last segment).
fn bench_place(facts: &ProjectFacts, id: &str, db: &str) -> Place {
    let last = id.rsplit(['/', ':', '.']).next().unwrap_or(id);
    // The `bench_function("..")` that names it, when one does.
    for f in &facts.bench_files {
        if let Some((_, line, text)) = f.id_lines.iter().find(|(i, _, _)| i == id || i == last) {
            return Place {
                path: f.path.clone(),
                line: *line,
                text: text.clone(),
            };
        }
    }
    for f in &facts.bench_files {
        if f.ids
            .iter()
            .any(|i| i == id || i == last || id.starts_with(&format!("{i}/")))
        {
            return f.place.clone();
        }
    }
    Place {
        path: db.to_owned(),
        line: 1,
        text: String::new(),
    }
}

/// Report rows for targets (timeouts and measured figures) and the plan's coverage.
pub fn describe(facts: &ProjectFacts, measured: &mut Measured) {
    for t in &facts.targets {
        let shown = |x: f64| {
            if t.is_time {
                perfgate_report::measured::seconds(x)
            } else {
                perfgate_model::units::bytes(x)
            }
        };
        for v in &t.timeouts {
            measured.targets.push(TargetRow {
                name: t.name.clone(),
                limit: t.limit_text.clone(),
                subject: format!("timeout {}", v.source),
                measured: v.value.map_or_else(
                    || v.problem.clone().unwrap_or_else(|| "unreadable".into()),
                    &shown,
                ),
                status: match v.value {
                    Some(x) if x <= t.limit => "met".into(),
                    Some(_) => "missed".into(),
                    None => "no data".into(),
                },
            });
        }
        for (id, v) in &t.measured {
            measured.targets.push(TargetRow {
                name: t.name.clone(),
                limit: t.limit_text.clone(),
                subject: format!("{} of {id}", t.metric),
                measured: shown(*v),
                status: if *v <= t.limit { "met" } else { "missed" }.into(),
            });
        }
        if t.timeouts.is_empty() && t.measured.is_empty() {
            measured.targets.push(TargetRow {
                name: t.name.clone(),
                limit: t.limit_text.clone(),
                subject: "–".into(),
                measured: "no measurement (run `perfgate check --bench`)".into(),
                status: "no data".into(),
            });
        }
    }
    for c in &facts.plan {
        let hits = perfgate_rules::rules::missing_benchmark::covering(facts, c);
        measured.coverage.push(CoverageRow {
            component: c.component.clone(),
            covered: !hits.is_empty(),
            benchmarks: hits,
        });
    }
}
