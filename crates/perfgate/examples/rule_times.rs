//! Time each rule alone on the generated benchmark corpus (best of 5): where the rules
//! phase of `cargo bench --bench check` goes. `cargo run --release --example rule_times`.

use perfgate_analysis::Analysis;
use perfgate_catalog::Catalog;
use perfgate_check::{parse_source, Parsed};
use perfgate_rules::Checker;
use std::time::Instant;

#[path = "../benches/corpus.rs"]
mod corpus;

fn main() {
    let (py, rs) = corpus::generate(1100);
    let catalog = Catalog::bundled();
    for (lang, files) in [("python", py), ("rust", rs)] {
        let parsed: Vec<_> = files
            .into_iter()
            .filter_map(|(p, s)| match parse_source(&p, s) {
                Parsed::Ok { file, .. } => Some(*file),
                _ => None,
            })
            .collect();
        let analysis = Analysis::new(&parsed, &catalog);
        let checker = Checker::new(&analysis);
        let mut rows = Vec::new();
        for r in perfgate_rules::all() {
            let mut best = f64::MAX;
            let mut n = 0;
            for _ in 0..5 {
                let t = Instant::now();
                let mut out = Vec::new();
                r.check(&checker, &mut out);
                best = best.min(t.elapsed().as_secs_f64());
                n = out.len();
            }
            rows.push((best, r.meta().id, n));
        }
        rows.sort_by(|a, b| b.0.total_cmp(&a.0));
        for (t, id, n) in rows {
            println!("{lang:7} {id:28} {:8.2} ms  {n} findings", t * 1e3);
        }
    }
}
