//! Bad input never panics: random bytes, invalid UTF-8, a 10 MB one-line file, 10,000-deep
//! nesting, a million-term expression, empty and binary files and a symlink loop are counted
//! as skipped or parse errors, and the rest is still analysed.

mod common;

use proptest::prelude::*;
use std::path::Path;
use std::process::Command;

fn check_json(dir: &Path) -> (i32, serde_json::Value) {
    let o = common::perfgate_command()
        .args(["check", ".", "--quiet", "--format", "json"])
        .current_dir(dir)
        .output()
        .unwrap();
    let code = o.status.code().expect("perfgate exits, it does not crash");
    (
        code,
        serde_json::from_slice(&o.stdout).expect("a full JSON report"),
    )
}

#[test]
fn hostile_files_are_counted_not_fatal() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let random: Vec<u8> = (0..64 * 1024)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed >> 24) as u8 | 1 // no NUL, so it is not taken for binary
        })
        .collect();
    std::fs::write(d.join("random.py"), &random).unwrap();
    std::fs::write(d.join("random.rs"), &random).unwrap();
    std::fs::write(d.join("latin1.py"), b"x = '\xe9t\xe9'\n").unwrap();
    std::fs::write(d.join("huge.py"), "x = 1; ".repeat(10 * 1024 * 1024 / 7)).unwrap();
    std::fs::write(
        d.join("nested.py"),
        format!("x = {}1{}\n", "(".repeat(10_000), ")".repeat(10_000)),
    )
    .unwrap();
    std::fs::write(
        d.join("nested.rs"),
        format!(
            "fn f() {{ {}1{} }}\n",
            "[".repeat(10_000),
            "]".repeat(10_000)
        ),
    )
    .unwrap();
    std::fs::write(
        d.join("chain.py"),
        format!("x = {}1\n", "1+".repeat(500_000)),
    )
    .unwrap();
    std::fs::write(
        d.join("chain.rs"),
        format!("fn f() {{ let x = {}1; }}\n", "1+".repeat(500_000)),
    )
    .unwrap();
    std::fs::write(d.join("empty.py"), "").unwrap();
    std::fs::write(d.join("empty.rs"), "").unwrap();
    std::fs::write(d.join("binary.rs"), [0u8, 159, 146, 150, 0, 1, 2]).unwrap();
    std::fs::write(d.join("broken.py"), "async def f(:\n    time.sleep(\n").unwrap();
    // A real defect alongside, still found.
    std::fs::write(
        d.join("ok.py"),
        "import time\n\nasync def g():\n    time.sleep(1)\n",
    )
    .unwrap();
    #[cfg(unix)]
    {
        std::fs::create_dir(d.join("sub")).unwrap();
        std::os::unix::fs::symlink(d, d.join("sub/loop")).unwrap();
    }
    let (code, v) = check_json(d);
    assert!(code == 0 || code == 1, "exit {code}");
    let files = &v["files"];
    let skipped = files["skipped"].as_u64().unwrap();
    let parse_errors = files["parse_errors"].as_u64().unwrap();
    // huge.py, latin1.py and binary.rs skipped; the nested, chained and broken ones are
    // parse errors (random bytes may or may not be, depending on what the parsers recover).
    assert!(skipped >= 3, "{files}");
    assert!(parse_errors >= 4, "{files}");
    let rules: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["path"] == "ok.py")
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    assert_eq!(rules, vec!["blocking-sleep-in-async"]);
}

fn lower_any(text: &str) {
    for path in ["src/lib.rs", "pkg/mod.py"] {
        if let perfgate_check::Parsed::Ok { file, .. } =
            perfgate_check::parse_source(path, text.to_owned())
        {
            let catalog = perfgate_catalog::Catalog::bundled();
            let _ = perfgate_check::analyse_sources(vec![*file], &catalog);
        }
    }
}

/// Source-like soup: the tokens both front ends care about, in random order.
fn soup() -> impl Strategy<Value = String> {
    let tokens = prop::sample::select(vec![
        "async ",
        "def ",
        "fn ",
        "await",
        ".await",
        "(",
        ")",
        "{",
        "}",
        "[",
        "]",
        ":",
        ";",
        "\n",
        "    ",
        "for x in range(224):",
        "for y in 0..n ",
        "while ",
        "loop ",
        "with self._lock:",
        "try:",
        "except asyncio.CancelledError:",
        "raise",
        "return ",
        "let g = m.lock().unwrap();",
        "time.sleep(1)",
        "std::fs::read(p)",
        "tokio::join!(a(), b())",
        "select! { _ = x => {} }",
        "self.",
        "x",
        "=",
        "+",
        "*",
        "'",
        "\"",
        "#",
        "//",
        "import os",
        "use std::fs;",
        "impl A {",
        "class A:",
        "lambda: ",
        "match ",
        "if ",
        "else",
        "?",
        ",",
        // Inline test modules, which the Rust front end may leave out of its parse.
        "\n#[cfg(test)]\n",
        "mod tests {\n",
        "\n}\n",
    ]);
    prop::collection::vec(tokens, 0..200).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn front_ends_and_rules_never_panic_on_token_soup(src in soup()) {
        lower_any(&src);
    }

    #[test]
    fn front_ends_never_panic_on_arbitrary_text(src in "\\PC{0,400}") {
        lower_any(&src);
    }

    /// The text helpers that quote code in messages take any slice of a source file:
    /// unbalanced brackets, open strings and comments, multi-byte characters.
    #[test]
    fn quoting_helpers_never_panic(src in soup(), tail in "\\PC{0,40}") {
        let text = format!("{src}{tail}");
        for lang in [perfgate_model::Language::Rust, perfgate_model::Language::Python] {
            let stripped = perfgate_model::strip_comments(&text, lang);
            let flat = perfgate_model::normalize_ws(&stripped, 160);
            let _ = perfgate_analysis::short_text(&flat);
        }
    }
}

/// Under an address-space limit (`ulimit -v`) the arenas are reserved smaller, or not at
/// all, and the report is the same.
#[cfg(target_os = "linux")]
#[test]
fn an_address_space_limit_changes_nothing_but_memory() {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let run = |limit_kb: Option<u64>| {
        let limit = limit_kb.map_or(String::new(), |kb| format!("ulimit -v {kb} && "));
        let o = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "{limit}exec \"$0\" check . --jobs 2 --quiet --format json --fail-on never"
            ))
            .arg(env!("CARGO_BIN_EXE_perfgate"))
            .current_dir(&examples)
            .output()
            .unwrap();
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        o.stdout
    };
    let free = run(None);
    assert!(!free.is_empty());
    // 12 GB: room for fewer arenas than asked for; 2.5 GB: room for none.
    for kb in [12_000_000, 2_500_000] {
        assert!(
            run(Some(kb)) == free,
            "a different report under ulimit -v {kb}"
        );
    }
}
