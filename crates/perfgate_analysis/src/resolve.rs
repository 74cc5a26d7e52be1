//! Name resolution: which project function or external API each call reaches.
//!
//! Resolution is deliberately conservative: a call is resolved through declarations
//! (`use`/`import` aliases, `Self`, struct fields and `__init__` attributes with known types,
//! locals built by a known constructor). A method on a receiver of unknown type is resolved
//! by name only when exactly one project type defines it, and is then marked
//! [`Confidence::Assumed`]. Anything else stays [`Target::Unknown`] and is never guessed.

use crate::{CallInfo, FuncId};
use perfgate_catalog::{Catalog, Kind};
use perfgate_model::{
    Binding, Call, Callee, Confidence, Function, Import, Language, Module, Name, Path, Receiver,
    SourceFile,
};
use rustc_hash::FxHashMap;
use std::borrow::Cow;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Target {
    /// A function defined in the checked project.
    Project {
        func: FuncId,
        confidence: Confidence,
    },
    /// A library API, by its full path (`std::fs::read`, `requests.get`). Shared: the same
    /// API is called from many places, and resolution memoises per path.
    External(std::sync::Arc<Path>),
    #[default]
    Unknown,
}

/// A resolved type: one of the project's own, or a library type by full path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TypeRef {
    Project { name: Name, file: u32 },
    External(Path),
}

/// Constructors of std's conversion traits: a library type has its own impls of them beside
/// any the project adds, and the argument's type picks which runs.
const CONVERSIONS: &[&str] = &["from", "try_from", "from_str", "from_iter", "default"];

/// Builder methods that end the chain: they make what the builder builds, or act on it.
const BUILDER_FINISHERS: &[&str] = &[
    "build", "finish", "send", "connect", "spawn", "start", "run", "execute", "into", "try_",
    "open", "bind", "create", "get", "fetch", "call",
];

/// Method names too generic to resolve by name alone.
const GENERIC_METHODS: &[&str] = &[
    "new",
    "get",
    "set",
    "clone",
    "len",
    "push",
    "pop",
    "insert",
    "remove",
    "iter",
    "into",
    "from",
    "map",
    "next",
    "fmt",
    "eq",
    "hash",
    "default",
    "to_string",
    "as_ref",
    "unwrap",
    "expect",
    "send",
    "recv",
    "read",
    "write",
    "close",
    "open",
    "start",
    "stop",
    "run",
    "call",
    "update",
    "append",
    "extend",
    "clear",
    "contains",
    "items",
    "keys",
    "values",
    "copy",
    "format",
    // Iterator, slice, string and map methods: on an unknown receiver these are far more
    // often the standard library's than a project method of the same name.
    "find",
    "filter",
    "position",
    "any",
    "all",
    "fold",
    "collect",
    "count",
    "sum",
    "min",
    "max",
    "sort",
    "first",
    "last",
    "take",
    "skip",
    "chain",
    "zip",
    "rev",
    "replace",
    "trim",
    "parse",
    "query",
    "execute",
    "fetch",
    "load",
    "save",
    "record",
    "verify",
    "latest",
    "results",
    "entry",
    "index",
    "join",
    "split",
    "strip",
    "lower",
    "upper",
    "encode",
    "decode",
    "add",
    "sub",
    "with_capacity",
    "is_empty",
    "drop",
    "lock",
    "wait",
    "poll",
    "init",
    "setup",
    "main",
    "__init__",
    "__call__",
    "__enter__",
    "__exit__",
    "build",
    "finish",
    "flush",
    "handle",
    // A compiled pattern's (`pattern.match(s)` on a parameter that defaults to `None`).
    "match",
    "search",
    "fullmatch",
    "findall",
    "finditer",
    "group",
    // File-system paths' methods (pathlib, `std::path::Path`): `(root / "app.yaml").exists()`
    // on a receiver of unknown type is a path's, not the project's one `exists`.
    "exists",
    "is_file",
    "is_dir",
    "mkdir",
    "unlink",
    "stat",
    "iterdir",
    "read_text",
    "read_bytes",
    "touch",
];

/// The project's symbols. Built per file in parallel; only module, type and method-name
/// tables are merged across files, so building it stays cheap on large projects. Tables are
/// per language and keyed by strings borrowed from the model (modules by the hash of their
/// path's segments): building them copies no name, and lookups allocate nothing (the
/// resolver makes several per call).
pub(crate) struct Index<'p> {
    files: &'p [SourceFile],
    /// Per language (Rust, Python): module path (`pkg::engine`) -> file, by the hash of its
    /// segments ([`seg_hash`]), so that a lookup hashes the leading segments of the path it
    /// tries without joining them into a string. [`CLASH`] where two module paths share a
    /// hash: those are in `clashes`.
    modules: [FxHashMap<u64, u32>; 2],
    /// Per language: module paths whose segment hash another module path shares, joined.
    clashes: [FxHashMap<String, u32>; 2],
    /// A file that `modules` names -> an earlier file of the same module path, looked in
    /// when the first lacks a symbol: a package's `lib.rs` and `main.rs` are both its root
    /// (`main.rs` calls `my_server::start`, which `lib.rs` defines).
    same_path: FxHashMap<u32, u32>,
    /// Per file: function index by qualified name as the model writes it (`Engine::infer`,
    /// Python `Engine.infer`); a method nested in another scope also by `Owner<sep>name`.
    qualnames: Vec<FxHashMap<Cow<'p, str>, u32>>,
    /// Per language: type name -> files declaring it.
    types: [FxHashMap<&'p str, Vec<u32>>; 2],
    /// Per language: (type name, method name) -> the method, from the first file (in path
    /// order) that defines it (an `impl` may sit apart from its `struct`). One map, not one
    /// per type: a project has thousands of types with a few methods each.
    methods: [MethodMap<'p>; 2],
    /// Per language: method name -> the one owner-bearing function of that name (`None`
    /// where there are several), for the by-name fallback.
    method_names: [FxHashMap<&'p str, Option<FuncId>>; 2],
    /// Per language: every segment of every module path (crate names, packages, modules):
    /// a path whose root is none of them is a library's.
    roots: [rustc_hash::FxHashSet<&'p str>; 2],
    /// Per language: every name a path call into the project can end in (function and
    /// type names, import aliases). A path ending in none of them (`time.sleep`, `len`) is
    /// no project symbol, and is not looked up as one module prefix at a time.
    names: [rustc_hash::FxHashSet<&'p str>; 2],
}

/// (type name, method name) -> method. hashbrown's, for lookups by a borrowed
/// [`MethodKey`] of any lifetime: the resolver makes one per base type of every method call
/// on `self`.
type MethodMap<'p> = hashbrown::HashMap<(&'p str, &'p str), FuncId, rustc_hash::FxBuildHasher>;

/// A key for [`MethodMap`] that may live shorter than the map's: hashes as the map's
/// `(&str, &str)` keys do.
#[derive(Hash)]
struct MethodKey<'a>(&'a str, &'a str);

impl<'p> hashbrown::Equivalent<(&'p str, &'p str)> for MethodKey<'_> {
    fn equivalent(&self, key: &(&'p str, &'p str)) -> bool {
        self.0 == key.0 && self.1 == key.1
    }
}

fn key(p: &[Name]) -> String {
    p.join("::")
}

/// [`Index`]'s `modules` value for a hash two module paths share.
const CLASH: u32 = u32::MAX;

/// Adds a segment to a module path's [`seg_hash`].
fn seg_write(h: &mut rustc_hash::FxHasher, seg: &str) {
    use std::hash::Hasher;
    h.write(seg.as_bytes());
    h.write_u8(0xff);
}

/// The hash a module path is indexed by: of its segments, in order.
fn seg_hash(path: &[Name]) -> u64 {
    use std::hash::Hasher;
    let mut h = rustc_hash::FxHasher::default();
    for s in path {
        seg_write(&mut h, s);
    }
    h.finish()
}

/// What follows the last `sep` (`.` or `::`) in `name`, all of it if none. By its last
/// byte: a searcher for a string pattern costs more than the lookup it serves.
pub(crate) fn last_segment<'s>(name: &'s str, sep: &str) -> &'s str {
    let last = sep.as_bytes().last().copied().unwrap_or(b'.');
    match name.bytes().rposition(|b| b == last) {
        Some(i) => &name[i + 1..],
        None => name,
    }
}

/// How many functions with an owner (methods) each language has.
fn methods_per_language(files: &[SourceFile]) -> [usize; 2] {
    let mut n = [0; 2];
    for file in files {
        let m = &file.module;
        n[m.language as usize] += m.functions.iter().filter(|f| f.owner.is_some()).count();
    }
    n
}

impl<'p> Index<'p> {
    pub(crate) fn build(files: &'p [SourceFile]) -> Index<'p> {
        use rayon::prelude::*;
        let qualnames = || -> Vec<FxHashMap<Cow<'p, str>, u32>> {
            files
                .par_iter()
                .map(|file| {
                    let fns = &file.module.functions;
                    let sep = file.module.language.path_sep();
                    let mut map =
                        FxHashMap::with_capacity_and_hasher(fns.len(), Default::default());
                    for (i, f) in fns.iter().enumerate() {
                        let qual = f.qualname.as_str();
                        // Methods also by `Type<sep>name` alone, whatever module or class
                        // nests them (usually the same key: a top-level class's method).
                        let alias = f.owner.as_ref().and_then(|owner| {
                            let same = qual.len() == owner.len() + sep.len() + f.name.len()
                                && qual.starts_with(owner.as_str())
                                && qual.ends_with(f.name.as_str());
                            (!same).then(|| format!("{owner}{sep}{}", f.name))
                        });
                        map.entry(Cow::Borrowed(qual)).or_insert(i as u32);
                        if let Some(alias) = alias {
                            map.entry(Cow::Owned(alias)).or_insert(i as u32);
                        }
                    }
                    map
                })
                .collect()
        };
        // The remaining tables are merged across files in path order; two independent
        // halves, built side by side.
        let methods_per_language = methods_per_language(files);
        let tables = || {
            rayon::join(
                || {
                    // At their final size from the start: grown by doubling, each map leaves
                    // its smaller tables behind as fresh memory nothing reuses.
                    let mut methods: [MethodMap<'p>; 2] = Default::default();
                    let mut names: [rustc_hash::FxHashSet<&'p str>; 2] = Default::default();
                    for (lang, n) in methods_per_language.into_iter().enumerate() {
                        methods[lang].reserve(n);
                    }
                    for (fi, file) in files.iter().enumerate() {
                        let m = &file.module;
                        let lang = m.language as usize;
                        let sep = m.language.path_sep();
                        let names = &mut names[lang];
                        names.extend(m.imports.iter().map(|i| i.alias.as_str()));
                        names.extend(m.types.iter().map(|t| t.name.as_str()));
                        for f in &m.functions {
                            names.insert(f.name.as_str());
                            // The qualified name's last segment, which is the name itself
                            // wherever a front end writes it as expected.
                            names.insert(last_segment(&f.qualname, sep));
                        }
                        for (i, f) in file.module.functions.iter().enumerate() {
                            let Some(owner) = &f.owner else { continue };
                            let id = FuncId {
                                file: fi as u32,
                                func: i as u32,
                            };
                            methods[lang]
                                .entry((owner.as_str(), f.name.as_str()))
                                .or_insert(id);
                        }
                    }
                    (methods, names)
                },
                || {
                    let mut modules: [FxHashMap<u64, u32>; 2] = Default::default();
                    let mut clashes: [FxHashMap<String, u32>; 2] = Default::default();
                    let mut same_path: FxHashMap<u32, u32> = Default::default();
                    let mut types: [FxHashMap<&'p str, Vec<u32>>; 2] = Default::default();
                    let mut method_names: [FxHashMap<&'p str, Option<FuncId>>; 2] =
                        Default::default();
                    let mut roots: [rustc_hash::FxHashSet<&'p str>; 2] = Default::default();
                    for (lang, n) in methods_per_language.into_iter().enumerate() {
                        method_names[lang].reserve(n / 2);
                    }
                    for (fi, file) in files.iter().enumerate() {
                        let m = &file.module;
                        let lang = m.language as usize;
                        // Every segment, not the first alone: a package under `src/` or
                        // `backend/` is imported by a shorter path than its module path.
                        // But a Python module's own name is a root only at the top: Python
                        // has no relative path without an import, and `logging` in
                        // `pkg/core/logging.py` leaves `import logging` the standard
                        // library's (Rust's `clip::f()` in `engine/mod.rs` names its child).
                        let own = match m.language {
                            Language::Python if m.module_path.len() > 1 => 1,
                            _ => 0,
                        };
                        roots[lang].extend(
                            m.module_path[..m.module_path.len() - own]
                                .iter()
                                .map(|s| s.as_str()),
                        );
                        // The last file of a module path wins, as a map insert does.
                        match modules[lang].entry(seg_hash(&m.module_path)) {
                            std::collections::hash_map::Entry::Vacant(e) => {
                                e.insert(fi as u32);
                            }
                            std::collections::hash_map::Entry::Occupied(mut e) => {
                                let had = *e.get();
                                if had == CLASH {
                                    clashes[lang].insert(key(&m.module_path), fi as u32);
                                } else if files[had as usize].module.module_path == m.module_path {
                                    same_path.insert(fi as u32, had);
                                    e.insert(fi as u32);
                                } else {
                                    let had_key = key(&files[had as usize].module.module_path);
                                    clashes[lang].insert(had_key, had);
                                    clashes[lang].insert(key(&m.module_path), fi as u32);
                                    e.insert(CLASH);
                                }
                            }
                        }
                        for t in &m.types {
                            let files = types[lang].entry(t.name.as_str()).or_default();
                            if files.last() != Some(&(fi as u32)) {
                                files.push(fi as u32);
                            }
                        }
                        for (i, f) in m.functions.iter().enumerate() {
                            // Production code calls no test's method: a test class's
                            // `run` or `tolist` is no candidate for a guess, and no rival
                            // that makes a real one ambiguous.
                            if f.owner.is_none() || f.role == perfgate_model::FunctionRole::Test {
                                continue;
                            }
                            let id = FuncId {
                                file: fi as u32,
                                func: i as u32,
                            };
                            method_names[lang]
                                .entry(f.name.as_str())
                                .and_modify(|only| *only = None)
                                .or_insert(Some(id));
                        }
                    }
                    (modules, (clashes, same_path), types, (method_names, roots))
                },
            )
        };
        // Per-file names (parallel) and the two merged halves, side by side.
        let (
            qualnames,
            ((methods, names), (modules, (clashes, same_path), types, (method_names, roots))),
        ) = rayon::join(qualnames, tables);
        Index {
            files,
            modules,
            clashes,
            same_path,
            qualnames,
            types,
            methods,
            method_names,
            roots,
            names,
        }
    }

    /// Could a path ending in `name` be the project's? See `names`.
    fn may_name_symbol(&self, lang: Language, name: &str) -> bool {
        self.names[lang as usize].contains(last_segment(name, lang.path_sep()))
    }

    /// Is `path` rooted outside the project (`lettre::Message::builder`, `requests.get`)?
    /// Paths relative to the current module or type (`Self::f`, `super::f`) are not, nor
    /// are those rooted in a project type (`Session.get_by_id`, imported in a function).
    fn is_library_path(&self, lang: Language, path: &[Name]) -> bool {
        path.len() > 1
            && path.first().is_some_and(|root| {
                !matches!(root.as_str(), "Self" | "self" | "super" | "crate" | "")
                    && !root.starts_with('.')
                    && !self.roots[lang as usize].contains(root.as_str())
                    && !self.types[lang as usize].contains_key(root.as_str())
            })
    }

    /// The function at a full path, `prefix` then `path` (`pkg::engine` `Engine::infer`;
    /// `path` is not empty): some leading segments name a module, the rest (one to three
    /// segments) a function or method in it. Nothing is joined or allocated unless a module
    /// matches and the rest is more than one segment.
    fn symbol(&self, lang: Language, prefix: &[Name], path: &[Name]) -> Option<FuncId> {
        use std::hash::Hasher;
        let n = prefix.len() + path.len();
        let seg = |i: usize| match prefix.get(i) {
            Some(s) => s.as_str(),
            None => path[i - prefix.len()].as_str(),
        };
        // The hashes of the first `lo..n` segments (the modules to try), in one pass.
        let lo = n.saturating_sub(3);
        let mut hashes = [0u64; 3];
        let mut h = rustc_hash::FxHasher::default();
        for i in 0..n {
            if i >= lo {
                hashes[i - lo] = h.finish();
            }
            seg_write(&mut h, seg(i));
        }
        (1..=n.min(3)).find_map(|q| self.in_module(lang, hashes[n - q - lo], &seg, n - q, n))
    }

    /// The function `segs[m..n]` (`m < n`) in the module `segs[..m]`, whose hash is `hash`.
    fn in_module<'s>(
        &self,
        lang: Language,
        hash: u64,
        seg: &impl Fn(usize) -> &'s str,
        m: usize,
        n: usize,
    ) -> Option<FuncId> {
        let file = match self.modules[lang as usize].get(&hash).copied()? {
            CLASH => {
                let joined = (0..m).map(seg).collect::<Vec<_>>().join("::");
                *self.clashes[lang as usize].get(&joined)?
            }
            file => {
                let path = &self.files[file as usize].module.module_path;
                let same = path.len() == m && path.iter().enumerate().all(|(i, s)| s == seg(i));
                if !same {
                    return None;
                }
                file
            }
        };
        let qual = (n - m > 1).then(|| (m..n).map(seg).collect::<Vec<_>>().join(lang.path_sep()));
        let mut file = Some(file);
        while let Some(f) = file {
            let qualnames = &self.qualnames[f as usize];
            let func = match &qual {
                None => qualnames.get(seg(m)),
                Some(q) => qualnames.get(q.as_str()),
            };
            if let Some(&func) = func {
                return Some(FuncId { file: f, func });
            }
            file = self.same_path.get(&f).copied();
        }
        None
    }

    /// Points a module path's hash at `file`, or (`None`) marks it a clash with the path
    /// kept among the clashes: what a real 64-bit hash clash would leave.
    #[cfg(test)]
    pub(crate) fn force_module(&mut self, lang: Language, path: &[Name], file: Option<u32>) {
        let l = lang as usize;
        let own = self
            .files
            .iter()
            .rposition(|f| f.module.module_path == path);
        match file {
            Some(file) => {
                self.modules[l].insert(seg_hash(path), file);
            }
            None => {
                self.modules[l].insert(seg_hash(path), CLASH);
                self.clashes[l].insert(key(path), own.expect("a module of the project") as u32);
            }
        }
    }

    /// A symbol by path: as written, relative to the current module, or (Rust) from the
    /// current crate's root.
    pub(crate) fn find_symbol(
        &self,
        lang: Language,
        path: &[Name],
        here: &[Name],
    ) -> Option<FuncId> {
        if path.is_empty() {
            return None;
        }
        if let Some(f) = self.symbol(lang, &[], path) {
            return Some(f);
        }
        if !here.is_empty() {
            if let Some(f) = self.symbol(lang, here, path) {
                return Some(f);
            }
        }
        if lang == Language::Rust && here.len() > 1 {
            // `crate_name::...` written from the crate root.
            if let Some(f) = self.symbol(lang, &here[..1], path) {
                return Some(f);
            }
        }
        None
    }

    /// The file of the module at `path`, if the project has it.
    pub(crate) fn module_file(&self, lang: Language, path: &[Name]) -> Option<u32> {
        match self.modules[lang as usize].get(&seg_hash(path)).copied()? {
            CLASH => self.clashes[lang as usize].get(&key(path)).copied(),
            file => (self.files[file as usize].module.module_path == path).then_some(file),
        }
    }

    /// `module.name` where the module imports `name` from elsewhere (`from .generator import
    /// new_var` in a package's facade, `pub use inner::run;`), or everything from a module
    /// that has it (`pub use commands::*;` in a crate root, `pub use generate::*;` in
    /// `commands`): the function it names, through at most four such imports.
    fn reexported(&self, lang: Language, path: &[Name]) -> Option<FuncId> {
        self.reexported_within(lang, path, 4)
    }

    fn reexported_within(&self, lang: Language, path: &[Name], hops: u32) -> Option<FuncId> {
        let (name, module) = path.split_last()?;
        if hops == 0 {
            return None;
        }
        let file = self.module_file(lang, module)?;
        let m = &self.files[file as usize].module;
        let here = m.module_path.as_slice();
        if let Some(import) = m.imports.iter().find(|i| i.alias == *name) {
            return self
                .find_symbol(lang, &import.path, here)
                .or_else(|| self.reexported_from(lang, &import.path, here, hops - 1));
        }
        m.imports
            .iter()
            .filter(|i| i.alias == "*")
            .find_map(|glob| {
                let mut through = glob.path.clone();
                through.push(name.clone());
                self.find_symbol(lang, &through, here)
                    .or_else(|| self.reexported_from(lang, &through, here, hops - 1))
            })
    }

    /// [`Index::reexported_within`] of a path as a module at `here` wrote it: absolute, or
    /// relative to that module (`pub use generate::*;` naming its child `generate`).
    fn reexported_from(
        &self,
        lang: Language,
        path: &[Name],
        here: &[Name],
        hops: u32,
    ) -> Option<FuncId> {
        self.reexported_within(lang, path, hops).or_else(|| {
            (!here.is_empty()).then_some(())?;
            let relative: Path = here.iter().chain(path).cloned().collect();
            self.reexported_within(lang, &relative, hops)
        })
    }

    fn method(&self, lang: Language, ty: &str, name: &str) -> Option<FuncId> {
        self.methods[lang as usize]
            .get(&MethodKey(ty, name))
            .copied()
    }

    /// Files declaring a type of this name.
    fn type_files(&self, lang: Language, name: &str) -> &[u32] {
        self.types[lang as usize]
            .get(name)
            .map_or(&[], |v| v.as_slice())
    }

    fn type_file(&self, lang: Language, name: &str, prefer: u32) -> Option<u32> {
        let files = self.type_files(lang, name);
        if files.contains(&prefer) {
            Some(prefer)
        } else {
            files.first().copied()
        }
    }
}

pub(crate) fn receiver_type(
    files: &[SourceFile],
    catalog: &Catalog,
    index: &Index<'_>,
    id: FuncId,
    recv: &Receiver,
) -> Option<TypeRef> {
    let file = &files[id.file as usize];
    let r = Resolver::new(files, catalog, index, id.file);
    let f = &file.module.functions[id.func as usize];
    r.receiver_type(f, recv, u32::MAX, 0)
}

pub(crate) fn resolve_type(
    files: &[SourceFile],
    catalog: &Catalog,
    index: &Index<'_>,
    file: u32,
    written: &[Name],
) -> Option<TypeRef> {
    Resolver::new(files, catalog, index, file).resolve_type(file, written)
}

/// One file's calls the analysis knows something of, in one array: those of function `i`
/// are `known[start[i]..start[i + 1]]`, by call index. Most calls know nothing and are not
/// stored; one array per file instead of one per function keeps this small.
pub(crate) struct FileCalls<'a> {
    start: Vec<u32>,
    known: Vec<(u32, CallInfo<'a>)>,
}

impl<'a> FileCalls<'a> {
    pub(crate) fn of(&self, func: u32) -> &[(u32, CallInfo<'a>)] {
        let (from, to) = (self.start[func as usize], self.start[func as usize + 1]);
        &self.known[from as usize..to as usize]
    }

    pub(crate) fn functions(&self) -> usize {
        self.start.len() - 1
    }

    /// A copy that shares nothing with this one (made on scratch memory, which goes away),
    /// with each library path still shared between the calls that resolved to it.
    fn copy_out(&self) -> Self {
        let mut paths: FxHashMap<*const Path, std::sync::Arc<Path>> = FxHashMap::default();
        let known = self
            .known
            .iter()
            .map(|(call, info)| {
                let target = match &info.target {
                    Target::External(p) => Target::External(
                        paths
                            .entry(std::sync::Arc::as_ptr(p))
                            .or_insert_with(|| std::sync::Arc::new(Path::clone(p)))
                            .clone(),
                    ),
                    other => other.clone(),
                };
                let info = CallInfo {
                    target,
                    apis: info.apis.clone(),
                    offloaded: info.offloaded,
                    not_on_executor: info.not_on_executor,
                    concurrent: info.concurrent,
                    timeout: info.timeout,
                    repeated: info.repeated,
                };
                (*call, info)
            })
            .collect();
        FileCalls {
            // Copying off scratch memory is this method's job. perfgate: ignore[redundant-clone]
            start: self.start.clone(),
            known,
        }
    }
}

pub(crate) fn resolve_all<'a>(
    files: &'a [SourceFile],
    catalog: &'a Catalog,
    index: &Index<'a>,
) -> Vec<FileCalls<'a>> {
    use rayon::prelude::*;
    // Each file on scratch memory: the resolver's caches and the calls' first, unpacked
    // form are thrown away once the file's known calls are copied out.
    (0..files.len())
        .into_par_iter()
        .map(|fi| {
            perfgate_model::scratch::run(
                || resolve_file(files, catalog, index, fi as u32),
                FileCalls::copy_out,
            )
        })
        .collect()
}

/// Marks as offloaded the calls inside a closure handed to a project function that passes a
/// parameter on to an offloading call: tokio's `asyncify(move || std::fs::read(p))` calls
/// `spawn_blocking(f)`; a `run_sync(func)` helper awaits `loop.run_in_executor(None, func)`.
/// The closure runs where the library call puts it, as if handed to it directly. A function
/// that passes its parameter on to such a helper is one too (quickwit's free
/// `run_cpu_intensive(f)` hands `f` to its executor's method, which spawns it on a pool).
pub(crate) fn offload_through_helpers(files: &[SourceFile], calls: &mut [FileCalls<'_>]) {
    use rayon::prelude::*;
    let mut offloaders: rustc_hash::FxHashSet<FuncId> = Default::default();
    // Round one finds the helpers of library calls; each later one, the helpers of the
    // helpers found in the round before (a function that hands its parameter to an older
    // one was found then). Wrappers rarely nest deeper than a few levels.
    let mut fresh: rustc_hash::FxHashSet<FuncId> = Default::default();
    for round in 0..5 {
        let more: Vec<FuncId> = files
            .par_iter()
            .zip(calls.par_iter())
            .enumerate()
            .flat_map_iter(|(fi, (file, fc))| {
                let (offloaders, fresh) = (&offloaders, &fresh);
                let functions = &file.module.functions;
                (0..functions.len()).filter_map(move |func| {
                    let f = &functions[func];
                    let id = FuncId {
                        file: fi as u32,
                        func: func as u32,
                    };
                    if f.params.is_empty() || offloaders.contains(&id) {
                        return None;
                    }
                    let known = fc.of(func as u32);
                    // Most functions offload nothing: their calls are not read.
                    let candidate = known.iter().any(|(_, info)| {
                        if round == 0 {
                            info.has_kind(Kind::Offload)
                        } else {
                            matches!(info.target, Target::Project { func, .. } if fresh.contains(&func))
                        }
                    });
                    if !candidate {
                        return None;
                    }
                    let is_param = |name: &str| f.params.iter().any(|p| p.name == name);
                    let offloads = |info: &CallInfo<'_>| {
                        info.has_kind(Kind::Offload)
                            || matches!(info.target, Target::Project { func, .. } if offloaders.contains(&func))
                    };
                    let passes_param = known.iter().any(|(call, info)| {
                        let c = &f.calls[*call as usize];
                        offloads(info)
                            && !c.ctx.in_closure
                            && call_args(file.slice(c.span)).any(is_param)
                    });
                    // `spawn_blocking(move || { let _g = span.enter(); f() })`: the
                    // parameter is called inside the closure handed to the offloading call.
                    let offloads_at = |call: u32| {
                        known
                            .binary_search_by_key(&call, |(c, _)| *c)
                            .is_ok_and(|i| known[i].1.has_kind(Kind::Offload))
                    };
                    let calls_param_there = || {
                        f.calls.iter().any(|c| {
                            matches!(&c.callee, Callee::Path(p) if p.len() == 1 && is_param(&p[0]))
                                && c.ctx.in_closure
                                && f.enclosing_calls(c.ctx).any(offloads_at)
                        })
                    };
                    (passes_param || (round == 0 && calls_param_there())).then_some(id)
                })
            })
            .collect();
        if more.is_empty() {
            break;
        }
        offloaders.extend(more.iter().copied());
        fresh = more.into_iter().collect();
    }
    if offloaders.is_empty() {
        return;
    }
    files
        .par_iter()
        .zip(calls.par_iter_mut())
        .for_each(|(file, fc)| {
            for (func, f) in file.module.functions.iter().enumerate() {
                let (from, to) = (fc.start[func] as usize, fc.start[func + 1] as usize);
                let known = &mut fc.known[from..to];
                // Most functions call no such helper: their calls are not read.
                let calls_helper = known.iter().any(|(_, info)| {
                    matches!(info.target, Target::Project { func, .. } if offloaders.contains(&func))
                });
                if !calls_helper {
                    continue;
                }
                let through_helper = |call: u32, known: &[(u32, CallInfo<'_>)]| {
                    f.enclosing_calls(f.calls[call as usize].ctx).any(|p| {
                        known
                            .binary_search_by_key(&p, |(c, _)| *c)
                            .ok()
                            .is_some_and(|i| {
                                matches!(known[i].1.target, Target::Project { func, .. }
                                    if offloaders.contains(&func))
                            })
                    })
                };
                let marked: Vec<usize> = (0..known.len())
                    .filter(|&i| {
                        let (call, info) = &known[i];
                        !info.offloaded
                            && f.calls[*call as usize].ctx.in_closure
                            && through_helper(*call, known)
                    })
                    .collect();
                for i in marked {
                    known[i].1.offloaded = true;
                }
            }
        });
}

/// Future adaptors that poll the future they are called on (`futures`' `FutureExt`).
const POLLS: &[&str] = &["now_or_never", "poll_unpin", "boxed", "boxed_local"];

/// `tokio::task::unconstrained(rx.recv())`: a wrapper whose argument is a future.
fn takes_a_future(c: &Call) -> bool {
    matches!(&c.callee, Callee::Path(p) if p.last().is_some_and(|n| n == "unconstrained"))
}

/// A function named `timeout` or `timeout_at` given a limit and a future: a crate's own
/// wrapper of tokio's (rustdesk's `hbb_common::timeout(ms, stream.recv())`), which the
/// catalogue cannot list. A method of that name (`builder.timeout(d)`) sets a client's.
fn timeout_by_name(c: &Call) -> bool {
    matches!(&c.callee, Callee::Path(p) if p.last().is_some_and(|n| n == "timeout" || n == "timeout_at"))
        && c.n_args >= 2
}

/// Is an argument of call `call` an in-memory buffer made there (`io.BytesIO(..)`,
/// `io.StringIO(..)`, `Cursor::new(..)`)?
fn reads_memory(f: &Function, call: u32) -> bool {
    if f.calls[call as usize].has(perfgate_model::CallFlags::ARG_IN_MEMORY) {
        return true;
    }
    f.calls.iter().any(|c| {
        c.ctx.parent_call() == Some(call)
            && matches!(&c.callee, Callee::Path(p) if match &p[..] {
                [.., last] if last == "BytesIO" || last == "StringIO" => true,
                [.., ty, new] => ty == "Cursor" && new == "new",
                _ => false,
            })
    })
}

/// The arguments of a call as written (its last argument list: `loop.run_in_executor(None,
/// func)` -> `None`, `func`), without `move`, `&` or `mut`.
fn call_args(text: &str) -> impl Iterator<Item = &str> {
    let inner = perfgate_model::last_group(text).map_or("", |(open, close)| &text[open + 1..close]);
    // `strip_prefix`, not `trim_start_matches`: a string pattern there sets up a substring
    // search per argument, and neither word can be written twice.
    perfgate_model::split_top_level(inner).map(|a| {
        let a = a.trim();
        let a = a.strip_prefix("move ").unwrap_or(a).trim_start_matches('&');
        a.strip_prefix("mut ").unwrap_or(a).trim()
    })
}

/// Resolve every call of one file.
fn resolve_file<'a>(
    files: &'a [SourceFile],
    catalog: &'a Catalog,
    index: &Index<'a>,
    fi: u32,
) -> FileCalls<'a> {
    let file = &files[fi as usize];
    let r = Resolver::new(files, catalog, index, fi);
    let mut infos: Vec<Vec<CallInfo<'a>>> = file
        .module
        .functions
        .iter()
        .map(|f| f.calls.iter().map(|c| r.resolve_call(f, c)).collect())
        .collect();
    let client_timeout = r.module_configures_client_timeout(&infos);
    for (f, fi) in file.module.functions.iter().zip(&mut infos) {
        r.apply_context(f, fi, client_timeout);
    }
    // Packed here on scratch memory; `copy_out` then copies it at its exact size.
    let (mut start, mut known) = (Vec::with_capacity(infos.len() + 1), Vec::new());
    start.push(0);
    for fi in infos {
        known.extend(
            fi.into_iter()
                .enumerate()
                .filter(|(_, info)| !info.is_nothing())
                .map(|(i, info)| (i as u32, info)),
        );
        start.push(known.len() as u32);
    }
    FileCalls { start, known }
}

/// A type and its project base types, in method lookup order.
type Lineage = std::rc::Rc<[(String, u32)]>;

struct Resolver<'a, 'i> {
    files: &'a [SourceFile],
    catalog: &'a Catalog,
    index: &'i Index<'a>,
    file: u32,
    module: &'a Module,
    /// Path calls resolve the same way everywhere in a module (`len(..)`, `np.zeros(..)`).
    memo: std::cell::RefCell<FxHashMap<Path, CallInfo<'a>>>,
    /// Field types by owner, then field: `self.client.get(..)` is resolved many times over.
    /// Nested so that a hit allocates no key.
    fields: std::cell::RefCell<FxHashMap<String, FxHashMap<String, Option<TypeRef>>>>,
    /// Per type (by file, then name): the type and its project base types, in lookup
    /// order. `self.assertEqual(..)` is called thousands of times per test module, and
    /// walking the bases each time was the resolver's largest cost.
    lineage: std::cell::RefCell<FxHashMap<u32, FxHashMap<String, Lineage>>>,
    /// Types as written, by file: the same annotations and constructors recur.
    types: std::cell::RefCell<FxHashMap<u32, FxHashMap<Path, Option<TypeRef>>>>,
    /// Types of local bindings (by address: bindings do not move while resolving), asked
    /// once per method call on them.
    locals: std::cell::RefCell<FxHashMap<usize, Option<TypeRef>>>,
    /// This module's imports by alias (the last one wins, as in the language), and its
    /// typed globals by name (the first one wins): made when first read, as a rule asking
    /// for one receiver's type reads neither, or one of them once.
    imports: std::cell::OnceCell<FxHashMap<&'a str, &'a Import>>,
    globals: std::cell::OnceCell<FxHashMap<&'a str, &'a Binding>>,
    /// The module imports everything from somewhere (`use super::*;`): few do.
    has_globs: bool,
}

impl<'a, 'i> Resolver<'a, 'i> {
    fn new(files: &'a [SourceFile], catalog: &'a Catalog, index: &'i Index<'a>, file: u32) -> Self {
        let module = &files[file as usize].module;
        Resolver {
            files,
            catalog,
            index,
            file,
            module,
            memo: Default::default(),
            fields: Default::default(),
            lineage: Default::default(),
            types: Default::default(),
            locals: Default::default(),
            imports: Default::default(),
            globals: Default::default(),
            has_globs: module.imports.iter().any(|i| i.alias == "*"),
        }
    }
}

impl<'a> Resolver<'a, '_> {
    fn imports(&self) -> &FxHashMap<&'a str, &'a Import> {
        self.imports.get_or_init(|| {
            let module: &'a Module = self.module;
            module
                .imports
                .iter()
                .map(|i| (i.alias.as_str(), i))
                .collect()
        })
    }

    fn globals(&self) -> &FxHashMap<&'a str, &'a Binding> {
        self.globals.get_or_init(|| {
            let module: &'a Module = self.module;
            let mut globals = FxHashMap::default();
            for g in module.globals.iter().filter(|g| g.ty.is_some()) {
                globals.entry(g.name.as_str()).or_insert(g);
            }
            globals
        })
    }

    fn lang(&self) -> Language {
        self.module.language
    }

    /// Expand a written path through the module's imports.
    fn expand(&self, module: &Module, path: &[Name]) -> Path {
        let Some(first) = path.first() else {
            return Path::new();
        };
        let imp = if std::ptr::eq(module, self.module) {
            self.imports().get(first.as_str()).copied()
        } else {
            module.imports.iter().rev().find(|i| i.alias == *first)
        };
        if let Some(imp) = imp {
            let mut full = imp.path.clone();
            full.extend(path[1..].iter().cloned());
            return full;
        }
        self.through_glob(module, path)
            .unwrap_or_else(|| Path::from(path))
    }

    /// A path whose first segment the module does not import itself, through a project
    /// module it imports everything from (`use super::*;` in a submodule of a crate root
    /// that has `use tokio::sync::mpsc;`): that module's import of the name, or its own
    /// function or type of that name.
    fn through_glob(&self, module: &Module, path: &[Name]) -> Option<Path> {
        if std::ptr::eq(module, self.module) && !self.has_globs {
            return None;
        }
        let first = path.first()?;
        for glob in module.imports.iter().filter(|i| i.alias == "*") {
            let Some(file) = self.index.module_file(self.lang(), &glob.path) else {
                continue;
            };
            let m = &self.files[file as usize].module;
            if std::ptr::eq(m, module) {
                continue;
            }
            let mut full = if let Some(imp) = m.imports.iter().rev().find(|i| i.alias == *first) {
                imp.path.clone()
            } else if m
                .functions
                .iter()
                .any(|f| f.owner.is_none() && f.name == *first)
                || m.types.iter().any(|t| t.name == *first)
            {
                let mut p = glob.path.clone();
                p.push(first.clone());
                p
            } else {
                continue;
            };
            full.extend(path[1..].iter().cloned());
            return Some(full);
        }
        None
    }

    /// Resolve a type path written in `file`'s module.
    fn resolve_type(&self, file: u32, written: &[Name]) -> Option<TypeRef> {
        if let Some(hit) = self.types.borrow().get(&file).and_then(|m| m.get(written)) {
            return hit.clone();
        }
        let ty = self.resolve_type_uncached(file, written);
        self.types
            .borrow_mut()
            .entry(file)
            .or_default()
            .insert(Path::from(written), ty.clone());
        ty
    }

    fn resolve_type_uncached(&self, file: u32, written: &[Name]) -> Option<TypeRef> {
        let module = &self.files[file as usize].module;
        let last = written.last()?;
        if written.len() == 1 && self.index.type_files(module.language, last).contains(&file) {
            return Some(TypeRef::Project {
                name: last.clone(),
                file,
            });
        }
        let full = self.expand(module, written);
        let name = full.last()?;
        // Imported from a library (`use lettre::Message`): the project's own `Message`
        // elsewhere is another type.
        if self.index.is_library_path(module.language, &full) {
            return Some(TypeRef::External(full));
        }
        // `server::Cmd` where each subcommand module declares a `Cmd`: the one in the
        // module the path names (absolute, or relative to this one).
        let declaring = self.index.type_files(module.language, name);
        if full.len() > 1 && declaring.len() > 1 {
            let relative = || {
                let mut p = module.module_path.clone();
                p.extend(written[..written.len() - 1].iter().cloned());
                self.index.module_file(module.language, &p)
            };
            let named = self
                .index
                .module_file(module.language, &full[..full.len() - 1])
                .filter(|f| declaring.contains(f))
                .or_else(|| relative().filter(|f| declaring.contains(f)));
            if let Some(tf) = named {
                return Some(TypeRef::Project {
                    name: name.clone(),
                    file: tf,
                });
            }
        }
        if let Some(tf) = self.index.type_file(module.language, name, file) {
            // Prefer the project's own type when one of that name exists and the path is
            // not plainly a library's (`std::sync::Mutex`).
            if !self.catalog_knows_type(&full) {
                return Some(TypeRef::Project {
                    name: name.clone(),
                    file: tf,
                });
            }
        }
        Some(TypeRef::External(full))
    }

    fn catalog_knows_type(&self, full: &[Name]) -> bool {
        full.len() > 1 && self.catalog.by_path(self.lang(), full).next().is_some()
    }

    fn field_type(&self, owner: &str, field: &str) -> Option<TypeRef> {
        if let Some(hit) = self.fields.borrow().get(owner).and_then(|m| m.get(field)) {
            return hit.clone();
        }
        let ty = self.field_type_uncached(owner, field);
        self.fields
            .borrow_mut()
            .entry(owner.to_owned())
            .or_default()
            .insert(field.to_owned(), ty.clone());
        ty
    }

    fn field_type_uncached(&self, owner: &str, field: &str) -> Option<TypeRef> {
        let tf = self.index.type_file(self.lang(), owner, self.file)?;
        let decl = self.files[tf as usize]
            .module
            .types
            .iter()
            .find(|t| t.name == owner)?;
        let Some(b) = decl.fields.iter().find(|b| b.name == field) else {
            // A property: `self.states_directory` read as `def states_directory(self) ->
            // Path`.
            if self.lang() != Language::Python {
                return None;
            }
            let id = self.project_method(owner, field, tf)?;
            let ty = self.files[id.file as usize].module.functions[id.func as usize]
                .returns
                .as_ref()?;
            return self.resolve_type(id.file, ty);
        };
        let ty = b.ty.as_ref()?;
        self.resolve_type(tf, ty)
    }

    /// The latest binding of `name` before `at` (locals shadow parameters, which shadow
    /// module globals).
    fn binding<'f>(&'f self, f: &'f Function, name: &str, at: u32) -> Option<&'f Binding> {
        f.local_before(name, at)
            .or_else(|| f.params.iter().find(|b| b.name == name))
            .or_else(|| self.globals().get(name).copied())
    }

    /// `cls(..)` or `cls.name(..)` in a Python classmethod (first parameter `cls`): the
    /// owner's constructor or method.
    fn class_call(&self, f: &Function, p: &[Name]) -> Option<FuncId> {
        if self.lang() != Language::Python || p.first().is_none_or(|c| c != "cls") {
            return None;
        }
        let owner = f.owner.as_deref()?;
        if f.params.first().is_none_or(|b| b.name != "cls") {
            return None;
        }
        let method = match p {
            [_] => "__init__",
            [_, m] => m.as_str(),
            _ => return None,
        };
        self.project_method(owner, method, self.file)
    }

    /// The type of a module-level value that another module of the project defines and
    /// this one imports: `from esphome.core import CORE`, where `CORE = EsphomeCore()`.
    fn imported_global(&self, name: &str) -> Option<TypeRef> {
        let import = self.imports().get(name)?;
        let (global, module) = import.path.split_last()?;
        let file = self.index.module_file(self.lang(), module)?;
        let b = self.files[file as usize]
            .module
            .globals
            .iter()
            .find(|g| g.name == *global)?;
        self.resolve_type(file, b.ty.as_ref()?)
    }

    /// The type of a module-level binding that a function does not shadow.
    fn global_type(&self, f: &Function, name: &str) -> Option<&Path> {
        let g = self.globals().get(name)?;
        if self.imports().contains_key(name)
            || f.locals.iter().any(|b| b.name == name)
            || f.params.iter().any(|b| b.name == name)
        {
            return None;
        }
        g.ty.as_ref()
    }

    fn local_type(&self, f: &Function, name: &str, at: u32, depth: u32) -> Option<TypeRef> {
        let b = self.binding(f, name, at)?;
        // Deeper lookups may be cut short by the depth limit: only top-level ones are kept.
        if depth > 0 {
            return self.binding_type(f, b, depth);
        }
        let key = std::ptr::from_ref(b) as usize;
        if let Some(hit) = self.locals.borrow().get(&key) {
            return hit.clone();
        }
        let ty = self.binding_type(f, b, depth);
        self.locals.borrow_mut().insert(key, ty.clone());
        ty
    }

    fn binding_type(&self, f: &Function, b: &Binding, depth: u32) -> Option<TypeRef> {
        let Some(ty) = &b.ty else {
            return self.result_type(f, b.init_call?, depth + 1);
        };
        // A library call's own return type beats the front end's guess from its path:
        // `reqwest::Client::builder()` makes a `ClientBuilder`, not a `Client`.
        if let Some(c) = b.init_call {
            if let Some(Callee::Path(p)) = f.calls.get(c as usize).map(|c| &c.callee) {
                let full = self.expand(self.module, p);
                if let Some(ret) = self.catalog.returns(self.lang(), &full) {
                    return Some(TypeRef::External(Path::from(ret)));
                }
            }
        }
        self.resolve_type(self.file, ty)
    }

    /// The type a call returns, when the catalogue or the code says.
    fn result_type(&self, f: &Function, call: u32, depth: u32) -> Option<TypeRef> {
        if depth > 8 {
            return None;
        }
        let c = f.calls.get(call as usize)?;
        if let Some(m) = self.global_method(f, c) {
            return self.result_type_of(f, &m, depth);
        }
        self.result_type_of(f, c, depth)
    }

    /// `executor.submit(..)` on a module-level `executor = ThreadPoolExecutor()`, seen as
    /// the method call it is.
    fn global_method(&self, f: &Function, c: &Call) -> Option<Call> {
        let Callee::Path(p) = &c.callee else {
            return None;
        };
        if p.len() != 2 {
            return None;
        }
        self.global_type(f, &p[0])?;
        Some(Call {
            callee: Callee::Method {
                recv: Receiver::Local(p[0].clone()),
                name: p[1].clone(),
            },
            span: c.span,
            ctx: c.ctx,
            awaited: c.awaited,
            n_args: c.n_args,
            is_macro: c.is_macro,
            flags: c.flags,
        })
    }

    fn result_type_of(&self, f: &Function, c: &Call, depth: u32) -> Option<TypeRef> {
        match &c.callee {
            Callee::Path(p) => {
                let full = self.expand(self.module, p);
                if let Some(ret) = self.catalog.returns(self.lang(), &full) {
                    return Some(TypeRef::External(Path::from(ret)));
                }
                // `Type::new(..)` / `Type(..)` construct a `Type`.
                let (ty, ctor) = match self.lang() {
                    Language::Rust => (&p[..p.len().saturating_sub(1)], true),
                    Language::Python => (&p[..], true),
                };
                if ctor
                    && ty
                        .last()
                        .is_some_and(|n| n.chars().next().is_some_and(char::is_uppercase))
                {
                    return self.resolve_type(self.file, ty);
                }
                // A project function's declared return type (`-> Pvariable`), from the
                // call's resolution (memoised per path).
                let hit = self.memo.borrow().get(p).map(|i| i.target.clone());
                match hit.unwrap_or_else(|| self.resolve_call(f, c).target) {
                    // `cls(..)`: an instance of the class whose constructor it calls.
                    Target::Project { func, .. } => {
                        let g =
                            &self.files[func.file as usize].module.functions[func.func as usize];
                        match &g.owner {
                            Some(owner) if g.name == "__init__" => {
                                self.resolve_type(func.file, std::slice::from_ref(owner))
                            }
                            _ => self.declared_return(func),
                        }
                    }
                    _ => None,
                }
            }
            Callee::Method { recv, name } => {
                // Unwrapping and cloning keep the type.
                if matches!(
                    name.as_str(),
                    "unwrap" | "expect" | "clone" | "unwrap_or_default" | "as_ref" | "lock"
                ) {
                    if let Receiver::CallResult(inner) = recv {
                        return self.result_type(f, *inner, depth + 1);
                    }
                }
                match self.receiver_type(f, recv, c.span.start, depth + 1) {
                    Some(TypeRef::External(p)) => {
                        let mut full = p;
                        full.push(name.clone());
                        if let Some(ret) = self.catalog.returns(self.lang(), &full) {
                            return Some(TypeRef::External(Path::from(ret)));
                        }
                        // A library builder's setter the catalogue does not list hands the
                        // builder on (`Client::builder().default_headers(h).timeout(d)`).
                        let builder = full.len() >= 2
                            && full[full.len() - 2].ends_with("Builder")
                            && !BUILDER_FINISHERS.iter().any(|f| name.starts_with(f))
                            && self.catalog.by_path(self.lang(), &full).next().is_none();
                        builder.then(|| {
                            full.pop();
                            TypeRef::External(full)
                        })
                    }
                    Some(TypeRef::Project { name: ty, file }) => self
                        .project_method(&ty, name, file)
                        .and_then(|id| self.declared_return(id)),
                    // Unknown receiver: a method the catalogue knows by name (`.submit()`).
                    None => self
                        .catalog
                        .by_method(self.lang(), name, c.n_args, c.awaited)
                        .find_map(|a| a.returns.clone())
                        .map(TypeRef::External),
                }
            }
            Callee::Unknown => None,
        }
    }

    /// The type a project function declares it returns, resolved where it is declared:
    /// `-> Self` is its owner; `Any`, `object` and type variables (`T`) say nothing. A Python
    /// type the project does not declare is taken as a library's: its methods are not
    /// guessed to be the project's (esphome's `new_Pvariable(..) -> Pvariable` gives a
    /// code-generation object whose every attribute is a method; its `set_state` is not the
    /// dashboard's).
    fn declared_return(&self, id: FuncId) -> Option<TypeRef> {
        let g = &self.files[id.file as usize].module.functions[id.func as usize];
        let ret = g.returns.as_ref()?;
        let last = ret.last()?.as_str();
        if last == "Self" {
            return self.resolve_type(id.file, std::slice::from_ref(g.owner.as_ref()?));
        }
        let type_variable = last.len() == 1 && last.chars().all(|c| c.is_ascii_uppercase());
        if type_variable || matches!(last, "Any" | "object" | "None") {
            return None;
        }
        let resolved = self.resolve_type(id.file, ret);
        // A Rust return type the index does not know is usually an alias of a project type
        // (`LockedSegmentHolder`): unknown, not a library's.
        if resolved.is_none() && self.files[id.file as usize].module.language == Language::Rust {
            return None;
        }
        Some(resolved.unwrap_or_else(|| TypeRef::External(ret.clone())))
    }

    fn receiver_type(&self, f: &Function, recv: &Receiver, at: u32, depth: u32) -> Option<TypeRef> {
        match recv {
            Receiver::SelfValue => f.owner.as_ref().map(|o| TypeRef::Project {
                name: o.as_str().into(),
                file: self.file,
            }),
            Receiver::SelfField(field) => self.field_type(f.owner.as_deref()?, field),
            Receiver::Local(name) => self.local_type(f, name, at, depth).or_else(|| {
                // `Denoise.apply(..)` on a unit struct: an unbound capitalised name is a type.
                let unbound = self.binding(f, name, at).is_none();
                (unbound && name.chars().next().is_some_and(char::is_uppercase))
                    .then(|| self.resolve_type(self.file, std::slice::from_ref(name)))
                    .flatten()
            }),
            Receiver::CallResult(c) => self.result_type(f, *c, depth),
            Receiver::Path(p) => {
                let full = self.expand(self.module, p);
                Some(TypeRef::External(full))
            }
            Receiver::Other => None,
        }
    }

    fn apply_context(&self, f: &Function, infos: &mut [CallInfo<'a>], client_timeout: bool) {
        // `rx.recv().now_or_never()`: a call whose value a future adaptor polls is a future
        // (usually none in a function, and then nothing is allocated).
        let polled: rustc_hash::FxHashSet<u32> = f
            .calls
            .iter()
            .filter_map(|c| match &c.callee {
                Callee::Method {
                    recv: Receiver::CallResult(inner),
                    name,
                } if POLLS.contains(&name.as_str()) => Some(*inner),
                _ => None,
            })
            .collect();
        // Context flags come from the enclosing calls (`spawn_blocking(|| ..)`,
        // `wait_for(..)`, `join!(..)`) and, for timeouts, from the receiver chain
        // (`client.get(u).timeout(d).send()`) and keyword arguments (`timeout=5`).
        for i in 0..f.calls.len() {
            let (mut off, mut conc, mut tmo, mut spawned) = (false, false, false, false);
            for p in f.enclosing_calls(f.calls[i].ctx) {
                let pi = &infos[p as usize];
                off |= pi.has_kind(Kind::Offload);
                conc |= pi.has_kind(Kind::Concurrent);
                spawned |= spawns(&f.calls[p as usize].callee);
                tmo |= pi.has_kind(Kind::Timeout) || timeout_by_name(&f.calls[p as usize]);
            }
            tmo |= self.chain_has_timeout(f, infos, i as u32);
            tmo |= f
                .keywords(i as u32)
                .iter()
                .any(|(k, _)| k == "timeout" || k == "deadline");
            if infos[i].has_kind(Kind::Remote) && client_timeout && Self::on_client(&f.calls[i]) {
                tmo = true;
            }
            // A future handed straight to a timeout or combinator (`timeout(d, rx.recv())`,
            // `select! { v = rx.recv() => .. }`) is awaited through it.
            let as_future = polled.contains(&(i as u32))
                || f.calls[i].ctx.parent_call().is_some_and(|p| {
                    let pi = &infos[p as usize];
                    pi.has_kind(Kind::Timeout)
                        || pi.has_kind(Kind::Concurrent)
                        || timeout_by_name(&f.calls[p as usize])
                        || takes_a_future(&f.calls[p as usize])
                });
            // A call of a function that runs itself on a worker thread (`@work(thread=True)`).
            if let Target::Project { func, .. } = &infos[i].target {
                off |= self.files[func.file as usize].module.functions[func.func as usize]
                    .runs_in_thread;
            }
            let ctx = f.calls[i].ctx;
            let info = &mut infos[i];
            info.offloaded = off;
            info.not_on_executor = f.calls[i].has(
                perfgate_model::CallFlags::DEBUG_ONLY | perfgate_model::CallFlags::OUTSIDE_RUNTIME,
            );
            info.concurrent = conc;
            info.timeout = tmo;
            // A spawned task runs beside its spawner, for as long as it likes: not start-up.
            let run_once = ctx
                .parent_call()
                .is_some_and(|p| runs_to_completion(&f.calls[p as usize].callee));
            info.repeated = ctx.loop_idx().is_some()
                || ((ctx.in_closure || ctx.async_block) && !run_once)
                || spawned;
            let awaited = f.calls[i].awaited || as_future;
            let in_loop = ctx.loop_idx().is_some();
            info.apis.retain(|a| a.when.holds(awaited, in_loop));
            // `Image.open(io.BytesIO(data))`, `pd.read_csv(io.StringIO(text))`: a file API
            // reading a buffer in memory touches no file.
            if info.has_kind(Kind::BlockingIo) && reads_memory(f, i as u32) {
                info.apis.retain(|a| a.kind != Kind::BlockingIo);
            }
        }
    }

    fn chain_has_timeout(&self, f: &Function, infos: &[CallInfo<'a>], call: u32) -> bool {
        let mut cur = Some(call);
        let mut guard = 0;
        while let Some(c) = cur {
            if infos[c as usize].has_kind(Kind::Timeout) && c != call {
                return true;
            }
            cur = match &f.calls[c as usize].callee {
                Callee::Method {
                    recv: Receiver::CallResult(inner),
                    ..
                } => Some(*inner),
                _ => None,
            };
            guard += 1;
            if guard > 64 {
                break;
            }
        }
        false
    }

    /// Remote calls made through a client object (a method call) rather than a bare module
    /// function like `asyncio.open_connection`, which no client-level setting bounds.
    fn on_client(c: &Call) -> bool {
        matches!(c.callee, Callee::Method { .. })
    }

    /// Does any code in this module build a client with a timeout (`timeout=` on a
    /// client constructor, `ClientBuilder::timeout`)? Then its clients are bounded.
    fn module_configures_client_timeout(&self, infos: &[Vec<CallInfo<'a>>]) -> bool {
        self.module.functions.iter().zip(infos).any(|(f, fi)| {
            fi.iter().enumerate().any(|(i, info)| {
                info.has_kind(Kind::ClientTimeout)
                    || (info.has_kind(Kind::Client)
                        && f.keywords(i as u32)
                            .iter()
                            .any(|(k, _)| k.ends_with("timeout")))
            })
        })
    }

    fn resolve_call(&self, f: &Function, c: &Call) -> CallInfo<'a> {
        let lang = self.lang();
        let mut info = CallInfo::default();
        match &c.callee {
            Callee::Path(p) => {
                if let Some(as_method) = self.global_method(f, c) {
                    return self.resolve_call(f, &as_method);
                }
                // `cls(..)` / `cls.create(..)` in a classmethod: the class's own (per
                // function, so not memoised by path).
                if let Some(id) = self.class_call(f, p) {
                    info.target = Target::Project {
                        func: id,
                        confidence: Confidence::Certain,
                    };
                    return info;
                }
                if let Some(hit) = self.memo.borrow().get(p) {
                    return hit.clone();
                }
                // `CORE.get_variable(..)` with `from esphome.core import CORE`.
                if let [value, method] = &p[..] {
                    if let Some(TypeRef::Project { name: ty, file }) = self.imported_global(value) {
                        if let Some(id) = self.project_method(&ty, method, file) {
                            info.target = Target::Project {
                                func: id,
                                confidence: Confidence::Certain,
                            };
                            self.memo.borrow_mut().insert(p.clone(), info.clone());
                            return info;
                        }
                    }
                }
                let full = self.expand(self.module, p);
                if let Some(id) = self.project_path(&full, p) {
                    info.target = Target::Project {
                        func: id,
                        confidence: Confidence::Certain,
                    };
                } else {
                    info.apis = self.catalog.by_path(lang, &full).collect();
                    if info.apis.is_empty() && full.len() > 1 {
                        // An unimported std path written in full, or a bare macro name.
                        info.apis = self.catalog.by_path(lang, p).collect();
                    }
                    if !info.apis.is_empty() {
                        info.target = Target::External(std::sync::Arc::new(full));
                    }
                }
                self.memo.borrow_mut().insert(p.clone(), info.clone());
            }
            Callee::Method { recv, name } => {
                let recv_ty = self.receiver_type(f, recv, c.span.start, 0);
                // Method-name entries guess at unknown receivers; a receiver known to live in
                // memory (`Vec<u8>`, `Cursor`) does no I/O, whatever its method is called.
                let mut in_memory = matches!(&recv_ty, Some(TypeRef::External(p))
                    if self.catalog.type_is(lang, p, Kind::InMemory));
                match recv_ty {
                    Some(TypeRef::Project { name: ty, file }) => {
                        if let Some(id) = self.project_method(&ty, name, file) {
                            info.target = Target::Project {
                                func: id,
                                confidence: Confidence::Certain,
                            };
                        } else {
                            // A std type the project implements its own traits for (`impl
                            // TryFrom<X> for Vec<Y>`) is indexed as the project's, and is
                            // still in memory.
                            in_memory = self.catalog.type_is(
                                lang,
                                std::slice::from_ref(&ty),
                                Kind::InMemory,
                            );
                        }
                    }
                    Some(TypeRef::External(p)) => {
                        let mut full = p;
                        full.push(name.clone());
                        info.apis = self.catalog.by_path(lang, &full).collect();
                        if !info.apis.is_empty() {
                            info.target = Target::External(std::sync::Arc::new(full));
                        }
                    }
                    None => {
                        // The guess first (one table lookup), then whether the receiver is a
                        // library's value, which follows its binding back.
                        if let Some(id) = self
                            .by_name(name, recv)
                            .filter(|_| !self.library_value(f, recv, c.span.start, 0))
                        {
                            info.target = Target::Project {
                                func: id,
                                confidence: Confidence::Assumed,
                            };
                        }
                    }
                }
                if info.apis.is_empty()
                    && !in_memory
                    && !matches!(info.target, Target::Project { .. })
                {
                    info.apis = self
                        .catalog
                        .by_method(lang, name, c.n_args, c.awaited)
                        .collect();
                } else if matches!(
                    info.target,
                    Target::Project {
                        confidence: Confidence::Assumed,
                        ..
                    }
                ) {
                    // A guess at the project's method of that name (qdrant's own
                    // `AdaptiveHandle::spawn_blocking`) still runs its closure off the
                    // executor if the name says so: whatever the receiver, `spawn_blocking`
                    // offloads.
                    info.apis = self
                        .catalog
                        .by_method(lang, name, c.n_args, c.awaited)
                        .filter(|a| a.kind == Kind::Offload)
                        .collect();
                }
            }
            Callee::Unknown => {}
        }
        info
    }

    /// A path call into the project: a function, `Type::method`, or a class constructor.
    fn project_path(&self, full: &[Name], written: &[Name]) -> Option<FuncId> {
        let lang = self.lang();
        // Whatever is found below is a function or type named by the path's last segment,
        // or reached through an import of that name.
        let ends_in_name = |p: &[Name]| {
            p.last()
                .is_some_and(|n| self.index.may_name_symbol(lang, n))
        };
        if !ends_in_name(full) && !ends_in_name(written) {
            return None;
        }
        let here = &self.module.module_path;
        if let Some(id) = self.index.find_symbol(lang, full, here) {
            return Some(id);
        }
        if full != written {
            if let Some(id) = self.index.find_symbol(lang, written, here) {
                return Some(id);
            }
        }
        if let Some(id) = self.index.reexported(lang, full) {
            return Some(id);
        }
        // `Type::method(..)` with `Type` imported, or `Class(..)` -> `Class.__init__`.
        let (ty, method) = match lang {
            Language::Rust if full.len() >= 2 => (&full[full.len() - 2], full.last()?.as_str()),
            Language::Python => (full.last()?, "__init__"),
            _ => return None,
        };
        if !ty.chars().next()?.is_uppercase() {
            return None;
        }
        // `Bytes::from(v)` on a library's `Bytes`: the project's `impl From<Builder> for
        // Bytes` is one conversion among the library's own, and the argument picks which.
        if lang == Language::Rust
            && CONVERSIONS.contains(&method)
            && self.index.is_library_path(lang, full)
        {
            return None;
        }
        let file = self.index.type_file(lang, ty, self.file)?;
        self.project_method(ty, method, file)
    }

    /// Whether a receiver is a value a library made: a local bound to, or a call chain
    /// rooted in, a call of a library path (`let b = Message::builder().from(a);`). The
    /// project's one method of a name is then no guess at what `b.body(..)` calls.
    fn library_value(&self, f: &Function, recv: &Receiver, at: u32, depth: u32) -> bool {
        if depth > 8 {
            return false;
        }
        let call = match recv {
            Receiver::Local(name) => match self.binding(f, name, at) {
                // Declared or constructed (`Message::builder()` is a `Message`'s): a
                // library's type.
                Some(b) if b.ty.is_some() => {
                    return matches!(self.binding_type(f, b, depth), Some(TypeRef::External(_)));
                }
                Some(b) => b.init_call,
                None => None,
            },
            Receiver::CallResult(c) => Some(*c),
            Receiver::SelfField(field) => {
                return f
                    .owner
                    .as_deref()
                    .is_some_and(|owner| self.library_field(owner, field));
            }
            _ => None,
        };
        let Some(c) = call.and_then(|c| f.calls.get(c as usize)) else {
            return false;
        };
        match &c.callee {
            Callee::Path(p) => {
                let full = self.expand(self.module, p);
                self.index.is_library_path(self.lang(), &full)
                    && self.project_path(&full, p).is_none()
            }
            Callee::Method { recv, .. } => self.library_value(f, recv, c.span.start, depth + 1),
            Callee::Unknown => false,
        }
    }

    /// Whether a field of a project type holds a value a library made: its owner's method
    /// that assigns it (`self.logger = logging.getLogger(name)` in `__init__`) calls a
    /// library path for it. (Python: a Rust field's declared type says as much.)
    fn library_field(&self, owner: &str, field: &str) -> bool {
        let Some(tf) = self.index.type_file(self.lang(), owner, self.file) else {
            return false;
        };
        let module = &self.files[tf as usize].module;
        let Some(decl) = module.types.iter().find(|t| t.name == owner) else {
            return false;
        };
        let Some(b) = decl.fields.iter().find(|b| b.name == field) else {
            return false;
        };
        // The field's binding is a copy of the assigning method's local `self.<field>`, and
        // its call index is that method's.
        let Some(call) = b.init_call else {
            return false;
        };
        let Some(method) = module
            .functions
            .iter()
            .find(|m| m.owner.as_deref() == Some(owner) && m.span.encloses(b.span))
        else {
            return false;
        };
        match method.calls.get(call as usize).map(|c| &c.callee) {
            Some(Callee::Path(p)) => {
                let full = self.expand(module, p);
                self.index.is_library_path(self.lang(), &full)
            }
            _ => false,
        }
    }

    /// A method of a project type, looking through its bases (Python classes, Rust traits).
    fn project_method(&self, ty: &str, name: &str, file: u32) -> Option<FuncId> {
        let lineage = self.lineage(ty, file);
        lineage.iter().find_map(|(t, tf)| {
            let id = self.index.method(self.lang(), t, name)?;
            // Methods are indexed by type name across the project. Where two types share a
            // name (textual's four `Selection` classes, a command-line tool's `Cmd` per
            // subcommand module), the one in the type's own file is looked for there. A
            // Python class's methods are all in its file; a Rust type's usually are, but
            // an `impl` may be elsewhere.
            if id.file != *tf {
                let funcs = &self.files[*tf as usize].module.functions;
                let own = funcs
                    .iter()
                    .position(|f| f.name == name && f.owner.as_deref() == Some(t.as_str()));
                match own {
                    Some(func) => {
                        return Some(FuncId {
                            file: *tf,
                            func: func as u32,
                        })
                    }
                    None if self.lang() == Language::Python => return None,
                    None => {}
                }
            }
            Some(id)
        })
    }

    /// A type and its project base types, depth first (at most 16).
    fn lineage(&self, ty: &str, file: u32) -> Lineage {
        if let Some(hit) = self.lineage.borrow().get(&file).and_then(|m| m.get(ty)) {
            return hit.clone();
        }
        let mut out = Vec::new();
        let mut todo = vec![(ty.to_owned(), file)];
        while let Some((t, tf)) = todo.pop() {
            if out.len() >= 16 {
                break;
            }
            if let Some(decl) = self.files[tf as usize]
                .module
                .types
                .iter()
                .find(|d| d.name == t)
            {
                for b in &decl.bases {
                    if let Some(TypeRef::Project { name, file }) = self.resolve_type(tf, b) {
                        todo.push((name.to_string(), file));
                    }
                }
            }
            out.push((t, tf));
        }
        let lineage: Lineage = out.into();
        self.lineage
            .borrow_mut()
            .entry(file)
            .or_default()
            .insert(ty.to_owned(), lineage.clone());
        lineage
    }

    fn by_name(&self, name: &str, recv: &Receiver) -> Option<FuncId> {
        // Locals of unknown type are usually library values; fields and call results are
        // where trait objects and injected services live.
        if matches!(recv, Receiver::Path(_)) {
            return None;
        }
        // The table first: most names have no single project method, and it is one lookup
        // where the list of generic names is a hundred comparisons.
        let only = self.index.method_names[self.lang() as usize]
            .get(name)?
            .as_ref()?;
        if GENERIC_METHODS.contains(&name) || name.starts_with("__") {
            return None;
        }
        Some(*only)
    }
}

/// Does the call start a task that runs on by itself (`tokio::spawn(f())`,
/// `asyncio.create_task(f())`, `nursery.start_soon(f)`)?
/// `block_on(..)`: an async block or closure handed straight to it runs once, there and
/// then (a command line's `rt.block_on(async { cmd::run(cfg).await })`).
fn runs_to_completion(callee: &Callee) -> bool {
    callee.last_name() == "block_on"
}

fn spawns(callee: &Callee) -> bool {
    matches!(
        callee.last_name(),
        "spawn" | "spawn_local" | "create_task" | "ensure_future" | "start_soon"
    )
}
