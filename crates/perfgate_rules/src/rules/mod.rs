//! One module per rule, named after the rule id.

pub mod await_without_timeout;
pub mod blocking_io_in_async;
pub mod blocking_sleep_in_async;
pub mod blocking_wait_in_async;
pub mod busy_wait;
pub mod cancellation_without_cleanup;
pub mod cpu_heavy_in_async;
pub mod lock_across_await;
pub mod sequential_awaits;

mod blocking;
