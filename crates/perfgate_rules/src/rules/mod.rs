//! One module per rule, named after the rule id.

pub mod alloc_in_loop;
pub mod await_without_timeout;
pub mod bench_no_black_box;
pub mod bench_not_in_ci;
pub mod bench_not_registered;
pub mod bench_regression;
pub mod blocking_io_in_async;
pub mod blocking_sleep_in_async;
pub mod blocking_wait_in_async;
pub mod budget_exceeded;
pub mod busy_wait;
pub mod cancellation_without_cleanup;
pub mod connection_per_call;
pub mod cpu_heavy_in_async;
pub mod gpu_sync_in_loop;
pub mod lock_across_await;
pub mod missing_benchmark;
pub mod missing_cache;
pub mod n_plus_one;
pub mod quadratic_loop;
pub mod redundant_clone;
pub mod resource_load_per_call;
pub mod sequential_awaits;
pub mod target_missed;
pub mod timeout_exceeds_target;
pub mod unbounded_growth;

mod blocking;
mod per_call;
mod scope;

/// Seconds as people read them: `850 ns`, `12.3 µs`, `4.56 ms`, `2.10 s`.
pub(crate) fn fmt_seconds(s: f64) -> String {
    let (v, unit) = if s >= 1.0 {
        (s, "s")
    } else if s >= 1e-3 {
        (s * 1e3, "ms")
    } else if s >= 1e-6 {
        (s * 1e6, "µs")
    } else {
        (s * 1e9, "ns")
    };
    format!("{v:.2} {unit}")
}

/// Bytes in binary units: `1.50 GiB`.
pub(crate) fn fmt_bytes(b: f64) -> String {
    let gib = 1024.0 * 1024.0 * 1024.0;
    if b >= gib {
        format!("{:.2} GiB", b / gib)
    } else if b >= 1024.0 * 1024.0 {
        format!("{:.2} MiB", b / (1024.0 * 1024.0))
    } else {
        format!("{b:.0} B")
    }
}
