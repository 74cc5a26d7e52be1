//! `busy-wait`: polling loops that sleep and re-check instead of waiting on an event.

use crate::checker::Draft;
use crate::{Checker, RuleMeta};
use perfgate_analysis::{CallId, Shape, Step, Target};
use perfgate_catalog::Kind;
use perfgate_model::{Category, Confidence, Finding, Language, LoopKind, Severity};

pub struct Rule;

pub static META: RuleMeta = RuleMeta {
    id: "busy-wait",
    category: Category::Concurrency,
    severity: Severity::Medium,
    languages: &[Language::Rust, Language::Python],
    summary:
        "polling loops that sleep and re-check instead of waiting on an event, condition or future",
    doc: r#"## What it does
Finds `while`/`loop` loops whose body sleeps (`time.sleep`, `asyncio.sleep`,
`std::thread::sleep`, `tokio::time::sleep`) between checks of a condition they exit on, and
does no other work: the loop exists only to wait for something to become true. Retry loops
(the sleep is in an error handler, or the `while` test makes the attempt:
`while not try_unlink(path):`, a project helper that does I/O, or
`while TcpStream::connect(addr).is_err()`, a connection, or what a `while let` takes apart:
`while let Err(e) = store.put(data).await`), periodic workers (the loop body does real work
each round), generators that yield a value each round (a keep-alive `yield "ping"` every 100
ms) and loops that yield with a zero sleep (`await asyncio.sleep(0)` between chunks) are not
reported, nor are loops that sleep for the time left until a deadline
(`await asyncio.sleep(deadline - time.monotonic())`, or a `remaining` computed so in the
loop): a watchdog whose deadline progress pushes back wakes when it may have passed, not at
a fixed period.

## Why is this bad?
Polling trades latency against CPU: a short sleep burns CPU and wakes the scheduler
thousands of times a second; a long one adds up to a full period of latency to every wait.
With `time.sleep` in a thread, the thread is also unavailable meanwhile.

## Example
```python
def get_result(self, task_id, timeout):
    start = time.time()
    while time.time() - start < timeout:
        if task_id in self.results:
            return self.results[task_id]
        time.sleep(0.001)
    raise TimeoutError()
```

## Use instead
```python
async def get_result(self, task_id, timeout):
    event = self.result_events.setdefault(task_id, asyncio.Event())
    await asyncio.wait_for(event.wait(), timeout)
    return self.results[task_id]
```
In Rust: `tokio::sync::Notify`, a `watch` or `oneshot` channel, or a `Condvar` in threads.
"#,
};

/// Calls that only observe state or time: allowed in a polling loop.
const CHECKS: &[&str] = &[
    "time",
    "monotonic",
    "perf_counter",
    "now",
    "elapsed",
    "len",
    "get",
    "contains",
    "load",
    "is_set",
    "is_empty",
    "try_recv",
    "try_lock",
    "exists",
    "done",
    "ready",
    "is_ready",
    "status",
    "poll",
    "debug",
    "info",
    "trace",
    "warn",
    "warning",
    "print",
    "println",
    "is_alive",
    "is_finished",
    "qsize",
    "empty",
    "keys",
    "items",
    "values",
    "as_secs",
    "as_millis",
    "from_millis",
    "from_secs",
    "from_secs_f64",
    "Duration",
    "timedelta",
    "min",
    "max",
    "sleep",
    "checkpoint",
    "__contains__",
];

impl crate::Rule for Rule {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Checker, out: &mut Vec<Finding>) {
        let a = cx.a;
        for fid in cx.functions_with(Shape::LOOPS) {
            let f = a.func(fid);
            for (li, l) in f.loops.iter().enumerate() {
                // A loop that yields a value every round (`while not closed.is_set(): await
                // sleep(0.1); yield "ping"`) is a periodic producer, not a wait.
                if !matches!(l.kind, LoopKind::While | LoopKind::Loop) || !l.has_exit || l.yields {
                    continue;
                }
                let li = li as u32;
                let mut sleep = None;
                let mut work = false;
                let header = l.header_span();
                for cid in a.calls_of(fid) {
                    let c = a.call(cid);
                    // The `while` test runs every round too (`while not try_unlink(p):`):
                    // what it calls may be the loop's work. The header's span decides which
                    // calls are the test's: the Rust front end gives them the loop's context.
                    let in_header = header.contains(c.span.start);
                    let inside =
                        !in_header && c.ctx.loop_idx().is_some_and(|cl| f.loop_within(cl, li));
                    if !(inside || in_header) || c.ctx.in_closure {
                        continue;
                    }
                    let cl = c.ctx.loop_idx().unwrap_or(li);
                    let info = a.info(cid);
                    let is_sleep =
                        info.has_kind(Kind::BlockingSleep) || info.has_kind(Kind::AsyncSleep);
                    // `await asyncio.sleep(0)` yields to other tasks; it waits for nothing.
                    if is_sleep && super::scope::sleeps_zero(&a.call_text(cid)) {
                        continue;
                    }
                    if is_sleep {
                        if cl == li && c.ctx.handler().is_none() && sleep.is_none() {
                            sleep = Some(cid);
                        }
                        continue;
                    }
                    if is_check(a, cid) {
                        continue;
                    }
                    // In the `while` test, only an attempt is work (a project helper that
                    // does I/O: `while not try_unlink(p):`), or whatever a `while let`
                    // takes apart (`while let Err(e) = store.put(..).await` retries,
                    // `while let Some(rows) = stream.try_next().await?` consumes); a helper
                    // that reads state is the check the loop polls (`while
                    // get_states(workers):`, `while !job_done(id).await?`).
                    if !inside && !l.is_while_let() && !attempts(a, cid) {
                        continue;
                    }
                    work = true;
                    break;
                }
                let (Some(sleep), false) = (sleep, work) else {
                    continue;
                };
                if sleeps_until_deadline(a, fid, l.span, sleep) {
                    continue;
                }
                let lang = a.file(fid).module.language;
                let sleep_call = a.call(sleep);
                let fix = match (lang, f.is_async) {
                    (Language::Python, true) => "wait on an asyncio.Event / asyncio.Condition, or await the future with asyncio.wait_for(..., timeout)",
                    (Language::Python, false) => "wait on a threading.Event / Condition (event.wait(timeout)) or a concurrent.futures Future",
                    (Language::Rust, true) => "wait on a tokio::sync::Notify, watch or oneshot channel (with tokio::time::timeout for the deadline)",
                    (Language::Rust, false) => "wait on a Condvar or a channel (recv_timeout) instead of sleeping",
                };
                cx.emit(
                    Draft {
                        meta: &META,
                        func: fid,
                        span: header,
                        message: format!(
                            "polling loop `{}` sleeps (`{}`) and re-checks instead of waiting on an event",
                            l.header,
                            a.callee_text(sleep)
                        ),
                        impact: "each wait costs up to a full sleep period of latency, and short periods burn CPU on wake-ups".into(),
                        fix: fix.into(),
                        trace: vec![Step {
                            func: fid,
                            span: sleep_call.span,
                            call: Some(sleep.call),
                            note: "sleeps, then loops to re-check".into(),
                        }],
                        confidence: Confidence::Certain,
                    },
                    out,
                );
            }
        }
    }
}

/// Does the loop sleep for the time left until a deadline (`remaining = last + idle -
/// time.monotonic()` then `await asyncio.sleep(remaining)`; `sleep(deadline -
/// Instant::now())`)? It wakes when the deadline may have passed, not at a fixed period: a
/// watchdog's timer that progress pushes back, not a poll. Read from the source: the sleep's
/// argument, or its last assignment in the loop before the sleep.
fn sleeps_until_deadline(
    a: &perfgate_analysis::Analysis,
    fid: perfgate_analysis::FuncId,
    loop_span: perfgate_model::Span,
    sleep: CallId,
) -> bool {
    let text = a.call_text(sleep);
    let Some((open, close)) = perfgate_model::last_group(&text) else {
        return false;
    };
    let Some(arg) = perfgate_model::split_top_level(&text[open + 1..close]).next() else {
        return false;
    };
    let arg = arg.trim();
    if time_left(arg) {
        return true;
    }
    if arg.is_empty() || !arg.chars().all(|c| c.is_alphanumeric() || c == '_') {
        return false;
    }
    let file = a.file(fid);
    let at = a.call(sleep).span.start;
    let Some(body) = file.text().get(loop_span.start as usize..at as usize) else {
        return false;
    };
    // The last line of the loop, before the sleep, that assigns the name.
    body.lines().rev().find_map(|line| {
        let line = line.trim_start();
        let line = line.strip_prefix("let ").unwrap_or(line);
        let rest = line.strip_prefix(arg)?;
        let rest = rest.trim_start();
        let value = rest
            .strip_prefix('=')
            .filter(|v| !v.starts_with('='))
            .or_else(|| {
                rest.strip_prefix(':')
                    .and_then(|t| Some(t.split_once('=')?.1))
            })?;
        Some(time_left(value))
    }) == Some(true)
}

/// Is the expression a time left until a deadline: a clock read subtracted from something,
/// or a duration since now (`deadline.saturating_duration_since(Instant::now())`)?
fn time_left(expr: &str) -> bool {
    const CLOCKS: &[&str] = &["monotonic(", "time(", "perf_counter(", "now("];
    // `min(0.1, deadline - now)` wakes every 0.1 s until the deadline: a poll.
    if expr.contains("min(") {
        return false;
    }
    if expr.contains("duration_since(") {
        return CLOCKS.iter().any(|c| expr.contains(c));
    }
    expr.rsplit_once('-')
        .is_some_and(|(_, after)| CLOCKS.iter().any(|c| after.contains(c)))
}

/// Does the call try something that may fail and be retried: a project function that
/// does I/O, or a connection or request (`while TcpStream::connect(addr).is_err()`)? A
/// file-system check (`while not os.path.exists(p):`) only observes.
fn attempts(a: &perfgate_analysis::Analysis, cid: CallId) -> bool {
    let info = a.info(cid);
    matches!(info.target, Target::Project { func, .. }
        if a.effects.reaches(func, perfgate_analysis::effects::Effect::Io))
        || [
            Kind::Connection,
            Kind::Session,
            Kind::Remote,
            Kind::RoundTrip,
        ]
        .into_iter()
        .any(|k| info.has_kind(k))
}

/// Does the call only observe state (a time read, a membership test, a log line)?
fn is_check(a: &perfgate_analysis::Analysis, cid: CallId) -> bool {
    let c = a.call(cid);
    if c.is_macro {
        return true;
    }
    let name = c.callee.last_name();
    if CHECKS.contains(&name) || name.starts_with("is_") || name.starts_with("has_") {
        return true;
    }
    // A project predicate with no effects of its own is a check too; not an async method
    // (an abstract `async def write(...)` has no calls either, and is work), nor one
    // guessed by name.
    matches!(a.info(cid).target, Target::Project { func, confidence }
        if confidence == perfgate_model::Confidence::Certain
            && !a.func(func).is_async
            && a.func(func).calls.is_empty()
            && a.func(func).loops.is_empty())
}
