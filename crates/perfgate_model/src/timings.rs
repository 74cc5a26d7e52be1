//! Phase timings on stderr, for working on perfgate's own speed: set `PERFGATE_TIMINGS=1`.
//! Each line gives the time since the first mark, the phase's own time, the CPU time all
//! live threads spent in it (on Linux), the kernel time the whole process spent in it (on
//! Unix: page faults, file reads, thread starts), the page faults taken in it and the
//! resident memory at its end (on
//! Linux). Kernel time counts threads that have ended, so it can exceed the CPU time, and
//! some kernels count it in clock ticks: average it over runs.

use std::sync::OnceLock;
use std::time::Instant;

struct State {
    start: Instant,
    /// The previous mark: when, and the process's CPU and kernel time then.
    last: std::sync::Mutex<(Instant, u64, (u64, u64))>,
}

/// System (kernel) CPU time of the whole process so far, in nanoseconds, and its page
/// faults (zeros where unknown): page faults, file reads and thread starts, which a profile
/// of user code does not show.
fn sys_ns() -> (u64, u64) {
    #[cfg(unix)]
    {
        // SAFETY: getrusage only writes the struct it is given.
        let mut u: libc::rusage = unsafe { std::mem::zeroed() };
        if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) } == 0 {
            return (
                u.ru_stime.tv_sec as u64 * 1_000_000_000 + u.ru_stime.tv_usec as u64 * 1_000,
                u.ru_minflt as u64,
            );
        }
    }
    (0, 0)
}

/// CPU time of all the process's threads, in nanoseconds (0 where unknown).
fn cpu_ns() -> u64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
}

fn state() -> Option<&'static State> {
    static STATE: OnceLock<Option<State>> = OnceLock::new();
    STATE
        .get_or_init(|| {
            std::env::var_os("PERFGATE_TIMINGS").map(|_| {
                let now = Instant::now();
                State {
                    start: now,
                    last: std::sync::Mutex::new((now, cpu_ns(), sys_ns())),
                }
            })
        })
        .as_ref()
}

/// Marks the end of a phase.
pub fn mark(phase: &str) {
    let Some(s) = state() else { return };
    let (now, cpu, sys) = (Instant::now(), cpu_ns(), sys_ns());
    let mut last = s.last.lock().unwrap_or_else(|e| e.into_inner());
    let own = now - last.0;
    // Threads that ended since the last mark took their time with them: never negative.
    let cpu_ms = cpu.saturating_sub(last.1) as f64 / 1e6;
    let sys_ms = sys.0.saturating_sub(last.2 .0) as f64 / 1e6;
    let faults = sys.1.saturating_sub(last.2 .1);
    *last = (now, cpu, sys);
    let rss = std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|t| t.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(String::new(), |pages| {
            format!("  {:>5} MB", pages * 4096 / 1_000_000)
        });
    eprintln!(
        "perfgate timings: {phase:<10} {:>8.1} ms  (+{:.1} ms, cpu {cpu_ms:.1} ms, sys {sys_ms:.1}, {faults} faults){rss}",
        (now - s.start).as_secs_f64() * 1e3,
        own.as_secs_f64() * 1e3
    );
}
