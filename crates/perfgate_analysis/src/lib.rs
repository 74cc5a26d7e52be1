//! Analyses over perfgate's program model. Nothing here knows any syntax: it reads
//! [`perfgate_model::Module`]s and the API catalogue.
//!
//! - [`resolve`]: symbol tables, receiver types and call resolution (the call graph);
//! - [`effects`]: what each function can reach (blocking I/O, sleeps, waits, CPU-heavy
//!   work), with the shortest call chain as evidence, computed as a fixpoint over the call
//!   graph that terminates on recursion.

mod csr;
pub mod effects;
pub mod resolve;
mod startup;

use perfgate_catalog::{Api, Catalog, Kind};
use perfgate_model::{Call, Confidence, Function, Name, Path, SourceFile};

pub use effects::{Chain, Effect, Step};
pub use resolve::Target;

/// A function, by file index and function index in that file's module.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FuncId {
    pub file: u32,
    pub func: u32,
}

/// A call site, by its function and call index.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CallId {
    pub func: FuncId,
    pub call: u32,
}

/// What the analysis knows of one call site.
#[derive(Clone, Debug, Default)]
pub struct CallInfo<'c> {
    /// What the call reaches. Library calls the catalogue knows nothing of are `Unknown`:
    /// nothing reads their path, and not storing it keeps the analysis small.
    pub target: Target,
    /// Catalogue facts that apply to this call.
    pub apis: Vec<&'c Api>,
    /// Runs off the executor (inside `spawn_blocking`, `to_thread`, ...).
    pub offloaded: bool,
    /// Never what a production executor runs: only in debug mode
    /// ([`perfgate_model::CallFlags::DEBUG_ONLY`]), or only where no async runtime runs
    /// ([`perfgate_model::CallFlags::OUTSIDE_RUNTIME`]). Its effects are not counted.
    pub not_on_executor: bool,
    /// Part of a concurrent combinator (`join!`, `gather`, a spawned task).
    pub concurrent: bool,
    /// Bounded by a timeout (a wrapper, a per-request or a client-level timeout).
    pub timeout: bool,
    /// Where the call sits, not what is known of it: in a loop, a closure or an async block,
    /// so it may run more than once per call of its function. Kept here so that passes over
    /// the call graph need not read the call itself (a cache miss per call).
    pub repeated: bool,
}

impl<'c> CallInfo<'c> {
    /// Knows nothing: no target, no catalogue fact, no context.
    pub fn is_nothing(&self) -> bool {
        matches!(self.target, Target::Unknown)
            && self.apis.is_empty()
            && !self.offloaded
            && !self.concurrent
            && !self.timeout
    }

    pub fn has_kind(&self, kind: Kind) -> bool {
        self.apis.iter().any(|a| a.kind == kind)
    }

    pub fn api_of(&self, kind: Kind) -> Option<&'c Api> {
        self.apis.iter().find(|a| a.kind == kind).copied()
    }
}

/// The whole-project analysis: call graph and effect summaries.
pub struct Analysis<'p> {
    pub files: &'p [SourceFile],
    pub catalog: &'p Catalog,
    /// Per file, per function: the calls the analysis knows something of, by call index.
    /// Most calls (builtins, methods on unknown values) know nothing; they are not stored.
    calls: Vec<resolve::FileCalls<'p>>,
    index: resolve::Index<'p>,
    pub effects: effects::Summaries,
    /// Per file, per function: runs only at start-up (see [`Analysis::startup_only`]).
    startup: Vec<Vec<bool>>,
    /// Every call with a catalogue fact, by kind, in call order: rules about one kind of
    /// library call look only at those.
    by_kind: rustc_hash::FxHashMap<Kind, Vec<CallId>>,
    /// Per file: the number of the file's first function when functions are numbered
    /// across the project (see [`Analysis::flat`]); one more entry holds the total.
    first_func: Vec<usize>,
    /// By project-wide function number: its [`Shape`] bits. Passes over call edges ask
    /// whether every callee is async, and rules look for functions with loops or handlers:
    /// reading each function's model for that is a cache miss each.
    shapes: Vec<u16>,
    /// See [`Analysis::certain_callers`]; made on first use.
    certain_callers: std::sync::OnceLock<csr::Csr<CallId>>,
}

/// Bits of what a function holds, one `u16` per function in a flat table (see
/// [`Analysis::functions_shaped`]).
pub struct Shape;

impl Shape {
    pub const ASYNC: u16 = 1;
    /// Holds an `async { }` block or an async closure.
    pub const ASYNC_BLOCKS: u16 = 2;
    pub const LOOPS: u16 = 4;
    pub const HANDLERS: u16 = 8;
    pub const LOCKS: u16 = 16;
    /// Two awaits or more.
    pub const AWAITS: u16 = 32;
    /// A method (has an owner type).
    pub const METHOD: u16 = 64;
    /// A test or benchmark ([`perfgate_model::FunctionRole::Test`]).
    pub const TEST: u16 = 128;
    /// Any function: every function has this bit.
    pub const ANY: u16 = 256;
    /// An entry point ([`perfgate_model::FunctionRole::Entry`]: `main`, module-level code)
    /// other than a constructor.
    pub const ENTRY: u16 = 512;

    fn of(f: &Function) -> u16 {
        let mut s = Shape::ANY;
        for (holds, bit) in [
            (f.is_async, Shape::ASYNC),
            (f.async_blocks, Shape::ASYNC_BLOCKS),
            (!f.loops.is_empty(), Shape::LOOPS),
            (!f.handlers.is_empty(), Shape::HANDLERS),
            (!f.locks.is_empty(), Shape::LOCKS),
            (f.awaits.len() >= 2, Shape::AWAITS),
            (f.owner.is_some(), Shape::METHOD),
            (f.role == perfgate_model::FunctionRole::Test, Shape::TEST),
            (
                f.role == perfgate_model::FunctionRole::Entry && f.name != "__init__",
                Shape::ENTRY,
            ),
        ] {
            if holds {
                s |= bit;
            }
        }
        s
    }
}

/// Every call with a catalogue fact, by kind, in (file, function, call) order.
fn calls_by_kind(calls: &[resolve::FileCalls]) -> rustc_hash::FxHashMap<Kind, Vec<CallId>> {
    let mut by_kind: rustc_hash::FxHashMap<Kind, Vec<CallId>> = Default::default();
    for (fi, funcs) in calls.iter().enumerate() {
        for func in 0..funcs.functions() {
            for (call, info) in funcs.of(func as u32) {
                let id = CallId {
                    func: FuncId {
                        file: fi as u32,
                        func: func as u32,
                    },
                    call: *call,
                };
                for api in &info.apis {
                    let v = by_kind.entry(api.kind).or_default();
                    if v.last() != Some(&id) {
                        v.push(id);
                    }
                }
            }
        }
    }
    by_kind
}

impl<'p> Analysis<'p> {
    pub fn new(files: &'p [SourceFile], catalog: &'p Catalog) -> Self {
        let index = resolve::Index::build(files);
        perfgate_model::timings::mark("index");
        let mut calls = resolve::resolve_all(files, catalog, &index);
        resolve::offload_through_helpers(files, &mut calls);
        perfgate_model::timings::mark("resolve");
        let mut a = Analysis {
            files,
            catalog,
            calls,
            index,
            effects: effects::Summaries::default(),
            startup: Vec::new(),
            by_kind: rustc_hash::FxHashMap::default(),
            first_func: std::iter::once(0)
                .chain(files.iter().scan(0, |n, f| {
                    *n += f.module.functions.len();
                    Some(*n)
                }))
                .collect(),
            shapes: {
                use rayon::prelude::*;
                files
                    .par_iter()
                    .flat_map_iter(|f| f.module.functions.iter().map(Shape::of))
                    .collect()
            },
            certain_callers: std::sync::OnceLock::new(),
        };
        // Independent passes over the resolved calls, side by side: start-up and the calls
        // by kind are serial, the effect summaries parallel.
        let ((effects, startup), by_kind) = rayon::join(
            || rayon::join(|| effects::compute(&a), || startup::compute(&a)),
            || calls_by_kind(&a.calls),
        );
        a.by_kind = by_kind;
        a.effects = effects;
        a.startup = startup;
        perfgate_model::timings::mark("effects");
        a
    }

    /// Is this function reached only from entry points (`main`, module-level code), or part
    /// of a schema migration? Then it runs once, at start-up or deploy, and blocking there is
    /// not latency anyone waits on. A function nothing in the project calls is not (outside
    /// migrations): a framework may call it per request.
    /// Calls from tests do not count either way (see `startup::compute`).
    pub fn startup_only(&self, id: FuncId) -> bool {
        self.startup[id.file as usize][id.func as usize]
    }

    /// A function's number across the project, `0..function_count()`: passes over every
    /// function (effects, start-up) keep their tables in flat arrays indexed by it.
    pub(crate) fn flat(&self, id: FuncId) -> usize {
        self.first_func[id.file as usize] + id.func as usize
    }

    /// Is the function async? (As `func(id).is_async`, without reading the function.)
    pub fn is_async(&self, id: FuncId) -> bool {
        self.shapes[self.flat(id)] & Shape::ASYNC != 0
    }

    /// A function's [`Shape`] bits.
    pub fn shape(&self, id: FuncId) -> u16 {
        self.shapes[self.flat(id)]
    }

    /// The functions with any of the [`Shape`] bits in `any` and none of those in `none`,
    /// in (file, function) order, found without reading their models: a rule about loops
    /// or handlers passes over most functions of a project.
    pub fn functions_shaped(&self, any: u16, none: u16) -> impl Iterator<Item = FuncId> + '_ {
        self.files.iter().enumerate().flat_map(move |(fi, f)| {
            let first = self.first_func[fi];
            let shapes = &self.shapes[first..first + f.module.functions.len()];
            shapes
                .iter()
                .enumerate()
                .filter(move |(_, &s)| s & any != 0 && s & none == 0)
                .map(move |(i, _)| FuncId {
                    file: fi as u32,
                    func: i as u32,
                })
        })
    }

    pub(crate) fn function_count(&self) -> usize {
        self.first_func.last().copied().unwrap_or(0)
    }

    pub fn file(&self, id: FuncId) -> &'p SourceFile {
        &self.files[id.file as usize]
    }

    pub fn func(&self, id: FuncId) -> &'p Function {
        &self.files[id.file as usize].module.functions[id.func as usize]
    }

    pub fn call(&self, id: CallId) -> &'p Call {
        &self.func(id.func).calls[id.call as usize]
    }

    /// A call's keyword arguments (Python) with their literal numbers.
    pub fn keywords(&self, id: CallId) -> &'p [(perfgate_model::Name, Option<f64>)] {
        self.func(id.func).keywords(id.call)
    }

    pub fn info(&self, id: CallId) -> &CallInfo<'p> {
        static NOTHING: CallInfo<'static> = CallInfo {
            target: Target::Unknown,
            apis: Vec::new(),
            offloaded: false,
            not_on_executor: false,
            concurrent: false,
            timeout: false,
            repeated: false,
        };
        let known = self.calls[id.func.file as usize].of(id.func.func);
        match known.binary_search_by_key(&id.call, |(c, _)| *c) {
            Ok(i) => &known[i].1,
            Err(_) => &NOTHING,
        }
    }

    /// Every function in the project, in a stable order.
    pub fn functions(&self) -> impl Iterator<Item = FuncId> + '_ {
        self.files.iter().enumerate().flat_map(|(fi, f)| {
            (0..f.module.functions.len()).map(move |i| FuncId {
                file: fi as u32,
                func: i as u32,
            })
        })
    }

    /// The calls, from any function, that certainly reach this synchronous project function
    /// (resolved through declarations, not by name; recursion left out), in (file, function,
    /// call) order. Built once, on first use, for the rules that walk the call graph
    /// backwards.
    pub fn certain_callers(&self, callee: FuncId) -> &[CallId] {
        self.certain_callers
            .get_or_init(|| {
                csr::Csr::build(self.function_count(), || {
                    self.functions().flat_map(move |fid| {
                        self.known_calls(fid)
                            .filter_map(move |(cid, info)| match info.target {
                                Target::Project {
                                    func,
                                    confidence: Confidence::Certain,
                                } if func != fid && !self.is_async(func) => {
                                    Some((self.flat(func), cid))
                                }
                                _ => None,
                            })
                    })
                })
            })
            .of(self.flat(callee))
    }

    /// Every call with a catalogue fact of this kind, in (file, function, call) order.
    pub fn calls_with_kind(&self, kind: Kind) -> &[CallId] {
        self.by_kind.get(&kind).map_or(&[], Vec::as_slice)
    }

    /// The calls of a function that the analysis knows something of (a project target or
    /// a catalogue fact), in call order: what rules about library calls need to look at.
    pub fn known_calls(&self, id: FuncId) -> impl Iterator<Item = (CallId, &CallInfo<'p>)> + '_ {
        self.calls[id.file as usize]
            .of(id.func)
            .iter()
            .map(move |(c, info)| (CallId { func: id, call: *c }, info))
    }

    /// Calls of a function, with their ids.
    pub fn calls_of(&self, id: FuncId) -> impl Iterator<Item = CallId> + '_ {
        (0..self.func(id).calls.len()).map(move |c| CallId {
            func: id,
            call: c as u32,
        })
    }

    /// Does this call run in async context: in an `async fn`/`async def` (closures there
    /// included: iterator adapters run inline) or an async block, and not handed to a
    /// blocking pool, kept in a closure for later, or taken only in debug mode?
    pub fn runs_on_executor(&self, id: CallId) -> bool {
        self.on_executor(id, self.func(id.func), self.call(id), self.info(id))
    }

    /// [`Analysis::runs_on_executor`] for a caller that already holds the function, the
    /// call and what is known of it.
    pub fn on_executor(&self, id: CallId, f: &Function, c: &Call, info: &CallInfo) -> bool {
        (f.is_async || c.ctx.async_block)
            && !info.offloaded
            && !info.not_on_executor
            && !effects::deferred(self, id.func, c)
    }

    /// A readable name for what a call targets, for messages.
    pub fn callee_name(&self, id: CallId) -> String {
        match &self.info(id).target {
            Target::Project { func, .. } => self.func(*func).qualname.to_string(),
            Target::External(p) => {
                let sep = self.file(id.func).module.language.path_sep();
                p.join(sep)
            }
            Target::Unknown => self.callee_text(id),
        }
    }

    /// The call's source, whitespace-normalised (`self.engine.infer(x, y)`), cut at 160
    /// bytes for messages.
    pub fn call_text(&self, id: CallId) -> String {
        self.call_text_upto(id, 160)
    }

    /// The call's source, whitespace-normalised and cut at `max` bytes (`usize::MAX`: whole,
    /// for a test of how it ends).
    pub fn call_text_upto(&self, id: CallId, max: usize) -> String {
        let file = self.file(id.func);
        let text =
            perfgate_model::strip_comments(file.slice(self.call(id).span), file.module.language);
        perfgate_model::normalize_ws(&text, max)
    }

    /// What the call names as its callee, as written (`self.engine.infer`).
    pub fn callee_text(&self, id: CallId) -> String {
        short_text(&self.call_text(id))
    }

    /// The resolved external path of a call, if any.
    pub fn external_path(&self, id: CallId) -> Option<&Path> {
        match &self.info(id).target {
            Target::External(p) => Some(p),
            _ => None,
        }
    }

    /// The type of a receiver inside a function, when declarations say.
    pub fn receiver_type(
        &self,
        id: FuncId,
        recv: &perfgate_model::Receiver,
    ) -> Option<resolve::TypeRef> {
        resolve::receiver_type(self.files, self.catalog, &self.index, id, recv)
    }

    /// A type as written in a file (`HashMap`, `np.ndarray`), resolved through its imports.
    pub fn resolve_type(&self, file: u32, written: &[Name]) -> Option<resolve::TypeRef> {
        resolve::resolve_type(self.files, self.catalog, &self.index, file, written)
    }

    pub fn confidence(&self, id: CallId) -> Confidence {
        match &self.info(id).target {
            Target::Project { confidence, .. } => *confidence,
            _ => Confidence::Certain,
        }
    }
}

/// The callee part of a call's text: `self.engine.infer(x, y)` -> `self.engine.infer`.
pub fn short_text(text: &str) -> String {
    let mut end = perfgate_model::last_group(text).map_or(text.len(), |(open, _)| open);
    // A text cut short (`cl.Message(content="..", elements=[..…`) has no closing bracket to
    // find: its callee is what comes before the first argument list.
    if text.ends_with('…') {
        end = text.find('(').unwrap_or(text.len());
    }
    let head = &text[..end];
    if head.is_empty() {
        text.to_owned()
    } else {
        compact_chain(head.trim_end_matches('!'))
    }
}

/// A receiver chain as a reader scans it: long argument lists (closures, struct literals)
/// become `(..)`, and the line breaks before `.` and `?` go
/// (`File::open(name) .with_context(|_| Error { name })? .read_to_end` ->
/// `File::open(name).with_context(..)?.read_to_end`). Short arguments stay: they say which.
fn compact_chain(head: &str) -> String {
    /// Longer arguments than this are elided.
    const KEEP: usize = 24;
    let bytes = head.as_bytes();
    let mut out = String::with_capacity(head.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'(' || b == b'[' {
            // The matching bracket (the text is the front end's own span: balanced, or cut
            // short, in which case the rest is kept as it is).
            let close = perfgate_model::matching_bracket(head, i);
            // Arguments or an index follow a name or another group; a group that opens
            // the text or follows an operator is an expression (`(a * b).item`): kept.
            let follows_name = i > 0
                && (bytes[i - 1].is_ascii_alphanumeric()
                    || matches!(bytes[i - 1], b'_' | b')' | b']' | b'>' | b'!' | b'?'));
            if let Some(j) = close.filter(|_| follows_name) {
                let inner = &head[i + 1..j];
                if inner.len() > KEEP || inner.contains(['|', '{']) {
                    out.push(b as char);
                    out.push_str("..");
                    out.push(bytes[j] as char);
                } else {
                    out.push_str(&head[i..=j]);
                }
                i = j + 1;
                continue;
            }
        }
        if b == b' ' && matches!(bytes.get(i + 1), Some(b'.' | b'?')) {
            i += 1;
            continue;
        }
        // Copy up to the next byte that matters: multi-byte characters go whole.
        let next =
            head[i..]
                .find(['(', '[', ' '])
                .map_or(bytes.len(), |k| if k == 0 { i + 1 } else { i + k });
        out.push_str(&head[i..next]);
        i = next;
    }
    out
}

#[cfg(test)]
mod tests;
