//! Which functions run only at start-up: entry points, schema migrations, and what only
//! they reach.

use crate::{Analysis, FuncId, Shape, Target};

/// A function is start-up code when it is an entry point (`main`, `#[tokio::main]`,
/// module-level code), a schema migration's ([`perfgate_model::is_migration_path`]), or
/// when it has callers, every one of them is start-up code, and none calls it from a loop,
/// closure or spawned task: `main` that loops over requests is serving, not starting. Tests
/// and benchmarks are not callers here: a handler that only a test calls directly is one the
/// framework calls, as if nothing called it, and a function called from `main` and from a
/// test runs once in production. Computed by counting down each function's callers not yet
/// known to be start-up code: linear in the number of call edges. Functions are numbered
/// across files and edges kept in flat arrays: this runs on one thread over every function.
pub(crate) fn compute(a: &Analysis) -> Vec<Vec<bool>> {
    let (n, flat) = (a.function_count(), |id: FuncId| a.flat(id));
    let mut startup = vec![false; n];
    let mut repeated = vec![false; n];
    // Callees of each function, as (callee, called again: in a loop, closure or async
    // block), one per call. Read from the resolved calls once, file by file in parallel,
    // into compact lists that the grouping then passes over.
    let per_file: Vec<Vec<(u32, (u32, bool))>> = {
        use rayon::prelude::*;
        (0..a.files.len())
            .into_par_iter()
            .map(|file| {
                let mut out = Vec::new();
                for func in 0..a.files[file].module.functions.len() {
                    let f = FuncId {
                        file: file as u32,
                        func: func as u32,
                    };
                    if a.shape(f) & Shape::TEST != 0 {
                        continue;
                    }
                    for (_, info) in a.known_calls(f) {
                        if let Target::Project { func: g, .. } = info.target {
                            if g != f {
                                out.push((flat(f) as u32, (flat(g) as u32, info.repeated)));
                            }
                        }
                    }
                }
                out
            })
            .collect()
    };
    let edges = crate::csr::Csr::build(n, || {
        per_file
            .iter()
            .flatten()
            .map(|&(f, edge)| (f as usize, edge))
    });
    drop(per_file);
    // Calls from callers not yet known to be start-up code. Counted per call, not per
    // caller: a caller found to be start-up code settles all its calls at once.
    let mut pending = vec![0u32; n];
    for f in 0..n {
        for &(g, _) in edges.of(f) {
            pending[g as usize] += 1;
        }
    }
    let mut work: Vec<usize> = Vec::new();
    for f in a.functions_shaped(Shape::ENTRY, Shape::TEST) {
        startup[flat(f)] = true;
        work.push(flat(f));
    }
    // Schema migrations run when the service is deployed or starts, whoever calls them
    // (usually a migrator, through a trait object or a list of them).
    for (fi, file) in a.files.iter().enumerate() {
        if !perfgate_model::is_migration_path(&file.path) {
            continue;
        }
        for func in 0..file.module.functions.len() {
            let f = FuncId {
                file: fi as u32,
                func: func as u32,
            };
            if a.shape(f) & Shape::TEST == 0 && !startup[flat(f)] {
                startup[flat(f)] = true;
                work.push(flat(f));
            }
        }
    }
    while let Some(f) = work.pop() {
        let out = edges.of(f);
        for &(g, again) in out {
            repeated[g as usize] |= again;
        }
        for &(g, _) in out {
            let g = g as usize;
            pending[g] -= 1;
            if pending[g] == 0 && !repeated[g] && !startup[g] {
                startup[g] = true;
                work.push(g);
            }
        }
    }
    a.first_func
        .windows(2)
        .map(|w| startup[w[0]..w[1]].to_vec())
        .collect()
}
