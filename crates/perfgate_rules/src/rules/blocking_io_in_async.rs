//! `blocking-io-in-async`: file, socket, HTTP, subprocess or database calls that block,
//! reached from async code directly or through synchronous helpers.

use super::blocking::{self, Wording};
use crate::{Checker, RuleMeta};
use perfgate_analysis::Effect;
use perfgate_model::{Category, Finding, Language, Severity};

pub struct Rule;

pub static META: RuleMeta = RuleMeta {
    id: "blocking-io-in-async",
    category: Category::Concurrency,
    severity: Severity::High,
    languages: &[Language::Rust, Language::Python],
    summary: "blocking file, network, subprocess or database I/O reached from async code",
    doc: r#"## What it does
Finds calls that block the calling thread on I/O — `std::fs::read`, `std::net::TcpStream`,
`reqwest::blocking`, `std::process::Command::output`, `open()`, `requests.get`,
`subprocess.run`, `sqlite3` — made from an `async fn` / `async def`, either directly or
through any chain of synchronous helpers in the project. The finding sits on the call in the
async function; its trace shows the chain down to the blocking call. Calls in a branch taken
only in debug mode (`if self._debug:`, `if loop.get_debug():`, `if cfg!(debug_assertions)`)
are not production's, and calls in a closure handed to a constructor run later; neither is
followed. A file API reading a buffer made in memory for it
(`PIL.Image.open(io.BytesIO(data))`, `pd.read_csv(io.StringIO(text))`,
`Cursor::new(bytes)`), or handed one by name (a parameter `image_bytesio: BytesIO`, a local
`buf = io.BytesIO(..)`), reads no file, and a write to a `Vec<u8>` (`body.write_all(b"\n")`)
writes memory, even where the project implements a trait of its own for `Vec`. Findings in
generated files (`@generated`, `DO NOT EDIT`) are not reported.

## Why is this bad?
An async runtime runs many tasks on a few threads (tokio: one per core; asyncio: one). A
blocking call holds its thread for the whole operation, so every task scheduled there
stalls: one slow disk read or HTTP request becomes latency for every request in flight.

## Example
```rust
pub async fn extract_from_file(&self, path: &Path) -> Result<Vec<Frame>> {
    let video = std::fs::read(path)?; // blocks a runtime worker
    self.extract_keyframes(&video).await
}
```

## Use instead
```rust
pub async fn extract_from_file(&self, path: &Path) -> Result<Vec<Frame>> {
    let video = tokio::fs::read(path).await?;
    self.extract_keyframes(&video).await
}
```
In Python use `aiofiles`, `httpx.AsyncClient`, `asyncio.create_subprocess_exec`, or
`await asyncio.to_thread(blocking_fn, ...)`. Work handed to `spawn_blocking`,
`block_in_place`, `asyncio.to_thread` or `run_in_executor`, directly or through a project
helper that passes its closure on to one (`asyncify(move || std::fs::read(p))`) or calls it
inside the closure it hands one (`spawn_blocking(move || { let _g = span.enter(); f() })`),
or through a helper that passes it on to such a helper (quickwit's re-exported
`run_cpu_intensive(f)` handing `f` to its pool's method), is not reported, nor is a call of
a function that runs itself on a worker thread (textual's `@work(thread=True)`, asgiref's
`@sync_to_async`, channels' `@database_sync_to_async`), and neither are tests (test files,
folders named for tests such as `tests/`, `test_utils/` or `k8s-e2e-tests/`, `#[cfg(test)]`
code, helpers named `*_for_tests`) and start-up code: schema migrations (a file or folder
with the word `migration`, `migrations` or `migrate` in its name), functions reached only
from `main`, module-level code, a function named as start-up (`startup`, `on_startup`,
`setup`, `bootstrap`, `initialize`, and in Python the same behind underscores: `_startup`,
and a classmethod `init` or `configure` that sets a library up: `Tortoise.init(config=..)`),
a Rust method that builds a component from its configuration (`HttpSinkConfig::build`, run
when the configuration is loaded) or a server's start-up and shutdown hooks
(`@app.on_event("startup")`, an ASGI `lifespan`), and not from a loop or spawned task there
(a `main` that loops over requests is serving); an async block handed to `block_on` runs
once, so a command line's subcommands (`rt.block_on(async { commands::export(cfg).await })`)
are start-up code too; nor is a memoized function of no arguments
(`@lru_cache def get_settings():`), whose body runs once per process (one keyed on its
arguments still blocks for each new key), nor a lazily built module global (`global _config`
/ `if _config is None: _config = load()`) or class attribute
(`if len(cls.settings) == 0: cls.settings = cls.scan()`; one kept on `self` is built per
instance, and is reported, unless the class hands out one instance per process: a `__new__`
that returns the instance it keeps on the class, whose `if not self.running:` start-up runs
once). A call from a test makes nothing start-up code: a library's method that only its
tests call is reported as if nothing called it (its users call it per request). The same
holds for the other blocking rules.
"#,
};

const WORDING: Wording = Wording {
    what: "blocking I/O",
    impact: "blocks a runtime worker thread for the whole call; every task scheduled on that thread waits, so latency grows with load",
    fix_rust: "use the async equivalent (tokio::fs, tokio::net, an async client) or move `{}` into tokio::task::spawn_blocking",
    fix_python: "use an async library (aiofiles, httpx.AsyncClient, asyncpg) or `await asyncio.to_thread(...)` around `{}`",
};

impl crate::Rule for Rule {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }
    fn check(&self, cx: &Checker, out: &mut Vec<Finding>) {
        blocking::check(cx, &META, Effect::Io, &WORDING, out);
    }
}
