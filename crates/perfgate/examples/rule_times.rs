//! Time the analysis and each rule alone on the generated benchmark corpus, or on a
//! directory: where the analysis and rules phases of a check go. Each rule's first run is
//! shown beside its best of 5: the first pays for what the analysis makes on first use and
//! for a cold cache, as a check does (the model does not fit in cache), so it is the
//! figure that adds up to a check's rules phase.
//! `cargo run --release --example rule_times [DIR]`

use perfgate_analysis::Analysis;
use perfgate_catalog::Catalog;
use perfgate_check::{parse_source, Parsed};
use perfgate_rules::Checker;
use std::time::Instant;

// As in the binary: what is measured is what ships.
#[path = "../src/alloc.rs"]
mod alloc;

#[path = "../benches/corpus.rs"]
mod corpus;
#[path = "common/sources.rs"]
mod sources;

fn main() {
    alloc::init();
    let catalog = Catalog::bundled();
    let sets = match std::env::args().nth(1) {
        Some(dir) => vec![(dir.clone(), sources::read(&dir))],
        None => {
            let (py, rs) = corpus::generate(1100);
            vec![("python".to_owned(), py), ("rust".to_owned(), rs)]
        }
    };
    for (lang, files) in sets {
        let parsed: Vec<_> = files
            .into_iter()
            .filter_map(|(p, s)| match parse_source(&p, s) {
                Parsed::Ok { file, .. } => Some(*file),
                _ => None,
            })
            .collect();
        let mut best = f64::MAX;
        for _ in 0..5 {
            let t = Instant::now();
            drop(Analysis::new(&parsed, &catalog));
            best = best.min(t.elapsed().as_secs_f64());
        }
        println!("{lang:7} {:28} {:8.2} ms", "(analysis)", best * 1e3);
        let analysis = Analysis::new(&parsed, &catalog);
        let checker = Checker::new(&analysis);
        let mut rows = Vec::new();
        for r in perfgate_rules::all() {
            let (mut first, mut best) = (0.0, f64::MAX);
            let mut n = 0;
            for round in 0..5 {
                let t = Instant::now();
                let mut out = Vec::new();
                r.check(&checker, &mut out);
                let took = t.elapsed().as_secs_f64();
                if round == 0 {
                    first = took;
                }
                best = best.min(took);
                n = out.len();
            }
            rows.push((first, best, r.meta().id, n));
        }
        rows.sort_by(|a, b| b.0.total_cmp(&a.0));
        let total: f64 = rows.iter().map(|r| r.0).sum();
        println!(
            "{lang:7} {:28} {:8.2} ms first runs",
            "(all rules)",
            total * 1e3
        );
        for (first, best, id, n) in rows {
            println!(
                "{lang:7} {id:28} {:8.2} ms first, {:8.2} ms best  {n} findings",
                first * 1e3,
                best * 1e3
            );
        }
    }
}
