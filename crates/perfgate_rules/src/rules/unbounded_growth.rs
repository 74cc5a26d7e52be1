//! `unbounded-growth`: a collection held by a long-lived object that only ever grows.

use super::scope;
use crate::checker::Draft;
use crate::{Checker, RuleMeta};
use perfgate_analysis::{Analysis, CallId, FuncId, Step, Target};
use perfgate_catalog::Kind;
use perfgate_model::{
    Callee, Category, Confidence, Finding, Language, MutOp, Receiver, Severity, Span,
};
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
or a module-level collection named like a cache (`_cache`, `SEEN`, `history`) or grown
from async code — that some method adds to
(`insert`, `push`, `entry`, `append`, `add`, `update`, `self.cache[k] = v`) while no code
removes from it, clears it, replaces it or checks its size where it grows.

Not reported: bounded types (`lru::LruCache`, `moka`, `cachetools`, `deque(maxlen=...)`,
`functools.lru_cache`), collections that some method shrinks (`remove`, `pop`, `clear`,
`retain`, `truncate`, `del`, reassignment) or that the growing method measures
(`len(self.cache) > MAX`), collections handed to other project functions (they may evict),
growth in constructors only, and collections local to one call.

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

const GROW: &[&str] = &[
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
const LONG_LIVED: &[&str] = &[
    "Service",
    "Server",
    "Manager",
    "Cache",
    "Pool",
    "Engine",
    "Client",
    "Handler",
    "Registry",
    "Store",
    "Pipeline",
    "Worker",
    "Scheduler",
    "Router",
    "State",
    "Tracker",
    "Monitor",
    "Coordinator",
    "Broker",
    "Bot",
    "App",
    "Controller",
    "Processor",
    "Runtime",
    "Gateway",
    "Proxy",
    "Daemon",
    "Agent",
    "Session",
    "Backend",
    "Orchestrator",
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
type Key = (u32, Option<String>, String);

impl crate::Rule for Rule {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Checker, out: &mut Vec<Finding>) {
        let a = cx.a;
        let mut uses: FxHashMap<Key, Uses> = FxHashMap::default();
        let mut async_owner: FxHashMap<(Language, String), bool> = FxHashMap::default();
        for fid in a.functions() {
            let f = a.func(fid);
            let lang = scope::lang_of(a, fid);
            if let Some(o) = &f.owner {
                *async_owner.entry((lang, o.clone())).or_default() |= f.is_async;
            }
            // Rust impls may live in another file than the struct: key fields by owner
            // name and language, not file.
            let key_of = |target: &Receiver| -> Option<Key> {
                let file = if lang == Language::Rust {
                    u32::MAX
                } else {
                    fid.file
                };
                match target {
                    Receiver::SelfField(x) => Some((file, Some(f.owner.clone()?), x.clone())),
                    Receiver::Path(p) if p.len() == 1 && lang == Language::Python => {
                        Some((fid.file, None, p[0].clone()))
                    }
                    _ => None,
                }
            };
            for (i, c) in f.calls.iter().enumerate() {
                let cid = CallId {
                    func: fid,
                    call: i as u32,
                };
                let (name, root) = match &c.callee {
                    Callee::Method { .. } => match scope::method_on(f, i as u32) {
                        Some((n, r)) => (n, r),
                        None => continue,
                    },
                    // `_CACHE.append(x)` on a module global.
                    Callee::Path(p) if p.len() == 2 => {
                        (p[1].as_str(), Receiver::Path(vec![p[0].clone()]))
                    }
                    Callee::Path(_) => {
                        // Handed to a project function: it may evict.
                        if let (Some(arg), Target::Project { .. }) =
                            (c.arg0.as_deref(), &a.info(cid).target)
                        {
                            if let Some(k) = key_of(arg) {
                                uses.entry(k).or_default().shrinks = true;
                            }
                        }
                        continue;
                    }
                    Callee::Unknown => continue,
                };
                let Some(k) = key_of(&root) else {
                    if let (Some(arg), Target::Project { .. }) =
                        (c.arg0.as_deref(), &a.info(cid).target)
                    {
                        if let Some(k) = key_of(arg) {
                            uses.entry(k).or_default().shrinks = true;
                        }
                    }
                    continue;
                };
                let u = uses.entry(k).or_default();
                if GROW.contains(&name) {
                    u.grows.push((fid, c.span));
                } else if SHRINK.contains(&name) {
                    u.shrinks = true;
                } else if MEASURE.contains(&name) {
                    u.measured_in.push(fid);
                }
            }
            for m in &f.mutations {
                let Some(k) = key_of(&m.target) else { continue };
                let u = uses.entry(k).or_default();
                match m.op {
                    MutOp::Insert => u.grows.push((fid, m.span)),
                    MutOp::Remove | MutOp::Reset => u.shrinks = true,
                    MutOp::Measure => u.measured_in.push(fid),
                }
            }
        }
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
                        && !a.startup_only(*g)
                })
                .collect();
            if grows.is_empty() || grows.iter().any(|(g, _)| u.measured_in.contains(g)) {
                continue;
            }
            let &&(gfid, gspan) = grows
                .iter()
                .min_by_key(|(g, s)| (*g, s.start))
                .expect("non-empty");
            let lang = scope::lang_of(a, gfid);
            let cache_like = CACHE_LIKE
                .iter()
                .any(|c| name.to_ascii_lowercase().contains(c));
            let (facts, owner_text) = match owner {
                Some(o) => {
                    let long_lived = async_owner
                        .get(&(lang, o.clone()))
                        .copied()
                        .unwrap_or(false)
                        || LONG_LIVED.iter().any(|s| o.ends_with(s));
                    // A cache in a short-lived object dies with it.
                    if !long_lived {
                        continue;
                    }
                    (
                        scope::field_facts(a, gfid.file, o, name),
                        format!("`{o}.{name}`"),
                    )
                }
                None => {
                    if !cache_like && !a.func(gfid).is_async {
                        continue;
                    }
                    (
                        global_facts(a, *file, name),
                        format!("module-level `{name}`"),
                    )
                }
            };
            if !scope::has_kind(&facts.apis, Kind::Collection)
                || scope::has_kind(&facts.apis, Kind::BoundedCollection)
                || bounded_by_init(a, facts.init)
            {
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
    is_deque && (c.keywords.iter().any(|(k, _)| k == "maxlen") || c.n_args >= 2)
}
