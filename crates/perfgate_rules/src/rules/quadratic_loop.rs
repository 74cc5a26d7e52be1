//! `quadratic-loop`: nested loops over the same collection, linear scans of a list inside
//! a loop, and string building by `+=` in Python loops.

use super::scope;
use crate::checker::Draft;
use crate::{Checker, RuleMeta};
use perfgate_analysis::{Analysis, FuncId, Shape, Step};
use perfgate_model::{
    CallFlags, Category, Confidence, Finding, Function, Language, LoopKind, Receiver, Severity,
    Span, TripCount,
};

pub struct Rule;

pub static META: RuleMeta = RuleMeta {
    id: "quadratic-loop",
    category: Category::Algorithmic,
    severity: Severity::Medium,
    languages: &[Language::Rust, Language::Python],
    summary: "nested loops over the same or proportional collections; linear membership tests inside loops",
    doc: r#"## What it does
Finds three shapes of accidental O(n²) work:
- a loop nested in another loop over the same collection (`for a in items: for b in items:`,
  `for i in 0..v.len() { for j in 0..v.len() {`);
- a linear search of a list inside a loop: `x in some_list`, `some_list.index(x)`,
  `.count(x)`, `.remove(x)` in Python; `vec.contains(&x)`, `vec.iter().position(..)`,
  `.find(..)`, `.any(..)` on a `Vec` or slice in Rust — when the searched value is known to
  be a list, tuple, `Vec` or slice;
- Python strings held in an attribute grown with `self.s += "..."` inside a loop.

A collection searched twice on one line (`if t in markers or t.lower() in markers:`) is one
finding: one fix serves both searches. A search made by the `return` (or `raise`) that ends
a loop (`if e.kind == "owner": return names.index(e.name)`) runs once, as the function
ends, and is not reported.

Not reported: membership tests on sets and dicts (or values whose type is unknown), on Rust
arrays whose size is in their type (`[char; N]`), on literal collections of constants
(`valid = ("a", "b", "c")`, `junk = COMMENT, NL`, a class attribute
`SUPPORTED: ClassVar[List[str]] = ["bash", "python"]` read as `self.SUPPORTED`, a parameter
whose default is one, `fields: list = ["prompt", "completion"]`, a field the constructor
sets to one and no method of its class changes, `self.full_attention = [7, 15, 23, 31]`) or
of an enum's members (`ops = [op.value for op in Operator]`), inner loops over a name bound
anew inside the outer loop (`Value::Array(arr) => for v in arr`, `items = item.children`),
loops over small constant ranges, searches of a collection rebuilt on each iteration, every
pair of one collection's indexes visited with no way out of the inner loop
(`for j in range(len(d)): for k in range(len(d)):`), loops nested over one iterator
(`it = iter(args)`, `line.chars()`: the inner loop goes on where the outer one stopped,
which is linear), grids (`for row in range(SIZE): for col in range(SIZE)`: counts up to a
bound, not a collection's items), searches in a `while let` header that start where the last
one stopped (`hay[from..].iter().position(..)`), comprehensions of every pair with no
condition (`[a + b for a in t for b in t]`: the n² items are the result), searches in an
exception handler (they run when an attempt fails) or in a loop that sleeps each round (a
retry or a poll: its rounds are attempts, not data), an inner loop in a `return` that ends
the outer one's search (`return [x for x in items if ..]` inside `for e in items`: it runs
once), and `s += ...` on a local string (CPython resizes a string in place when nothing else
refers to it).

## Why is this bad?
Each search walks the whole list, so a loop over n items doing one costs n²/2
comparisons: 10,000 items mean 50 million comparisons where a set or dict lookup would need
10,000. `self.s += ...` copies the string built so far on every iteration.

## Example
```python
def dedupe(events):
    seen = []
    out = []
    for e in events:
        if e.id not in seen:
            seen.append(e.id)
            out.append(e)
    return out
```

## Use instead
```python
def dedupe(events):
    seen = set()
    out = []
    for e in events:
        if e.id not in seen:
            seen.add(e.id)
            out.append(e)
    return out
```
Build strings with `"".join(parts)`; in Rust use a `HashSet`/`HashMap` index built once
before the loop.
"#,
};

/// Linear searches, by method name.
const SCANS_PY: &[&str] = &["__contains__", "index", "count", "remove"];
const SCANS_RS: &[&str] = &["contains", "position", "rposition", "find", "any", "all"];

impl crate::Rule for Rule {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Checker, out: &mut Vec<Finding>) {
        let a = cx.a;
        for fid in cx.functions_with(Shape::LOOPS) {
            let f = a.func(fid);
            nested_same_collection(cx, fid, out);
            let lang = scope::lang_of(a, fid);
            let mut paced = None;
            // One finding per collection scanned on a line (`if a in xs or b in xs:`): one
            // fix serves both scans.
            let mut reported: Vec<(u32, u32, String)> = Vec::new();
            for cid in a.calls_of(fid) {
                let c = a.call(cid);
                let Some(li) = c.ctx.loop_idx() else { continue };
                // Named in the message: the loop that repeats the scan many times.
                let Some(hot) = scope::hot_loop(f, li) else {
                    continue;
                };
                // A loop that sleeps each round (retrying, polling) runs as many rounds as
                // its attempts, not as its data: a scan in it is not O(n·m).
                if paced
                    .get_or_insert_with(|| scope::paced_loops(a, fid))
                    .contains(&li)
                {
                    continue;
                }
                let Some((name, root)) = scope::method_on(f, cid.call) else {
                    continue;
                };
                // In an exception handler (`except CancelledError: waiters.remove(w); raise`,
                // a retry's `if type(e).__name__ in self.skip: raise`): it runs when an
                // attempt fails, not on every iteration.
                if c.ctx.handler().is_some() {
                    continue;
                }
                let l = &f.loops[li as usize];
                // Computed by a `return` inside the loop (`if found { return
                // names.contains(x) }`): once, as the function ends, not per round; a loop made
                // in the `return` itself still multiplies.
                if c.has(CallFlags::ON_EXIT) && !l.then_returns {
                    continue;
                }
                // `while let Some(i) = hay[from..].iter().position(..)`: each search starts
                // where the last one stopped, the find-next idiom, linear in all.
                let in_header = l.header_span().contains(c.span.start);
                if in_header && l.is_while_let() {
                    continue;
                }
                if name == "__iadd__" && c.has(CallFlags::OPERATOR) {
                    let Receiver::SelfField(s) = &root else {
                        continue;
                    };
                    emit(
                        cx,
                        fid,
                        c.span,
                        format!(
                            "string `self.{s}` is grown with `+=` on every iteration of `{}`",
                            f.loops[hot as usize].header
                        ),
                        "each `+=` copies the whole string built so far: quadratic in its final length".into(),
                        "collect the pieces in a list and `\"\".join(...)` them after the loop".to_owned(),
                        out,
                    );
                    continue;
                }
                let scans = match lang {
                    Language::Python => SCANS_PY,
                    Language::Rust => SCANS_RS,
                };
                if !scans.contains(&name) {
                    continue;
                }
                // `remove`, `index` and `count` take an argument; operators are one.
                if lang == Language::Python && name != "__contains__" && c.n_args != 1 {
                    continue;
                }
                let Some(kind) = sequence_type(a, fid, root, c.span.start, li) else {
                    continue;
                };
                let target = match &root {
                    Receiver::Local(n) => n.to_string(),
                    Receiver::SelfField(n) => format!("self.{n}"),
                    _ => continue,
                };
                let line = a.file(fid).lines().line(c.span.start);
                if reported
                    .iter()
                    .any(|(l, at, t)| *l == li && *at == line && *t == target)
                {
                    continue;
                }
                reported.push((li, line, target.clone()));
                let op = if name == "__contains__" {
                    format!("`in {target}`")
                } else {
                    format!("`{target}.{name}(..)`")
                };
                let fix = match lang {
                    Language::Python => format!(
                        "keep a set (or dict) alongside `{target}` and test membership there"
                    ),
                    Language::Rust => {
                        format!("index `{target}` once before the loop in a `HashSet`/`HashMap`")
                    }
                };
                emit(
                    cx,
                    fid,
                    c.span,
                    format!(
                        "{op} scans the {kind} `{target}` on every iteration of `{}`",
                        f.loops[hot as usize].header
                    ),
                    format!("each iteration walks the whole {kind}: O(n·m) comparisons where a hash lookup is O(1)"),
                    fix,
                    out,
                );
            }
        }
    }
}

fn emit(
    cx: &Checker,
    fid: FuncId,
    span: Span,
    message: String,
    impact: String,
    fix: String,
    out: &mut Vec<Finding>,
) {
    cx.emit(
        Draft {
            meta: &META,
            func: fid,
            span,
            message: message.clone(),
            impact: impact.into(),
            fix: fix.into(),
            trace: vec![Step {
                func: fid,
                span,
                call: None,
                note: message,
            }],
            confidence: Confidence::Certain,
        },
        out,
    );
}

/// A loop inside a loop over the same data.
fn nested_same_collection(cx: &Checker, fid: FuncId, out: &mut Vec<Finding>) {
    let f = cx.a.func(fid);
    for inner in &f.loops {
        let (Some(root), Some(mut p)) = (&inner.iter_root, inner.parent) else {
            continue;
        };
        if !matches!(inner.trip, TripCount::Dynamic) || inner.vars.iter().any(|v| v == root) {
            continue;
        }
        loop {
            let outer = &f.loops[p as usize];
            // Run once on the way out (`return [x for x in items if ..]` inside a search
            // over `items`): not once per round of the loops around the `return`.
            if inner.then_returns && !outer.then_returns {
                break;
            }
            let key = iter_key(&outer.header);
            // Bound anew inside this outer loop, before the inner one: each outer iteration
            // gives the inner loop a collection of its own.
            let rebound = inner
                .rebound_in
                .is_some_and(|k| outer.span.encloses(f.loops[k as usize].span));
            // `for j in range(len(d)): for k in range(len(d)):` with no way out of the inner
            // loop: every pair of indexes is visited, and the pairs are the work (a search
            // for one would stop when found).
            let all_index_pairs =
                walks_indexes(&outer.header) && walks_indexes(&inner.header) && !inner.has_exit;
            if outer.iter_root.as_ref() == Some(root)
                && !rebound
                && matches!(outer.trip, TripCount::Dynamic)
                && !outer.vars.iter().any(|v| v == root)
                && key == iter_key(&inner.header)
                && !counts_to_a_bound(&key)
                && !all_index_pairs
            {
                // Read from the source text (read again for it): last, and once.
                if is_iterator(cx.a, fid, root, inner.span.start) || is_product(cx.a, fid, inner) {
                    break;
                }
                let span = inner.header_span();
                emit(
                    cx,
                    fid,
                    span,
                    format!(
                        "`{}` iterates over `{root}` inside `{}`, which already iterates over it",
                        inner.header, outer.header
                    ),
                    format!("the body runs len({root})² times"),
                    format!("index `{root}` once (a dict/HashMap keyed by what the inner loop looks for) or sort it and walk it once"),
                    out,
                );
                break;
            }
            match outer.parent {
                Some(pp) => p = pp,
                None => break,
            }
        }
    }
}

/// A comprehension of every pair with no condition (`[a + b for a in tab for b in tab]`):
/// its result has n² items, which is what it is for; no index makes it cheaper. One with
/// an `if` relating the two is a join, and stays reported.
fn is_product(a: &Analysis, fid: FuncId, inner: &perfgate_model::Loop) -> bool {
    let f = a.func(fid);
    let Some(outer) = inner.parent.map(|p| &f.loops[p as usize]) else {
        return false;
    };
    inner.kind == LoopKind::Comprehension
        && outer.kind == LoopKind::Comprehension
        && outer.span == inner.span
        && !a.file(fid).slice(inner.span).contains(" if ")
}

/// Calls that make a one-pass iterator: loops nested over one of them share its items
/// (the inner loop goes on where the outer one stopped), which is linear.
const ITERATOR_MAKERS: &[&str] = &[
    "iter",
    "reversed",
    "map",
    "filter",
    "zip",
    "enumerate",
    "islice",
    "chain",
    "into_iter",
    "iter_mut",
    "chars",
    "bytes",
    "lines",
    "split",
    "peekable",
    "by_ref",
    "drain",
];

/// Is `name`, where the loop at `at` reads it, a local bound to a one-pass iterator
/// (`it = iter(args)`, `let mut it = line.chars();`, a generator expression)?
fn is_iterator(a: &Analysis, fid: FuncId, name: &str, at: u32) -> bool {
    let f = a.func(fid);
    let Some(b) = f.local_before(name, at) else {
        return false;
    };
    let made_by = b
        .init_call
        .and_then(|c| f.calls.get(c as usize))
        .map(|c| c.callee.last_name());
    if made_by.is_some_and(|m| ITERATOR_MAKERS.contains(&m)) {
        return true;
    }
    // `gen = (x for x in xs)`
    a.file(fid)
        .slice(b.span)
        .split_once('=')
        .is_some_and(|(_, rhs)| rhs.trim_start().starts_with('(') && rhs.contains(" for "))
}

/// The right-hand side of a binding is a non-empty bracketed literal (no comprehension) of
/// at most 256 elements: a fixed set of constants, not data. An empty one is built up later.
fn small_literal(binding: &str) -> bool {
    let Some((_, rhs)) = binding.split_once('=') else {
        return false;
    };
    let rhs = rhs.trim();
    let (open, close) = match rhs.chars().next() {
        Some('(') => ('(', ')'),
        Some('[') => ('[', ']'),
        Some('{') => ('{', '}'),
        // `JUNK = tokenize.COMMENT, tokenize.NL`: a tuple without its parentheses.
        _ => return bare_tuple(rhs),
    };
    if rhs.contains(" for ") || !rhs.ends_with(close) || rhs.len() <= 2 {
        return false;
    }
    let mut depth = 0;
    let mut commas = 0;
    for ch in rhs.chars() {
        if ch == open || ch == '(' || ch == '[' || ch == '{' {
            depth += 1;
        } else if ch == close || ch == ')' || ch == ']' || ch == '}' {
            depth -= 1;
        } else if ch == ',' && depth == 1 {
            commas += 1;
        }
    }
    commas < 256
}

/// `a, b, c` of plain names, attributes and literals: a tuple of constants written without
/// parentheses. Calls or comprehensions in it make data of it.
fn bare_tuple(rhs: &str) -> bool {
    let parts: Vec<&str> = rhs
        .trim_end_matches(',')
        .split(',')
        .map(str::trim)
        .collect();
    (2..=256).contains(&parts.len())
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_alphanumeric() || matches!(c, '_' | '.' | '"' | '\'' | '-' | ' '))
        })
}

/// `range(Game.SIZE)`, `0..n`: a count up to a bound, not a collection's length. Two such
/// loops nested walk a grid, not every pair of one collection's items.
fn counts_to_a_bound(key: &str) -> bool {
    (key.starts_with("range(") || key.contains("..")) && !key.contains("len(")
}

/// Does the loop count through a collection's indexes (`range(len(items))`,
/// `0..items.len()`) rather than its items?
fn walks_indexes(header: &str) -> bool {
    header.contains("range(len(") || (header.contains("..") && header.contains(".len()"))
}

/// What a loop header iterates over, without the adapters that do not change the
/// collection: `for (i, x) in enumerate(items)` and `for x in &items.iter()` give `items`.
fn iter_key(header: &str) -> String {
    let Some((_, expr)) = header.split_once(" in ") else {
        return String::new();
    };
    let mut e: String = expr.split_whitespace().collect();
    loop {
        let before = e.len();
        for p in [
            "&mut",
            "&",
            "enumerate(",
            "sorted(",
            "reversed(",
            "list(",
            "range(len(",
            "zip(",
        ] {
            if let Some(rest) = e.strip_prefix(p) {
                e = rest.to_owned();
            }
        }
        for s in [
            ".iter()",
            ".iter_mut()",
            ".into_iter()",
            ".items()",
            ".keys()",
            ".values()",
            ".enumerate()",
            ")",
        ] {
            if let Some(rest) = e.strip_suffix(s) {
                e = rest.to_owned();
            }
        }
        if e.len() == before {
            return e;
        }
    }
}

/// `keywords = [k.value for k in Keyword]` with `Keyword` an enum of the project's: one
/// element per member, a fixed handful written in the code.
fn over_enum(a: &Analysis, fid: FuncId, b: &perfgate_model::Binding) -> bool {
    let f = a.func(fid);
    f.loops.iter().any(|l| {
        l.kind == perfgate_model::LoopKind::Comprehension
            && b.span.encloses(l.span)
            && l.iter_root.as_ref().is_some_and(|root| {
                let Some(perfgate_analysis::resolve::TypeRef::Project { name, file }) =
                    a.resolve_type(fid.file, std::slice::from_ref(root))
                else {
                    return false;
                };
                a.files[file as usize]
                    .module
                    .types
                    .iter()
                    .find(|t| t.name == name)
                    .is_some_and(|t| {
                        t.bases.iter().any(|base| {
                            base.last().is_some_and(|x| {
                                x.ends_with("Enum")
                                    || x.as_str() == "Flag"
                                    || x.as_str() == "IntFlag"
                            })
                        })
                    })
            })
    })
}

/// "list", "tuple", "Vec" or "slice" when the receiver is known to be one, and is not
/// rebuilt inside the loop.
fn sequence_type(
    a: &Analysis,
    fid: FuncId,
    root: &Receiver,
    at: u32,
    li: u32,
) -> Option<&'static str> {
    let f: &Function = a.func(fid);
    // The local's binding, to be read from the source text once the type says it matters;
    // for a field, its declaration in the class body, if it has one.
    let mut bound = None;
    let mut declared = None;
    let ty = match root {
        Receiver::Local(name) => {
            let l = &f.loops[li as usize];
            if f.loops
                .iter()
                .any(|x| x.span.encloses(l.span) && x.vars.iter().any(|v| v == name))
            {
                return None;
            }
            let local = f.local_before(name, at);
            if let Some(b) = local {
                // Rebuilt per iteration: a different, usually small, collection each time.
                if l.span.encloses(b.span)
                    || f.loops
                        .iter()
                        .any(|x| x.span.encloses(l.span) && x.span.encloses(b.span))
                {
                    return None;
                }
                bound = Some(b);
                b.ty.clone()
            } else {
                // A parameter's default (`fields: list[str] = ["prompt", "completion"]`)
                // says what it is for: a handful of names, whatever a caller may pass.
                let b = f.params.iter().find(|b| b.name == name)?;
                bound = Some(b);
                b.ty.clone()
            }
        }
        Receiver::SelfField(field) => {
            let owner = f.owner.as_deref()?;
            let file = &a.file(fid).module;
            let decl = file.types.iter().find(|t| t.name == owner)?;
            let b = decl.fields.iter().find(|b| b.name == field)?;
            declared = Some(b.span);
            b.ty.clone()
        }
        _ => None,
    }?;
    let last = ty.last()?.as_str();
    let kind = match last {
        "list" | "List" => "list",
        "tuple" | "Tuple" => "tuple",
        "Vec" => "Vec",
        "VecDeque" | "deque" => "deque",
        "[]" => "slice",
        _ => return None,
    };
    // `valid_keys = ('name', 'topic', 'nsfw')`: a handful of constants.
    if bound.is_some_and(|b| small_literal(a.file(fid).slice(b.span)) || over_enum(a, fid, b)) {
        return None;
    }
    // `SUPPORTED_LANGUAGES: ClassVar[List[str]] = ["bash", "sh", "python"]` in the class
    // body: a handful of constants too. (`self.queue: List[str] = ["start"]` in a method
    // is where a list that grows begins.)
    if declared.is_some_and(|span| {
        let text = a.file(fid).slice(span);
        small_literal(text)
            && (!text.starts_with("self.") || never_changed(a, fid, root, f.owner.as_deref()))
    }) {
        return None;
    }
    Some(kind)
}

/// Is the field a constant of its class: no method of the class (in its file) adds to it
/// (`self.queue.append(x)`, `self.queue += [x]`, `self.queue[i] = x`), assigns it outside
/// the constructor, or hands it to a project function that could? Then `self.fullatt =
/// [7, 15, 23, 31]` in `__init__` is a handful of constants, as in the class body.
fn never_changed(a: &Analysis, fid: FuncId, field: &Receiver, owner: Option<&str>) -> bool {
    use perfgate_model::{Callee, MutOp};
    let Some(owner) = owner else { return false };
    let module = &a.file(fid).module;
    module
        .functions
        .iter()
        .filter(|f| f.owner.as_deref() == Some(owner))
        .all(|f| {
            let grown = f.calls.iter().any(|c| match &c.callee {
                Callee::Method { recv, name } => {
                    (name == "__iadd__" || super::unbounded_growth::GROW.contains(&name.as_str()))
                        && scope::root_of(f, recv, c.span.start) == field
                }
                _ => false,
            });
            let changed = f
                .mutations()
                .iter()
                .any(|m| matches!(m.op, MutOp::Insert | MutOp::Reset) && &m.target == field);
            let handed_on = f.arg0s().iter().any(|(_, r)| r == field);
            !grown && !changed && !handed_on
        })
}
