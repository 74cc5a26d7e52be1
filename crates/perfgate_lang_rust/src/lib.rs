//! Rust front end: parses with tree-sitter-rust (error tolerant) and lowers the syntax tree
//! into perfgate's language-neutral [`Module`]. Macro bodies that hold expressions
//! (`join!`, `select!`, `vec!`, `format!`, ...) are re-parsed so calls inside them are seen.

mod lower;

use perfgate_model::{Module, Path};

pub use perfgate_model::FrontendError;

/// Bracket nesting beyond this is refused (see the Python front end for why).
pub const MAX_NESTING: usize = 200;

/// The module path of a file from its path relative to the checked root:
/// `crates/my-crate/src/engine/clip.rs` -> `["my_crate", "engine", "clip"]`.
/// Also says whether the file is test or bench code (`tests/`, `benches/`, or a folder named
/// for tests or benchmarks anywhere in its path: `lib/k8s-e2e-tests/src/..`,
/// `src/test_util/..`, `mistralrs-bench/src/..`, `xtask/src/bench/..`).
pub fn module_path_for(rel_path: &str) -> (Path, bool) {
    let parts: Vec<&str> = rel_path.split('/').filter(|p| !p.is_empty()).collect();
    let anchor = parts
        .iter()
        .rposition(|p| matches!(*p, "src" | "tests" | "benches" | "examples"));
    let (crate_name, rest, is_test) = match anchor {
        Some(i) => {
            let name = if i > 0 { parts[i - 1] } else { "crate" };
            (
                name.replace('-', "_"),
                &parts[i + 1..],
                matches!(parts[i], "tests" | "benches"),
            )
        }
        None => ("crate".to_owned(), &parts[..], false),
    };
    let is_test = is_test
        || parts.split_last().is_some_and(|(_, dirs)| {
            dirs.iter()
                .any(|d| perfgate_model::is_test_dir(d) || perfgate_model::is_bench_dir(d))
        });
    let mut path: Path = perfgate_model::thin_vec![crate_name.into()];
    for (i, p) in rest.iter().enumerate() {
        let last = i + 1 == rest.len();
        if last {
            let stem = p.trim_end_matches(".rs");
            if !matches!(stem, "lib" | "main" | "mod") {
                path.push(stem.into());
            }
        } else {
            path.push((*p).into());
        }
    }
    (path, is_test)
}

/// Parse and lower one Rust source file.
pub fn lower(source: &str, rel_path: &str) -> Result<Module, FrontendError> {
    lower_in_crate(source, rel_path, None)
}

/// Parse and lower one Rust source file of the crate named `crate_name` (its Cargo package
/// name, `-` as `_`), when known: a directory name need not be the package name, and
/// cross-crate calls (`my_router::server::run`) resolve through it.
pub fn lower_in_crate(
    source: &str,
    rel_path: &str,
    crate_name: Option<&str>,
) -> Result<Module, FrontendError> {
    let (mut module_path, is_test) = module_path_for(rel_path);
    if let Some(name) = crate_name {
        module_path[0] = name.replace('-', "_").into();
    }
    let bench_file = rel_path.split('/').any(|d| d == "benches");
    // A test file by its path (`tests/`, `test_utils/`, `mistralrs-bench/`) keeps nothing
    // in the model but its path: no rule reads test code, and its functions would be left
    // out anyway. Parsing it was a third of the work on crates with integration tests. One
    // with a perfgate comment is parsed, for its suppressions to be checked.
    if is_test && !bench_file && !source.contains(perfgate_model::DIRECTIVE) {
        return Ok(Module::empty(perfgate_model::Language::Rust, module_path));
    }
    let depth = max_bracket_depth(source.as_bytes());
    if depth > MAX_NESTING {
        return Err(FrontendError(format!(
            "brackets nested {depth} deep (limit {MAX_NESTING})"
        )));
    }
    lower::lower_file(source, module_path, is_test, bench_file)
}

/// Deepest nesting of `([{`, skipping string literals and comments.
pub fn max_bracket_depth(bytes: &[u8]) -> usize {
    let (mut depth, mut max, mut i) = (0usize, 0usize, 0usize);
    let mut in_str = false;
    while i < bytes.len() {
        let b = bytes[i];
        if in_str {
            if b == b'\\' {
                i += 1;
            } else if b == b'"' {
                in_str = false;
            }
        } else {
            match b {
                b'(' | b'[' | b'{' => {
                    depth += 1;
                    max = max.max(depth);
                }
                b')' | b']' | b'}' => depth = depth.saturating_sub(1),
                b'"' => in_str = true,
                b'/' if bytes.get(i + 1) == Some(&b'/') => {
                    while i < bytes.len() && bytes[i] != b'\n' {
                        i += 1;
                    }
                }
                _ => {}
            }
        }
        i += 1;
    }
    max
}

#[cfg(test)]
mod tests;
