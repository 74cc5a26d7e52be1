//! Shared by `connection-per-call` and `resource-load-per-call`: an expensive object
//! (a client, a model, a configuration) built in a function that runs per request, and
//! thrown away when it returns.

use super::scope::{self, Reach};
use crate::checker::Draft;
use crate::{Checker, RuleMeta};
use perfgate_analysis::{Analysis, CallId, Target};
use perfgate_catalog::Api;
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
}

pub(crate) fn check<'c>(
    cx: &Checker<'c>,
    meta: &'static RuleMeta,
    resource: impl Fn(&Analysis<'c>, CallId) -> Option<&'c Api>,
    w: &Wording,
    out: &mut Vec<Finding>,
) {
    let a = cx.a;
    let kept = |id: CallId| a.call(id).has(CallFlags::RETURNED | CallFlags::STORED);
    // Factories: functions that build the resource and hand it back to their caller.
    let factories = Reach::compute(
        a,
        |id| resource(a, id).is_some() && a.call(id).has(CallFlags::RETURNED),
        |id| a.call(id).has(CallFlags::RETURNED),
    );
    for fid in cx.functions() {
        if !scope::per_call(a, fid) {
            continue;
        }
        let f = a.func(fid);
        for cid in a.calls_of(fid) {
            let c = a.call(cid);
            if kept(cid) || scope::in_lazy_init(f, cid.call) {
                continue;
            }
            if w.skip_loops && c.ctx.loop_idx.is_some_and(|l| scope::loop_is_hot(f, l)) {
                continue;
            }
            if w.same_input_only
                && !c.has(CallFlags::ARGS_CONST)
                && !f.is_async
                && c.ctx.loop_idx.is_none()
            {
                continue;
            }
            let name = scope::short_name(a, cid);
            let in_loop = if c.ctx.loop_idx.is_some() {
                " inside a loop"
            } else {
                ""
            };
            let (message, trace, confidence) = if let Some(api) = resource(a, cid) {
                let note = api.note.as_deref().unwrap_or(w.what);
                (
                    format!(
                        "`{name}` {note} on every call of `{}`{in_loop}; the result is dropped on return",
                        f.qualname
                    ),
                    vec![scope::step(a, cid, format!("`{name}`: {note}"))],
                    Confidence::Certain,
                )
            } else if let Target::Project { func: g, .. } = a.info(cid).target {
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
                        "`{name}` returns {} ({root}) on every call of `{}`{in_loop}; it is dropped on return",
                        w.what, f.qualname
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
                    impact: w.impact.to_owned(),
                    fix: w.fix.to_owned(),
                    trace,
                    confidence,
                },
                out,
            );
        }
    }
}
