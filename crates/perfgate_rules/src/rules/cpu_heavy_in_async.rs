//! `cpu-heavy-in-async`: CPU-bound work on the executor: numeric loop nests and known
//! CPU-heavy APIs, reached from async code directly or through helpers.

use super::blocking::{self, Wording};
use crate::{Checker, RuleMeta};
use perfgate_analysis::Effect;
use perfgate_model::{Category, Finding, Language, Severity};

pub struct Rule;

pub static META: RuleMeta = RuleMeta {
    id: "cpu-heavy-in-async",
    category: Category::Concurrency,
    severity: Severity::High,
    languages: &[Language::Rust, Language::Python],
    summary: "CPU-bound work (pixel/matrix loops, image, hashing, compression, inference) on the async executor",
    doc: r#"## What it does
Finds CPU-bound work reached from async code: nested loops whose bounds are not small
constants and whose bodies do arithmetic and indexing (pixel, matrix and sample loops),
and catalogue APIs that burn CPU — image decode/resize (`image`, PIL, cv2), hashing and
password hashing, compression, regex compilation, model inference (`ort`, onnxruntime,
torch, numpy linear algebra). Helpers are followed: an `async fn` that calls
`Self::preprocess_images(frames)`, which runs a 224x224x3 loop, is reported at the call.
Small fixed loops (a 3x3 kernel, RGB channels) are not, nor are loops over tables written
in the code and named as constants (`for name, color in COLORS`), nor loops that await on
every round, `async for` included (the executor gets its turn back between rounds). What a
`return` or `raise` in a loop computes runs once, on the way out, and is no work of the
loop's (`for i in ..: if found(i): return [xs[j] for j in range(i + 1, n)]` is one pass).
An inner loop over the items of the outer loop's element (`for delta in chunk.tool_calls`
inside `for chunk in chunks`) walks one nested collection: its rounds add up, as one loop's
would, rather than multiply; one counting positions in the element (`for i in
range(len(frame))`, `0..frame.len()`) indexes it element by element and still counts.
A fast hash (SHA, MD5, BLAKE) costs about a nanosecond a byte: it is reported inside a
loop (a stream hashed chunk by chunk), not for one key, token or prompt; password hashes
(bcrypt, argon2, scrypt, PBKDF2) are slow by design and always reported.

## Why is this bad?
While a task computes, its executor thread runs nothing else; tokio's cooperative
scheduling cannot preempt it. A 50,000-iteration pixel loop per frame turns into tail
latency for every other request on that thread (all of them, in asyncio).

## Example
```rust
async fn compute_score(&self, frames: &[DynamicImage]) -> Result<f32> {
    let tensors = Self::preprocess_images(frames)?; // nested 224x224 loop
    self.infer(&tensors).await
}
```

## Use instead
```rust
async fn compute_score(&self, frames: Vec<DynamicImage>) -> Result<f32> {
    let tensors = tokio::task::spawn_blocking(move || Self::preprocess_images(&frames)).await??;
    self.infer(&tensors).await
}
```
In Python: `await asyncio.to_thread(preprocess, frames)` or a process pool via
`loop.run_in_executor`.
"#,
};

const WORDING: Wording = Wording {
    what: "CPU-bound work",
    impact: "holds a runtime worker thread for the whole computation; tasks scheduled on it (in asyncio: all tasks) wait",
    fix_rust: "move `{}` into tokio::task::spawn_blocking (or rayon inside it)",
    fix_python: "run `{}` with `await asyncio.to_thread(...)` or in a process pool (`loop.run_in_executor`)",
};

impl crate::Rule for Rule {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }
    fn check(&self, cx: &Checker, out: &mut Vec<Finding>) {
        blocking::check(cx, &META, Effect::Cpu, &WORDING, out);
    }
}
