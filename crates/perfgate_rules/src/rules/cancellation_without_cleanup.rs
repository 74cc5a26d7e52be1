//! `cancellation-without-cleanup`: cancellation or timeout handlers that abandon in-flight
//! GPU work without waiting for or releasing it.

use crate::checker::Draft;
use crate::{Checker, RuleMeta};
use perfgate_analysis::{Analysis, CallId, CallInfo, FuncId, Shape, Step, Target};
use perfgate_catalog::Kind;
use perfgate_model::{
    Callee, Category, Confidence, Finding, HandlerKind, Language, Receiver, Severity, Span,
};
use rustc_hash::FxHashSet;

pub struct Rule;

pub static META: RuleMeta = RuleMeta {
    id: "cancellation-without-cleanup",
    category: Category::Concurrency,
    severity: Severity::High,
    languages: &[Language::Python, Language::Rust],
    summary: "cancellation or timeout handlers that drop in-flight GPU work without releasing it",
    doc: r#"## What it does
Finds `except asyncio.CancelledError` / `except TimeoutError` handlers (and `Err` arms of a
`tokio::time::timeout` match) that guard GPU work — the `try` body (or the future under the
timeout), a helper it calls within three calls, or, for a model object perfgate cannot see
into (`await self.pipeline.generate(..)`), the rest of its class uses torch/CUDA — when the
handler re-raises or returns without synchronising or releasing that work: no
`torch.cuda.synchronize()`, `torch.cuda.empty_cache()`, stream synchronisation,
`.cancel()`, `.close()` or similar. A handler around an RPC, a queue or a lock in a
GPU-heavy class stays silent: no GPU work is in flight where it is cancelled.

## Why is this bad?
Cancelling the Python coroutine does not stop kernels already queued on the GPU. They keep
running, and keep their memory, while the next request starts: the next generation sees a
device in an inconsistent state, runs slower than its budget, or fails with out-of-memory.

## Example
```python
try:
    video = await asyncio.wait_for(self.pipeline.generate(recipe), timeout=15)
except asyncio.CancelledError:
    logger.warning("slot %s cancelled", slot_id)
    raise
```

## Use instead
```python
try:
    video = await asyncio.wait_for(self.pipeline.generate(recipe), timeout=15)
except asyncio.CancelledError:
    logger.warning("slot %s cancelled", slot_id)
    torch.cuda.synchronize()  # let in-flight kernels finish before the next slot
    torch.cuda.empty_cache()
    raise
```
"#,
};

/// Method names that release or wait for in-flight work.
const CLEANUP: &[&str] = &[
    "synchronize",
    "empty_cache",
    "cancel",
    "close",
    "aclose",
    "release",
    "cleanup",
    "shutdown",
    "terminate",
    "kill",
    "reset",
    "free",
    "abort",
    "dispose",
    "unload",
    "stop",
];

impl crate::Rule for Rule {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Checker, out: &mut Vec<Finding>) {
        let a = cx.a;
        // Only a function that drives GPU work, itself or through a helper, is reported:
        // with no GPU call in the project there is nothing to find.
        if a.calls_with_kind(Kind::Gpu).is_empty() {
            return;
        }
        for fid in cx.functions_with(Shape::HANDLERS) {
            let f = a.func(fid);
            for (hi, h) in f.handlers.iter().enumerate() {
                // Cancellation reaches a coroutine at an await only: a synchronous
                // function's `except BaseException` is cleanup for errors.
                let cancellable = h.kind == HandlerKind::Timeout
                    || (h.kind == HandlerKind::Cancelled && f.is_async);
                if !cancellable || !h.exits {
                    continue;
                }
                let cleans = a.calls_of(fid).any(|cid| {
                    let c = a.call(cid);
                    c.ctx.handler() == Some(hi as u32) && is_cleanup(a, cid)
                });
                if cleans {
                    continue;
                }
                let Some(evidence) = guards_gpu(a, fid, h.guarded) else {
                    continue;
                };
                let what = match h.kind {
                    HandlerKind::Cancelled => "cancellation",
                    _ => "timeout",
                };
                cx.emit(
                    Draft {
                        meta: &META,
                        func: fid,
                        span: perfgate_model::Span { start: h.span.start, end: h.span.start + first_line_len(a, fid, h.span) },
                        message: format!(
                            "{what} handler abandons in-flight GPU work without synchronising or releasing it"
                        ),
                        impact: "kernels queued before the cancellation keep running and holding memory while the next request starts: inconsistent device state, missed budgets, out-of-memory".into(),
                        fix: "before re-raising, wait for or release the work: torch.cuda.synchronize() (and torch.cuda.empty_cache()), or cancel/close what was started".into(),
                        trace: vec![Step { func: fid, span: h.span, call: None, note: format!("{what} handler exits without cleanup") }, evidence],
                        confidence: Confidence::Certain,
                    },
                    out,
                );
            }
        }
    }
}

fn first_line_len(a: &Analysis, fid: FuncId, span: perfgate_model::Span) -> u32 {
    let text = a.file(fid).slice(span);
    text.find('\n').unwrap_or(text.len()) as u32
}

fn is_cleanup(a: &Analysis, cid: perfgate_analysis::CallId) -> bool {
    let info = a.info(cid);
    if info.has_kind(Kind::GpuCleanup) {
        return true;
    }
    let name = a.call(cid).callee.last_name();
    CLEANUP.iter().any(|c| name.contains(c))
}

/// Where the code a handler guards drives GPU work: a call in it, or a helper within three
/// calls of one. A method called on `self` or on one of its fields that perfgate cannot
/// resolve (`self.pipeline.generate(..)` on a model object) is taken to drive the GPU work
/// that the rest of its class does. Work the function did elsewhere is not in flight when
/// the guarded code is cancelled.
fn guards_gpu(a: &Analysis, fid: FuncId, guarded: Span) -> Option<Step> {
    let inside = |cid: CallId| guarded.encloses(a.call(cid).span);
    let mut seen = FxHashSet::default();
    let mut frontier = Vec::new();
    let mut opaque_self_call = false;
    for (cid, info) in a.known_calls(fid).filter(|(cid, _)| inside(*cid)) {
        if let Some(step) = gpu_step(a, fid, cid, info) {
            return Some(step);
        }
        if let Target::Project { func, .. } = info.target {
            frontier.push(func);
        }
    }
    for cid in a.calls_of(fid).filter(|cid| inside(*cid)) {
        // A method guessed by its name alone is as good as unresolved here.
        let unresolved = !matches!(
            a.info(cid).target,
            Target::Project {
                confidence: Confidence::Certain,
                ..
            }
        );
        let on_self = matches!(
            &a.call(cid).callee,
            Callee::Method {
                recv: Receiver::SelfValue | Receiver::SelfField(_),
                ..
            }
        );
        opaque_self_call |= unresolved && on_self;
    }
    seen.insert(fid);
    if let Some(step) = reach_gpu(a, frontier, &mut seen, 3) {
        return Some(step);
    }
    let owner = &a.func(fid).owner;
    if !opaque_self_call || owner.is_none() {
        return None;
    }
    let n = a.file(fid).module.functions.len() as u32;
    let methods = (0..n)
        .map(|func| FuncId {
            file: fid.file,
            func,
        })
        .filter(|g| &a.func(*g).owner == owner)
        .collect();
    reach_gpu(a, methods, &mut FxHashSet::default(), 3)
}

/// The first GPU call within `depth` calls of the functions in `frontier`.
fn reach_gpu(
    a: &Analysis,
    mut frontier: Vec<FuncId>,
    seen: &mut FxHashSet<FuncId>,
    depth: usize,
) -> Option<Step> {
    for _ in 0..depth {
        let mut next = Vec::new();
        for g in frontier {
            if !seen.insert(g) {
                continue;
            }
            for (cid, info) in a.known_calls(g) {
                if let Some(step) = gpu_step(a, g, cid, info) {
                    return Some(step);
                }
                if let Target::Project { func, .. } = info.target {
                    next.push(func);
                }
            }
        }
        frontier = next;
    }
    None
}

fn gpu_step(a: &Analysis, g: FuncId, cid: CallId, info: &CallInfo) -> Option<Step> {
    info.has_kind(Kind::Gpu).then(|| Step {
        func: g,
        span: a.call(cid).span,
        call: Some(cid.call),
        note: format!("GPU work: {}", a.callee_name(cid)),
    })
}
