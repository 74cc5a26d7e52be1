//! Resident memory after each phase of a check (parse and keep the model, analysis, rules):
//! where a run's memory goes. `cargo run --release -p perfgate --example memory_steps -- DIR`

use perfgate_check::{parse_source, Parsed};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn rss_mb() -> f64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn main() {
    let dir = std::env::args().nth(1).expect("a directory");
    let mut paths = Vec::new();
    let mut stack = vec![std::path::PathBuf::from(&dir)];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "py" || x == "rs") {
                paths.push(p);
            }
        }
    }
    println!("start: {:.0} MB", rss_mb());
    let t = std::time::Instant::now();
    let mut files = Vec::new();
    for p in &paths {
        if let Ok(text) = std::fs::read_to_string(p) {
            if let Parsed::Ok { file, .. } = parse_source(&p.display().to_string(), text) {
                files.push(*file);
            }
        }
    }
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
    let mut out = Vec::new();
    for r in perfgate_rules::all() {
        r.check(&checker, &mut out);
    }
    println!(
        "rules ({} findings): {:.0} MB ({:.0?})",
        out.len(),
        rss_mb(),
        t.elapsed()
    );
}
