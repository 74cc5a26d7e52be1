//! Shared by the memory, I/O and algorithmic rules: does a function run per call or once,
//! is a loop hot, what does a receiver chain start from, what does a field hold.

use perfgate_analysis::{Analysis, CallId, FuncId, Step};
use perfgate_catalog::{Api, Kind};
use perfgate_model::{Callee, Function, FunctionRole, Language, Name, Receiver, TripCount};
use rustc_hash::{FxHashMap, FxHashSet};

/// Names of functions whose job is to set things up once: constructors, connectors,
/// framework start-up hooks. Creating clients or loading models there is the fix, not the bug.
/// (Besides these, [`perfgate_model::STARTUP_NAMES`] are entry points, never per call.)
const SETUP_NAMES: &[&str] = &[
    "__init__",
    "__new__",
    "__post_init__",
    "__attrs_post_init__",
    "__enter__",
    "__aenter__",
    "new",
    "default",
    "setUp",
    "setup_method",
    "lifespan",
    "main",
    "run",
    "connect",
    "reconnect",
    "open",
    "init",
    "configure",
];

const SETUP_PREFIXES: &[&str] = &[
    "init_",
    "_init",
    "setup_",
    "_setup",
    "initialize",
    "_initialize",
    "bootstrap",
    "connect_",
    "_connect",
    "warm_up",
    "warmup",
    "_warm",
    "on_startup",
    "get_or_create",
    "serve",
    "_serve",
    "run_server",
    "establish",
];

pub(crate) fn is_setup_name(name: &str) -> bool {
    SETUP_NAMES.contains(&name) || SETUP_PREFIXES.iter().any(|p| name.starts_with(p))
}

/// The loops of a function paced by a wait: a sleep whose innermost loop it is, or a timed
/// wait in its `while` test (`while not stop.wait(interval):`, whatever `stop` is). Such a
/// loop is a periodic job, a poll or a retry: what it does once a round is its work, not a
/// cost per element.
pub(crate) fn paced_loops(a: &Analysis, fid: FuncId) -> Vec<u32> {
    let f = a.func(fid);
    let mut paced: Vec<u32> = a
        .known_calls(fid)
        .filter(|(_, info)| info.has_kind(Kind::AsyncSleep) || info.has_kind(Kind::BlockingSleep))
        .filter_map(|(cid, _)| a.call(cid).ctx.loop_idx())
        .collect();
    for c in f
        .calls
        .iter()
        .filter(|c| c.callee.last_name() == "wait" && c.n_args > 0)
    {
        let test = f.loops.iter().position(|l| {
            l.kind == perfgate_model::LoopKind::While && l.header_span().contains(c.span.start)
        });
        paced.extend(test.map(|li| li as u32));
    }
    paced
}

/// Does this function run on every request, task or call, rather than once? Production
/// code that is not start-up code, not a constructor and does not memoize its result.
pub(crate) fn per_call(a: &Analysis, fid: FuncId) -> bool {
    let f = a.func(fid);
    f.role == FunctionRole::Normal
        && !f.memoized
        && !a.startup_only(fid)
        && !is_setup_name(&f.name)
        && !builds_from_builder(f)
        && !loader_method(f)
}

/// A method of a loader (`GgufLoader`, a `ModelLoader` trait's implementations, a
/// `ConfigLoader`): a type whose job is loading a model, weights or configuration runs when
/// something is loaded, not per request, and what it builds there is what it hands over.
/// Async methods excepted: a GraphQL `DataLoader`'s `load` runs per batch of requests.
fn loader_method(f: &perfgate_model::Function) -> bool {
    !f.is_async && f.owner.as_deref().is_some_and(|o| o.ends_with("Loader"))
}

/// `FooBuilder::build`: the builder pattern's constructor, which makes what the object it
/// returns keeps (its clients, pools, caches).
fn builds_from_builder(f: &perfgate_model::Function) -> bool {
    f.name == "build" && f.owner.as_deref().is_some_and(|o| o.ends_with("Builder"))
}

/// Calls that run their closure once and keep the value: `OnceLock::get_or_init(|| ..)`,
/// `LazyLock::new(|| ..)`, `lazy_static!`, a cache's `get_with(key, init)` (moka).
const LAZY_INIT: &[&str] = &[
    "get_or_init",
    "get_or_try_init",
    "get_with",
    "try_get_with",
    "get_or_insert_with",
    "call_once",
    "lazy_static",
    "thread_local",
    "once_cell",
];

/// Does the function hand back a kept value: memoized (`@lru_cache`, `#[cached]`), or an
/// async function whose only await (outside the initialiser it hands over) is on a lazy
/// initialiser or cache lookup (`Box::pin(CACHE.try_get_with(k, init)).await`)? Awaiting
/// it is usually immediate.
pub(crate) fn returns_cached(f: &Function) -> bool {
    if f.memoized {
        return true;
    }
    let lazy: Vec<u32> = (0..f.calls.len() as u32)
        .filter(|&i| LAZY_INIT.contains(&f.calls[i as usize].callee.last_name()))
        .collect();
    if lazy.is_empty() {
        return false;
    }
    // The await is on a lazy call, or on a call that holds one (`Box::pin(..)`).
    let holds_lazy = |call: u32| {
        lazy.iter().any(|&l| {
            l == call
                || f.enclosing_calls(f.calls[l as usize].ctx)
                    .any(|p| p == call)
        })
    };
    let mut top = f
        .awaits
        .iter()
        .filter(|aw| !aw.ctx.in_closure && !aw.ctx.async_block)
        .peekable();
    top.peek().is_some() && top.all(|aw| aw.call.is_some_and(holds_lazy))
}

/// Is the call inside a lazy initialiser (or a `static` built with `Lazy::new`)?
pub(crate) fn in_lazy_init(f: &Function, call: u32) -> bool {
    f.enclosing_calls(f.calls[call as usize].ctx).any(|p| {
        let c = &f.calls[p as usize];
        let name = match &c.callee {
            Callee::Method { name, .. } => Some(name.as_str()),
            Callee::Path(path) => {
                let n = path.len();
                let last = path.last().map(|s| s.as_str());
                // `Lazy::new(|| ..)`, `LazyLock::new(|| ..)`
                if n >= 2 && last == Some("new") && path[n - 2].contains("Lazy") {
                    return true;
                }
                last
            }
            Callee::Unknown => None,
        };
        name.is_some_and(|n| LAZY_INIT.contains(&n))
    })
}

/// A loop is hot when it may run many times: anything but a small constant trip count or
/// a walk over a table named as a constant.
pub(crate) fn loop_is_hot(f: &Function, idx: u32) -> bool {
    hot_loop(f, idx).is_some()
}

/// The loop that makes work in loop `idx` hot: `idx` itself or the innermost loop around
/// it that may run many times (`for i in range(layers)` around `for key in ["a", "b"]`).
pub(crate) fn hot_loop(f: &Function, idx: u32) -> Option<u32> {
    let mut cur = Some(idx);
    while let Some(i) = cur {
        let l = &f.loops[i as usize];
        match l.trip {
            TripCount::Const(n) if n <= 16 => {}
            // `for name, url in ENDPOINTS`: a table written in the code, not data.
            _ if l.over_constant_table() => {}
            _ => return Some(i),
        }
        cur = l.parent;
    }
    None
}

/// Is the call run on every iteration of its innermost loop, not inside a branch, match
/// arm or handler within it?
pub(crate) fn unconditional_in_loop(a: &Analysis, id: CallId) -> bool {
    let f = a.func(id.func);
    let c = a.call(id);
    let Some(li) = c.ctx.loop_idx() else {
        return false;
    };
    let lspan = f.loops[li as usize].span;
    let mut b = Some(c.ctx.block);
    while let Some(bi) = b {
        let block = &f.blocks[bi as usize];
        if !lspan.encloses(block.span) || block.span == lspan {
            break;
        }
        if block.conditional {
            return false;
        }
        b = block.parent;
    }
    true
}

/// Method calls that pass their receiver's identity through: `self.cache.lock().unwrap()`
/// is still `self.cache`.
const PASS_THROUGH: &[&str] = &[
    "lock",
    "read",
    "write",
    "unwrap",
    "expect",
    "borrow",
    "borrow_mut",
    "get_mut",
    "as_mut",
    "as_ref",
    "deref",
    "deref_mut",
    "blocking_lock",
    "try_lock",
    "await",
    "entry",
    "iter",
    "iter_mut",
    "as_slice",
];

/// What a receiver is rooted at, looking through lock/unwrap chains and locals bound to
/// them (`let mut g = self.cache.lock().unwrap(); g.insert(..)` acts on `self.cache`).
pub(crate) fn root_of<'f>(f: &'f Function, recv: &'f Receiver, at: u32) -> &'f Receiver {
    let mut cur = recv;
    for _ in 0..16 {
        let call = match cur {
            Receiver::CallResult(c) => Some(*c),
            Receiver::Local(name) => f.local_before(name, at).and_then(|b| b.init_call),
            _ => None,
        };
        let Some(c) = call else { return cur };
        match &f.calls[c as usize].callee {
            Callee::Method { recv, .. } if passes_through(&f.calls[c as usize]) => cur = recv,
            _ => return cur,
        }
    }
    cur
}

/// A method call that hands back (a view of) its receiver: `root_of` looks through it.
pub(crate) fn passes_through(c: &perfgate_model::Call) -> bool {
    matches!(&c.callee, Callee::Method { name, .. } if PASS_THROUGH.contains(&name.as_str()))
}

/// The method name and root receiver of a method call.
pub(crate) fn method_on(f: &Function, call: u32) -> Option<(&str, &Receiver)> {
    let c = &f.calls[call as usize];
    match &c.callee {
        Callee::Method { recv, name } => Some((name.as_str(), root_of(f, recv, c.span.start))),
        _ => None,
    }
}

/// Catalogue kinds of a type as written in a file.
pub(crate) fn type_kinds<'c>(a: &Analysis<'c>, file: u32, written: &[Name]) -> Vec<&'c Api> {
    let lang = a.files[file as usize].module.language;
    match a.resolve_type(file, written) {
        Some(perfgate_analysis::resolve::TypeRef::External(p)) => {
            let mut v: Vec<&Api> = a.catalog.by_path(lang, &p).collect();
            if v.is_empty() {
                v = a.catalog.by_path(lang, written).collect();
            }
            v
        }
        _ => Vec::new(),
    }
}

/// The functions reachable from each function through the project's sync call graph that
/// contain a matching call: for each function, the first step towards one. A breadth-first
/// search over reversed edges, so each function keeps its shortest chain; linear in the
/// number of call edges.
pub(crate) struct Reach {
    /// Per function: the call to follow (a matching call itself, or a call into a function
    /// that reaches one).
    next: FxHashMap<FuncId, (u32, Option<FuncId>)>,
}

impl Reach {
    /// `seeds`: the calls searched for; `follow`: which calls into a helper carry what the
    /// helper reaches back to its caller.
    pub(crate) fn compute(
        a: &Analysis,
        seeds: impl IntoIterator<Item = CallId>,
        follow: impl Fn(CallId) -> bool,
    ) -> Reach {
        let mut next: FxHashMap<FuncId, (u32, Option<FuncId>)> = FxHashMap::default();
        let mut queue = std::collections::VecDeque::new();
        // What a lazily built singleton's set-up does (`if not self.started:`, `if _client
        // is None:`) happens on the first call in the process, not on every call.
        let once = |cid: CallId| a.func(cid.func).runs_once_at(a.call(cid).ctx.block);
        for cid in seeds {
            if once(cid) {
                continue;
            }
            if let std::collections::hash_map::Entry::Vacant(e) = next.entry(cid.func) {
                e.insert((cid.call, None));
                queue.push_back(cid.func);
            }
        }
        // Nothing matches anywhere (the common case for most projects): no graph to build.
        if queue.is_empty() {
            return Reach { next };
        }
        while let Some(g) = queue.pop_front() {
            for &cid in a.certain_callers(g) {
                let f = cid.func;
                if next.contains_key(&f) || !follow(cid) {
                    continue;
                }
                let c = a.call(cid);
                // Work handed to another thread or task does not run here.
                if a.info(cid).offloaded || c.ctx.in_closure || once(cid) {
                    continue;
                }
                next.insert(f, (cid.call, Some(g)));
                queue.push_back(f);
            }
        }
        Reach { next }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.next.is_empty()
    }

    pub(crate) fn reaches(&self, func: FuncId) -> bool {
        self.next.contains_key(&func)
    }

    /// The matching call that `func` reaches, at the end of its chain.
    pub(crate) fn root(&self, func: FuncId) -> Option<CallId> {
        let mut cur = func;
        // A chain visits each function once: as many steps as functions at most.
        for _ in 0..=self.next.len() {
            match *self.next.get(&cur)? {
                (call, None) => return Some(CallId { func: cur, call }),
                (_, Some(g)) => cur = g,
            }
        }
        None
    }

    /// The chain of steps from `func` down to the matching call; the last step is noted
    /// with the catalogue's note for `kind`.
    pub(crate) fn chain(
        &self,
        a: &Analysis,
        func: FuncId,
        max: usize,
        kind: Kind,
    ) -> Option<Vec<Step>> {
        let mut out = Vec::new();
        let mut seen = FxHashSet::default();
        let mut cur = func;
        loop {
            if !seen.insert(cur) || out.len() > max {
                return None;
            }
            let &(call, then) = self.next.get(&cur)?;
            let c = &a.func(cur).calls[call as usize];
            out.push(Step {
                func: cur,
                span: c.span,
                call: Some(call),
                note: {
                    let id = CallId { func: cur, call };
                    let name = short_name(a, id);
                    let info = a.info(id);
                    let note = info
                        .api_of(kind)
                        .and_then(|x| x.note.as_deref())
                        .or_else(|| info.apis.iter().find_map(|x| x.note.as_deref()));
                    match note {
                        Some(n) if then.is_none() => format!("`{name}`: {n}"),
                        _ => format!("`{name}`"),
                    }
                },
            });
            match then {
                Some(g) => cur = g,
                None => return Some(out),
            }
        }
    }
}

/// The step for a call, noted with its callee.
pub(crate) fn step(a: &Analysis, id: CallId, note: String) -> Step {
    Step {
        func: id.func,
        span: a.call(id).span,
        call: Some(id.call),
        note,
    }
}

/// Does the module import any of these top-level packages (`torch`, `tch`)?
pub(crate) fn imports_any(a: &Analysis, file: u32, roots: &[&str]) -> bool {
    a.files[file as usize]
        .module
        .imports
        .iter()
        .any(|i| i.path.first().is_some_and(|r| roots.contains(&r.as_str())))
}

pub(crate) fn lang_of(a: &Analysis, fid: FuncId) -> Language {
    a.file(fid).module.language
}

/// What a field of a type holds, as far as declarations and constructors say.
pub(crate) struct FieldFacts<'c> {
    /// Catalogue facts of its declared type, the type inside its lock or cell wrapper, or
    /// the call that initialises it.
    pub apis: Vec<&'c Api>,
    /// The initialising call, when it is one (`deque(maxlen=100)`).
    pub init: Option<CallId>,
    /// Where the field is declared or first assigned.
    pub decl: Option<(FuncId, perfgate_model::Span)>,
    /// Declared behind a shared pointer or a reference (`Arc<Vec<f32>>`, `&'a [u8]`):
    /// cloning it copies a pointer.
    pub cheap_clone: bool,
}

/// Look up a field of `owner` (a type of the language of `file`): its declaration
/// (Rust structs, Python class attributes) and the constructor call that initialises it
/// (`self.cache = {}` / `self.buf = np.zeros(..)` in any method of the class).
pub(crate) fn field_facts<'c>(
    a: &Analysis<'c>,
    file: u32,
    owner: &str,
    field: &str,
) -> FieldFacts<'c> {
    let lang = a.files[file as usize].module.language;
    let mut facts = FieldFacts {
        apis: Vec::new(),
        init: None,
        decl: None,
        cheap_clone: false,
    };
    // Declared field types: same file first, then any file of the language.
    let files = std::iter::once(file as usize).chain(
        (0..a.files.len())
            .filter(move |&i| i != file as usize && a.files[i].module.language == lang),
    );
    'files: for fi in files {
        for t in &a.files[fi].module.types {
            if t.name != owner {
                continue;
            }
            if let Some((bi, b)) = t.fields.iter().enumerate().find(|(_, b)| b.name == field) {
                let text = a.files[fi].slice(b.span);
                let ty_text = text.split_once(':').map_or("", |(_, t)| t).trim_start();
                facts.cheap_clone = [
                    "Arc<",
                    "Rc<",
                    "std::sync::Arc<",
                    "std::rc::Rc<",
                    "&",
                    "Option<Arc<",
                    "Option<Rc<",
                ]
                .iter()
                .any(|p| ty_text.starts_with(p));
                let inner = t
                    .inner
                    .iter()
                    .find(|(i, _)| *i == bi as u32)
                    .map(|(_, p)| p);
                for ty in [inner, b.ty.as_ref()].into_iter().flatten() {
                    facts.apis.extend(type_kinds(a, fi as u32, ty));
                }
                break 'files;
            }
        }
    }
    // Python: the method that assigns `self.<field>` and what it assigns.
    if lang == Language::Python {
        let key = format!("self.{field}");
        let module = &a.files[file as usize].module;
        for (i, f) in module.functions.iter().enumerate() {
            if f.owner.as_deref() != Some(owner) {
                continue;
            }
            if let Some(b) = f.locals.iter().find(|b| b.name == key) {
                let fid = FuncId {
                    file,
                    func: i as u32,
                };
                if facts.decl.is_none() {
                    facts.decl = Some((fid, b.span));
                }
                if let Some(c) = b.init_call {
                    let cid = CallId { func: fid, call: c };
                    facts.apis.extend(a.info(cid).apis.iter().copied());
                    facts.init.get_or_insert(cid);
                }
                if let Some(ty) = &b.ty {
                    facts.apis.extend(type_kinds(a, file, ty));
                }
                if f.name == "__init__" {
                    break;
                }
            }
        }
    }
    facts
}

pub(crate) fn has_kind(apis: &[&Api], kind: Kind) -> bool {
    apis.iter().any(|x| x.kind == kind)
}

/// A call's callee, shortened for messages: a chain longer than 60 characters keeps its
/// first call and its last name (`std::fs::File::options().create(true)...open` becomes
/// `std::fs::File::options()….open`); arguments are already elided as
/// [`perfgate_analysis::short_text`] elides them.
pub(crate) fn short_name(a: &Analysis, id: CallId) -> String {
    const LONGEST: usize = 60;
    let text: String = a.callee_text(id).split_whitespace().collect();
    if text.chars().count() <= LONGEST {
        return text;
    }
    // The first call's argument list, whole.
    let first_call_end = text
        .find('(')
        .and_then(|open| perfgate_model::matching_bracket(&text, open))
        .map(|close| close + 1);
    match (first_call_end, text.rfind('.')) {
        (Some(end), Some(dot)) if dot > end => format!("{}…{}", &text[..end], &text[dot..]),
        _ => text,
    }
}

/// Is the sleep's one argument a literal zero (`asyncio.sleep(0)`, `time.sleep(0.0)`)? Such
/// a sleep yields the thread or the event loop and waits for nothing.
pub(crate) fn sleeps_zero(text: &str) -> bool {
    let Some((_, args)) = text.split_once('(') else {
        return false;
    };
    let arg = args.trim_end().trim_end_matches(')').trim();
    !arg.is_empty() && arg.parse::<f64>().is_ok_and(|x| x == 0.0)
}
