#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
fn main() {
    let dir = std::env::args().nth(1).unwrap();
    let mut texts = Vec::new();
    let mut stack = vec![std::path::PathBuf::from(dir)];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p)
            } else if p.extension().is_some_and(|x| x == "py") {
                if let Ok(t) = std::fs::read_to_string(&p) {
                    if t.len() < 2 << 20 {
                        texts.push((p.display().to_string(), t));
                    }
                }
            }
        }
    }
    let t = std::time::Instant::now();
    for (_, s) in &texts {
        let _ = perfgate_lang_python::prescan(s.as_bytes());
    }
    eprintln!("prescan {:?}", t.elapsed());
    let t = std::time::Instant::now();
    for (_, s) in &texts {
        let p =
            ruff_python_parser::parse_unchecked_source(s, ruff_python_ast::PySourceType::Python);
        std::hint::black_box(&p);
    }
    eprintln!("parse+drop {:?}", t.elapsed());
    let t = std::time::Instant::now();
    let mut keep = Vec::new();
    for (p, s) in &texts {
        if let Ok(m) = perfgate_lang_python::lower(s, p) {
            keep.push(m);
        }
    }
    eprintln!("lower (incl parse, prescan) {:?}", t.elapsed());
    std::mem::forget(keep);
    let t = std::time::Instant::now();
    for (p, s) in &texts {
        if let Ok(m) = perfgate_lang_python::lower(s, p) {
            drop(m);
        }
    }
    eprintln!("lower, dropping each model {:?}", t.elapsed());
}
