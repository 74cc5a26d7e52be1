//! Writes the benchmark corpus to a directory, for timing the CLI (and other tools) on it:
//! `cargo run --release -p perfgate --example gen_corpus -- /tmp/corpus 1100 [--dense]`
//! (`--dense`: every module defective, the stress corpus of the report benchmarks).

#[path = "../benches/corpus.rs"]
mod corpus;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dense = args.iter().any(|a| a == "--dense");
    let mut args = args.into_iter().filter(|a| a != "--dense");
    let dir = std::path::PathBuf::from(args.next().unwrap_or_else(|| "corpus".into()));
    let modules: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(1100);
    let (py, rs) = if dense {
        corpus::generate_dense(modules)
    } else {
        corpus::generate(modules)
    };
    for (path, text) in py.iter().chain(&rs) {
        let p = dir.join(path);
        std::fs::create_dir_all(p.parent().expect("files have parents")).expect("create dir");
        std::fs::write(&p, text).expect("write file");
    }
    println!("wrote {} files to {}", py.len() + rs.len(), dir.display());
}
