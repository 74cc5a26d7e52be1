//! `timeout-exceeds-target`: a configured timeout larger than the target it must meet, or
//! too small for the network work it bounds.

use super::scope;
use crate::checker::Draft;
use crate::{Checker, RuleMeta};
use perfgate_catalog::Kind;
use perfgate_model::{Category, Finding, Language, Severity};

pub struct Rule;

pub static META: RuleMeta = RuleMeta {
    id: "timeout-exceeds-target",
    category: Category::Config,
    severity: Severity::High,
    languages: &[Language::Rust, Language::Python],
    summary: "a configured timeout larger than the declared target it must meet, or too small for the work it bounds",
    doc: r#"## What it does
Two checks:

1. Against declared targets. Each `[[target]]` may list the timeouts that must fit within
   it: a key path into a YAML, TOML or JSON file (`config.yaml:timeouts.clip_s`, seconds
   unless the value carries a unit like `"5s"`), or a function or constant in code
   (`default_inference_timeout`, whose `Duration::from_secs(5)`, `from_millis`, or returned
   number is read). A timeout above the target's limit is reported.

   ```toml
   [[target]]
   name = "slot generation"
   limit = "p99 <= 3s"
   timeouts = ["config.yaml:timeouts.clip_s", "default_inference_timeout"]
   ```

2. Without any configuration: a literal timeout under 50 ms wrapped around a network or
   remote call (`tokio::time::timeout(Duration::from_millis(16), client.send())`,
   `asyncio.wait_for(session.get(u), 0.016)`), or passed as `timeout=` to a network API
   or to a project function that waits on remote work (`gamer.get_result(task_id,
   timeout=0.016)`) — below a typical network round trip, so it fails under normal
   conditions. Local waits (`queue.get(timeout=0.01)`) are not reported.

## Why is this bad?
A timeout larger than the target lets a request blow the target before anything gives up:
a 5 s inference timeout cannot deliver a 3 s p99. A timeout smaller than one round trip
turns normal latency into errors and retries.

## Example
```yaml
timeouts:
  clip_s: 5      # target: p99 <= 3s
```

## Use instead
Derive timeouts from the target (leave headroom for the rest of the request), and give
network calls at least a few round trips.
"#,
};

/// Below this a network timeout fails on ordinary latency.
const MIN_NETWORK_TIMEOUT: f64 = 0.05;

impl crate::Rule for Rule {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Checker, out: &mut Vec<Finding>) {
        for t in cx.project.targets.iter().filter(|t| t.is_time) {
            for v in &t.timeouts {
                let Some(value) = v.value else { continue };
                if value <= t.limit {
                    continue;
                }
                cx.emit_at(
                    &META,
                    &v.place,
                    &format!("{}:{}", t.name, v.source),
                    format!(
                        "timeout `{}` = {} exceeds the target `{}` ({})",
                        v.source,
                        crate::rules::fmt_seconds(value),
                        t.name,
                        t.limit_text
                    ),
                    format!(
                        "a request can run {} past the target before this timeout gives up",
                        crate::rules::fmt_seconds(value - t.limit)
                    ),
                    format!(
                        "set it below {} (leave headroom for the rest of the request)",
                        crate::rules::fmt_seconds(t.limit)
                    ),
                    out,
                );
            }
        }
        too_small(cx, out);
    }
}

/// Names of project functions that wait on remote or slow work: a literal `timeout=` under
/// [`MIN_NETWORK_TIMEOUT`] passed to them is as wrong as one around a socket.
const REMOTE_WAITS: &[&str] = &[
    "result",
    "response",
    "fetch",
    "request",
    "rpc",
    "query",
    "download",
    "upload",
    "infer",
    "predict",
    "generate",
    "submit",
    "call_remote",
    "wait_for_task",
];

/// Literal timeouts under [`MIN_NETWORK_TIMEOUT`] around network work.
fn too_small(cx: &Checker, out: &mut Vec<Finding>) {
    let a = cx.a;
    keyword_timeouts(cx, out);
    for &tid in a.calls_with_kind(Kind::Timeout) {
        let f = a.func(tid.func);
        if f.role == perfgate_model::FunctionRole::Test {
            continue;
        }
        // What it wraps: calls whose enclosing call is this timeout.
        let wraps_network = a.known_calls(tid.func).any(|(id, info)| {
            let inner = a.call(id);
            inner.ctx.parent_call() == Some(tid.call)
                && (info.has_kind(Kind::Remote) || info.has_kind(Kind::RoundTrip))
        }) || a.known_calls(tid.func).any(|(id, info)| {
            // `async with asyncio.timeout(0.01): await session.get(u)`
            a.call(id).ctx.parent_call() == Some(tid.call) && info.has_kind(Kind::Remote)
        });
        if !wraps_network {
            continue;
        }
        let text = a.call_text(tid);
        let Some(secs) = literal_seconds(&text, a.keywords(tid)) else {
            continue;
        };
        if secs >= MIN_NETWORK_TIMEOUT {
            continue;
        }
        let name = scope::short_name(a, tid);
        cx.emit(
            Draft {
                message: format!(
                    "`{name}` gives network work {} — less than a typical round trip",
                    crate::rules::fmt_seconds(secs)
                ),
                impact: "ordinary network latency exceeds it: requests fail or retry under normal conditions".into(),
                fix: "allow at least a few round trips (hundreds of milliseconds), derived from the latency target".into(),
                ..Draft::at_call(&META, a, tid, format!("`{name}`"))
            },
            out,
        );
    }
}

/// `gamer.get_result(task_id, timeout=0.016)`, `requests.get(url, timeout=0.01)`: a literal
/// `timeout=` keyword too small for a network API or a project function that waits on
/// remote work (named like `get_result`, `fetch_*`, `request`).
fn keyword_timeouts(cx: &Checker, out: &mut Vec<Finding>) {
    let a = cx.a;
    for fid in cx.functions() {
        for (cid, info) in a.known_calls(fid) {
            let Some(secs) = a
                .keywords(cid)
                .iter()
                .find(|(k, _)| k == "timeout" || k == "timeout_s")
                .and_then(|(_, v)| *v)
            else {
                continue;
            };
            if secs <= 0.0 || secs >= MIN_NETWORK_TIMEOUT || info.has_kind(Kind::Timeout) {
                continue;
            }
            let network = info.has_kind(Kind::RoundTrip)
                || info.has_kind(Kind::Remote)
                || info.has_kind(Kind::Connection);
            let remote_wait = match info.target {
                perfgate_analysis::Target::Project { func, .. } => {
                    let name = a.func(func).name.to_ascii_lowercase();
                    REMOTE_WAITS.iter().any(|w| name.contains(w))
                }
                _ => false,
            };
            if !network && !remote_wait {
                continue;
            }
            let name = scope::short_name(a, cid);
            cx.emit(
                Draft {
                    message: format!(
                        "`{name}` is given a {} timeout — less than a network round trip or one inference step",
                        crate::rules::fmt_seconds(secs)
                    ),
                    impact: "the work cannot finish in time under normal conditions: most calls time out and fail or retry".into(),
                    fix: "derive the timeout from the work's real latency (hundreds of milliseconds to seconds), per task type".into(),
                    confidence: a.confidence(cid),
                    ..Draft::at_call(&META, a, cid, format!("`{name}`"))
                },
                out,
            );
        }
    }
}

/// The duration a timeout call's text spells: `Duration::from_millis(16)`,
/// `from_secs_f64(0.5)`, `timeout=0.016`, `wait_for(x, 0.016)`.
fn literal_seconds(text: &str, keywords: &[(perfgate_model::Name, Option<f64>)]) -> Option<f64> {
    for (k, v) in keywords {
        if k == "timeout" || k == "delay" {
            return *v;
        }
    }
    for (marker, scale) in [
        ("from_millis(", 1e-3),
        ("from_micros(", 1e-6),
        ("from_nanos(", 1e-9),
        ("from_secs_f64(", 1.0),
        ("from_secs_f32(", 1.0),
        ("from_secs(", 1.0),
    ] {
        if let Some(i) = text.find(marker) {
            let rest = &text[i + marker.len()..];
            let num: String = rest
                .chars()
                .take_while(|ch| ch.is_ascii_digit() || *ch == '.' || *ch == '_')
                .collect();
            return num.replace('_', "").parse::<f64>().ok().map(|n| n * scale);
        }
    }
    // Python `wait_for(coro, 0.016)` / `timeout(0.01)`: the last argument, a bare number.
    let inner = text.rsplit_once(')')?.0;
    let last = inner.rsplit(',').next()?.trim();
    let last = last.rsplit('(').next()?.trim();
    last.parse::<f64>().ok()
}
