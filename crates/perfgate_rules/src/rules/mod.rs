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

pub(crate) use perfgate_model::units::{bytes as fmt_bytes, seconds as fmt_seconds};
