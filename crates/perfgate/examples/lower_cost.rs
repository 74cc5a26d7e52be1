//! What lowering costs on top of parsing: every Python and every Rust file under DIR parsed
//! alone, then parsed and lowered as `perfgate check` does (on scratch memory, the module
//! copied out list by list), on one thread; best of five rounds.
//! `cargo run --release -p perfgate --example lower_cost -- DIR`

use std::time::Instant;

// As in the binary: what is measured is what ships.
#[path = "../src/alloc.rs"]
mod alloc;
#[path = "common/sources.rs"]
mod sources;

fn main() {
    alloc::init_reusable();
    let Some(dir) = std::env::args().nth(1) else {
        eprintln!("usage: lower_cost DIR");
        std::process::exit(2);
    };
    let files: Vec<_> = sources::read(&dir)
        .into_iter()
        .filter(|(p, _)| p.ends_with(".py"))
        .collect();
    let (mut parse, mut lower) = (f64::MAX, f64::MAX);
    let mut kept = Vec::with_capacity(files.len());
    for _ in 0..5 {
        let t = Instant::now();
        for (_, text) in &files {
            perfgate_model::scratch::run(
                || {
                    let parsed = ruff_python_parser::parse_unchecked_source(
                        text,
                        ruff_python_ast::PySourceType::Python,
                    );
                    perfgate_model::scratch::dispose(parsed);
                },
                |_| (),
            );
        }
        parse = parse.min(t.elapsed().as_secs_f64() * 1e3);
        kept.clear();
        let t = Instant::now();
        for (rel, text) in &files {
            let module = perfgate_model::scratch::run(
                || perfgate_lang_python::lower(text, rel),
                |m| m.as_ref().ok().map(perfgate_model::Module::clone_by_list),
            );
            kept.push(module);
        }
        lower = lower.min(t.elapsed().as_secs_f64() * 1e3);
    }
    let big: Vec<&str> = files
        .iter()
        .map(|(_, t)| t.as_str())
        .filter(|t| t.len() > 64 * 1024)
        .collect();
    let mut scan = f64::MAX;
    for _ in 0..5 {
        let t = Instant::now();
        for text in &big {
            std::hint::black_box(perfgate_lang_python::prescan(text.as_bytes()));
        }
        scan = scan.min(t.elapsed().as_secs_f64() * 1e3);
    }
    let big_mb = big.iter().map(|t| t.len()).sum::<usize>() as f64 / 1e6;
    println!(
        "prescan of the {} files over 64 KiB ({big_mb:.1} MB): {scan:.1} ms",
        big.len()
    );
    let mb = files.iter().map(|(_, t)| t.len()).sum::<usize>() as f64 / 1e6;
    println!(
        "{} Python files, {mb:.1} MB: parse {parse:.1} ms, parse and lower {lower:.1} ms, lowering {:.1} ms",
        files.len(),
        lower - parse
    );
    rust(&dir);
}

/// The same for the Rust files: tree-sitter's parse alone, then the front end's parse and
/// lowering (macro bodies re-parsed included).
fn rust(dir: &str) {
    let files: Vec<_> = sources::read(dir)
        .into_iter()
        .filter(|(p, _)| p.ends_with(".rs"))
        .collect();
    if files.is_empty() {
        return;
    }
    let mut parser = tree_sitter::Parser::new();
    parser
        .set_language(&tree_sitter_rust::LANGUAGE.into())
        .expect("the grammar loads");
    let (mut parse, mut lower) = (f64::MAX, f64::MAX);
    for _ in 0..5 {
        let t = Instant::now();
        for (_, text) in &files {
            std::hint::black_box(parser.parse(text, None));
        }
        parse = parse.min(t.elapsed().as_secs_f64() * 1e3);
        let t = Instant::now();
        for (rel, text) in &files {
            std::hint::black_box(perfgate_model::scratch::run(
                || perfgate_lang_rust::lower(text, rel),
                |m| m.as_ref().ok().map(perfgate_model::Module::clone_by_list),
            ));
        }
        lower = lower.min(t.elapsed().as_secs_f64() * 1e3);
    }
    let mb = files.iter().map(|(_, t)| t.len()).sum::<usize>() as f64 / 1e6;
    println!(
        "{} Rust files, {mb:.1} MB: parse {parse:.1} ms, parse and lower {lower:.1} ms, lowering {:.1} ms",
        files.len(),
        lower - parse
    );
}
