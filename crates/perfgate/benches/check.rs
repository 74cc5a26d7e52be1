//! Throughput of `perfgate check` phases on a generated corpus (see `corpus.rs`): parsing
//! and lowering per language, the whole-project analysis (call graph and effect fixpoint),
//! the rules, and everything together, on the corpus with one defective module in ten;
//! the rules and the reports (JSON, SARIF, text) again on the dense corpus, where every
//! module is defective, to measure what each finding costs.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use perfgate_analysis::Analysis;
use perfgate_catalog::Catalog;
use perfgate_check::{parse_source, Parsed};
use perfgate_model::SourceFile;
use perfgate_report::{Format, Report};
use perfgate_rules::Checker;
use rayon::prelude::*;
use std::hint::black_box;

mod corpus;

// As in the binary: what is measured is what ships.
#[path = "../src/alloc.rs"]
mod alloc;

/// 1,100 modules per language: about 203,500 lines of Python (1,100 modules and their
/// tests) and 102,000 of Rust.
const MODULES: usize = 1100;

/// Parsing runs on all cores, as `perfgate check` does (and as the analysis does).
fn parse_all(files: &[(String, String)]) -> Vec<SourceFile> {
    files
        .par_iter()
        .filter_map(|(p, s)| match parse_source(p, s.clone()) {
            Parsed::Ok { file, .. } => Some(*file),
            _ => None,
        })
        .collect()
}

/// A report of these findings as `perfgate check` would make it: sorted, scored and decided
/// by the default gate.
fn report_of(mut findings: Vec<perfgate_model::Finding>) -> Report {
    findings.sort_by(|a, b| {
        (&a.path, a.line, a.column, &a.rule).cmp(&(&b.path, b.line, b.column, &b.rule))
    });
    let counts = perfgate_report::Counts::of(&findings);
    let gate = perfgate_config::Gate::default();
    let w = &gate.weights;
    let weights = [w.critical, w.high, w.medium, w.low, w.info];
    let score = perfgate_check::score(&counts, weights);
    Report {
        version: perfgate_check::version().to_owned(),
        decision: perfgate_check::decide(&counts, score, gate.fail_below, gate.warn_below),
        score,
        counts,
        files: Default::default(),
        findings,
        problems: Vec::new(),
        gate: perfgate_report::Gate {
            weights,
            fail_below: gate.fail_below,
            warn_below: gate.warn_below,
        },
        rules: Vec::new(),
        measured: Default::default(),
    }
}

/// Every code rule over the analysis: the number of findings.
fn run_rules(analysis: &Analysis) -> usize {
    let checker = Checker::new(analysis);
    let mut out = Vec::new();
    for r in perfgate_rules::all() {
        r.check(&checker, &mut out);
    }
    out.len()
}

fn bytes(files: &[(String, String)]) -> u64 {
    files.iter().map(|(_, s)| s.len() as u64).sum()
}

fn bench(c: &mut Criterion) {
    alloc::init_reusable();
    let (py, rs) = corpus::generate(MODULES);
    let (dense_py, dense_rs) = corpus::generate_dense(MODULES);
    let catalog = Catalog::bundled();
    let lines = |f: &[(String, String)]| f.iter().map(|(_, s)| s.lines().count()).sum::<usize>();
    eprintln!(
        "corpus: python {} lines / {} bytes, rust {} lines / {} bytes",
        lines(&py),
        bytes(&py),
        lines(&rs),
        bytes(&rs)
    );

    for (lang, files, dense) in [("python", &py, &dense_py), ("rust", &rs, &dense_rs)] {
        let mut g = c.benchmark_group(lang);
        g.sample_size(10);
        g.throughput(Throughput::Bytes(bytes(files)));
        // Dropping the model is left out of each phase: `perfgate check` never frees it
        // (the process exits), so its cost is not part of a real run.
        g.bench_function("parse", |b| b.iter_with_large_drop(|| parse_all(files)));
        let parsed = parse_all(files);
        g.bench_function("analysis", |b| {
            b.iter_with_large_drop(|| {
                let a = Analysis::new(&parsed, &catalog);
                black_box(a.effects.chain_count());
                a
            })
        });
        let analysis = Analysis::new(&parsed, &catalog);
        g.bench_function("rules", |b| b.iter(|| black_box(run_rules(&analysis))));
        g.bench_function("check", |b| {
            b.iter_batched(
                || files.clone(),
                |files| {
                    let parsed = parse_all(&files);
                    black_box(perfgate_check::analyse_sources(parsed, &catalog).len())
                },
                BatchSize::LargeInput,
            )
        });
        g.finish();

        // The dense corpus: every module repeats the defects of the reference reports
        // (7,700 findings in Python, 6,600 in Rust).
        let mut g = c.benchmark_group(format!("{lang}-dense"));
        g.sample_size(10);
        g.throughput(Throughput::Bytes(bytes(dense)));
        let parsed = parse_all(dense);
        let analysis = Analysis::new(&parsed, &catalog);
        g.bench_function("rules", |b| b.iter(|| black_box(run_rules(&analysis))));
        let report = report_of(perfgate_check::analyse_sources(parsed.clone(), &catalog));
        for (name, format) in [
            ("report/json", Format::Json),
            ("report/sarif", Format::Sarif),
            ("report/text", Format::Text),
        ] {
            g.bench_function(name, |b| {
                b.iter(|| {
                    let mut out = Vec::with_capacity(16 << 20);
                    perfgate_report::write(&report, format, false, &mut out).expect("in memory");
                    black_box(out.len())
                })
            });
        }
        g.finish();
    }
}

criterion_group!(benches, bench);
// Run by hand and on performance work (see the README): a release build of the benchmark
// does not fit the CI time budget. perfgate: ignore[bench-not-in-ci]
criterion_main!(benches);
