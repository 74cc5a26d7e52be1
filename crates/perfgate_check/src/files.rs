//! Finding, reading and parsing the files to check.

use crate::Error;
use perfgate_model::{FunctionRole, Module, SourceFile};
use std::path::{Path, PathBuf};

/// A file to check: where it is, and its path relative to the checked root.
pub struct Found {
    pub abs: PathBuf,
    pub rel: String,
    /// For Rust files: the package name in the nearest `Cargo.toml` above the file.
    pub crate_name: Option<String>,
}

/// The package name declared by the nearest `Cargo.toml` above `file`, looked up once per
/// directory; only for a file of that package's own targets (under its `src/`, `tests/`,
/// `benches/` or `examples/`, or beside its manifest): a crate kept inside another as a
/// template or fixture (`sea-orm-cli/template/migration/src/lib.rs`, whose manifest is
/// `_Cargo.toml`) is not the outer package, whose crate root it would otherwise shadow.
fn crate_name_of(
    file: &Path,
    root: &Path,
    cache: &mut std::collections::HashMap<PathBuf, Option<(PathBuf, String)>>,
) -> Option<String> {
    let mut dir = file.parent()?;
    let mut visited = Vec::new();
    let found = loop {
        if let Some(hit) = cache.get(dir) {
            break hit.clone();
        }
        visited.push(dir.to_path_buf());
        let manifest = dir.join("Cargo.toml");
        if manifest.is_file() {
            let name = std::fs::read_to_string(&manifest)
                .ok()
                .and_then(|t| t.parse::<toml::Table>().ok())
                .and_then(|t| t.get("package")?.get("name")?.as_str().map(str::to_owned));
            break name.map(|n| (dir.to_path_buf(), n));
        }
        match dir.parent() {
            Some(p) if dir != root && p.starts_with(root) => dir = p,
            _ => break None,
        }
    };
    for d in visited {
        cache.insert(d, found.clone());
    }
    let (package_dir, name) = found?;
    let mut within = file.strip_prefix(&package_dir).ok()?.components();
    let first = within.next()?;
    // A file beside the manifest (`build.rs`, a `main.rs` named by `[[bin]] path`) is the
    // package's too.
    (within.next().is_none()
        || matches!(
            first.as_os_str().to_str(),
            Some("src" | "tests" | "benches" | "examples")
        ))
    .then_some(name)
}

#[derive(Clone)]
pub enum Parsed {
    Ok {
        file: Box<SourceFile>,
        syntax_errors: bool,
    },
    ParseError {
        path: String,
        message: String,
    },
    Skipped {
        path: String,
        message: String,
    },
}

fn is_source(p: &Path) -> bool {
    matches!(
        p.extension().and_then(|e| e.to_str()),
        Some("rs" | "py" | "pyi")
    )
}

/// Walks the paths, gitignore-aware, without following symlinks (no loops), skipping
/// excluded globs, and hands each source file to `found` as soon as it is found, so that
/// files are parsed while the walk goes on. A file reached through two of the paths is
/// handed over once, under the first one's name. Files come in walk order: whoever needs
/// an order sorts.
///
/// One thread walks: reading directories is far faster than parsing what is in them, and
/// ignore's parallel walker ends each walk with its threads polling for work in 1 ms
/// sleeps, milliseconds of a check of a small project. No file is `stat`ed: each file's
/// size is asked where it is read, in parallel.
pub fn discover(
    paths: &[PathBuf],
    exclude: &[String],
    mut found: impl FnMut(Found),
) -> Result<(), Error> {
    // Every pattern is checked before the first file is handed over.
    let mut overrides = Vec::with_capacity(paths.len());
    for root in paths {
        let mut ov = ignore::overrides::OverrideBuilder::new(root);
        for g in exclude {
            ov.add(&format!("!{g}"))
                .map_err(|e| Error::Usage(format!("bad exclude pattern `{g}`: {e}")))?;
        }
        overrides.push(
            ov.build()
                .map_err(|e| Error::Usage(format!("bad exclude patterns: {e}")))?,
        );
    }
    let mut seen = std::collections::HashSet::new();
    let mut crates = std::collections::HashMap::new();
    let mut hand_over = |abs: PathBuf, rel: String| {
        if !seen.insert(abs.clone()) {
            return;
        }
        let crate_name = if rel.ends_with(".rs") {
            // The innermost of the paths that holds the file bounds the manifest search.
            let root = paths
                .iter()
                .filter(|r| abs.starts_with(r) && r.as_path() != abs.as_path())
                .max_by_key(|r| r.as_os_str().len())
                .map_or(Path::new("/"), |r| r.as_path());
            crate_name_of(&abs, root, &mut crates)
        } else {
            None
        };
        found(Found {
            abs,
            rel,
            crate_name,
        });
    };
    for (root, overrides) in paths.iter().zip(overrides) {
        if root.is_file() {
            if is_source(root) {
                let rel = root
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                hand_over(root.clone(), rel);
            }
            continue;
        }
        let walk = ignore::WalkBuilder::new(root)
            .hidden(true)
            .follow_links(false)
            .require_git(false)
            .overrides(overrides)
            .build();
        for entry in walk {
            let Ok(entry) = entry else {
                continue;
            };
            let p = entry.path();
            if !entry.file_type().is_some_and(|t| t.is_file()) || !is_source(p) {
                continue;
            }
            let rel = p
                .strip_prefix(root)
                .unwrap_or(p)
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/");
            // Always-skipped build outputs and virtual environments.
            if rel.split('/').any(|c| {
                matches!(
                    c,
                    "target" | "node_modules" | "__pycache__" | ".venv" | "venv" | "site-packages"
                )
            }) {
                continue;
            }
            hand_over(entry.into_path(), rel);
        }
    }
    Ok(())
}

/// Read, parse and lower one file. A bug in a front end costs that file, reported as a
/// parse error, not the whole run.
pub fn load(f: &Found, max_size: u64) -> Parsed {
    contained(&f.rel, || load_unguarded(f, max_size))
}

/// Run one file's parse; a panic inside becomes a parse error for that file.
fn contained(rel: &str, parse: impl FnOnce() -> Parsed) -> Parsed {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(parse)) {
        Ok(parsed) => parsed,
        Err(payload) => {
            let what = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            Parsed::ParseError {
                path: rel.to_owned(),
                message: format!("internal error in perfgate's front end ({what}); please report it with this file"),
            }
        }
    }
}

fn load_unguarded(f: &Found, max_size: u64) -> Parsed {
    let skipped = |message: String| Parsed::Skipped {
        path: f.rel.clone(),
        message,
    };
    // The text is read into scratch memory with the parse tree: it is needed while
    // lowering, and afterwards only where a finding or a suppression is. Most rules are
    // about async code, so the text of a file that has some outside tests is kept (on a
    // corpus of service modules with 7 findings each, reading them all again cost more than
    // keeping them; no rule reads tests); any other is read again if need be.
    let read = || -> Result<(Module, String), Parsed> {
        let bytes = read_at_most(&f.abs, max_size)
            .map_err(|e| skipped(format!("cannot read: {e}")))?
            .map_err(|size| {
                skipped(format!(
                    "{size} bytes, over the {max_size} byte limit (analysis.max-file-size)"
                ))
            })?;
        let text = decode(&f.rel, bytes)?;
        let module = lower_text(&f.rel, &text, f.crate_name.as_deref()).map_err(|message| {
            Parsed::ParseError {
                path: f.rel.clone(),
                message,
            }
        })?;
        Ok((module, text))
    };
    let outcome = perfgate_model::scratch::run(read, |outcome| match outcome {
        Ok((module, text)) => {
            let has_async = module
                .functions
                .iter()
                .any(|f| (f.is_async || f.async_blocks) && f.role != FunctionRole::Test);
            Ok((
                copy_out(module),
                text.len(),
                has_async.then(|| text.clone()),
            ))
        }
        Err(problem) => Err(problem.clone()),
    });
    match outcome {
        Ok((module, len, keep)) => {
            let syntax_errors = module.had_syntax_errors;
            let mut file = SourceFile::on_disk(f.rel.clone(), f.abs.clone(), len, module);
            if let Some(text) = keep {
                file.keep_text(text);
            }
            Parsed::Ok {
                file: Box::new(file),
                syntax_errors,
            }
        }
        Err(problem) => problem,
    }
}

/// A file's bytes, or its size if that is over `max` (asked before reading, and counted
/// while reading: a file may grow in between).
fn read_at_most(path: &Path, max: u64) -> std::io::Result<Result<Vec<u8>, u64>> {
    use std::io::Read;
    let file = std::fs::File::open(path)?;
    let size = file.metadata()?.len();
    if size > max {
        return Ok(Err(size));
    }
    // Room for one byte more than expected: the read that finds the end then needs no
    // buffer of its own.
    let mut bytes = Vec::with_capacity(size as usize + 1);
    file.take(max.saturating_add(1)).read_to_end(&mut bytes)?;
    let read = bytes.len() as u64;
    Ok(if read <= max { Ok(bytes) } else { Err(read) })
}

/// A file's bytes as text, unless it is binary or not UTF-8.
fn decode(rel: &str, bytes: Vec<u8>) -> Result<String, Parsed> {
    if bytes[..bytes.len().min(8192)].contains(&0) {
        return Err(Parsed::Skipped {
            path: rel.to_owned(),
            message: "binary file".into(),
        });
    }
    String::from_utf8(bytes).map_err(|e| Parsed::Skipped {
        path: rel.to_owned(),
        message: format!("not valid UTF-8 (byte {})", e.utf8_error().valid_up_to()),
    })
}

/// Parse and lower one source text by its extension.
fn lower_text(rel: &str, text: &str, crate_name: Option<&str>) -> Result<Module, String> {
    let mut module = if rel.ends_with(".rs") {
        perfgate_lang_rust::lower_in_crate(text, rel, crate_name).map_err(|e| e.0)?
    } else {
        perfgate_lang_python::lower(text, rel).map_err(|e| e.0)?
    };
    module.generated = is_generated(text);
    Ok(module)
}

/// Does the file say, in a comment among its first lines, that a tool wrote it
/// (`@generated`, `DO NOT EDIT`, `Code generated by`, `automatically generated`)? The
/// conventions of prost, protoc, Go's and Python's generators.
fn is_generated(text: &str) -> bool {
    text.lines().take(5).any(|line| {
        let l = line.trim_start();
        (l.starts_with("//") || l.starts_with('#') || l.starts_with("/*") || l.starts_with('*'))
            && [
                "@generated",
                "DO NOT EDIT",
                "Code generated by",
                "automatically generated",
            ]
            .iter()
            .any(|m| l.contains(m))
    })
}

/// A module lowered on scratch memory, copied out to live on: each vector at its exact
/// size, packed with the rest of the model (without scratch memory, a copy still trims the
/// lists lowering grew). On the CPython standard library this keeps 33 MB (14%) less
/// resident than lowering on the long-lived heap. Laid out list by list, for the passes
/// over every function's calls (see [`Module::clone_by_list`]).
fn copy_out(module: &Module) -> Module {
    module.clone_by_list()
}

/// Parse one source text by its extension; the text stays with the file.
/// Files of modules that other files declare only for tests (`#[cfg(test)] mod tests;` in
/// `lib.rs` makes `tests.rs` test code, and its submodules too): their functions are tests,
/// though nothing in the files says so.
pub fn mark_test_modules(sources: &mut [SourceFile]) {
    let declared: rustc_hash::FxHashSet<perfgate_model::Path> = sources
        .iter()
        .flat_map(|s| s.module.test_modules.iter().cloned())
        .collect();
    if declared.is_empty() {
        return;
    }
    for s in sources.iter_mut() {
        let path = &s.module.module_path;
        if (1..=path.len()).any(|n| declared.contains(&path[..n])) {
            for f in &mut s.module.functions {
                f.role = perfgate_model::FunctionRole::Test;
            }
        }
    }
}

pub fn parse_source(rel: &str, text: String) -> Parsed {
    let lowered = perfgate_model::scratch::run(
        || lower_text(rel, &text, None),
        |lowered| match lowered {
            Ok(module) => Ok(copy_out(module)),
            Err(message) => Err(message.clone()),
        },
    );
    match lowered {
        Ok(module) => {
            let syntax_errors = module.had_syntax_errors;
            Parsed::Ok {
                file: Box::new(SourceFile::new(rel.to_owned(), text, module)),
                syntax_errors,
            }
        }
        Err(message) => Parsed::ParseError {
            path: rel.to_owned(),
            message,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The packed copy is the module, field for field, on the example projects' files.
    #[test]
    fn copy_out_is_a_faithful_copy() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
        let mut found = Vec::new();
        discover(&[root], &[], |f| found.push(f)).unwrap();
        assert!(found.len() >= 4, "{} example files", found.len());
        let mut paths = 0;
        for f in &found {
            let text = std::fs::read_to_string(&f.abs).unwrap();
            let module = lower_text(&f.rel, &text, f.crate_name.as_deref()).unwrap();
            paths += module
                .functions
                .iter()
                .flat_map(|x| &x.calls)
                .filter(|c| matches!(c.callee, perfgate_model::Callee::Path(_)))
                .count();
            assert_eq!(
                format!("{:?}", copy_out(&module)),
                format!("{module:?}"),
                "{}",
                f.rel
            );
        }
        assert!(paths > 10, "{paths} path calls");
    }

    /// A crate kept inside another package as a template (its manifest renamed, so the
    /// outer `Cargo.toml` is the nearest) is not that package: its `lib.rs` would shadow the
    /// package's own crate root.
    #[test]
    fn only_a_packages_own_targets_take_its_name() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for (file, text) in [
            ("cli/Cargo.toml", "[package]\nname = \"sea-orm-cli\"\n"),
            ("cli/src/lib.rs", ""),
            ("cli/src/bin/main.rs", ""),
            ("cli/examples/demo.rs", ""),
            ("cli/build.rs", ""),
            (
                "cli/template/migration/_Cargo.toml",
                "[package]\nname = \"migration\"\n",
            ),
            ("cli/template/migration/src/lib.rs", ""),
        ] {
            let path = root.join(file);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        let mut cache = std::collections::HashMap::new();
        let mut name = |f: &str| crate_name_of(&root.join(f), root, &mut cache);
        assert_eq!(name("cli/src/lib.rs").as_deref(), Some("sea-orm-cli"));
        assert_eq!(name("cli/src/bin/main.rs").as_deref(), Some("sea-orm-cli"));
        assert_eq!(name("cli/examples/demo.rs").as_deref(), Some("sea-orm-cli"));
        assert_eq!(name("cli/build.rs").as_deref(), Some("sea-orm-cli"));
        assert_eq!(name("cli/template/migration/src/lib.rs"), None);
    }

    #[test]
    fn a_panicking_front_end_costs_one_file() {
        let p = contained("pkg/odd.py", || panic!("unexpected node"));
        match p {
            Parsed::ParseError { path, message } => {
                assert_eq!(path, "pkg/odd.py");
                assert!(message.contains("unexpected node"), "{message}");
            }
            _ => panic!("expected a parse error"),
        }
        let ok = contained("pkg/ok.py", || parse_source("pkg/ok.py", "x = 1\n".into()));
        assert!(matches!(ok, Parsed::Ok { .. }));
    }

    #[test]
    fn a_file_over_the_limit_is_not_read() {
        let dir = std::env::temp_dir().join(format!("perfgate-limit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("big.py");
        std::fs::write(&path, "x = 1\n".repeat(100)).unwrap();
        let found = Found {
            abs: path.clone(),
            rel: "big.py".into(),
            crate_name: None,
        };
        // 600 bytes: the largest limit a config may set reads the whole file.
        for (max, ok) in [(100, false), (599, false), (600, true), (u64::MAX, true)] {
            match load(&found, max) {
                Parsed::Ok { .. } => assert!(ok, "read past a limit of {max}"),
                Parsed::Skipped { message, .. } => {
                    assert!(!ok, "{message}");
                    assert!(message.contains("600 bytes"), "{message}");
                    assert!(message.contains("max-file-size"), "{message}");
                }
                Parsed::ParseError { message, .. } => panic!("{message}"),
            }
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
