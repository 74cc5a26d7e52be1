//! `sequential-awaits`: independent awaits run one after the other.

use crate::checker::Draft;
use crate::{Checker, RuleMeta};
use perfgate_analysis::{CallId, FuncId, Shape, Step, Target};
use perfgate_catalog::Kind;
use perfgate_model::{
    Await, CallFlags, Callee, Category, Confidence, Finding, Function, FunctionRole, Language,
    Name, Receiver, Severity, Span,
};
use rustc_hash::{FxHashMap, FxHashSet};

pub struct Rule;

pub static META: RuleMeta = RuleMeta {
    id: "sequential-awaits",
    category: Category::Concurrency,
    severity: Severity::Medium,
    languages: &[Language::Rust, Language::Python],
    summary: "independent awaits in sequence that could run concurrently",
    doc: r#"## What it does
Finds two or more awaits that follow one another in a block, each binding a result, where no
later await uses (directly or through the statements in between, such as
`messages.append(answer)` before a prompt built from `messages`) the result of an earlier
one, and none is already inside `join!`/`try_join!`/`select!`/`gather`/ `create_task`. Only
awaits of real work are considered: the project's own async functions and network calls from
the catalogue — not sleeps, locks or channel operations, whose order is the point. Start-up
code (schema migrations included: a file or folder with the word `migration`, `migrations`
or `migrate` in its name) and tests are not checked.

Order that no value shows is respected too. An await between two others (a write, a
permission check, a transaction) ends the group; so does a check of an earlier result
(`if !allowed { return Err(..) }`, `check(&site)?;`, `raise`). Functions whose names say
they write (`update`, `create_post`, `read_or_create`, `save`, `_batch_delete`, ...) are
never moved. Two calls that lend one value exclusively (`fetch(conn)` twice with
`conn: &mut Conn`, or a `&mut self` method and another method of `self`), or that both use
one connection, transaction, cursor or database session (a name such as `conn`, `tx`,
`cursor`, or a declared type such as `db: AsyncSession`: it serves one statement at a time;
an HTTP `aiohttp.ClientSession` serves many), cannot be in flight at once and are not
reported; nor are two reads of one stream or queue (`self._readline()` twice: each takes the
item the other would have). Cached getters are no work to overlap: a memoized function, or
one whose only await is a cache lookup or lazy initialiser
(`CACHE.try_get_with(key, load).await`), answers at once after its first call and is left
out of groups. So is a coroutine that waits on nothing outside the project: one whose every
await is of the project's own coroutines or awaitable classes, down to none that waits on a
library, a socket or a stream (a code generator's `await get_variable(id)`, which waits on
the generator's own scheduler); two of them run straight through, one after the other,
gathered or not. A coroutine that awaits nothing at all may be an abstract method whose
overrides query a database: it still counts.

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
        // Which project coroutines wait on anything outside the project (see
        // `waits_outside`), worked out as awaits ask.
        let mut outside = FxHashMap::default();
        for fid in cx.functions_with(Shape::AWAITS) {
            let f = a.func(fid);
            // Start-up code runs once, before serving: its latency is nobody's wait.
            if !f.is_async || f.role != FunctionRole::Normal || a.startup_only(fid) {
                continue;
            }
            let cands: Vec<&Await> = f
                .awaits
                .iter()
                .filter(|aw| is_work(cx, fid, aw, &mut outside))
                .collect();
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
                    let last = cands[*group.last().expect("never empty")];
                    // Members follow one another: an await between two of them (a write, a
                    // permission check, a transaction, one that reads an earlier result)
                    // is an ordering point the later one cannot be moved across, so it
                    // ends the group.
                    if awaits_between(f, last, y) {
                        break;
                    }
                    if group.iter().all(|&g| {
                        cands[g].ctx.stmt < y.ctx.stmt
                            && independent(f, cands[g], y)
                            && !same_object(cx, fid, cands[g], y)
                            && !exclusive(cx, fid, cands[g], y)
                            && !consume_same(cx, fid, cands[g], y)
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
fn is_work(cx: &Checker, fid: FuncId, aw: &Await, outside: &mut FxHashMap<FuncId, bool>) -> bool {
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
            *confidence == Confidence::Certain
                && cx.a.is_async(*func)
                && !writes(&cx.a.func(*func).name)
                // A cached getter answers at once: nothing to overlap.
                && !super::scope::returns_cached(cx.a.func(*func))
                && waits_outside(cx.a, *func, outside, 0)
        }
        _ => info.has_kind(Kind::Remote),
    }
}

/// Does a project coroutine wait on anything outside the project's own coroutines: a
/// library's awaitable (a query, a request, a sleep, a lock, `async with` a session, `async
/// for` over a stream), or one perfgate cannot name? One whose every await is of the
/// project's own coroutines, down to none of those, runs straight through on the executor:
/// two of them overlap no waiting. esphome's code generators `await cg.get_variable(id)`,
/// which waits on the generator's own scheduler (`await _FakeAwaitable(gen)`, a class of the
/// project): nothing to gather. A coroutine that awaits nothing at all may be an abstract
/// method whose overrides do: it counts as waiting.
fn waits_outside(
    a: &perfgate_analysis::Analysis,
    g: FuncId,
    memo: &mut FxHashMap<FuncId, bool>,
    depth: u32,
) -> bool {
    if let Some(&known) = memo.get(&g) {
        return known;
    }
    if depth > 16 {
        return true;
    }
    // A cycle waits on nothing the rest of it does not.
    memo.insert(g, false);
    let f = a.func(g);
    let awaited: Vec<u32> = (0..f.calls.len() as u32)
        .filter(|&i| f.calls[i as usize].awaited)
        .collect();
    let found = (awaited.is_empty() && f.awaits.is_empty())
        // `await task`, `fut.await`: something else's work; `async for`: a stream's.
        || f.awaits.iter().any(|aw| aw.call.is_none())
        || f.loops.iter().any(|l| l.awaits)
        || awaited.into_iter().any(|call| {
            match &a.info(CallId { func: g, call }).target {
                Target::Project { func, .. } if a.is_async(*func) => {
                    waits_outside(a, *func, memo, depth + 1)
                }
                // The project's own awaitable class (`await _FakeAwaitable(gen)`).
                Target::Project { func, .. } => a.func(*func).name != "__init__",
                _ => true,
            }
        });
    memo.insert(g, found);
    found
}

/// The first words of function names that change state somewhere else (a row, a file, a
/// remote resource): `Comment::update`, `create_post`, `save_settings`. Such a call orders
/// what follows it, though no value flows: a read after it must see the change, a read
/// before it must not. It is left out of groups, and as an await between two others it
/// ends their group.
const WRITE_VERBS: &[&str] = &[
    "add",
    "append",
    "apply",
    "ban",
    "commit",
    "create",
    "delete",
    "drop",
    "execute",
    "insert",
    "mark",
    "patch",
    "post",
    "publish",
    "push",
    "put",
    "register",
    "remove",
    "replace",
    "reset",
    "rollback",
    "save",
    "send",
    "set",
    "store",
    "submit",
    "truncate",
    "unban",
    "unregister",
    "update",
    "upsert",
    "write",
];

/// Words that say how a write is done, before the verb: `batch_delete`, `bulk_insert`,
/// `try_update`, `soft_delete`.
const WRITE_MANNERS: &[&str] = &[
    "async", "batch", "bulk", "force", "hard", "mass", "multi", "safe", "soft", "try",
];

/// Does a function's name say it writes (see [`WRITE_VERBS`])? Its first word decides (after
/// words of manner, see [`WRITE_MANNERS`]), or a word after `or`/`and`: `update`,
/// `update_post`, `_save`, `_batch_delete`, `read_or_create`.
fn writes(name: &str) -> bool {
    let mut words = name.split('_').filter(|w| !w.is_empty()).peekable();
    while words.next_if(|w| WRITE_MANNERS.contains(w)).is_some() {}
    let mut verb = words.next();
    while let Some(v) = verb {
        if WRITE_VERBS.contains(&v) {
            return true;
        }
        verb = words
            .find(|w| *w == "or" || *w == "and")
            .and_then(|_| words.next());
    }
    false
}

/// Is there an await that runs between the statements of `earlier` and `later` (two awaits
/// of one block)? Awaits in closures and in async blocks other than theirs do not count:
/// they run when the closure is called or the block's future is polled, which an await
/// outside them shows where it happens.
fn awaits_between(f: &Function, earlier: &Await, later: &Await) -> bool {
    let stmts = &f.blocks[earlier.ctx.block as usize].stmts;
    let (Some(e), Some(l)) = (
        stmts.get(earlier.ctx.stmt as usize),
        stmts.get(later.ctx.stmt as usize),
    ) else {
        return true;
    };
    f.awaits.iter().any(|z| {
        !z.ctx.in_closure
            && z.ctx.async_block == earlier.ctx.async_block
            && z.span.start >= e.span.end
            && z.span.start < l.span.start
    })
}

/// First words of methods that take the next item of a stream, socket or queue: two of
/// them on one receiver each take what the other would have, so their order is the data's.
const CONSUMING: &[&str] = &[
    "read", "readline", "recv", "receive", "next", "accept", "pop",
];

/// The receiver and name of the method an await calls, if it calls one.
fn method_of<'a>(cx: &Checker<'a>, fid: FuncId, aw: &Await) -> Option<(&'a Receiver, &'a str)> {
    let call = cx.a.call(CallId {
        func: fid,
        call: aw.call?,
    });
    match &call.callee {
        Callee::Method { recv, name } => Some((recv, name.as_str())),
        _ => None,
    }
}

/// Do both awaits take from the same stream: a consuming method (see [`CONSUMING`]) of
/// `self` or of one of its fields (`self._readline()` twice, `self.ws.recv()` then
/// `self.ws.receive_json()`)?
fn consume_same(cx: &Checker, fid: FuncId, x: &Await, y: &Await) -> bool {
    let reader = |aw: &Await| {
        let (recv, name) = method_of(cx, fid, aw)?;
        let first = name.trim_start_matches('_').split('_').next().unwrap_or("");
        (CONSUMING.contains(&first) && matches!(recv, Receiver::SelfValue | Receiver::SelfField(_)))
            .then_some(recv)
    };
    matches!((reader(x), reader(y)), (Some(a), Some(b)) if a == b)
}

/// Two calls on the same local object (`client.info()`, then `client.warmup()`) usually
/// follow that object's protocol; their order is not ours to change.
fn same_object(cx: &Checker, fid: FuncId, x: &Await, y: &Await) -> bool {
    let local = |aw: &Await| match method_of(cx, fid, aw)? {
        (Receiver::Local(n), _) => Some(n),
        _ => None,
    };
    matches!((local(x), local(y)), (Some(a), Some(b)) if a == b)
}

/// Can the two calls not be in flight at once, whatever flows between them? Both lend one
/// name exclusively (`get_user(pool)` and `get_orders(pool)` with `pool: &mut DbPool`), or
/// one is a `&mut self` method and the other uses `self` too. Joining them does not compile.
fn exclusive(cx: &Checker, fid: FuncId, x: &Await, y: &Await) -> bool {
    let a = cx.a;
    let id = |aw: &Await| CallId {
        func: fid,
        call: aw.call.expect("work awaits have calls"),
    };
    let (cx_, cy) = (a.call(id(x)), a.call(id(y)));
    let lends = |c: &perfgate_model::Call| c.flags & CallFlags::EXCLUSIVE != 0;
    let shared = |keep: fn(&str) -> bool| {
        x.uses
            .iter()
            .any(|u| keep(u) && y.uses.iter().any(|v| v == u))
    };
    let f = a.func(fid);
    if (lends(cx_) && lends(cy) && shared(|_| true))
        || shared(is_connection)
        || x.uses
            .iter()
            .any(|u| y.uses.contains(u) && typed_as_connection(f, u))
    {
        return true;
    }
    let mut_self = |aw: &Await| matches!(a.info(id(aw)).target, Target::Project { func, .. } if a.func(func).mut_self);
    let on_self = |aw: &Await, c: &perfgate_model::Call| {
        matches!(
            &c.callee,
            Callee::Method {
                recv: Receiver::SelfValue | Receiver::SelfField(_),
                ..
            }
        ) || aw.uses.iter().any(|u| u == "self")
    };
    (mut_self(x) && on_self(y, cy)) || (mut_self(y) && on_self(x, cx_))
}

/// Does the name say it holds one database connection, transaction or cursor (`conn`,
/// `db_conn`, `tx`, `cursor`)? One serves one query at a time: asyncpg refuses a second
/// while the first runs, and a `&mut` connection cannot be lent twice. A pool is not one.
fn is_connection(name: &str) -> bool {
    let last = name.rsplit('_').next().unwrap_or(name);
    matches!(
        last,
        "conn" | "connection" | "tx" | "txn" | "transaction" | "cursor" | "cur"
    )
}

/// Is `name` declared (a parameter or a local, by its annotation) as one database session,
/// connection, transaction or cursor (`session: AsyncSession`, `conn: asyncpg.Connection`)?
/// SQLAlchemy's `AsyncSession` refuses a second operation while one runs, whatever the
/// name; an HTTP client session (`aiohttp.ClientSession`) serves many and is not one.
fn typed_as_connection(f: &Function, name: &str) -> bool {
    f.params
        .iter()
        .chain(f.locals.iter())
        .filter(|b| b.name == name)
        .filter_map(|b| b.ty.as_ref()?.last())
        .any(|ty| {
            matches!(
                ty.as_str(),
                "AsyncSession"
                    | "Session"
                    | "AsyncConnection"
                    | "Connection"
                    | "AsyncTransaction"
                    | "Transaction"
                    | "AsyncCursor"
                    | "Cursor"
            )
        })
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
            // A check of the earlier result (`if !allowed { return Err(..) }`): the later
            // await runs only if it passed.
            if s.exits {
                return false;
            }
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
    let first = group[0];
    let last = group[group.len() - 1];
    let span = Span {
        start: first.span.start,
        end: last.span.end,
    };
    let binds = group
        .iter()
        .map(|aw| aw.binds.join(", "))
        .collect::<Vec<_>>()
        .join(", ");
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
    let fix = match lang {
        Language::Rust => format!(
            "run them concurrently: `let ({binds}) = tokio::try_join!(...)?` (or tokio::join!)"
        ),
        Language::Python => format!(
            "run them concurrently: `{binds} = await asyncio.gather(...)` (or an asyncio.TaskGroup)"
        ),
    };
    let shown: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    let message = format!(
        "{} independent awaits run one after the other: {}",
        group.len(),
        shown.join(", ")
    );
    cx.emit(
        Draft {
            meta: &META,
            func: fid,
            span,
            message,
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
