//! The HTML report, rendered by a real browser: headless Chromium loads the page (no
//! network: everything is inline), and its DOM must hold the tables and one SVG trend chart
//! per benchmark. CI installs Chromium (`.ci/run`); elsewhere the test is skipped when no
//! Chromium is found.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

fn chromium() -> Option<PathBuf> {
    [
        "chromium",
        "chromium-browser",
        "google-chrome",
        "headless_shell",
    ]
    .iter()
    .find_map(|n| {
        let out = Command::new("which").arg(n).output().ok()?;
        out.status
            .success()
            .then(|| PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
    })
}

#[test]
fn html_report_renders_in_headless_chromium() {
    let Some(browser) = chromium() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must have Chromium for the HTML test (.ci/run installs it)"
        );
        eprintln!("skipped: no Chromium on this machine");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("h.sqlite");
    common::record_fixture_runs(&db);
    let project = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/rules/target-missed");
    let page = dir.path().join("report.html");
    let o = common::perfgate_command()
        .args([
            "check",
            ".",
            "--quiet",
            "--bench",
            "--baseline",
            "baseline",
            "--format",
            "html",
            "--fail-on",
            "never",
            "--db",
        ])
        .arg(&db)
        .arg("--output")
        .arg(&page)
        .current_dir(&project)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let html = std::fs::read_to_string(&page).unwrap();
    // Self-contained: nothing fetched, no scripts.
    for external in ["src=\"http", "href=\"http", "<script", "@import", "url("] {
        assert!(!html.contains(external), "the page loads `{external}`");
    }

    let url = format!("file://{}", page.display());
    let common = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
    ];
    let dom = Command::new(&browser)
        .args(common)
        .arg("--dump-dom")
        .arg(&url)
        .output()
        .unwrap();
    assert!(
        dom.status.success(),
        "{}",
        String::from_utf8_lossy(&dom.stderr)
    );
    let dom = String::from_utf8_lossy(&dom.stdout);
    // Parsed by the browser: the tables and one chart per benchmark, with their points.
    assert!(dom.contains("id=\"benchmarks\""), "{dom}");
    assert!(dom.contains("id=\"targets\""));
    assert_eq!(dom.matches("<svg").count(), 3, "one chart per benchmark");
    assert!(
        dom.matches("<circle").count() >= 6,
        "two runs per benchmark"
    );
    assert!(dom.contains("class=\"regression\""));
    assert!(dom.contains("WARN"));

    let shot = dir.path().join("report.png");
    let s = Command::new(&browser)
        .args(common)
        .arg("--window-size=1200,900")
        .arg(format!("--screenshot={}", shot.display()))
        .arg(&url)
        .output()
        .unwrap();
    assert!(s.status.success(), "{}", String::from_utf8_lossy(&s.stderr));
    let png = std::fs::read(&shot).unwrap();
    assert_eq!(&png[1..4], b"PNG");
    assert!(
        png.len() > 20_000,
        "a rendered page, not a blank one: {} bytes",
        png.len()
    );
    if let Ok(keep) = std::env::var("PERFGATE_KEEP_SCREENSHOT") {
        std::fs::copy(&shot, keep).unwrap();
    }
}
