//! `bench-not-registered`: a bench file Cargo does not run as intended, or a registered
//! bench with no file.

use crate::{Checker, RuleMeta};
use perfgate_model::{Category, Finding, Language, Severity};

pub struct Rule;

pub static META: RuleMeta = RuleMeta {
    id: "bench-not-registered",
    category: Category::Benchmarks,
    severity: Severity::Medium,
    languages: &[Language::Rust],
    summary: "a bench file not registered (Cargo `[[bench]]` with `harness = false`) or a registered one with no file",
    doc: r#"## What it does
For every crate of the workspace, checks that each `benches/*.rs` written for criterion,
divan or iai-callgrind (it calls `criterion_main!`, `divan::main()` or
`library_benchmark_group!`/`main!`) has a `[[bench]]` entry with `harness = false` in that
crate's `Cargo.toml`, and that each `[[bench]]` entry names a file that exists. A file
that another benchmark declares as a module (`mod tokens;` in `benches/parse.rs`) is part
of that benchmark, not a target of its own.

## Why is this bad?
Without `harness = false`, Cargo builds the file with the built-in test harness, which
ignores `criterion_main!`: `cargo bench` reports nothing for it, or fails with "unknown
argument" errors, and the benchmark silently never runs. A `[[bench]]` pointing at a
missing file breaks `cargo bench` for the whole crate.

## Example
```toml
# Cargo.toml: benches/parse.rs uses criterion, but:
[[bench]]
name = "parse"
```

## Use instead
```toml
[[bench]]
name = "parse"
harness = false
```
"#,
};

impl crate::Rule for Rule {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Checker, out: &mut Vec<Finding>) {
        let p = cx.project;
        for f in p
            .bench_files
            .iter()
            .filter(|f| f.is_target && f.kind.is_rust())
        {
            let Some(mi) = f.manifest else { continue };
            let m = &p.manifests[mi];
            let entry = m.benches.iter().find(|b| b.file == f.path);
            match entry {
                None => cx.emit_at(
                    &META,
                    &f.place,
                    &f.path,
                    format!(
                        "`{}` is a {} benchmark but `{}` has no `[[bench]]` entry with `harness = false` for it",
                        f.path,
                        f.kind.as_str(),
                        m.path
                    ),
                    "`cargo bench` runs it under the default test harness, which ignores its main: the benchmark never runs".into(),
                    format!(
                        "add to {}: [[bench]] name = \"{}\" harness = false",
                        m.path,
                        stem(&f.path)
                    ),
                    out,
                ),
                Some(b) if !b.harness_false => cx.emit_at(
                    &META,
                    &b.place,
                    &b.name,
                    format!(
                        "`[[bench]] name = \"{}\"` in `{}` lacks `harness = false`, but `{}` is a {} benchmark",
                        b.name,
                        m.path,
                        f.path,
                        f.kind.as_str()
                    ),
                    "the default test harness ignores the benchmark's main: it never runs".into(),
                    "add `harness = false` to the entry".into(),
                    out,
                ),
                Some(_) => {}
            }
        }
        for m in &p.manifests {
            for b in m.benches.iter().filter(|b| !b.file_exists) {
                cx.emit_at(
                    &META,
                    &b.place,
                    &b.name,
                    format!(
                        "`[[bench]] name = \"{}\"` in `{}` names `{}`, which does not exist",
                        b.name, m.path, b.file
                    ),
                    "`cargo bench` fails for the whole crate".into(),
                    "create the file or remove the entry".into(),
                    out,
                );
            }
        }
    }
}

fn stem(path: &str) -> &str {
    let name = path.rsplit('/').next().unwrap_or(path);
    name.strip_suffix(".rs").unwrap_or(name)
}
