//! Effect summaries: for every function, which thread-blocking effects it can reach through
//! synchronous calls, with the shortest call chain as evidence.
//!
//! Computed as a multi-source breadth-first search over the reversed call graph, one pass per
//! effect: every function is visited at most once per effect, so the cost is linear in the
//! number of calls and recursion terminates. Propagation stops at async functions (calling
//! one only builds a future) and at offloading boundaries (`spawn_blocking`, `to_thread`).

use crate::{Analysis, CallId, FuncId, Target};
use perfgate_catalog::Kind;
use perfgate_model::{Confidence, Function, Loop, Span, TripCount};
use std::collections::VecDeque;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Effect {
    /// File, socket, HTTP, subprocess or database I/O that blocks.
    Io,
    /// A thread sleep.
    Sleep,
    /// A synchronous wait on a thread, channel, future or result.
    Wait,
    /// CPU-bound work: numeric loop nests, image/hash/compression/inference APIs.
    Cpu,
}

impl Effect {
    pub const ALL: [Effect; 4] = [Effect::Io, Effect::Sleep, Effect::Wait, Effect::Cpu];

    pub fn of_kind(kind: Kind) -> Option<Effect> {
        Some(match kind {
            Kind::BlockingIo => Effect::Io,
            Kind::BlockingSleep => Effect::Sleep,
            Kind::BlockingWait => Effect::Wait,
            Kind::CpuHeavy => Effect::Cpu,
            _ => return None,
        })
    }

    fn idx(self) -> usize {
        self as usize
    }
}

/// One step of evidence: a call, or (for the root of a CPU chain) a loop nest.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    pub func: FuncId,
    pub span: Span,
    /// The call at this step, if the step is a call.
    pub call: Option<u32>,
    /// What happens here: "calls preprocess_images", "std::fs::read: blocking file-system call".
    pub note: String,
}

/// From a function down to the statement that blocks.
#[derive(Clone, Debug, PartialEq)]
pub struct Chain {
    pub steps: Vec<Step>,
    pub confidence: Confidence,
}

impl Chain {
    /// The statement that actually blocks.
    pub fn root(&self) -> &Step {
        self.steps.last().expect("chains are never empty")
    }
}

/// Where an effect happens in a function's own body. The note of a blocking call is
/// written only when a chain through it is asked for: most are never reported, and writing
/// one may need the file's text.
#[derive(Clone, Debug)]
enum Root {
    /// A CPU-heavy loop nest, with its note.
    Loop { span: Span, note: String },
    /// A call with a catalogue fact of this effect (index into its `apis`).
    Call { call: u32, api: u32 },
}

#[derive(Clone, Debug)]
enum Hop {
    Direct(Root),
    Via {
        call: u32,
        callee: FuncId,
        confidence: Confidence,
    },
}

/// Per file, per function, per effect: how the effect is reached.
/// A function's first hop towards each of the four effects.
type Hops = [Option<Hop>; 4];

#[derive(Default)]
pub struct Summaries {
    /// Per file, per function: the first hop towards each effect. Boxed and absent for the
    /// many functions that reach none (four empty slots would be 224 bytes each).
    hops: Vec<Vec<Option<Box<Hops>>>>,
}

impl Summaries {
    /// How many (function, effect) pairs have an effect: a cheap checksum for benchmarks.
    pub fn chain_count(&self) -> usize {
        self.hops
            .iter()
            .flatten()
            .flatten()
            .map(|h| h.iter().filter(|x| x.is_some()).count())
            .sum()
    }

    /// The shortest chain by which `func` reaches `effect`, if it does.
    pub fn chain(&self, a: &Analysis, func: FuncId, effect: Effect) -> Option<Chain> {
        let mut steps = Vec::new();
        let mut confidence = Confidence::Certain;
        let mut cur = func;
        for _ in 0..10_000 {
            match self.hop(cur, effect)? {
                Hop::Direct(root) => {
                    steps.push(root_step(a, cur, root));
                    return Some(Chain { steps, confidence });
                }
                Hop::Via {
                    call,
                    callee,
                    confidence: c,
                } => {
                    if *c == Confidence::Assumed {
                        confidence = Confidence::Assumed;
                    }
                    let site = a.call(CallId {
                        func: cur,
                        call: *call,
                    });
                    steps.push(Step {
                        func: cur,
                        span: site.span,
                        call: Some(*call),
                        note: format!("calls {}", a.func(*callee).qualname),
                    });
                    cur = *callee;
                }
            }
        }
        None
    }

    /// Does `func` reach `effect`? (As `chain(..).is_some()`, without building the chain.)
    pub fn reaches(&self, func: FuncId, effect: Effect) -> bool {
        self.hop(func, effect).is_some()
    }

    fn hop(&self, f: FuncId, e: Effect) -> Option<&Hop> {
        self.hops
            .get(f.file as usize)?
            .get(f.func as usize)?
            .as_ref()?
            .get(e.idx())?
            .as_ref()
    }
}

pub(crate) fn compute(a: &Analysis) -> Summaries {
    let mut hops: Vec<Vec<Option<Box<Hops>>>> = a
        .files
        .iter()
        .map(|f| {
            let mut v = Vec::new();
            v.resize_with(f.module.functions.len(), || None);
            v
        })
        .collect();
    // Functions numbered across files, so the reverse call graph can be flat arrays.
    let (n, flat) = (a.function_count(), |id: FuncId| a.flat(id));
    let mut queues: [VecDeque<FuncId>; 4] = Default::default();
    // Per file, found in parallel: where functions block in their own bodies, and their
    // outgoing synchronous edges (caller, callee, call index), in function and call order.
    type Edge = (FuncId, FuncId, u32, Confidence);
    type Local = (Vec<(FuncId, Effect, Root)>, Vec<Edge>);
    let local: Vec<Local> = {
        use rayon::prelude::*;
        (0..a.files.len())
            .into_par_iter()
            .map(|file| {
                let (mut direct, mut edges) = (Vec::new(), Vec::new());
                for func in 0..a.files[file].module.functions.len() {
                    let id = FuncId {
                        file: file as u32,
                        func: func as u32,
                    };
                    // A function that runs once has no effects its callers pay for.
                    if runs_once(a.func(id)) {
                        continue;
                    }
                    // Blocks that run on the first call only, if the function has any.
                    let f = a.func(id);
                    let once_blocks = f.blocks.iter().any(|b| b.once).then_some(f);
                    let runs_once_at =
                        |f: Option<&perfgate_model::Function>, c: &perfgate_model::Call| {
                            f.is_some_and(|f| f.runs_once_at(c.ctx.block))
                        };
                    if !a.is_async(id) {
                        for (cid, info) in a.known_calls(id) {
                            // What is known of the call first: reading the call itself is
                            // a cache miss.
                            let Target::Project { func, confidence } = info.target else {
                                continue;
                            };
                            if info.offloaded || info.not_on_executor || func == id {
                                continue;
                            }
                            let c = a.call(cid);
                            if !c.ctx.async_block
                                && !c.awaited
                                && !a.is_async(func)
                                && !deferred(a, id, c)
                                && !runs_once_at(once_blocks, c)
                            {
                                edges.push((id, func, cid.call, confidence));
                            }
                        }
                    }
                    direct.extend(direct_effects(a, id).into_iter().map(|(e, r)| (id, e, r)));
                }
                (direct, edges)
            })
            .collect()
    };
    // Reverse call graph over synchronous code: callee -> (caller, call index).
    let callers = crate::csr::Csr::build(n, || {
        local.iter().flat_map(|(_, edges)| {
            edges.iter().map(|&(caller, callee, call, confidence)| {
                (flat(callee), (caller, call, confidence))
            })
        })
    });
    for (direct, _) in local {
        for (id, e, root) in direct {
            let slot = &mut hops[id.file as usize][id.func as usize]
                .get_or_insert_with(Default::default)[e.idx()];
            if slot.is_none() {
                *slot = Some(Hop::Direct(root));
                queues[e.idx()].push_back(id);
            }
        }
    }
    for e in Effect::ALL {
        let q = &mut queues[e.idx()];
        while let Some(g) = q.pop_front() {
            for &(h, call, confidence) in callers.of(flat(g)) {
                let slot = &mut hops[h.file as usize][h.func as usize]
                    .get_or_insert_with(Default::default)[e.idx()];
                if slot.is_none() {
                    *slot = Some(Hop::Via {
                        call,
                        callee: g,
                        confidence,
                    });
                    q.push_back(h);
                }
            }
        }
    }
    Summaries { hops }
}

/// A memoized function of no arguments (`@lru_cache def get_settings():`, `#[once]`): its
/// body runs on the first call in the process, and every later call returns the kept value.
/// What it does there is start-up work, not its callers'. (A method keyed on `self` runs
/// once per instance, which may be once per request: not this.)
fn runs_once(f: &perfgate_model::Function) -> bool {
    f.memoized && f.params.is_empty() && f.owner.is_none()
}

/// Effects in a function's own body: blocking catalogue APIs and CPU-heavy loop nests.
fn direct_effects(a: &Analysis, id: FuncId) -> Vec<(Effect, Root)> {
    let mut out = Vec::new();
    // Loop nests first: when a helper both resizes and loops, the loop is the story. (A
    // function without loops is not read for them: most are not.)
    if a.shape(id) & crate::Shape::LOOPS != 0 {
        let f = a.func(id);
        for (li, note) in heavy_loops(a, id) {
            let span = f.loops[li as usize].span;
            out.push((Effect::Cpu, Root::Loop { span, note }));
        }
    }
    for (cid, info) in a.known_calls(id) {
        // What is known of the call first: reading the call itself is a cache miss.
        if info.offloaded
            || info.not_on_executor
            || !info
                .apis
                .iter()
                .any(|api| Effect::of_kind(api.kind).is_some())
        {
            continue;
        }
        let c = a.call(cid);
        if c.awaited
            || (c.ctx.async_block && !a.is_async(id))
            || deferred(a, id, c)
            || a.func(id).runs_once_at(c.ctx.block)
        {
            continue;
        }
        for (i, api) in info.apis.iter().enumerate() {
            if let Some(e) = Effect::of_kind(api.kind) {
                let root = Root::Call {
                    call: cid.call,
                    api: i as u32,
                };
                out.push((e, root));
            }
        }
    }
    out
}

/// The evidence step for where an effect happens: `std::fs::read: blocking file-system
/// call`, or the loop nest.
fn root_step(a: &Analysis, id: FuncId, root: &Root) -> Step {
    match root {
        Root::Loop { span, note } => Step {
            func: id,
            span: *span,
            call: None,
            note: note.clone(),
        },
        &Root::Call { call, api } => {
            let cid = CallId { func: id, call };
            let api = a.info(cid).apis[api as usize];
            let name = match a.external_path(cid) {
                Some(p) if !api.by_name => p.join(a.file(id).module.language.path_sep()),
                _ => a.callee_text(cid),
            };
            let note = match &api.note {
                Some(n) => format!("{name}: {n}"),
                None => name,
            };
            Step {
                func: id,
                span: a.call(cid).span,
                call: Some(call),
                note,
            }
        }
    }
}

/// Loops with at most this many iterations are small (a 3x3 kernel, RGB channels).
const SMALL_TRIP: u64 = 16;
/// A constant nest with this many inner iterations is heavy (64x64 and up).
const HEAVY_CONST_ITERATIONS: u64 = 4096;

/// Is the call in a closure that is kept to be called later, not run on the spot: one
/// handed straight to a constructor (`Provider::new(move || lock.blocking_read())`,
/// `Box::new(|| ..)`, `from_fn(..)`)? Iterator adapters and `unwrap_or_else` run theirs
/// inline, and `Arc::new(Embedder::new(..))` takes a value, not a closure.
pub(crate) fn deferred(a: &Analysis, id: FuncId, c: &perfgate_model::Call) -> bool {
    if !c.ctx.in_closure {
        return false;
    }
    let f = a.func(id);
    let Some(p) = c.ctx.parent_call().and_then(|p| f.calls.get(p as usize)) else {
        return false;
    };
    let constructor = matches!(&p.callee, perfgate_model::Callee::Path(path)
        if matches!(path.last().map(|n| n.as_str()), Some("new" | "from_fn" | "boxed")));
    // The closure's `|..|` stands between the constructor's start and the call.
    constructor
        && p.span.start < c.span.start
        && a.file(id)
            .slice(perfgate_model::Span {
                start: p.span.start,
                end: c.span.start,
            })
            .contains('|')
}

fn is_small(l: &Loop) -> bool {
    matches!(l.trip, TripCount::Const(n) if n <= SMALL_TRIP) || l.over_constant_table()
}

fn trip_text(l: &Loop) -> String {
    match l.trip {
        TripCount::Const(n) => format!("{n} iterations"),
        TripCount::Dynamic => "data-sized".into(),
        TripCount::Unbounded => "unbounded".into(),
    }
}

/// `nested loops `for y in 0..224` (224 iterations) › `for x in 0..224` (224 iterations)`:
/// the outer loop and its chain of non-small nested loops.
fn nest_note(f: &Function, outer: u32) -> String {
    let mut parts = Vec::new();
    let mut cur = outer;
    for _ in 0..4 {
        let l = &f.loops[cur as usize];
        parts.push(format!("`{}` ({})", l.header, trip_text(l)));
        let child = f
            .loops
            .iter()
            .enumerate()
            .find(|(_, c)| c.parent == Some(cur) && !is_small(c));
        match child {
            Some((j, _)) => cur = j as u32,
            None => break,
        }
    }
    format!(
        "nested loops {} doing arithmetic per element",
        parts.join(" › ")
    )
}

/// Outermost loops of CPU-heavy nests: nested loops whose bounds are not small constants
/// and whose inner bodies do arithmetic and indexing (pixel, matrix, sample loops).
pub fn heavy_loops(a: &Analysis, id: FuncId) -> Vec<(u32, String)> {
    let f = a.func(id);
    let mut heavy = vec![false; f.loops.len()];
    let mut out = Vec::new();
    for (i, l) in f.loops.iter().enumerate() {
        if loop_offloaded(a, id, f, l) {
            continue;
        }
        let mut anc = l.parent;
        let mut inside_heavy = false;
        while let Some(p) = anc {
            if heavy[p as usize] {
                inside_heavy = true;
                break;
            }
            anc = f.loops[p as usize].parent;
        }
        if inside_heavy || is_small(l) || l.trip == TripCount::Unbounded {
            continue;
        }
        // A loop that awaits gives the executor back on every round: no round holds it
        // for more than one pass of the loops inside.
        let yields = f.awaits.iter().any(|aw| {
            !aw.ctx.in_closure
                && aw
                    .ctx
                    .loop_idx()
                    .is_some_and(|al| f.loop_within(al, i as u32))
        }) || f
            .loops
            .iter()
            .enumerate()
            .any(|(j, inner)| inner.awaits && f.loop_within(j as u32, i as u32));
        if yields {
            continue;
        }
        let inner = f.loops.iter().enumerate().find(|(j, inner)| {
            *j != i
                && f.loop_within(*j as u32, i as u32)
                // Computed once on the way out: not per round of a loop around the `return`.
                && (l.then_returns || !inner.then_returns)
                && !is_small(inner)
                && inner.trip != TripCount::Unbounded
                && inner.kind == l.kind
                && match (l.trip, inner.trip) {
                    (TripCount::Const(x), TripCount::Const(y)) => {
                        x.saturating_mul(y) >= HEAVY_CONST_ITERATIONS && inner.body_arith
                    }
                    _ => inner.body_arith && inner.body_index && !walks_parts(f, *j, i),
                }
        });
        if inner.is_some() {
            heavy[i] = true;
            out.push((i as u32, nest_note(f, i as u32)));
        } else if matches!(l.trip, TripCount::Const(n) if n >= 100_000) && l.body_arith {
            heavy[i] = true;
            out.push((
                i as u32,
                format!("loop `{}` ({}) doing arithmetic", l.header, trip_text(l)),
            ));
        }
    }
    out
}

/// Does loop `inner` walk the items of an element that a loop around it, up to `outer`,
/// is at (`for tool_call in chunk.tool_calls` inside `for chunk in chunks`, `for rank, doc
/// in enumerate(documents)` inside `for documents, weight in zip(lists, weights)`)? Then
/// its rounds add up to the size of one nested collection, as one loop over it would: they
/// do not multiply the outer loop's, and a single loop over data is not CPU-heavy by its
/// shape. A loop counting positions in the element (`for i in range(len(chunk))`) indexes
/// it byte by byte or pixel by pixel, and still counts as nested.
fn walks_parts(f: &Function, inner: usize, outer: usize) -> bool {
    let l = &f.loops[inner];
    let Some(root) = l.iter_root.as_ref().filter(|_| !l.counts()) else {
        return false;
    };
    let mut cur = l.parent;
    while let Some(p) = cur {
        let around = &f.loops[p as usize];
        if around.vars.iter().any(|v| v == root) {
            return true;
        }
        if p as usize == outer {
            break;
        }
        cur = around.parent;
    }
    false
}

fn loop_offloaded(a: &Analysis, id: FuncId, f: &Function, l: &Loop) -> bool {
    if l.ctx.async_block && !f.is_async {
        return true;
    }
    l.ctx.parent_call().is_some_and(|p| {
        let info = a.info(CallId { func: id, call: p });
        info.offloaded || info.has_kind(Kind::Offload)
    })
}
