//! The global allocator and its tuning, shared by the binary, its benchmarks and examples
//! (they include this file), so that what is measured is what ships.
//!
//! The model is many small allocations made on several threads: mimalloc handles that
//! pattern markedly faster than the system allocator. Version 2 (the `v2` feature): on the
//! CPython standard library it kept 10% less memory resident than v3 and ran 5% faster, and
//! it can switch a thread's default heap, which [`MiScratch`] needs.

use std::cell::Cell;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Call first thing, before any threads are started.
pub fn init() {
    keep_freed_memory();
    perfgate_model::scratch::install(&MiScratch);
}

/// perfgate parses file after file, freeing each parse tree, while the model it keeps grows:
/// when the allocator hands freed pages back to the OS, the next file faults them in again
/// (zeroed by the kernel, 2 MiB at a time where transparent huge pages are on). Measured on
/// the CPython standard library, keeping them cut the mean run time by a sixth. A run is
/// short and its memory is released at exit anyway.
fn keep_freed_memory() {
    // `mi_option_purge_delay` is option 15 in mimalloc v2 and v3 (mimalloc.h); its default
    // is 10 ms in v2 and 1000 ms in v3. Checking for a default first keeps a renumbered
    // future version unaffected.
    const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
    // SAFETY: reading and setting an allocator option before any threads are started.
    unsafe {
        if matches!(libmimalloc_sys::mi_option_get(PURGE_DELAY), 10 | 1000) {
            libmimalloc_sys::mi_option_set(PURGE_DELAY, -1);
        }
    }
}

/// Parse trees go to a mimalloc heap of their own, one per thread, made on first use and
/// kept for the life of the process: its pages are reused file after file and never mixed
/// with the model's (see `perfgate_model::scratch`).
struct MiScratch;

thread_local! {
    static SCRATCH_HEAP: Cell<*mut libmimalloc_sys::mi_heap_t> =
        const { Cell::new(std::ptr::null_mut()) };
}

impl perfgate_model::scratch::Scratch for MiScratch {
    fn run(&self, f: &mut dyn FnMut()) {
        let heap = SCRATCH_HEAP.with(|h| {
            if h.get().is_null() {
                // SAFETY: a new heap owned by this thread, only ever made the default here.
                h.set(unsafe { libmimalloc_sys::mi_heap_new() });
            }
            h.get()
        });
        if heap.is_null() {
            return f();
        }
        /// Puts the previous default heap back, on unwinding too.
        struct Restore(*mut libmimalloc_sys::mi_heap_t);
        impl Drop for Restore {
            fn drop(&mut self) {
                // SAFETY: the heap that was this thread's default before.
                unsafe { libmimalloc_sys::mi_heap_set_default(self.0) };
            }
        }
        // SAFETY: `heap` belongs to this thread and is never deleted, so blocks allocated
        // from it stay valid after the closure, and mimalloc frees a block from any heap or
        // thread.
        let _restore = Restore(unsafe { libmimalloc_sys::mi_heap_set_default(heap) });
        f();
    }
}
