//! Phase timings on stderr, for working on perfgate's own speed: set `PERFGATE_TIMINGS=1`.
//! Each line gives the time since the first mark, the phase's own time and the resident
//! memory at its end (Linux).

use std::sync::OnceLock;
use std::time::Instant;

struct State {
    start: Instant,
    last: std::sync::Mutex<Instant>,
}

fn state() -> Option<&'static State> {
    static STATE: OnceLock<Option<State>> = OnceLock::new();
    STATE
        .get_or_init(|| {
            std::env::var_os("PERFGATE_TIMINGS").map(|_| {
                let now = Instant::now();
                State {
                    start: now,
                    last: std::sync::Mutex::new(now),
                }
            })
        })
        .as_ref()
}

/// Marks the end of a phase.
pub fn mark(phase: &str) {
    let Some(s) = state() else { return };
    let now = Instant::now();
    let mut last = s.last.lock().unwrap_or_else(|e| e.into_inner());
    let own = now - *last;
    *last = now;
    let rss = std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|t| t.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(String::new(), |pages| {
            format!("  {:>5} MB", pages * 4096 / 1_000_000)
        });
    eprintln!(
        "perfgate timings: {phase:<10} {:>8.1} ms  (+{:.1} ms){rss}",
        (now - s.start).as_secs_f64() * 1e3,
        own.as_secs_f64() * 1e3
    );
}
