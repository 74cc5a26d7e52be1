use super::*;
use perfgate_catalog::Catalog;
use perfgate_model::SourceFile;

fn project(files: &[(&str, &str)]) -> Vec<SourceFile> {
    files
        .iter()
        .map(|(p, src)| {
            let m = if p.ends_with(".py") {
                perfgate_lang_python::lower(src, p).unwrap()
            } else {
                perfgate_lang_rust::lower(src, p).unwrap()
            };
            SourceFile::new(p.to_string(), src.to_string(), m)
        })
        .collect()
}

fn find(a: &Analysis, qual: &str) -> FuncId {
    a.functions()
        .find(|f| a.func(*f).qualname == qual)
        .unwrap_or_else(|| panic!("no function {qual}"))
}

#[test]
fn python_chain_across_modules_and_fields() {
    let files = project(&[
        (
            "pkg/util.py",
            "import requests\n\ndef fetch(url):\n    return requests.get(url).json()\n\ndef wrap(url):\n    return fetch(url)\n",
        ),
        (
            "pkg/engine.py",
            "from .util import wrap as w\n\nclass Engine:\n    def infer(self, x):\n        return w(x)\n",
        ),
        (
            "pkg/app.py",
            "import asyncio\nfrom pkg.engine import Engine\n\nclass App:\n    def __init__(self):\n        self.engine = Engine()\n\n    async def handle(self, x):\n        return self.engine.infer(x)\n\n    async def offloaded(self, x):\n        return await asyncio.to_thread(self.engine.infer, x)\n",
        ),
    ]);
    let cat = Catalog::bundled();
    let a = Analysis::new(&files, &cat);
    let infer = find(&a, "Engine.infer");
    let chain = a
        .effects
        .chain(&a, infer, Effect::Io)
        .expect("infer reaches I/O");
    assert_eq!(chain.steps.len(), 3, "{chain:#?}");
    assert!(chain.root().note.starts_with("requests.get"));
    assert_eq!(chain.confidence, Confidence::Certain);
    let handle = find(&a, "App.handle");
    let call = a.calls_of(handle).next().unwrap();
    assert!(matches!(a.info(call).target, Target::Project { func, .. } if func == infer));
    assert!(a.runs_on_executor(call));
    let off = find(&a, "App.offloaded");
    assert!(a
        .calls_of(off)
        .all(|c| matches!(a.info(c).target, Target::External(_))));
}

#[test]
fn rust_chain_through_self_and_cycles_terminate() {
    let files = project(&[(
        "src/engine.rs",
        r#"
use std::fs;
pub struct Engine { cache: Vec<u8> }
impl Engine {
    pub async fn run(&self) { self.a(); }
    fn a(&self) { self.b(); Self::c(); }
    fn b(&self) { self.a(); }
    fn c() { fs::read("x").unwrap(); }
    fn pixels(img: &[u8], w: usize, h: usize) -> f32 {
        let mut s = 0.0;
        for y in 0..h { for x in 0..w { s += img[y * w + x] as f32; } }
        s
    }
    fn kernel(k: &[f32]) -> f32 {
        let mut s = 0.0;
        for y in 0..3 { for x in 0..3 { s += k[y * 3 + x]; } }
        s
    }
}
"#,
    )]);
    let cat = Catalog::bundled();
    let a = Analysis::new(&files, &cat);
    let run = find(&a, "Engine::run");
    // run is async: not summarised, but its callee is
    let a_fn = find(&a, "Engine::a");
    let chain = a.effects.chain(&a, a_fn, Effect::Io).unwrap();
    assert_eq!(chain.steps.len(), 2);
    assert!(a.effects.chain(&a, run, Effect::Io).is_none());
    assert!(a
        .effects
        .chain(&a, find(&a, "Engine::pixels"), Effect::Cpu)
        .is_some());
    assert!(a
        .effects
        .chain(&a, find(&a, "Engine::kernel"), Effect::Cpu)
        .is_none());
}

/// A helper called only from `main` is start-up code, however many times `main` calls it;
/// one call of it in a loop, next to plain calls of it, makes it code that runs repeatedly.
#[test]
fn startup_merges_repeated_calls_of_one_callee() {
    let files = project(&[(
        "src/main.rs",
        r#"
fn load() {}
fn handle() {}
fn main() {
    load();
    load();
    handle();
    for _ in 0..3 { handle(); }
    handle();
}
"#,
    )]);
    let catalog = Catalog::bundled();
    let a = Analysis::new(&files, &catalog);
    assert!(a.startup_only(find(&a, "main")));
    assert!(a.startup_only(find(&a, "load")));
    assert!(!a.startup_only(find(&a, "handle")));
}

/// An async block handed to `block_on` runs once: what it calls from `main` is start-up
/// code, unless it calls it from a loop or a spawned task.
#[test]
fn block_on_runs_its_async_block_once() {
    let files = project(&[(
        "src/main.rs",
        r#"
async fn export() {}
async fn replay() {}
async fn handle() {}
fn main() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        export().await;
        for _ in 0..3 { replay().await; }
        tokio::spawn(async { handle().await });
    });
}
"#,
    )]);
    let catalog = Catalog::bundled();
    let a = Analysis::new(&files, &catalog);
    assert!(a.startup_only(find(&a, "export")));
    assert!(!a.startup_only(find(&a, "replay")));
    assert!(!a.startup_only(find(&a, "handle")));
}

/// A package's `lib.rs` and `main.rs` share its root module path; `main` calls the
/// library's functions by the crate's name, and what only `main` calls is start-up code.
#[test]
fn main_rs_calls_reach_the_library_root_of_its_package() {
    let files: Vec<SourceFile> = [
        (
            "server/src/lib.rs",
            "pub async fn start_server() { setup(); }\nfn setup() {}\n",
        ),
        (
            "server/src/main.rs",
            "use server::start_server;\n#[tokio::main]\nasync fn main() { start_server().await; }\n",
        ),
    ]
    .iter()
    .map(|(p, src)| {
        let m = perfgate_lang_rust::lower_in_crate(src, p, Some("server")).unwrap();
        SourceFile::new(p.to_string(), src.to_string(), m)
    })
    .collect();
    let catalog = Catalog::bundled();
    let a = Analysis::new(&files, &catalog);
    let start = find(&a, "start_server");
    let main = find(&a, "main");
    let call = a.calls_of(main).next().unwrap();
    assert!(matches!(a.info(call).target, Target::Project { func, .. } if func == start));
    assert!(a.startup_only(start));
    assert!(a.startup_only(find(&a, "setup")));
}

/// A task spawned at start-up runs beside the server for as long as it likes: what it
/// calls is not start-up code, though only start-up code spawns it.
#[test]
fn spawned_tasks_are_not_start_up_code() {
    let files = project(&[(
        "src/main.rs",
        r#"
async fn worker() { load(); }
fn load() {}
fn configure() {}
#[tokio::main]
async fn main() {
    configure();
    tokio::spawn(worker());
}
"#,
    )]);
    let catalog = Catalog::bundled();
    let a = Analysis::new(&files, &catalog);
    assert!(a.startup_only(find(&a, "configure")));
    assert!(!a.startup_only(find(&a, "worker")));
    assert!(!a.startup_only(find(&a, "load")));
}

#[test]
fn known_calls_copied_out_share_each_library_path() {
    // Resolution memoises a path per module, and the copy made off scratch memory keeps
    // one shared path per distinct library API rather than one per call.
    let files = project(&[(
        "svc/io.py",
        "import requests\n\ndef a(u):\n    return requests.get(u)\n\ndef b(u):\n    requests.get(u)\n    return requests.post(u)\n",
    )]);
    let catalog = Catalog::bundled();
    let a = Analysis::new(&files, &catalog);
    let paths: Vec<(String, std::sync::Arc<perfgate_model::Path>)> = a
        .functions()
        .flat_map(|f| a.known_calls(f).collect::<Vec<_>>())
        .filter_map(|(_, info)| match &info.target {
            Target::External(p) => Some((p.join("."), p.clone())),
            _ => None,
        })
        .collect();
    let gets: Vec<_> = paths.iter().filter(|(n, _)| n == "requests.get").collect();
    assert_eq!(gets.len(), 2, "{paths:?}");
    assert!(std::sync::Arc::ptr_eq(&gets[0].1, &gets[1].1));
    assert!(paths.iter().any(|(n, _)| n == "requests.post"));
}

#[test]
fn functions_are_found_by_shape_as_their_models_have_it() {
    let files = project(&[
        (
            "svc/a.py",
            "import asyncio\n\ndef plain(x):\n    return x\n\ndef loops(xs):\n    for x in xs:\n        print(x)\n\nclass Worker:\n    async def run(self):\n        await asyncio.sleep(1)\n        await asyncio.sleep(2)\n\n    def guarded(self):\n        try:\n            return 1\n        except ValueError:\n            raise\n",
        ),
        (
            "tests/test_a.py",
            "def test_loops(benchmark):\n    for i in range(3):\n        assert i < 3\n\ndef test_plain():\n    assert True\n",
        ),
    ]);
    let cat = Catalog::bundled();
    let a = Analysis::new(&files, &cat);
    let names = |any, none| -> Vec<String> {
        a.functions_shaped(any, none)
            .map(|f| a.func(f).qualname.to_string())
            .collect()
    };
    // The shape table agrees with the models it was made from, function by function.
    for f in a.functions() {
        let func = a.func(f);
        let s = a.shape(f);
        assert_eq!(s & Shape::ASYNC != 0, func.is_async);
        assert_eq!(s & Shape::LOOPS != 0, !func.loops.is_empty());
        assert_eq!(s & Shape::HANDLERS != 0, !func.handlers.is_empty());
        assert_eq!(s & Shape::AWAITS != 0, func.awaits.len() >= 2);
        assert_eq!(s & Shape::METHOD != 0, func.owner.is_some());
        assert_ne!(s & Shape::ANY, 0);
    }
    // A test keeps its signature, not its body: it has no loops in the model.
    assert_eq!(names(Shape::LOOPS, 0), ["loops"]);
    // The test file's module-level code is test code too; of its functions only
    // pytest-benchmark's are in the model.
    assert_eq!(names(Shape::TEST, 0), ["<module>", "test_loops"]);
    assert_eq!(names(Shape::ANY, Shape::TEST).len(), a.function_count() - 2);
    assert_eq!(
        names(Shape::ASYNC | Shape::HANDLERS, 0),
        ["Worker.guarded", "Worker.run"]
    );
    assert_eq!(names(Shape::AWAITS, 0), ["Worker.run"]);
    assert_eq!(names(Shape::METHOD, 0), ["Worker.guarded", "Worker.run"]);
    // Module-level code is an entry point; `plain` is not.
    assert!(names(Shape::ENTRY, 0).iter().all(|n| n == "<module>"));
    assert_eq!(names(Shape::ANY, 0).len(), a.functions().count());
}

/// Modules are found by the hash of their path's segments; a path whose hash another module
/// holds is not taken for it, and two module paths sharing a hash are both still found (real
/// 64-bit clashes are too rare to meet in a test, so the table is given one).
#[test]
fn module_table_checks_paths_and_survives_hash_clashes() {
    let files = project(&[
        ("pkg/a.py", "def f():\n    pass\n"),
        (
            "pkg/b.py",
            "def g():\n    pass\n\nclass K:\n    def m(self):\n        pass\n",
        ),
    ]);
    let path = |s: &str| -> Vec<Name> { s.split("::").map(Name::from).collect() };
    let py = perfgate_model::Language::Python;
    let mut index = resolve::Index::build(&files);
    let at = |file: u32, qual: &str| {
        let funcs = &files[file as usize].module.functions;
        let func = funcs.iter().position(|f| f.qualname == qual).expect(qual) as u32;
        Some(FuncId { file, func })
    };
    assert_eq!(index.find_symbol(py, &path("pkg::a::f"), &[]), at(0, "f"));
    assert_eq!(
        index.find_symbol(py, &path("pkg::b::K::m"), &[]),
        at(1, "K.m")
    );
    // From inside `pkg`, relative to it.
    assert_eq!(
        index.find_symbol(py, &path("b::g"), &path("pkg")),
        at(1, "g")
    );
    assert_eq!(index.find_symbol(py, &path("pkg::a::g"), &[]), None);

    // `pkg::a`'s hash now leads to `pkg::b`: `pkg::a::f` must not be found in `pkg::b`.
    index.force_module(py, &path("pkg::a"), Some(1));
    assert_eq!(index.find_symbol(py, &path("pkg::a::f"), &[]), None);
    // Both paths under one hash, as a real clash leaves them.
    index.force_module(py, &path("pkg::a"), None);
    index.force_module(py, &path("pkg::b"), None);
    assert_eq!(index.find_symbol(py, &path("pkg::a::f"), &[]), at(0, "f"));
    assert_eq!(
        index.find_symbol(py, &path("pkg::b::K::m"), &[]),
        at(1, "K.m")
    );
    assert_eq!(index.find_symbol(py, &path("pkg::c::f"), &[]), None);
}

#[test]
fn callee_text_reads_like_a_chain() {
    for (call, callee) in [
        ("self.engine.infer(x, y)", "self.engine.infer"),
        ("tokio::runtime::Handle::current().block_on(async { 1 })", "tokio::runtime::Handle::current().block_on"),
        (
            "File::open(filename) .with_context(|_| FileOpenFailedSnafu { note, filename })? .read_to_end(&mut text)",
            "File::open(filename).with_context(..)?.read_to_end",
        ),
        ("prev_batch[\"next_token_ids\"].tolist()", "prev_batch[\"next_token_ids\"].tolist"),
        (
            "Client::builder().timeout(Duration::from_secs(DEFAULT_TIMEOUT_SECONDS)).build()",
            "Client::builder().timeout(..).build",
        ),
        ("println!(\"{x}\")", "println"),
        ("données.lire(x)", "données.lire"),
        ("(grid_t*llm_grid_h*llm_grid_w).item()", "(grid_t*llm_grid_h*llm_grid_w).item"),
        ("cl.Message( content=\"Here is a cat\", elements=[ cl.Image(path=p, na…", "cl.Message"),
    ] {
        assert_eq!(crate::short_text(call), callee, "{call}");
    }
}

/// A path call is looked up in the project only where its last segment could name a project
/// symbol; a name the project knows only as an import alias (a package facade's `from .gen
/// import make as build`) is one of those.
#[test]
fn calls_through_a_facade_alias_resolve_and_library_paths_do_not() {
    let files = project(&[
        ("pkg/__init__.py", "from pkg.gen import make as build\n"),
        (
            "pkg/gen.py",
            "import requests\n\ndef make(url):\n    return requests.get(url)\n",
        ),
        (
            "app.py",
            "import time\nimport pkg\n\nasync def handle(url):\n    time.sleep(1)\n    return pkg.build(url)\n",
        ),
    ]);
    let cat = Catalog::bundled();
    let a = Analysis::new(&files, &cat);
    let make = find(&a, "make");
    let handle = find(&a, "handle");
    let targets: Vec<_> = a.calls_of(handle).map(|c| &a.info(c).target).collect();
    assert!(
        matches!(targets[0], Target::External(p) if p.join(".") == "time.sleep"),
        "{targets:?}"
    );
    assert!(
        matches!(targets[1], Target::Project { func, .. } if *func == make),
        "{targets:?}"
    );
    assert_eq!(super::resolve::last_segment("Engine::infer", "::"), "infer");
    assert_eq!(super::resolve::last_segment("Stage.run", "."), "run");
    assert_eq!(super::resolve::last_segment("run", "."), "run");
}

/// A glob import (`use super::*;`, `from .helpers import *`) brings in what the imported
/// module names: its own imports (tokio's `mpsc` in the crate root) and its functions.
#[test]
fn names_through_glob_imports_resolve() {
    let files = project(&[
        (
            "src/lib.rs",
            "use tokio::sync::mpsc;\nmod sub;\n\npub fn helper() -> u32 {\n    std::fs::read(\"x\").map(|v| v.len() as u32).unwrap_or(0)\n}\n",
        ),
        (
            "src/sub.rs",
            "use super::*;\n\npub async fn run(rx: &mut mpsc::Receiver<u32>) -> u32 {\n    let next = rx.recv();\n    next.await;\n    helper()\n}\n",
        ),
        (
            "pkg/helpers.py",
            "import requests\n\ndef fetch(url):\n    return requests.get(url)\n",
        ),
        (
            "pkg/app.py",
            "from pkg.helpers import *\n\nasync def handle(url):\n    return fetch(url)\n",
        ),
    ]);
    let cat = Catalog::bundled();
    let a = Analysis::new(&files, &cat);
    let run = find(&a, "run");
    let targets: Vec<_> = a.calls_of(run).map(|c| &a.info(c).target).collect();
    assert!(
        targets.iter().any(|t| matches!(t, Target::External(p) if p.join("::") == "tokio::sync::mpsc::Receiver::recv")),
        "{targets:?}"
    );
    let helper = find(&a, "helper");
    assert!(
        targets
            .iter()
            .any(|t| matches!(t, Target::Project { func, .. } if *func == helper)),
        "{targets:?}"
    );
    let handle = find(&a, "handle");
    let fetch = find(&a, "fetch");
    assert!(a
        .calls_of(handle)
        .any(|c| matches!(a.info(c).target, Target::Project { func, .. } if func == fetch)));
}

/// A crate root that re-exports everything of `commands`, which re-exports everything of
/// `commands::generate`: `use crate::run_generate` in a sibling module names the function
/// two globs down.
#[test]
fn names_through_chained_glob_reexports_resolve() {
    let files = project(&[
        (
            "tool/src/lib.rs",
            "#[cfg(feature = \"cli\")]\npub mod cli;\npub mod commands;\n\n#[cfg(feature = \"cli\")]\npub use cli::*;\npub use commands::*;\n",
        ),
        (
            "tool/src/commands/mod.rs",
            "#[cfg(feature = \"codegen\")]\npub mod generate;\npub mod migrate;\n\n#[cfg(feature = \"codegen\")]\npub use generate::*;\npub use migrate::*;\n",
        ),
        (
            "tool/src/commands/generate.rs",
            "pub async fn run_generate(dir: &str) {\n    std::fs::write(dir, \"x\").unwrap();\n}\n",
        ),
        (
            "tool/src/cli.rs",
            "#[cfg(feature = \"codegen\")]\nuse crate::{handle_error, run_generate};\n\npub async fn run(dir: &str) {\n    run_generate(dir).await.unwrap_or_else(handle_error);\n}\n",
        ),
    ]);
    let cat = Catalog::bundled();
    let a = Analysis::new(&files, &cat);
    let (run, generate) = (find(&a, "run"), find(&a, "run_generate"));
    let targets: Vec<_> = a.calls_of(run).map(|c| &a.info(c).target).collect();
    assert!(
        targets
            .iter()
            .any(|t| matches!(t, Target::Project { func, .. } if *func == generate)),
        "{targets:?}"
    );
}

/// A guess at an unknown receiver's method (the project's only method of that name) never
/// lands on a test's method, and a test's method does not make a real guess ambiguous.
#[test]
fn guesses_leave_test_methods_out() {
    let files = project(&[
        (
            "pkg/store.py",
            "class Store:\n    def persist_all(self):\n        open('/tmp/x').close()\n\n\nclass Saver:\n    async def save(self):\n        self.sink.persist_all()\n        self.sink.rewind_all()\n",
        ),
        (
            "tests/test_store.py",
            "class FakeSink:\n    def persist_all(self):\n        pass\n\n    def rewind_all(self):\n        pass\n",
        ),
    ]);
    let catalog = Catalog::bundled();
    let a = Analysis::new(&files, &catalog);
    let save = find(&a, "Saver.save");
    let flush = find(&a, "Store.persist_all");
    let targets: Vec<_> = a.calls_of(save).map(|c| &a.info(c).target).collect();
    assert!(
        matches!(targets[0], Target::Project { func, confidence: Confidence::Assumed } if *func == flush),
        "{targets:?}"
    );
    assert!(!matches!(targets[1], Target::Project { .. }), "{targets:?}");
}
