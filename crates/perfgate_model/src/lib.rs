//! The language-neutral model of a source file.
//!
//! Front ends (`perfgate_lang_rust`, `perfgate_lang_python`) lower syntax into these types;
//! the analysis layer and the rules read only these types. Nothing here knows a grammar, so a
//! third language is one new front end producing a [`Module`].

mod diagnostic;
mod lines;
pub mod scratch;
pub mod timings;
pub mod units;

pub use diagnostic::{Category, Confidence, Finding, RootCause, Severity, TraceStep};
pub use lines::LineIndex;

/// A byte range in one source file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Span {
    pub start: u32,
    pub end: u32,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Self {
        Span {
            start: start as u32,
            end: end as u32,
        }
    }

    pub fn contains(self, offset: u32) -> bool {
        self.start <= offset && offset < self.end
    }

    pub fn encloses(self, other: Span) -> bool {
        self.start <= other.start && other.end <= self.end
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Language {
    Rust,
    Python,
}

impl Language {
    pub fn name(self) -> &'static str {
        match self {
            Language::Rust => "rust",
            Language::Python => "python",
        }
    }

    /// The separator used when a path is written out for this language.
    pub fn path_sep(self) -> &'static str {
        match self {
            Language::Rust => "::",
            Language::Python => ".",
        }
    }
}

/// A growable list stored as one pointer (length and capacity live in its allocation): a
/// function holds eight of them and most are empty, and there are tens of thousands of
/// functions. It derefs to a slice and pushes like a `Vec`.
pub type List<T> = thin_vec::ThinVec<T>;

/// `thin_vec![a, b]`: a [`List`] or [`Path`] literal.
pub use thin_vec::thin_vec;

/// An identifier: a name, field or path segment. Identifiers are short, and a
/// `CompactString` keeps up to 24 bytes inline, so most of the model's names cost no
/// allocation of their own (the model holds hundreds of thousands of them).
pub type Name = compact_str::CompactString;

/// A path such as `std::fs::read` or `torch.cuda.synchronize`, as its segments.
pub type Path = thin_vec::ThinVec<Name>;

/// One parsed source file, lowered.
#[derive(Clone, Debug)]
pub struct Module {
    pub language: Language,
    /// The module's own path: `["my_crate", "engine", "clip"]`, `["pkg", "pipeline"]`.
    pub module_path: Path,
    /// Names brought into scope by `use` / `import`.
    pub imports: Vec<Import>,
    pub types: Vec<TypeDecl>,
    pub functions: Vec<Function>,
    /// Module-level `const`/`static`/global bindings with a numeric value or a known type.
    pub globals: Vec<Binding>,
    /// The parser recovered from syntax errors; the model may be partial.
    pub had_syntax_errors: bool,
    /// Comments (not strings, not doc comments) that mention `perfgate:`: where inline
    /// suppressions may be.
    pub directive_comments: Vec<Span>,
    /// Modules this file declares in other files only for tests (`#[cfg(test)] mod tests;`),
    /// by their full paths: their files are test code, though nothing in them says so.
    pub test_modules: Vec<Path>,
}

impl Module {
    /// A deep copy that allocates list by list across functions (every function's calls,
    /// then every function's loops, ...) instead of function by function. On memory that is
    /// handed out in order (perfgate's arenas), a pass over one kind of list of every
    /// function, which is what the analysis and most rules make, then reads front to back
    /// instead of hopping over the other lists of each function.
    pub fn clone_by_list(&self) -> Module {
        let Module {
            language,
            module_path,
            imports,
            types,
            functions,
            globals,
            had_syntax_errors,
            directive_comments,
            test_modules,
        } = self;
        let mut copy: Vec<Function> = functions
            .iter()
            .map(|f| {
                // Spelled out, not `..`: a field added to `Function` must be copied here too.
                let Function {
                    name,
                    owner,
                    qualname,
                    is_async,
                    async_blocks,
                    span,
                    name_span,
                    role,
                    params: _,
                    locals: _,
                    calls: _,
                    awaits: _,
                    loops: _,
                    locks: _,
                    handlers: _,
                    blocks: _,
                    extra: _,
                    memoized,
                    mut_self,
                } = f;
                Function {
                    name: name.clone(),
                    owner: owner.clone(),
                    qualname: qualname.clone(),
                    is_async: *is_async,
                    async_blocks: *async_blocks,
                    span: *span,
                    name_span: *name_span,
                    role: *role,
                    memoized: *memoized,
                    mut_self: *mut_self,
                    ..Function::default()
                }
            })
            .collect();
        // Most read first: the calls, end to end, then the paths of the path calls (a path
        // is a list of its own, and most passes over calls do not read it).
        for (to, from) in copy.iter_mut().zip(functions) {
            to.calls = from.calls.iter().map(Call::without_path).collect();
        }
        for (to, from) in copy.iter_mut().zip(functions) {
            for (c, f) in to.calls.iter_mut().zip(&from.calls) {
                if let Callee::Path(p) = &f.callee {
                    c.callee = Callee::Path(p.clone());
                }
            }
        }
        for (to, from) in copy.iter_mut().zip(functions) {
            to.loops = from.loops.clone();
            to.awaits = from.awaits.clone();
            to.locks = from.locks.clone();
            to.handlers = from.handlers.clone();
        }
        for (to, from) in copy.iter_mut().zip(functions) {
            to.locals = from.locals.clone();
            to.params = from.params.clone();
        }
        for (to, from) in copy.iter_mut().zip(functions) {
            to.extra = from.extra.clone();
        }
        for (to, from) in copy.iter_mut().zip(functions) {
            to.blocks = from.blocks.clone();
        }
        Module {
            language: *language,
            module_path: module_path.clone(),
            imports: imports.clone(),
            types: types.clone(),
            functions: copy,
            globals: globals.clone(),
            had_syntax_errors: *had_syntax_errors,
            directive_comments: directive_comments.clone(),
            test_modules: test_modules.clone(),
        }
    }
}

/// The marker that starts every perfgate directive comment.
pub const DIRECTIVE: &str = "perfgate:";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Import {
    /// The name this import binds locally (`d` in `use a::b::c as d`, `np` in `import numpy as np`).
    pub alias: Name,
    /// The absolute path it refers to.
    pub path: Path,
}

/// A struct, enum or class with the fields whose types the front end could read.
#[derive(Clone, Debug)]
pub struct TypeDecl {
    pub name: Name,
    pub span: Span,
    pub fields: Vec<Binding>,
    /// Base classes / implemented traits, as written.
    pub bases: Vec<Path>,
    /// For fields whose type sits inside lock and cell wrappers, that type, by field index:
    /// `HashMap` for a `Mutex<HashMap<K, V>>` field.
    pub inner: Vec<(u32, Path)>,
}

/// A name with what is known of its value: a declared or constructed type, or a constant.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Binding {
    pub name: Name,
    /// The type path as written (`reqwest::Client`, `aiohttp.ClientSession`), unresolved.
    pub ty: Option<Path>,
    /// Set when the value was produced by a call (`Client::new()`, `ClientSession(...)`): the
    /// call's index in the function, so the analysis can see how it was built.
    pub init_call: Option<u32>,
    /// A numeric constant value (seconds for durations), when the binding is one.
    pub number: Option<f64>,
    pub span: Span,
}

pub type FuncIdx = u32;

#[derive(Clone, Debug, Default)]
pub struct Function {
    /// Inline when short, as most are: a project has tens of thousands of functions.
    pub name: Name,
    /// The type or class that owns this method, if any.
    pub owner: Option<Name>,
    /// `ClipEngine::compute_score` / `Pipeline._generate_audio` / `helpers::load`.
    pub qualname: Name,
    pub is_async: bool,
    /// Holds an `async { }` block or an async closure: code that runs on the executor even
    /// in a sync function (each call there says so in its context).
    pub async_blocks: bool,
    pub span: Span,
    pub name_span: Span,
    /// Tests, benches and entry points (`main`, `#[tokio::main]`) run once, not per request.
    pub role: FunctionRole,
    pub params: List<Binding>,
    pub locals: List<Binding>,
    pub calls: List<Call>,
    pub awaits: List<Await>,
    pub loops: List<Loop>,
    pub locks: List<Lock>,
    pub handlers: List<Handler>,
    pub blocks: List<Block>,
    /// Rarely present facts, boxed: most functions have none, and functions are many.
    pub extra: Option<Box<FunctionExtra>>,
    /// The function caches its own result (`@lru_cache`, `@cached_property`, `#[cached]`):
    /// its body runs once per distinct input, not once per call.
    pub memoized: bool,
    /// A method that borrows its receiver exclusively (`&mut self`): two calls of it, or
    /// one of it and another of the same receiver's methods, cannot run at once.
    pub mut_self: bool,
}

#[derive(Clone, Debug, Default)]
pub struct FunctionExtra {
    /// Writes to long-lived collections that are not calls: `self.cache[k] = v`,
    /// `del self.cache[k]`, `self.cache = {}`, `len(self.cache)`.
    pub mutations: Vec<Mutation>,
    /// Calls whose first argument is `self.field` or a module global, by call index, in
    /// order: what `copy.deepcopy(self.buf)` or `evict(&mut self.cache)` act on.
    pub arg0: Vec<(u32, Receiver)>,
    /// Keyword arguments (Python) of the calls that have any, by call index, in order, with
    /// their literal numbers: `timeout=5`, `maxlen=100`. Kept aside: calls are the model's
    /// bulk and most have none.
    pub keywords: Vec<(u32, Keywords)>,
}

/// A call's keyword arguments and their literal numbers, if any.
pub type Keywords = Box<[(Name, Option<f64>)]>;

/// What a statement does to a collection, as far as growth is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MutOp {
    /// Adds an entry (`self.cache[k] = v`).
    Insert,
    /// Removes entries (`del self.cache[k]`).
    Remove,
    /// Replaces the whole collection (`self.cache = {}` outside the constructor,
    /// `std::mem::take(&mut self.cache)`).
    Reset,
    /// Reads its size (`len(self.cache)`): the code may bound it.
    Measure,
}

#[derive(Clone, Debug)]
pub struct Mutation {
    /// `SelfField`, a module global as `Path`, or a `Local`.
    pub target: Receiver,
    pub op: MutOp,
    pub span: Span,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FunctionRole {
    #[default]
    Normal,
    Test,
    Entry,
}

/// How a call names what it calls. Resolution happens in the analysis layer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Callee {
    /// `f()`, `a::b::f()`, `Self::f()`, `np.zeros()` where `np` is not a local value.
    Path(Path),
    /// `recv.name()`.
    Method { recv: Receiver, name: Name },
    /// A call of something we cannot name (`(get_fn())()`, `x[0]()`).
    Unknown,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Receiver {
    /// `self`
    SelfValue,
    /// `self.field` (a chain `self.a.b` keeps the first field and is marked `Other`).
    SelfField(Name),
    /// A local variable or parameter.
    Local(Name),
    /// The value returned by another call of this function (index into `Function::calls`).
    CallResult(u32),
    /// A path used as a value (`String::new().len()` aside): `CONFIG.get()`.
    Path(Path),
    Other,
}

/// Where a call, await or lock sits inside its function. Only syntax: what the enclosing
/// calls *mean* (timeout, offload, join) is decided by the analysis from the API catalogue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Context {
    /// Innermost enclosing loop (index into `Function::loops`); see [`Context::loop_idx`].
    loop_idx: u32,
    /// Enclosing block (index into `Function::blocks`) and statement index inside it.
    pub block: u32,
    pub stmt: u32,
    /// See [`Context::parent_call`].
    parent_call: u32,
    /// See [`Context::handler`].
    handler: u32,
    /// Inside a closure or lambda: runs when called, maybe later, maybe elsewhere.
    pub in_closure: bool,
    /// Inside an `async { }` block or async closure of a (possibly sync) function.
    pub async_block: bool,
}

/// The optional indexes of a [`Context`] are stored as `u32` with this for "none": every
/// call, await, loop and lock has a context, and three `Option<u32>` would take 12 bytes
/// more each.
const NONE: u32 = u32::MAX;

fn pack(i: Option<u32>) -> u32 {
    i.filter(|&i| i != NONE).unwrap_or(NONE)
}

fn unpack(i: u32) -> Option<u32> {
    (i != NONE).then_some(i)
}

impl Default for Context {
    fn default() -> Self {
        Context::new(None, 0, 0, None, false, false, None)
    }
}

impl Context {
    pub fn new(
        loop_idx: Option<u32>,
        block: u32,
        stmt: u32,
        parent_call: Option<u32>,
        in_closure: bool,
        async_block: bool,
        handler: Option<u32>,
    ) -> Self {
        Context {
            loop_idx: pack(loop_idx),
            block,
            stmt,
            parent_call: pack(parent_call),
            handler: pack(handler),
            in_closure,
            async_block,
        }
    }

    /// Innermost enclosing loop (index into `Function::loops`).
    pub fn loop_idx(&self) -> Option<u32> {
        unpack(self.loop_idx)
    }

    /// Innermost call whose arguments, closure argument or `with` scope contain this node
    /// (index into `Function::calls`): `spawn_blocking(|| f())`, `wait_for(f(), 3)`,
    /// `async with asyncio.timeout(3): await f()`.
    pub fn parent_call(&self) -> Option<u32> {
        unpack(self.parent_call)
    }

    /// Inside an exception / cancellation handler (index into `Function::handlers`).
    pub fn handler(&self) -> Option<u32> {
        unpack(self.handler)
    }
}

#[derive(Clone, Debug)]
pub struct Call {
    pub callee: Callee,
    pub span: Span,
    pub ctx: Context,
    /// The call's value is awaited (directly, or through `?`/`.await` chains).
    pub awaited: bool,
    pub n_args: u32,
    /// A `macro!(...)` invocation rather than a function call.
    pub is_macro: bool,
    /// [`CallFlags`] bits: what the arguments read and where the result goes.
    pub flags: u8,
}

impl Call {
    /// A copy, except that a path callee is left `Unknown` (see [`Module::clone_by_list`]).
    fn without_path(&self) -> Call {
        // Spelled out, not `..`: a field added to `Call` must be copied here too.
        let Call {
            callee,
            span,
            ctx,
            awaited,
            n_args,
            is_macro,
            flags,
        } = self;
        Call {
            callee: match callee {
                Callee::Path(_) => Callee::Unknown,
                other => other.clone(),
            },
            span: *span,
            ctx: *ctx,
            awaited: *awaited,
            n_args: *n_args,
            is_macro: *is_macro,
            flags: *flags,
        }
    }
}

/// Bits of [`Call::flags`]. Computed by the front ends from syntax alone.
pub struct CallFlags;

impl CallFlags {
    /// Every argument is a literal or a named constant (`Regex::new("^a+$")`,
    /// `tokenizer.encode(SYSTEM_PROMPT)`); a call with no arguments has none.
    pub const ARGS_CONST: u8 = 1;
    /// An argument reads a name the innermost enclosing loop changes: its variables or a
    /// name assigned in its body.
    pub const ARGS_VARY_INNER: u8 = 2;
    /// The same for any enclosing loop.
    pub const ARGS_VARY_ANY: u8 = 4;
    /// The result leaves the function: returned (directly, through a local, or wrapped in
    /// `Ok`/`Some`/a struct literal), or yielded.
    pub const RETURNED: u8 = 8;
    /// The result is kept beyond the call: stored on `self`, in a global, or pushed into a
    /// collection.
    pub const STORED: u8 = 16;
    /// Not a call in the source but an operator perfgate models as one: `x in items`
    /// (`__contains__`), `s += "..."` on a string (`__iadd__`).
    pub const OPERATOR: u8 = 32;
    /// An argument is lent exclusively: `&mut conn`, `&mut self.buf`, or a name bound to a
    /// `&mut` borrow (a parameter `pool: &mut DbPool`) passed on. Two calls that hold such a
    /// loan of one name cannot run at once (Rust refuses to compile it).
    pub const EXCLUSIVE: u8 = 64;
    /// Inside a branch taken only in debug mode (`if self._debug:`, `if loop.get_debug():`,
    /// `if cfg!(debug_assertions)`): not what runs in production.
    pub const DEBUG_ONLY: u8 = 128;
}

impl Call {
    pub fn has(&self, flag: u8) -> bool {
        self.flags & flag != 0
    }
}

#[derive(Clone, Debug)]
pub struct Await {
    pub span: Span,
    pub ctx: Context,
    /// The outermost call that is awaited (`client.get(u).send()` -> the `send` call).
    pub call: Option<u32>,
    /// Names this await's statement binds (`let x = f().await`, `x = await f()`).
    pub binds: List<Name>,
    /// Names the awaited expression reads.
    pub uses: List<Name>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoopKind {
    For,
    While,
    Loop,
    Comprehension,
}

/// What a loop's trip count looks like from the source.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum TripCount {
    /// A literal or named-constant bound (`0..224`, `range(3)`, `for f in [a, b, c]`).
    Const(u64),
    /// Depends on data (`for x in items`, `0..n`).
    Dynamic,
    /// `loop {}` / `while True:`.
    Unbounded,
}

#[derive(Clone, Debug)]
pub struct Loop {
    pub kind: LoopKind,
    pub span: Span,
    /// The loop header (`for y in 0..224`), for messages.
    pub header: String,
    pub parent: Option<u32>,
    /// 1 for an outermost loop.
    pub depth: u32,
    pub trip: TripCount,
    /// The root name iterated over (`items` in `for x in self.items.iter()`), if any.
    pub iter_root: Option<Name>,
    /// The loop variable names.
    pub vars: List<Name>,
    /// The body does arithmetic on values / indexes into buffers (nested loops included).
    pub body_arith: bool,
    pub body_index: bool,
    /// The loop can end other than by exhausting its iterator: `break`, `return`, a `while` test.
    pub has_exit: bool,
    /// The innermost enclosing loop inside whose body `iter_root` is bound anew before
    /// this loop (`let items = ..`, a match arm `Array(items) =>`): each of its iterations
    /// gives this loop a different collection.
    pub rebound_in: Option<u32>,
    pub ctx: Context,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LockKind {
    /// A guard whose holder blocks the thread (`std::sync::Mutex`, `parking_lot`, `threading.Lock`).
    Blocking,
    /// An async-aware lock (`tokio::sync::Mutex`, `asyncio.Lock`): fine across awaits.
    Async,
}

#[derive(Clone, Debug)]
pub struct Lock {
    pub kind: LockKind,
    pub span: Span,
    /// The guard's binding, if named.
    pub guard: Option<Name>,
    /// The guard is alive over `[span.end, live_until)`.
    pub live_until: u32,
    /// What is locked, as written (`self.state`).
    pub target: String,
    /// Receiver of the lock call, for type lookups.
    pub recv: Receiver,
    pub ctx: Context,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HandlerKind {
    /// `except asyncio.CancelledError`
    Cancelled,
    /// `except asyncio.TimeoutError` / `TimeoutError`, a timeout's `Err` arm.
    Timeout,
    Other,
}

#[derive(Clone, Debug)]
pub struct Handler {
    pub kind: HandlerKind,
    pub span: Span,
    /// The handler re-raises or returns (abandoning the work).
    pub exits: bool,
}

/// A statement list; statements record the names they define and read, which is what the
/// dependency checks between awaits need (front ends may leave `stmts` empty in functions
/// with fewer than two awaits, where nothing reads them).
#[derive(Clone, Debug, Default)]
pub struct Block {
    pub parent: Option<u32>,
    pub span: Span,
    /// Runs only when a condition holds: an `if`/`else`/`elif` branch, a `match` arm, an
    /// `except` handler, a loop's `else`, a `let ... else`.
    pub conditional: bool,
    pub stmts: List<StmtFacts>,
}

#[derive(Clone, Debug, Default)]
pub struct StmtFacts {
    pub span: Span,
    pub defs: List<Name>,
    pub uses: List<Name>,
    /// Can leave the block early: holds a `return`, `raise`, `break` or `continue`, an
    /// assertion, or is a check whose error is passed up (`check(&x)?;`). What follows it
    /// runs only if it did not, so it orders what it reads before what follows.
    pub exits: bool,
}

impl Function {
    /// Open a block nested in `current` (the first block is the body and has no parent);
    /// returns its index.
    pub fn open_block(&mut self, current: u32, span: Span, conditional: bool) -> u32 {
        let parent = (!self.blocks.is_empty()).then_some(current);
        self.blocks.push(Block {
            parent,
            span,
            conditional,
            stmts: List::new(),
        });
        self.blocks.len() as u32 - 1
    }

    /// The first argument of a call, when it is `self.field` or a module global.
    pub fn arg0(&self, call: u32) -> Option<&Receiver> {
        let a = &self.extra.as_ref()?.arg0;
        a.binary_search_by_key(&call, |(c, _)| *c)
            .ok()
            .map(|i| &a[i].1)
    }

    /// Every call's first argument that is `self.field` or a module global, by call index,
    /// in call order (see [`FunctionExtra::arg0`]).
    pub fn arg0s(&self) -> &[(u32, Receiver)] {
        self.extra.as_ref().map_or(&[], |e| &e.arg0)
    }

    /// See [`FunctionExtra::mutations`].
    pub fn mutations(&self) -> &[Mutation] {
        self.extra.as_ref().map_or(&[], |e| &e.mutations)
    }

    fn extra_mut(&mut self) -> &mut FunctionExtra {
        self.extra.get_or_insert_with(Default::default)
    }

    pub fn push_mutation(&mut self, m: Mutation) {
        self.extra_mut().mutations.push(m);
    }

    pub fn push_arg0(&mut self, call: u32, r: Receiver) {
        self.extra_mut().arg0.push((call, r));
    }

    /// The keyword arguments of a call (none for most).
    pub fn keywords(&self, call: u32) -> &[(Name, Option<f64>)] {
        let Some(e) = self.extra.as_ref() else {
            return &[];
        };
        match e.keywords.binary_search_by_key(&call, |(c, _)| *c) {
            Ok(i) => &e.keywords[i].1,
            Err(_) => &[],
        }
    }

    /// Record a call's keyword arguments; calls are pushed in order.
    pub fn push_keywords(&mut self, call: u32, keywords: Keywords) {
        if !keywords.is_empty() {
            self.extra_mut().keywords.push((call, keywords));
        }
    }

    /// Is the loop `inner` nested in (or equal to) `outer`?
    /// The latest local binding of `name` at or before the offset `at`: the one a read of
    /// `name` there sees (parameters aside).
    pub fn local_before(&self, name: &str, at: u32) -> Option<&Binding> {
        self.locals
            .iter()
            .rev()
            .find(|b| b.name == name && b.span.start <= at)
    }

    pub fn loop_within(&self, inner: u32, outer: u32) -> bool {
        let mut cur = Some(inner);
        while let Some(i) = cur {
            if i == outer {
                return true;
            }
            cur = self.loops.get(i as usize).and_then(|l| l.parent);
        }
        false
    }

    /// Is the block `inner` nested in (or equal to) `outer`?
    pub fn block_within(&self, inner: u32, outer: u32) -> bool {
        let mut cur = Some(inner);
        while let Some(i) = cur {
            if i == outer {
                return true;
            }
            cur = self.blocks.get(i as usize).and_then(|b| b.parent);
        }
        false
    }
}

/// Why a front end could not lower a file at all (recoverable syntax errors are not
/// failures: the model then says `had_syntax_errors`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrontendError(pub String);

impl std::fmt::Display for FrontendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for FrontendError {}

/// Split a written path (`std::fs::read`, `torch.cuda.synchronize`) into segments.
pub fn split_path(s: &str) -> Path {
    s.split("::")
        .flat_map(|p| p.split('.'))
        .filter(|p| !p.is_empty())
        .map(Name::from)
        .collect()
}

/// Collapse runs of whitespace so the text of a statement is stable under reformatting.
pub fn normalize_ws(s: &str, max: usize) -> String {
    let mut out = String::with_capacity(s.len().min(max));
    let mut last_ws = false;
    for c in s.chars() {
        if c.is_whitespace() {
            if !last_ws && !out.is_empty() {
                out.push(' ');
            }
            last_ws = true;
        } else {
            out.push(c);
            last_ws = false;
        }
        if out.len() >= max {
            out.push('…');
            break;
        }
    }
    out.trim_end().to_owned()
}

/// A checked file: its lowered model, its line index, and its text.
///
/// The text is only needed for the few files that have findings (snippets, fingerprints)
/// or suppression comments, so a file read from disk can drop it after lowering and read it
/// again on first use: the whole project's text then never sits in memory at once.
#[derive(Debug)]
pub struct SourceFile {
    /// Relative to the checked root, `/`-separated.
    pub path: String,
    /// Made when first asked for (see [`SourceFile::lines`]).
    lines: std::sync::OnceLock<LineIndex>,
    pub module: Module,
    text: std::sync::OnceLock<String>,
    /// Where to read the text again, and its length when it was lowered.
    origin: Option<(std::path::PathBuf, usize)>,
}

impl Clone for SourceFile {
    fn clone(&self) -> Self {
        SourceFile {
            path: self.path.clone(),
            lines: self.lines.clone(),
            module: self.module.clone(),
            text: self.text.clone(),
            origin: self.origin.clone(),
        }
    }
}

impl SourceFile {
    /// A file whose text stays in memory.
    pub fn new(path: String, text: String, module: Module) -> Self {
        SourceFile {
            path,
            lines: std::sync::OnceLock::new(),
            module,
            text: std::sync::OnceLock::from(text),
            origin: None,
        }
    }

    /// A file read from disk whose text (`len` bytes when it was lowered) is not kept: it
    /// is read again from `origin` when needed.
    pub fn on_disk(path: String, origin: std::path::PathBuf, len: usize, module: Module) -> Self {
        SourceFile {
            path,
            lines: std::sync::OnceLock::new(),
            module,
            text: std::sync::OnceLock::new(),
            origin: Some((origin, len)),
        }
    }

    /// Keep the text of a file read from disk after all (it must be the text it was
    /// lowered from): its findings and suppressions then need no second read.
    pub fn keep_text(&mut self, text: String) {
        let _ = self.text.set(text);
    }

    /// The file's text; empty if it was read from disk and has changed since.
    pub fn text(&self) -> &str {
        self.text.get_or_init(|| {
            let Some((origin, len)) = &self.origin else {
                return String::new();
            };
            std::fs::read_to_string(origin)
                .ok()
                .filter(|t| t.len() == *len)
                .unwrap_or_default()
        })
    }

    pub fn slice(&self, span: Span) -> &str {
        self.text()
            .get(span.start as usize..span.end as usize)
            .unwrap_or("")
    }

    /// Where each line starts. Made on first use, from the text (read again if it was
    /// forgotten): only files with findings need it, and indexing every file cost a twentieth
    /// of the parse phase on the CPython standard library.
    pub fn lines(&self) -> &LineIndex {
        self.lines.get_or_init(|| LineIndex::new(self.text()))
    }

    /// 1-based line and character column of a byte offset.
    pub fn line_col(&self, offset: u32) -> (u32, u32) {
        self.lines().line_col(self.text(), offset)
    }

    /// The text of a 1-based line.
    pub fn line_text(&self, line: u32) -> &str {
        self.lines().line_text(self.text(), line)
    }
}
