use super::*;
use perfgate_model::{Callee, FunctionRole, HandlerKind, LockKind, Receiver, TripCount};

const SRC: &str = r#"
use std::fs;
use std::sync::Mutex;
use crate::engine::{ClipEngine as Engine, helpers};

const SIZE: u32 = 224;

pub struct Validator {
    engine: Arc<Engine>,
    state: Mutex<Vec<u8>>,
}

impl Validator {
    pub async fn validate(&self, path: &Path) -> Result<f32> {
        let data = fs::read(path)?;
        let tensors = Self::preprocess(&data);
        let a = self.engine.infer_b32(&tensors).await?;
        let b = self.engine.infer_l14(&tensors).await?;
        let guard = self.state.lock().unwrap();
        helpers::log(a).await;
        drop(guard);
        let (x, y) = tokio::join!(self.engine.infer_b32(&tensors), helpers::fetch());
        match tokio::time::timeout(Duration::from_secs(3), self.engine.run()).await {
            Ok(v) => v,
            Err(_) => return Err(Error::Timeout),
        }
        Ok(a + b)
    }

    fn preprocess(data: &[u8]) -> Vec<f32> {
        let mut out = vec![0.0; 10];
        for y in 0..SIZE {
            for x in 0..width {
                out[(y * width + x) as usize] = data[x as usize] as f32 / 255.0;
            }
        }
        out
    }
}

#[tokio::main]
async fn main() {}

#[cfg(test)]
mod tests {
    #[test]
    fn t() {}
}
"#;

#[test]
fn lowers_a_realistic_service() {
    let m = lower(SRC, "crates/validator-node/src/clip.rs").unwrap();
    assert_eq!(m.module_path, vec!["validator_node", "clip"]);
    assert!(!m.had_syntax_errors);
    assert!(m
        .imports
        .iter()
        .any(|i| i.alias == "Engine" && i.path == vec!["validator_node", "engine", "ClipEngine"]));
    assert!(m
        .imports
        .iter()
        .any(|i| i.alias == "fs" && i.path == vec!["std", "fs"]));
    let v = m.types.iter().find(|t| t.name == "Validator").unwrap();
    assert_eq!(v.fields[0].ty.as_deref(), Some(&["Engine".into()][..]));
    let f = m
        .functions
        .iter()
        .find(|f| f.qualname == "Validator::validate")
        .unwrap();
    assert!(f.is_async);
    let read = &f.calls[0];
    assert_eq!(
        read.callee,
        Callee::Path(perfgate_model::thin_vec!["fs".into(), "read".into()])
    );
    assert!(f.calls.iter().any(|c| c.callee
        == Callee::Path(perfgate_model::thin_vec![
            "Validator".into(),
            "preprocess".into()
        ])));
    let infer = f
        .calls
        .iter()
        .find(|c| matches!(&c.callee, Callee::Method { name, .. } if name == "infer_b32"))
        .unwrap();
    assert!(infer.awaited);
    assert_eq!(
        infer.callee,
        Callee::Method {
            recv: Receiver::SelfField("engine".into()),
            name: "infer_b32".into()
        }
    );
    assert_eq!(f.awaits[0].binds, vec!["a"]);
    assert_eq!(f.locks.len(), 1);
    let lock = &f.locks[0];
    assert_eq!(lock.kind, LockKind::Blocking);
    assert_eq!(lock.guard.as_deref(), Some("guard"));
    let drop_pos = SRC.find("drop(guard)").unwrap() as u32;
    assert_eq!(lock.live_until, drop_pos);
    // calls inside join! are lowered, with the macro as their parent
    let join = f
        .calls
        .iter()
        .position(|c| c.is_macro && SRC[c.span.start as usize..].starts_with("tokio::join!"))
        .unwrap() as u32;
    let inside: Vec<_> = f
        .calls
        .iter()
        .filter(|c| c.ctx.parent_call() == Some(join))
        .collect();
    assert_eq!(inside.len(), 2, "{inside:#?}");
    assert_eq!(
        &SRC[inside[1].span.start as usize..inside[1].span.end as usize],
        "helpers::fetch()"
    );
    assert_eq!(f.handlers.len(), 1);
    assert_eq!(f.handlers[0].kind, HandlerKind::Timeout);
    let pre = m
        .functions
        .iter()
        .find(|f| f.qualname == "Validator::preprocess")
        .unwrap();
    assert_eq!(pre.loops[0].trip, TripCount::Const(224));
    assert_eq!(pre.loops[1].trip, TripCount::Dynamic);
    assert!(pre.loops[1].body_arith && pre.loops[1].body_index);
    let main = m.functions.iter().find(|f| f.name == "main").unwrap();
    assert_eq!(main.role, FunctionRole::Entry);
    // A `#[cfg(test)]` module's functions are not in the model.
    assert!(m.functions.iter().all(|f| f.name != "t"));
}

#[test]
fn module_paths() {
    assert_eq!(module_path_for("src/lib.rs").0, vec!["crate"]);
    assert_eq!(
        module_path_for("my-app/src/a/mod.rs").0,
        vec!["my_app", "a"]
    );
    assert_eq!(
        module_path_for("benches/speed.rs"),
        (
            perfgate_model::thin_vec!["crate".into(), "speed".into()],
            true
        )
    );
}

#[test]
fn broken_and_pathological_input_does_not_panic() {
    for src in [
        "fn f( {",
        "\u{0}\u{1}",
        "",
        "async fn f() { x.await.await; join!(",
        "fn f() { a!(b!(c!(d!(e!(f()))))) }",
    ] {
        let _ = lower(src, "src/x.rs");
    }
    assert!(lower(&"(".repeat(10_000), "src/x.rs").is_err());
    let long = format!("fn f() {{ let x = {}1; }}", "1 + ".repeat(200_000));
    let _ = lower(&long, "src/x.rs");
}

#[test]
fn every_field_the_lowering_reads_is_in_the_grammar() {
    // A field name the grammar lacks (a typo, a renamed field in a grammar update) would
    // find no child anywhere, silently.
    let lang: tree_sitter::Language = tree_sitter_rust::LANGUAGE.into();
    for name in crate::lower::FIELD_NAMES {
        assert!(lang.field_id_for_name(name).is_some(), "no field `{name}`");
    }
}

#[test]
fn kind_names_from_the_table_are_those_tree_sitter_gives() {
    use crate::lower::KindName;
    let lang: tree_sitter::Language = tree_sitter_rust::LANGUAGE.into();
    assert!(
        lang.node_kind_count() <= 1024,
        "the kind table is too small"
    );
    let src = "use std::sync::Mutex;\n\nimpl Engine {\n    async fn run(&self, xs: &[u8]) -> Result<u32, E> {\n        let g = self.m.lock().unwrap();\n        for x in xs.iter() { if *x > 3 { return Ok(1); } else { continue } }\n        match self.f(xs).await? { Some(v) => v as u32, None => 0 };\n        macro_rules! m { () => {} }\n        Ok(r#\"raw\"#.len() as u32)\n    }\n}\n";
    let mut parser = tree_sitter::Parser::new();
    parser.set_language(&lang).unwrap();
    let tree = parser.parse(src, None).unwrap();
    let mut cursor = tree.walk();
    let mut seen = 0;
    loop {
        let n = cursor.node();
        assert_eq!(n.kind_name(), n.kind());
        seen += 1;
        if cursor.goto_first_child() {
            continue;
        }
        while !cursor.goto_next_sibling() {
            if !cursor.goto_parent() {
                assert!(seen > 100, "{seen} nodes");
                return;
            }
        }
    }
}

#[test]
fn blocks_under_branches_arms_and_lets_are_conditional() {
    let src = r#"
fn f(xs: &[u32], o: Option<u32>) -> u32 {
    let mut n = 0;
    for x in xs {
        n += 1;
    }
    if n > 3 {
        n += 2;
    } else if n > 1 {
        n += 3;
    } else {
        n += 4;
    }
    match o {
        Some(v) => { n += v; }
        None => n += 5,
    }
    let Some(k) = o else { return 0; };
    let j = { k + 1 };
    unsafe { n += j; }
    let c = |y: u32| { y * 2 };
    n + c(k)
}
"#;
    let m = lower(src, "src/lib.rs").unwrap();
    let f = m.functions.iter().find(|f| f.name == "f").unwrap();
    let text = |b: &perfgate_model::Block| {
        src[b.span.start as usize..b.span.end as usize]
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut blocks: Vec<(String, bool)> =
        f.blocks.iter().map(|b| (text(b), b.conditional)).collect();
    blocks.sort();
    let expect = [
        ("{ k + 1 }", true), // a `let` value: its parent is the `let` (as the model has it)
        ("{ n += 1; }", false), // a loop body
        ("{ n += 2; }", true),
        ("{ n += 3; }", true),
        ("{ n += 4; }", true),
        ("{ n += j; }", false),  // `unsafe`
        ("{ n += v; }", true),   // a match arm
        ("{ return 0; }", true), // `let ... else`
        ("{ y * 2 }", false),    // a closure body
    ];
    for (t, conditional) in expect {
        let found = blocks.iter().find(|(b, _)| b == t);
        assert_eq!(found.map(|b| b.1), Some(conditional), "{t}: {blocks:?}");
    }
    // The function body itself is not conditional.
    assert!(!f.blocks[0].conditional);
}

#[test]
fn items_nested_in_a_function_are_lowered_once() {
    let src = r#"
pub async fn outer() {
    fn helper() -> Vec<u8> {
        std::fs::read("x").unwrap()
    }
    struct Local;
    impl Local {
        fn go(&self) {}
    }
    if ready() {
        fn deeper() {}
    }
    let model = helper();
}

fn plain(mode: u32) -> u32 {
    let fname = mode + 1; // `fn` and `mod` inside words are not items
    fname
}

#[test]
fn checks() {
    fn fixture() {}
}
"#;
    let m = lower(src, "src/lib.rs").unwrap();
    let mut names: Vec<&str> = m.functions.iter().map(|f| f.qualname.as_str()).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        ["Local::go", "checks", "deeper", "helper", "outer", "plain"]
    );
    let role = |m: &perfgate_model::Module, n: &str| {
        m.functions.iter().find(|f| f.name == n).unwrap().role
    };
    assert_eq!(role(&m, "helper"), FunctionRole::Normal);
    // A test keeps its signature only: what it declares inside is not lowered, but in a
    // benchmark file, whose routines the benchmark rules read.
    assert!(m.functions.iter().all(|f| f.name != "fixture"));
    let checks = m.functions.iter().find(|f| f.name == "checks").unwrap();
    assert_eq!(checks.role, FunctionRole::Test);
    let bench = lower(src, "benches/speed.rs").unwrap();
    assert_eq!(role(&bench, "fixture"), FunctionRole::Test);
}

#[test]
fn test_bodies_are_not_lowered_but_in_benchmark_files() {
    let src = r#"
pub async fn serve() {
    std::fs::read("x").unwrap();
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn serves() {
        super::serve().await;
        std::fs::read("y").unwrap();
    }
}

pub fn store_for_tests() -> Vec<u8> {
    std::fs::read("seed").unwrap()
}
"#;
    let m = lower(src, "src/lib.rs").unwrap();
    let f = |m: &perfgate_model::Module, n: &str| {
        m.functions.iter().find(|f| f.name == n).cloned().unwrap()
    };
    assert_eq!(f(&m, "serve").calls.len(), 2);
    // A test helper by its name keeps its signature; a `#[cfg(test)]` module is left out.
    let t = f(&m, "store_for_tests");
    assert_eq!(t.role, FunctionRole::Test);
    assert!(t.calls.is_empty() && t.awaits.is_empty());
    assert!(m.functions.iter().all(|f| f.name != "serves"));
    // So is a file under `tests/`.
    assert!(lower(src, "tests/serve.rs").unwrap().functions.is_empty());
    let b = lower(src, "benches/serve.rs").unwrap();
    assert!(!f(&b, "serves").calls.is_empty());
}

#[test]
fn item_keywords_are_found_as_words_only() {
    assert!(lower::may_hold_items("{ fn f() {} }"));
    assert!(lower::may_hold_items("{ impl X {} }"));
    assert!(lower::may_hold_items("{\n    mod m {}\n}"));
    assert!(lower::may_hold_items("struct"));
    assert!(!lower::may_hold_items(
        "{ let fname = model.mode(); construct(x) }"
    ));
    assert!(!lower::may_hold_items(
        "{ traits_x(); impls_y(); fn_ptr() }"
    ));
}

#[test]
fn await_facts_are_gathered_where_two_awaits_can_pair() {
    assert_eq!(
        lower::word_count("a.await; b(). await; c\n.await", "await", 9),
        3
    );
    assert_eq!(
        lower::word_count("awaited(await_all, x.await_x)", "await", 9),
        0
    );
    assert_eq!(
        lower::word_count("x.await; y.await; z.await", "await", 2),
        2
    );
    let src = r#"
async fn two(c: &Client) -> u32 {
    let a = c.fetch("a").await;
    let b = c
        . await_less()
        . await;
    a + b
}

async fn one(c: &Client) -> u32 {
    let a = c.fetch("a").await;
    a + 1
}

async fn nested(c: &Client, on: bool) -> u32 {
    let a = c.fetch("a").await;
    if on {
        let x = c.fetch("x").await;
        log(x);
    }
    let b = c.fetch("b").await;
    a + b
}
"#;
    let m = lower(src, "src/lib.rs").unwrap();
    let f = |n: &str| m.functions.iter().find(|f| f.name == n).unwrap();
    let binds: Vec<&str> = f("two")
        .awaits
        .iter()
        .map(|a| a.binds[0].as_str())
        .collect();
    assert_eq!(binds, ["a", "b"]);
    assert_eq!(f("two").blocks[0].stmts.len(), 3);
    // One await pairs with nothing: its facts are not gathered.
    assert_eq!(f("one").awaits.len(), 1);
    assert!(f("one").awaits[0].binds.is_empty() && f("one").blocks[0].stmts.is_empty());
    // Facts are per block: the body's two awaits pair, the branch's one does not.
    let n = f("nested");
    let binds: Vec<Vec<&str>> = n
        .awaits
        .iter()
        .map(|a| a.binds.iter().map(perfgate_model::Name::as_str).collect())
        .collect();
    assert_eq!(binds, [vec!["a"], vec![], vec!["b"]]);
    assert_eq!(n.blocks[0].stmts.len(), 4);
    assert!(n.blocks[1].stmts.is_empty());
}

#[test]
fn test_only_cfgs() {
    use crate::lower::cfg_test_only;
    for (attr, test_only) in [
        ("#[cfg(test)]", true),
        ("#![cfg(test)]", true),
        ("#[cfg(all(test,feature=\"it\"))]", true),
        ("#[cfg(all(feature=\"it\",test))]", true),
        ("#[cfg(all(any(unix,windows),test))]", true),
        ("#[cfg(any(test,feature=\"replay\"))]", false),
        ("#[cfg(all(any(test,unix),feature=\"x\"))]", false),
        ("#[cfg(not(test))]", false),
        ("#[cfg(testing)]", false),
        ("#[cfg_attr(test,derive(Debug))]", false),
    ] {
        assert_eq!(cfg_test_only(attr), test_only, "{attr}");
    }
}

/// A local set by an `if` whose branches all end in a call of one function or macro is
/// made by that call; one whose branches differ, or lack an `else`, is made by none.
#[test]
fn if_branches_ending_in_one_callee_make_the_local() {
    let src = r#"
fn handles(labels: &[Label], n: usize) {
    let c = if labels.is_empty() { counter!("x") } else { counter!("x", labels.iter()) };
    let d = if n == 0 { Client::new() } else if n == 1 { Client::new() } else { Client::new() };
    let e = if n == 0 { Vec::new() } else { Vec::with_capacity(n) };
    let g = if n == 0 { Client::new() } else { let x = 1; x };
    let h = if n == 0 { Client::new(); };
}
"#;
    let m = lower(src, "src/lib.rs").unwrap();
    let f = &m.functions[0];
    let made_by = |name: &str| {
        let b = f.locals.iter().find(|b| b.name == name).unwrap();
        b.init_call
            .map(|c| f.calls[c as usize].callee.last_name().to_owned())
    };
    assert_eq!(made_by("c").as_deref(), Some("counter"));
    assert_eq!(made_by("d").as_deref(), Some("new"));
    let d = f.locals.iter().find(|b| b.name == "d").unwrap();
    // The first branch's call.
    let first =
        src.find("let d").unwrap() + src[src.find("let d").unwrap()..].find("Client").unwrap();
    assert_eq!(
        f.calls[d.init_call.unwrap() as usize].span.start as usize,
        first
    );
    assert_eq!(made_by("e"), None);
    assert_eq!(made_by("g"), None);
    assert_eq!(made_by("h"), None);
}

/// The branch of a runtime probe that runs only where no runtime does: a `match`'s `Err`
/// arm, an `if let Ok(..)`'s `else`, an `.is_err()` test's body. The other branch, and code
/// that asks nothing, stay as they are.
#[test]
fn calls_only_outside_a_runtime_are_flagged() {
    let src = r#"
fn a(f: F) {
    match tokio::runtime::Handle::try_current() {
        Ok(h) => h.block_on(f()),
        Err(_) => outside_match(),
    }
    if let Ok(h) = Handle::try_current() { inside_if_let(h) } else { outside_if_let() }
    if Handle::try_current().is_err() { outside_is_err() } else { inside_is_err() }
    if !Handle::try_current().is_ok() { negated() }
    anywhere();
}
"#;
    let m = lower(src, "src/lib.rs").unwrap();
    let f = &m.functions[0];
    let flagged: Vec<&str> = f
        .calls
        .iter()
        .filter(|c| c.has(perfgate_model::CallFlags::OUTSIDE_RUNTIME))
        .map(|c| c.callee.last_name())
        .collect();
    assert_eq!(
        flagged,
        ["outside_match", "outside_if_let", "outside_is_err"]
    );
}

/// Inline test modules laid out as rustfmt writes them are left out of the parse; the
/// production code around them is modelled as from the whole file.
#[test]
fn inline_test_modules_are_not_parsed() {
    let src = "pub fn load(p: &str) -> String {\n    std::fs::read_to_string(p).unwrap()\n}\n\n#[cfg(test)]\nmod tests {\n    use super::*;\n\n    #[test]\n    fn loads() {\n        let s = format!(\"{}\", load(\"a\"));\n        assert!(s.is_empty());\n    }\n}\n\npub async fn serve() {\n    let _ = load(\"x\");\n}\n";
    let ranges = lower::inline_test_modules(src);
    assert_eq!(ranges.len(), 1);
    let (start, end) = ranges[0];
    assert!(src[start..].starts_with("#[cfg(test)]\nmod tests {"));
    assert!(src[..end].ends_with("    }\n}\n"));
    let m = lower(src, "src/lib.rs").unwrap();
    let names: Vec<&str> = m.functions.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["load", "serve"]);
    assert!(!m.had_syntax_errors);
    // Spans are the file's own: `serve` comes after the skipped module.
    let serve = &m.functions[1];
    assert_eq!(
        &src[serve.name_span.start as usize..serve.name_span.end as usize],
        "serve"
    );
}

/// Where the layout does not prove where a test module ends, the whole file is parsed.
#[test]
fn test_modules_of_other_layouts_are_parsed() {
    for src in [
        // On one line.
        "#[cfg(test)]\nmod tests { #[test] fn t() {} }\n\npub fn a() {}\n",
        // A raw string at the margin.
        "#[cfg(test)]\nmod tests {\n    const J: &str = r#\"{\n}\n\"#;\n}\n",
        // Braces in strings that do not pair.
        "#[cfg(test)]\nmod tests {\n    const OPEN: &str = \"{\";\n}\n",
        // Something else at the margin before the closing brace.
        "#[cfg(test)]\nmod tests {\n    fn t() {}\nfn production() {}\n}\n",
        // A suppression to check.
        "#[cfg(test)]\nmod tests {\n    // perfgate: ignore[no-such-rule]\n}\n",
        // Indented, inside another module.
        "mod outer {\n    #[cfg(test)]\n    mod tests {\n    }\n}\n",
        // Not a module.
        "#[cfg(test)]\nfn helper() {\n}\n",
    ] {
        assert!(lower::inline_test_modules(src).is_empty(), "{src}");
    }
    // With more attributes of its own.
    let attrs = "pub fn a() {}\n\n#[cfg(test)]\n#[allow(clippy::unwrap_used)]\nmod tests {\n    fn t() {}\n}\n";
    assert_eq!(lower::inline_test_modules(attrs), [(15, attrs.len())]);
    // Two modules in one file, each left out.
    let two = "#[cfg(test)]\nmod a {\n}\n\npub fn b() {}\n\n#[cfg(test)]\npub(crate) mod c {\n    fn d() {\n    }\n}\n";
    assert_eq!(lower::inline_test_modules(two).len(), 2);
    let m = lower(two, "src/lib.rs").unwrap();
    assert_eq!(m.functions.len(), 1);
}
