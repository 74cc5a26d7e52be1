//! `alloc-in-loop`: buffers, tensors or clients allocated on every iteration of a hot loop
//! although nothing about them depends on the iteration.

use super::scope;
use crate::checker::Draft;
use crate::{Checker, RuleMeta};
use perfgate_analysis::CallId;
use perfgate_catalog::Kind;
use perfgate_model::{CallFlags, Category, Finding, Language, Severity};

pub struct Rule;

pub static META: RuleMeta = RuleMeta {
    id: "alloc-in-loop",
    category: Category::Memory,
    severity: Severity::Medium,
    languages: &[Language::Rust, Language::Python],
    summary: "allocating buffers, clients or tensors inside hot loops",
    doc: r#"## What it does
Finds sized allocations (`Vec::with_capacity`, `vec![0; n]`, `String::with_capacity`,
`BytesMut::with_capacity`, `ndarray`/`tch`/`candle` zeros, `np.zeros`, `torch.zeros`,
`bytearray(n)`) and clients or connections (`reqwest::Client::new()`,
`aiohttp.ClientSession()`, `redis.Redis()`) created inside a loop that can run many times,
when neither their arguments nor their receiver change from one iteration to the next.

Not reported: random draws (`torch.randn`, `torch.rand`: each call must give new values),
allocations whose size or contents depend on the loop variable, on values computed in the
loop body or on collections it changes (`parts.append(x)` then
`bytearray(b"".join(parts))`), empty buffers made to be filled (`bytearray()`), buffers that
take a kept one's place (`out.push(std::mem::replace(&mut chunk, Vec::with_capacity(n)))`),
buffers that are kept (pushed into a collection, stored, returned or yielded, or moved into
a struct or tuple handed on: `tx.send(Batch { input_ids, .. })`, also through a conversion
that consumes it: `table.push((row.into_boxed_slice(), seed))`; each iteration needs its
own), loops over a small constant range, and loops paced by a wait, a sleep in them or a
timed wait in their `while` test (a retry or a poll: `loop {
match TcpStream::connect(addr).await { Ok(_) => break, Err(_) => sleep(RETRY).await } }`).
One-off HTTP calls like `requests.get` in a loop are `n-plus-one`'s.

## Why is this bad?
Each iteration pays the allocator (and for large buffers, page faults and zeroing) for
memory the previous iteration just freed; for tensors on a GPU it is a device allocation
per step, and for clients a fresh connection pool and handshake per item.

## Example
```rust
for frame in frames {
    let mut scratch = Vec::with_capacity(FRAME_SAMPLES);
    decode_into(&frame, &mut scratch);
    sink.write(&scratch)?;
}
```

## Use instead
```rust
let mut scratch = Vec::with_capacity(FRAME_SAMPLES);
for frame in frames {
    scratch.clear();
    decode_into(&frame, &mut scratch);
    sink.write(&scratch)?;
}
```
In Python, allocate once before the loop and fill it in place (`buf[:] = 0`,
`out=` arguments, `tensor.zero_()`).
"#,
};

impl crate::Rule for Rule {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Checker, out: &mut Vec<Finding>) {
        let a = cx.a;
        let mut candidates: Vec<CallId> = a
            .calls_with_kind(Kind::Alloc)
            .iter()
            .chain(a.calls_with_kind(Kind::Connection))
            .copied()
            .collect();
        candidates.sort_unstable();
        candidates.dedup();
        for cid in candidates {
            let fid = cid.func;
            let f = a.func(fid);
            if f.loops.is_empty() || f.role != perfgate_model::FunctionRole::Normal {
                continue;
            }

            let c = a.call(cid);
            let Some(li) = c.ctx.loop_idx() else { continue };
            if !scope::loop_is_hot(f, li)
                || c.has(CallFlags::ARGS_VARY_INNER | CallFlags::RETURNED | CallFlags::STORED)
            {
                continue;
            }
            if kept_by_parent(f, c) {
                continue;
            }
            let info = a.info(cid);
            let api = info
                .api_of(Kind::Alloc)
                .or_else(|| info.api_of(Kind::Connection));
            let Some(api) = api else { continue };
            if info.has_kind(Kind::RoundTrip) || receiver_varies(f, cid.call) {
                continue;
            }
            // A loop that sleeps (`loop { match connect().await { Ok(_) => break, Err(_) =>
            // sleep(RETRY).await } }`) is a retry or a poll, paced by its sleep: a connection
            // attempt or a buffer per round is what each round is for.
            if scope::paced_loops(a, fid)
                .iter()
                .any(|&paced| f.loop_within(paced, li))
            {
                continue;
            }
            // `vec![a, b]` lists its elements; only `vec![x; n]` is a sized buffer. (The
            // call's text is read from the source file, read again for it: macros only.)
            if c.is_macro && !a.call_text(cid).contains(';') {
                continue;
            }
            // `bytearray()`, `Vec::new()`: an empty buffer to fill, no sized allocation.
            if api.kind == Kind::Alloc && !c.is_macro && c.n_args == 0 {
                continue;
            }
            let name = scope::short_name(a, cid);
            let l = &f.loops[li as usize];
            let what = if api.kind == Kind::Connection {
                "a new client"
            } else {
                "a buffer"
            };
            cx.emit(
                Draft {
                    message: format!(
                        "`{name}` allocates {what} on every iteration of `{}`, with arguments that do not change between iterations",
                        l.header
                    ),
                    impact: "each iteration pays allocation (and zeroing, page faults, or a connection handshake) for an object the previous iteration just dropped".into(),
                    fix: if api.kind == Kind::Connection {
                        "create the client once before the loop and reuse it".into()
                    } else {
                        "allocate once before the loop and reuse it (`clear()`, fill in place, `out=` arguments)".into()
                    },
                    ..Draft::at_call(&META, a, cid, format!("`{name}`"))
                },
                out,
            );
        }
    }
}

/// `Client::builder().timeout(t).build()` where an earlier link reads the loop variable.
fn receiver_varies(f: &perfgate_model::Function, call: u32) -> bool {
    let mut cur = call;
    for _ in 0..16 {
        match &f.calls[cur as usize].callee {
            perfgate_model::Callee::Method {
                recv: perfgate_model::Receiver::CallResult(inner),
                ..
            } => {
                cur = *inner;
                if f.calls[cur as usize].has(CallFlags::ARGS_VARY_INNER) {
                    return true;
                }
            }
            _ => return false,
        }
    }
    false
}

/// Is the new value handed to a call that keeps it? `std::mem::replace(&mut chunk,
/// Vec::with_capacity(n))` puts it in `chunk` (and the old one usually goes on to be
/// pushed), and a call whose own result is stored or returned keeps its argument with it.
fn kept_by_parent(f: &perfgate_model::Function, c: &perfgate_model::Call) -> bool {
    f.enclosing_calls(c.ctx).any(|p| {
        let p = &f.calls[p as usize];
        let swaps = matches!(&p.callee, perfgate_model::Callee::Path(path)
            if matches!(path.last().map(|n| n.as_str()), Some("replace" | "swap"))
                && path.iter().any(|s| s == "mem"));
        swaps || p.has(CallFlags::STORED | CallFlags::RETURNED)
    })
}
