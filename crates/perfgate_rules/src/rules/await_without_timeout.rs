//! `await-without-timeout`: awaiting network or remote work with no timeout or deadline.

use crate::checker::Draft;
use crate::{Checker, RuleMeta};
use perfgate_analysis::{Analysis, CallId, FuncId, Shape, Step, Target};
use perfgate_catalog::Kind;
use perfgate_model::{
    Callee, Category, Confidence, Finding, Language, LoopKind, Receiver, Severity,
};
use rustc_hash::{FxHashMap, FxHashSet};

pub struct Rule;

pub static META: RuleMeta = RuleMeta {
    id: "await-without-timeout",
    category: Category::Concurrency,
    severity: Severity::Medium,
    languages: &[Language::Rust, Language::Python],
    summary: "awaiting network or remote work with no timeout or deadline",
    doc: r#"## What it does
Finds awaits of network and remote operations (HTTP requests, socket and WebSocket connects,
database queries — the catalogue's `remote` APIs) that nothing bounds: not wrapped in
`tokio::time::timeout`, `asyncio.wait_for`, `asyncio.timeout`, `anyio.fail_after` or a
crate's own `timeout(limit, future)` wrapper; no per-request timeout (`.timeout(d)` on a
reqwest request, `timeout=` on an aiohttp/httpx call); no client-level timeout configured in
the module (`Client::builder().timeout(..)`, `ClientSession(timeout=...)`,
`AsyncClient(timeout=...)`), or in the module of a project function that hands out the
client or a request made on it (`make_http_request(GET, url)?.send()`, with the client built
with a timeout where `make_http_request` lives); not called only from places that wrap it in
a timeout; and not in a project whose server gives every request a deadline with a timeout
middleware (tower's `TimeoutLayer`, `ServiceBuilder::timeout`), which bounds what its
handlers await. A query in a module that uses only an embedded database (it imports SQLite,
`sqlx::sqlite` or `aiosqlite`, and no Postgres or MySQL) reads a local file: no peer can
leave it hanging. Nor is a stream's read in a loop that drains it until its peer closes it
(`while True: data = await reader.read(4096)` ... `if not data: break`, a subprocess's pipe
or a relay): the loop serves the stream by design, as a session serves its connection. Nor
is a query in a schema migration (a file or folder with the word `migration`, `migrations`
or `migrate` in its name): altering a large table takes as long as it takes, and a timeout
would leave it half done.

## Why is this bad?
A peer that accepts the connection and never answers holds the task forever: its memory,
its connection-pool slot and whatever locks or semaphores it holds. Under load these
accumulate into an outage that no error message explains.

## Example
```python
async def fetch_embedding(self, text):
    async with self.session.post(self.url, json={"text": text}) as resp:
        return await resp.json()
```

## Use instead
```python
async def fetch_embedding(self, text):
    async with asyncio.timeout(2.0):
        async with self.session.post(self.url, json={"text": text}) as resp:
            return await resp.json()
```
In Rust: `tokio::time::timeout(Duration::from_secs(2), client.get(url).send()).await`, or
build the client with `reqwest::Client::builder().timeout(..)`.
"#,
};

impl crate::Rule for Rule {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Checker, out: &mut Vec<Finding>) {
        let a = cx.a;
        // Remote calls awaited in async code with no timeout of their own, found from the
        // calls of that kind: most projects have few, and then nothing else is read.
        // A timeout middleware on the server (`.layer(TimeoutLayer::new(..))`) bounds every
        // handler, and what they await with it.
        let server_bounded = |lang: Language| {
            a.calls_with_kind(Kind::RequestTimeout)
                .iter()
                .any(|c| a.file(c.func).module.language == lang)
        };
        let bounded_langs = [Language::Rust, Language::Python].map(server_bounded);
        // Files that give a client a timeout (`ClientBuilder::timeout`): a request or client
        // a function there hands back (`make_http_request(..)?.send()`) is bounded by it.
        let timeout_files: FxHashSet<u32> = a
            .calls_with_kind(Kind::ClientTimeout)
            .iter()
            .map(|c| c.func.file)
            .collect();
        let unbounded: Vec<CallId> = a
            .calls_with_kind(Kind::Remote)
            .iter()
            .copied()
            .filter(|&cid| {
                let shape = a.shape(cid.func);
                !bounded_langs[a.file(cid.func).module.language as usize]
                    && shape & Shape::ASYNC != 0
                    && shape & Shape::TEST == 0
                    && !a.info(cid).timeout
                    && a.call(cid).awaited
                    && !made_by_bounded_factory(a, cid, &timeout_files)
                    && !(is_query(a, cid) && embedded_database_only(a, cid.func.file))
                    && !drains_stream(a, cid)
                    && !(is_query(a, cid)
                        && perfgate_model::is_migration_path(&a.file(cid.func).path))
            })
            .collect();
        if unbounded.is_empty() {
            return;
        }
        // Call sites of the functions holding them, to tell whether every caller bounds one.
        let mut sites: FxHashMap<FuncId, Vec<CallId>> =
            unbounded.iter().map(|c| (c.func, Vec::new())).collect();
        for fid in cx.functions() {
            for (cid, info) in a.known_calls(fid) {
                if let Target::Project { func, .. } = info.target {
                    if let Some(s) = sites.get_mut(&func) {
                        s.push(cid);
                    }
                }
            }
        }
        for cid in unbounded {
            let fid = cid.func;
            let bounded_by_callers = sites
                .get(&fid)
                .is_some_and(|s| !s.is_empty() && s.iter().all(|c| a.info(*c).timeout));
            if bounded_by_callers {
                continue;
            }
            let c = a.call(cid);
            let name = a.callee_name(cid);
            let lang = a.file(fid).module.language;
            let fix = match lang {
                Language::Rust => format!(
                    "bound it: `tokio::time::timeout(Duration::from_secs(..), {}).await`, or configure the client with `.timeout(..)`",
                    a.call_text(cid)
                ),
                Language::Python => "bound it: `async with asyncio.timeout(...)` or `await asyncio.wait_for(..., timeout=...)`, or give the client a timeout".to_owned(),
            };
            cx.emit(
                Draft {
                    meta: &META,
                    func: fid,
                    span: c.span,
                    message: format!("`{name}` is awaited with no timeout or deadline"),
                    impact: "a peer that never answers holds this task, its connection and anything it has locked, forever".into(),
                    fix: fix.into(),
                    trace: vec![Step {
                        func: fid,
                        span: c.span,
                        call: Some(cid.call),
                        note: format!("awaits {name}: network round trip"),
                    }],
                    confidence: Confidence::Certain,
                },
                out,
            );
        }
    }
}

/// A stream's read in a loop that it can leave (`while True: data = await
/// reader.read(4096); if not data: break`): the loop drains the stream until its peer closes
/// it (a subprocess's pipe, a relay), by design, as a session serves its connection.
fn drains_stream(a: &Analysis, cid: CallId) -> bool {
    let reads_stream = a
        .external_path(cid)
        .is_some_and(|p| p.len() >= 2 && p[p.len() - 2] == "StreamReader");
    let f = a.func(cid.func);
    reads_stream
        && a.call(cid).ctx.loop_idx().is_some_and(|li| {
            f.loops
                .get(li as usize)
                .is_some_and(|l| matches!(l.kind, LoopKind::While | LoopKind::Loop) && l.has_exit)
        })
}

/// Is the call's receiver chain rooted in a call of a project function from a file that
/// gives its client a timeout (`make_http_request(GET, url)?.header(..).send()`, or a local
/// bound to one)? That function hands out the bounded client, or a request made on it.
fn made_by_bounded_factory(a: &Analysis, cid: CallId, timeout_files: &FxHashSet<u32>) -> bool {
    if timeout_files.is_empty() {
        return false;
    }
    let f = a.func(cid.func);
    let mut cur = cid.call;
    for _ in 0..16 {
        let c = &f.calls[cur as usize];
        let next = match &c.callee {
            Callee::Method {
                recv: Receiver::CallResult(inner),
                ..
            } => Some(*inner),
            Callee::Method {
                recv: Receiver::Local(name),
                ..
            } => f.local_before(name, c.span.start).and_then(|b| b.init_call),
            _ => None,
        };
        let Some(next) = next.filter(|&n| n != cur && (n as usize) < f.calls.len()) else {
            return false;
        };
        let id = CallId {
            func: cid.func,
            call: next,
        };
        if let Target::Project { func, .. } = a.info(id).target {
            return timeout_files.contains(&func.file);
        }
        cur = next;
    }
    false
}

/// A database query (sqlx's `fetch_*`/`execute`, a DB-API cursor's `execute`), not a
/// connect or an HTTP request.
fn is_query(a: &Analysis, cid: CallId) -> bool {
    a.external_path(cid).is_some_and(|p| {
        let root = p.first().map_or("", |r| r.as_str());
        matches!(root, "sqlx" | "aiosqlite" | "sqlite3")
            && p.last().is_none_or(|l| l.as_str() != "connect")
    })
}

/// Does the file use SQLite and no networked database? Its queries read a local file.
fn embedded_database_only(a: &Analysis, file: u32) -> bool {
    let paths: Vec<String> = a.files[file as usize]
        .module
        .imports
        .iter()
        .map(|i| i.path.join("::").to_ascii_lowercase())
        .collect();
    // `sqlx::postgres::PgPool`, `sqlx::PgPool`, `sqlx::any` (any backend), `asyncpg`.
    let networked = |p: &str| {
        p.contains("postgres")
            || p.contains("mysql")
            || p.split("::")
                .any(|s| s.starts_with("pg") || s.starts_with("asyncpg"))
            || p.starts_with("sqlx::any")
    };
    paths.iter().any(|p| p.contains("sqlite")) && !paths.iter().any(|p| networked(p))
}
