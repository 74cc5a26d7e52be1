//! Gathering the project's non-code facts for the benchmark and configuration rules:
//! manifests and their `[[bench]]` entries, benchmark files, CI definitions, and the
//! targets, budgets and plan from the configuration with the values they constrain.

use perfgate_config::{Loaded, Required};
use perfgate_model::{FunctionRole, Language, SourceFile};
use perfgate_rules::project::{
    BenchEntry, BenchFile, BenchKind, BudgetFacts, CiFile, ConfiguredValue, Manifest, Place,
    PlannedComponent, ProjectFacts, TargetFacts,
};
use std::path::{Path, PathBuf};

/// Files at most this large are read as manifests, workflows or config files.
const MAX_TEXT: u64 = 4 << 20;

fn rel(root: &Path, p: &Path) -> String {
    p.strip_prefix(root)
        .unwrap_or(p)
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

fn read_small(p: &Path) -> Option<String> {
    let meta = std::fs::metadata(p).ok()?;
    if meta.len() > MAX_TEXT {
        return None;
    }
    std::fs::read_to_string(p).ok()
}

fn is_ci(rel: &str) -> bool {
    (rel.starts_with(".github/workflows/") && (rel.ends_with(".yml") || rel.ends_with(".yaml")))
        || matches!(
            rel,
            ".gitlab-ci.yml"
                | ".circleci/config.yml"
                | "azure-pipelines.yml"
                | "Jenkinsfile"
                | "bitbucket-pipelines.yml"
                | ".travis.yml"
        )
        || rel.starts_with(".ci/")
        || rel.starts_with(".buildkite/")
}

/// A task runner's file at the root, whose recipes CI jobs run (`make bench`, `just bench`).
fn is_task_file(rel: &str) -> bool {
    matches!(
        rel,
        "Makefile" | "makefile" | "GNUmakefile" | "justfile" | "Justfile" | ".justfile"
    )
}

/// The line (1-based) and text of the first line of `text` containing `needle`, searching
/// from byte `from`.
fn locate(text: &str, needle: &str, from: usize) -> Option<(usize, u32, String)> {
    let at = from + text.get(from..)?.find(needle)?;
    let line = text[..at].matches('\n').count() as u32 + 1;
    let line_text = text
        .lines()
        .nth(line as usize - 1)
        .unwrap_or("")
        .trim_end()
        .to_owned();
    Some((at, line, line_text))
}

fn place(path: &str, text: &str, needle: &str) -> Place {
    match locate(text, needle, 0) {
        Some((_, line, text)) => Place {
            path: path.to_owned(),
            line,
            text,
        },
        None => Place {
            path: path.to_owned(),
            line: 1,
            text: text.lines().next().unwrap_or("").to_owned(),
        },
    }
}

/// What [`gather`] learns from the file tree alone (manifests, CI files, Rust benchmark
/// files): a second walk of the tree, so the check runs it beside parsing.
pub struct Walked {
    root: Option<PathBuf>,
    facts: ProjectFacts,
}

/// Walk the checked roots for manifests, bench files and CI files (hidden folders
/// included: `.github`), gitignore-aware, not following symlinks.
pub fn walk(roots: &[PathBuf]) -> Walked {
    let mut facts = ProjectFacts::default();
    let Some(root) = roots.iter().find(|r| r.is_dir()) else {
        return Walked { root: None, facts };
    };
    let mut manifests: Vec<(String, String)> = Vec::new();
    let mut bench_rs: Vec<(String, String)> = Vec::new();
    let walker = ignore::WalkBuilder::new(root)
        .hidden(false)
        .follow_links(false)
        .require_git(false)
        .filter_entry(|e| {
            let n = e.file_name().to_string_lossy();
            !matches!(
                n.as_ref(),
                ".git" | "target" | "node_modules" | "__pycache__" | ".venv" | "venv" | ".perfgate"
            )
        })
        .build();
    for entry in walker.flatten() {
        if !entry.file_type().is_some_and(|t| t.is_file()) {
            continue;
        }
        let p = entry.path();
        let r = rel(root, p);
        if r.contains("tests/fixtures/") {
            continue;
        }
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name == "Cargo.toml" {
            if let Some(t) = read_small(p) {
                manifests.push((r, t));
            }
        } else if is_ci(&r) {
            if let Some(t) = read_small(p) {
                facts.ci_files.push(CiFile { path: r, text: t });
            }
        } else if is_task_file(&r) {
            if let Some(t) = read_small(p) {
                facts.task_files.push(CiFile { path: r, text: t });
            }
        } else if r.ends_with(".rs") && r.split('/').any(|c| c == "benches") {
            if let Some(t) = read_small(p) {
                bench_rs.push((r, t));
            }
        }
    }
    for (path, text) in &manifests {
        let dir = path.strip_suffix("Cargo.toml").unwrap_or("").to_owned();
        let mut m = Manifest {
            path: path.clone(),
            dir: dir.clone(),
            benches: Vec::new(),
        };
        if let Ok(t) = text.parse::<toml::Table>() {
            for b in t
                .get("bench")
                .and_then(|b| b.as_array())
                .into_iter()
                .flatten()
            {
                let Some(name) = b.get("name").and_then(|n| n.as_str()) else {
                    continue;
                };
                let file_rel = b
                    .get("path")
                    .and_then(|p| p.as_str())
                    .map(str::to_owned)
                    .unwrap_or_else(|| format!("benches/{name}.rs"));
                let file = format!("{dir}{file_rel}");
                m.benches.push(BenchEntry {
                    name: name.to_owned(),
                    file_exists: root.join(&file).is_file(),
                    file,
                    harness_false: b.get("harness").and_then(|h| h.as_bool()) == Some(false),
                    place: place(path, text, &format!("\"{name}\"")),
                });
            }
        }
        facts.manifests.push(m);
    }
    // `benches/default.rs` declaring `mod batch;`: `benches/batch.rs` is part of that
    // benchmark, not one of its own (vector, its codecs crate).
    let declared: std::collections::HashSet<String> = bench_rs
        .iter()
        .flat_map(|(path, text)| {
            let dir = path.rsplit_once('/').map_or("", |(d, _)| d);
            declared_modules(text).map(move |m| format!("{dir}/{m}.rs"))
        })
        .collect();
    for (path, text) in &bench_rs {
        let kind = if text.contains("criterion_main!") || text.contains("criterion_group!") {
            BenchKind::Criterion
        } else if text.contains("divan::main") || text.contains("#[divan::bench") {
            BenchKind::Divan
        } else if text.contains("library_benchmark_group!") || text.contains("iai_callgrind::main!")
        {
            BenchKind::IaiCallgrind
        } else {
            continue;
        };
        // The crate whose directory is the longest prefix of this file.
        let manifest = facts
            .manifests
            .iter()
            .enumerate()
            .filter(|(_, m)| path.starts_with(&m.dir))
            .max_by_key(|(_, m)| m.dir.len())
            .map(|(i, _)| i);
        let is_target = !declared.contains(path)
            && manifest.is_some_and(|i| {
                let d = &facts.manifests[i].dir;
                path.strip_prefix(d.as_str())
                    .and_then(|r| r.strip_prefix("benches/"))
                    .is_some_and(|r| !r.contains('/'))
            });
        let anchor = ["criterion_main!", "divan::main", "main!"]
            .iter()
            .find(|a| text.contains(**a))
            .copied()
            .unwrap_or("fn ");
        facts.bench_files.push(BenchFile {
            path: path.clone(),
            kind,
            ids: rust_bench_ids(text),
            id_lines: id_lines(text),
            manifest,
            is_target,
            place: place(path, text, anchor),
        });
    }
    Walked {
        root: Some(root.clone()),
        facts,
    }
}

/// The modules a Rust file declares in files of their own (`mod batch;`, `pub mod util;`).
fn declared_modules(text: &str) -> impl Iterator<Item = &str> {
    text.lines().filter_map(|line| {
        let line = line.trim();
        let rest = line.strip_prefix("pub ").unwrap_or(line);
        let name = rest.strip_prefix("mod ")?.strip_suffix(';')?.trim();
        name.chars()
            .all(|c| c.is_alphanumeric() || c == '_')
            .then_some(name)
    })
}

/// The project's facts: what [`walk`] found, with the Python benchmarks and configured values
/// found in the parsed sources.
pub fn gather(walked: Walked, loaded: &Loaded, sources: &[SourceFile]) -> ProjectFacts {
    let Walked {
        root: Some(root),
        mut facts,
    } = walked
    else {
        return walked.facts;
    };
    python_benches(sources, &mut facts);
    facts.bench_files.sort_by(|a, b| a.path.cmp(&b.path));
    facts.ci_files.sort_by(|a, b| a.path.cmp(&b.path));
    facts.task_files.sort_by(|a, b| a.path.cmp(&b.path));
    config_facts(loaded, sources, &mut facts);
    // Configuration values were located by absolute path: report them relative to the root.
    let root_abs = root.canonicalize().unwrap_or_else(|_| root.clone());
    let relative = |p: &mut Place| {
        let abs = Path::new(&p.path);
        let abs = abs.canonicalize().unwrap_or_else(|_| abs.to_path_buf());
        if let Ok(r) = abs.strip_prefix(&root_abs) {
            p.path = rel(Path::new(""), r);
        }
    };
    for t in &mut facts.targets {
        relative(&mut t.place);
        t.timeouts.iter_mut().for_each(|v| relative(&mut v.place));
    }
    for b in &mut facts.budgets {
        relative(&mut b.place);
        b.parts.iter_mut().for_each(|v| relative(&mut v.place));
    }
    facts.plan.iter_mut().for_each(|c| relative(&mut c.place));
    facts
}

/// Benchmark ids a Rust bench file declares: string literals given to `bench_function`,
/// `benchmark_group`, `BenchmarkId::new`, and the names of the functions it defines.
fn rust_bench_ids(text: &str) -> Vec<String> {
    let mut ids = Vec::new();
    for marker in [
        "bench_function(",
        "benchmark_group(",
        "BenchmarkId::new(",
        "bench_with_input(",
    ] {
        let mut from = 0;
        while let Some(i) = text[from..].find(marker) {
            let start = from + i + marker.len();
            from = start;
            let rest = text[start..].trim_start();
            if let Some(lit) = rest.strip_prefix('"') {
                if let Some(end) = lit.find('"') {
                    ids.push(lit[..end].to_owned());
                }
            }
        }
    }
    let mut from = 0;
    while let Some(i) = text[from..].find("fn ") {
        let start = from + i + 3;
        from = start;
        let name: String = text[start..]
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if !name.is_empty() && name != "main" {
            ids.push(name);
        }
    }
    ids.sort();
    ids.dedup();
    ids
}

/// The string-literal ids of a Rust bench file with the lines they are written on.
fn id_lines(text: &str) -> Vec<(String, u32, String)> {
    let mut out = Vec::new();
    for marker in ["bench_function(", "BenchmarkId::new(", "bench_with_input("] {
        let mut from = 0;
        while let Some(i) = text[from..].find(marker) {
            let start = from + i + marker.len();
            from = start;
            if let Some(lit) = text[start..].trim_start().strip_prefix('"') {
                if let Some(end) = lit.find('"') {
                    let line = text[..start].matches('\n').count() as u32 + 1;
                    let line_text = text.lines().nth(line as usize - 1).unwrap_or("").trim_end();
                    out.push((lit[..end].to_owned(), line, line_text.to_owned()));
                }
            }
        }
    }
    out
}

/// pytest-benchmark tests (test functions taking the `benchmark` fixture) and asv suites
/// (`time_*`, `mem_*`, `peakmem_*`, `track_*` in a `benchmarks/` folder), from the model.
fn python_benches(sources: &[SourceFile], facts: &mut ProjectFacts) {
    for s in sources
        .iter()
        .filter(|s| s.module.language == Language::Python)
    {
        let mut ids = Vec::new();
        let mut kind = None;
        let mut first = None;
        let asv_dir = s.path.split('/').any(|c| c == "benchmarks");
        for f in &s.module.functions {
            let pytest =
                f.role == FunctionRole::Test && f.params.iter().any(|p| p.name == "benchmark");
            let asv = asv_dir
                && ["time_", "mem_", "peakmem_", "track_"]
                    .iter()
                    .any(|p| f.name.starts_with(p));
            if pytest || asv {
                kind.get_or_insert(if pytest {
                    BenchKind::PytestBenchmark
                } else {
                    BenchKind::Asv
                });
                ids.push(f.qualname.to_string());
                first.get_or_insert(f.name_span);
            }
        }
        if let (Some(kind), Some(span)) = (kind, first) {
            let line = s.lines().line(span.start);
            facts.bench_files.push(BenchFile {
                path: s.path.clone(),
                kind,
                ids,
                id_lines: Vec::new(),
                manifest: None,
                is_target: false,
                place: Place {
                    path: s.path.clone(),
                    line,
                    text: s.line_text(line).trim_end().to_owned(),
                },
            });
        }
    }
}

fn config_facts(loaded: &Loaded, sources: &[SourceFile], facts: &mut ProjectFacts) {
    let cfg = &loaded.config;
    let cfg_path = loaded
        .path
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let cfg_dir = loaded
        .path
        .as_ref()
        .and_then(|p| p.parent())
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let cfg_place = |needle: &str| place(&cfg_path, &loaded.text, needle);
    for Required {
        component,
        patterns,
    } in &cfg.bench.required
    {
        facts.plan.push(PlannedComponent {
            component: component.clone(),
            patterns: if patterns.is_empty() {
                vec![component.clone()]
            } else {
                patterns.clone()
            },
            place: cfg_place(&format!("\"{component}\"")),
        });
    }
    for t in &cfg.target {
        // Validated when the configuration was loaded.
        let Ok(limit) = perfgate_config::parse_limit(&t.limit) else {
            continue;
        };
        let is_time = limit.dimension == perfgate_config::Dimension::Time;
        facts.targets.push(TargetFacts {
            name: t.name.clone(),
            limit_text: t.limit.clone(),
            metric: limit.metric.clone(),
            limit: limit.value,
            is_time,
            timeouts: t
                .timeouts
                .iter()
                .map(|src| configured_value(src, &cfg_dir, None, sources))
                .flat_map(|v| v.into_iter())
                .collect(),
            measured: Vec::new(),
            place: cfg_place(&format!("\"{}\"", t.name)),
        });
    }
    for b in &cfg.budget {
        let Ok(limit) = perfgate_config::parse_limit(&b.limit) else {
            continue;
        };
        facts.budgets.push(BudgetFacts {
            name: b.name.clone(),
            limit_text: b.limit.clone(),
            limit: limit.value,
            is_time: limit.dimension == perfgate_config::Dimension::Time,
            parts: b
                .parts
                .iter()
                .flat_map(|src| configured_value(src, &cfg_dir, b.unit.as_deref(), sources))
                .collect(),
            place: cfg_place(&format!("\"{}\"", b.name)),
        });
    }
}

/// Read what a source names: `file:key.path` (with `*` wildcards: one value per match) or
/// a function / constant in code. Values are numbers in `unit` (seconds by default) or
/// strings with a unit (`"5s"`, `"12GiB"`).
fn configured_value(
    src: &str,
    cfg_dir: &Path,
    unit: Option<&str>,
    sources: &[SourceFile],
) -> Vec<ConfiguredValue> {
    let default_unit = unit.unwrap_or("s");
    match src.split_once(':') {
        Some((file, key)) if !file.contains("::") => {
            let path = cfg_dir.join(file);
            let shown = path.display().to_string();
            let missing = |problem: String| {
                vec![ConfiguredValue {
                    source: src.to_owned(),
                    value: None,
                    problem: Some(problem),
                    place: Place {
                        path: shown.clone(),
                        line: 1,
                        text: String::new(),
                    },
                }]
            };
            let Some(text) = read_small(&path) else {
                return missing(format!("cannot read {shown}"));
            };
            let doc: Result<serde_json::Value, String> = if file.ends_with(".toml") {
                text.parse::<toml::Table>()
                    .map_err(|e| e.to_string())
                    .and_then(|t| serde_json::to_value(t).map_err(|e| e.to_string()))
            } else {
                serde_yaml::from_str::<serde_json::Value>(&text).map_err(|e| e.to_string())
            };
            let doc = match doc {
                Ok(d) => d,
                Err(e) => return missing(format!("{shown}: {e}")),
            };
            let segs: Vec<&str> = key.split('.').collect();
            let mut found = Vec::new();
            walk_keys(&doc, &segs, &mut Vec::new(), &mut found);
            if found.is_empty() {
                return missing(format!("no `{key}` in {shown}"));
            }
            found
                .into_iter()
                .map(|(concrete, v)| {
                    let value = match &v {
                        serde_json::Value::Number(n) => n.as_f64().and_then(|x| {
                            perfgate_config::parse_quantity(&x.to_string(), Some(default_unit))
                                .ok()
                                .map(|q| q.0)
                        }),
                        serde_json::Value::String(s) => {
                            perfgate_config::parse_quantity(s, Some(default_unit))
                                .ok()
                                .map(|q| q.0)
                        }
                        _ => None,
                    };
                    // The line: each segment searched after the previous one.
                    let mut at = 0;
                    let mut line = (1, String::new());
                    for seg in &concrete {
                        if let Some((pos, l, t)) = locate(&text, seg, at) {
                            at = pos + seg.len();
                            line = (l, t);
                        }
                    }
                    ConfiguredValue {
                        source: format!("{file}:{}", concrete.join(".")),
                        value,
                        problem: None,
                        place: Place {
                            path: shown.clone(),
                            line: line.0,
                            text: line.1,
                        },
                    }
                })
                .collect()
        }
        _ => vec![code_value(src, sources)],
    }
}

fn walk_keys(
    v: &serde_json::Value,
    segs: &[&str],
    path: &mut Vec<String>,
    out: &mut Vec<(Vec<String>, serde_json::Value)>,
) {
    let Some((first, rest)) = segs.split_first() else {
        out.push((path.clone(), v.clone()));
        return;
    };
    let Some(map) = v.as_object() else { return };
    for (k, child) in map {
        if *first == "*" || first == k {
            path.push(k.clone());
            walk_keys(child, rest, path, out);
            path.pop();
        }
    }
}

/// A function (its `Duration::from_secs(5)`, `from_millis`, or returned number) or a
/// numeric constant, found by name in the checked code.
fn code_value(name: &str, sources: &[SourceFile]) -> ConfiguredValue {
    let short = name.rsplit([':', '.']).next().unwrap_or(name);
    for s in sources {
        if let Some(f) = s.module.functions.iter().find(|f| f.name == short) {
            let body = s.slice(f.span);
            let line = s.lines().line(f.name_span.start);
            return ConfiguredValue {
                source: name.to_owned(),
                value: duration_in(body),
                problem: None,
                place: Place {
                    path: s.path.clone(),
                    line,
                    text: s.line_text(line).trim_end().to_owned(),
                },
            };
        }
        if let Some(g) = s
            .module
            .globals
            .iter()
            .find(|g| g.name == short && g.number.is_some())
        {
            let line = s.lines().line(g.span.start);
            return ConfiguredValue {
                source: name.to_owned(),
                value: g.number,
                problem: None,
                place: Place {
                    path: s.path.clone(),
                    line,
                    text: s.line_text(line).trim_end().to_owned(),
                },
            };
        }
    }
    ConfiguredValue {
        source: name.to_owned(),
        value: None,
        problem: Some(format!(
            "no function or constant `{short}` in the checked code"
        )),
        place: Place::default(),
    }
}

/// The first duration a body spells: `Duration::from_secs(5)`, `from_millis(2500)`,
/// `from_secs_f64(2.5)`, or a bare `return 5.0` / tail number.
fn duration_in(body: &str) -> Option<f64> {
    for (marker, scale) in [
        ("from_millis(", 1e-3),
        ("from_micros(", 1e-6),
        ("from_secs_f64(", 1.0),
        ("from_secs_f32(", 1.0),
        ("from_secs(", 1.0),
        ("timedelta(seconds=", 1.0),
        ("return ", 1.0),
    ] {
        if let Some(i) = body.find(marker) {
            let num: String = body[i + marker.len()..]
                .chars()
                .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == '_')
                .collect();
            if let Ok(n) = num.replace('_', "").parse::<f64>() {
                return Some(n * scale);
            }
        }
    }
    None
}
