//! Writes the benchmark corpus to a directory, for timing the CLI (and other tools) on it:
//! `cargo run --release -p perfgate --example gen_corpus -- /tmp/corpus 640`.

#[path = "../benches/corpus.rs"]
mod corpus;

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = std::path::PathBuf::from(args.next().unwrap_or_else(|| "corpus".into()));
    let modules: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(640);
    let (py, rs) = corpus::generate(modules);
    for (path, text) in py.iter().chain(&rs) {
        let p = dir.join(path);
        std::fs::create_dir_all(p.parent().expect("files have parents")).expect("create dir");
        std::fs::write(&p, text).expect("write file");
    }
    println!("wrote {} files to {}", py.len() + rs.len(), dir.display());
}
