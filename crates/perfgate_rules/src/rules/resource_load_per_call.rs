//! `resource-load-per-call`: a model, configuration or large file loaded inside a
//! per-request or per-task path.

use super::per_call::{self, Wording};
use crate::{Checker, RuleMeta};
use perfgate_catalog::Kind;
use perfgate_model::{CallFlags, Category, Finding, Language, Severity};

pub struct Rule;

pub static META: RuleMeta = RuleMeta {
    id: "resource-load-per-call",
    category: Category::Io,
    severity: Severity::High,
    languages: &[Language::Rust, Language::Python],
    summary: "loading a model, config or large file inside a per-request or per-task path",
    doc: r#"## What it does
Finds model loading (`torch.load`, `*.from_pretrained`, `onnxruntime.InferenceSession`,
`tch::CModule::load`, `ort` session builders, `Tokenizer::from_file`, ...) and reads of a
fixed file (`open("config.yaml")`, `std::fs::read_to_string(CONFIG_PATH)`: a constant
path, so the same bytes every time) in functions that run per request or per task, where
the result is used and dropped. Helpers that load and return a model are followed to the
per-call function that calls them.

Only the same resource loaded again is reported: the load's arguments are constants, or
the loading function is async (a request or task handler) or loops. A helper that loads
whatever path its caller passes (`convert_file(path)`) is doing its job.

Not reported: reads of live kernel state (`/proc/...`, `/sys/...`, `/dev/...`, whose content
changes), loading in constructors, in a loader's synchronous methods (a type named `*Loader`
is there to load) or a synchronous function named for loading (`load_model_hook`,
`restore_checkpoint`: how often it runs is its callers' affair), `main` and other start-up
code, results stored on `self` or in a global (lazy initialisation), returned to the caller,
or loaded inside a `OnceLock`/`LazyLock` initialiser, a cache's `get_with(key, init)` or a
memoized (`@lru_cache`) function.

## Why is this bad?
Loading a model reads hundreds of megabytes to gigabytes from disk, deserialises it and
often copies it to the GPU: seconds per call, and peak memory doubles while the old copy
is freed. A configuration file re-read per request costs a system call and a parse each
time for a value that never changes.

## Example
```python
async def transcribe(self, audio):
    model = whisper.load_model("base")
    return model.transcribe(audio)
```

## Use instead
```python
def __init__(self):
    self.model = whisper.load_model("base")

async def transcribe(self, audio):
    return await asyncio.to_thread(self.model.transcribe, audio)
```
"#,
};

impl crate::Rule for Rule {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Checker, out: &mut Vec<Finding>) {
        per_call::check(
            cx,
            &META,
            &[Kind::ModelLoad, Kind::ConfigLoad],
            |a, id, info| {
                if let Some(api) = info.api_of(Kind::ModelLoad) {
                    return Some(api);
                }
                let c = a.call(id);
                let api = info.api_of(Kind::ConfigLoad)?;
                // A constant path read for its contents: not a log or output file, and not
                // live kernel state.
                let text = a.call_text(id);
                (c.has(CallFlags::ARGS_CONST) && !opens_for_writing(&text) && !reads_live_state(&text))
                    .then_some(api)
            },
            &Wording {
                what: "a freshly loaded model or file",
                impact: "every call re-reads and re-parses the same resource from disk (seconds for a model, plus a second copy in memory while the old one is freed)",
                fix: "load it once at start-up or in the constructor (or lazily into a `OnceLock`/`functools.cache`) and share it",
                skip_loops: false,
                same_input_only: true,
                sessions: false,
                kind: Kind::ModelLoad,
            },
            out,
        );
    }
}

/// `read_to_string("/proc/self/statm")`, `open("/sys/class/...")`: files that are views of
/// the kernel's current state, read again because their content changes.
fn reads_live_state(call: &str) -> bool {
    let first = call.split_once('(').map_or("", |(_, r)| r).trim_start();
    // A string literal, with its prefix (`r"..."`, `b'...'`) if any.
    let Some(path) = first
        .trim_start_matches(['r', 'b', 'f'])
        .strip_prefix(['"', '\''])
    else {
        return false;
    };
    ["/proc/", "/sys/", "/dev/"]
        .iter()
        .any(|p| path.starts_with(p))
}

/// `open(PATH, "w")`, `open(PATH, mode="a")`: writing, not loading.
fn opens_for_writing(call: &str) -> bool {
    let args = call.split_once('(').map_or("", |(_, r)| r);
    let mut parts = args.split(',').skip(1);
    parts.any(|p| {
        let p = p.trim().trim_start_matches("mode=");
        let q = p.trim_start_matches(['"', '\'']);
        q.len() < p.len() && q.starts_with(['w', 'a', 'x']) || q.starts_with("r+")
    })
}
