//! `lock-across-await`: a synchronous lock guard alive across an `.await`.

use crate::checker::Draft;
use crate::{Checker, RuleMeta};
use perfgate_analysis::resolve::TypeRef;
use perfgate_analysis::{Shape, Step};
use perfgate_catalog::Kind;
use perfgate_model::{Category, Confidence, Finding, Language, LockKind, Receiver, Severity, Span};

pub struct Rule;

pub static META: RuleMeta = RuleMeta {
    id: "lock-across-await",
    category: Category::Concurrency,
    severity: Severity::High,
    languages: &[Language::Rust, Language::Python],
    summary: "a synchronous lock guard held across an `.await`",
    doc: r#"## What it does
Finds a `std::sync::Mutex`/`RwLock` or `parking_lot` guard (Rust), or a `threading.Lock`
held by `with` (Python), that is still alive when the function awaits. Guards dropped
before the await (`drop(guard)`, an inner block, a temporary in a statement without an
await) and async locks (`tokio::sync::Mutex`, `asyncio.Lock` with `async with`) are fine.
In Python a `with` target counts as a lock by its type or its name, word by word
(`self._lock`, `state_rlock`, `self.cv`): a `self.clock` or a code `block` is not one.

## Why is this bad?
While the task is suspended at the await, the thread lock stays held. Any other task that
tries to take it blocks its executor thread; if that task runs on the same thread as the
holder, the holder can never resume to release it: a deadlock. Even without one, the lock
is held for the full latency of the awaited operation.

## Example
```rust
let mut state = self.state.lock().unwrap();
state.pending += 1;
self.client.notify(&state.id).await?;
```

## Use instead
```rust
let id = {
    let mut state = self.state.lock().unwrap();
    state.pending += 1;
    state.id.clone()
}; // guard dropped here
self.client.notify(&id).await?;
```
or use `tokio::sync::Mutex` when the lock must be held across the await.
"#,
};

impl crate::Rule for Rule {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Checker, out: &mut Vec<Finding>) {
        let a = cx.a;
        for fid in cx.functions_with(Shape::LOCKS) {
            let f = a.func(fid);
            let lang = a.file(fid).module.language;
            for lock in &f.locks {
                if lock.kind != LockKind::Blocking || !(f.is_async || lock.ctx.async_block) {
                    continue;
                }
                if is_async_lock_type(cx, fid, &lock.recv) {
                    continue;
                }
                let held = Span {
                    start: lock.span.end,
                    end: lock.live_until,
                };
                let Some(aw) = f.awaits.iter().find(|aw| {
                    held.contains(aw.span.start)
                        && aw.ctx.in_closure == lock.ctx.in_closure
                        && aw.ctx.async_block == lock.ctx.async_block
                }) else {
                    continue;
                };
                let file = a.file(fid);
                let await_line = file.lines().line(aw.span.start);
                let target = if lock.target.is_empty() {
                    "the lock"
                } else {
                    &lock.target
                };
                let fix = match lang {
                    Language::Rust => "drop the guard before awaiting (scope it in a block or call drop(guard)), or use tokio::sync::Mutex if it must be held across the await".to_owned(),
                    Language::Python => "release the lock before awaiting, or use asyncio.Lock with `async with`".to_owned(),
                };
                cx.emit(
                    Draft {
                        meta: &META,
                        func: fid,
                        span: lock.span,
                        message: format!(
                            "guard of `{target}` is held across the await on line {await_line}"
                        ),
                        impact: "the thread lock stays held while the task is suspended; other tasks that take it block their executor thread, and can deadlock the holder".into(),
                        fix: fix.into(),
                        trace: vec![
                            Step { func: fid, span: lock.span, call: None, note: format!("locks `{target}`") },
                            Step { func: fid, span: aw.span, call: aw.call, note: "awaits while the guard is alive".into() },
                        ],
                        confidence: Confidence::Certain,
                    },
                    out,
                );
            }
        }
    }
}

/// Is the locked value declared as an async lock (`tokio::sync::Mutex`, `asyncio.Lock`)?
fn is_async_lock_type(cx: &Checker, fid: perfgate_analysis::FuncId, recv: &Receiver) -> bool {
    let a = cx.a;
    let Some(TypeRef::External(path)) = a.receiver_type(fid, recv) else {
        return false;
    };
    let lang = a.file(fid).module.language;
    a.catalog.type_is(lang, &path, Kind::AsyncLock)
}
