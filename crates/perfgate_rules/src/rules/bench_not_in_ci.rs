//! `bench-not-in-ci`: benchmarks that no CI workflow runs or compares against a baseline.

use crate::{Checker, RuleMeta};
use perfgate_model::{Category, Finding, Language, Severity};

pub struct Rule;

pub static META: RuleMeta = RuleMeta {
    id: "bench-not-in-ci",
    category: Category::Benchmarks,
    severity: Severity::Medium,
    languages: &[Language::Rust, Language::Python],
    summary: "benchmarks that no CI workflow runs or compares against a baseline",
    doc: r#"## What it does
When the project has benchmarks, reads its CI definitions (`.github/workflows/*.yml`,
`.gitlab-ci.yml`, `.circleci/config.yml`, `azure-pipelines.yml`, `Jenkinsfile`,
`bitbucket-pipelines.yml`, `.ci/*`) and reports:
- no CI job runs them (`cargo bench`, `cargo criterion`, `pytest --benchmark-*`, `asv`,
  `hyperfine`, `perfgate bench`, CodSpeed);
- a job runs them but nothing compares the results with a baseline (`--save-baseline` /
  `--baseline`, `critcmp`, `--benchmark-compare`, `asv continuous`/`compare`,
  `perfgate bench compare`, `perfgate check --bench`, CodSpeed, Bencher,
  github-action-benchmark).

## Why is this bad?
Benchmarks nobody runs rot: they stop compiling, and regressions land unmeasured. Run but
never compared, they produce numbers nobody looks at: a 20% slowdown passes CI green.

## Example
```yaml
# .github/workflows/ci.yml
- run: cargo test
```

## Use instead
```yaml
- run: cargo bench -- --save-baseline pr
- run: perfgate bench record target/criterion --name pr && perfgate bench compare --baseline main
```
"#,
};

const RUNS: &[&str] = &[
    "cargo bench",
    "cargo criterion",
    "--benchmark-",
    "pytest-benchmark",
    "asv run",
    "asv continuous",
    "hyperfine",
    "perfgate bench",
    "perfgate check --bench",
    "codspeed",
    "cargo codspeed",
];
const COMPARES: &[&str] = &[
    "--save-baseline",
    "--baseline",
    "critcmp",
    "--benchmark-compare",
    "asv continuous",
    "asv compare",
    "perfgate bench compare",
    "--bench",
    "codspeed",
    "bencher",
    "github-action-benchmark",
    "benchmark-action",
];

impl crate::Rule for Rule {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Checker, out: &mut Vec<Finding>) {
        let p = cx.project;
        let Some(first) = p.bench_files.first() else {
            return;
        };
        let runner = p
            .ci_files
            .iter()
            .find_map(|c| find_line(&c.text, RUNS).map(|(line, text)| (c, line, text)));
        match runner {
            None => {
                let kinds: Vec<&str> = {
                    let mut k: Vec<&str> = p.bench_files.iter().map(|f| f.kind.as_str()).collect();
                    k.sort_unstable();
                    k.dedup();
                    k
                };
                let ci = if p.ci_files.is_empty() {
                    "there is no CI configuration".to_owned()
                } else {
                    format!(
                        "none of {} runs them",
                        p.ci_files
                            .iter()
                            .map(|c| format!("`{}`", c.path))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                };
                cx.emit_at(
                    &META,
                    &first.place,
                    "not-run",
                    format!(
                        "{} benchmark files ({}) are never run in CI: {ci}",
                        p.bench_files.len(),
                        kinds.join(", ")
                    ),
                    "benchmarks rot unrun, and regressions land without a number moving".into(),
                    "run them in CI and compare with a baseline (`perfgate bench record` then `perfgate bench compare --baseline main`)".into(),
                    out,
                );
            }
            Some((c, line, text)) => {
                if p.ci_files
                    .iter()
                    .any(|c| find_line(&c.text, COMPARES).is_some())
                {
                    return;
                }
                let place = crate::project::Place {
                    path: c.path.clone(),
                    line,
                    text,
                };
                cx.emit_at(
                    &META,
                    &place,
                    "not-compared",
                    format!(
                        "`{}` runs the benchmarks but nothing compares their results with a baseline",
                        c.path
                    ),
                    "the numbers are produced and thrown away: a regression passes CI green".into(),
                    "compare against a baseline (`perfgate bench record` + `perfgate bench compare --baseline main`, or `--save-baseline`/`critcmp`)".into(),
                    out,
                );
            }
        }
    }
}

/// The first line mentioning any needle: (1-based line, its text).
fn find_line(text: &str, needles: &[&str]) -> Option<(u32, String)> {
    text.lines().enumerate().find_map(|(i, l)| {
        let t = l.trim_start();
        (!t.starts_with('#') && needles.iter().any(|n| l.contains(n)))
            .then(|| (i as u32 + 1, l.trim_end().to_owned()))
    })
}

#[cfg(test)]
mod tests {
    use crate::project::{BenchFile, BenchKind, CiFile, Place, ProjectFacts};
    use crate::{Checker, Rule as _};

    fn run(ci: &[(&str, &str)]) -> Vec<String> {
        let facts = ProjectFacts {
            bench_files: vec![BenchFile {
                path: "benches/parse.rs".into(),
                kind: BenchKind::Criterion,
                ids: vec!["parse".into()],
                id_lines: Vec::new(),
                manifest: None,
                is_target: true,
                place: Place {
                    path: "benches/parse.rs".into(),
                    line: 9,
                    text: "criterion_main!(benches);".into(),
                },
            }],
            ci_files: ci
                .iter()
                .map(|(p, t)| CiFile {
                    path: (*p).into(),
                    text: (*t).into(),
                })
                .collect(),
            ..Default::default()
        };
        let catalog = perfgate_catalog::Catalog::bundled();
        let analysis = perfgate_analysis::Analysis::new(&[], &catalog);
        let mut out = Vec::new();
        super::Rule.check(&Checker::with_project(&analysis, &facts), &mut out);
        out.into_iter()
            .map(|f| format!("{}:{}", f.path, f.line))
            .collect()
    }

    #[test]
    fn unrun_and_uncompared_benchmarks_are_reported() {
        assert_eq!(run(&[]), ["benches/parse.rs:9"]);
        assert_eq!(
            run(&[(".github/workflows/ci.yml", "steps:\n  - run: cargo test\n")]),
            ["benches/parse.rs:9"]
        );
        assert_eq!(
            run(&[(
                ".github/workflows/bench.yml",
                "steps:\n  - run: cargo bench\n"
            )]),
            [".github/workflows/bench.yml:2"]
        );
    }

    #[test]
    fn benchmarks_run_and_compared_in_ci_are_silent() {
        let ci = "steps:\n  - run: cargo bench -- --save-baseline pr\n  - run: critcmp main pr\n";
        assert!(run(&[(".github/workflows/bench.yml", ci)]).is_empty());
        let perfgate = "steps:\n  - run: cargo bench\n  - run: perfgate bench record && perfgate bench compare --baseline main\n";
        assert!(run(&[(".gitlab-ci.yml", perfgate)]).is_empty());
        // A commented-out bench step does not count as running them.
        let commented = "steps:\n  # - run: cargo bench\n  - run: cargo test\n";
        assert_eq!(
            run(&[(".gitlab-ci.yml", commented)]),
            ["benches/parse.rs:9"]
        );
    }
}
