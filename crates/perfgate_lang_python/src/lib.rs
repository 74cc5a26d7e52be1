//! Python front end: parses with ruff's error-tolerant parser and lowers the AST into
//! perfgate's language-neutral [`Module`].

mod lower;

use perfgate_model::{Module, Path};
use ruff_text_size::Ranged;

pub use perfgate_model::FrontendError;

/// Bracket nesting beyond this is refused: real code never gets near it, and recursive
/// descent over pathological input would otherwise exhaust the stack.
pub const MAX_NESTING: usize = 200;

/// The module path of a file from its path relative to the checked root:
/// `src/pkg/engine.py` -> `["pkg", "engine"]`, `pkg/__init__.py` -> `["pkg"]`.
pub fn module_path_for(rel_path: &str) -> (Path, bool) {
    let trimmed = rel_path.trim_end_matches(".pyi").trim_end_matches(".py");
    let mut parts: Path = trimmed
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .map(perfgate_model::Name::from)
        .collect();
    if parts.first().map(perfgate_model::Name::as_str) == Some("src") && parts.len() > 1 {
        parts.remove(0);
    }
    let is_package = parts.last().map(perfgate_model::Name::as_str) == Some("__init__");
    if is_package {
        parts.pop();
    }
    (parts, is_package)
}

/// Parse and lower one Python source file.
pub fn lower(source: &str, rel_path: &str) -> Result<Module, FrontendError> {
    // A large file is scanned before parsing: the parser grows its stack on the heap, and
    // its memory for pathological nesting grows with the file. A small one cannot cost much,
    // so its limits are checked on the parser's tokens instead, which is cheaper.
    let small = source.len() <= PRESCAN_ABOVE;
    if !small {
        let (depth, chain) = prescan(source.as_bytes());
        check_limits(depth, chain)?;
    }
    let (module_path, is_package) = module_path_for(rel_path);
    // Test code: `test_*.py`, `*_test.py`, `conftest.py`, `testing_utils.py`, or anything
    // under a tests folder (`perfgate_model::is_test_dir`); benchmarks and profiling scripts
    // too (`bench_*.py`, `benchmark_*.py`, under a folder `perfgate_model::is_bench_dir`
    // names), whose loops of requests and GPU syncs are the measurement.
    let (dirs, file) = rel_path.rsplit_once('/').unwrap_or(("", rel_path));
    let stem = file.strip_suffix(".py").unwrap_or(file);
    let is_test_file = stem.starts_with("test_")
        || stem.starts_with("tests_")
        || stem.starts_with("testing_")
        || stem.ends_with("_test")
        || stem.ends_with("_tests")
        || matches!(stem, "test" | "tests" | "testing" | "conftest")
        || stem.starts_with("bench_")
        || stem.starts_with("benchmark_")
        || dirs
            .split('/')
            .any(|d| perfgate_model::is_test_dir(d) || perfgate_model::is_bench_dir(d));
    // A test file keeps only its benchmarks (see `lower::lower_module`): one that cannot
    // define any, and has no perfgate comment whose suppressions need checking, is not
    // parsed (the generated corpus's 1,100 test files: 35 -> 15 ms).
    if is_test_file && !may_define_benchmarks(source) && !source.contains(perfgate_model::DIRECTIVE)
    {
        return Ok(lower::test_module(source, module_path));
    }
    lower_parsed(source, module_path, is_package, is_test_file, small)
}

/// [`lower`] past its checks: parse and lower.
fn lower_parsed(
    source: &str,
    module_path: Path,
    is_package: bool,
    is_test_file: bool,
    small: bool,
) -> Result<Module, FrontendError> {
    let parsed =
        ruff_python_parser::parse_unchecked_source(source, ruff_python_ast::PySourceType::Python);
    if small && may_exceed_limits(source) {
        let (depth, chain) = token_scan(parsed.tokens());
        if let Err(e) = check_limits(depth, chain) {
            // Dropping a tree this deep recurses as deep: leak it instead (at most a few
            // MB, for a file that is refused).
            std::mem::forget(parsed);
            return Err(e);
        }
    }
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
    // The tree is freed with the scratch memory it lives in, when it does.
    perfgate_model::scratch::dispose(parsed);
    Ok(module)
}

/// Could the source define a benchmark, as `lower::is_benchmark` reads one: a function
/// with a `benchmark` parameter (pytest-benchmark's fixture), or named `time_*`, `mem_*`,
/// `peakmem_*` or `track_*` (asv's)? Read from the text, before parsing: the word
/// `benchmark` anywhere, or `def` and such a name.
fn may_define_benchmarks(source: &str) -> bool {
    if memchr::memmem::find(source.as_bytes(), b"benchmark").is_some() {
        return true;
    }
    memchr::memmem::find_iter(source.as_bytes(), b"def").any(|at| {
        let rest = &source[at + 3..];
        // `def` then at least one blank (or a line continuation) before the name.
        let name = rest.trim_start_matches(|c: char| c.is_whitespace() || c == '\\');
        name.len() < rest.len()
            && ["time_", "mem_", "peakmem_", "track_"]
                .iter()
                .any(|p| name.starts_with(p))
    })
}

/// Files up to this size skip [`prescan`]; their limits are checked on the tokens, where
/// [`may_exceed_limits`] says they could be exceeded at all.
const PRESCAN_ABOVE: usize = 64 * 1024;

/// Can this source exceed the limits at all? Nesting deeper than [`MAX_NESTING`] takes more
/// opening brackets than that, and a statement with more than [`MAX_STATEMENT_OPERATORS`]
/// operators more bytes: most modules have neither, and are not scanned token by token.
fn may_exceed_limits(source: &str) -> bool {
    source.len() > MAX_STATEMENT_OPERATORS || more_brackets_than(source.as_bytes(), MAX_NESTING)
}

/// Does `bytes` hold more than `limit` opening brackets? Counted a block at a time in a
/// loop the compiler vectorises: a search per bracket (`memchr3_iter`) made a call per
/// bracket, one byte in fifty to a hundred of Python.
fn more_brackets_than(bytes: &[u8], limit: usize) -> bool {
    let mut n = 0;
    // 255 bytes at a time, so that a block's count fits the byte lanes it is summed in.
    for (i, block) in bytes.chunks(255).enumerate() {
        n += usize::from(block.iter().fold(0u8, |acc, &b| {
            acc + u8::from(matches!(b, b'(' | b'[' | b'{'))
        }));
        if i % 16 == 15 && n > limit {
            return true;
        }
    }
    n > limit
}

fn check_limits(depth: usize, chain: usize) -> Result<(), FrontendError> {
    if depth > MAX_NESTING {
        return Err(FrontendError(format!(
            "brackets nested {depth} deep (limit {MAX_NESTING})"
        )));
    }
    if chain > MAX_STATEMENT_OPERATORS {
        return Err(FrontendError(format!(
            "a statement with {chain} operators (limit {MAX_STATEMENT_OPERATORS}): generated code?"
        )));
    }
    Ok(())
}

/// [`prescan`]'s two figures, from the parser's tokens: the deepest bracket nesting, and the
/// most tree-deepening tokens (operators, dots, calls and subscripts, `not`, `await`,
/// `lambda`) in one logical line.
fn token_scan(tokens: &ruff_python_ast::token::Tokens) -> (usize, usize) {
    let (mut depth, mut max_depth, mut count, mut max) = (0usize, 0usize, 0usize, 0usize);
    let mut operand = false;
    // Each kind's class, worked out the first time the kind is seen: a `match` per token
    // was an indirect jump mispredicted most of the time (a tenth of lowering).
    let mut classes = [TK_UNCLASSIFIED; 256];
    for t in tokens.iter() {
        let k = t.kind();
        let mut class = classes[k as usize];
        if class == TK_UNCLASSIFIED {
            class = token_class(k);
            classes[k as usize] = class;
        }
        let open = class & TK_OPENS != 0;
        // A call or subscript: `(` or `[` after an operand.
        let call = operand & (class & TK_CALLS != 0);
        count += usize::from(call | (class & TK_COUNTS != 0));
        depth = if open {
            depth + 1
        } else if class & TK_CLOSES != 0 {
            depth.saturating_sub(1)
        } else {
            depth
        };
        max_depth = max_depth.max(depth);
        // `count` only grows within a logical line: its largest value is the one at the line's
        // end, so taking the maximum at every token is the same as taking it at newlines.
        max = max.max(count);
        count = if class & TK_NEWLINE != 0 { 0 } else { count };
        operand = if class & TK_SKIPPED != 0 {
            operand
        } else {
            class & TK_OPERAND != 0
        };
    }
    (max_depth, max)
}

const TK_UNCLASSIFIED: u8 = 0xff;
const TK_OPENS: u8 = 1;
const TK_CLOSES: u8 = 1 << 1;
/// Leaves `operand` set: names, literals, closing brackets.
const TK_OPERAND: u8 = 1 << 2;
/// Leaves `operand` as it was: comments and layout.
const TK_SKIPPED: u8 = 1 << 3;
/// Counted wherever it is: operators (commas, colons, `=` aside), `not`, `await`, `lambda`.
const TK_COUNTS: u8 = 1 << 4;
const TK_NEWLINE: u8 = 1 << 5;
/// Counted after an operand: `(` and `[`.
const TK_CALLS: u8 = 1 << 6;

fn token_class(k: ruff_python_ast::token::TokenKind) -> u8 {
    use ruff_python_ast::token::TokenKind as T;
    match k {
        T::Lpar | T::Lsqb => TK_OPENS | TK_CALLS,
        T::Lbrace => TK_OPENS,
        T::Rpar | T::Rsqb | T::Rbrace => TK_CLOSES | TK_OPERAND,
        T::Newline => TK_NEWLINE,
        T::Name | T::Int | T::Float | T::Complex | T::String | T::FStringEnd | T::TStringEnd => {
            TK_OPERAND
        }
        T::NonLogicalNewline | T::Comment | T::Indent | T::Dedent => TK_SKIPPED,
        T::Not | T::Await | T::Lambda => TK_COUNTS,
        _ if k.is_operator() && !matches!(k, T::Comma | T::Colon | T::Semi | T::Equal) => TK_COUNTS,
        _ => 0,
    }
}

/// Operators, attribute dots, calls and `not`/`await`/`lambda` in one statement beyond this
/// are refused: each can add a level to the syntax tree, and the parser and its tree are
/// recursive. Real code stays far below; this stops `1+1+...` a million times over.
pub const MAX_STATEMENT_OPERATORS: usize = 10_000;

/// One pass over the source: the deepest bracket nesting, and the largest number of
/// tree-deepening tokens (operators, attribute dots, calls and subscripts, `not`, `await`,
/// `lambda`) in one logical line — a statement with its bracketed continuation lines.
/// Strings and comments are skipped. Cheap next to parsing: it reads each byte once and
/// skips identifiers, numbers and strings whole.
pub fn prescan(bytes: &[u8]) -> (usize, usize) {
    let n = bytes.len();
    let (mut i, mut depth, mut max_depth, mut count, mut max) = (0usize, 0usize, 0, 0usize, 0);
    // The previous token was an operand (name, literal, closing bracket): a following `(`
    // or `[` is a call or subscript.
    let mut operand = false;
    while i < n {
        let b = bytes[i];
        match CLASS[b as usize] {
            WORD => {
                let start = i;
                i += 1;
                while i < n && CLASS[bytes[i] as usize] == WORD {
                    i += 1;
                }
                let len = i - start;
                if (3..=6).contains(&len)
                    && matches!(&bytes[start..i], b"not" | b"await" | b"lambda")
                {
                    count += 1;
                }
                // A string prefix (`b"..."`, `rb'...'`) is not an operand.
                operand = !(i < n && CLASS[bytes[i] as usize] == QUOTE);
                continue;
            }
            SPACE => {
                // Indentation: skip the run at once.
                i += 1;
                while i < n && CLASS[bytes[i] as usize] == SPACE {
                    i += 1;
                }
                continue;
            }
            QUOTE => {
                i = skip_string(bytes, i);
                operand = true;
                continue;
            }
            HASH => {
                i = memchr::memchr(b'\n', &bytes[i..]).map_or(n, |p| i + p);
                continue;
            }
            OPEN => {
                if operand && b != b'{' {
                    count += 1;
                }
                depth += 1;
                max_depth = max_depth.max(depth);
                operand = false;
            }
            CLOSE => {
                depth = depth.saturating_sub(1);
                operand = true;
            }
            NEWLINE => {
                if depth == 0 && !(i > 0 && bytes[i - 1] == b'\\') {
                    max = max.max(count);
                    count = 0;
                }
            }
            OPERATOR => {
                count += 1;
                operand = false;
            }
            _ => operand = false,
        }
        i += 1;
    }
    (max_depth, max.max(count))
}

const OTHER: u8 = 0;
const WORD: u8 = 1;
const SPACE: u8 = 2;
const QUOTE: u8 = 3;
const HASH: u8 = 4;
const OPEN: u8 = 5;
const CLOSE: u8 = 6;
const NEWLINE: u8 = 7;
const OPERATOR: u8 = 8;

/// Byte classes for [`prescan`]. Digits count as word bytes: a number is one operand (its
/// `.` and exponent sign aside, which at worst overcount).
static CLASS: [u8; 256] = {
    let mut t = [OTHER; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        t[i] = if b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80 {
            WORD
        } else {
            match b {
                b' ' | b'\t' | b'\r' | b'\\' | 0x0c => SPACE,
                b'"' | b'\'' => QUOTE,
                b'#' => HASH,
                b'(' | b'[' | b'{' => OPEN,
                b')' | b']' | b'}' => CLOSE,
                b'\n' => NEWLINE,
                b'.' | b'+' | b'-' | b'*' | b'/' | b'%' | b'@' | b'&' | b'|' | b'^' | b'<'
                | b'>' | b'~' => OPERATOR,
                _ => OTHER,
            }
        };
        i += 1;
    }
    t
};

/// The index just past the string literal starting at `i` (triple quotes included).
/// Jumps between quotes and backslashes with `memchr`: docstrings are a large share of
/// Python source.
fn skip_string(bytes: &[u8], i: usize) -> usize {
    let q = bytes[i];
    let n = bytes.len();
    if bytes.get(i..i + 3) == Some(&[q, q, q][..]) {
        let mut j = i + 3;
        while let Some(k) = memchr::memchr2(q, b'\\', &bytes[j.min(n)..]) {
            j += k;
            if bytes[j] == b'\\' {
                j += 2;
            } else if bytes.get(j..j + 3) == Some(&[q, q, q][..]) {
                return j + 3;
            } else {
                j += 1;
            }
        }
        return n;
    }
    let mut j = i + 1;
    while let Some(k) = memchr::memchr3(q, b'\\', b'\n', &bytes[j.min(n)..]) {
        j += k;
        match bytes[j] {
            b'\\' => j += 2,
            b'\n' => return j,
            _ => return j + 1,
        }
    }
    n
}

#[cfg(test)]
mod tests;
