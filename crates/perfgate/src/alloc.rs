//! The global allocator and its tuning, shared by the binary, its benchmarks and examples
//! (they include this file), so that what is measured is what ships.
//!
//! Two allocators behind one `GlobalAlloc`:
//! - mimalloc for what is not scratch work: the analysis, findings and reports, many small
//!   allocations on several threads, which it handles markedly faster than the system
//!   allocator (version 2, the `v2` feature: on the CPython standard library it kept 10%
//!   less memory resident than v3 and ran 5% faster);
//! - a bump arena per thread for scratch work (`perfgate_model::scratch`): each file's parse
//!   tree and the temporaries of lowering it. Allocating is a pointer bump, freeing is
//!   nothing, and when the file's module has been copied out the whole arena is rewound.
//!   Its pages stay mapped from file to file, so they are faulted in once per thread, and
//!   never walked to build free lists or to free a tree node by node;
//! - in the binary, a second arena per thread for the models copied out of scratch runs:
//!   packed end to end and never freed (see [`ArenaScratch`]).
//!
//! Pages are small ones, never transparent huge pages (see [`no_huge_pages`]), and arena
//! pages are faulted in 256 KiB at a time as an arena grows (see [`Arena::grow`]).

use std::alloc::{GlobalAlloc, Layout};
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};

#[global_allocator]
static GLOBAL: Alloc = Alloc;

/// mimalloc, except inside a scratch run, where the thread's arena serves.
struct Alloc;

/// The address range reserved for arenas, `[BASE, BASE + LEN)`: empty until reserved (or if
/// reserving failed), and then never changed. Any block inside it is an arena block.
static BASE: AtomicUsize = AtomicUsize::new(0);
static LEN: AtomicUsize = AtomicUsize::new(0);
/// Slices handed out so far: a thread takes one for its scratch arena and one for the
/// models it keeps, when first needed.
static SLICES_TAKEN: AtomicUsize = AtomicUsize::new(0);
/// Each slice: address space only, faulted in as it is used. The largest file perfgate
/// accepts (analysis.max-file-size) builds a tree far smaller; a thread whose models
/// outgrow theirs goes on with mimalloc.
const SLICE: usize = 1 << 30;
/// Slices asked for; threads beyond them work on mimalloc alone.
const SLICES: usize = 128;
/// Slices fewer than this are not worth reserving: each thread needs two.
const MIN_SLICES: usize = 4;
/// After a file whose scratch work went past this, the arena's pages beyond it are handed
/// back to the OS: one huge file should not keep its memory for the rest of the run.
const KEEP_RESIDENT: usize = 64 << 20;

/// No arena serves allocations.
const OFF: u8 = 0;
/// The scratch arena serves: rewound after each run.
const SCRATCH: u8 = 1;
/// The kept arena serves: what a run copies out, packed and never freed.
const KEPT: u8 = 2;

/// One of a thread's two arenas: its slice's start (zero until the thread has one), while it
/// is not serving its next free byte, and how far its pages are faulted in.
struct Slice {
    start: Cell<usize>,
    next: Cell<usize>,
    populated: Cell<usize>,
}

impl Slice {
    const fn new() -> Slice {
        Slice {
            start: Cell::new(0),
            next: Cell::new(0),
            populated: Cell::new(0),
        }
    }
}

/// Arena pages are faulted in this much at a time, in one call (see [`Arena::grow`]).
/// What the last step faulted in past the end is never used: two threads' four arenas left
/// about 2 MB of it at a megabyte a step (generated corpus: 54.4 -> 52.2 MB resident).
const POPULATE: usize = 1 << 18;

/// A thread's two arenas and which one serves. `end` is zero when none does, so the
/// allocation fast path is one thread-local read and a compare.
struct Arena {
    /// The serving arena's next free byte, and the end of its faulted-in pages (zero: none
    /// serves).
    next: Cell<usize>,
    end: Cell<usize>,
    mode: Cell<u8>,
    scratch: Slice,
    kept: Slice,
}

thread_local! {
    // A const-initialised thread local without a destructor: reading it never allocates,
    // which is what lets the allocator itself use it.
    static ARENA: Arena = const {
        Arena {
            next: Cell::new(0),
            end: Cell::new(0),
            mode: Cell::new(OFF),
            scratch: Slice::new(),
            kept: Slice::new(),
        }
    };
}

impl Arena {
    fn slice(&self, mode: u8) -> Option<&Slice> {
        match mode {
            SCRATCH => Some(&self.scratch),
            KEPT => Some(&self.kept),
            _ => None,
        }
    }

    /// Stop serving from either arena, saving the serving one's position.
    fn park(&self) {
        if let Some(s) = self.slice(self.mode.get()) {
            s.next.set(self.next.get());
        }
        self.end.set(0);
        self.mode.set(OFF);
    }

    /// Serve from one arena (`SCRATCH` or `KEPT`), taking a slice for it first if need be;
    /// false, and none serves, if none is left.
    fn serve(&self, mode: u8) -> bool {
        self.park();
        let Some(s) = self.slice(mode) else {
            return false;
        };
        if s.start.get() == 0 {
            let Some(start) = take_slice() else {
                return false;
            };
            s.start.set(start);
            s.next.set(start);
            s.populated.set(start);
        }
        self.next.set(s.next.get());
        self.end.set(s.populated.get());
        self.mode.set(mode);
        true
    }

    /// Room up to `to` in the serving arena, faulting its pages in ahead of use: false if
    /// that is past the arena's end.
    ///
    /// Faulting a page in on first touch costs a trap into the kernel per 4 KiB page (tens
    /// of thousands on a large project); asking for [`POPULATE`] bytes' worth at once
    /// (`MADV_POPULATE_WRITE`, Linux 5.14) costs one call (see [`no_huge_pages`] for what it
    /// measured). Advice only: where it is refused, pages fault in as they are touched.
    #[cold]
    fn grow(&self, to: usize) -> bool {
        let Some(s) = self.slice(self.mode.get()) else {
            return false;
        };
        let (from, limit) = (s.populated.get(), s.start.get() + SLICE);
        if to > limit {
            return false;
        }
        let upto = to.next_multiple_of(POPULATE).min(limit);
        #[cfg(target_os = "linux")]
        // SAFETY: pages of this thread's own arena, not yet in use.
        unsafe {
            libc::madvise(
                from as *mut libc::c_void,
                upto - from,
                libc::MADV_POPULATE_WRITE,
            );
        }
        s.populated.set(upto);
        self.end.set(upto);
        true
    }
}

/// A fresh slice of the reserved range, if any is left.
fn take_slice() -> Option<usize> {
    let base = BASE.load(Relaxed);
    let i = SLICES_TAKEN.fetch_add(1, Relaxed);
    (base != 0 && i < LEN.load(Relaxed) / SLICE).then(|| base + i * SLICE)
}

fn in_arenas(p: *mut u8) -> bool {
    (p as usize).wrapping_sub(BASE.load(Relaxed)) < LEN.load(Relaxed)
}

/// A block from the current thread's serving arena, if one serves and has room.
#[inline]
fn bump(layout: Layout) -> Option<*mut u8> {
    ARENA.with(|a| {
        let end = a.end.get();
        if end == 0 {
            return None;
        }
        let start = a.next.get().checked_add(layout.align() - 1)? & !(layout.align() - 1);
        let next = start.checked_add(layout.size())?;
        if next > end && !a.grow(next) {
            return None;
        }
        a.next.set(next);
        Some(start as *mut u8)
    })
}

/// An arena block freed: nothing to do, unless it is the serving arena's last block (a
/// temporary vector or string), whose room is reused at once.
#[inline]
fn release(p: *mut u8, size: usize) {
    ARENA.with(|a| {
        if a.end.get() != 0 && p as usize + size == a.next.get() {
            a.next.set(p as usize);
        }
    });
}

/// Grows or shrinks the serving arena's last block where it stands.
fn resize_last(p: *mut u8, old: usize, new: usize) -> bool {
    ARENA.with(|a| {
        let end = a.end.get();
        if end == 0 || p as usize + old != a.next.get() {
            return false;
        }
        if p as usize + new > end && !a.grow(p as usize + new) {
            return false;
        }
        let next = p as usize + new;
        a.next.set(next);
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

/// Call first thing, before any threads are started, in a process that checks once and
/// exits: models are packed into kept arenas and never freed.
#[allow(dead_code)]
pub fn init() {
    PACK_MODELS.store(true, Relaxed);
    init_reusable();
}

/// As [`init`], for a process that checks again and again (benchmarks): models stay on
/// mimalloc and are freed when dropped; scratch work still goes to the arenas.
#[allow(dead_code)]
pub fn init_reusable() {
    no_huge_pages();
    keep_freed_memory();
    tree_sitter_on_arenas();
    reserve_arenas();
    perfgate_model::scratch::install(&ArenaScratch);
}

/// Whether what scratch runs keep goes to the kept arenas (see [`init`]).
static PACK_MODELS: AtomicBool = AtomicBool::new(false);

/// Reserves the address space of every arena at once: no memory until touched
/// (`MAP_NORESERVE`). Where an address-space limit refuses it (`ulimit -v`, valgrind), half
/// as many slices are asked for, down to [`MIN_SLICES`]; below that there are no arenas and
/// scratch work goes to mimalloc like the rest.
fn reserve_arenas() {
    if BASE.load(Relaxed) != 0 {
        return;
    }
    let mut slices = SLICES;
    while slices >= MIN_SLICES {
        let len = SLICE * slices;
        // SAFETY: a fresh private anonymous mapping, owned by this module for the
        // process's life.
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
        if p != libc::MAP_FAILED {
            LEN.store(len, Relaxed);
            BASE.store(p as usize, Relaxed);
            return;
        }
        slices /= 2;
    }
}

/// The process's memory in 4 KiB pages, never 2 MiB ones (mimalloc asks for huge pages
/// where the kernel offers them on request, and a system may give them unasked).
///
/// A huge page is zeroed and mapped in one fault instead of 512, and in runs started back to
/// back that was worth it. But a check is usually one run on a machine that has been doing
/// something else, and there a virtual machine pays dearly for huge pages: a free 2 MiB
/// block is what a balloon driver reports to its host, which takes the memory back, and the
/// guest's first touch of each page then traps to the host. Small pages come first from
/// fragments never reported. The CPython standard library on a 2-core Firecracker VM,
/// medians of 10 to 15 runs, wall (system) ms:
///
/// | | runs a second apart | back to back |
/// |---|---|---|
/// | huge pages | 555 (345) | 389 (147) |
/// | small pages | 493 (132) | 396 (121) |
/// | small pages, arenas populated (see [`Arena::grow`]) | 414 (115) | 378 (103) |
fn no_huge_pages() {
    #[cfg(target_os = "linux")]
    // SAFETY: a process-wide flag, set before any memory that could be huge is touched;
    // refused (an old kernel), nothing changes.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}

/// tree-sitter's C heap (its parse stacks, subtrees and trees, allocated and freed node by
/// node): inside a scratch run, the thread's scratch arena, like Python's parse trees; else
/// mimalloc rather than the C library's malloc, which was 4.5% of checking a Rust project.
///
/// The Rust front end makes a parser per file and disposes of it and its trees inside the
/// run (in `perfgate_model::scratch::c_heap`), so nothing of tree-sitter's outlives the
/// arena it lives in; freeing a tree node by node (`ts_tree_delete`) and mimalloc's own work
/// were 6% of parsing and lowering Rust.
fn tree_sitter_on_arenas() {
    // SAFETY: set once, before any tree-sitter object exists; the functions below have the
    // C allocator's contracts, and every block tree-sitter frees it allocated through them.
    unsafe {
        tree_sitter::set_allocator(Some(tree_sitter::Allocator {
            malloc: ts_malloc,
            calloc: ts_calloc,
            realloc: ts_realloc,
            free: ts_free,
        }));
    }
}

/// A C block in the arena starts this far after its header, which holds its size: `free`
/// and `realloc` are not told it. Also the block's alignment, as `malloc`'s is.
const C_HEADER: usize = 16;

/// A C block of `size` bytes from the scratch arena, if one serves on this thread and the
/// code running promised that its C objects die with the run
/// (`perfgate_model::scratch::c_heap`).
fn c_bump(size: usize) -> Option<*mut libc::c_void> {
    if ARENA.with(|a| a.mode.get()) != SCRATCH || !perfgate_model::scratch::c_heap_open() {
        return None;
    }
    let layout = Layout::from_size_align(size.checked_add(C_HEADER)?, C_HEADER).ok()?;
    let p = bump(layout)?;
    // SAFETY: a fresh arena block of `C_HEADER + size` bytes, aligned to `C_HEADER`.
    unsafe {
        (p as *mut usize).write(size);
        Some(p.add(C_HEADER) as *mut libc::c_void)
    }
}

/// The size a C arena block was allocated with.
///
/// # Safety
/// `p` is a block that [`c_bump`] returned.
unsafe fn c_size(p: *mut libc::c_void) -> usize {
    ((p as *mut u8).sub(C_HEADER) as *const usize).read()
}

unsafe extern "C" fn ts_malloc(size: usize) -> *mut libc::c_void {
    match c_bump(size) {
        Some(p) => p,
        None => libmimalloc_sys::mi_malloc(size),
    }
}

unsafe extern "C" fn ts_calloc(count: usize, size: usize) -> *mut libc::c_void {
    let Some(total) = count.checked_mul(size) else {
        return std::ptr::null_mut();
    };
    match c_bump(total) {
        // Arena memory is reused from file to file: it is not zero.
        Some(p) => {
            std::ptr::write_bytes(p as *mut u8, 0, total);
            p
        }
        None => libmimalloc_sys::mi_calloc(count, size),
    }
}

unsafe extern "C" fn ts_realloc(p: *mut libc::c_void, size: usize) -> *mut libc::c_void {
    if p.is_null() {
        return ts_malloc(size);
    }
    if !in_arenas(p as *mut u8) {
        return libmimalloc_sys::mi_realloc(p, size);
    }
    let old = c_size(p);
    let block = (p as *mut u8).sub(C_HEADER);
    // The arena's last block (a growing stack or array) grows where it stands.
    if resize_last(block, old + C_HEADER, size + C_HEADER) {
        (block as *mut usize).write(size);
        return p;
    }
    let q = ts_malloc(size);
    if !q.is_null() {
        std::ptr::copy_nonoverlapping(p as *const u8, q as *mut u8, old.min(size));
        release(block, old + C_HEADER);
    }
    q
}

unsafe extern "C" fn ts_free(p: *mut libc::c_void) {
    if p.is_null() {
        return;
    }
    if in_arenas(p as *mut u8) {
        release((p as *mut u8).sub(C_HEADER), c_size(p) + C_HEADER);
    } else {
        libmimalloc_sys::mi_free(p);
    }
}

/// What lives on mimalloc is freed as the run goes (tables outgrown, per-file temporaries):
/// when the allocator hands freed pages back to the OS, later work faults them in again
/// (zeroed by the kernel). When parse
/// trees still lived on mimalloc, keeping freed pages cut the mean run time on the CPython
/// standard library by a sixth. A run is short and its memory is released at exit anyway.
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

/// Runs each file's parse and lowering on the thread's scratch arena, copies what is kept
/// into its kept arena, then rewinds the scratch arena.
///
/// The kept arena packs each thread's models end to end at their exact sizes: the model
/// lives for the whole run and is never freed piecemeal, so it needs no allocator's size
/// classes, headers or free lists, and copying it out is a pointer bump per block.
struct ArenaScratch;

impl perfgate_model::scratch::Scratch for ArenaScratch {
    fn run(&self, work: &mut dyn FnMut(bool), keep: &mut dyn FnMut()) -> bool {
        // A run inside a run gets no arena of its own: what its `keep` copies must outlive
        // it, in the arena the outer run is using, which goes on serving.
        let nested = ARENA.with(|a| a.mode.get() != OFF);
        if nested || !ARENA.with(|a| a.serve(SCRATCH)) {
            work(false);
            keep();
            return false;
        }
        /// Ends the run, on unwinding too. The scratch arena is rewound only when both
        /// closures returned: after a panic, whatever it left (its message, at least) stays
        /// valid, and the arena carries on from above it.
        struct Run {
            mark: usize,
            done: bool,
        }
        impl Drop for Run {
            fn drop(&mut self) {
                ARENA.with(|a| {
                    a.park();
                    if !self.done {
                        return;
                    }
                    a.scratch.next.set(self.mark);
                    let keep_to = (self.mark + KEEP_RESIDENT).next_multiple_of(POPULATE);
                    let populated = a.scratch.populated.get();
                    if populated > keep_to {
                        a.scratch.populated.set(keep_to);
                        // SAFETY: pages of this thread's own scratch arena above what is
                        // kept, none of which is in use once rewound.
                        unsafe {
                            libc::madvise(
                                keep_to as *mut libc::c_void,
                                populated - keep_to,
                                libc::MADV_DONTNEED,
                            );
                        }
                    }
                });
            }
        }
        let mark = ARENA.with(|a| a.next.get());
        let mut run = Run { mark, done: false };
        work(true);
        // What `keep` copies out goes to the kept arena, if models are packed and a slice
        // is left, else to mimalloc.
        ARENA.with(|a| {
            if PACK_MODELS.load(Relaxed) {
                a.serve(KEPT);
            } else {
                a.park();
            }
        });
        keep();
        run.done = true;
        true
    }

    fn outside(&self, f: &mut dyn FnMut()) {
        // Park whichever arena serves (its position is saved), run on mimalloc, and serve
        // it again from where it was, also when `f` unwinds.
        struct Resume(u8);
        impl Drop for Resume {
            fn drop(&mut self) {
                if self.0 != OFF {
                    ARENA.with(|a| a.serve(self.0));
                }
            }
        }
        let _resume = Resume(ARENA.with(|a| {
            let mode = a.mode.get();
            a.park();
            mode
        }));
        f();
    }
}
