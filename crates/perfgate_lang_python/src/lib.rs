//! Python front end: parses with ruff's error-tolerant parser and lowers the AST into
//! perfgate's language-neutral [`Module`].

mod lower;

use perfgate_model::{Module, Path};
use ruff_text_size::Ranged;

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
    let chain = max_statement_operators(source.as_bytes());
    if chain > MAX_STATEMENT_OPERATORS {
        return Err(FrontendError(format!(
            "a statement with {chain} operators (limit {MAX_STATEMENT_OPERATORS}): generated code?"
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
    if source.contains(perfgate_model::DIRECTIVE) {
        module.directive_comments = parsed
            .tokens()
            .iter()
            .filter(|t| t.kind() == ruff_python_ast::token::TokenKind::Comment)
            .map(|t| {
                perfgate_model::Span::new(t.range().start().to_usize(), t.range().end().to_usize())
            })
            .filter(|sp| {
                source
                    .get(sp.start as usize..sp.end as usize)
                    .is_some_and(|c| c.contains(perfgate_model::DIRECTIVE))
            })
            .collect();
    }
    Ok(module)
}

/// Operators, attribute dots, calls and `not`/`await`/`lambda` in one statement beyond this
/// are refused: each can add a level to the syntax tree, and the parser and its tree are
/// recursive. Real code stays far below; this stops `1+1+...` a million times over.
pub const MAX_STATEMENT_OPERATORS: usize = 10_000;

/// The largest number of tree-deepening tokens in one logical line (a statement, with its
/// bracketed continuation lines).
pub fn max_statement_operators(bytes: &[u8]) -> usize {
    let (mut count, mut max, mut depth) = (0usize, 0usize, 0usize);
    let mut i = 0;
    let mut quote: Option<u8> = None;
    let ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    while i < bytes.len() {
        let b = bytes[i];
        if let Some(q) = quote {
            if b == b'\\' {
                i += 1;
            } else if b == q || b == b'\n' {
                quote = None;
            }
            i += 1;
            continue;
        }
        let prev = if i > 0 { bytes[i - 1] } else { b' ' };
        let next = bytes.get(i + 1).copied().unwrap_or(b' ');
        match b {
            b'\n' if depth == 0 && prev != b'\\' => {
                max = max.max(count);
                count = 0;
            }
            b'(' | b'[' | b'{' => {
                if ident(prev) || prev == b')' || prev == b']' {
                    count += 1;
                }
                depth += 1;
            }
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            b'.' if !prev.is_ascii_digit() && !next.is_ascii_digit() => count += 1,
            b'+' | b'-' | b'*' | b'/' | b'%' | b'@' | b'&' | b'|' | b'^' | b'<' | b'>' | b'~' => {
                count += 1
            }
            b'"' | b'\'' => quote = Some(b),
            b'#' => {
                while i + 1 < bytes.len() && bytes[i + 1] != b'\n' {
                    i += 1;
                }
            }
            b'n' | b'a' | b'l' if !ident(prev) => {
                let rest = &bytes[i..];
                for kw in [&b"not"[..], b"await", b"lambda"] {
                    if rest.starts_with(kw) && !rest.get(kw.len()).is_some_and(|c| ident(*c)) {
                        count += 1;
                    }
                }
            }
            _ => {}
        }
        i += 1;
    }
    max.max(count)
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
