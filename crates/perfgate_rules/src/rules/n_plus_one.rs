//! `n-plus-one`: a query or remote call per element of a loop, where one batched call or
//! bounded concurrency would do.

use super::scope::{self, Reach};
use crate::checker::Draft;
use crate::{Checker, RuleMeta};
use perfgate_analysis::{CallId, Shape, Target};
use perfgate_catalog::Kind;
use perfgate_model::{
    CallFlags, Callee, Category, Confidence, Finding, Language, LoopKind, Receiver, Severity,
};

pub struct Rule;

pub static META: RuleMeta = RuleMeta {
    id: "n-plus-one",
    category: Category::Io,
    severity: Severity::High,
    languages: &[Language::Rust, Language::Python],
    summary:
        "a query or remote call per element of a loop or comprehension, where a batch call exists",
    doc: r#"## What it does
Finds database queries, HTTP requests, Redis commands and other round trips
(`cursor.execute`, `conn.fetchrow`, `session.get`, `requests.get`, `redis.get`,
`sqlx::query(..).fetch_one`, `reqwest` `send()`) made once per element of a loop or
comprehension: the call's arguments (or an earlier link of its builder chain) read the
loop variable or a value computed from it, and each call is completed (awaited, or
synchronous) before the next starts. Helpers that make the round trip are followed:
`get_user(id)` in a loop is reported with the chain to its query.

Not reported: calls whose arguments do not change between iterations (that is a retry or
polling loop), loops that sleep every round or whose `while` test is a timed wait (periodic
jobs such as a token refresher, `while not stop.wait(interval):`), futures collected and run
together (`asyncio.gather`, `join_all`, `buffer_unordered`), and loops over a small constant
range or a table named as a constant (`for region in REGIONS`; not
`for url in LINK.findall(text)`, whose items are the data's). The same holds for the other
loop rules. Nor are `while` loops and Rust `loop`s that make each round's request from the
round before (a page's cursor: `while next_page is not None:`, a redirect, a retry, a
worker's next message): there is nothing to batch. A `while` that takes its items off a
collection its test reads (`while pending: uid = pending.pop()`) is reported, as is a Rust
`while let` over a stream of rows. Nor are loops over a response read as it streams in
(`for line in response.iter_lines()`, `aiter_lines()`, `iter_content()`): a request made in
answer to one server-sent message (an event stream asking for the request's data) cannot be
batched with messages that have not arrived. Nor is a round trip made while a lazily built
singleton sets itself up (`if _client is None:`, or `if not self.connected:` in a class
whose `__new__` hands out the one instance it keeps), which happens on the first call in the
process, not per element; the same holds for the other per-call rules.

## Why is this bad?
N items cost N round trips: N times the network latency and N times the server's
per-request overhead, where one batched call (`WHERE id = ANY($1)`, `executemany`,
`mget`, a pipeline, a batch endpoint) costs about one. At 2 ms per query, 500 rows take a
second instead of a few milliseconds.

## Example
```python
async def load_orders(conn, user_ids):
    orders = []
    for uid in user_ids:
        orders.append(await conn.fetchrow("SELECT * FROM orders WHERE user_id = $1", uid))
    return orders
```

## Use instead
```python
async def load_orders(conn, user_ids):
    return await conn.fetch("SELECT * FROM orders WHERE user_id = ANY($1)", user_ids)
```
Where no batch form exists, run the calls concurrently with a bound
(`asyncio.gather` over a `Semaphore`, `futures::stream::iter(..).buffer_unordered(n)`).
"#,
};

impl crate::Rule for Rule {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Checker, out: &mut Vec<Finding>) {
        let a = cx.a;
        let trips = a.calls_with_kind(Kind::RoundTrip);
        if trips.is_empty() {
            return;
        }
        let helpers = Reach::compute(a, trips.iter().copied(), |_| true);
        for fid in cx.functions_with(Shape::LOOPS) {
            let f = a.func(fid);
            // Loops that sleep every round are periodic jobs (a token refresher, a poller),
            // not walks over elements.
            let sleeps = scope::paced_loops(a, fid);
            for (cid, _) in a.known_calls(fid) {
                let c = a.call(cid);
                let Some(li) = c.ctx.loop_idx() else { continue };
                if !scope::loop_is_hot(f, li) || c.ctx.in_closure || sleeps.contains(&li) {
                    continue;
                }
                let info = a.info(cid);
                if info.concurrent || info.offloaded {
                    continue;
                }
                // Per element: the call (or its builder chain) reads what the loop changes.
                if !chain_varies(f, cid.call) {
                    continue;
                }
                let l = &f.loops[li as usize];
                if reads_a_stream(&l.header) || !walks_elements(f, li) {
                    continue;
                }
                // Named from the source text, which is read again for it: only once the call
                // is known to be reported.
                let name = || scope::short_name(a, cid);
                let (trace, what, fix, confidence) = if let Some(api) = info.api_of(Kind::RoundTrip)
                {
                    // An async round trip that is not awaited here is being collected.
                    if f.is_async
                        && !c.awaited
                        && !awaited_through_chain(f, cid.call)
                        && !info.has_kind(Kind::BlockingIo)
                        && !is_sync_api(a, cid)
                    {
                        continue;
                    }
                    let note = api.note.clone().unwrap_or_else(|| "a round trip".into());
                    (
                        vec![scope::step(a, cid, format!("`{}`: {note}", name()))],
                        note,
                        api.instead
                            .clone()
                            .unwrap_or_else(|| "batch the calls".into()),
                        Confidence::Certain,
                    )
                } else if let Target::Project {
                    func: g,
                    confidence: perfgate_model::Confidence::Certain,
                } = info.target
                {
                    if a.is_async(g) && !c.awaited {
                        continue;
                    }
                    let Some(chain) = helpers.chain(a, g, 16, Kind::RoundTrip) else {
                        continue;
                    };
                    let root = chain.last().map(|s| s.note.clone()).unwrap_or_default();
                    let mut trace =
                        vec![scope::step(a, cid, format!("calls {}", a.func(g).qualname))];
                    trace.extend(chain);
                    (
                        trace,
                        format!("a round trip ({root})"),
                        "give the helper a batch form that takes all keys at once, or run the calls concurrently with a bound".into(),
                        a.confidence(cid),
                    )
                } else {
                    continue;
                };
                cx.emit(
                    Draft {
                        meta: &META,
                        func: fid,
                        span: c.span,
                        message: format!(
                            "`{}` makes {what} per element of `{}`",
                            name(),
                            l.header
                        ),
                        impact: "N elements cost N sequential round trips: N times the network latency and per-request overhead, where one batched call costs about one".into(),
                        fix: fix.into(),
                        trace,
                        confidence,
                    },
                    out,
                );
            }
        }
    }
}

/// Methods that read a response as the server sends it (`response.iter_lines()`, httpx's
/// `aiter_lines()`, `iter_content(..)`).
const STREAM_READERS: &[&str] = &[
    ".iter_lines(",
    ".aiter_lines(",
    ".iter_content(",
    ".iter_bytes(",
    ".aiter_bytes(",
    ".iter_text(",
    ".aiter_text(",
    ".iter_raw(",
    ".aiter_raw(",
];

/// Does the loop walk a response as it streams in (`for line in response.iter_lines():`)?
/// Its elements are messages a server sends over time: a call made in answer to one (an
/// event stream's `send_data` asking for the request's body) cannot wait to be batched with
/// messages that have not arrived.
fn reads_a_stream(header: &str) -> bool {
    STREAM_READERS.iter().any(|m| header.contains(m))
}

/// Does the loop walk the elements of a collection: a `for` loop or a comprehension, a Rust
/// `while let` (`while let Some(row) = rows.try_next().await?`), or a `while`/`loop` whose
/// body takes items off a collection its test reads (`while pending: uid = pending.pop()`)?
/// Any other `while` or `loop` makes its own next round from the last: a page's cursor
/// (`while next_page is not None`), a retry, a poll, a worker's next message. Each round
/// needs the one before it, so there is no batch to make.
fn walks_elements(f: &perfgate_model::Function, li: u32) -> bool {
    let l = &f.loops[li as usize];
    match l.kind {
        LoopKind::For | LoopKind::Comprehension => true,
        LoopKind::While if l.is_while_let() => true,
        LoopKind::While | LoopKind::Loop => f.calls.iter().any(|c| {
            c.ctx.loop_idx() == Some(li)
                && matches!(&c.callee, Callee::Method { recv: Receiver::Local(n) | Receiver::SelfField(n), name }
                    if TAKES_AN_ITEM.contains(&name.as_str()) && mentions(&l.header, n))
        }),
    }
}

/// Methods that take an item off a collection.
const TAKES_AN_ITEM: &[&str] = &["pop", "popleft", "pop_front", "pop_back", "popitem"];

/// Does `text` name `word` as a whole identifier?
fn mentions(text: &str, word: &str) -> bool {
    text.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .any(|w| w == word)
}

/// Does the call, or an earlier link of its receiver chain, read what the loop changes?
fn chain_varies(f: &perfgate_model::Function, call: u32) -> bool {
    let mut cur = call;
    for _ in 0..16 {
        let c = &f.calls[cur as usize];
        if c.has(CallFlags::ARGS_VARY_ANY) {
            return true;
        }
        match &c.callee {
            Callee::Method {
                recv: Receiver::CallResult(inner),
                ..
            } => cur = *inner,
            _ => return false,
        }
    }
    false
}

/// `client.get(u).send().await`: the `get` link is awaited through the chain's end.
fn awaited_through_chain(f: &perfgate_model::Function, call: u32) -> bool {
    f.calls.iter().any(|c| {
        c.awaited
            && matches!(&c.callee, Callee::Method { recv: Receiver::CallResult(i), .. } if *i == call)
    })
}

/// Synchronous client libraries (`requests`, `sqlite3`, `postgres`) complete the call
/// before returning, awaited or not.
fn is_sync_api(a: &perfgate_analysis::Analysis, id: CallId) -> bool {
    a.external_path(id).is_some_and(|p| {
        matches!(
            p.first().map(|s| s.as_str()),
            Some(
                "requests"
                    | "sqlite3"
                    | "psycopg2"
                    | "urllib"
                    | "urllib3"
                    | "postgres"
                    | "rusqlite"
            )
        ) || p.iter().any(|s| s == "blocking")
    })
}
