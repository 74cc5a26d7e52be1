//! Scratch memory for short-lived allocations: parse trees, the work of lowering them, and
//! the resolver's per-file caches.
//!
//! A front end builds a parse tree, lowers it into the model and drops it, file after file,
//! while the model it keeps grows. When both come from the same heap, every page the model
//! touches ends up shared with freed tree nodes: memory is spread thin and new pages keep
//! being faulted in. A run measured on the CPython standard library took 16% longer, and
//! its time varied five times as much, than with parse trees in a heap of their own.
//!
//! A scratch heap is also freed wholesale: the check layer runs each file's parse and
//! lowering in [`run`], copies the finished module out at its exact size, and the heap is
//! then released at once, without walking the parse tree node by node to free it (a fifth
//! of the cost of lowering, measured on the standard library). Values that only scratch
//! memory holds can be handed to [`dispose`] rather than dropped.
//!
//! Which heap allocations go to is the binary's business (its global allocator), so this
//! crate only defines the hook: the binary installs a [`Scratch`]. Without one installed,
//! [`run`] just calls its closures and drops what they made.
//!
//! The contract that makes freeing wholesale sound: nothing allocated during `work` may be
//! reachable after [`run`] returns, other than through what `keep` copied (deeply: a
//! shared pointer copied by reference count still points into scratch memory). Process-wide
//! lazies first initialised inside a run would break it; the code that runs there has none
//! (ruff's parser, tree-sitter's Rust grammar, the front ends' lowering, the call resolver
//! and the API catalogue's lookups), and what may be made lazily there for later (a source
//! file's text, read again) is made in [`outside`]. A C library's heap (tree-sitter's) is
//! scratch memory only inside [`c_heap`], whose caller keeps no C object past it.

use std::cell::Cell;
use std::sync::OnceLock;

/// A heap for one unit of short-lived work.
pub trait Scratch: Sync {
    /// Run `work` with this thread's allocations going to a fresh heap, then `keep` back
    /// on the thread's usual heap, then free the fresh heap and everything in it, and
    /// return `true`. `work` is told whether that is the plan: `work(false)` when no heap
    /// could be made, and then `run` returns `false` and `work`'s values are ordinary
    /// allocations, dropped as usual. If a closure panics, the heap's blocks must be handed
    /// over to the usual heap rather than freed (what `work` had disposed of is leaked).
    fn run(&self, work: &mut dyn FnMut(bool), keep: &mut dyn FnMut()) -> bool;

    /// Run `f` with this thread's allocations going to its usual heap, even inside a run,
    /// then carry on where the run was.
    fn outside(&self, f: &mut dyn FnMut());
}

static SCRATCH: OnceLock<&'static dyn Scratch> = OnceLock::new();

thread_local! {
    /// Inside `work` of a run whose heap will be freed wholesale.
    static DISCARDING: Cell<bool> = const { Cell::new(false) };
}

/// Install the process's scratch heap; the first one installed stays.
pub fn install(scratch: &'static dyn Scratch) {
    let _ = SCRATCH.set(scratch);
}

/// Is a scratch heap installed?
pub fn installed() -> bool {
    SCRATCH.get().is_some()
}

/// Run `work` (a file's parse and lowering) on scratch memory, then `keep` (copying out
/// what lives on) on the usual heap, and free the scratch memory at once.
pub fn run<T, U>(work: impl FnOnce() -> T, keep: impl FnOnce(&T) -> U) -> U {
    let Some(scratch) = SCRATCH.get() else {
        let made = work();
        return keep(&made);
    };
    let (mut work, mut keep) = (Some(work), Some(keep));
    let (made, mut kept) = (Cell::new(None), None);
    let freed = scratch.run(
        &mut |wholesale| {
            let _flag = Flag::set(wholesale);
            made.set(work.take().map(|w| w()));
        },
        &mut || {
            let m = made.take();
            kept = keep.take().zip(m.as_ref()).map(|(k, m)| k(m));
            made.set(m);
        },
    );
    if freed {
        // Its memory is gone with the heap: there is nothing left to drop.
        std::mem::forget(made);
    }
    kept.expect("a scratch heap runs both closures")
}

/// Make `f`'s value on the usual heap, even inside a run: for what is made once and shared
/// for the rest of the process though a run asked first (a source file's text, read again
/// from disk, or its line index). Made on the run's heap, it would be freed with it.
pub fn outside<T>(f: impl FnOnce() -> T) -> T {
    let Some(scratch) = SCRATCH.get() else {
        return f();
    };
    let (mut f, mut made) = (Some(f), None);
    scratch.outside(&mut || made = f.take().map(|f| f()));
    made.expect("a scratch heap runs the closure")
}

/// Drop a value that lives only in the current scratch run's memory, or nothing at all
/// when that memory is about to be freed wholesale: a parse tree is hundreds of thousands
/// of boxes, and walking it to free each costs as much as a fifth of lowering it.
pub fn dispose<T>(value: T) {
    if DISCARDING.with(Cell::get) {
        std::mem::forget(value);
    } else {
        drop(value);
    }
}

thread_local! {
    /// Inside [`c_heap`]: what C libraries allocate may come from scratch memory.
    static C_HEAP: Cell<bool> = const { Cell::new(false) };
}

/// Run `f` with a C library's heap (tree-sitter's, through the hooks the binary installs)
/// on the run's scratch memory, where a run serves: the caller makes every C object it
/// uses inside `f` and is done with them (dropped, or [`dispose`]d) before `f` returns, so
/// that none outlives the memory it lives in. Outside `f`, a parser kept from file to file
/// (a benchmark's) keeps its buffers on the usual heap.
pub fn c_heap<T>(f: impl FnOnce() -> T) -> T {
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            C_HEAP.with(|c| c.set(self.0));
        }
    }
    let _restore = Restore(C_HEAP.with(|c| c.replace(true)));
    f()
}

/// Inside [`c_heap`] on this thread?
pub fn c_heap_open() -> bool {
    C_HEAP.with(Cell::get)
}

/// Marks this thread as inside a discarding run's `work`, until dropped (on unwinding too).
struct Flag(bool);

impl Flag {
    fn set(discarding: bool) -> Flag {
        Flag(DISCARDING.with(|d| d.replace(discarding)))
    }
}

impl Drop for Flag {
    fn drop(&mut self) {
        DISCARDING.with(|d| d.set(self.0));
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    /// Counts the runs (the process-wide hook: one test installs it). When `wholesale` is
    /// set it claims to free `work`'s memory at once (and leaks it instead).
    struct Counting(AtomicUsize, AtomicBool);

    impl super::Scratch for Counting {
        fn run(&self, work: &mut dyn FnMut(bool), keep: &mut dyn FnMut()) -> bool {
            self.0.fetch_add(1, Ordering::SeqCst);
            let wholesale = self.1.load(Ordering::SeqCst);
            work(wholesale);
            keep();
            wholesale
        }

        fn outside(&self, f: &mut dyn FnMut()) {
            f()
        }
    }

    static COUNTING: Counting = Counting(AtomicUsize::new(0), AtomicBool::new(false));

    #[test]
    fn the_c_heap_is_open_only_inside_its_scope() {
        assert!(!super::c_heap_open());
        let inner = super::c_heap(|| {
            let nested = super::c_heap(super::c_heap_open);
            (nested, super::c_heap_open())
        });
        assert_eq!(inner, (true, true));
        assert!(!super::c_heap_open());
        // Closed again when the scope unwinds.
        let unwound = std::panic::catch_unwind(|| super::c_heap(|| panic!("in scope")));
        assert!(unwound.is_err());
        assert!(!super::c_heap_open());
    }

    /// Counts its drops.
    struct Tracked<'a>(&'a AtomicUsize);

    impl Drop for Tracked<'_> {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn runs_the_closures_with_or_without_a_scratch_heap() {
        assert!(!super::installed());
        assert_eq!(super::run(|| 6, |x| x * 7), 42);
        assert_eq!(COUNTING.0.load(Ordering::SeqCst), 0);
        super::install(&COUNTING);
        assert!(super::installed());
        assert_eq!(super::run(|| vec![1, 2, 3], |v| v.len()), 3);
        // Nested runs each go through the hook and return their own value.
        let inner = super::run(|| super::run(|| "inner", |s| s.len()), |n| *n);
        assert_eq!(inner, 5);
        assert_eq!(COUNTING.0.load(Ordering::SeqCst), 3);
        // A heap that frees nothing wholesale: what `work` made is dropped, and so is
        // what is disposed of.
        let drops = AtomicUsize::new(0);
        super::run(
            || {
                super::dispose(Tracked(&drops));
                Tracked(&drops)
            },
            |_| (),
        );
        assert_eq!(drops.load(Ordering::SeqCst), 2);
        // A heap freed wholesale: neither is dropped, and `keep` still sees the value.
        COUNTING.1.store(true, Ordering::SeqCst);
        let seen = super::run(
            || {
                super::dispose(Tracked(&drops));
                (Tracked(&drops), 7)
            },
            |made| made.1,
        );
        assert_eq!((seen, drops.load(Ordering::SeqCst)), (7, 2));
        // Outside a run, disposing drops.
        super::dispose(Tracked(&drops));
        assert_eq!(drops.load(Ordering::SeqCst), 3);
    }
}
