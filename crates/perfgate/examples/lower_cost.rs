//! What lowering costs on top of parsing: every Python and every Rust file under DIR parsed
//! alone, then parsed and lowered as `perfgate check` does (on scratch memory, the module
//! copied out list by list), on one thread; best of five rounds.
//! `cargo run --release -p perfgate --example lower_cost -- DIR`

use perfgate_model::Module;
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
    let (python, rust): (Vec<_>, Vec<_>) = sources::read(&dir)
        .into_iter()
        .partition(|(p, _)| p.ends_with(".py"));

    let big: Vec<&str> = python
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

    time(
        "Python",
        &python,
        |text| {
            let parsed = ruff_python_parser::parse_unchecked_source(
                text,
                ruff_python_ast::PySourceType::Python,
            );
            perfgate_model::scratch::dispose(parsed);
        },
        perfgate_lang_python::lower,
    );
    // Macro bodies re-parsed by the front end count as lowering. A parser per file, on
    // scratch memory, as the front end makes them.
    time(
        "Rust",
        &rust,
        |text| {
            perfgate_model::scratch::c_heap(|| {
                let mut parser = tree_sitter::Parser::new();
                parser
                    .set_language(&tree_sitter_rust::LANGUAGE.into())
                    .expect("the grammar loads");
                let tree = std::hint::black_box(parser.parse(text, None));
                perfgate_model::scratch::dispose(tree);
                perfgate_model::scratch::dispose(parser);
            })
        },
        perfgate_lang_rust::lower,
    );
}

/// Best of five rounds of `parse` over every file, then of `lower` (parse, lower, copy the
/// module out) over every file, each on scratch memory; a round's modules are kept until it
/// ends, as a check keeps them.
fn time<E>(
    lang: &str,
    files: &[(String, String)],
    mut parse: impl FnMut(&str),
    lower: impl Fn(&str, &str) -> Result<Module, E>,
) {
    if files.is_empty() {
        return;
    }
    let (mut parse_ms, mut lower_ms) = (f64::MAX, f64::MAX);
    let mut kept = Vec::with_capacity(files.len());
    for _ in 0..5 {
        let t = Instant::now();
        for (_, text) in files {
            perfgate_model::scratch::run(|| parse(text), |_| ());
        }
        parse_ms = parse_ms.min(t.elapsed().as_secs_f64() * 1e3);
        kept.clear();
        let t = Instant::now();
        for (rel, text) in files {
            kept.push(perfgate_model::scratch::run(
                || lower(text, rel),
                |m| m.as_ref().ok().map(Module::clone_by_list),
            ));
        }
        lower_ms = lower_ms.min(t.elapsed().as_secs_f64() * 1e3);
    }
    let mb = files.iter().map(|(_, t)| t.len()).sum::<usize>() as f64 / 1e6;
    println!(
        "{} {lang} files, {mb:.1} MB: parse {parse_ms:.1} ms, parse and lower {lower_ms:.1} ms, lowering {:.1} ms",
        files.len(),
        lower_ms - parse_ms
    );
}
