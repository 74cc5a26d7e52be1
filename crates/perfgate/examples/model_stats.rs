//! How big the model of a project is: counts and struct sizes, to see where memory goes.
//! `cargo run --release -p perfgate --example model_stats -- DIR`

use perfgate_check::{parse_source, Parsed};

fn main() {
    let dir = std::env::args().nth(1).expect("a directory");
    let mut files = Vec::new();
    let mut stack = vec![std::path::PathBuf::from(&dir)];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "py" || x == "rs") {
                if let Ok(t) = std::fs::read_to_string(&p) {
                    files.push((p.display().to_string(), t));
                }
            }
        }
    }
    let (mut funcs, mut calls, mut locals, mut loops, mut blocks, mut stmts, mut kw, mut path_segs) = (
        0usize, 0usize, 0usize, 0usize, 0usize, 0usize, 0usize, 0usize,
    );
    for (p, t) in files {
        if let Parsed::Ok { file, .. } = parse_source(&p, t) {
            for f in &file.module.functions {
                funcs += 1;
                calls += f.calls.len();
                locals += f.locals.len() + f.params.len();
                loops += f.loops.len();
                blocks += f.blocks.len();
                stmts += f.blocks.iter().map(|b| b.stmts.len()).sum::<usize>();
                for c in &f.calls {
                    kw += c.keywords.len();
                    if let perfgate_model::Callee::Path(p) = &c.callee {
                        path_segs += p.len();
                    }
                }
            }
        }
    }
    println!(
        "functions {funcs} × {} B",
        std::mem::size_of::<perfgate_model::Function>()
    );
    println!(
        "calls {calls} × {} B (keywords {kw}, path segments {path_segs})",
        std::mem::size_of::<perfgate_model::Call>()
    );
    println!(
        "bindings {locals} × {} B",
        std::mem::size_of::<perfgate_model::Binding>()
    );
    println!(
        "loops {loops} × {} B",
        std::mem::size_of::<perfgate_model::Loop>()
    );
    println!(
        "blocks {blocks} × {} B, stmt facts {stmts} × {} B",
        std::mem::size_of::<perfgate_model::Block>(),
        std::mem::size_of::<perfgate_model::StmtFacts>()
    );
    println!(
        "Context {} B, Callee {} B, Receiver {} B",
        std::mem::size_of::<perfgate_model::Context>(),
        std::mem::size_of::<perfgate_model::Callee>(),
        std::mem::size_of::<perfgate_model::Receiver>()
    );
}
