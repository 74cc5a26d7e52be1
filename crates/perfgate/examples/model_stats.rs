//! Where a check's memory goes: resident memory after each phase (parse and keep the model,
//! analysis, rules), then the model's own bytes per part (structs plus the strings and
//! vectors they own), to direct memory work.
//! `cargo run --release -p perfgate --example model_stats -- DIR`

use perfgate_check::{parse_source, Parsed};
use perfgate_model::SourceFile;
use perfgate_model::{Binding, Callee, Name, Receiver};
use std::collections::BTreeMap;
use std::mem::size_of;

// As in the binary: what is measured is what ships.
#[path = "../src/alloc.rs"]
mod alloc;
#[path = "common/sources.rs"]
mod sources;

fn rss_mb() -> f64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn s(x: &String) -> usize {
    x.capacity()
}

/// Heap bytes of an identifier: none when it is stored inline.
fn n(x: &Name) -> usize {
    if x.is_heap_allocated() {
        x.capacity()
    } else {
        0
    }
}

fn path(p: &[Name]) -> usize {
    std::mem::size_of_val(p) + p.iter().map(n).sum::<usize>()
}

fn recv(r: &Receiver) -> usize {
    match r {
        Receiver::SelfField(x) | Receiver::Local(x) => n(x),
        Receiver::Path(p) => path(p),
        _ => 0,
    }
}

fn binding(b: &Binding) -> usize {
    n(&b.name) + b.ty.as_deref().map_or(0, path)
}

fn main() {
    alloc::init();
    let dir = std::env::args().nth(1).expect("a directory");
    let sources = sources::read(&dir);
    println!("start: {:.0} MB", rss_mb());
    let t = std::time::Instant::now();
    let files: Vec<SourceFile> = sources
        .into_iter()
        .filter_map(|(rel, text)| match parse_source(&rel, text) {
            Parsed::Ok { file, .. } => Some(*file),
            _ => None,
        })
        .collect();
    println!(
        "parsed {} files, model kept: {:.0} MB ({:.0?})",
        files.len(),
        rss_mb(),
        t.elapsed()
    );
    let catalog = perfgate_catalog::Catalog::bundled();
    let t = std::time::Instant::now();
    let analysis = perfgate_analysis::Analysis::new(&files, &catalog);
    println!("analysis: {:.0} MB ({:.0?})", rss_mb(), t.elapsed());
    let checker = perfgate_rules::Checker::new(&analysis);
    let t = std::time::Instant::now();
    let mut found = Vec::new();
    for r in perfgate_rules::all() {
        r.check(&checker, &mut found);
    }
    println!(
        "rules ({} findings): {:.0} MB ({:.0?})\n",
        found.len(),
        rss_mb(),
        t.elapsed()
    );

    let mut bytes: BTreeMap<&str, usize> = BTreeMap::new();
    let mut add = |k: &'static str, n: usize| *bytes.entry(k).or_default() += n;
    for file in &files {
        let m = &file.module;
        add(
            "imports",
            m.imports
                .iter()
                .map(|i| size_of::<perfgate_model::Import>() + n(&i.alias) + path(&i.path))
                .sum::<usize>(),
        );
        add(
            "types",
            m.types
                .iter()
                .map(|t| {
                    size_of::<perfgate_model::TypeDecl>()
                        + n(&t.name)
                        + t.fields
                            .iter()
                            .map(|b| size_of::<Binding>() + binding(b))
                            .sum::<usize>()
                })
                .sum::<usize>(),
        );
        add(
            "globals",
            m.globals
                .iter()
                .map(|b| size_of::<Binding>() + binding(b))
                .sum::<usize>(),
        );
        for f in &m.functions {
            add("functions (struct)", size_of::<perfgate_model::Function>());
            add(
                "function names",
                n(&f.name) + n(&f.qualname) + f.owner.as_ref().map_or(0, n),
            );
            add(
                "calls (struct)",
                f.calls.capacity() * size_of::<perfgate_model::Call>(),
            );
            for c in &f.calls {
                let bytes = match &c.callee {
                    Callee::Path(p) => path(p),
                    Callee::Method { recv: r, name } => n(name) + recv(r),
                    Callee::Unknown => 0,
                };
                add("call names", bytes);
            }
            if let Some(e) = &f.extra {
                add(
                    "call keywords",
                    e.keywords
                        .iter()
                        .map(|(_, kw)| {
                            16 + std::mem::size_of_val(&**kw)
                                + kw.iter().map(|(k, _)| n(k)).sum::<usize>()
                        })
                        .sum::<usize>(),
                );
            }
            add(
                "bindings (struct)",
                (f.locals.capacity() + f.params.capacity()) * size_of::<Binding>(),
            );
            add(
                "binding names and types",
                f.locals.iter().chain(&f.params).map(binding).sum::<usize>(),
            );
            add(
                "loops",
                f.loops.capacity() * size_of::<perfgate_model::Loop>()
                    + f.loops
                        .iter()
                        .map(|l| s(&l.header) + path(&l.vars) + l.iter_root.as_ref().map_or(0, n))
                        .sum::<usize>(),
            );
            add(
                "blocks",
                f.blocks.capacity() * size_of::<perfgate_model::Block>()
                    + f.blocks
                        .iter()
                        .map(|b| {
                            b.stmts.capacity() * size_of::<perfgate_model::StmtFacts>()
                                + b.stmts
                                    .iter()
                                    .map(|st| path(&st.defs) + path(&st.uses))
                                    .sum::<usize>()
                        })
                        .sum::<usize>(),
            );
            add(
                "awaits",
                f.awaits.capacity() * size_of::<perfgate_model::Await>()
                    + f.awaits
                        .iter()
                        .map(|a| path(&a.binds) + path(&a.uses))
                        .sum::<usize>(),
            );
            add(
                "locks and handlers",
                f.locks.capacity() * size_of::<perfgate_model::Lock>()
                    + f.handlers.capacity() * size_of::<perfgate_model::Handler>(),
            );
        }
    }
    let total: usize = bytes.values().sum();
    let mut rows: Vec<_> = bytes.into_iter().collect();
    rows.sort_by_key(|r| std::cmp::Reverse(r.1));
    for (k, v) in rows {
        println!("{k:26} {:7.1} MB", v as f64 / 1e6);
    }
    println!(
        "{:26} {:7.1} MB (before allocator rounding)",
        "total",
        total as f64 / 1e6
    );
}
