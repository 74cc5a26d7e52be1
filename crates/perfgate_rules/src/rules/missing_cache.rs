//! `missing-cache`: the same pure, costly computation on constant input repeated on every
//! call of a function that runs per request.

use super::scope;
use crate::checker::Draft;
use crate::{Checker, RuleMeta};
use perfgate_catalog::Kind;
use perfgate_model::{CallFlags, Category, Finding, Language, Severity};
use std::borrow::Cow;

pub struct Rule;

pub static META: RuleMeta = RuleMeta {
    id: "missing-cache",
    category: Category::Algorithmic,
    severity: Severity::Medium,
    languages: &[Language::Rust, Language::Python],
    summary: "the same pure, costly computation repeated on the same input (e.g. tokenising the same prompt every call)",
    doc: r#"## What it does
Finds pure but costly calls — regex compilation (`Regex::new`, `RegexSet::new`), parsing
(`serde_json::from_str`, `json.loads`, `yaml.safe_load`, `ast.literal_eval`), template
compilation, hashing and tokenisation (`tokenizer.encode`, `tiktoken`) — whose arguments
are all literals or named constants, inside functions that run per call. The result is
the same every time, so every call after the first is wasted work.

Not reported: calls at module level or in `static`/`LazyLock`/`OnceLock` initialisers,
in constructors and start-up code, in the synchronous methods of a type named `*Loader`
(a model loader's `isq_layer_regexes` runs once per load; a GraphQL `DataLoader`'s async
`load` runs per batch and is checked), in memoized functions (`@lru_cache`, `#[cached]`),
and calls whose input varies, or that take keyword options only
(`hashlib.md5(usedforsecurity=False)` makes a fresh hasher, fed afterwards), or whose cost
grows with an input that is a short string literal (`serde_json::from_str("null")`,
`json.loads("{}")`: under 8 bytes, as the catalogue's `min_literal` says). Python's
`re.compile` is not listed: the `re` module keeps its own cache of compiled patterns.

## Why is this bad?
Compiling a regex costs microseconds to milliseconds, tokenising a long system prompt or
parsing a JSON schema similar; paid per request it is often the largest fixed cost of a
fast handler, and it allocates on every call.

## Example
```rust
fn is_valid_id(s: &str) -> bool {
    let re = Regex::new(r"^[a-z0-9]{8}-[a-z0-9]{4}$").unwrap();
    re.is_match(s)
}
```

## Use instead
```rust
static ID: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^[a-z0-9]{8}-[a-z0-9]{4}$").unwrap());

fn is_valid_id(s: &str) -> bool {
    ID.is_match(s)
}
```
In Python, compute it once at module level or wrap it in `functools.cache`.
"#,
};

/// Are the call's arguments string literals of fewer than `min` bytes in all
/// (`serde_json::from_str("null")`, `json.loads("{}")`)? A named constant may be long.
fn short_literals(call: &str, min: u32) -> bool {
    let Some((open, close)) = perfgate_model::last_group(call) else {
        return false;
    };
    let mut total = 0;
    for arg in perfgate_model::split_top_level(&call[open + 1..close]) {
        let arg = arg.trim();
        if arg.is_empty() {
            continue;
        }
        // Prefixes (`b"..."`, `r"..."`, `rb'...'`, `r#"..."#`), then one pair of quotes.
        let body = arg.trim_start_matches(|c: char| c.is_ascii_alphabetic() || c == '#');
        let body = body.trim_end_matches('#');
        let quoted = ['"', '\'']
            .iter()
            .any(|&q| body.len() >= 2 && body.starts_with(q) && body.ends_with(q));
        if !quoted || body.starts_with("\"\"\"") || body.starts_with("'''") {
            return false;
        }
        total += body.len() - 2;
    }
    total < min as usize
}

impl crate::Rule for Rule {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Checker, out: &mut Vec<Finding>) {
        let a = cx.a;
        for &cid in a.calls_with_kind(Kind::CostlyPure) {
            let fid = cid.func;
            if !scope::per_call(a, fid) {
                continue;
            }
            let f = a.func(fid);

            let c = a.call(cid);
            if !c.has(CallFlags::ARGS_CONST) || scope::in_lazy_init(f, cid.call) {
                continue;
            }
            let Some(api) = a.info(cid).api_of(Kind::CostlyPure) else {
                continue;
            };
            if api
                .min_literal
                .is_some_and(|min| short_literals(&a.call_text(cid), min))
            {
                continue;
            }
            let name = scope::short_name(a, cid);
            let note = api.note.as_deref().unwrap_or("a costly computation");
            let where_ = match c.ctx.loop_idx() {
                Some(l) => format!("on every iteration of `{}`", f.loops[l as usize].header),
                None => format!("on every call of `{}`", f.qualname),
            };
            cx.emit(
                Draft {
                    message: format!(
                        "`{name}` {note} with constant arguments {where_}: the result never changes"
                    ),
                    impact: "the same result is recomputed (and allocated) every time, a fixed cost on every request".into(),
                    fix: api
                        .instead
                        .clone()
                        .map_or(Cow::Borrowed("compute it once and reuse it"), Cow::Owned),
                    ..Draft::at_call(&META, a, cid, format!("`{name}`: {note}"))
                },
                out,
            );
        }
    }
}
