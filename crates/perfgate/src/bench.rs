//! `perfgate bench record` and `perfgate bench compare`.

use crate::{fail, CompareArgs, OutFormat, RecordArgs};
use perfgate_bench::history::{self, History, RunInfo};
use perfgate_report::measured::{self, Measured};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

fn git(args: &[&str]) -> Option<String> {
    let out = std::process::Command::new("git").args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
        .filter(|s| !s.is_empty() && s != "HEAD")
}

fn db(p: &Option<PathBuf>) -> PathBuf {
    p.clone()
        .unwrap_or_else(|| PathBuf::from(history::DEFAULT_DB))
}

pub fn record(a: RecordArgs) -> ExitCode {
    let paths = if a.paths.is_empty() {
        vec![PathBuf::from("target/criterion")]
    } else {
        a.paths.clone()
    };
    for p in &paths {
        if !p.exists() {
            return fail(format!("{}: no such file or directory", p.display()));
        }
    }
    let results = match perfgate_bench::ingest::ingest(&paths) {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    if results.is_empty() {
        return fail(format!(
            "no benchmark results found in {} (criterion's target/criterion, pytest-benchmark --benchmark-json, hyperfine --export-json)",
            paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let info = RunInfo {
        id: 0,
        name: a.name.clone(),
        commit: a.commit.clone().or_else(|| git(&["rev-parse", "HEAD"])),
        branch: a
            .branch
            .clone()
            .or_else(|| git(&["rev-parse", "--abbrev-ref", "HEAD"])),
        recorded_at: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64),
        machine: history::machine(),
    };
    let path = db(&a.db);
    let mut h = match History::open(&path) {
        Ok(h) => h,
        Err(e) => return fail(e),
    };
    let id = match h.record(&info, &results) {
        Ok(id) => id,
        Err(e) => return fail(e),
    };
    if !a.quiet {
        let samples: usize = results.iter().map(|r| r.samples.len()).sum();
        eprintln!(
            "perfgate: recorded run #{id}: {} benchmarks, {samples} samples{}{} into {}",
            results.len(),
            info.commit
                .as_deref()
                .map(|c| format!(" at {}", &c[..c.len().min(10)]))
                .unwrap_or_default(),
            info.branch
                .as_deref()
                .map(|b| format!(" on {b}"))
                .unwrap_or_default(),
            path.display()
        );
    }
    ExitCode::SUCCESS
}

pub fn compare(a: CompareArgs) -> ExitCode {
    let path = db(&a.db);
    if !path.is_file() {
        return fail(format!(
            "{}: no benchmark history (record runs with `perfgate bench record`)",
            path.display()
        ));
    }
    let h = match History::open(&path) {
        Ok(h) => h,
        Err(e) => return fail(e),
    };
    let base = match h.find(&a.baseline) {
        Ok(b) => b,
        Err(e) => return fail(e),
    };
    let cur = match &a.current {
        Some(r) => h.find(r),
        None => h.latest(None).and_then(|r| {
            r.ok_or_else(|| perfgate_bench::Error::NotFound("no runs recorded".into()))
        }),
    };
    let cur = match cur {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    let (cr, br) = match (h.results(cur.id), h.results(base.id)) {
        (Ok(c), Ok(b)) => (c, b),
        (Err(e), _) | (_, Err(e)) => return fail(e),
    };
    let rows = perfgate_check::bench::compare_runs(&cr, Some(&br), a.min_effect);
    let regressed = rows.iter().any(|(r, _)| r.status == "regression");
    let m = Measured {
        current: Some(perfgate_check::bench::run_ref(&cur)),
        baseline: Some(perfgate_check::bench::run_ref(&base)),
        benchmarks: rows.into_iter().map(|(r, _)| r).collect(),
        method: format!(
            "{} Minimum effect: {:.0}%.",
            perfgate_check::bench::METHOD,
            a.min_effect * 100.0
        ),
        ..Measured::default()
    };
    let out = match a.format {
        OutFormat::Json => {
            let mut s = serde_json::to_string_pretty(&m).expect("serialises");
            s.push('\n');
            s
        }
        OutFormat::Markdown => {
            let mut s = String::from("# Benchmark Comparison\n\n");
            measured::render_markdown(&m, &mut s);
            s
        }
        _ => {
            let mut s = String::new();
            measured::render_text(&m, &mut s);
            s
        }
    };
    let _ = std::io::stdout().lock().write_all(out.as_bytes());
    if regressed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
