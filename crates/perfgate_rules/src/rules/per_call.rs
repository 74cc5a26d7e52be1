//! Shared by `connection-per-call` and `resource-load-per-call`: an expensive object
//! (a client, a model, a configuration) built in a function that runs per request, and
//! thrown away when it returns.

use super::scope::{self, Reach};
use crate::checker::Draft;
use crate::{Checker, RuleMeta};
use perfgate_analysis::{Analysis, CallId, CallInfo, FuncId, Target};
use perfgate_catalog::Api;
use perfgate_catalog::Kind;
use perfgate_model::{CallFlags, Confidence, Finding};

pub(crate) struct Wording {
    /// "a new client", "a freshly loaded model" (what a factory returns).
    pub what: &'static str,
    pub impact: &'static str,
    pub fix: &'static str,
    /// Leave calls in hot loops to `alloc-in-loop`.
    pub skip_loops: bool,
    /// The catalogue kind whose note describes the resource.
    pub kind: perfgate_catalog::Kind,
    /// Report only the same resource loaded again: constant arguments at the reporting
    /// call, or a call in async code or a loop. A helper that loads whatever path it is
    /// given (`convert_file(path)`) is doing its job.
    pub same_input_only: bool,
    /// A resource with a `session` fact (a socket, a WebSocket) is the session itself: not
    /// reported where the function serves it (see [`serves_session`]).
    pub sessions: bool,
}

/// Whether a function serves a session it opens: it loops (reads or writes the connection
/// round after round), relays it (`copy_bidirectional`), or awaits a project function that
/// loops (a pump). One connection per call is then the design, not a missed pool.
fn serves_session(a: &Analysis, fid: FuncId) -> bool {
    !a.func(fid).loops.is_empty()
        || a.known_calls(fid).any(|(_, info)| {
            info.has_kind(Kind::Relay)
                || matches!(info.target, Target::Project { func, confidence: Confidence::Certain }
                    if a.is_async(func) && !a.func(func).loops.is_empty())
        })
}

pub(crate) fn check<'c>(
    cx: &Checker<'c>,
    meta: &'static RuleMeta,
    kinds: &[Kind],
    resource: impl Fn(&Analysis<'c>, CallId, &CallInfo<'c>) -> Option<&'c Api>,
    w: &Wording,
    out: &mut Vec<Finding>,
) {
    let a = cx.a;
    // A call that is itself a round trip (`requests.get(url)`) builds its connection and
    // drops it before returning: keeping its result, a response, keeps no connection.
    let one_shot = |id: CallId| a.info(id).has_kind(Kind::RoundTrip);
    let kept = |id: CallId| {
        a.call(id)
            .has(CallFlags::RETURNED | CallFlags::STORED | CallFlags::HANDED_ON)
            && !one_shot(id)
    };
    // Calls with a catalogue fact of the kinds asked for, in call order.
    let mut candidates: Vec<CallId> = kinds
        .iter()
        .flat_map(|k| a.calls_with_kind(*k))
        .copied()
        .collect();
    candidates.sort_unstable();
    candidates.dedup();
    // Factories: functions that build the resource and hand it back to their caller.
    let factories = Reach::compute(
        a,
        candidates.iter().copied().filter(|&id| {
            a.call(id).has(CallFlags::RETURNED)
                && !one_shot(id)
                && resource(a, id, a.info(id)).is_some()
        }),
        |id| a.call(id).has(CallFlags::RETURNED),
    );
    if !factories.is_empty() {
        for fid in a.functions() {
            for (cid, info) in a.known_calls(fid) {
                if matches!(info.target, Target::Project { func, confidence: perfgate_model::Confidence::Certain } if factories.reaches(func))
                {
                    candidates.push(cid);
                }
            }
        }
        candidates.sort_unstable();
        candidates.dedup();
    }
    // Asked once per function, and only of functions with a candidate call.
    let mut per_call: Option<(FuncId, bool)> = None;
    for cid in candidates {
        let fid = cid.func;
        let f = a.func(fid);
        let info = a.info(cid);
        {
            let c = a.call(cid);
            if kept(cid) || scope::in_lazy_init(f, cid.call) {
                continue;
            }
            let runs = match per_call {
                Some((g, r)) if g == fid => r,
                _ => {
                    let r = scope::per_call(a, fid);
                    per_call = Some((fid, r));
                    r
                }
            };
            if !runs {
                continue;
            }
            if w.skip_loops && c.ctx.loop_idx().is_some_and(|l| scope::loop_is_hot(f, l)) {
                continue;
            }
            if w.sessions {
                // The session-opening call: this one, or the one the factory it calls makes.
                let root = match info.target {
                    Target::Project { func: g, .. } if resource(a, cid, info).is_none() => {
                        factories.root(g)
                    }
                    _ => Some(cid),
                };
                if root.is_some_and(|r| a.info(r).has_kind(Kind::Session)) && serves_session(a, fid)
                {
                    continue;
                }
            }
            // A synchronous function named for loading (`load_model_hook`,
            // `restore_checkpoint`) loads what it is asked to, as a `*Loader` type's methods
            // do: how often that happens is decided where it is called.
            if w.same_input_only && !f.is_async && names_a_load(&f.name) {
                continue;
            }
            if w.same_input_only
                && !c.has(CallFlags::ARGS_CONST)
                && !f.is_async
                && c.ctx.loop_idx().is_none()
            {
                continue;
            }
            // Named from the source text, which is read again for it: only once the call
            // is known to be reported.
            let name = || scope::short_name(a, cid);
            let in_loop = if c.ctx.loop_idx().is_some() {
                " inside a loop"
            } else {
                ""
            };
            let (message, trace, confidence) = if let Some(api) = resource(a, cid, info) {
                let note = api.note.as_deref().unwrap_or(w.what);
                let name = name();
                (
                    format!(
                        "`{name}` {note} on every call of `{}`{in_loop}; the result is dropped on return",
                        f.qualname
                    ),
                    vec![scope::step(a, cid, format!("`{name}`: {note}"))],
                    Confidence::Certain,
                )
            } else if let Target::Project { func: g, .. } = info.target {
                if !factories.reaches(g) || g == fid {
                    continue;
                }
                let Some(chain) = factories.chain(a, g, 16, w.kind) else {
                    continue;
                };
                let root = chain.last().map(|s| s.note.clone()).unwrap_or_default();
                let mut trace = vec![scope::step(a, cid, format!("calls {}", a.func(g).qualname))];
                trace.extend(chain);
                (
                    format!(
                        "`{}` returns {} ({root}) on every call of `{}`{in_loop}; it is dropped on return",
                        name(),
                        w.what,
                        f.qualname
                    ),
                    trace,
                    a.confidence(cid),
                )
            } else {
                continue;
            };
            cx.emit(
                Draft {
                    meta,
                    func: fid,
                    span: c.span,
                    message,
                    impact: w.impact.into(),
                    fix: w.fix.into(),
                    trace,
                    confidence,
                },
                out,
            );
        }
    }
}

/// Is one of the words of a function's name (split at `_`) `load`, `reload` or `restore`?
fn names_a_load(name: &str) -> bool {
    name.split('_')
        .any(|w| matches!(w, "load" | "reload" | "restore"))
}
