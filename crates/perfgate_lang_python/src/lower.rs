//! Lowering of ruff's Python AST into perfgate's model.

use perfgate_model::{
    normalize_ws, strip_comments, Await, Binding, Call, CallFlags, Callee, Context, Function,
    FunctionRole, Handler, HandlerKind, Import, Language, List, Lock, LockKind, Loop, LoopKind,
    Module, MutOp, Mutation, Name, Path, Receiver, Span, StmtFacts, TripCount, TypeDecl,
};
use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::{self as ast, ExceptHandler, Expr, Stmt};
use ruff_text_size::Ranged;
use rustc_hash::{FxHashMap, FxHashSet};
use std::rc::Rc;

/// What `built_from` records a value assigned to an attribute or an item as: kept. Not a
/// Python identifier, so no local's name.
const STORED_VALUE: &str = "<stored>";

fn span_of(node: &impl Ranged) -> Span {
    let r = node.range();
    Span::new(r.start().to_usize(), r.end().to_usize())
}

pub(crate) fn lower_module(
    src: &str,
    suite: &ast::ModModule,
    module_path: Path,
    is_package: bool,
    is_test_file: bool,
) -> Module {
    let mut cx = ModuleLower {
        src,
        module: Module::empty(Language::Python, module_path),
        is_package,
        is_test_file,
        class_fields: FxHashMap::default(),
        consts: Rc::new(module_consts(&suite.body)),
    };
    // A test file's imports, module-level code and classes serve its tests, which are not in
    // the model (only its benchmarks are, as signatures: see `lower_nested`).
    if !is_test_file {
        cx.collect_imports(&suite.body);
    }
    // Module-level statements run once, at import: model them as an entry function (test
    // code, in a test file).
    let mut top = FnLower::new(&cx, "<module>".into(), None, false, span_of(suite));
    top.func.role = if is_test_file {
        FunctionRole::Test
    } else {
        FunctionRole::Entry
    };
    top.lower_suite(&suite.body, span_of(suite));
    let (mut top_fn, nested) = top.finish();
    if is_test_file {
        top_fn = Function {
            name: top_fn.name,
            qualname: top_fn.qualname,
            span: top_fn.span,
            role: FunctionRole::Test,
            ..Function::default()
        };
    }
    for b in &top_fn.locals {
        // `init_call` indexes the module function's calls: meaningless elsewhere.
        cx.module.globals.push(Binding {
            init_call: None,
            ..b.clone()
        });
    }
    cx.module.functions.push(top_fn);
    cx.lower_nested(nested);
    let ModuleLower {
        mut module,
        class_fields,
        ..
    } = cx;
    for ty in &mut module.types {
        if let Some(fields) = class_fields.get(ty.name.as_str()) {
            for f in fields {
                if !ty.fields.iter().any(|x| x.name == f.name) {
                    ty.fields.push(f.clone());
                }
            }
        }
    }
    module
}

/// The model of a test file without benchmarks, as [`lower_module`] makes it from the
/// parse tree, made without one: its path and its module-level code's signature.
pub(crate) fn test_module(src: &str, module_path: Path) -> Module {
    Module {
        functions: vec![Function {
            name: "<module>".into(),
            qualname: "<module>".into(),
            span: Span::new(0, src.len()),
            role: FunctionRole::Test,
            ..Function::default()
        }],
        ..Module::empty(Language::Python, module_path)
    }
}

/// A definition found while lowering a body, lowered after it (keeps recursion shallow).
enum Nested<'a> {
    Function {
        def: &'a ast::StmtFunctionDef,
        owner: Option<String>,
        prefix: String,
        /// The enclosing function returns it (`return wrapper`): see `Function::decorator`.
        returned: bool,
        /// A method of a class that hands out one instance per process (see
        /// [`hands_out_one_instance`]).
        singleton: bool,
    },
    Class {
        def: &'a ast::StmtClassDef,
        prefix: String,
    },
}

struct ModuleLower<'s> {
    src: &'s str,
    module: Module,
    is_package: bool,
    is_test_file: bool,
    /// `self.x = ...` assignments seen in methods, per class.
    class_fields: FxHashMap<String, Vec<Binding>>,
    /// Module-level numeric constants (`SIZE = 224`), for loop trip counts.
    consts: Rc<FxHashMap<String, f64>>,
}

fn module_consts(body: &[Stmt]) -> FxHashMap<String, f64> {
    let mut out = FxHashMap::default();
    for s in body {
        let (target, value) = match s {
            Stmt::Assign(a) if a.targets.len() == 1 => (&a.targets[0], &*a.value),
            Stmt::AnnAssign(a) => match &a.value {
                Some(v) => (&*a.target, &**v),
                None => continue,
            },
            _ => continue,
        };
        if let (Expr::Name(n), Some(v)) = (target, number(value)) {
            out.insert(n.id.to_string(), v);
        }
    }
    out
}

impl<'s> ModuleLower<'s> {
    fn collect_imports(&mut self, body: &[Stmt]) {
        // Imports anywhere at module level, including under `if TYPE_CHECKING:` / `try:`.
        struct Collector<'m, 's> {
            cx: &'m mut ModuleLower<'s>,
        }
        impl<'a> Visitor<'a> for Collector<'_, '_> {
            fn visit_stmt(&mut self, stmt: &'a Stmt) {
                match stmt {
                    Stmt::Import(imp) => {
                        for alias in &imp.names {
                            let full = perfgate_model::split_path(alias.name.id.as_str());
                            match &alias.asname {
                                Some(as_) => self.cx.module.imports.push(Import {
                                    alias: as_.id.as_str().into(),
                                    path: full,
                                }),
                                None => {
                                    // `import a.b` binds `a`.
                                    if let Some(first) = full.first() {
                                        self.cx.module.imports.push(Import {
                                            alias: first.clone(),
                                            path: perfgate_model::thin_vec![first.clone()],
                                        });
                                    }
                                }
                            }
                        }
                    }
                    Stmt::ImportFrom(imp) => {
                        let mut base = self.cx.relative_base(imp.level);
                        if let Some(m) = &imp.module {
                            base.extend(perfgate_model::split_path(m.id.as_str()));
                        }
                        for alias in &imp.names {
                            // `from .models import *`: everything the module names, under
                            // the alias `*`.
                            if alias.name.id.as_str() == "*" {
                                self.cx.module.imports.push(Import {
                                    alias: "*".into(),
                                    path: base.clone(),
                                });
                                continue;
                            }
                            let mut path = base.clone();
                            path.push(alias.name.id.as_str().into());
                            let local = alias.asname.as_ref().unwrap_or(&alias.name);
                            self.cx.module.imports.push(Import {
                                alias: local.id.as_str().into(),
                                path,
                            });
                        }
                    }
                    Stmt::FunctionDef(_) | Stmt::ClassDef(_) => {}
                    _ => visitor::walk_stmt(self, stmt),
                }
            }
            fn visit_expr(&mut self, _expr: &'a Expr) {}
        }
        let mut c = Collector { cx: self };
        for s in body {
            c.visit_stmt(s);
        }
    }

    /// The package a relative import of `level` dots starts from.
    fn relative_base(&self, level: u32) -> Path {
        if level == 0 {
            return Path::new();
        }
        let mut base = self.module.module_path.clone();
        if !self.is_package {
            base.pop();
        }
        for _ in 1..level {
            base.pop();
        }
        base
    }

    fn lower_nested(&mut self, mut work: Vec<Nested<'_>>) {
        while let Some(item) = work.pop() {
            match item {
                Nested::Function {
                    def,
                    owner,
                    prefix,
                    returned,
                    singleton,
                } => {
                    // A test file's functions are tests and helpers no rule reads: only
                    // benchmarks (pytest-benchmark's take its `benchmark` fixture; asv's are
                    // named `time_*`, ...) are kept, for the benchmark rules. On a well-tested
                    // project the others were a fifth of the model, whose memory is most of a
                    // check's system time.
                    if self.is_test_file && !is_benchmark(def) {
                        continue;
                    }
                    let qual = if prefix.is_empty() {
                        def.name.id.to_string()
                    } else {
                        format!("{prefix}.{}", def.name.id)
                    };
                    let mut fl =
                        FnLower::new(self, qual, owner.clone(), def.is_async, span_of(def));
                    fl.func.name = def.name.id.as_str().into();
                    fl.func.name_span = span_of(&def.name);
                    fl.func.role = self.role_of(def);
                    fl.func.memoized = def
                        .decorator_list
                        .iter()
                        .any(|d| is_memoizer(&d.expression));
                    fl.func.runs_in_thread = def
                        .decorator_list
                        .iter()
                        .any(|d| runs_in_thread(&d.expression));
                    fl.func.decorator = returned;
                    fl.self_once = singleton;
                    fl.lower_params(&def.parameters);
                    fl.func.returns = def.returns.as_deref().and_then(annotation_path);
                    // A test keeps its signature (its name for resolution, pytest-benchmark's
                    // `benchmark` parameter) but not its body: no rule reads test code, and
                    // lowering it was a third of the work on a well-tested project. (In a test
                    // file, only benchmarks are kept at all: see above.)
                    if fl.func.role != FunctionRole::Test {
                        fl.lower_suite(&def.body, span_of(def));
                    }
                    let (func, nested) = fl.finish();
                    if let Some(owner) = &owner {
                        let fields = self.class_fields.entry(owner.clone()).or_default();
                        for f in &func_self_fields(&func) {
                            if !fields.iter().any(|x| x.name == f.name) {
                                fields.push(f.clone());
                            }
                        }
                    }
                    self.module.functions.push(func);
                    work.extend(nested);
                }
                Nested::Class { def, prefix } => {
                    let name = def.name.id.to_string();
                    let mut decl = TypeDecl {
                        name: name.as_str().into(),
                        span: span_of(def),
                        fields: Vec::new(),
                        bases: Vec::new(),
                        inner: Vec::new(),
                    };
                    if let Some(args) = &def.arguments {
                        for b in args.args.iter() {
                            if let Some(p) = dotted(b) {
                                decl.bases.push(p);
                            }
                        }
                    }
                    let qual = if prefix.is_empty() {
                        name.clone()
                    } else {
                        format!("{prefix}.{name}")
                    };
                    let singleton = hands_out_one_instance(def);
                    for stmt in &def.body {
                        match stmt {
                            Stmt::FunctionDef(f) => work.push(Nested::Function {
                                def: f,
                                owner: Some(name.clone()),
                                prefix: qual.clone(),
                                returned: false,
                                singleton,
                            }),
                            Stmt::ClassDef(c) => work.push(Nested::Class {
                                def: c,
                                prefix: qual.clone(),
                            }),
                            Stmt::AnnAssign(a) => {
                                if let Expr::Name(n) = a.target.as_ref() {
                                    decl.fields.push(Binding {
                                        name: n.id.as_str().into(),
                                        ty: annotation_path(&a.annotation),
                                        span: span_of(a),
                                        ..Binding::default()
                                    });
                                }
                            }
                            Stmt::Assign(a) => {
                                for t in &a.targets {
                                    if let Expr::Name(n) = t {
                                        decl.fields.push(Binding {
                                            name: n.id.as_str().into(),
                                            ty: call_path(&a.value),
                                            number: number(&a.value),
                                            span: span_of(a),
                                            ..Binding::default()
                                        });
                                    }
                                }
                            }
                            _ => {}
                        }
                    }
                    if !self.is_test_file {
                        self.module.types.push(decl);
                    }
                }
            }
        }
    }

    fn role_of(&self, def: &ast::StmtFunctionDef) -> FunctionRole {
        let name = def.name.id.as_str();
        if self.is_test_file
            || name.starts_with("test_")
            || name.starts_with("bench_")
            || perfgate_model::is_test_helper_name(name)
        {
            FunctionRole::Test
        } else if name == "main"
            || name == "__init__"
            || perfgate_model::STARTUP_NAMES.contains(&name.trim_start_matches('_'))
            || runs_at_start_or_stop(def)
            || initialises_class(def)
        {
            FunctionRole::Entry
        } else {
            FunctionRole::Normal
        }
    }
}

/// Is the function a benchmark: does it take pytest-benchmark's `benchmark` fixture, or is
/// it named as asv's are (`time_*`, `mem_*`, `peakmem_*`, `track_*`)?
fn is_benchmark(def: &ast::StmtFunctionDef) -> bool {
    let name = def.name.id.as_str();
    ["time_", "mem_", "peakmem_", "track_"]
        .iter()
        .any(|p| name.starts_with(p))
        || def
            .parameters
            .iter_non_variadic_params()
            .any(|p| p.parameter.name.id.as_str() == "benchmark")
}

/// A classmethod that sets a library up for the process (`Tortoise.init(config=..)`,
/// `Settings.configure(..)`): it has no instance to be per request for. An instance's
/// `async def init(self)` may run for every object made, and is not one.
fn initialises_class(def: &ast::StmtFunctionDef) -> bool {
    matches!(def.name.as_str(), "init" | "configure")
        && def
            .decorator_list
            .iter()
            .any(|d| matches!(&d.expression, Expr::Name(n) if n.id.as_str() == "classmethod"))
}

/// An ASGI server's start-up and shutdown hooks: `@app.on_event("startup")` /
/// `("shutdown")`, and the `lifespan` async context manager (`FastAPI(lifespan=lifespan)`,
/// Starlette's). They run once per server, like `main`.
fn runs_at_start_or_stop(def: &ast::StmtFunctionDef) -> bool {
    def.decorator_list.iter().any(|d| match &d.expression {
        Expr::Call(c) => {
            matches!(c.func.as_ref(), Expr::Attribute(a) if a.attr.as_str() == "on_event")
                && matches!(c.arguments.args.first(), Some(Expr::StringLiteral(s))
                    if matches!(s.value.to_str(), "startup" | "shutdown"))
        }
        Expr::Name(n) => def.name.as_str() == "lifespan" && n.id.as_str() == "asynccontextmanager",
        Expr::Attribute(a) => {
            def.name.as_str() == "lifespan" && a.attr.as_str() == "asynccontextmanager"
        }
        _ => false,
    })
}

/// Fields a method assigns on `self`, with the type of what it assigns when known.
fn func_self_fields(func: &Function) -> Vec<Binding> {
    func.locals
        .iter()
        .filter_map(|b| {
            b.name.strip_prefix("self.").map(|f| Binding {
                name: f.into(),
                ..b.clone()
            })
        })
        .collect()
}

struct FnLower<'m, 's> {
    src: &'s str,
    func: Function,
    /// Names bound in this function (params and assignment targets): an attribute chain
    /// rooted at one of these is a method call, not a module path.
    local_names: FxHashSet<&'m str>,
    block: u32,
    stmt: u32,
    loops: Vec<u32>,
    parent_call: Option<u32>,
    in_closure: bool,
    handler: Option<u32>,
    /// The statement most recently entered, in an async function: what an await in it
    /// binds is read from it (`Await::binds`).
    cur_stmt: Option<&'m Stmt>,
    /// An async function's statements by block, in order: their facts (the names each
    /// defines and reads) are worked out at the end, and only if the function has two
    /// awaits or more, which is when a dependency check between awaits reads them.
    stmts: Vec<(u32, &'m Stmt)>,
    nested: Vec<Nested<'m>>,
    consts: Rc<FxHashMap<String, f64>>,
    qual_prefix: String,
    /// Per enclosing loop, innermost last: the names each iteration changes.
    varying: Vec<FxHashSet<&'m str>>,
    /// Names whose value leaves the function (`return x`, `yield x`) or is kept
    /// (`self.x = x`, `items.append(x)`): the calls that built them are marked after lowering.
    returned_names: FxHashSet<&'m str>,
    stored_names: FxHashSet<&'m str>,
    /// Locals bound to a call, with the names passed to it (`factory =
    /// sessionmaker(bind=engine)`: `factory`, `[engine]`): see [`CallFlags::HANDED_ON`].
    built_from: Vec<(&'m str, std::ops::Range<usize>)>,
    /// The names of `built_from`, end to end: one vector for the function, not one per
    /// assignment.
    built_args: Vec<&'m str>,
    /// Names the function declares `global`.
    globals_declared: FxHashSet<&'m str>,
    /// `self` is the process's one instance of its class: what `if not self.started:` sets
    /// up runs once.
    self_once: bool,
    /// Whether any parameter or local bound so far is a buffer in memory, and how many of
    /// each were read to know (see `names_memory_buffer`).
    binds_buffers: bool,
    buffers_seen: (usize, usize),
    _marker: std::marker::PhantomData<&'m ()>,
}

impl<'m, 's> FnLower<'m, 's> {
    fn new(
        cx: &ModuleLower<'s>,
        qualname: String,
        owner: Option<String>,
        is_async: bool,
        span: Span,
    ) -> Self {
        let name = qualname.rsplit('.').next().unwrap_or(&qualname).into();
        FnLower {
            src: cx.src,
            func: Function {
                name,
                owner: owner.map(Name::from),
                qualname: Name::from(qualname.as_str()),
                is_async,
                span,
                name_span: span,
                ..Function::default()
            },
            // Sized for a typical function's parameters and locals: growing from empty
            // rehashed it three or four times (a twentieth of lowering).
            local_names: FxHashSet::with_capacity_and_hasher(16, Default::default()),
            block: 0,
            stmt: 0,
            loops: Vec::new(),
            parent_call: None,
            in_closure: false,
            handler: None,
            cur_stmt: None,
            stmts: Vec::new(),
            nested: Vec::new(),
            consts: cx.consts.clone(),
            varying: Vec::new(),
            returned_names: FxHashSet::default(),
            stored_names: FxHashSet::default(),
            built_from: Vec::new(),
            built_args: Vec::new(),
            globals_declared: FxHashSet::default(),
            self_once: false,
            binds_buffers: false,
            buffers_seen: (0, 0),
            qual_prefix: if qualname == "<module>" {
                String::new()
            } else {
                qualname
            },
            _marker: std::marker::PhantomData,
        }
    }

    /// Is `name`, read at `at`, a buffer in memory: a parameter declared `BytesIO` or
    /// `StringIO`, or a local last bound to one's constructor?
    fn names_memory_buffer(&mut self, name: &str, at: u32) -> bool {
        // Most functions bind no buffer: bindings are read once each, as they are made, to
        // know whether any is one, before a binding is looked up by name for a call.
        let f = &self.func;
        let (params, locals) = self.buffers_seen;
        self.binds_buffers |= f.params[params..]
            .iter()
            .chain(&f.locals[locals..])
            .any(|b| is_memory_buffer(f, b));
        self.buffers_seen = (f.params.len(), f.locals.len());
        self.binds_buffers
            && f.local_before(name, at)
                .or_else(|| f.params.iter().find(|b| b.name == name))
                .is_some_and(|b| is_memory_buffer(f, b))
    }

    fn finish(mut self) -> (Function, Vec<Nested<'m>>) {
        if self.func.awaits.len() >= 2 {
            for &(block, stmt) in &self.stmts {
                self.func.blocks[block as usize]
                    .stmts
                    .push(stmt_facts(stmt));
            }
        }
        let module_level = self.func.role == FunctionRole::Entry && self.func.name == "<module>";
        for b in &self.func.locals {
            let Some(c) = b.init_call else { continue };
            let mut flags = 0;
            if self.returned_names.contains(b.name.as_str()) {
                flags |= CallFlags::RETURNED;
            }
            if module_level
                || b.name.starts_with("self.")
                || self.stored_names.contains(b.name.as_str())
            {
                flags |= CallFlags::STORED;
            }
            self.func.calls[c as usize].flags |= flags;
        }
        self.mark_handed_on();
        // A decorator hands back a function: one it defines, or a `Callable` it was given.
        if !self.returned_names.is_empty() {
            for n in &mut self.nested {
                if let Nested::Function { def, returned, .. } = n {
                    if self.returned_names.contains(def.name.id.as_str()) {
                        *returned = true;
                        self.func.decorator = true;
                    }
                }
            }
            if self.func.params.iter().any(|p| {
                p.ty.as_ref()
                    .and_then(|t| t.last())
                    .is_some_and(|t| t == "Callable")
                    && self.returned_names.contains(p.name.as_str())
            }) {
                self.func.decorator = true;
            }
        }
        // A value passed straight into `items.append(...)` is kept too.
        for i in 0..self.func.calls.len() {
            if let Some(p) = self.func.calls[i].ctx.parent_call() {
                if let Callee::Method { name, .. } = &self.func.calls[p as usize].callee {
                    if RETAINING.contains(&name.as_str()) {
                        self.func.calls[i].flags |= CallFlags::STORED;
                    }
                }
            }
        }
        (self.func, self.nested)
    }

    /// `target = f(a, b=c)`: the names `target` is built from. A target that is an
    /// attribute or an item (`self.factory = sessionmaker(bind=engine)`) keeps the value,
    /// and is recorded as [`STORED_VALUE`].
    fn record_built_from(&mut self, target: &'m Expr, call: &'m ast::ExprCall) {
        let into = match target {
            Expr::Name(n) => n.id.as_str(),
            Expr::Attribute(_) | Expr::Subscript(_) => STORED_VALUE,
            _ => return,
        };
        let start = self.built_args.len();
        let args = &call.arguments;
        self.built_args.extend(
            args.args
                .iter()
                .chain(args.keywords.iter().map(|k| &k.value))
                .filter_map(|e| match e {
                    Expr::Name(arg) => Some(arg.id.as_str()),
                    _ => None,
                }),
        );
        if self.built_args.len() > start {
            self.built_from.push((into, start..self.built_args.len()));
        }
    }

    /// Marks [`CallFlags::HANDED_ON`] the calls that bound the locals a returned or stored
    /// value was built from, through a few rounds of values built from values.
    fn mark_handed_on(&mut self) {
        if self.built_from.is_empty() {
            return;
        }
        let leaving = |n: &str, on: &FxHashSet<&str>| {
            n == STORED_VALUE
                || on.contains(n)
                || self.returned_names.contains(n)
                || self.stored_names.contains(n)
        };
        let mut on: FxHashSet<&'m str> = FxHashSet::default();
        for _ in 0..4 {
            let mut grew = false;
            for (name, args) in &self.built_from {
                if leaving(name, &on) {
                    for arg in &self.built_args[args.clone()] {
                        grew |= on.insert(arg);
                    }
                }
            }
            if !grew {
                break;
            }
        }
        for b in &self.func.locals {
            if let Some(c) = b.init_call.filter(|_| on.contains(b.name.as_str())) {
                self.func.calls[c as usize].flags |= CallFlags::HANDED_ON;
            }
        }
    }

    /// `s += "..."` on a string inside a loop: modelled as `s.__iadd__(...)`, a copy of the
    /// whole string each time.
    fn string_append(&mut self, a: &'m ast::StmtAugAssign) {
        if self.loops.is_empty() || !matches!(a.op, ast::Operator::Add) || !is_string(&a.value) {
            return;
        }
        // Only attributes: CPython grows a local string in place when nothing else refers
        // to it, so `s += "..."` on a local is linear there; `self.s += ...` is not.
        let Expr::Attribute(attr) = a.target.as_ref() else {
            return;
        };
        if !matches!(attr.value.as_ref(), Expr::Name(n) if n.id.as_str() == "self") {
            return;
        }
        let name = attr.attr.id.as_str();
        self.func.calls.push(Call {
            callee: Callee::Method {
                recv: Receiver::SelfField(name.into()),
                name: "__iadd__".into(),
            },
            span: span_of(a),
            ctx: self.ctx(),
            awaited: false,
            n_args: 1,
            is_macro: false,
            flags: CallFlags::OPERATOR,
        });
    }

    fn mark(&mut self, call: Option<u32>, flag: u16) {
        if let Some(c) = call {
            self.func.calls[c as usize].flags |= flag;
        }
    }

    /// A value being returned or yielded: the call that makes it, or the names it reads.
    fn returned_value(&mut self, v: &'m Expr, call: Option<u32>) {
        self.mark(call, CallFlags::RETURNED);
        match v {
            Expr::Name(n) => {
                self.returned_names.insert(n.id.as_str());
            }
            Expr::Tuple(t) => {
                for e in &t.elts {
                    if let Expr::Name(n) = e {
                        self.returned_names.insert(n.id.as_str());
                    }
                }
            }
            // `return cls(model=model, tokenizer=tok)`: what the returned object is built
            // from leaves with it.
            Expr::Call(c) => {
                let args = c.arguments.args.iter();
                for e in args.chain(c.arguments.keywords.iter().map(|k| &k.value)) {
                    if let Expr::Name(n) = e {
                        self.returned_names.insert(n.id.as_str());
                    }
                }
            }
            _ => {}
        }
    }

    fn push_mutation(&mut self, target: &Expr, op: MutOp, span: Span) {
        let recv = match target {
            Expr::Attribute(a) if matches!(a.value.as_ref(), Expr::Name(n) if n.id.as_str() == "self") => {
                Receiver::SelfField(a.attr.id.as_str().into())
            }
            Expr::Name(n) if !self.local_names.contains(n.id.as_str()) => {
                Receiver::Path(perfgate_model::thin_vec![n.id.as_str().into()])
            }
            _ => return,
        };
        self.func.push_mutation(Mutation {
            target: recv,
            op,
            span,
        });
    }

    fn ctx(&self) -> Context {
        Context::new(
            self.loops.last().copied(),
            self.block,
            self.stmt,
            self.parent_call,
            self.in_closure,
            false,
            self.handler,
        )
    }

    /// Code as messages quote it: a comment inside a multi-line header (`while ( # noqa`)
    /// is no part of it.
    fn text(&self, span: Span) -> String {
        let code = self
            .src
            .get(span.start as usize..span.end as usize)
            .unwrap_or("");
        normalize_ws(&strip_comments(code, Language::Python), 160)
    }

    fn lower_params(&mut self, params: &'m ast::Parameters) {
        for p in params.iter_non_variadic_params() {
            self.local_names.insert(p.parameter.name.id.as_str());
            self.func.params.push(Binding {
                name: p.parameter.name.id.as_str().into(),
                ty: p.parameter.annotation.as_deref().and_then(annotation_path),
                number: p.default.as_deref().and_then(number),
                // The whole declaration, default included (`fields: list[str] = ["a",
                // "b"]`), as a local's span is its whole assignment.
                span: span_of(p),
                ..Binding::default()
            });
        }
        for v in [&params.vararg, &params.kwarg].into_iter().flatten() {
            self.local_names.insert(v.name.id.as_str());
        }
    }

    fn lower_suite(&mut self, body: &'m [Stmt], span: Span) {
        // Pre-pass: every name assigned in this body is local.
        collect_stores(body, &mut self.local_names);
        self.lower_block(body, span, false);
    }

    /// Lower a statement list as a block; `conditional` when it runs only if a condition
    /// holds (a branch, a handler, a match case, a loop's `else`).
    fn lower_block(&mut self, body: &'m [Stmt], span: Span, conditional: bool) {
        if body.is_empty() && !self.func.blocks.is_empty() {
            return;
        }
        let idx = self.func.open_block(self.block, span, conditional);
        let (saved_block, saved_stmt) = (self.block, self.stmt);
        self.block = idx;
        for (i, stmt) in body.iter().enumerate() {
            self.stmt = i as u32;
            // Only awaits need the names statements define and use: sync code skips it.
            if self.func.is_async {
                self.cur_stmt = Some(stmt);
                self.stmts.push((idx, stmt));
            }
            self.lower_stmt(stmt);
        }
        self.block = saved_block;
        self.stmt = saved_stmt;
    }

    fn lower_stmt(&mut self, stmt: &'m Stmt) {
        match stmt {
            Stmt::FunctionDef(def) => self.nested.push(Nested::Function {
                def,
                owner: None,
                prefix: self.qual_prefix.clone(),
                returned: false,
                singleton: false,
            }),
            Stmt::ClassDef(def) => self.nested.push(Nested::Class {
                def,
                prefix: self.qual_prefix.clone(),
            }),
            Stmt::Assign(a) => {
                let call = self.lower_expr(&a.value);
                if let ([target], Expr::Call(c)) = (&a.targets[..], a.value.as_ref()) {
                    self.record_built_from(target, c);
                }
                for t in &a.targets {
                    self.bind_target(t, None, call, &a.value, span_of(a));
                    match t {
                        Expr::Subscript(sub) => {
                            // `self.cache[k] = v`: an insertion that keeps `v`.
                            self.push_mutation(&sub.value, MutOp::Insert, span_of(a));
                            self.mark(call, CallFlags::STORED);
                            if let Expr::Name(n) = a.value.as_ref() {
                                self.stored_names.insert(n.id.as_str());
                            }
                        }
                        Expr::Attribute(_) => {
                            self.mark(call, CallFlags::STORED);
                            if let Expr::Name(n) = a.value.as_ref() {
                                self.stored_names.insert(n.id.as_str());
                            }
                            if self.func.name != "__init__" && self.func.name != "<module>" {
                                self.push_mutation(t, MutOp::Reset, span_of(a));
                            }
                        }
                        _ => {}
                    }
                }
                for t in &a.targets {
                    if !matches!(t, Expr::Name(_)) {
                        self.lower_expr(t);
                    }
                }
            }
            Stmt::AnnAssign(a) => {
                let call = a.value.as_deref().and_then(|v| self.lower_expr(v));
                let value = a.value.as_deref();
                let ty = annotation_path(&a.annotation);
                if let Some(v) = value {
                    self.bind_target(&a.target, ty, call, v, span_of(a));
                } else if let Some(name) = target_name(&a.target) {
                    self.func.locals.push(Binding {
                        name,
                        ty,
                        span: span_of(a),
                        ..Binding::default()
                    });
                }
            }
            Stmt::For(f) => {
                self.lower_expr(&f.iter);
                let mut vary = FxHashSet::default();
                store_target(&f.target, &mut vary);
                loop_changes(&f.body, &mut vary);
                self.varying.push(vary);
                let trip = trip_of(&f.iter, &self.consts);
                let mut vars = NameCollector::default();
                vars.visit_expr(&f.target);
                let header_end = f.iter.range().end().to_usize();
                let header = Span::new(f.range.start().to_usize(), header_end);
                self.lower_loop(
                    if f.is_async {
                        LoopKind::While
                    } else {
                        LoopKind::For
                    },
                    span_of(f),
                    header,
                    trip,
                    root_name(&f.iter),
                    vars.stores,
                    contains_exit(&f.body),
                    f.is_async,
                    &f.body,
                );
                self.varying.pop();
                self.lower_block(&f.orelse, span_of(f), true);
            }
            Stmt::While(w) => {
                let mut vary = FxHashSet::default();
                loop_changes(&w.body, &mut vary);
                self.varying.push(vary);
                self.lower_expr(&w.test);
                let always = matches!(w.test.as_ref(), Expr::BooleanLiteral(b) if b.value)
                    || matches!(w.test.as_ref(), Expr::NumberLiteral(_));
                let header = Span::new(w.range.start().to_usize(), w.test.range().end().to_usize());
                self.lower_loop(
                    LoopKind::While,
                    span_of(w),
                    header,
                    if always {
                        TripCount::Unbounded
                    } else {
                        TripCount::Dynamic
                    },
                    None,
                    List::new(),
                    !always || contains_exit(&w.body),
                    false,
                    &w.body,
                );
                self.varying.pop();
                self.lower_block(&w.orelse, span_of(w), true);
            }
            Stmt::If(i) => {
                self.lower_expr(&i.test);
                let first = self.func.calls.len();
                let body_block = self.func.blocks.len();
                self.lower_block(&i.body, span_of(i), true);
                if self.func.blocks.len() > body_block
                    && sets_unset_global(&i.test, &i.body, &self.globals_declared, self.self_once)
                {
                    self.func.blocks[body_block].once = true;
                }
                if is_debug_test(&i.test) {
                    for c in &mut self.func.calls[first..] {
                        c.flags |= CallFlags::DEBUG_ONLY;
                    }
                }
                for clause in &i.elif_else_clauses {
                    if let Some(t) = &clause.test {
                        self.lower_expr(t);
                    }
                    self.lower_block(&clause.body, span_of(clause), true);
                }
            }
            Stmt::With(w) => {
                let saved = self.parent_call;
                let mut scope = saved;
                let mut locks = Vec::new();
                for item in &w.items {
                    let call = self.lower_expr(&item.context_expr);
                    if let Some(c) = call {
                        scope = Some(c);
                        if w.is_async {
                            // `async with session.get(u) as r:` awaits `__aenter__`.
                            self.func.calls[c as usize].awaited = true;
                        }
                        if let Some(v) = &item.optional_vars {
                            self.bind_target(v, None, Some(c), &item.context_expr, span_of(item));
                        }
                    } else if looks_like_lock(&item.context_expr) {
                        locks.push(item);
                    }
                }
                for item in locks {
                    let target = self.text(span_of(&item.context_expr));
                    let recv = receiver_of(&item.context_expr, &self.local_names);
                    self.func.locks.push(Lock {
                        kind: if w.is_async {
                            LockKind::Async
                        } else {
                            LockKind::Blocking
                        },
                        span: span_of(&item.context_expr),
                        guard: None,
                        live_until: w.range.end().to_u32(),
                        target,
                        recv,
                        ctx: self.ctx(),
                    });
                }
                self.parent_call = scope;
                self.lower_block(&w.body, span_of(w), false);
                self.parent_call = saved;
            }
            Stmt::Try(t) => {
                self.lower_block(&t.body, span_of(t), false);
                let guarded = match (t.body.first(), t.body.last()) {
                    (Some(first), Some(last)) => Span::new(
                        first.range().start().to_usize(),
                        last.range().end().to_usize(),
                    ),
                    _ => span_of(t),
                };
                for h in &t.handlers {
                    let ExceptHandler::ExceptHandler(h) = h;
                    let kind = h.type_.as_deref().map_or(HandlerKind::Other, handler_kind);
                    let idx = self.func.handlers.len() as u32;
                    self.func.handlers.push(Handler {
                        kind,
                        span: span_of(h),
                        guarded,
                        exits: h
                            .body
                            .iter()
                            .any(|s| matches!(s, Stmt::Raise(_) | Stmt::Return(_))),
                    });
                    let saved = self.handler;
                    self.handler = Some(idx);
                    self.lower_block(&h.body, span_of(h), true);
                    self.handler = saved;
                }
                self.lower_block(&t.orelse, span_of(t), true);
                self.lower_block(&t.finalbody, span_of(t), false);
            }
            Stmt::Match(m) => {
                self.lower_expr(&m.subject);
                for case in &m.cases {
                    if let Some(g) = &case.guard {
                        self.lower_expr(g);
                    }
                    self.lower_block(&case.body, span_of(case), true);
                }
            }
            Stmt::Expr(e) => {
                self.lower_expr(&e.value);
            }
            Stmt::Return(r) => {
                if let Some(v) = &r.value {
                    let (first_loop, first_call) = (self.func.loops.len(), self.func.calls.len());
                    let call = self.lower_expr(v);
                    self.returned_value(v, call);
                    self.func.mark_on_exit(first_loop, first_call);
                }
            }
            Stmt::AugAssign(a) => {
                self.lower_expr(&a.value);
                self.lower_expr(&a.target);
                self.string_append(a);
            }
            Stmt::Raise(r) => {
                let (first_loop, first_call) = (self.func.loops.len(), self.func.calls.len());
                for e in [&r.exc, &r.cause].into_iter().flatten() {
                    self.lower_expr(e);
                }
                self.func.mark_on_exit(first_loop, first_call);
            }
            Stmt::Assert(a) => {
                self.lower_expr(&a.test);
            }
            Stmt::Global(g) => {
                self.globals_declared
                    .extend(g.names.iter().map(|n| n.id.as_str()));
            }
            Stmt::Delete(d) => {
                for t in &d.targets {
                    self.lower_expr(t);
                    match t {
                        Expr::Subscript(sub) => {
                            self.push_mutation(&sub.value, MutOp::Remove, span_of(d))
                        }
                        other => self.push_mutation(other, MutOp::Reset, span_of(d)),
                    }
                }
            }
            _ => {}
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn lower_loop(
        &mut self,
        kind: LoopKind,
        span: Span,
        header: Span,
        trip: TripCount,
        iter_root: Option<String>,
        vars: List<Name>,
        has_exit: bool,
        awaits: bool,
        body: &'m [Stmt],
    ) {
        let mut scan = BodyScan::default();
        for s in body {
            scan.visit_stmt(s);
        }
        let idx = self.push_loop(kind, span, header, trip, iter_root, vars, has_exit, scan);
        self.func.loops[idx as usize].awaits = awaits;
        self.loops.push(idx);
        self.lower_block(body, span, false);
        self.loops.pop();
    }

    #[allow(clippy::too_many_arguments)]
    fn push_loop(
        &mut self,
        kind: LoopKind,
        span: Span,
        header: Span,
        trip: TripCount,
        iter_root: Option<String>,
        vars: List<Name>,
        has_exit: bool,
        scan: BodyScan,
    ) -> u32 {
        let parent = self.loops.last().copied();
        let depth = parent.map_or(1, |p| self.func.loops[p as usize].depth + 1);
        let idx = self.func.loops.len() as u32;
        let header = self.text(header);
        // The last assignment to the root inside the enclosing loops, before this one (the
        // locals are in source order: only those since the outermost loop began are read).
        let rebound_in = iter_root.as_deref().and_then(|r| {
            let first = self.func.loops[*self.loops.first()? as usize].span.start;
            let at = self
                .func
                .locals
                .iter()
                .rev()
                .take_while(|b| b.span.start >= first)
                .find(|b| b.name == r && b.span.start < span.start)?
                .span
                .start;
            self.loops
                .iter()
                .rev()
                .copied()
                .find(|&k| self.func.loops[k as usize].span.contains(at))
        });
        self.func.loops.push(Loop {
            kind,
            span,
            header,
            parent,
            depth,
            trip,
            iter_root: iter_root.map(Name::from),
            vars,
            body_arith: scan.arith,
            body_index: scan.index,
            has_exit,
            rebound_in,
            awaits: false,
            yields: false,
            then_returns: false,
            ctx: self.ctx(),
        });
        idx
    }

    fn bind_target(
        &mut self,
        target: &Expr,
        ty: Option<Path>,
        call: Option<u32>,
        value: &Expr,
        span: Span,
    ) {
        let Some(name) = target_name(target) else {
            return;
        };
        let ty = ty
            .or_else(|| call_path(value))
            .or_else(|| literal_type(value));
        self.func.locals.push(Binding {
            name,
            ty,
            init_call: call,
            number: number(value),
            span,
        });
    }

    /// Lower an expression; returns the call index when the expression is itself a call
    /// (looking through `await`).
    fn lower_expr(&mut self, expr: &'m Expr) -> Option<u32> {
        let mut v = ExprLower {
            fl: self,
            last_call: None,
        };
        v.visit_expr(expr);
        match expr {
            Expr::Call(_) | Expr::Await(_) => v.last_call,
            // `client or httpx.AsyncClient()`: the value may be the call's, the default when
            // none is given; it is what the binding's type and keeping are read from.
            Expr::BoolOp(b) if matches!(b.values.last(), Some(Expr::Call(_))) => v.last_call,
            _ => None,
        }
    }
}

struct ExprLower<'a, 'm, 's> {
    fl: &'a mut FnLower<'m, 's>,
    /// Index of the call most recently entered at top level of `visit_expr`.
    last_call: Option<u32>,
}

impl<'a> Visitor<'a> for ExprLower<'_, 'a, '_> {
    fn visit_expr(&mut self, expr: &'a Expr) {
        match expr {
            Expr::Call(call) => {
                let idx = self.lower_call(call);
                self.last_call = Some(idx);
            }
            Expr::Await(aw) => {
                let span = span_of(aw);
                let ctx = self.fl.ctx();
                let await_idx = self.fl.func.awaits.len();
                self.fl.func.awaits.push(Await {
                    span,
                    ctx,
                    call: None,
                    binds: self
                        .fl
                        .cur_stmt
                        .map(|s| stmt_facts(s).defs)
                        .unwrap_or_default(),
                    uses: names_in(&aw.value),
                });
                self.last_call = None;
                self.visit_expr(&aw.value);
                let inner = match aw.value.as_ref() {
                    Expr::Call(_) => self.last_call,
                    _ => None,
                };
                if let Some(i) = inner {
                    self.fl.func.calls[i as usize].awaited = true;
                }
                self.fl.func.awaits[await_idx].call = inner;
                self.last_call = inner;
            }
            Expr::Lambda(l) => {
                let saved = self.fl.in_closure;
                self.fl.in_closure = true;
                self.visit_expr(&l.body);
                self.fl.in_closure = saved;
            }
            Expr::ListComp(ast::ExprListComp {
                elt, generators, ..
            })
            | Expr::SetComp(ast::ExprSetComp {
                elt, generators, ..
            })
            | Expr::Generator(ast::ExprGenerator {
                elt, generators, ..
            }) => self.lower_comprehension(expr, generators, &[elt]),
            Expr::Compare(cmp) => {
                visitor::walk_expr(self, expr);
                self.membership(cmp);
            }
            Expr::Yield(y) => {
                for &l in &self.fl.loops {
                    self.fl.func.loops[l as usize].yields = true;
                }
                if let Some(v) = &y.value {
                    self.last_call = None;
                    self.visit_expr(v);
                    let call = matches!(v.as_ref(), Expr::Call(_) | Expr::Await(_))
                        .then_some(self.last_call)
                        .flatten();
                    self.fl.returned_value(v, call);
                }
            }
            Expr::DictComp(d) => match &d.key {
                Some(k) => self.lower_comprehension(expr, &d.generators, &[k, &d.value]),
                None => self.lower_comprehension(expr, &d.generators, &[&d.value]),
            },
            _ => visitor::walk_expr(self, expr),
        }
    }
}

impl<'a> ExprLower<'_, 'a, '_> {
    fn lower_call(&mut self, call: &'a ast::ExprCall) -> u32 {
        let span = span_of(call);
        let idx = self.fl.func.calls.len() as u32;
        let keywords = call
            .arguments
            .keywords
            .iter()
            .filter_map(|k| {
                k.arg
                    .as_ref()
                    .map(|a| (Name::from(a.id.as_str()), number(&k.value)))
            })
            .collect();
        let (callee, recv_expr) = classify_callee(&call.func, &self.fl.local_names);
        let mut flags = self.arg_flags(call, &callee);
        if let Some(Expr::Name(n)) = call.arguments.args.first() {
            if self.fl.names_memory_buffer(n.id.as_str(), span.start) {
                flags |= CallFlags::ARG_IN_MEMORY;
            }
        }
        // Only `self.x` and module-level names: what collection and copy rules ask about.
        let arg0 = call
            .arguments
            .args
            .first()
            .filter(|a| !matches!(a, Expr::Name(n) if self.fl.local_names.contains(n.id.as_str())))
            .and_then(|a| value_receiver(a, &self.fl.local_names));
        if matches!(&callee, Callee::Path(p) if p.len() == 1 && p[0] == "len") {
            if let Some(first) = call.arguments.args.first() {
                self.fl.push_mutation(first, MutOp::Measure, span);
            }
        }
        if let Callee::Method { name, .. } = &callee {
            if RETAINING.contains(&name.as_str()) {
                for a in call.arguments.args.iter() {
                    if let Expr::Name(n) = a {
                        self.fl.stored_names.insert(n.id.as_str());
                    }
                }
            }
        }
        self.fl.func.calls.push(Call {
            callee,
            span,
            ctx: self.fl.ctx(),
            awaited: false,
            n_args: (call.arguments.args.len() + call.arguments.keywords.len()) as u32,
            is_macro: false,
            flags,
        });
        self.fl.func.push_keywords(idx, keywords);
        if let Some(r) = arg0 {
            self.fl.func.push_arg0(idx, r);
        }
        // The receiver expression is evaluated before the call, outside its arguments.
        if let Some(recv) = recv_expr {
            self.last_call = None;
            self.visit_expr(recv);
            if let (Expr::Call(_), Some(inner)) = (recv, self.last_call) {
                if let Callee::Method { recv, .. } = &mut self.fl.func.calls[idx as usize].callee {
                    *recv = Receiver::CallResult(inner);
                }
            }
        } else {
            self.visit_expr(&call.func);
        }
        let saved = self.fl.parent_call;
        self.fl.parent_call = Some(idx);
        for a in call.arguments.args.iter() {
            self.visit_expr(a);
        }
        for k in call.arguments.keywords.iter() {
            self.visit_expr(&k.value);
        }
        self.fl.parent_call = saved;
        idx
    }

    /// [`CallFlags`] the arguments give: all constant, or varying with a loop.
    fn arg_flags(&self, call: &'a ast::ExprCall, callee: &Callee) -> u16 {
        let args = &call.arguments;
        let values = || {
            args.args
                .iter()
                .chain(args.keywords.iter().map(|k| &k.value))
        };
        let mut flags = 0;
        // Keyword options alone (`md5(usedforsecurity=False)`) are no input: the data comes
        // later (`hasher.update(..)`).
        if !args.args.is_empty() && values().all(|v| is_const_expr(v, &self.fl.consts)) {
            flags |= CallFlags::ARGS_CONST;
        }
        if let Some(inner) = self.fl.varying.last() {
            let mut refs = NameRefs::default();
            for v in values() {
                refs.visit_expr(v);
            }
            if let Callee::Method {
                recv: Receiver::Local(r),
                ..
            } = callee
            {
                if inner.contains(r.as_str()) {
                    flags |= CallFlags::ARGS_VARY_INNER;
                }
                if self.fl.varying.iter().any(|v| v.contains(r.as_str())) {
                    flags |= CallFlags::ARGS_VARY_ANY;
                }
            }
            if refs.names.iter().any(|n| inner.contains(n)) {
                flags |= CallFlags::ARGS_VARY_INNER;
            }
            if refs
                .names
                .iter()
                .any(|n| self.fl.varying.iter().any(|v| v.contains(n)))
            {
                flags |= CallFlags::ARGS_VARY_ANY;
            }
        }
        flags
    }

    /// `x in items` inside a loop: modelled as `items.__contains__(x)`, a linear scan when
    /// `items` is a list.
    fn membership(&mut self, cmp: &'a ast::ExprCompare) {
        if self.fl.loops.is_empty() {
            return;
        }
        for (op, right) in cmp.ops.iter().zip(cmp.comparators.iter()) {
            if !matches!(op, ast::CmpOp::In | ast::CmpOp::NotIn) {
                continue;
            }
            // Locals and `self.x` only: a module-level name is usually a constant set.
            let Some(recv) = value_receiver(right, &self.fl.local_names)
                .filter(|r| matches!(r, Receiver::Local(_) | Receiver::SelfField(_)))
            else {
                continue;
            };
            let mut refs = NameRefs::default();
            refs.visit_expr(&cmp.left);
            let mut flags = CallFlags::OPERATOR;
            if let Some(inner) = self.fl.varying.last() {
                if refs.names.iter().any(|n| inner.contains(n)) {
                    flags |= CallFlags::ARGS_VARY_INNER | CallFlags::ARGS_VARY_ANY;
                }
            }
            self.fl.func.calls.push(Call {
                callee: Callee::Method {
                    recv,
                    name: "__contains__".into(),
                },
                span: span_of(cmp),
                ctx: self.fl.ctx(),
                awaited: false,
                n_args: 1,
                is_macro: false,
                flags,
            });
        }
    }

    fn lower_comprehension(
        &mut self,
        expr: &'a Expr,
        generators: &'a [ast::Comprehension],
        elts: &[&'a Expr],
    ) {
        let mut pushed = 0;
        for g in generators {
            self.visit_expr(&g.iter);
            let mut scan = BodyScan::default();
            for e in elts {
                scan.visit_expr(e);
            }
            let mut vars = NameCollector::default();
            vars.visit_expr(&g.target);
            let mut vary = FxHashSet::default();
            store_target(&g.target, &mut vary);
            self.fl.varying.push(vary);
            let header = Span::new(g.range.start().to_usize(), g.iter.range().end().to_usize());
            let idx = self.fl.push_loop(
                LoopKind::Comprehension,
                span_of(expr),
                header,
                trip_of(&g.iter, &self.fl.consts),
                root_name(&g.iter),
                vars.stores,
                false,
                scan,
            );
            self.fl.loops.push(idx);
            pushed += 1;
            for cond in &g.ifs {
                self.visit_expr(cond);
            }
        }
        for e in elts {
            self.last_call = None;
            self.visit_expr(e);
            // `[np.zeros(n) for _ in xs]`: each element is kept in the result.
            if matches!(e, Expr::Call(_)) {
                self.fl.mark(self.last_call, CallFlags::STORED);
            }
        }
        for _ in 0..pushed {
            self.fl.loops.pop();
            self.fl.varying.pop();
        }
    }
}

/// How a call expression names its callee; also returns the receiver expression to lower
/// when the receiver is not a plain name.
fn classify_callee<'a>(func: &'a Expr, locals: &FxHashSet<&str>) -> (Callee, Option<&'a Expr>) {
    match func {
        Expr::Name(n) => (
            Callee::Path(perfgate_model::thin_vec![n.id.as_str().into()]),
            None,
        ),
        Expr::Attribute(attr) => {
            let name = Name::from(attr.attr.id.as_str());
            match attr.value.as_ref() {
                Expr::Name(n) if n.id.as_str() == "self" || n.id.as_str() == "cls" => (
                    Callee::Method {
                        recv: Receiver::SelfValue,
                        name,
                    },
                    None,
                ),
                Expr::Attribute(inner) if matches!(inner.value.as_ref(), Expr::Name(n) if n.id.as_str() == "self") => {
                    (
                        Callee::Method {
                            recv: Receiver::SelfField(inner.attr.id.as_str().into()),
                            name,
                        },
                        None,
                    )
                }
                Expr::Name(n) if locals.contains(n.id.as_str()) => (
                    Callee::Method {
                        recv: Receiver::Local(n.id.as_str().into()),
                        name,
                    },
                    None,
                ),
                Expr::Call(_) => (
                    Callee::Method {
                        recv: Receiver::Other,
                        name,
                    },
                    Some(&attr.value),
                ),
                other => match dotted(func) {
                    Some(path) if !root_is_local(other, locals) => (Callee::Path(path), None),
                    _ => (
                        Callee::Method {
                            recv: Receiver::Other,
                            name,
                        },
                        Some(&attr.value),
                    ),
                },
            }
        }
        _ => (Callee::Unknown, Some(func)),
    }
}

fn root_is_local(expr: &Expr, locals: &FxHashSet<&str>) -> bool {
    match expr {
        Expr::Name(n) => locals.contains(n.id.as_str()) || n.id.as_str() == "self",
        Expr::Attribute(a) => root_is_local(&a.value, locals),
        _ => true,
    }
}

fn receiver_of(expr: &Expr, locals: &FxHashSet<&str>) -> Receiver {
    match expr {
        Expr::Name(n) if locals.contains(n.id.as_str()) => Receiver::Local(n.id.as_str().into()),
        Expr::Name(n) => Receiver::Path(perfgate_model::thin_vec![n.id.as_str().into()]),
        Expr::Attribute(a) => match a.value.as_ref() {
            Expr::Name(n) if n.id.as_str() == "self" => {
                Receiver::SelfField(a.attr.id.as_str().into())
            }
            _ => dotted(expr).map_or(Receiver::Other, Receiver::Path),
        },
        _ => Receiver::Other,
    }
}

/// `a.b.c` as a path, when the expression is a chain of names.
fn dotted(expr: &Expr) -> Option<Path> {
    // Walk the chain first: nothing is allocated for `f(x).y`, and the path is allocated
    // once at its length (one of the front end's most frequent allocations).
    let mut len = 1;
    let mut cur = expr;
    while let Expr::Attribute(a) = cur {
        len += 1;
        cur = &a.value;
    }
    let Expr::Name(root) = cur else {
        return None;
    };
    let mut p = Path::with_capacity(len);
    p.resize(len, Name::default());
    p[0] = root.id.as_str().into();
    let mut cur = expr;
    let mut i = len;
    while let Expr::Attribute(a) = cur {
        i -= 1;
        p[i] = a.attr.id.as_str().into();
        cur = &a.value;
    }
    Some(p)
}

/// The class a value is constructed from: `Engine(cfg)`, `aiohttp.ClientSession()`. Calls of
/// lowercase names are functions or methods, whose return type is not known here.
fn call_path(expr: &Expr) -> Option<Path> {
    match expr {
        Expr::Call(c) => dotted(&c.func).filter(|p| {
            p.last()
                .and_then(|l| l.trim_start_matches('_').chars().next())
                .is_some_and(char::is_uppercase)
        }),
        Expr::Await(a) => call_path(&a.value),
        _ => None,
    }
}

/// The type named by an annotation: `aiohttp.ClientSession`, `Optional[Engine]` -> `Engine`.
fn annotation_path(expr: &Expr) -> Option<Path> {
    match expr {
        Expr::Subscript(s) => {
            let outer = dotted(&s.value)?;
            let last = outer.last()?.as_str();
            if matches!(last, "Optional" | "Final" | "ClassVar" | "Annotated") {
                match s.slice.as_ref() {
                    Expr::Tuple(t) => t.elts.first().and_then(annotation_path),
                    other => annotation_path(other),
                }
            } else {
                Some(outer)
            }
        }
        Expr::StringLiteral(s) => Some(perfgate_model::split_path(s.value.to_str())),
        // `Client | None` is a `Client`; `concurrent.futures.Future | asyncio.Future` is
        // either, and which one a value is is not known.
        Expr::BinOp(b) if b.op == ast::Operator::BitOr => {
            match (
                b.left.is_none_literal_expr(),
                b.right.is_none_literal_expr(),
            ) {
                (false, true) => annotation_path(&b.left),
                (true, false) => annotation_path(&b.right),
                _ => None,
            }
        }
        other => dotted(other),
    }
}

fn target_name(target: &Expr) -> Option<Name> {
    match target {
        Expr::Name(n) => Some(n.id.as_str().into()),
        Expr::Attribute(a) => match a.value.as_ref() {
            Expr::Name(n) if n.id.as_str() == "self" => {
                let mut name = Name::from("self.");
                name.push_str(a.attr.id.as_str());
                Some(name)
            }
            _ => None,
        },
        _ => None,
    }
}

fn number(expr: &Expr) -> Option<f64> {
    match expr {
        Expr::NumberLiteral(n) => match &n.value {
            ast::Number::Int(i) => i.as_u64().map(|v| v as f64),
            ast::Number::Float(f) => Some(*f),
            ast::Number::Complex { .. } => None,
        },
        Expr::UnaryOp(u) if matches!(u.op, ast::UnaryOp::USub) => number(&u.operand).map(|v| -v),
        Expr::BinOp(b) => {
            let (l, r) = (number(&b.left)?, number(&b.right)?);
            match b.op {
                ast::Operator::Mult => Some(l * r),
                ast::Operator::Div => Some(l / r),
                ast::Operator::Add => Some(l + r),
                ast::Operator::Sub => Some(l - r),
                _ => None,
            }
        }
        _ => None,
    }
}

fn trip_of(iter: &Expr, consts: &FxHashMap<String, f64>) -> TripCount {
    let num = |e: &Expr| {
        number(e).or_else(|| match e {
            Expr::Name(n) => consts.get(n.id.as_str()).copied(),
            _ => None,
        })
    };
    match iter {
        Expr::Call(c) => {
            if let Some(path) = dotted(&c.func) {
                let last = path.last().map(Name::as_str);
                if last == Some("range") {
                    let args: Vec<Option<f64>> = c.arguments.args.iter().map(num).collect();
                    return match args.as_slice() {
                        [Some(n)] => TripCount::Const(n.max(0.0) as u64),
                        [Some(a), Some(b), ..] => TripCount::Const((b - a).max(0.0) as u64),
                        _ => TripCount::Dynamic,
                    };
                }
                if matches!(last, Some("enumerate" | "reversed" | "sorted" | "list")) {
                    if let Some(first) = c.arguments.args.first() {
                        return trip_of(first, consts);
                    }
                }
            }
            TripCount::Dynamic
        }
        Expr::List(l) => TripCount::Const(l.elts.len() as u64),
        Expr::Tuple(t) => TripCount::Const(t.elts.len() as u64),
        Expr::Set(s) => TripCount::Const(s.elts.len() as u64),
        Expr::StringLiteral(s) => TripCount::Const(s.value.to_str().len() as u64),
        _ => TripCount::Dynamic,
    }
}

/// The root data name of an iterated expression: `self.items.values()` -> `items`.
fn root_name(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Name(n) => Some(n.id.to_string()),
        Expr::Attribute(a) => match a.value.as_ref() {
            Expr::Name(n) if n.id.as_str() == "self" => Some(a.attr.id.to_string()),
            other => root_name(other),
        },
        Expr::Call(c) => match c.func.as_ref() {
            Expr::Attribute(a) => root_name(&a.value),
            Expr::Name(_) => c.arguments.args.first().and_then(root_name),
            _ => None,
        },
        Expr::Subscript(s) => root_name(&s.value),
        _ => None,
    }
}

fn handler_kind(ty: &Expr) -> HandlerKind {
    let kinds: Vec<HandlerKind> = match ty {
        Expr::Tuple(t) => t.elts.iter().map(handler_kind).collect(),
        other => {
            let last = dotted(other)
                .and_then(|p| p.last().cloned())
                .unwrap_or_default();
            vec![match last.as_str() {
                "CancelledError" => HandlerKind::Cancelled,
                "TimeoutError" | "TimeoutExpired" | "Timeout" | "ReadTimeout" => {
                    HandlerKind::Timeout
                }
                "BaseException" => HandlerKind::Cancelled,
                _ => HandlerKind::Other,
            }]
        }
    };
    if kinds.contains(&HandlerKind::Cancelled) {
        HandlerKind::Cancelled
    } else if kinds.contains(&HandlerKind::Timeout) {
        HandlerKind::Timeout
    } else {
        HandlerKind::Other
    }
}

fn looks_like_lock(expr: &Expr) -> bool {
    let Some(path) = dotted(expr) else {
        return false;
    };
    let last = path
        .last()
        .map(|s| s.to_ascii_lowercase())
        .unwrap_or_default();
    // By word: `state_lock`, `_rlock`, `writeLock` are locks; a `clock` or a code `block` is
    // not.
    let lock_word = last.split('_').any(|w| {
        w.contains("mutex")
            || (w.ends_with("lock") && !w.ends_with("clock") && !w.ends_with("block"))
    });
    lock_word || last.ends_with("_cv") || last == "cond"
}

/// Does the body leave the loop early (`break`/`return`), not counting nested loops' breaks?
fn contains_exit(body: &[Stmt]) -> bool {
    body.iter().any(|s| match s {
        Stmt::Break(_) | Stmt::Return(_) | Stmt::Raise(_) => true,
        Stmt::If(i) => {
            contains_exit(&i.body) || i.elif_else_clauses.iter().any(|c| contains_exit(&c.body))
        }
        Stmt::With(w) => contains_exit(&w.body),
        Stmt::Try(t) => {
            contains_exit(&t.body)
                || contains_exit(&t.orelse)
                || t.handlers.iter().any(|h| {
                    let ExceptHandler::ExceptHandler(h) = h;
                    contains_exit(&h.body)
                })
        }
        Stmt::Match(m) => m.cases.iter().any(|c| contains_exit(&c.body)),
        _ => false,
    })
}

fn stmt_facts(stmt: &Stmt) -> StmtFacts {
    let mut defs = NameCollector::default();
    let mut uses = List::new();
    match stmt {
        Stmt::Assign(a) => {
            for t in &a.targets {
                defs.visit_expr(t);
            }
            uses = names_in(&a.value);
        }
        Stmt::AnnAssign(a) => {
            defs.visit_expr(&a.target);
            if let Some(v) = &a.value {
                uses = names_in(v);
            }
        }
        Stmt::AugAssign(a) => {
            defs.visit_expr(&a.target);
            uses = names_in(&a.value);
            uses.extend(names_in(&a.target));
        }
        Stmt::Expr(e) => {
            uses = names_in(&e.value);
            // `builder.add(result)` may change `builder`: what reads it later reads `result`.
            if let Some(recv) = mutated_receiver(&e.value) {
                defs.stores.push(recv);
            }
        }
        Stmt::Return(r) => {
            if let Some(v) = &r.value {
                uses = names_in(v);
            }
        }
        other => {
            // Compound statements: everything they read, including their bodies.
            let mut all = NameCollector::default();
            all.visit_stmt(other);
            uses = all.loads;
            defs.stores = all.stores;
        }
    }
    StmtFacts {
        span: span_of(stmt),
        defs: defs.stores,
        uses,
        exits: matches!(stmt, Stmt::Assert(_) | Stmt::Continue(_))
            || contains_exit(std::slice::from_ref(stmt)),
    }
}

/// The local a statement-level method call is made on (`messages.append(x)`): the call
/// may change it. An awaited call (`await client.post(..)`) is work done through the value,
/// not a change to it.
fn mutated_receiver(expr: &Expr) -> Option<Name> {
    let Expr::Call(call) = expr else { return None };
    let Expr::Attribute(attr) = call.func.as_ref() else {
        return None;
    };
    match attr.value.as_ref() {
        Expr::Name(n) => Some(n.id.as_str().into()),
        _ => None,
    }
}

fn names_in(expr: &Expr) -> List<Name> {
    let mut c = NameCollector::default();
    c.visit_expr(expr);
    c.loads.extend(c.stores);
    c.loads
}

/// Names loaded and stored (by `self.x` too, as `self.x`), not entering nested definitions.
#[derive(Default)]
struct NameCollector {
    loads: List<Name>,
    stores: List<Name>,
}

impl<'a> Visitor<'a> for NameCollector {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        match stmt {
            Stmt::FunctionDef(_) | Stmt::ClassDef(_) => {}
            Stmt::Import(_) | Stmt::ImportFrom(_) => {}
            Stmt::With(w) => {
                for item in &w.items {
                    self.visit_expr(&item.context_expr);
                    if let Some(v) = &item.optional_vars {
                        self.visit_expr(v);
                    }
                }
                for s in &w.body {
                    self.visit_stmt(s);
                }
            }
            Stmt::Try(t) => {
                visitor::walk_stmt(self, stmt);
                for h in &t.handlers {
                    let ExceptHandler::ExceptHandler(h) = h;
                    if let Some(n) = &h.name {
                        self.stores.push(n.id.as_str().into());
                    }
                }
            }
            _ => visitor::walk_stmt(self, stmt),
        }
    }

    fn visit_expr(&mut self, expr: &'a Expr) {
        match expr {
            Expr::Name(n) => {
                if n.ctx.is_store() {
                    self.stores.push(n.id.as_str().into());
                } else {
                    self.loads.push(n.id.as_str().into());
                }
            }
            Expr::Attribute(a) if matches!(a.value.as_ref(), Expr::Name(n) if n.id.as_str() == "self") =>
            {
                let mut name = Name::new("self.");
                name.push_str(a.attr.id.as_str());
                if a.ctx.is_store() {
                    self.stores.push(name);
                } else {
                    self.loads.push(name);
                }
            }
            Expr::Lambda(_) => {}
            _ => visitor::walk_expr(self, expr),
        }
    }
}

/// Names a body binds by statement (assignment, loop, `with` and `except` targets),
/// borrowed from the syntax tree. Expressions are not entered: walrus and comprehension
/// targets are rare receivers, and skipping expressions keeps this pass cheap.
fn collect_stores<'a>(body: &'a [Stmt], out: &mut FxHashSet<&'a str>) {
    stores_in(body, out, false);
}

/// What a loop body changes: the names it binds, and the objects it changes in place
/// (`parts.append(x)`, `buf[i] = x`, `self.total += n`), by the name they start from. What is
/// built from them differs from one iteration to the next.
fn loop_changes<'a>(body: &'a [Stmt], out: &mut FxHashSet<&'a str>) {
    stores_in(body, out, true);
}

fn stores_in<'a>(body: &'a [Stmt], out: &mut FxHashSet<&'a str>, in_place: bool) {
    let target = |t: &'a Expr, out: &mut FxHashSet<&'a str>| {
        store_target(t, out);
        if in_place && matches!(t, Expr::Subscript(_) | Expr::Attribute(_)) {
            out.extend(root_of(t));
        }
    };
    for stmt in body {
        match stmt {
            Stmt::Assign(a) => a.targets.iter().for_each(|t| target(t, out)),
            Stmt::AnnAssign(a) => target(&a.target, out),
            Stmt::AugAssign(a) => target(&a.target, out),
            Stmt::For(f) => {
                target(&f.target, out);
                stores_in(&f.body, out, in_place);
                stores_in(&f.orelse, out, in_place);
            }
            Stmt::While(w) => {
                stores_in(&w.body, out, in_place);
                stores_in(&w.orelse, out, in_place);
            }
            Stmt::If(i) => {
                stores_in(&i.body, out, in_place);
                for c in &i.elif_else_clauses {
                    stores_in(&c.body, out, in_place);
                }
            }
            Stmt::With(w) => {
                for item in &w.items {
                    if let Some(v) = &item.optional_vars {
                        target(v, out);
                    }
                }
                stores_in(&w.body, out, in_place);
            }
            Stmt::Try(t) => {
                stores_in(&t.body, out, in_place);
                for h in &t.handlers {
                    let ExceptHandler::ExceptHandler(h) = h;
                    if let Some(n) = &h.name {
                        out.insert(n.id.as_str());
                    }
                    stores_in(&h.body, out, in_place);
                }
                stores_in(&t.orelse, out, in_place);
                stores_in(&t.finalbody, out, in_place);
            }
            Stmt::Match(m) => m
                .cases
                .iter()
                .for_each(|c| stores_in(&c.body, out, in_place)),
            // `parts.append(x)`, `self._fragments.extend(..)`: the collection changes from
            // one iteration to the next, and so does what is built from it.
            Stmt::Expr(e) if in_place => {
                if let Expr::Call(c) = e.value.as_ref() {
                    if let Expr::Attribute(m) = c.func.as_ref() {
                        if MUTATORS.contains(&m.attr.as_str()) {
                            if let Some(root) = root_of(&m.value) {
                                out.insert(root);
                            }
                        }
                    }
                }
            }
            _ => {}
        }
    }
}

/// Does an `if` test turn on debug mode (`self._debug`, `loop.get_debug()`, `__debug__`,
/// `settings.DEBUG`, `logger.isEnabledFor(logging.DEBUG)`)? A negated test (`if not
/// debug:`) is the production branch.
fn is_debug_test(test: &Expr) -> bool {
    #[derive(Default)]
    struct Finder {
        found: bool,
    }
    impl<'a> Visitor<'a> for Finder {
        fn visit_expr(&mut self, e: &'a Expr) {
            let name = match e {
                Expr::Name(n) => Some(n.id.as_str()),
                Expr::Attribute(a) => Some(a.attr.as_str()),
                _ => None,
            };
            if name.is_some_and(|n| n.to_ascii_lowercase().contains("debug")) {
                self.found = true;
            }
            if !self.found {
                visitor::walk_expr(self, e);
            }
        }
    }
    if matches!(test, Expr::UnaryOp(u) if u.op == ast::UnaryOp::Not) {
        return false;
    }
    let mut f = Finder::default();
    f.visit_expr(test);
    f.found
}

/// Methods that change the collection they are called on.
const MUTATORS: &[&str] = &[
    "append",
    "appendleft",
    "extend",
    "extendleft",
    "insert",
    "add",
    "update",
    "pop",
    "popleft",
    "remove",
    "discard",
    "clear",
    "setdefault",
    "sort",
    "reverse",
];

/// The name an attribute or subscript chain starts from: `self._parts[0].x` -> `self`.
fn root_of(e: &Expr) -> Option<&str> {
    let mut cur = e;
    for _ in 0..32 {
        match cur {
            Expr::Name(n) => return Some(n.id.as_str()),
            Expr::Attribute(a) => cur = &a.value,
            Expr::Subscript(s) => cur = &s.value,
            _ => return None,
        }
    }
    None
}

/// The names an assignment or loop target binds.
fn store_target<'a>(e: &'a Expr, out: &mut FxHashSet<&'a str>) {
    match e {
        Expr::Name(n) => {
            out.insert(n.id.as_str());
        }
        Expr::Tuple(t) => t.elts.iter().for_each(|e| store_target(e, out)),
        Expr::List(l) => l.elts.iter().for_each(|e| store_target(e, out)),
        Expr::Starred(s) => store_target(&s.value, out),
        _ => {}
    }
}

/// Names an expression reads, borrowed; nested lambdas included.
#[derive(Default)]
struct NameRefs<'a> {
    names: Vec<&'a str>,
}

impl<'a> Visitor<'a> for NameRefs<'a> {
    fn visit_expr(&mut self, expr: &'a Expr) {
        if let Expr::Name(n) = expr {
            self.names.push(n.id.as_str());
        } else if self.names.len() < 256 {
            visitor::walk_expr(self, expr);
        }
    }
}

/// Methods that keep their argument: a value passed to them outlives the call.
const RETAINING: &[&str] = &[
    "append",
    "appendleft",
    "extend",
    "insert",
    "add",
    "put",
    "put_nowait",
    "setdefault",
    "update",
    "push",
];

/// A literal, or a name that by value or convention is a constant (`PROMPT`, `MAX_LEN`).
fn is_const_expr(e: &Expr, consts: &FxHashMap<String, f64>) -> bool {
    match e {
        Expr::StringLiteral(_)
        | Expr::BytesLiteral(_)
        | Expr::NumberLiteral(_)
        | Expr::BooleanLiteral(_)
        | Expr::NoneLiteral(_) => true,
        Expr::Name(n) => {
            let id = n.id.as_str();
            consts.contains_key(id)
                || (id.len() > 1
                    && id.chars().any(|c| c.is_ascii_uppercase())
                    && id
                        .chars()
                        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'))
        }
        Expr::Attribute(a) => is_const_expr(&a.value, consts) && a.attr.id.as_str() != "self",
        Expr::Tuple(t) => t.elts.iter().all(|e| is_const_expr(e, consts)),
        Expr::UnaryOp(u) => is_const_expr(&u.operand, consts),
        _ => false,
    }
}

/// `self.x`, a local or a module-level name, as a receiver.
fn value_receiver(e: &Expr, locals: &FxHashSet<&str>) -> Option<Receiver> {
    match e {
        Expr::Attribute(a) if matches!(a.value.as_ref(), Expr::Name(n) if n.id.as_str() == "self") => {
            Some(Receiver::SelfField(a.attr.id.as_str().into()))
        }
        Expr::Name(n) if n.id.as_str() == "self" => None,
        Expr::Name(n) if locals.contains(n.id.as_str()) => {
            Some(Receiver::Local(n.id.as_str().into()))
        }
        Expr::Name(n) => Some(Receiver::Path(perfgate_model::thin_vec![n
            .id
            .as_str()
            .into()])),
        _ => None,
    }
}

/// The type a literal builds: `{}` is a dict, `[]` a list, `"..."` a str.
fn literal_type(e: &Expr) -> Option<Path> {
    let name = match e {
        Expr::Dict(_) | Expr::DictComp(_) => "dict",
        Expr::List(_) | Expr::ListComp(_) => "list",
        Expr::Set(_) | Expr::SetComp(_) => "set",
        Expr::Tuple(_) => "tuple",
        Expr::StringLiteral(_) | Expr::FString(_) => "str",
        Expr::BytesLiteral(_) => "bytes",
        Expr::Call(c) => {
            let path = dotted(&c.func)?;
            let last = path.last()?.as_str();
            return matches!(
                last,
                "dict" | "list" | "set" | "deque" | "defaultdict" | "bytearray" | "str"
            )
            .then(|| perfgate_model::thin_vec![last.into()]);
        }
        _ => return None,
    };
    Some(perfgate_model::thin_vec![name.into()])
}

/// Is this `if` the lazy initialisation of a process-wide value: a module global
/// (declared `global`) or a class attribute read through `cls`, tested unset (`X is None`,
/// `not X`, `len(X) == 0`) and assigned in the body? What the body does runs once.
fn sets_unset_global(
    test: &Expr,
    body: &[Stmt],
    globals: &FxHashSet<&str>,
    self_once: bool,
) -> bool {
    let target = match test {
        Expr::Compare(c)
            if matches!(c.ops.as_ref(), [ast::CmpOp::Is])
                && matches!(c.comparators.as_ref(), [Expr::NoneLiteral(_)]) =>
        {
            c.left.as_ref()
        }
        // `len(cls.all_settings) == 0`
        Expr::Compare(c)
            if matches!(c.ops.as_ref(), [ast::CmpOp::Eq])
                && matches!(c.comparators.as_ref(), [Expr::NumberLiteral(n)]
                    if matches!(n.value, ast::Number::Int(ref i) if i.as_u8() == Some(0))) =>
        {
            match c.left.as_ref() {
                Expr::Call(call)
                    if matches!(call.func.as_ref(), Expr::Name(f) if f.id.as_str() == "len")
                        && call.arguments.args.len() == 1 =>
                {
                    &call.arguments.args[0]
                }
                _ => return false,
            }
        }
        Expr::UnaryOp(u) if u.op == ast::UnaryOp::Not => u.operand.as_ref(),
        _ => return false,
    };
    match target {
        Expr::Name(n) => {
            let x = n.id.as_str();
            globals.contains(x)
                && assigns(body, &|t| matches!(t, Expr::Name(t) if t.id.as_str() == x))
        }
        // `cls._instance`; `self.running` of the process's one instance.
        Expr::Attribute(a)
            if matches!(a.value.as_ref(), Expr::Name(c)
                if c.id.as_str() == "cls" || (self_once && c.id.as_str() == "self")) =>
        {
            let (attr, owner) = (a.attr.as_str(), a.value.as_ref());
            assigns(body, &|t| {
                matches!(t, Expr::Attribute(t) if t.attr.as_str() == attr
                    && matches!((t.value.as_ref(), owner), (Expr::Name(c), Expr::Name(o))
                        if c.id == o.id))
            })
        }
        _ => false,
    }
}

/// Is the binding a buffer in memory: declared `BytesIO`/`StringIO`, or made by one's
/// constructor?
fn is_memory_buffer(f: &Function, b: &Binding) -> bool {
    let in_memory = |p: &[Name]| p.last().is_some_and(|l| l == "BytesIO" || l == "StringIO");
    b.ty.as_deref().is_some_and(in_memory)
        || b.init_call
            .and_then(|i| f.calls.get(i as usize))
            .is_some_and(|c| matches!(&c.callee, Callee::Path(p) if in_memory(p)))
}

/// Does the class hand out one instance per process (per key at most): a `__new__` that
/// returns an instance it keeps on the class (`if port not in cls._instances: ..; return
/// cls._instances[port]`)? Then its instances live as long as the process, and a method's
/// `if not self.running:` set-up runs once.
fn hands_out_one_instance(class: &ast::StmtClassDef) -> bool {
    class.body.iter().any(|s| {
        let Stmt::FunctionDef(f) = s else {
            return false;
        };
        f.name.id.as_str() == "__new__"
            && f.body.iter().any(|s| {
                matches!(s, Stmt::Return(r) if r.value.as_deref().is_some_and(|v| {
                    let v = match v {
                        Expr::Subscript(x) => x.value.as_ref(),
                        other => other,
                    };
                    matches!(v, Expr::Attribute(a)
                        if matches!(a.value.as_ref(), Expr::Name(c) if c.id.as_str() == "cls"))
                }))
            })
    })
}

/// Does a block assign a target `is_target` accepts, directly or in a `with`, `try` or
/// `if` inside it?
fn assigns(body: &[Stmt], is_target: &dyn Fn(&Expr) -> bool) -> bool {
    body.iter().any(|s| match s {
        Stmt::Assign(a) => a.targets.iter().any(is_target),
        Stmt::AnnAssign(a) => is_target(&a.target),
        Stmt::With(w) => assigns(&w.body, is_target),
        Stmt::Try(t) => assigns(&t.body, is_target) || assigns(&t.orelse, is_target),
        Stmt::If(i) => {
            assigns(&i.body, is_target)
                || i.elif_else_clauses
                    .iter()
                    .any(|c| assigns(&c.body, is_target))
        }
        _ => false,
    })
}

/// `@lru_cache`, `@functools.cache(maxsize=..)`, `@cached_property`, `@memoize`.
fn is_memoizer(d: &Expr) -> bool {
    let callee = match d {
        Expr::Call(c) => &c.func,
        other => other,
    };
    dotted(callee)
        .and_then(|p| p.last().cloned())
        .is_some_and(|n| {
            matches!(
                n.as_str(),
                "lru_cache" | "cache" | "cached_property" | "cached" | "memoize" | "alru_cache"
            )
        })
}

/// A decorator that makes calls of the function run it on a worker thread:
/// `@work(thread=True)` (textual's thread workers), `@sync_to_async` (asgiref),
/// `@database_sync_to_async` (channels). `@work` alone runs an async worker on the loop.
fn runs_in_thread(d: &Expr) -> bool {
    let (callee, call) = match d {
        Expr::Call(c) => (c.func.as_ref(), Some(c)),
        other => (other, None),
    };
    let Some(name) = dotted(callee).and_then(|p| p.last().cloned()) else {
        return false;
    };
    match name.as_str() {
        "sync_to_async" | "database_sync_to_async" => true,
        "work" => call.is_some_and(|c| {
            c.arguments.keywords.iter().any(|k| {
                k.arg.as_ref().is_some_and(|a| a.as_str() == "thread")
                    && matches!(&k.value, Expr::BooleanLiteral(b) if b.value)
            })
        }),
        _ => false,
    }
}

/// Arithmetic and indexing in a loop body (the marks of pixel, matrix and sample loops).
#[derive(Default)]
struct BodyScan {
    arith: bool,
    index: bool,
}

impl<'a> Visitor<'a> for BodyScan {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        match stmt {
            // What a `return` or `raise` computes runs once, on the way out of the function:
            // not in every round (`return [msgs[i] for i in range(k + 1, n)]` ending a search).
            Stmt::FunctionDef(_) | Stmt::ClassDef(_) | Stmt::Return(_) | Stmt::Raise(_) => {}
            Stmt::AugAssign(a) => {
                if is_numeric_op(a.op) {
                    self.arith = true;
                }
                visitor::walk_stmt(self, stmt);
            }
            _ => visitor::walk_stmt(self, stmt),
        }
    }
    fn visit_expr(&mut self, expr: &'a Expr) {
        match expr {
            Expr::BinOp(b) if is_numeric_op(b.op) && !is_string(&b.left) => self.arith = true,
            Expr::Subscript(_) => self.index = true,
            _ => {}
        }
        visitor::walk_expr(self, expr);
    }
}

fn is_numeric_op(op: ast::Operator) -> bool {
    matches!(
        op,
        ast::Operator::Add
            | ast::Operator::Sub
            | ast::Operator::Mult
            | ast::Operator::Div
            | ast::Operator::FloorDiv
            | ast::Operator::Pow
            | ast::Operator::MatMult
    )
}

fn is_string(e: &Expr) -> bool {
    matches!(e, Expr::StringLiteral(_) | Expr::FString(_))
}
