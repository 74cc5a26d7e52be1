//! The global allocator and its tuning, shared by the binary, its benchmarks and examples
//! (they include this file), so that what is measured is what ships.
//!
//! Two allocators behind one `GlobalAlloc`:
//! - mimalloc for everything that lives: the model is many small allocations made on
//!   several threads, which it handles markedly faster than the system allocator (version 2,
//!   the `v2` feature: on the CPython standard library it kept 10% less memory resident than
//!   v3 and ran 5% faster);
//! - a bump arena per thread for scratch work (`perfgate_model::scratch`): each file's parse
//!   tree and the temporaries of lowering it. Allocating is a pointer bump, freeing is
//!   nothing, and when the file's module has been copied out the whole arena is rewound.
//!   Its pages stay mapped from file to file, so they are faulted in once per thread, and
//!   never walked to build free lists or to free a tree node by node.

use std::alloc::{GlobalAlloc, Layout};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

#[global_allocator]
static GLOBAL: Alloc = Alloc;

/// mimalloc, except inside a scratch run, where the thread's arena serves.
struct Alloc;

/// The address range reserved for arenas, `[BASE, BASE + LEN)`: empty until reserved (or if
/// reserving failed), and then never changed. Any block inside it is an arena block.
static BASE: AtomicUsize = AtomicUsize::new(0);
static LEN: AtomicUsize = AtomicUsize::new(0);
/// Arenas handed out so far: the next thread to need one takes the next slice.
static SLICES_TAKEN: AtomicUsize = AtomicUsize::new(0);
/// Each thread's arena: address space only, faulted in as it is used. The largest file
/// perfgate accepts (analysis.max-file-size) builds a tree far smaller.
const SLICE: usize = 1 << 30;
/// Threads that can have an arena; more threads than this work on mimalloc alone.
const SLICES: usize = 64;
/// After a file whose scratch work went past this, the arena's pages beyond it are handed
/// back to the OS: one huge file should not keep its memory for the rest of the run.
const KEEP_RESIDENT: usize = 64 << 20;

/// A thread's arena. `end` is zero outside scratch runs, so the allocation fast path is
/// one thread-local read and a compare.
struct Arena {
    /// Next free byte.
    next: Cell<usize>,
    /// End of the slice while a run is active, else zero.
    end: Cell<usize>,
    /// The slice's start, zero until the thread has one.
    start: Cell<usize>,
    /// The furthest `next` has reached in the current run.
    peak: Cell<usize>,
}

thread_local! {
    // A const-initialised thread local without a destructor: reading it never allocates,
    // which is what lets the allocator itself use it.
    static ARENA: Arena = const {
        Arena {
            next: Cell::new(0),
            end: Cell::new(0),
            start: Cell::new(0),
            peak: Cell::new(0),
        }
    };
}

fn in_arenas(p: *mut u8) -> bool {
    (p as usize).wrapping_sub(BASE.load(Relaxed)) < LEN.load(Relaxed)
}

/// A block from the current thread's active arena, if there is one and it has room.
#[inline]
fn bump(layout: Layout) -> Option<*mut u8> {
    ARENA.with(|a| {
        let end = a.end.get();
        if end == 0 {
            return None;
        }
        let start = a.next.get().checked_add(layout.align() - 1)? & !(layout.align() - 1);
        let next = start.checked_add(layout.size())?;
        if next > end {
            return None;
        }
        a.next.set(next);
        if next > a.peak.get() {
            a.peak.set(next);
        }
        Some(start as *mut u8)
    })
}

/// An arena block freed: nothing to do, unless it is the last one made in an active run
/// (a temporary vector or string), whose room is reused at once.
#[inline]
fn release(p: *mut u8, size: usize) {
    ARENA.with(|a| {
        if a.end.get() != 0 && p as usize + size == a.next.get() && p as usize >= a.start.get() {
            a.next.set(p as usize);
        }
    });
}

/// Grows or shrinks the thread's last arena block where it stands.
fn resize_last(p: *mut u8, old: usize, new: usize) -> bool {
    ARENA.with(|a| {
        let end = a.end.get();
        if end == 0 || p as usize + old != a.next.get() || p as usize + new > end {
            return false;
        }
        let next = p as usize + new;
        a.next.set(next);
        if next > a.peak.get() {
            a.peak.set(next);
        }
        true
    })
}

// SAFETY: arena blocks are aligned, sized as asked and disjoint until the run that made
// them ends (the contract of `perfgate_model::scratch::run`); everything else is mimalloc's.
unsafe impl GlobalAlloc for Alloc {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        match bump(layout) {
            Some(p) => p,
            None => mimalloc::MiMalloc.alloc(layout),
        }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        match bump(layout) {
            // Arena memory is reused from file to file: it is not zero.
            Some(p) => {
                std::ptr::write_bytes(p, 0, layout.size());
                p
            }
            None => mimalloc::MiMalloc.alloc_zeroed(layout),
        }
    }

    #[inline]
    unsafe fn dealloc(&self, p: *mut u8, layout: Layout) {
        if in_arenas(p) {
            release(p, layout.size());
        } else {
            mimalloc::MiMalloc.dealloc(p, layout)
        }
    }

    #[inline]
    unsafe fn realloc(&self, p: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if !in_arenas(p) {
            // A block that lives stays with mimalloc, even when it grows in a run.
            return mimalloc::MiMalloc.realloc(p, layout, new_size);
        }
        if resize_last(p, layout.size(), new_size) {
            return p;
        }
        let new_layout = Layout::from_size_align_unchecked(new_size, layout.align());
        let q = self.alloc(new_layout);
        if !q.is_null() {
            std::ptr::copy_nonoverlapping(p, q, layout.size().min(new_size));
            release(p, layout.size());
        }
        q
    }
}

/// Call first thing, before any threads are started.
pub fn init() {
    keep_freed_memory();
    reserve_arenas();
    perfgate_model::scratch::install(&ArenaScratch);
}

/// Reserves the address space of every arena at once: no memory until touched
/// (`MAP_NORESERVE`). Where that is refused (an address-space limit), there are no arenas
/// and scratch work goes to mimalloc like the rest.
fn reserve_arenas() {
    if BASE.load(Relaxed) != 0 {
        return;
    }
    let len = SLICE * SLICES;
    // SAFETY: a fresh private anonymous mapping, owned by this module for the process's life.
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
            -1,
            0,
        )
    };
    if p == libc::MAP_FAILED {
        return;
    }
    // Huge pages where the kernel offers them on request: an arena is reused file after
    // file, so its pages are all used, and faulting them in 2 MiB at a time instead of 4 KiB
    // was 100 ms less system time on the standard library (a virtual machine's page faults
    // are dear). Advice only: refused, nothing changes.
    // SAFETY: advice on the mapping just made.
    unsafe { libc::madvise(p, len, libc::MADV_HUGEPAGE) };
    LEN.store(len, Relaxed);
    BASE.store(p as usize, Relaxed);
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

/// Runs each file's parse and lowering on the thread's arena, then rewinds it.
struct ArenaScratch;

impl perfgate_model::scratch::Scratch for ArenaScratch {
    fn run(&self, work: &mut dyn FnMut(bool), keep: &mut dyn FnMut()) -> bool {
        let mark = ARENA.with(|a| {
            if a.end.get() != 0 {
                // A run inside a run: what its `keep` copies must outlive it in the outer
                // run's arena, so it gets no arena of its own.
                return None;
            }
            if a.start.get() == 0 {
                let base = BASE.load(Relaxed);
                let i = SLICES_TAKEN.fetch_add(1, Relaxed);
                if base == 0 || i >= SLICES {
                    return None;
                }
                a.start.set(base + i * SLICE);
                a.next.set(base + i * SLICE);
            }
            Some(a.next.get())
        });
        let Some(mark) = mark else {
            work(false);
            keep();
            return false;
        };
        /// Ends the run, on unwinding too. The arena is rewound only when both closures
        /// returned: after a panic, whatever it left (its message, at least) stays valid,
        /// and the arena carries on from above it.
        struct Run {
            mark: usize,
            done: bool,
        }
        impl Drop for Run {
            fn drop(&mut self) {
                ARENA.with(|a| {
                    a.end.set(0);
                    if !self.done {
                        return;
                    }
                    let peak = a.peak.get();
                    a.next.set(self.mark);
                    a.peak.set(self.mark);
                    let keep_to = (self.mark + KEEP_RESIDENT).next_multiple_of(4096);
                    if peak > keep_to {
                        // SAFETY: the pages of this thread's own arena above what is kept,
                        // none of which is in use once rewound.
                        unsafe {
                            libc::madvise(
                                keep_to as *mut libc::c_void,
                                peak - keep_to,
                                libc::MADV_DONTNEED,
                            );
                        }
                    }
                });
            }
        }
        let mut run = Run { mark, done: false };
        ARENA.with(|a| {
            a.end.set(a.start.get() + SLICE);
            a.peak.set(mark);
        });
        work(true);
        // `keep` copies out onto mimalloc.
        ARENA.with(|a| a.end.set(0));
        keep();
        run.done = true;
        true
    }
}
