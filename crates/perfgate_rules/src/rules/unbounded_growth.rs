//! `unbounded-growth`: a collection held by a long-lived object that only ever grows.

use super::scope;
use crate::checker::Draft;
use crate::{Checker, RuleMeta};
use perfgate_analysis::{Analysis, CallId, FuncId, Shape, Step, Target};
use perfgate_catalog::Kind;
use perfgate_model::{
    CallFlags, Callee, Category, Confidence, Finding, Language, MutOp, Receiver, Severity, Span,
};
use rayon::prelude::*;
use rustc_hash::FxHashMap;

pub struct Rule;

pub static META: RuleMeta = RuleMeta {
    id: "unbounded-growth",
    category: Category::Memory,
    severity: Severity::High,
    languages: &[Language::Rust, Language::Python],
    summary: "collections held by long-lived objects that only ever grow (caches without eviction, histories without a bound)",
    doc: r#"## What it does
Finds collections (`HashMap`, `Vec`, `VecDeque`, `HashSet`, `BTreeMap`, `DashMap`; `dict`,
`list`, `set`, `defaultdict`, `OrderedDict`, `deque` without `maxlen`) held by a
long-lived owner — a struct or class field of a service-like type (one with async
methods, or named `*Service`, `*Server`, `*Manager`, `*Cache`, `*Engine`, `*Pipeline`, ...),
or a module-level collection named like a cache (`_cache`, `SEEN`, `history`) and grown
from async code — that some method adds to
(`insert`, `push`, `entry`, `append`, `add`, `update`, `self.cache[k] = v`) while no code
removes from it, clears it, replaces it or checks its size where it grows. Tests count for
neither: a collection that only a test clears still grows without end where it serves.

Not reported: bounded types (`lru::LruCache`, `moka`, `cachetools`, `deque(maxlen=...)`,
`functools.lru_cache`), collections that some method shrinks (`remove`, `pop`, `clear`,
`retain`, `truncate`, `del`, reassignment) or that the growing method measures
(`len(self.cache) > MAX`), collections handed to other project functions (they may evict),
growth in constructors only, and collections local to one call. A Python class whose every
instance is made per call is short-lived whatever its name: each place that calls its
constructor (tests aside) binds it to a local or uses it at once, keeping and returning
nothing, outside start-up code, or keeps it on another object in that class's `__init__`,
and that class is made per call too (a `BulkImportService` made for one request, the
`SchemaRegistry` of a context built per schema build); a factory that returns the instance
(`return cls(..)` in a classmethod) passes the question on to its own callers. Nor is a
collection grown only by a signal handler (`signal.signal(sig, self.handle_exit)`): it
grows once per signal the process receives; nor a map keyed by a type
(`rings.entry(TypeId::of::<E>())`): one entry per type the program names; nor what a
decorator registers (`@server.api(name="echo")`: a method that returns the function it was
given or the wrapper it defines): one entry per function the program decorates.

## Why is this bad?
A cache without eviction is a memory leak with a delay: every distinct key stays for the
life of the process, so memory grows with traffic until the process is killed or swaps.
Histories and per-request logs kept "for debugging" do the same.

## Example
```python
class EmbeddingService:
    def __init__(self):
        self.cache = {}

    async def embed(self, text):
        if text not in self.cache:
            self.cache[text] = await self.model.encode(text)
        return self.cache[text]
```

## Use instead
```python
class EmbeddingService:
    def __init__(self):
        self.cache = cachetools.LRUCache(maxsize=10_000)
```
In Rust use `lru::LruCache` or `moka::sync::Cache` with a capacity, or evict by size or
age where you insert.
"#,
};

/// Methods that add to a collection (also read by `quadratic-loop`).
pub(crate) const GROW: &[&str] = &[
    "append",
    "appendleft",
    "add",
    "insert",
    "extend",
    "update",
    "setdefault",
    "push",
    "push_back",
    "push_front",
    "entry",
    "extend_from_slice",
];
const SHRINK: &[&str] = &[
    "pop",
    "popitem",
    "popleft",
    "remove",
    "discard",
    "clear",
    "retain",
    "truncate",
    "drain",
    "split_off",
    "swap_remove",
    "remove_entry",
    "pop_front",
    "pop_back",
    "pop_first",
    "pop_last",
    "take",
    "extract_if",
    "drain_filter",
    "shrink_to",
    "difference_update",
    "intersection_update",
    "rotate",
];
const MEASURE: &[&str] = &["len", "is_empty", "__len__"];

/// The three lists as one map: looked up for every method call in the project.
static OPS: std::sync::LazyLock<FxHashMap<&'static str, MutOp>> = std::sync::LazyLock::new(|| {
    let mut m = FxHashMap::default();
    for (names, op) in [
        (MEASURE, MutOp::Measure),
        (SHRINK, MutOp::Remove),
        (GROW, MutOp::Insert),
    ] {
        for n in names {
            m.insert(*n, op);
        }
    }
    m
});

/// Owners that live as long as the process and hold data that arrives with traffic.
/// (Clients, routers and handlers also live long, but what they keep is usually keyed by
/// endpoint or route: bounded by the code, not by traffic.)
const LONG_LIVED: &[&str] = &[
    "Service",
    "Server",
    "Manager",
    "Cache",
    "Pool",
    "Engine",
    "Registry",
    "Store",
    "Pipeline",
    "Worker",
    "Scheduler",
    "Tracker",
    "Monitor",
    "Coordinator",
    "Broker",
    "Daemon",
    "Agent",
    "Orchestrator",
    "Runtime",
    "Gateway",
    "Repository",
    "Queue",
];
const CACHE_LIKE: &[&str] = &["cache", "memo", "history", "seen", "visited", "lookup"];

#[derive(Default)]
struct Uses {
    grows: Vec<(FuncId, Span)>,
    shrinks: bool,
    /// Functions that measure it (a size check where it grows bounds it).
    measured_in: Vec<FuncId>,
}

/// A collection: a field of an owner type, or a module global (owner `None`).
type Key<'a> = (u32, Option<&'a str>, &'a str);

/// What is done to each collection.
type Table<'a> = FxHashMap<Key<'a>, Uses>;

fn scan_file<'a>(a: &Analysis<'a>, mut uses: Table<'a>, file: usize) -> Table<'a> {
    for func in 0..a.files[file].module.functions.len() {
        let fid = FuncId {
            file: file as u32,
            func: func as u32,
        };
        // Tests neither grow a collection in production nor bound it: one cleared only by a
        // test still grows without end where it serves.
        if a.shape(fid) & Shape::TEST == 0 {
            scan(a, fid, &mut uses);
        }
    }
    uses
}

/// One table of two, the smaller merged into the larger.
fn merge<'a>(a: Table<'a>, b: Table<'a>) -> Table<'a> {
    let (mut into, from) = if a.len() < b.len() { (b, a) } else { (a, b) };
    into.reserve(from.len());
    for (k, u) in from {
        let e = into.entry(k).or_default();
        e.grows.extend(u.grows);
        e.shrinks |= u.shrinks;
        e.measured_in.extend(u.measured_in);
    }
    into
}

impl crate::Rule for Rule {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Checker, out: &mut Vec<Finding>) {
        let a = cx.a;
        // Every call of every function is looked at: files are scanned in parallel, into one
        // table per run of files (not one per file, all alive at once: on the CPython
        // standard library that was a third of this rule's time, in fresh pages). What is
        // reported does not depend on the order the tables merge in: growth sites are
        // ordered below, the rest are flags and sets.
        // A few runs per thread: each run's table is merged (rehashed) into another.
        let run = a
            .files
            .len()
            .div_ceil(4 * rayon::current_num_threads())
            .max(1);
        let uses: Table = (0..a.files.len())
            .into_par_iter()
            .with_min_len(run)
            .fold(Table::default, |uses, file| scan_file(a, uses, file))
            .reduce(Table::default, merge);
        let mut keys: Vec<&Key> = uses.keys().collect();
        keys.sort();
        for key in keys {
            let u = &uses[key];
            if u.shrinks {
                continue;
            }
            let (file, owner, name) = key;
            // Growth outside set-up code; a size check where it grows bounds it.
            let grows: Vec<&(FuncId, Span)> = u
                .grows
                .iter()
                .filter(|(g, _)| {
                    let gf = a.func(*g);
                    gf.role == perfgate_model::FunctionRole::Normal
                        && !scope::is_setup_name(&gf.name)
                        && !is_registration(&gf.name)
                        && !gf.decorator
                        && !a.startup_only(*g)
                })
                .collect();
            if grows.is_empty() || grows.iter().any(|(g, _)| u.measured_in.contains(g)) {
                continue;
            }
            // Grown only by signal handlers: once per signal the process receives.
            if grows.iter().all(|(g, _)| signal_handler(a, *g)) {
                continue;
            }
            // Keyed by a type (`events.entry(TypeId::of::<E>())`): one entry per type the
            // program names, however often it runs.
            if grows.iter().all(|(g, span)| keyed_by_type(a, *g, *span)) {
                continue;
            }
            let &&(gfid, gspan) = grows
                .iter()
                .min_by_key(|(g, s)| (*g, s.start, s.end))
                .expect("non-empty");
            let lang = scope::lang_of(a, gfid);
            let cache_like = CACHE_LIKE
                .iter()
                .any(|c| name.to_ascii_lowercase().contains(c));
            let (facts, owner_text) = match owner {
                Some(o) => {
                    let long_lived = LONG_LIVED.iter().any(|s| o.ends_with(s));
                    // A cache in a short-lived object dies with it: by its name, or (a Python
                    // class) by where every instance is made.
                    if !long_lived
                        || (lang == Language::Python && made_per_call(a, o, gfid.file, 0))
                    {
                        continue;
                    }
                    (
                        scope::field_facts(a, gfid.file, o, name),
                        format!("`{o}.{name}`"),
                    )
                }
                None => {
                    // Grown per request (async code), not memoizing a handful of types.
                    if !cache_like || !a.is_async(gfid) {
                        continue;
                    }
                    (
                        global_facts(a, *file, name),
                        format!("module-level `{name}`"),
                    )
                }
            };
            // Shared through `Arc` clones: another owner (a clean-up task) may evict through
            // its clone. Assume so when the file shrinks any collection.
            if facts.cheap_clone && file_shrinks_something(a, gfid.file) {
                continue;
            }
            if !scope::has_kind(&facts.apis, Kind::Collection)
                || scope::has_kind(&facts.apis, Kind::BoundedCollection)
                || bounded_by_init(a, facts.init)
            {
                continue;
            }
            if owner.is_some() && aliased(a, gfid.file, owner.as_deref(), name) {
                continue;
            }
            let gf = a.func(gfid);
            let mut trace = Vec::new();
            if let Some((dfid, dspan)) = facts.decl {
                trace.push(Step {
                    func: dfid,
                    span: dspan,
                    call: None,
                    note: format!("{owner_text} is created here"),
                });
            }
            trace.push(Step {
                func: gfid,
                span: gspan,
                call: None,
                note: format!(
                    "`{}` adds to it; nothing removes from it, clears it or bounds it",
                    gf.qualname
                ),
            });
            let fix = match lang {
                Language::Rust => "use a bounded cache (`lru::LruCache`, `moka::sync::Cache` with a capacity) or evict by size or age where you insert",
                Language::Python => "use a bounded cache (`cachetools.LRUCache`/`TTLCache`, `functools.lru_cache(maxsize=...)`, `deque(maxlen=...)`) or evict where you insert",
            };
            cx.emit(
                Draft {
                    meta: &META,
                    func: gfid,
                    span: gspan,
                    message: format!(
                        "{owner_text} only grows: `{}` adds to it and no code removes entries, clears it or bounds its size",
                        gf.qualname
                    ),
                    impact: "memory grows with every distinct key or event for the life of the process, until it is killed or swaps".into(),
                    fix: fix.into(),
                    trace,
                    confidence: Confidence::Certain,
                },
                out,
            );
        }
    }
}

/// The collection a receiver names: a field of the function's owner, or a Python module
/// global. Rust impls may live in another file than the struct: fields are keyed by owner
/// name and language there, not file.
fn key_of<'a>(
    f: &'a perfgate_model::Function,
    lang: Language,
    fid: FuncId,
    target: &'a Receiver,
) -> Option<Key<'a>> {
    let file = if lang == Language::Rust {
        u32::MAX
    } else {
        fid.file
    };
    match target {
        Receiver::SelfField(x) => Some((file, Some(f.owner.as_deref()?), x.as_str())),
        Receiver::Path(p) if p.len() == 1 && lang == Language::Python => {
            Some((fid.file, None, p[0].as_str()))
        }
        _ => None,
    }
}

/// Is every instance of the Python class `owner` (declared in `file`) made in a call that
/// serves, and dropped with it? Each place its constructor is called (tests aside) binds it
/// to a local or uses it at once, neither returning nor keeping it, in a function that is
/// not start-up code (what `main` or a module builds lives as long as the process); or keeps
/// it on another object in that object's `__init__`, and that class is made per call too.
/// litestar builds an `OpenAPIContext` per schema build and keeps its `SchemaRegistry` on it:
/// the registry's maps grow with one build's types and go with it. Not known without a
/// constructor of the class's own, or with no place that makes one.
fn made_per_call(a: &Analysis, owner: &str, file: u32, depth: u32) -> bool {
    made_per_call_in(a, owner, file, depth, &mut FxHashMap::default())
}

/// [`made_per_call`], with what is known of each maker so far (a maker being looked at
/// counts as dying with its callers, which ends a cycle of factories).
fn made_per_call_in(
    a: &Analysis,
    owner: &str,
    file: u32,
    depth: u32,
    seen: &mut FxHashMap<FuncId, bool>,
) -> bool {
    let Some(init) = a.files[file as usize]
        .module
        .functions
        .iter()
        .position(|f| f.owner.as_deref() == Some(owner) && f.name == "__init__")
    else {
        return false;
    };
    let init = FuncId {
        file,
        func: init as u32,
    };
    dies_with_callers(a, init, depth, seen)
}

/// Does every value `maker` (a constructor, or a factory that returns what one made) makes
/// die with the call that asked for it? See [`made_per_call`]: a factory's value
/// (`return cls(..)`) lives as long as its callers keep it.
fn dies_with_callers(
    a: &Analysis,
    maker: FuncId,
    depth: u32,
    seen: &mut FxHashMap<FuncId, bool>,
) -> bool {
    if let Some(&known) = seen.get(&maker) {
        return known;
    }
    if depth > 8 {
        return false;
    }
    seen.insert(maker, true);
    let sites: Vec<CallId> = a
        .certain_callers(maker)
        .iter()
        .copied()
        .filter(|site| a.shape(site.func) & Shape::TEST == 0)
        .collect();
    let dies = !sites.is_empty()
        && sites.iter().all(|&site| {
            let f = a.func(site.func);
            // Constructors are entry points of their own in the model, not start-up code.
            let entry = f.role == perfgate_model::FunctionRole::Entry && f.name != "__init__";
            if entry || a.startup_only(site.func) {
                return false;
            }
            let c = a.call(site);
            if !c.has(CallFlags::RETURNED) && !c.has(CallFlags::STORED) {
                return true;
            }
            // `self.registry = Registry()` in another class's constructor.
            let on_self = f
                .locals
                .iter()
                .any(|b| b.init_call == Some(site.call) && b.name.starts_with("self."));
            match (&f.owner, on_self && f.name == "__init__") {
                (Some(holder), true) => {
                    made_per_call_in(a, holder, site.func.file, depth + 1, seen)
                }
                // Returned and not kept: a factory's (`return cls(..)`), its callers' to keep.
                _ if !c.has(CallFlags::STORED) => dies_with_callers(a, site.func, depth + 1, seen),
                _ => false,
            }
        });
    seen.insert(maker, dies);
    dies
}

/// Is the growth at `span` keyed by a type id (`insert(TypeId::of::<T>(), v)`)? Read from
/// the source text, only for collections that would otherwise be reported.
fn keyed_by_type(a: &Analysis, g: FuncId, span: Span) -> bool {
    let text = a.file(g).slice(span);
    let Some((open, close)) = perfgate_model::last_group(text) else {
        return false;
    };
    perfgate_model::split_top_level(&text[open + 1..close])
        .next()
        .is_some_and(|k| {
            let k = k.trim();
            k.starts_with("TypeId::of") || k.starts_with("std::any::TypeId::of")
        })
}

/// Is the method installed as a signal handler in its file (`signal.signal(sig,
/// self.handle_exit)`, `loop.add_signal_handler(sig, self.on_signal)`)? It runs once per
/// signal the process receives: what it collects is bounded by signals, not by traffic.
/// Read from the source text, only for collections that would otherwise be reported.
fn signal_handler(a: &Analysis, g: FuncId) -> bool {
    let f = a.func(g);
    if f.owner.is_none() {
        return false;
    }
    let text = a.file(g).text();
    // Most files install no handler: one fast scan says so.
    if memchr::memmem::find(text.as_bytes(), b"signal").is_none() {
        return false;
    }
    let method = format!("self.{}", f.name);
    ["signal.signal(", "add_signal_handler("]
        .iter()
        .any(|install| {
            text.match_indices(install).any(|(at, m)| {
                let open = at + m.len() - 1;
                let Some(close) = perfgate_model::matching_bracket(text, open) else {
                    return false;
                };
                let args = &text[open..close];
                args.match_indices(&method).any(|(i, _)| {
                    !args[i + method.len()..].starts_with(|c: char| c.is_alphanumeric() || c == '_')
                })
            })
        })
}

/// Registration APIs grow with the program's configuration (handlers, routes, checks,
/// listeners), not with its traffic.
fn is_registration(name: &str) -> bool {
    let n = name.trim_start_matches('_');
    [
        "add_",
        "register",
        "set_",
        "install",
        "attach",
        "subscribe",
        "bind",
        "mount",
        "include",
        "launch",
        "load",
        "copy_",
        "use_",
        "on_",
        "with_",
        "from_",
        "parse",
        "_from",
    ]
    .iter()
    .any(|p| n.starts_with(p))
        || matches!(
            n,
            "add" | "on" | "use" | "route" | "command" | "listen" | "listener"
        )
}

/// Is the field reached other than through `self.field.method(..)`: aliased into a local
/// (`l = self._checks if once else self._other`; `let v = &mut self.items`), or a bound
/// method handed out as a callback (`task.add_done_callback(self._tasks.discard)`)? Then
/// removals may happen through the alias. Read from the owner's source, only for the few
/// fields that would otherwise be reported.
fn aliased(a: &Analysis, file: u32, owner: Option<&str>, field: &str) -> bool {
    let Some(owner) = owner else { return false };
    let lang = a.files[file as usize].module.language;
    let needle = format!("self.{field}");
    for (fi, f) in a.files.iter().enumerate() {
        if f.module.language != lang || (lang == Language::Python && fi as u32 != file) {
            continue;
        }
        if !f
            .module
            .functions
            .iter()
            .any(|x| x.owner.as_deref() == Some(owner))
        {
            continue;
        }
        for func in f
            .module
            .functions
            .iter()
            .filter(|x| x.owner.as_deref() == Some(owner))
        {
            let body = f.slice(func.span);
            let mut from = 0;
            while let Some(pos) = body[from..].find(&needle) {
                let at = from + pos;
                from = at + needle.len();
                let after = &body[from..];
                // `self.cache_size` is another field.
                if after.starts_with(|c: char| c.is_alphanumeric() || c == '_') {
                    continue;
                }
                let before = body[..at].trim_end();
                let assigned =
                    (before.ends_with('=') && !before.ends_with("==") && !before.ends_with("!="))
                        || before.ends_with("else")
                        || before.ends_with("&mut")
                        || before.ends_with("return");
                let method_ref = after.starts_with('.') && {
                    let m: String = after[1..]
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect();
                    SHRINK.contains(&m.as_str()) && !after[1 + m.len()..].starts_with('(')
                };
                // The whole collection, not an element or a method call on it.
                let whole = !after.starts_with(['[', '.']);
                if (assigned && whole) || method_ref {
                    return true;
                }
            }
        }
    }
    false
}

fn file_shrinks_something(a: &Analysis, file: u32) -> bool {
    let text = a.files[file as usize].text();
    SHRINK.iter().any(|m| text.contains(&format!(".{m}(")))
}

/// A module-level collection: its binding in the module's top-level code.
fn global_facts<'c>(a: &Analysis<'c>, file: u32, name: &str) -> scope::FieldFacts<'c> {
    let module = &a.files[file as usize].module;
    let mut facts = scope::FieldFacts {
        apis: Vec::new(),
        init: None,
        decl: None,
        cheap_clone: false,
    };
    for (i, f) in module.functions.iter().enumerate() {
        if f.name != "<module>" {
            continue;
        }
        if let Some(b) = f.locals.iter().find(|b| b.name == name) {
            let fid = FuncId {
                file,
                func: i as u32,
            };
            facts.decl = Some((fid, b.span));
            if let Some(ty) = &b.ty {
                facts.apis.extend(scope::type_kinds(a, file, ty));
            }
            if let Some(c) = b.init_call {
                let cid = CallId { func: fid, call: c };
                facts.apis.extend(a.info(cid).apis.iter().copied());
                facts.init = Some(cid);
            }
        }
    }
    facts
}

/// `deque(maxlen=100)`, `deque([], 100)`: bounded by construction.
fn bounded_by_init(a: &Analysis, init: Option<CallId>) -> bool {
    let Some(id) = init else { return false };
    let c = a.call(id);
    let is_deque = matches!(&c.callee, Callee::Path(p) if p.last().is_some_and(|l| l == "deque"));
    is_deque && (a.keywords(id).iter().any(|(k, _)| k == "maxlen") || c.n_args >= 2)
}

/// The growth, removal and size checks of the collections one function touches.
fn scan<'a>(a: &Analysis<'a>, fid: FuncId, uses: &mut FxHashMap<Key<'a>, Uses>) {
    let f = a.func(fid);
    let lang = scope::lang_of(a, fid);
    let key_of = |target| key_of(f, lang, fid, target);
    // Handed to a project function (`evict(&mut self.cache)`): it may remove.
    for (call, arg) in f.arg0s() {
        if let Some(k) = key_of(arg) {
            let cid = CallId {
                func: fid,
                call: *call,
            };
            if matches!(a.info(cid).target, Target::Project { .. }) {
                uses.entry(k).or_default().shrinks = true;
            }
        }
    }
    let locals_pass_through = f.locals.iter().any(|b| {
        b.init_call
            .is_some_and(|c| scope::passes_through(&f.calls[c as usize]))
    });
    for c in &f.calls {
        // Only growth, removal and size calls matter; look at nothing else.
        let name = match &c.callee {
            Callee::Method { name, .. } => name.as_str(),
            Callee::Path(p) if p.len() == 2 => p[1].as_str(),
            _ => continue,
        };
        let Some(&op) = OPS.get(name) else {
            continue;
        };
        let k = match &c.callee {
            // A local that no pass-through call made (`x = self.items.lock()`) is its own
            // root, and no collection this rule tracks: skip the search for its binding.
            Callee::Method {
                recv: Receiver::Local(_),
                ..
            } if !locals_pass_through => continue,
            Callee::Method { recv, .. } => key_of(scope::root_of(f, recv, c.span.start)),
            // `_CACHE.append(x)` on a module global.
            Callee::Path(p) if lang == Language::Python => Some((fid.file, None, p[0].as_str())),
            _ => None,
        };
        let Some(k) = k else { continue };
        let u = uses.entry(k).or_default();
        match op {
            MutOp::Insert => u.grows.push((fid, c.span)),
            MutOp::Measure => u.measured_in.push(fid),
            _ => u.shrinks = true,
        }
    }
    for m in f.mutations() {
        let Some(k) = key_of(&m.target) else { continue };
        let u = uses.entry(k).or_default();
        match m.op {
            MutOp::Insert => u.grows.push((fid, m.span)),
            MutOp::Remove | MutOp::Reset => u.shrinks = true,
            MutOp::Measure => u.measured_in.push(fid),
        }
    }
}
