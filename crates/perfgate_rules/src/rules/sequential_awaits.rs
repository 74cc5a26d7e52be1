//! `sequential-awaits`: independent awaits run one after the other.

use crate::checker::Draft;
use crate::{Checker, RuleMeta};
use perfgate_analysis::{CallId, FuncId, Shape, Step, Target};
use perfgate_catalog::Kind;
use perfgate_model::{
    Await, Category, Confidence, Finding, Function, Language, Name, Severity, Span,
};
use rustc_hash::FxHashSet;

pub struct Rule;

pub static META: RuleMeta = RuleMeta {
    id: "sequential-awaits",
    category: Category::Concurrency,
    severity: Severity::Medium,
    languages: &[Language::Rust, Language::Python],
    summary: "independent awaits in sequence that could run concurrently",
    doc: r#"## What it does
Finds two or more awaits in one block, each binding a result, where no later await uses
(directly or through the statements in between) the result of an earlier one, and none is
already inside `join!`/`try_join!`/`select!`/`gather`/`create_task`. Only awaits of real
work are considered: the project's own async functions and network calls from the
catalogue — not sleeps, locks or channel operations, whose order is the point.

## Why is this bad?
Each await waits for the previous one to finish: two 800 ms model inferences that could
overlap take 1.6 s instead of 0.8 s. The latency of the whole operation becomes the sum of
its parts instead of the maximum.

## Example
```rust
let score_b32 = self.infer_clip_b32(&image_tensors, &text_tokens).await?;
let score_l14 = self.infer_clip_l14(&image_tensors, &text_tokens).await?;
```

## Use instead
```rust
let (score_b32, score_l14) = tokio::try_join!(
    self.infer_clip_b32(&image_tensors, &text_tokens),
    self.infer_clip_l14(&image_tensors, &text_tokens),
)?;
```
In Python: `a, b = await asyncio.gather(self.infer_a(x), self.infer_b(x))`, or a
`TaskGroup`. If the order matters for a reason the code does not show (rate limits, a
shared connection), suppress with `perfgate: ignore[sequential-awaits]` and say why.
"#,
};

impl crate::Rule for Rule {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Checker, out: &mut Vec<Finding>) {
        let a = cx.a;
        for fid in cx.functions_with(Shape::AWAITS) {
            let f = a.func(fid);
            if !f.is_async {
                continue;
            }
            let cands: Vec<&Await> = f.awaits.iter().filter(|aw| is_work(cx, fid, aw)).collect();
            let mut used = vec![false; cands.len()];
            for i in 0..cands.len() {
                if used[i] {
                    continue;
                }
                let mut group = vec![i];
                for j in i + 1..cands.len() {
                    let y = cands[j];
                    if used[j] || y.ctx.block != cands[i].ctx.block {
                        continue;
                    }
                    if group.iter().all(|&g| {
                        cands[g].ctx.stmt < y.ctx.stmt
                            && independent(f, cands[g], y)
                            && !same_object(cx, fid, cands[g], y)
                    }) {
                        group.push(j);
                    }
                }
                if group.len() < 2 {
                    continue;
                }
                for &g in &group {
                    used[g] = true;
                }
                emit(
                    cx,
                    fid,
                    &group.iter().map(|&g| cands[g]).collect::<Vec<_>>(),
                    out,
                );
            }
        }
    }
}

/// An await of real, independent-looking work: a project async function or a remote call,
/// binding a result, not already concurrent.
fn is_work(cx: &Checker, fid: FuncId, aw: &Await) -> bool {
    let Some(call) = aw.call else { return false };
    if aw.binds.is_empty() || aw.ctx.in_closure || aw.ctx.parent_call().is_some() {
        return false;
    }
    let cid = CallId { func: fid, call };
    let info = cx.a.info(cid);
    if info.concurrent {
        return false;
    }
    match &info.target {
        Target::Project { func, confidence } => {
            *confidence == Confidence::Certain && cx.a.is_async(*func)
        }
        _ => info.has_kind(Kind::Remote),
    }
}

/// Two calls on the same local object (`client.info()`, then `client.warmup()`) usually
/// follow that object's protocol; their order is not ours to change.
fn same_object(cx: &Checker, fid: FuncId, x: &Await, y: &Await) -> bool {
    let recv = |aw: &Await| {
        let call = cx.a.call(CallId {
            func: fid,
            call: aw.call?,
        });
        match &call.callee {
            perfgate_model::Callee::Method {
                recv: perfgate_model::Receiver::Local(n),
                ..
            } => Some(n.clone()),
            _ => None,
        }
    };
    matches!((recv(x), recv(y)), (Some(a), Some(b)) if a == b)
}

/// Does `later` not depend on `earlier`, through the statements between them? Writes to
/// object state (`self.user = ...`) between or by them order them too: the second call may
/// read that state (a login before a profile fetch).
fn independent(f: &Function, earlier: &Await, later: &Await) -> bool {
    let block = &f.blocks[earlier.ctx.block as usize];
    let writes_state = |defs: &[Name]| defs.iter().any(|d| d.contains('.'));
    if writes_state(&earlier.binds) {
        return false;
    }
    if block.stmts[(earlier.ctx.stmt as usize + 1)..(later.ctx.stmt as usize)]
        .iter()
        .any(|s| writes_state(&s.defs))
    {
        return false;
    }
    let mut tainted: FxHashSet<&str> = earlier.binds.iter().map(Name::as_str).collect();
    for s in &block.stmts[(earlier.ctx.stmt as usize + 1)..(later.ctx.stmt as usize)] {
        if s.uses.iter().any(|u| tainted.contains(u.as_str())) {
            tainted.extend(s.defs.iter().map(Name::as_str));
        }
        // A statement that redefines a name the later await reads orders them too.
        if s.defs.iter().any(|d| later.uses.iter().any(|u| u == d)) {
            return false;
        }
    }
    let stmt = &block.stmts[later.ctx.stmt as usize];
    !later
        .uses
        .iter()
        .chain(stmt.uses.iter())
        .any(|u| tainted.contains(u.as_str()))
}

fn emit(cx: &Checker, fid: FuncId, group: &[&Await], out: &mut Vec<Finding>) {
    let a = cx.a;
    let lang = a.file(fid).module.language;
    let names: Vec<String> = group
        .iter()
        .map(|aw| {
            a.callee_name(CallId {
                func: fid,
                call: aw.call.expect("work awaits have calls"),
            })
        })
        .collect();
    let shown: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    let first = group[0];
    let last = group[group.len() - 1];
    let span = Span {
        start: first.span.start,
        end: last.span.end,
    };
    let trace = group
        .iter()
        .zip(&names)
        .map(|(aw, n)| Step {
            func: fid,
            span: aw.span,
            call: aw.call,
            note: format!("awaits {n}, binding {}", aw.binds.join(", ")),
        })
        .collect();
    let fix =
        match lang {
            Language::Rust => format!(
                "run them concurrently: `let ({}) = tokio::try_join!(...)?` (or tokio::join!)",
                group
                    .iter()
                    .map(|aw| aw.binds.join(", "))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Language::Python => {
                format!(
            "run them concurrently: `{} = await asyncio.gather(...)` (or an asyncio.TaskGroup)",
            group.iter().map(|aw| aw.binds.join(", ")).collect::<Vec<_>>().join(", ")
        )
            }
        };
    cx.emit(
        Draft {
            meta: &META,
            func: fid,
            span,
            message: format!(
                "{} independent awaits run one after the other: {}",
                group.len(),
                shown.join(", ")
            ),
            impact:
                "the total latency is the sum of the awaited operations instead of the slowest one"
                    .into(),
            fix: fix.into(),
            trace,
            confidence: Confidence::Certain,
        },
        out,
    );
}
