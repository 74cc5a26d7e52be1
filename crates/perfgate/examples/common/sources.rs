//! Every `.py` and `.rs` file under a directory, for the examples that time or measure a
//! real project.

/// (path relative to `dir`, text) of each source file, sorted by path.
pub fn read(dir: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut stack = vec![std::path::PathBuf::from(dir)];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "py" || x == "rs") {
                if let Ok(text) = std::fs::read_to_string(&p) {
                    let rel = p.strip_prefix(dir).unwrap_or(&p).display().to_string();
                    out.push((rel, text));
                }
            }
        }
    }
    out.sort();
    out
}
