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
`bitbucket-pipelines.yml`, `.ci/*`), with the recipes they run from the root's `Makefile`
or `justfile` (`make bench`, `just ci` and the recipes it depends on), and reports:
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
        let runner = p.ci_files.iter().find_map(|c| {
            find_line(&c.text, RUNS)
                .or_else(|| find_task_line(&c.text, &p.task_files, RUNS))
                .map(|(line, text)| (c, line, text))
        });
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
                if p.ci_files.iter().any(|c| {
                    find_line(&c.text, COMPARES).is_some()
                        || find_task_line(&c.text, &p.task_files, COMPARES).is_some()
                }) {
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
/// The first line of a CI file that runs a task runner's recipe (`just test-benchmark`,
/// `make bench`) whose commands, or its dependencies' (`ci: lint test bench`), hold one of
/// the needles.
fn find_task_line(
    text: &str,
    tasks: &[crate::project::CiFile],
    needles: &[&str],
) -> Option<(u32, String)> {
    if tasks.is_empty() {
        return None;
    }
    text.lines().enumerate().find_map(|(i, l)| {
        let t = l.trim_start();
        if t.starts_with('#') {
            return None;
        }
        let words: Vec<&str> = l
            .split(|c: char| c.is_whitespace() || c == ';' || c == '&' || c == '|')
            .filter(|w| !w.is_empty())
            .collect();
        let runs = words.iter().enumerate().any(|(k, w)| {
            matches!(*w, "make" | "just")
                && words[k + 1..]
                    .iter()
                    .take_while(|a| !a.contains(['"', '\'', '$', '=']))
                    .filter(|a| !a.starts_with('-'))
                    .any(|recipe| {
                        tasks.iter().any(|f| {
                            let mut seen = Vec::new();
                            recipe_holds(&f.text, recipe, needles, &mut seen)
                        })
                    })
        });
        runs.then(|| (i as u32 + 1, l.trim_end().to_owned()))
    })
}

/// Does the recipe `name` of a Makefile or justfile (its indented commands), or a recipe it
/// depends on, hold one of the needles? Recipes are followed at most eight deep.
fn recipe_holds<'t>(text: &'t str, name: &str, needles: &[&str], seen: &mut Vec<&'t str>) -> bool {
    if seen.len() > 8 {
        return false;
    }
    let Some((target, deps, mut body)) = recipe(text, name) else {
        return false;
    };
    seen.push(target);
    let holds = |b: &str| !b.trim_start().starts_with('#') && needles.iter().any(|n| b.contains(n));
    body.any(holds)
        || deps
            .split_whitespace()
            .any(|d| !seen.contains(&d) && recipe_holds(text, d, needles, seen))
}

/// The recipe `name`: its name as written, what it depends on, and its indented commands.
/// A header is `name: deps` or `name arg="x": deps` (just), not `name := value`, `X = a:b`
/// or an indented command.
fn recipe<'t>(
    text: &'t str,
    name: &str,
) -> Option<(&'t str, &'t str, impl Iterator<Item = &'t str>)> {
    let mut lines = text.lines();
    let (target, deps) = lines.by_ref().find_map(|l| {
        let (head, deps) = l.split_once(':')?;
        if l.starts_with([' ', '\t', '#']) || deps.starts_with('=') {
            return None;
        }
        let mut words = head.split_whitespace();
        let target = words.next().filter(|t| *t == name && !t.contains('='))?;
        (words.next() != Some("=")).then_some((target, deps))
    })?;
    let body = lines.take_while(|b| b.is_empty() || b.starts_with([' ', '\t']));
    Some((target, deps, body))
}

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
        run_with_tasks(ci, &[])
    }

    fn run_with_tasks(ci: &[(&str, &str)], tasks: &[(&str, &str)]) -> Vec<String> {
        let files = |list: &[(&str, &str)]| -> Vec<CiFile> {
            list.iter()
                .map(|(p, t)| CiFile {
                    path: (*p).into(),
                    text: (*t).into(),
                })
                .collect()
        };
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
            ci_files: files(ci),
            task_files: files(tasks),
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

    /// CI jobs that run a task runner's recipe: the recipe's commands, and those of the
    /// recipes it depends on, are what the job runs.
    #[test]
    fn recipes_a_job_runs_are_read() {
        let ci = |cmd: &str| format!("jobs:\n  bench:\n    steps:\n      - run: {cmd}\n");
        let make = "BENCH := cargo bench\n.PHONY: bench\nbench:\n\tcargo bench -- --save-baseline pr\n\tcritcmp main pr\n\ntest:\n\tcargo test\n";
        let just = "# the CI entry point\nci: lint bench\n\nlint:\n    cargo clippy\n\nbench target=\"all\":\n    cargo bench\n";
        let wf = ".github/workflows/ci.yml";
        // Run and compared through `make bench`: nothing to report.
        assert!(run_with_tasks(&[(wf, &ci("make bench"))], &[("Makefile", make)]).is_empty());
        // Run through a dependency of `just ci`, never compared: reported where CI runs it.
        assert_eq!(
            run_with_tasks(&[(wf, &ci("just ci"))], &[("justfile", just)]),
            [format!("{wf}:4")]
        );
        // A job that runs another recipe, or a variable named like a command: never run.
        assert_eq!(
            run_with_tasks(&[(wf, &ci("make test"))], &[("Makefile", make)]),
            ["benches/parse.rs:9"]
        );
        assert_eq!(
            run_with_tasks(&[(wf, &ci("make BENCH"))], &[("Makefile", make)]),
            ["benches/parse.rs:9"]
        );
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
