//! Reading the files benchmark tools write.
//!
//! - criterion: `target/criterion/<id>/new/{benchmark,sample}.json` (and `estimates.json`);
//!   a sample is `times[i] / iters[i]` nanoseconds per iteration.
//! - pytest-benchmark: the file written by `--benchmark-json`; raw samples are in
//!   `stats.data` when the run used `--benchmark-save-data`, otherwise only the summary.
//! - hyperfine: the file written by `--export-json`; `results[].times` in seconds.

use crate::{BenchResult, Error, Source, Summary};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Read every result found under the given files and folders, sorted by id. A folder is
/// searched for criterion's `new/` result folders and for JSON result files.
pub fn ingest(paths: &[PathBuf]) -> Result<Vec<BenchResult>, Error> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            walk(p, &mut out, 0)?;
        } else {
            read_json_file(p, &mut out, true)?;
        }
    }
    out.sort_by(|a, b| {
        a.id.cmp(&b.id)
            .then(a.source.as_str().cmp(b.source.as_str()))
    });
    out.dedup_by(|a, b| a.id == b.id && a.source == b.source);
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<BenchResult>, depth: u32) -> Result<(), Error> {
    if depth > 16 {
        return Ok(());
    }
    let entries = std::fs::read_dir(dir).map_err(|e| io(dir, e))?;
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for p in paths {
        // Symlinks are not followed: no loops.
        let Ok(meta) = std::fs::symlink_metadata(&p) else {
            continue;
        };
        if meta.is_dir() {
            if p.file_name().is_some_and(|n| n == "new") && p.join("sample.json").is_file() {
                out.push(read_criterion(&p)?);
            } else if p
                .file_name()
                .is_some_and(|n| n != "base" && n != "change" && n != "report")
            {
                walk(&p, out, depth + 1)?;
            }
        } else if meta.is_file()
            && p.extension().is_some_and(|e| e == "json")
            && p.parent()
                .and_then(|d| d.file_name())
                .is_none_or(|n| n != "new" && n != "base" && n != "change")
        {
            read_json_file(&p, out, false)?;
        }
    }
    Ok(())
}

fn io(p: &Path, e: std::io::Error) -> Error {
    Error::Io {
        path: p.display().to_string(),
        source: e,
    }
}

fn bad(p: &Path, message: impl Into<String>) -> Error {
    Error::Input {
        path: p.display().to_string(),
        message: message.into(),
    }
}

fn load(p: &Path) -> Result<Value, Error> {
    let text = std::fs::read_to_string(p).map_err(|e| io(p, e))?;
    serde_json::from_str(&text).map_err(|e| bad(p, format!("not valid JSON: {e}")))
}

/// A JSON file named on the command line must be a result file; one found while walking a
/// folder is skipped when it is something else (a `package.json`, a config).
fn read_json_file(p: &Path, out: &mut Vec<BenchResult>, named: bool) -> Result<(), Error> {
    let v = match load(p) {
        Ok(v) => v,
        Err(e) if named => return Err(e),
        Err(_) => return Ok(()),
    };
    if v.get("benchmarks").is_some_and(Value::is_array) {
        out.extend(read_pytest(p, &v)?);
    } else if v.get("results").is_some_and(Value::is_array) {
        out.extend(read_hyperfine(p, &v)?);
    } else if named {
        return Err(bad(
            p,
            "not a pytest-benchmark (`benchmarks`) or hyperfine (`results`) result file",
        ));
    }
    Ok(())
}

fn f64s(v: Option<&Value>) -> Option<Vec<f64>> {
    v?.as_array()?.iter().map(Value::as_f64).collect()
}

fn read_criterion(new: &Path) -> Result<BenchResult, Error> {
    let sample_path = new.join("sample.json");
    let sample = load(&sample_path)?;
    let iters = f64s(sample.get("iters")).ok_or_else(|| bad(&sample_path, "no `iters` array"))?;
    let times = f64s(sample.get("times")).ok_or_else(|| bad(&sample_path, "no `times` array"))?;
    if iters.len() != times.len() || iters.is_empty() {
        return Err(bad(&sample_path, "`iters` and `times` differ in length"));
    }
    let samples: Vec<f64> = iters
        .iter()
        .zip(&times)
        .filter(|(i, _)| **i > 0.0)
        .map(|(i, t)| t / i * 1e-9)
        .collect();
    let bench_path = new.join("benchmark.json");
    let id = match load(&bench_path) {
        Ok(b) => b
            .get("full_id")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| bad(&bench_path, "no `full_id`"))?,
        // Older criterion versions: the folder names the benchmark.
        Err(_) => new
            .parent()
            .and_then(|p| p.file_name())
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
    };
    Ok(BenchResult {
        id,
        source: Source::Criterion,
        summary: Summary::of(&samples),
        samples,
    })
}

fn read_pytest(p: &Path, v: &Value) -> Result<Vec<BenchResult>, Error> {
    let mut out = Vec::new();
    for b in v["benchmarks"].as_array().into_iter().flatten() {
        let id = b
            .get("fullname")
            .or_else(|| b.get("name"))
            .and_then(Value::as_str)
            .ok_or_else(|| bad(p, "a benchmark without `fullname`"))?
            .to_owned();
        let stats = b
            .get("stats")
            .ok_or_else(|| bad(p, format!("{id}: no `stats`")))?;
        let samples = f64s(stats.get("data")).unwrap_or_default();
        let summary = if samples.is_empty() {
            let g = |k: &str| stats.get(k).and_then(Value::as_f64).unwrap_or(f64::NAN);
            Summary {
                n: stats.get("rounds").and_then(Value::as_u64).unwrap_or(0) as u32,
                mean: g("mean"),
                median: g("median"),
                // Not in the summary: the maximum bounds both from above.
                p95: g("max"),
                p99: g("max"),
                min: g("min"),
                max: g("max"),
                stddev: g("stddev"),
            }
        } else {
            Summary::of(&samples)
        };
        out.push(BenchResult {
            id,
            source: Source::PytestBenchmark,
            samples,
            summary,
        });
    }
    Ok(out)
}

fn read_hyperfine(p: &Path, v: &Value) -> Result<Vec<BenchResult>, Error> {
    let mut out = Vec::new();
    for r in v["results"].as_array().into_iter().flatten() {
        let id = r
            .get("command")
            .and_then(Value::as_str)
            .ok_or_else(|| bad(p, "a result without `command`"))?
            .to_owned();
        let samples =
            f64s(r.get("times")).ok_or_else(|| bad(p, format!("{id}: no `times` array")))?;
        out.push(BenchResult {
            id,
            source: Source::Hyperfine,
            summary: Summary::of(&samples),
            samples,
        });
    }
    Ok(out)
}
