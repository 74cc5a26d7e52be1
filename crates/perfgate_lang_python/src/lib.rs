//! Python front end: parses with ruff's error-tolerant parser and lowers the AST into
//! perfgate's language-neutral [`Module`].

mod lower;

use perfgate_model::{Module, Path};

/// Why a file could not be lowered at all (recoverable syntax errors are not failures).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrontendError(pub String);

impl std::fmt::Display for FrontendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Bracket nesting beyond this is refused: real code never gets near it, and recursive
/// descent over pathological input would otherwise exhaust the stack.
pub const MAX_NESTING: usize = 200;

/// The module path of a file from its path relative to the checked root:
/// `src/pkg/engine.py` -> `["pkg", "engine"]`, `pkg/__init__.py` -> `["pkg"]`.
pub fn module_path_for(rel_path: &str) -> (Path, bool) {
    let trimmed = rel_path.trim_end_matches(".pyi").trim_end_matches(".py");
    let mut parts: Vec<String> = trimmed
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .map(str::to_owned)
        .collect();
    if parts.first().map(String::as_str) == Some("src") && parts.len() > 1 {
        parts.remove(0);
    }
    let is_package = parts.last().map(String::as_str) == Some("__init__");
    if is_package {
        parts.pop();
    }
    (parts, is_package)
}

/// Parse and lower one Python source file.
pub fn lower(source: &str, rel_path: &str) -> Result<Module, FrontendError> {
    let depth = max_bracket_depth(source.as_bytes());
    if depth > MAX_NESTING {
        return Err(FrontendError(format!(
            "brackets nested {depth} deep (limit {MAX_NESTING})"
        )));
    }
    let (module_path, is_package) = module_path_for(rel_path);
    let is_test_file = rel_path
        .rsplit('/')
        .next()
        .is_some_and(|f| f.starts_with("test_") || f.ends_with("_test.py") || f == "conftest.py");
    let parsed =
        ruff_python_parser::parse_unchecked_source(source, ruff_python_ast::PySourceType::Python);
    let had_errors = parsed.has_syntax_errors();
    let mut module = lower::lower_module(
        source,
        parsed.syntax(),
        module_path,
        is_package,
        is_test_file,
    );
    module.had_syntax_errors = had_errors;
    Ok(module)
}

/// Deepest nesting of `([{`, ignoring string contents and comments (roughly: good enough
/// to refuse pathological input before the parser sees it).
pub fn max_bracket_depth(bytes: &[u8]) -> usize {
    let mut depth = 0usize;
    let mut max = 0usize;
    let mut i = 0;
    let mut quote: Option<u8> = None;
    while i < bytes.len() {
        let b = bytes[i];
        match quote {
            Some(q) => {
                if b == b'\\' {
                    i += 1;
                } else if b == q || b == b'\n' {
                    quote = None;
                }
            }
            None => match b {
                b'(' | b'[' | b'{' => {
                    depth += 1;
                    max = max.max(depth);
                }
                b')' | b']' | b'}' => depth = depth.saturating_sub(1),
                b'"' | b'\'' => quote = Some(b),
                b'#' => {
                    while i < bytes.len() && bytes[i] != b'\n' {
                        i += 1;
                    }
                }
                _ => {}
            },
        }
        i += 1;
    }
    max
}

#[cfg(test)]
mod tests;
