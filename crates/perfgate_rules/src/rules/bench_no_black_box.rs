//! `bench-no-black-box`: a benchmark whose inputs or result the optimiser can see through.

use super::scope;
use crate::checker::Draft;
use crate::{Checker, RuleMeta};
use perfgate_model::{CallFlags, Callee, Category, Finding, Language, Severity};

pub struct Rule;

pub static META: RuleMeta = RuleMeta {
    id: "bench-no-black-box",
    category: Category::Benchmarks,
    severity: Severity::Medium,
    languages: &[Language::Rust],
    summary: "a benchmark whose measured value is not passed through `black_box`",
    doc: r#"## What it does
In Rust benchmark routines (`b.iter(|| ..)`, `iter_batched`, `iter_with_large_drop`,
`iter_with_setup`), reports routines that use no `black_box` (`std::hint::black_box`,
`criterion::black_box`, `divan::black_box`) and either
- call the measured function with only literal or constant arguments, which the compiler
  can evaluate at compile time (a method of a value built at run time, `index.get("500")`,
  is not foldable), or
- discard the result (`b.iter(|| { compute(x); })`), which lets it delete the work (work
  that writes through a `&mut`, `append(&mut log, x)`, runs on a value the routine captures,
  `rt.block_on(task())`, or updates a handle a macro returns,
  `counter!("requests").increment(1)`, also through a local,
  `let c = if .. { counter!(..) } else { counter!(..) }; c.increment(1)`, cannot be deleted,
  whatever its inputs; nor can a routine ending in an assertion on its work,
  `assert_eq!(index.len(), N);`, or in a write to a variable it captures,
  `total += hits.len();` — `debug_assert!` is compiled out, and a write to the routine's own
  `let` dies with it; a method with effects on a local bound in the routine counts when the
  local is a handle on captured state, `let hits = registry.counter("hits"); hits.inc()`,
  not when it is the routine's own copy, `let mut v = data.clone(); v.sort()`).

## Why is this bad?
The optimiser sees the whole benchmark: a pure function of constants is folded to its
answer, and a result nobody uses is not computed. The benchmark then measures an empty
loop — nanoseconds — and stays green while the real code regresses.

## Example
```rust
c.bench_function("fib 20", |b| b.iter(|| fibonacci(20)));
```

## Use instead
```rust
c.bench_function("fib 20", |b| b.iter(|| fibonacci(black_box(20))));
```
"#,
};

const ROUTINES: &[&str] = &[
    "iter",
    "iter_batched",
    "iter_batched_ref",
    "iter_with_large_drop",
    "iter_with_setup",
];

impl crate::Rule for Rule {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Checker, out: &mut Vec<Finding>) {
        let a = cx.a;
        for file in cx.project.bench_files.iter().filter(|f| f.kind.is_rust()) {
            let Some(fi) = a.files.iter().position(|s| s.path == file.path) else {
                continue;
            };
            for func in 0..a.files[fi].module.functions.len() {
                let fid = perfgate_analysis::FuncId {
                    file: fi as u32,
                    func: func as u32,
                };
                let f = a.func(fid);
                for (ri, r) in f.calls.iter().enumerate() {
                    let Callee::Method { name, .. } = &r.callee else {
                        continue;
                    };
                    if !ROUTINES.contains(&name.as_str()) || r.n_args == 0 {
                        continue;
                    }
                    let ri = ri as u32;
                    let inside: Vec<&perfgate_model::Call> = f
                        .calls
                        .iter()
                        .filter(|c| c.ctx.in_closure && within(f, c, ri))
                        .collect();
                    let boxed = inside.iter().any(|c| is_black_box(c));
                    if boxed || inside.is_empty() {
                        continue;
                    }
                    let cid = perfgate_analysis::CallId {
                        func: fid,
                        call: ri,
                    };
                    // Whole: how a long routine ends is past what a message quotes.
                    let text = a.call_text_upto(cid, usize::MAX);
                    // `|| fibonacci(20)`: only constants go in. A method of a value the
                    // routine captures (`storage.get(i)`, `res.contains_key("id")`) reads
                    // data the compiler cannot see through.
                    // `|| { work(x); }`: the closure's value is `()`. Work that writes
                    // through a `&mut` (`append(&mut storage, ..)`), or that runs on a value
                    // the routine captures (`rt.block_on(task())`, `tx.send(x)`: a runtime's,
                    // a channel's state) or on a handle a macro hands out
                    // (`counter!(..).inc()`: a metrics registry's), cannot be deleted.
                    // The routine's last statement: the work whose value is dropped.
                    let last = inside
                        .iter()
                        .filter(|c| c.ctx.parent_call() == Some(ri))
                        // `counter!(..).inc()` starts where its receiver does: the outer
                        // call, the longer, is the statement.
                        .max_by_key(|c| (c.span.start, c.span.end));
                    let captured = last.is_some_and(|c| {
                        EFFECTS.contains(&c.callee.last_name())
                            && ((on_captured_value(c) && !bound_within(f, c, r.span))
                                || on_macro_value(f, c))
                    });
                    // Shared state it writes keeps it, however constant its inputs.
                    let constant = !captured
                        && !inside.iter().any(|c| on_captured_value(c))
                        && inside
                            .iter()
                            .any(|c| c.has(CallFlags::ARGS_CONST) && !c.is_macro);
                    let discarded = (text.trim_end_matches(')').trim_end().ends_with(";}")
                        || text.replace(' ', "").contains(";})"))
                        && !captured
                        && !last_statement_keeps(&text)
                        && !inside.iter().any(|c| c.has(CallFlags::EXCLUSIVE));
                    if !constant && !discarded {
                        continue;
                    }
                    let why = if constant {
                        "its inputs are compile-time constants the optimiser can fold"
                    } else {
                        "its result is discarded, so the optimiser may delete the work"
                    };
                    cx.emit(
                        Draft {
                            message: format!("benchmark routine `{}` uses no `black_box`: {why}", scope::short_name(a, cid)),
                            impact: "the benchmark may measure an empty loop and stay green while the real code regresses".into(),
                            fix: "pass inputs through `std::hint::black_box(..)` and return (or black_box) the result".into(),
                            ..Draft::at_call(&META, a, cid, "the measured routine".into())
                        },
                        out,
                    );
                }
            }
        }
    }
}

/// Does the routine's last statement keep its work, though it ends in `;`? An assertion
/// (`assert_eq!(index.len(), N);`: the work decides whether it panics) or a write to a
/// variable the routine captures (`total += hits.len();`: read after the benchmark) cannot
/// be deleted. `debug_assert!` is compiled out of benchmarks, and a write to the routine's
/// own `let` dies with it.
fn last_statement_keeps(routine: &str) -> bool {
    // The closure's body: the last `{ .. }` of the call, its statements split at the `;`s
    // outside brackets.
    let Some(open) = routine.rfind("|{").or_else(|| routine.rfind("| {")) else {
        return false;
    };
    let open = open + routine[open..].find('{').unwrap_or(0);
    let Some(close) = perfgate_model::matching_bracket(routine, open) else {
        return false;
    };
    // Every statement ends in `;` (the caller checked the body does): the part after the
    // last `;` is empty, and the one before it is the routine's last statement.
    let mut stmts: Vec<&str> = perfgate_model::split_top_level_at(&routine[open + 1..close], ';')
        .map(str::trim)
        .collect();
    stmts.pop();
    let Some(last) = stmts.last() else {
        return false;
    };
    if ["assert!(", "assert_eq!(", "assert_ne!("]
        .iter()
        .any(|m| last.starts_with(m))
    {
        return true;
    }
    // `x += ..`, `x = ..`, `*x = ..`, `x.field = ..`: the name written.
    let Some(eq) = last.find('=') else {
        return false;
    };
    let target = last[..eq].trim_end_matches(['+', '-', '*', '/', '%', '|', '&', '^', '<', '>']);
    if last.starts_with("let ") || last[eq + 1..].starts_with('=') || target.ends_with(['!', '=']) {
        return false;
    }
    let name: String = target
        .trim()
        .trim_start_matches('*')
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    !name.is_empty()
        && !stmts.iter().any(|s| {
            let bound = s.strip_prefix("let ").map(|b| b.trim_start_matches("mut "));
            bound.is_some_and(|b| {
                b.starts_with(name.as_str())
                    && !b[name.len()..].starts_with(|c: char| c.is_alphanumeric() || c == '_')
            })
        })
}

/// Is the call inside the arguments of call `outer` (its closure)?
fn within(f: &perfgate_model::Function, c: &perfgate_model::Call, outer: u32) -> bool {
    f.enclosing_calls(c.ctx).any(|p| p == outer)
}

fn is_black_box(c: &perfgate_model::Call) -> bool {
    match &c.callee {
        Callee::Path(p) => p.last().is_some_and(|l| l == "black_box"),
        Callee::Method { name, .. } => name == "black_box",
        Callee::Unknown => false,
    }
}

/// Is the call's receiver a local bound inside `span` (the routine's own `let mut v`) to a
/// value of its own: built there, or copied (`data.clone()`), not a handle on state the
/// routine captures (`let c = CACHE.with(|cell| cell.borrow().clone())`, an `Arc` to a
/// shared counter)?
fn bound_within(
    f: &perfgate_model::Function,
    c: &perfgate_model::Call,
    span: perfgate_model::Span,
) -> bool {
    let Callee::Method {
        recv: perfgate_model::Receiver::Local(name),
        ..
    } = &c.callee
    else {
        return false;
    };
    let Some(b) = f.local_before(name, c.span.start) else {
        return false;
    };
    span.encloses(b.span)
        && match b
            .init_call
            .and_then(|i| f.calls.get(i as usize))
            .map(|i| &i.callee)
        {
            Some(Callee::Method { recv, name, .. }) => {
                COPIES.contains(&name.as_str())
                    || matches!(recv, perfgate_model::Receiver::CallResult(_))
            }
            _ => true,
        }
}

/// Methods whose result is a value of its own, not a view of their receiver's state.
const COPIES: &[&str] = &[
    "clone",
    "cloned",
    "collect",
    "copied",
    "into_owned",
    "to_owned",
    "to_string",
    "to_vec",
];

/// Methods that run work on, or change, the value they are called on (a runtime, a channel,
/// a collection, a lock): called on a value the routine captures, the optimiser must keep
/// them, whatever becomes of their result.
const EFFECTS: &[&str] = &[
    "block_on",
    "spawn",
    "spawn_blocking",
    "send",
    "try_send",
    "recv",
    "try_recv",
    "run",
    "execute",
    "insert",
    "push",
    "remove",
    "write",
    "write_all",
    "flush",
    "lock",
    "store",
    "fetch_add",
    "swap",
    "call",
    // Metrics handles: counters, gauges, histograms.
    "inc",
    "dec",
    "increment",
    "decrement",
    "set",
    "add",
    "sub",
    "record",
    "observe",
    "absolute",
];

/// A method call on what a macro returned, directly or through a local (`let c = if ..
/// { counter!("a") } else { counter!("a", labels) }; c.increment(1)`): macro-built handles
/// point into state the macro's expansion registers, out of the optimiser's reach.
fn on_macro_value(f: &perfgate_model::Function, c: &perfgate_model::Call) -> bool {
    let made_by = match &c.callee {
        Callee::Method {
            recv: perfgate_model::Receiver::CallResult(i),
            ..
        } => Some(*i),
        Callee::Method {
            recv: perfgate_model::Receiver::Local(name),
            ..
        } => f.local_before(name, c.span.start).and_then(|b| b.init_call),
        _ => None,
    };
    made_by.is_some_and(|i| f.calls.get(i as usize).is_some_and(|m| m.is_macro))
}

/// A method call on a value the routine names (`storage.get_value(i)`, `self.index.search`):
/// its result depends on that value, not only on the call's arguments.
fn on_captured_value(c: &perfgate_model::Call) -> bool {
    matches!(
        &c.callee,
        Callee::Method {
            recv: perfgate_model::Receiver::Local(_)
                | perfgate_model::Receiver::SelfField(_)
                | perfgate_model::Receiver::SelfValue,
            ..
        }
    )
}
