//! Every rule against its fixture project: each line marked `expect[rule-id]` must be
//! reported by that rule, and nothing else may be (the correct idioms in the same files
//! stay silent).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/rules")
}

fn expected(dir: &Path, rule: &str) -> BTreeSet<(String, u32)> {
    let marker = format!("expect[{rule}]");
    let mut out = BTreeSet::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let p = entry.unwrap().path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            let name = p
                .strip_prefix(dir)
                .unwrap()
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/");
            let text = std::fs::read_to_string(&p).unwrap();
            for (i, line) in text.lines().enumerate() {
                if line.contains(&marker) {
                    out.insert((name.clone(), i as u32 + 1));
                }
            }
        }
    }
    out
}

/// Rules about measured results run with `--bench` over a history holding two real
/// criterion runs (perfgate_bench's fixtures): a baseline, and a build 14% slower on
/// `rust/check`.
pub fn bench_history(dir: &Path) -> PathBuf {
    let fx = Path::new(env!("CARGO_MANIFEST_DIR")).join("../perfgate_bench/tests/fixtures");
    let db = dir.join("history.sqlite");
    let mut h = perfgate_bench::history::History::open(&db).unwrap();
    for (name, sub) in [
        ("baseline", "criterion-baseline"),
        ("current", "criterion-current"),
    ] {
        let results = perfgate_bench::ingest::ingest(&[fx.join(sub)]).unwrap();
        let info = perfgate_bench::history::RunInfo {
            name: Some(name.into()),
            recorded_at: 1_764_000_000,
            machine: "fixture".into(),
            ..Default::default()
        };
        h.record(&info, &results).unwrap();
    }
    db
}

fn reported(dir: &Path, rule: &str) -> BTreeSet<(String, u32)> {
    let tmp = tempfile::tempdir().unwrap();
    let bench = matches!(rule, "bench-regression" | "target-missed").then(|| {
        perfgate_check::bench::BenchOptions {
            db: Some(bench_history(tmp.path())),
            baseline: Some("baseline".into()),
        }
    });
    let opts = perfgate_check::Options {
        paths: vec![dir.to_path_buf()],
        select: Some(vec![rule.to_owned()]),
        bench,
        ..Default::default()
    };
    let outcome = perfgate_check::run(&opts).unwrap();
    outcome
        .report
        .findings
        .iter()
        .map(|f| {
            assert_eq!(f.rule, rule);
            (f.path.clone(), f.line)
        })
        .collect()
}

#[test]
fn every_rule_finds_its_defects_and_stays_silent_on_correct_idioms() {
    let mut checked = 0;
    for rule in perfgate_rules::all() {
        let meta = rule.meta();
        let dir = fixtures().join(meta.id);
        assert!(dir.is_dir(), "rule {} has no fixture directory", meta.id);
        let want = expected(&dir, meta.id);
        // Rules about code need a positive case per language; rules about manifests,
        // workflows, configuration and measurements live in those files instead.
        let about_code = !matches!(
            meta.category,
            perfgate_model::Category::Benchmarks | perfgate_model::Category::Config
        );
        for lang in meta.languages.iter().filter(|_| about_code) {
            let ext = match lang {
                perfgate_model::Language::Rust => ".rs",
                perfgate_model::Language::Python => ".py",
            };
            assert!(
                want.iter().any(|(p, _)| p.ends_with(ext)),
                "rule {} has no positive {ext} fixture",
                meta.id
            );
        }
        let got = reported(&dir, meta.id);
        let missed: Vec<_> = want.difference(&got).collect();
        let extra: Vec<_> = got.difference(&want).collect();
        assert!(
            missed.is_empty() && extra.is_empty(),
            "{}: missed {missed:?}, unexpected {extra:?}",
            meta.id
        );
        checked += 1;
    }
    assert_eq!(checked, perfgate_rules::all().len());
}

/// cancellation-without-cleanup reports only handlers of functions that drive GPU work: in
/// a project with no GPU call at all it looks no further, and the same handler is silent.
#[test]
fn a_cancellation_handler_without_gpu_work_is_silent() {
    let service = |gpu: bool| {
        format!(
            "import asyncio\n{}\n\nasync def render(recipe):\n    return {}\n\n\nasync def run_slot(recipe):\n    try:\n        return await asyncio.wait_for(render(recipe), timeout=12)\n    except asyncio.CancelledError:\n        raise\n",
            if gpu { "import torch" } else { "import json" },
            if gpu { "torch.randn(1, 4, device=\"cuda\")" } else { "json.dumps(recipe)" },
        )
    };
    let catalog = perfgate_catalog::Catalog::bundled();
    let reported = |gpu: bool| {
        let perfgate_check::Parsed::Ok { file, .. } =
            perfgate_check::parse_source("svc/slots.py", service(gpu))
        else {
            panic!("the service parses");
        };
        perfgate_check::analyse_sources(vec![*file], &catalog)
            .iter()
            .filter(|f| f.rule == "cancellation-without-cleanup")
            .count()
    };
    assert_eq!(reported(true), 1, "the GPU variant must be reported");
    assert_eq!(reported(false), 0);
}

/// await-without-timeout: a timeout middleware on the server gives every request a deadline,
/// and what the handlers await with it; the same handler without one is reported.
#[test]
fn a_server_timeout_middleware_bounds_the_handlers() {
    let handler = "use sqlx::PgPool;\n\npub async fn get_user(db: &PgPool, id: i64) -> sqlx::Result<String> {\n    let row: (String,) = sqlx::query_as(\"select name from users where id = $1\")\n        .bind(id)\n        .fetch_one(db)\n        .await?;\n    Ok(row.0)\n}\n";
    let server = |layer: &str| {
        format!(
            "use std::time::Duration;\nuse tower::ServiceBuilder;\nuse tower_http::timeout::TimeoutLayer;\n\npub fn app(router: axum::Router) -> axum::Router {{\n    router.layer(ServiceBuilder::new(){layer})\n}}\n"
        )
    };
    let catalog = perfgate_catalog::Catalog::bundled();
    let reported = |layer: &str| {
        let sources = [
            ("src/users.rs", handler.to_owned()),
            ("src/server.rs", server(layer)),
        ]
        .into_iter()
        .map(|(p, t)| match perfgate_check::parse_source(p, t) {
            perfgate_check::Parsed::Ok { file, .. } => *file,
            _ => panic!("{p} parses"),
        })
        .collect();
        perfgate_check::analyse_sources(sources, &catalog)
            .iter()
            .filter(|f| f.rule == "await-without-timeout")
            .count()
    };
    assert_eq!(reported(""), 1, "no middleware: the query is unbounded");
    assert_eq!(
        reported(".layer(TimeoutLayer::new(Duration::from_secs(10)))"),
        0
    );
    assert_eq!(reported(".timeout(Duration::from_secs(10))"), 0);
}
