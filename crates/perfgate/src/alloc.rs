//! The global allocator and its tuning, shared by the binary, its benchmarks and examples
//! (they include this file), so that what is measured is what ships.
//!
//! The model is many small allocations made on several threads: mimalloc handles that
//! pattern markedly faster than the system allocator. Version 2 (the `v2` feature): on the
//! CPython standard library it kept 10% less memory resident than v3 and ran 5% faster, and
//! it can switch a thread's default heap, which [`MiScratch`] needs.

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

/// Each file's parse and lowering get a mimalloc heap of their own, made for the file and
/// destroyed after its module is copied out: destroying frees every block at once, and the
/// pages go back to the thread's free pages for the next file's heap, never mixed with the
/// model's (see `perfgate_model::scratch`).
struct MiScratch;

impl perfgate_model::scratch::Scratch for MiScratch {
    fn run(&self, work: &mut dyn FnMut(bool), keep: &mut dyn FnMut()) -> bool {
        // SAFETY: a new heap, owned by this thread.
        let heap = unsafe { libmimalloc_sys::mi_heap_new() };
        if heap.is_null() {
            work(false);
            keep();
            return false;
        }
        /// Puts the thread's usual heap back and disposes of the scratch one, on unwinding
        /// too: destroyed (every block freed) once both closures are done, otherwise
        /// deleted, which hands its blocks to the usual heap, so that whatever a panic left
        /// behind stays valid.
        struct Scratch {
            heap: *mut libmimalloc_sys::mi_heap_t,
            usual: *mut libmimalloc_sys::mi_heap_t,
            done: bool,
        }
        impl Scratch {
            fn restore(&self) {
                // SAFETY: the heap that was this thread's default before.
                unsafe { libmimalloc_sys::mi_heap_set_default(self.usual) };
            }
        }
        impl Drop for Scratch {
            fn drop(&mut self) {
                self.restore();
                // SAFETY: `heap` is this thread's and no longer its default. It is destroyed
                // only when `work` and `keep` returned, `work`'s values then being forgotten
                // by the caller (the contract of `Scratch::run`).
                unsafe {
                    if self.done {
                        libmimalloc_sys::mi_heap_destroy(self.heap);
                    } else {
                        libmimalloc_sys::mi_heap_delete(self.heap);
                    }
                }
            }
        }
        let mut scratch = Scratch {
            heap,
            // SAFETY: makes this thread's own new heap its default.
            usual: unsafe { libmimalloc_sys::mi_heap_set_default(heap) },
            done: false,
        };
        work(true);
        scratch.restore();
        keep();
        scratch.done = true;
        true
    }
}
