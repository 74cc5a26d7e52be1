//! `blocking-wait-in-async`: synchronous waits on threads, channels, futures or results
//! inside async code.

use super::blocking::{self, Wording};
use crate::{Checker, RuleMeta};
use perfgate_analysis::Effect;
use perfgate_model::{Category, Finding, Language, Severity};

pub struct Rule;

pub static META: RuleMeta = RuleMeta {
    id: "blocking-wait-in-async",
    category: Category::Concurrency,
    severity: Severity::High,
    languages: &[Language::Rust, Language::Python],
    summary: "waiting synchronously on a thread, channel, future or result inside async code",
    doc: r#"## What it does
Finds synchronous waits in async code: `JoinHandle::join()`, `mpsc::Receiver::recv()`,
`futures::executor::block_on`, `Runtime::block_on`, `Condvar::wait`, `future.result()`,
`thread.join()`, `queue.get()`, `loop.run_until_complete()`, `submit_and_wait`-style calls
— directly or through synchronous helpers. A wait in a closure handed to a constructor
(`Provider::new(move || lock.blocking_read())`) runs later, where the closure is called
(usually a worker thread), and is not reported; nor is one in a branch taken only in debug
mode, nor one in a branch taken only where no runtime runs on the thread (the `Err` arm of
`Handle::try_current()`, the `else` of `if let Ok(handle) = Handle::try_current()`: a
function callable from sync and async code alike builds its own runtime there), nor one in
a closure handed to a `spawn_blocking` / `block_in_place` method, whatever the receiver (a
runtime `Handle` kept in a field, the project's own pool of that name): re-entering the
runtime with `Handle::current().block_on(..)` there is the idiom. Taking a thread lock
(`with lock:`, `lock.acquire()`, `Mutex::lock()`) is not a wait here: a short critical
section is fine on the executor; a guard held across an await is `lock-across-await`'s.
Scheduling work elsewhere is not waiting for it either
(`asyncio.run_coroutine_threadsafe(..)` alone; its `.result()` is). A `recv()` handed to a
timeout (`timeout(ms, stream.recv()).await`, tokio's or a crate's own wrapper) is a future
awaited through it, as is one polled by a future adaptor (`rx.recv().now_or_never()`,
`tokio::task::unconstrained(rx.recv())`) or called on an async channel the catalogue names
(`tokio::sync::mpsc::Receiver`, `async_channel::Receiver`), wherever it is awaited. A
value annotated with a union of types (`fut: concurrent.futures.Future | asyncio.Future`)
is of no one known type: its `.exception()` may be an asyncio future's, which does not
wait (`Future | None` is a `Future`).

## Why is this bad?
The executor thread sits idle until the other side finishes, and cannot run the tasks that
might be the ones producing the result: at best latency, at worst a deadlock
(`block_on` inside a runtime panics in tokio; a `.result()` on a future scheduled on the
same loop never completes).

## Example
```python
async def submit(self, task):
    future = self.executor.submit(run_task, task)
    return future.result()
```

## Use instead
```python
async def submit(self, task):
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(self.executor, run_task, task)
```
In Rust, `.await` the `JoinHandle` of a `tokio::task::spawn_blocking`, or use
`tokio::sync` channels with `.recv().await`.
"#,
};

const WORDING: Wording = Wording {
    what: "a synchronous wait",
    impact: "the executor thread idles until the other side finishes and cannot run the tasks that may produce the result: latency, or a deadlock",
    fix_rust: "await the async form (a tokio channel, a JoinHandle, `.await`) instead of `{}`",
    fix_python: "await the result (asyncio.wrap_future, asyncio.Event, asyncio.Queue) instead of `{}`",
};

impl crate::Rule for Rule {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }
    fn check(&self, cx: &Checker, out: &mut Vec<Finding>) {
        blocking::check(cx, &META, Effect::Wait, &WORDING, out);
    }
}
