//! `blocking-sleep-in-async`: thread sleeps reached from async code.

use super::blocking::{self, Wording};
use crate::{Checker, RuleMeta};
use perfgate_analysis::Effect;
use perfgate_model::{Category, Finding, Language, Severity};

pub struct Rule;

pub static META: RuleMeta = RuleMeta {
    id: "blocking-sleep-in-async",
    category: Category::Concurrency,
    severity: Severity::High,
    languages: &[Language::Rust, Language::Python],
    summary: "`std::thread::sleep` / `time.sleep` reached from async code",
    doc: r#"## What it does
Finds `std::thread::sleep` and `time.sleep` called from async code, directly or through
synchronous helpers (a retry helper that sleeps between attempts, say). A zero sleep
(`time.sleep(0)`) only yields the thread and is not reported; nor are calls in a branch
taken only in debug mode or in a closure handed to a constructor to run later.

## Why is this bad?
A thread sleep inside a task puts the whole executor thread to sleep: no other task on it
makes progress until the sleep ends. In asyncio that is the entire event loop.

## Example
```python
async def poll_status(self, job_id):
    while not self.done(job_id):
        time.sleep(0.5)
```

## Use instead
```python
async def poll_status(self, job_id):
    while not self.done(job_id):
        await asyncio.sleep(0.5)
```
In Rust use `tokio::time::sleep(d).await`. Better still, wait on an event rather than
polling (see `busy-wait`).
"#,
};

const WORDING: Wording = Wording {
    what: "a thread sleep",
    impact: "puts the executor thread to sleep: no other task on it runs until the sleep ends (in asyncio, the whole event loop)",
    fix_rust: "use tokio::time::sleep(..).await instead of `{}`",
    fix_python: "use `await asyncio.sleep(...)` instead of `{}`",
};

impl crate::Rule for Rule {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }
    fn check(&self, cx: &Checker, out: &mut Vec<Finding>) {
        blocking::check(cx, &META, Effect::Sleep, &WORDING, out);
    }
}
