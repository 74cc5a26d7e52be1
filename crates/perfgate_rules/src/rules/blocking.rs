//! Shared by the four "blocks the executor" rules: find calls in async context that reach a
//! blocking effect, directly or through synchronous helpers.

use crate::checker::Draft;
use crate::{Checker, RuleMeta};
use perfgate_analysis::{Effect, Shape, Step, Target};
use perfgate_model::{Confidence, Finding, FunctionRole, Language};

/// Rule-specific wording.
pub(crate) struct Wording {
    /// "blocking I/O", "a thread sleep", ...
    pub what: &'static str,
    pub impact: &'static str,
    pub fix_rust: &'static str,
    pub fix_python: &'static str,
}

pub(crate) fn check(
    cx: &Checker,
    meta: &'static RuleMeta,
    effect: Effect,
    w: &Wording,
    out: &mut Vec<Finding>,
) {
    let a = cx.a;
    // Only async code can block the executor; most functions are sync.
    for fid in cx.functions_with(Shape::ASYNC | Shape::ASYNC_BLOCKS) {
        let f = a.func(fid);
        // Start-up code and tests run once, before or outside serving: blocking there is
        // not latency anybody waits on.
        if f.role != FunctionRole::Normal || a.startup_only(fid) {
            continue;
        }
        let lang = a.file(fid).module.language;
        let generic_fix = match lang {
            Language::Rust => w.fix_rust,
            Language::Python => w.fix_python,
        };
        // Calls the analysis knows nothing of block nothing it knows of; and what it knows
        // of a call is read before the call itself, a cache miss.
        for (cid, info) in a.known_calls(fid) {
            let direct = info
                .apis
                .iter()
                .find(|x| Effect::of_kind(x.kind) == Some(effect));
            let helper = match info.target {
                Target::Project { func: callee, .. }
                    if direct.is_none()
                        && !a.is_async(callee)
                        && a.effects.reaches(callee, effect) =>
                {
                    Some(callee)
                }
                _ => None,
            };
            if direct.is_none() && helper.is_none() {
                continue;
            }
            let c = a.call(cid);
            if c.awaited || !a.on_executor(cid, f, c, info) {
                continue;
            }
            // Directly in async code.
            if let Some(api) = direct {
                // `time.sleep(0)` gives up the thread's turn; it blocks for nothing.
                if effect == Effect::Sleep && super::scope::sleeps_zero(&a.call_text(cid)) {
                    continue;
                }
                let name = super::scope::short_name(a, cid);
                let fix = api
                    .instead
                    .as_ref()
                    .map(|i| format!("use {i} instead of `{name}`"))
                    .unwrap_or_else(|| generic_fix.replace("{}", &name));
                let step = Step {
                    func: fid,
                    span: c.span,
                    call: Some(cid.call),
                    note: match &api.note {
                        Some(n) => format!("`{name}`: {n}"),
                        None => format!("`{name}`"),
                    },
                };
                cx.emit(
                    Draft {
                        meta,
                        func: fid,
                        span: c.span,
                        message: format!("{} `{name}` runs on the async executor", w.what),
                        impact: w.impact.into(),
                        fix: fix.into(),
                        trace: vec![step],
                        confidence: Confidence::Certain,
                    },
                    out,
                );
                continue;
            }
            // Through a synchronous helper.
            let Some(callee) = helper else {
                continue;
            };
            let Some(chain) = a.effects.chain(a, callee, effect) else {
                continue;
            };
            let confidence = chain.confidence.max(a.confidence(cid));
            let callee_name = &a.func(callee).qualname;
            let mut trace = vec![Step {
                func: fid,
                span: c.span,
                call: Some(cid.call),
                note: format!("calls {callee_name}"),
            }];
            trace.extend(chain.steps.iter().cloned());
            let root = chain.root();
            let assumed = if confidence == Confidence::Assumed {
                " (assuming the call resolves to this project's only method of that name)"
            } else {
                ""
            };
            let helper = super::scope::short_name(a, cid);
            cx.emit(
                Draft {
                    meta,
                    func: fid,
                    span: c.span,
                    message: format!(
                        "`{helper}` reaches {} on the async executor: {}{assumed}",
                        w.what, root.note
                    ),
                    impact: w.impact.into(),
                    fix: generic_fix.replace("{}", &helper).into(),
                    trace,
                    confidence,
                },
                out,
            );
        }
        if effect == Effect::Cpu && f.is_async {
            for (li, note) in perfgate_analysis::effects::heavy_loops(a, fid) {
                let l = &f.loops[li as usize];
                let header_span = l.header_span();
                cx.emit(
                    Draft {
                        meta,
                        func: fid,
                        span: header_span,
                        message: format!("{} runs on the async executor: {note}", w.what),
                        impact: w.impact.into(),
                        fix: generic_fix
                            .replace("`{}`", "the loop")
                            .replace("{}", "the loop")
                            .into(),
                        trace: vec![Step {
                            func: fid,
                            span: l.span,
                            call: None,
                            note,
                        }],
                        confidence: Confidence::Certain,
                    },
                    out,
                );
            }
        }
    }
}
