//! Ingestion and comparison on result files written by real benchmark runs
//! (`tests/fixtures/README.md` says how each was made).

use perfgate_bench::ingest::ingest;
use perfgate_bench::stats::{compare, Verdict};
use perfgate_bench::Source;
use std::path::PathBuf;

fn fixture(p: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(p)
}

#[test]
fn criterion_results_and_a_real_regression() {
    let base = ingest(&[fixture("criterion-baseline")]).unwrap();
    let cur = ingest(&[fixture("criterion-current")]).unwrap();
    let ids: Vec<&str> = cur.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["python/check", "python/parse", "rust/check"]);
    for r in &cur {
        assert_eq!(r.source, Source::Criterion);
        assert_eq!(r.samples.len(), 10, "{}", r.id);
        // Seconds per iteration: perfgate's check of the corpus takes 10 ms to 1 s.
        assert!(
            r.summary.median > 0.01 && r.summary.median < 1.0,
            "{:?}",
            r.summary
        );
    }
    let verdict = |id: &str| {
        let b = base.iter().find(|r| r.id == id).unwrap();
        let c = cur.iter().find(|r| r.id == id).unwrap();
        compare(&b.samples, &c.samples, 0.05)
    };
    let rust = verdict("rust/check");
    assert_eq!(rust.verdict, Verdict::Regression, "{rust:?}");
    assert!(rust.ratio > 1.1 && rust.ci_low > 1.05);
    assert_ne!(verdict("python/parse").verdict, Verdict::Regression);
}

#[test]
fn pytest_benchmark_results_keep_raw_samples() {
    let r = ingest(&[fixture("pytest/pytest-benchmark.json")]).unwrap();
    assert_eq!(r.len(), 2);
    assert_eq!(r[0].source, Source::PytestBenchmark);
    assert!(r[0].id.ends_with("test_sorted_words") || r[0].id.ends_with("test_tokenize"));
    for b in &r {
        assert!(b.samples.len() >= 20, "{}: {}", b.id, b.samples.len());
        assert_eq!(b.summary.n as usize, b.samples.len());
    }
}

#[test]
fn hyperfine_results() {
    let r = ingest(&[fixture("hyperfine.json")]).unwrap();
    assert_eq!(r.len(), 2);
    let sleep = r.iter().find(|b| b.id == "sleep 0.01").unwrap();
    assert_eq!(sleep.source, Source::Hyperfine);
    assert_eq!(sleep.samples.len(), 20);
    assert!(sleep.summary.median > 0.009 && sleep.summary.median < 0.05);
}

#[test]
fn a_folder_of_mixed_results_and_bad_input() {
    let all = ingest(&[fixture("")]).unwrap();
    // criterion (3 ids, twice), pytest (2), hyperfine (2); the same id and source once.
    assert_eq!(all.len(), 3 + 2 + 2);
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{ not json").unwrap();
    let e = ingest(std::slice::from_ref(&bad)).unwrap_err().to_string();
    assert!(
        e.contains("bad.json") && e.contains("not valid JSON"),
        "{e}"
    );
    std::fs::write(&bad, "{\"name\": \"x\"}").unwrap();
    assert!(ingest(&[bad]).is_err());
}
