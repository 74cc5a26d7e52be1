//! The command line end to end: every report format snapshotted on fixture projects, exit
//! codes, determinism, configuration errors, suppressions and atomic output.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn perfgate(args: &[&str], cwd: &Path) -> Output {
    common::perfgate_command()
        .args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .output()
        .expect("perfgate runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn snapshot_formats(name: &str, dir: &Path) {
    for format in ["text", "json", "markdown", "sarif"] {
        let o = perfgate(&["check", ".", "--quiet", "--format", format], dir);
        assert!(matches!(o.status.code(), Some(0 | 1)), "{format}: {o:?}");
        insta::assert_snapshot!(format!("{name}_{format}"), stdout(&o));
    }
}

#[test]
fn example_project_in_every_format() {
    snapshot_formats("examples", &root().join("examples"));
}

#[test]
fn call_graph_fixtures_rust_and_python() {
    let base = root().join("crates/perfgate/tests/fixtures/callgraph");
    for lang in ["rust", "python"] {
        for format in ["text", "json"] {
            let o = perfgate(
                &["check", ".", "--quiet", "--format", format],
                &base.join(lang),
            );
            insta::assert_snapshot!(format!("callgraph_{lang}_{format}"), stdout(&o));
        }
    }
}

#[test]
fn json_is_byte_identical_across_runs_and_sorted() {
    let dir = root().join("examples");
    let a = perfgate(
        &["check", ".", "--quiet", "--format", "json", "--jobs", "1"],
        &dir,
    );
    let b = perfgate(
        &["check", ".", "--quiet", "--format", "json", "--jobs", "4"],
        &dir,
    );
    assert_eq!(a.stdout, b.stdout);
    let v: serde_json::Value = serde_json::from_slice(&a.stdout).unwrap();
    let keys: Vec<(String, u64, u64, String)> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_owned(),
                f["line"].as_u64().unwrap(),
                f["column"].as_u64().unwrap(),
                f["rule"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);
    let fps: std::collections::BTreeSet<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["fingerprint"].as_str().unwrap())
        .collect();
    assert_eq!(fps.len(), keys.len(), "fingerprints are unique");
}

#[test]
fn fingerprints_survive_edits_above_the_finding() {
    let dir = tempfile::tempdir().unwrap();
    let src = "import time\n\nasync def f():\n    time.sleep(1)\n";
    std::fs::write(dir.path().join("a.py"), src).unwrap();
    let fp = |d: &Path| {
        let o = perfgate(&["check", ".", "--quiet", "--format", "json"], d);
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        (
            v["findings"][0]["fingerprint"].as_str().unwrap().to_owned(),
            v["findings"][0]["line"].as_u64().unwrap(),
        )
    };
    let (before, line_before) = fp(dir.path());
    std::fs::write(
        dir.path().join("a.py"),
        format!("# a new comment\nimport os\n\n{src}"),
    )
    .unwrap();
    let (after, line_after) = fp(dir.path());
    assert_eq!(before, after);
    assert_eq!(line_after, line_before + 3);
}

#[test]
fn exit_codes_follow_the_gate() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("a.py"),
        "import asyncio\n\nasync def f(job):\n    while not job.done():\n        await asyncio.sleep(0.1)\n",
    )
    .unwrap();
    // One medium finding: score 97, PASS.
    let o = perfgate(&["check", ".", "--quiet"], dir.path());
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(stdout(&o).contains("perfgate: PASS score 97/100"));
    // A high finding gives WARN: exit 0 by default, 1 with --fail-on warn.
    std::fs::write(
        dir.path().join("b.py"),
        "import time\n\nasync def g():\n    time.sleep(1)\n",
    )
    .unwrap();
    assert_eq!(
        perfgate(&["check", ".", "--quiet"], dir.path())
            .status
            .code(),
        Some(0)
    );
    assert_eq!(
        perfgate(&["check", ".", "--quiet", "--fail-on", "warn"], dir.path())
            .status
            .code(),
        Some(1)
    );
    // Enough findings to fall below 60 fail; --fail-on never does not.
    let many: String = (0..6)
        .map(|i| format!("async def h{i}():\n    time.sleep(1)\n"))
        .collect();
    std::fs::write(dir.path().join("c.py"), format!("import time\n{many}")).unwrap();
    assert_eq!(
        perfgate(&["check", ".", "--quiet"], dir.path())
            .status
            .code(),
        Some(1)
    );
    assert_eq!(
        perfgate(&["check", ".", "--quiet", "--fail-on", "never"], dir.path())
            .status
            .code(),
        Some(0)
    );
    // Selecting a category or ignoring a rule changes what counts.
    let o = perfgate(
        &[
            "check",
            ".",
            "--quiet",
            "--ignore",
            "blocking-sleep-in-async",
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(0));
}

#[test]
fn broken_config_is_an_exit_2_error_naming_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.py"), "x = 1\n").unwrap();
    std::fs::write(
        dir.path().join("perfgate.toml"),
        "select = [\"concurrency\"]\nignore = [\"no-such-rule\"]\n",
    )
    .unwrap();
    let o = perfgate(&["check", "."], dir.path());
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("perfgate.toml:2:") && err.contains("no-such-rule"),
        "{err}"
    );

    std::fs::write(dir.path().join("perfgate.toml"), "[gate\nfail-below = 3\n").unwrap();
    let o = perfgate(&["check", "."], dir.path());
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("perfgate.toml:1:"), "{err}");

    let o = perfgate(&["check", "missing-dir"], dir.path());
    assert_eq!(o.status.code(), Some(2));
    let o = perfgate(&["check", ".", "--select", "nope"], dir.path());
    assert_eq!(o.status.code(), Some(2));
}

/// A configuration above a ceiling (`PERFGATE_CONFIG_CEILING`) is not the project's: a
/// broken one there stops the check only when the ceiling is lifted.
#[test]
fn config_ceiling_hides_what_is_above_it() {
    let dir = tempfile::tempdir().unwrap();
    let outer = dir.path().join("outer");
    let project = outer.join("project");
    std::fs::create_dir_all(&project).unwrap();
    std::fs::write(project.join("a.py"), "x = 1\n").unwrap();
    std::fs::write(outer.join("perfgate.toml"), "select = [\n").unwrap();
    let run = |ceiling: &std::path::Path| {
        common::perfgate_command()
            .args(["check", ".", "--quiet"])
            .current_dir(&project)
            .env("PERFGATE_CONFIG_CEILING", ceiling)
            .output()
            .unwrap()
    };
    assert_eq!(run(&outer).status.code(), Some(0));
    // A list, as `PATH` is: one entry of it is enough.
    let list = std::env::join_paths([std::path::PathBuf::from("relative"), outer.clone()]).unwrap();
    assert_eq!(run(std::path::Path::new(&list)).status.code(), Some(0));
    let o = run(dir.path());
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    assert!(String::from_utf8_lossy(&o.stderr).contains("perfgate.toml"));
}

#[test]
fn config_in_pyproject_changes_severity_and_gate() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("a.py"),
        "import time\n\nasync def g():\n    time.sleep(1)\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("pyproject.toml"),
        "[tool.perfgate.severity]\nblocking-sleep-in-async = \"low\"\n[tool.perfgate.gate]\nfail-on = \"warn\"\n",
    )
    .unwrap();
    let o = perfgate(&["check", ".", "--quiet", "--format", "json"], dir.path());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["findings"][0]["severity"], "low");
    assert_eq!(v["score"], 99);
    assert_eq!(v["decision"], "PASS");
    assert_eq!(o.status.code(), Some(0));
}

#[test]
fn catalogue_extensions_from_config() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("a.py"),
        "from mylib import fetch_all\n\nasync def g():\n    return fetch_all()\n",
    )
    .unwrap();
    assert_eq!(
        perfgate(&["check", ".", "--quiet", "--format", "json"], dir.path()).stdout,
        perfgate(&["check", ".", "--quiet", "--format", "json"], dir.path()).stdout
    );
    let none = perfgate(&["check", ".", "--quiet", "--format", "json"], dir.path());
    let v: serde_json::Value = serde_json::from_slice(&none.stdout).unwrap();
    assert_eq!(v["findings"].as_array().unwrap().len(), 0);
    std::fs::write(
        dir.path().join("perfgate.toml"),
        "[catalog.python]\nblocking-io = [\"mylib.fetch_all\"]\n",
    )
    .unwrap();
    let o = perfgate(&["check", ".", "--quiet", "--format", "json"], dir.path());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["findings"][0]["rule"], "blocking-io-in-async");
}

#[test]
fn inline_suppressions_and_unknown_ids() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("a.py"),
        "import time\n\nasync def g():\n    time.sleep(1)  # perfgate: ignore[blocking-sleep-in-async]\n\nasync def h():\n    # perfgate: ignore[blocking-sleep-in-async]\n    time.sleep(1)\n\nasync def k():\n    time.sleep(1)  # perfgate: ignore[blocking-sleep-in-asycn]\n",
    )
    .unwrap();
    let o = perfgate(&["check", ".", "--quiet", "--format", "json"], dir.path());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let rules: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    assert_eq!(
        rules,
        vec!["blocking-sleep-in-async", "invalid-suppression"]
    );
    assert_eq!(v["findings"][0]["line"], 11);
}

/// A project of one async function that sleeps: one finding.
fn sleepy_project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("a.py"),
        "import time\n\nasync def g():\n    time.sleep(1)\n",
    )
    .unwrap();
    dir
}

/// `perfgate check . --quiet --format FORMAT --output OUT`, run in `dir`.
fn check_into(dir: &Path, format: &str, out: &Path) -> Output {
    let out = out.to_str().unwrap();
    let args = ["check", ".", "--quiet", "--format", format, "--output", out];
    perfgate(&args, dir)
}

#[test]
fn output_file_is_written_whole() {
    let dir = sleepy_project();
    let out = dir.path().join("report.sarif");
    let o = check_into(dir.path(), "sarif", &out);
    assert_eq!(o.status.code(), Some(0));
    assert!(o.stdout.is_empty());
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(v["version"], "2.1.0");
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty());
}

/// `--output` through a symlink replaces the file it points to and keeps the link; a named
/// pipe (like `/dev/null` or `/dev/stdout`, not a regular file) is written to, not replaced.
#[cfg(unix)]
#[test]
fn output_follows_symlinks_and_writes_into_pipes() {
    let dir = sleepy_project();
    let real = dir.path().join("real.json");
    std::fs::write(&real, "old").unwrap();
    let link = dir.path().join("link.json");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let run = |out: &Path| check_into(dir.path(), "json", out);
    assert_eq!(run(&link).status.code(), Some(0));
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&real).unwrap()).unwrap();
    assert_eq!(v["findings"][0]["rule"], "blocking-sleep-in-async");
    // A link to a file not made yet: the file is made where the link points.
    let dangling = dir.path().join("later.json");
    std::os::unix::fs::symlink("made-later.json", &dangling).unwrap();
    assert_eq!(run(&dangling).status.code(), Some(0));
    assert!(std::fs::symlink_metadata(&dangling)
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(std::fs::read(dir.path().join("made-later.json"))
        .unwrap()
        .starts_with(b"{"));

    let fifo = dir.path().join("pipe");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    if !made.is_ok_and(|s| s.success()) {
        eprintln!("no mkfifo here: pipe case skipped");
        return;
    }
    // The reader blocks until a writer opens the pipe: it reports through a channel, so
    // that a run that replaces the pipe instead fails the test rather than hanging it.
    let (tx, rx) = std::sync::mpsc::channel();
    {
        let fifo = fifo.clone();
        std::thread::spawn(move || tx.send(std::fs::read(fifo).unwrap()));
    }
    assert_eq!(run(&fifo).status.code(), Some(0));
    let got = rx
        .recv_timeout(std::time::Duration::from_secs(30))
        .expect("the report went into the pipe");
    let v: serde_json::Value = serde_json::from_slice(&got).unwrap();
    assert_eq!(v["findings"][0]["rule"], "blocking-sleep-in-async");
    use std::os::unix::fs::FileTypeExt;
    assert!(std::fs::symlink_metadata(&fifo)
        .unwrap()
        .file_type()
        .is_fifo());
}

#[test]
fn rules_listing_and_docs() {
    let o = perfgate(&["rules"], &root());
    assert_eq!(o.status.code(), Some(0));
    insta::assert_snapshot!("rules_list", stdout(&o));
    for rule in perfgate_rules::all() {
        let o = perfgate(&["rules", rule.meta().id], &root());
        assert_eq!(o.status.code(), Some(0));
        let s = stdout(&o);
        assert!(s.starts_with(&format!("# {}", rule.meta().id)));
        assert!(s.contains("## Use instead"));
    }
    assert_eq!(perfgate(&["rules", "nope"], &root()).status.code(), Some(2));
}

#[test]
fn one_root_cause_reached_twice_is_described_once() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("svc.py"),
        "import time\n\ndef settle():\n    time.sleep(0.5)\n\nasync def a():\n    settle()\n\nasync def b():\n    settle()\n",
    )
    .unwrap();
    let o = perfgate(&["check", ".", "--quiet", "--format", "json"], dir.path());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let f = v["findings"].as_array().unwrap();
    assert_eq!(f.len(), 2);
    assert_ne!(f[0]["fingerprint"], f[1]["fingerprint"]);
    assert_eq!(
        f[0]["root_cause"]["fingerprint"],
        f[1]["root_cause"]["fingerprint"]
    );
    assert_eq!(f[0]["root_cause"]["line"], 4);
    let md = stdout(&perfgate(
        &["check", ".", "--quiet", "--format", "markdown"],
        dir.path(),
    ));
    assert_eq!(md.matches("**Call chain:**").count(), 1, "{md}");
    assert!(
        md.contains("**Same root cause as finding 1:** `svc.py:4`"),
        "{md}"
    );
}

#[test]
fn calls_resolve_across_crates_by_package_name() {
    let dir = tempfile::tempdir().unwrap();
    let lib = dir.path().join("router/src");
    let app = dir.path().join("app/src");
    std::fs::create_dir_all(&lib).unwrap();
    std::fs::create_dir_all(&app).unwrap();
    std::fs::write(
        dir.path().join("router/Cargo.toml"),
        "[package]\nname = \"text-router\"\nversion = \"0.1.0\"\n",
    )
    .unwrap();
    std::fs::write(lib.join("lib.rs"), "pub mod config;\n").unwrap();
    std::fs::write(
        lib.join("config.rs"),
        "pub fn load() -> Vec<u8> {\n    std::fs::read(\"router.toml\").unwrap()\n}\n",
    )
    .unwrap();
    std::fs::write(
        app.join("handlers.rs"),
        "pub async fn reload() -> usize {\n    text_router::config::load().len()\n}\n",
    )
    .unwrap();
    let o = perfgate(&["check", ".", "--quiet", "--format", "json"], dir.path());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let f = &v["findings"][0];
    assert_eq!(f["rule"], "blocking-io-in-async", "{v}");
    assert_eq!(f["path"], "app/src/handlers.rs");
    assert_eq!(f["trace"][1]["path"], "router/src/config.rs");
}

/// Each rule's fixture project, in text, as a user sees it: message, impact, fix, caret.
#[test]
fn rule_fixture_reports() {
    let base = root().join("crates/perfgate/tests/fixtures/rules");
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("h.sqlite");
    let db = db.to_str().unwrap();
    common::record_fixture_runs(Path::new(db));
    for rule in perfgate_rules::all() {
        let id = rule.meta().id;
        let mut args = vec![
            "check",
            ".",
            "--quiet",
            "--select",
            id,
            "--fail-on",
            "never",
        ];
        if matches!(id, "bench-regression" | "target-missed") {
            args.extend(["--bench", "--db", db, "--baseline", "baseline"]);
        }
        let o = perfgate(&args, &base.join(id));
        insta::assert_snapshot!(format!("rule_{id}"), stdout(&o));
    }
}

/// `check --bench`: the JSON report gains `benchmarks`, `targets` and `baseline` (SPEC §3:
/// keys are added, never changed), the markdown report its three measured sections.
#[test]
fn bench_keys_in_json_and_sections_in_markdown() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("h.sqlite");
    let db = db.to_str().unwrap();
    let project = root().join("crates/perfgate/tests/fixtures/rules/target-missed");
    common::record_fixture_runs(Path::new(db));
    let args = |format: &'static str| {
        vec![
            "check",
            ".",
            "--quiet",
            "--bench",
            "--db",
            db,
            "--baseline",
            "baseline",
            "--format",
            format,
            "--fail-on",
            "never",
        ]
    };
    let o = perfgate(&args("json"), &project);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["schema_version"], 1);
    assert_eq!(v["benchmarks"].as_array().unwrap().len(), 3);
    assert_eq!(v["baseline"]["name"], "baseline");
    assert_eq!(v["benchmark_run"]["name"], "current");
    let targets = v["targets"].as_array().unwrap();
    assert!(targets
        .iter()
        .any(|t| t["status"] == "missed" && t["name"] == "rust check"));
    assert!(v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["rule"] == "target-missed"));
    let sarif: serde_json::Value =
        serde_json::from_slice(&perfgate(&args("sarif"), &project).stdout).unwrap();
    assert_eq!(
        sarif["runs"][0]["properties"]["benchmarks"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    let text = stdout(&perfgate(&args("text"), &project));
    assert!(text.contains("rust/check") && text.contains("regression"));
    let md = stdout(&perfgate(&args("markdown"), &project));
    for section in [
        "## Response Time Analysis",
        "## Baseline Comparison",
        "## Benchmark Coverage",
    ] {
        assert!(md.contains(section), "{section} missing:\n{md}");
    }
    assert!(md.contains("| `rust/check` |") && md.contains("regression"));
}

/// A target whose limit cannot be read is a configuration error: exit 2, file and line.
#[test]
fn bad_target_limit_is_a_config_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("perfgate.toml"),
        "[[target]]\nname = \"api\"\nlimit = \"p99 <= 3 parsecs\"\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("a.py"), "x = 1\n").unwrap();
    let o = perfgate(&["check", ".", "--quiet"], dir.path());
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("perfgate.toml:3") && err.contains("unknown unit"),
        "{err}"
    );
}
