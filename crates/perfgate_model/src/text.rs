//! Source text as messages quote it: comments dropped, whitespace collapsed, brackets
//! matched and arguments split at the top level. Shared by the front ends, the analysis
//! and the rules, which all read a call or an attribute as written.

use crate::Language;

/// A stretch of source without its comments (`// ..`, `/* .. */` in Rust, `# ..` in
/// Python), for messages that quote code: a comment inside a call chain would otherwise run
/// into its names once whitespace is collapsed. Strings are kept whole, comment markers in
/// them (`"https://.."`, `"#fff"`) included.
pub fn strip_comments(text: &str, lang: Language) -> std::borrow::Cow<'_, str> {
    let has_comment = match lang {
        Language::Rust => text.contains("//") || text.contains("/*"),
        Language::Python => text.contains('#'),
    };
    if !has_comment {
        return std::borrow::Cow::Borrowed(text);
    }
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let (mut i, mut kept) = (0, 0);
    // Where a comment starts, up to where it ends (its newline stays).
    let mut cut = |from: usize, to: usize, i: &mut usize, kept: &mut usize| {
        out.push_str(&text[*kept..from]);
        out.push(' ');
        *i = to;
        *kept = to;
    };
    while i < b.len() {
        match (lang, b[i]) {
            (Language::Rust, b'/') if b.get(i + 1) == Some(&b'/') => {
                let end = text[i..].find('\n').map_or(b.len(), |k| i + k);
                cut(i, end, &mut i, &mut kept);
            }
            (Language::Rust, b'/') if b.get(i + 1) == Some(&b'*') => {
                let end = text[i + 2..].find("*/").map_or(b.len(), |k| i + 2 + k + 2);
                cut(i, end, &mut i, &mut kept);
            }
            (Language::Python, b'#') => {
                let end = text[i..].find('\n').map_or(b.len(), |k| i + k);
                cut(i, end, &mut i, &mut kept);
            }
            // A Rust raw string: `r"..."`, `r#"..."#`.
            (Language::Rust, b'r') if matches!(b.get(i + 1), Some(b'"' | b'#')) => {
                let hashes = b[i + 1..].iter().take_while(|&&c| c == b'#').count();
                if b.get(i + 1 + hashes) == Some(&b'"') {
                    let close = format!("\"{}", "#".repeat(hashes));
                    let body = i + 2 + hashes;
                    i = text[body..]
                        .find(&close)
                        .map_or(b.len(), |k| body + k + close.len());
                } else {
                    i += 1;
                }
            }
            // A Rust char literal (`'"'`), not a lifetime (`'a`).
            (Language::Rust, b'\'') => {
                i += match (b.get(i + 1), b.get(i + 2), b.get(i + 3)) {
                    (Some(b'\\'), _, _) => text[i + 2..].find('\'').map_or(b.len() - i, |k| k + 3),
                    (Some(_), Some(b'\''), _) => 3,
                    _ => 1,
                };
            }
            (_, q @ (b'"' | b'\'')) => {
                // Python's triple quotes, then any quote: up to the same, unescaped.
                let triple = lang == Language::Python
                    && b.get(i + 1) == Some(&q)
                    && b.get(i + 2) == Some(&q);
                let delim: &[u8] = if triple { &b[i..i + 3] } else { &b[i..i + 1] };
                let mut j = i + delim.len();
                while j < b.len() && !b[j..].starts_with(delim) {
                    j += if b[j] == b'\\' { 2 } else { 1 };
                }
                i = (j + delim.len()).min(b.len());
            }
            _ => i += 1,
        }
    }
    out.push_str(&text[kept.min(b.len())..]);
    std::borrow::Cow::Owned(out)
}

/// Collapse runs of whitespace so the text of a statement is stable under reformatting:
/// each run becomes one space (none at the start or the end, none just inside a bracket),
/// a comma left before a closing bracket by a line break goes too (`get(\n  url,\n)` reads
/// `get(url)`), and a text longer than `max` bytes is cut there, with `…` after it.
pub fn normalize_ws(s: &str, max: usize) -> String {
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len().min(max) + '…'.len_utf8());
    // Whitespace seen since the last character kept: written (or not) with the next one.
    let mut gap = false;
    let mut i = 0;
    while i < b.len() {
        // Code is ASCII but for its strings and comments: a run of ASCII that is not
        // whitespace is copied at once, as far as `max` allows.
        let run = b[i..]
            .iter()
            .position(|&c| !c.is_ascii() || is_ascii_space(c))
            .unwrap_or(b.len() - i);
        if run > 0 {
            close_gap(&mut out, &mut gap, b[i]);
            let take = run.min(max.saturating_sub(out.len()).max(1));
            out.push_str(&s[i..i + take]);
            i += take;
        } else {
            let c = s[i..].chars().next().expect("a character starts here");
            i += c.len_utf8();
            if c.is_whitespace() {
                gap = true;
                continue;
            }
            close_gap(&mut out, &mut gap, b'\0');
            out.push(c);
        }
        if out.len() >= max {
            out.push('…');
            break;
        }
    }
    out
}

/// Before `next` is written after whitespace: one space, or none where a bracket opens
/// before it or closes after it (then a comma before the bracket goes too).
fn close_gap(out: &mut String, gap: &mut bool, next: u8) {
    if !std::mem::take(gap) || out.is_empty() {
        return;
    }
    if matches!(next, b')' | b']' | b'}') {
        if out.ends_with(',') {
            out.pop();
            if out.ends_with(' ') {
                out.pop();
            }
        }
    } else if !out.ends_with(['(', '[', '{']) {
        out.push(' ');
    }
}

/// `char::is_whitespace` of an ASCII byte.
fn is_ascii_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// The byte index of the bracket that closes the one at `open` (`(`, `[` or `{`, any
/// kind counted), or `None` if the text ends first.
pub fn matching_bracket(text: &str, open: usize) -> Option<usize> {
    let mut depth = 0usize;
    text.as_bytes()[open..]
        .iter()
        .position(|&b| {
            match b {
                b'(' | b'[' | b'{' => depth += 1,
                b')' | b']' | b'}' => depth = depth.saturating_sub(1),
                _ => return false,
            }
            depth == 0
        })
        .map(|k| open + k)
}

/// The last bracketed group of a text, as the byte indexes of its `(`/`[` and of the
/// bracket that closes it: a call's own arguments (`a(x).b(y, z)` -> `(y, z)`).
pub fn last_group(text: &str) -> Option<(usize, usize)> {
    let (mut depth, mut close) = (0i32, None);
    for (i, ch) in text.char_indices().rev() {
        match ch {
            ')' | ']' => {
                if depth == 0 {
                    close = Some(i);
                }
                depth += 1;
            }
            '(' | '[' => {
                depth -= 1;
                if depth == 0 {
                    return close.map(|c| (i, c));
                }
            }
            _ => {}
        }
    }
    None
}

/// The parts of `text` between commas outside any brackets (`a, f(b, c), d` -> `a`,
/// `f(b, c)`, `d`), untrimmed.
pub fn split_top_level(text: &str) -> impl Iterator<Item = &str> {
    split_top_level_at(text, ',')
}

/// The parts of `text` between `sep`s outside any brackets, untrimmed: arguments at `,`, a
/// block's statements at `;` (the last part is what follows the last separator).
pub fn split_top_level_at(text: &str, sep: char) -> impl Iterator<Item = &str> {
    let mut depth = 0i32;
    let mut start = 0;
    let mut parts = Vec::new();
    for (i, ch) in text.char_indices() {
        match ch {
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth -= 1,
            c if c == sep && depth == 0 => {
                parts.push(&text[start..i]);
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts.into_iter()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Language;

    /// `normalize_ws` a character at a time, as plainly as it can be written: the fast one
    /// must give what it gives.
    fn normalize_ws_by_char(s: &str, max: usize) -> String {
        let mut out = String::new();
        let mut gap = false;
        for c in s.chars() {
            if c.is_whitespace() {
                gap = true;
                continue;
            }
            if gap && !out.is_empty() {
                if matches!(c, ')' | ']' | '}') {
                    if out.ends_with(',') {
                        out.pop();
                        if out.ends_with(' ') {
                            out.pop();
                        }
                    }
                } else if !out.ends_with(['(', '[', '{']) {
                    out.push(' ');
                }
            }
            gap = false;
            out.push(c);
            if out.len() >= max {
                out.push('…');
                break;
            }
        }
        out
    }

    #[test]
    fn whitespace_is_collapsed_as_a_character_at_a_time() {
        let texts = [
            "",
            " ",
            "for y in range(224):",
            "  for   x\tin\n\r\x0b\x0c items :  ",
            "requests.get( url ,\n    timeout=None )",
            "self.queue.get(\n    fail=False,\n    timeout=timeout,\n)",
            "while (  # why\n    x := f()\n) is None:",
            "[ a, b ,\t] { }",
            "s = \"héllo\u{a0}wörld\u{85}end\u{3000}x\"",
            "\u{a0}\u{a0}a\u{2028}b  ",
            "ab cd ef gh ij kl mn op qr st uv wx yz",
        ];
        for t in texts {
            for max in 0..t.len() + 3 {
                assert_eq!(
                    normalize_ws(t, max),
                    normalize_ws_by_char(t, max),
                    "{t:?} {max}"
                );
            }
        }
    }

    #[test]
    fn brackets_read_as_written_on_one_line() {
        let n = |t: &str| normalize_ws(t, 200);
        assert_eq!(
            n("self.queue.get(\n    fail=False,\n    timeout=timeout,\n)"),
            "self.queue.get(fail=False, timeout=timeout)"
        );
        assert_eq!(
            n("while (\n    x := f()\n) is None:"),
            "while (x := f()) is None:"
        );
        assert_eq!(n("[ a, b ,\t] { }"), "[a, b] {}");
        // A comma with no line break after it is the code's own: a one-element tuple.
        assert_eq!(n("f((x,))"), "f((x,))");
        assert_eq!(n("  a  +  b  "), "a + b");
    }

    #[test]
    fn comments_go_and_strings_stay() {
        let rust = |t: &str| normalize_ws(&strip_comments(t, Language::Rust), 200);
        let python = |t: &str| normalize_ws(&strip_comments(t, Language::Python), 200);
        assert_eq!(
            rust("cx.globals // only global\n    .resolve(x)"),
            "cx.globals .resolve(x)"
        );
        assert_eq!(rust("a /* why */ .b()"), "a .b()");
        assert_eq!(
            rust("get(\"https://x//y\") // fetch"),
            "get(\"https://x//y\")"
        );
        assert_eq!(rust("get(r#\"a \"// b\"#)"), "get(r#\"a \"// b\"#)");
        assert_eq!(rust("f('/', '\\'', x) // c"), "f('/', '\\'', x)");
        assert_eq!(rust("f::<'a>(x) // c"), "f::<'a>(x)");
        assert_eq!(python("f(x)  # why\n.g()"), "f(x) .g()");
        assert_eq!(python("f(\"#fff\", '#') # c"), "f(\"#fff\", '#')");
        assert_eq!(python("f(\"\"\"a # b\"\"\")"), "f(\"\"\"a # b\"\"\")");
        assert_eq!(rust("plain(x)"), "plain(x)");
    }

    #[test]
    fn brackets_and_top_level_commas() {
        let t = "a(x).b(y, f(z, [1, 2]))";
        assert_eq!(matching_bracket(t, 1), Some(3));
        assert_eq!(matching_bracket(t, 6), Some(22));
        assert_eq!(matching_bracket("f(x", 1), None);
        assert_eq!(last_group(t), Some((6, 22)));
        assert_eq!(last_group("no_call"), None);
        let args: Vec<&str> = split_top_level("y, f(z, [1, 2]), {a, b}").collect();
        assert_eq!(args, ["y", " f(z, [1, 2])", " {a, b}"]);
    }
}
