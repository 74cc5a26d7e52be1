//! Which functions run only at start-up: reached solely from entry points.

use crate::{Analysis, FuncId, Target};
use perfgate_model::FunctionRole;
use rustc_hash::FxHashSet;

/// A function is start-up code when it is an entry point (`main`, `#[tokio::main]`,
/// module-level code, a test) or when it has callers, every one of them is start-up code,
/// and none calls it from a loop, closure or spawned task: `main` that loops over requests
/// is serving, not starting. Computed by counting down each function's callers not yet
/// known to be start-up code: linear in the number of call edges.
pub(crate) fn compute(a: &Analysis) -> Vec<Vec<bool>> {
    let mut startup: Vec<Vec<bool>> = a
        .files
        .iter()
        .map(|f| vec![false; f.module.functions.len()])
        .collect();
    // (callee, called repeatedly or elsewhere: in a loop, closure or async block)
    let mut callees: Vec<Vec<Vec<(FuncId, bool)>>> = a
        .files
        .iter()
        .map(|f| vec![Vec::new(); f.module.functions.len()])
        .collect();
    let mut pending: Vec<Vec<u32>> = a
        .files
        .iter()
        .map(|f| vec![0; f.module.functions.len()])
        .collect();
    let mut repeated: Vec<Vec<bool>> = startup.clone();
    let mut seen = FxHashSet::default();
    for f in a.functions() {
        seen.clear();
        for (cid, info) in a.known_calls(f) {
            if let Target::Project { func: g, .. } = info.target {
                let ctx = a.call(cid).ctx;
                let again = ctx.loop_idx.is_some() || ctx.in_closure || ctx.async_block;
                if g == f {
                    continue;
                }
                if seen.insert(g) {
                    pending[g.file as usize][g.func as usize] += 1;
                }
                callees[f.file as usize][f.func as usize].push((g, again));
            }
        }
    }
    let mut work: Vec<FuncId> = a
        .functions()
        .filter(|&f| {
            let func = a.func(f);
            matches!(func.role, FunctionRole::Test)
                || (func.role == FunctionRole::Entry && func.name != "__init__")
        })
        .collect();
    for f in &work {
        startup[f.file as usize][f.func as usize] = true;
    }
    let mut done = FxHashSet::default();
    while let Some(f) = work.pop() {
        let edges = &callees[f.file as usize][f.func as usize];
        for &(g, again) in edges {
            repeated[g.file as usize][g.func as usize] |= again;
        }
        done.clear();
        for &(g, _) in edges {
            let (gf, gi) = (g.file as usize, g.func as usize);
            if !done.insert(g) {
                continue;
            }
            pending[gf][gi] -= 1;
            if pending[gf][gi] == 0 && !repeated[gf][gi] && !startup[gf][gi] {
                startup[gf][gi] = true;
                work.push(g);
            }
        }
    }
    startup
}
