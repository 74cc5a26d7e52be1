//! The `check` pipeline: discover files, parse them in parallel, analyse the project, run
//! the selected rules, apply suppressions and severities, score and decide.

pub mod bench;
mod files;
mod project;
mod score;
mod select;
mod suppress;

use perfgate_analysis::Analysis;
use perfgate_catalog::Catalog;
use perfgate_config::{ConfigError, Loaded};
use perfgate_model::{Confidence, Finding, Severity, SourceFile};
use perfgate_report::{Counts, FileCounts, Report, RuleInfo};
use perfgate_rules::Checker;
use rayon::prelude::*;
use std::path::PathBuf;

pub use files::{parse_source, Parsed};
pub use score::{decide, score};

/// What the command line asks of `check`.
#[derive(Clone, Debug, Default)]
pub struct Options {
    pub paths: Vec<PathBuf>,
    pub config: Option<PathBuf>,
    pub select: Option<Vec<String>>,
    pub ignore: Vec<String>,
    pub jobs: Option<usize>,
    /// The process exits right after this run: leave the parsed model to the OS instead of
    /// freeing it piece by piece (as compilers and ruff do; it is a tenth of the run time).
    pub exit_after: bool,
    /// Compare recorded benchmark runs (`--bench`).
    pub bench: Option<bench::BenchOptions>,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Config(#[from] ConfigError),
    #[error("{path}: {message}")]
    Input { path: String, message: String },
    #[error("{0}")]
    Usage(String),
}

/// The result of a check: the report, and the gate setting the config asked for.
pub struct Outcome {
    pub report: Report,
    /// `fail-on` from the config, if it set one (the command line overrides it).
    pub config_fail_on: Option<String>,
    /// The worker threads the check ran on (`--jobs` of them): the report's writers render
    /// in parallel, and inside `workers.install` they do it on these, whose memory is
    /// already mapped, rather than on threads started for the purpose.
    pub workers: rayon::ThreadPool,
}

pub fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

pub fn run(opts: &Options) -> Result<Outcome, Error> {
    let paths = if opts.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        opts.paths.clone()
    };
    for p in &paths {
        if !p.exists() {
            return Err(Error::Input {
                path: p.display().to_string(),
                message: "no such file or directory".into(),
            });
        }
    }
    let loaded: Loaded = match &opts.config {
        Some(p) => perfgate_config::load_file(p)?.ok_or_else(|| ConfigError {
            path: p.clone(),
            line: None,
            message: "no [tool.perfgate] / [*.metadata.perfgate] table in this file".into(),
        })?,
        None => perfgate_config::discover(&paths[0])?,
    };
    let cfg = &loaded.config;
    for t in &cfg.target {
        perfgate_config::parse_limit(&t.limit)
            .map_err(|m| loaded.error_at(&t.limit, format!("target `{}`: {m}", t.name)))?;
    }
    for b in &cfg.budget {
        perfgate_config::parse_limit(&b.limit)
            .map_err(|m| loaded.error_at(&b.limit, format!("budget `{}`: {m}", b.name)))?;
    }
    let rules = select::rules(&loaded, opts.select.as_deref(), &opts.ignore)?;
    let severities = select::severities(&loaded)?;

    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.jobs.unwrap_or(0))
        // Deeply nested (generated) code recurses deep in the parsers: give them room.
        .stack_size(256 << 20)
        .build()
        .map_err(|e| Error::Usage(format!("cannot start worker threads: {e}")))?;

    perfgate_model::timings::mark("start");
    let max = cfg.analysis.max_file_size;
    // Three things at once: the walk hands files over to the parse as it finds them, the
    // catalogue is read, and the project walk (manifests, CI files, no sources) runs beside
    // the parse. Parse results are sorted by path below, whatever order they come in.
    let (catalog, walk, parsed, walked) = std::thread::scope(|s| {
        let catalog = s.spawn(|| select::catalog(&loaded));
        let (tx, rx) = std::sync::mpsc::channel();
        let walk = s.spawn(|| {
            files::discover(&paths, &cfg.exclude, move |f| {
                // Sending fails only once the parse has gone (it panicked): then nobody
                // needs more files.
                let _ = tx.send(f);
            })
        });
        let (parsed, walked): (Vec<Parsed>, _) = pool.install(|| {
            rayon::join(
                || {
                    rx.into_iter()
                        .par_bridge()
                        .map(|f| files::load(&f, max))
                        .collect()
                },
                || project::walk(&paths),
            )
        });
        fn join<T>(h: std::thread::ScopedJoinHandle<'_, T>) -> T {
            h.join().unwrap_or_else(|p| std::panic::resume_unwind(p))
        }
        (join(catalog), join(walk), parsed, walked)
    });
    walk?;
    let catalog = catalog?;
    perfgate_model::timings::mark("parse");
    // Sized once: the models are a few hundred bytes each, and a vector grown by doubling
    // touches twice their memory, fresh (see README, Performance).
    let mut sources: Vec<SourceFile> = Vec::with_capacity(parsed.len());
    let mut problems = Vec::new();
    let mut counts = FileCounts::default();
    for p in parsed {
        match p {
            Parsed::Ok {
                file,
                syntax_errors,
            } => {
                counts.analyzed += 1;
                if syntax_errors {
                    counts.parse_errors += 1;
                    problems.push(perfgate_report::FileProblem {
                        path: file.path.clone(),
                        message: "syntax errors; analysed what could be recovered".into(),
                        parse_error: true,
                    });
                }
                sources.push(*file);
            }
            Parsed::ParseError { path, message } => {
                counts.parse_errors += 1;
                problems.push(perfgate_report::FileProblem {
                    path,
                    message,
                    parse_error: true,
                });
            }
            Parsed::Skipped { path, message } => {
                counts.skipped += 1;
                problems.push(perfgate_report::FileProblem {
                    path,
                    message,
                    parse_error: false,
                });
            }
        }
    }
    // Paths are unique, so an unstable sort orders them as a stable one would, without a
    // scratch copy of every model.
    sources.sort_unstable_by(|a, b| a.path.cmp(&b.path));
    problems.sort_by(|a, b| a.path.cmp(&b.path));
    files::mark_test_modules(&mut sources);

    perfgate_model::timings::mark("project");
    // The project's facts (benchmarks, CI files, targets) are gathered beside the analysis,
    // which does not need them.
    let (analysis, mut facts) = pool.install(|| {
        rayon::join(
            || Analysis::new(&sources, &catalog),
            || project::gather(walked, &loaded, &sources),
        )
    });
    let mut measured = perfgate_report::Measured::default();
    if let Some(b) = &opts.bench {
        bench::apply(b, &loaded, &mut facts, &mut measured)?;
    }
    bench::describe(&facts, &mut measured);
    let checker = Checker::with_project(&analysis, &facts);
    // One vector per rule, in rule order, then one copy into a vector of the final size: a
    // flattening collect would copy each finding twice more (into each worker's growing
    // vector, then into the result), all of it fresh memory on a defect-dense project.
    let per_rule: Vec<Vec<Finding>> = pool.install(|| {
        rules
            .par_iter()
            .with_max_len(1)
            .map(|r| {
                let mut out = Vec::new();
                r.check(&checker, &mut out);
                out
            })
            .collect()
    });
    let mut findings: Vec<Finding> = Vec::with_capacity(per_rule.iter().map(Vec::len).sum());
    for out in per_rule {
        findings.extend(out);
    }
    perfgate_model::timings::mark("rules");
    if !cfg.analysis.assumed_chains {
        findings.retain(|f| f.confidence == Confidence::Certain);
    }
    let invalid = perfgate_rules::INVALID_SUPPRESSION.id;
    let report_invalid = !cfg
        .ignore
        .iter()
        .chain(&opts.ignore)
        .any(|x| x == invalid || x == "config");
    // Nobody edits generated code: its findings would be noise (chains through it into the
    // project's own code are reported where they start).
    if sources.iter().any(|s| s.module.generated) {
        let generated: rustc_hash::FxHashSet<&str> = sources
            .iter()
            .filter(|s| s.module.generated)
            .map(|s| s.path.as_str())
            .collect();
        findings.retain(|f| !generated.contains(f.path.as_str()));
    }
    suppress::apply(&sources, &mut findings, report_invalid);
    for f in &mut findings {
        if let Some(s) = severities.get(&*f.rule) {
            f.severity = *s;
        }
    }
    // Stable, and in parallel: a defect-dense project has thousands of findings.
    pool.install(|| {
        findings.par_sort_by(|a, b| {
            (a.path.as_str(), a.line, a.column, &*a.rule).cmp(&(
                b.path.as_str(),
                b.line,
                b.column,
                &*b.rule,
            ))
        })
    });
    findings.dedup_by(|a, b| {
        a.fingerprint == b.fingerprint && a.line == b.line && a.column == b.column
    });
    unique_fingerprints(&mut findings);

    if opts.exit_after {
        std::mem::forget(analysis);
        std::mem::forget(sources);
    }
    perfgate_model::timings::mark("findings");
    let counts_by_sev = Counts::of(&findings);
    let gate = &cfg.gate;
    let weights = [
        gate.weights.critical,
        gate.weights.high,
        gate.weights.medium,
        gate.weights.low,
        gate.weights.info,
    ];
    let score = score(&counts_by_sev, weights);
    let decision = decide(&counts_by_sev, score, gate.fail_below, gate.warn_below);
    let mut infos: Vec<RuleInfo> = rules
        .iter()
        .map(|r| rule_info(r.meta(), &severities))
        .collect();
    if findings
        .iter()
        .any(|f| f.rule == perfgate_rules::INVALID_SUPPRESSION.id)
    {
        infos.push(rule_info(&perfgate_rules::INVALID_SUPPRESSION, &severities));
    }
    Ok(Outcome {
        report: Report {
            version: version().to_owned(),
            decision,
            score,
            counts: counts_by_sev,
            files: counts,
            findings,
            problems,
            gate: perfgate_report::Gate {
                weights,
                fail_below: gate.fail_below,
                warn_below: gate.warn_below,
            },
            rules: infos,
            measured,
        },
        config_fail_on: gate.fail_on.clone(),
        workers: pool,
    })
}

fn rule_info(
    m: &perfgate_rules::RuleMeta,
    severities: &rustc_hash::FxHashMap<String, Severity>,
) -> RuleInfo {
    RuleInfo {
        id: m.id.to_owned(),
        category: m.category,
        severity: severities.get(m.id).copied().unwrap_or(m.severity),
        summary: m.summary.to_owned(),
        doc: m.doc.to_owned(),
    }
}

/// The same statement flagged twice by one rule in one function (e.g. two identical
/// calls) would share a fingerprint: later ones get the occurrence mixed in.
fn unique_fingerprints(findings: &mut [Finding]) {
    // Repeats are found first, with the fingerprints borrowed (usually there are none),
    // then renamed.
    let mut seen: rustc_hash::FxHashMap<&str, u32> = rustc_hash::FxHashMap::default();
    let mut repeats = Vec::new();
    for (i, f) in findings.iter().enumerate() {
        let n = seen.entry(f.fingerprint.as_str()).or_insert(0);
        if *n > 0 {
            repeats.push((i, *n));
        }
        *n += 1;
    }
    drop(seen);
    for (i, n) in repeats {
        let f = &mut findings[i];
        f.fingerprint = perfgate_rules::fingerprint(&[&f.fingerprint, &n.to_string()]);
    }
}

/// Analyse already-parsed sources with every rule, without configuration, suppressions or
/// scoring (for fuzzing and benchmarks). Never panics.
pub fn analyse_sources(files: Vec<SourceFile>, catalog: &Catalog) -> Vec<Finding> {
    let analysis = Analysis::new(&files, catalog);
    let checker = Checker::new(&analysis);
    let mut out = Vec::new();
    for r in perfgate_rules::all() {
        r.check(&checker, &mut out);
    }
    out
}
