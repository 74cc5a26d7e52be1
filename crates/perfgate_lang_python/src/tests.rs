use super::*;
use perfgate_model::{Callee, FunctionRole, HandlerKind, LockKind, Receiver, TripCount};

const SRC: &str = r#"
import asyncio
import time as t
from .engine import Engine as Eng
from concurrent.futures import ThreadPoolExecutor

class Pipeline:
    def __init__(self, cfg):
        self.engine = Eng(cfg)
        self._lock = threading.Lock()

    async def run(self, x):
        a = await self.engine.infer(x)
        b = await self.fetch(a)
        t.sleep(1)
        with self._lock:
            await asyncio.sleep(0)
        try:
            await asyncio.wait_for(self.fetch(b), timeout=3)
        except asyncio.CancelledError:
            raise
        for y in range(224):
            for x2 in range(n):
                img[y][x2] = img[y][x2] * 2
        return [await self.fetch(i) for i in items]
"#;

#[test]
fn lowers_a_realistic_class() {
    let m = lower(SRC, "pkg/pipeline.py").unwrap();
    assert_eq!(m.module_path, vec!["pkg", "pipeline"]);
    assert!(m
        .imports
        .iter()
        .any(|i| i.alias == "Eng" && i.path == vec!["pkg", "engine", "Engine"]));
    assert!(m
        .imports
        .iter()
        .any(|i| i.alias == "t" && i.path == vec!["time"]));
    let ty = m.types.iter().find(|t| t.name == "Pipeline").unwrap();
    let engine = ty.fields.iter().find(|f| f.name == "engine").unwrap();
    assert_eq!(engine.ty.as_deref(), Some(&["Eng".into()][..]));
    let run = m
        .functions
        .iter()
        .find(|f| f.qualname == "Pipeline.run")
        .unwrap();
    assert!(run.is_async);
    assert_eq!(run.owner.as_deref(), Some("Pipeline"));
    let infer = run
        .calls
        .iter()
        .find(|c| matches!(&c.callee, Callee::Method { name, .. } if name == "infer"))
        .unwrap();
    assert!(infer.awaited);
    assert_eq!(
        infer.callee,
        Callee::Method {
            recv: Receiver::SelfField("engine".into()),
            name: "infer".into()
        }
    );
    let sleep = run
        .calls
        .iter()
        .find(|c| c.callee == Callee::Path(perfgate_model::thin_vec!["t".into(), "sleep".into()]))
        .unwrap();
    assert!(!sleep.awaited);
    assert_eq!(run.awaits[0].binds, vec!["a"]);
    assert!(run.awaits[1].uses.iter().any(|u| u == "a"));
    assert_eq!(run.locks.len(), 1);
    assert_eq!(run.locks[0].kind, LockKind::Blocking);
    assert_eq!(run.handlers[0].kind, HandlerKind::Cancelled);
    assert!(run.handlers[0].exits);
    // the fetch inside wait_for has wait_for as parent
    let wait_for = run
        .calls
        .iter()
        .position(|c| SRC[c.span.start as usize..].starts_with("asyncio.wait_for"))
        .unwrap() as u32;
    assert!(run
        .calls
        .iter()
        .any(|c| c.ctx.parent_call() == Some(wait_for)
            && SRC[c.span.start as usize..].starts_with("self.fetch")));
    let outer = &run.loops[0];
    assert_eq!(outer.trip, TripCount::Const(224));
    let inner = &run.loops[1];
    assert_eq!(inner.depth, 2);
    assert_eq!(inner.trip, TripCount::Dynamic);
    assert!(inner.body_arith && inner.body_index);
    assert!(run
        .loops
        .iter()
        .any(|l| l.kind == perfgate_model::LoopKind::Comprehension));
}

#[test]
fn relative_imports_from_packages() {
    let m = lower(
        "from . import a\nfrom ..b import c\n",
        "pkg/sub/__init__.py",
    )
    .unwrap();
    assert_eq!(m.imports[0].path, vec!["pkg", "sub", "a"]);
    assert_eq!(m.imports[1].path, vec!["pkg", "b", "c"]);
}

#[test]
fn broken_and_pathological_input_does_not_panic() {
    for src in [
        "def f(:\n  x = (",
        "\u{0}\u{1}",
        "",
        "async def f():\n    await\n",
    ] {
        let _ = lower(src, "x.py");
    }
    let deep = "(".repeat(10_000);
    assert!(lower(&deep, "x.py").is_err());
}

/// Small files are checked on the parser's tokens, large ones by `prescan` before parsing:
/// both refuse the same shapes, and neither refuses real code.
#[test]
fn nesting_and_operator_limits_hold_for_small_and_large_files() {
    let filler = format!("{}\n", "x = 1  # padding\n".repeat(5_000)); // ~90 KB
    for (what, bad) in [
        (
            "nesting",
            format!("x = {}1{}\n", "[".repeat(300), "]".repeat(300)),
        ),
        ("calls", format!("x = {}\n", "f(".repeat(300))),
        ("operators", format!("x = {}1\n", "1+".repeat(12_000))),
        ("not", format!("x = {}1\n", "not ".repeat(12_000))),
    ] {
        let small = lower(&bad, "x.py");
        assert!(small.is_err(), "{what}: small file accepted");
        let large = lower(&format!("{filler}{bad}"), "x.py");
        assert!(large.is_err(), "{what}: large file accepted");
    }
    // Just past the limit, in a file too small to be scanned at all were it shallower.
    let deepest = MAX_NESTING + 1;
    let edge = format!("x = {}1{}\n", "(".repeat(deepest), ")".repeat(deepest));
    assert!(lower(&edge, "x.py").is_err());
    let within = format!(
        "x = {}1{}\n",
        "(".repeat(MAX_NESTING),
        ")".repeat(MAX_NESTING)
    );
    assert!(lower(&within, "x.py").is_ok());
    let fine = "def f(a):\n    return g(h(a[0], [1, 2, {3: (4, 5)}]), -a.b.c + 2 ** 3)\n";
    assert!(lower(fine, "x.py").is_ok());
    assert!(lower(&format!("{filler}{fine}"), "x.py").is_ok());
}

/// The bracket count that decides whether a small file is scanned token by token: exact
/// across its 255-byte blocks (a block of nothing but brackets must not wrap its count).
#[test]
fn brackets_are_counted_exactly_across_blocks() {
    use super::more_brackets_than;
    for n in [0, 1, 254, 255, 256, 4_000, 5_000] {
        let all = "(".repeat(n);
        assert!(!more_brackets_than(all.as_bytes(), n), "{n} brackets");
        assert_eq!(
            more_brackets_than(all.as_bytes(), n.saturating_sub(1)),
            n > 0
        );
        let sparse = "a[b".repeat(n);
        assert!(!more_brackets_than(sparse.as_bytes(), n));
        assert_eq!(
            more_brackets_than(sparse.as_bytes(), n.saturating_sub(1)),
            n > 0
        );
    }
    assert!(!more_brackets_than(b"{x: (y)} # ) ] }", 2));
    assert!(more_brackets_than(b"{x: (y)} # ) ] }", 1));
}

#[test]
fn statement_facts_are_kept_where_two_awaits_may_depend_on_each_other() {
    let src = "async def one(c):\n    x = 1\n    y = await c.get(x)\n    return y\n\nasync def two(c):\n    a = await c.get(1)\n    b = a + 1\n    if b:\n        d = await c.get(b)\n    return d\n";
    let m = lower(src, "svc/deps.py").unwrap();
    let f = |name: &str| m.functions.iter().find(|f| f.name == name).unwrap();
    // One await: nothing compares it with another, so no statement is described.
    let one = f("one");
    assert_eq!(one.awaits[0].binds, vec!["y"]);
    assert!(one.blocks.iter().all(|b| b.stmts.is_empty()));
    // Two: every statement of every block, in order, with what it defines and reads.
    let two = f("two");
    assert_eq!(two.awaits[0].binds, vec!["a"]);
    assert_eq!(two.awaits[1].binds, vec!["d"]);
    let body = &two.blocks[0].stmts;
    assert_eq!(body.len(), 4);
    assert_eq!(body[1].defs, vec!["b"]);
    assert!(body[1].uses.iter().any(|u| u == "a"));
    // The `if` statement defines what its branch does and reads what its test reads.
    assert!(body[2].defs.iter().any(|d| d == "d"));
    assert!(body[2].uses.iter().any(|u| u == "b"));
    let branch = two.blocks.iter().find(|b| b.conditional).unwrap();
    assert_eq!(branch.stmts.len(), 1);
    assert_eq!(branch.stmts[0].defs, vec!["d"]);
}

#[test]
fn tests_keep_their_signatures_not_their_bodies() {
    let src = r#"
import requests

SESSION = requests.Session()

def fetch(url):
    return requests.get(url, timeout=5)


def test_fetch(benchmark):
    for _ in range(3):
        benchmark(fetch, "http://x")

    def nested():
        requests.get("http://y")


class TestClient:
    async def test_get(self):
        await fetch("http://z")
"#;
    let m = lower(src, "pkg/client.py").unwrap();
    let f = |n: &str| m.functions.iter().find(|f| f.name == n).unwrap();
    assert_eq!(f("fetch").calls.len(), 1);
    let t = f("test_fetch");
    assert_eq!(t.role, FunctionRole::Test);
    // pytest-benchmark's fixture is read from the parameters.
    assert_eq!(t.params[0].name.as_str(), "benchmark");
    assert!(t.calls.is_empty() && t.loops.is_empty());
    assert!(m.functions.iter().all(|f| f.name != "nested"));
    let top = m.functions.iter().find(|f| f.name == "<module>").unwrap();
    assert_eq!(top.calls.len(), 1);
    // A test file keeps only pytest-benchmark's tests, as signatures: not its other
    // functions, classes, imports or module-level code.
    let m = lower(src, "tests/test_client.py").unwrap();
    assert!(m
        .functions
        .iter()
        .all(|f| f.name != "test_get" && f.name != "fetch"));
    let t = m.functions.iter().find(|f| f.name == "test_fetch").unwrap();
    assert!(t.role == FunctionRole::Test && t.calls.is_empty());
    assert!(m.types.is_empty() && m.imports.is_empty() && m.globals.is_empty());
    let top = m.functions.iter().find(|f| f.name == "<module>").unwrap();
    assert_eq!(top.role, FunctionRole::Test);
    assert!(top.calls.is_empty());
}

/// A decorator hands back a function: the wrapper it defines (and that wrapper itself), or a
/// `Callable` parameter. Returning any other parameter or value is not one.
#[test]
fn decorators_are_known_by_what_they_return() {
    let src = r#"
from typing import Callable

class Server:
    def api(self, fn=None, *, name=None):
        def wrapper(func):
            self.apis.append(func)
            return func
        return wrapper

    def tool(self, fn: Callable):
        self.tools.append(fn)
        return fn

    def add(self, item):
        self.items.append(item)
        return item

    def make(self):
        def helper():
            return 1
        return helper()
"#;
    let m = lower(src, "pkg/server.py").unwrap();
    let mut decorators: Vec<&str> = m
        .functions
        .iter()
        .filter(|f| f.decorator)
        .map(|f| f.qualname.as_str())
        .collect();
    decorators.sort_unstable();
    assert_eq!(
        decorators,
        ["Server.api", "Server.api.wrapper", "Server.tool"]
    );
}

/// A test file that cannot define a benchmark is not parsed, and its model is the one the
/// parse would have made.
#[test]
fn test_files_without_benchmarks_are_modelled_unparsed() {
    let sources = [
        "import pytest\n\n\nasync def test_fetch(client):\n    assert (await client.get('/')).ok\n",
        "",
        "# just a comment, no newline at the end",
        "class TestApi:\n    def test_time_out(self):\n        start_time_ms = 3\n",
        "def helper(x):\n    return x\n\n\nclass Case:\n    value: int = 3\n",
    ];
    for src in sources {
        assert!(!may_define_benchmarks(src), "{src}");
        let (path, is_package) = module_path_for("tests/test_api.py");
        let parsed = lower_parsed(src, path, is_package, true, true).unwrap();
        let fast = lower(src, "tests/test_api.py").unwrap();
        assert_eq!(format!("{fast:?}"), format!("{parsed:?}"), "{src}");
    }
}

#[test]
fn benchmarks_are_found_in_the_text_before_parsing() {
    for src in [
        "def test_encode(benchmark):\n    benchmark(encode, 'x')\n",
        "class Suite:\n    def time_parse(self):\n        parse()\n",
        "async  def  peakmem_load():\n    pass\n",
        "def \\\n    track_size():\n    return 1\n",
        "def mem_list():\n    return [0] * 100\n",
    ] {
        assert!(may_define_benchmarks(src), "{src}");
    }
    // A benchmark in a test file is still modelled.
    let m = lower(
        "def test_encode(benchmark):\n    benchmark(encode, 'x')\n",
        "tests/test_perf.py",
    )
    .unwrap();
    assert!(m.functions.iter().any(|f| f.name == "test_encode"));
    // A perfgate comment is parsed, for its suppressions to be checked.
    let m = lower(
        "x = 1  # perfgate: ignore[no-such-rule]\n",
        "tests/test_a.py",
    )
    .unwrap();
    assert_eq!(m.directive_comments.len(), 1);
}
