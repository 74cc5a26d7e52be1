//! Lowering of tree-sitter-rust syntax trees into perfgate's model.

use crate::FrontendError;
use perfgate_model::{
    normalize_ws, strip_comments, Await, Binding, Call, CallFlags, Callee, Context, Function,
    FunctionRole, Handler, HandlerKind, Import, Language, List, Lock, LockKind, Loop, LoopKind,
    Module, MutOp, Mutation, Name, Path, Receiver, Span, StmtFacts, TripCount, TypeDecl,
};
use rustc_hash::{FxHashMap, FxHashSet};
use tree_sitter::{Node, Parser};

/// The grammar's field ids, looked up once. `child_by_field_name` finds a field's id by
/// comparing its name with every field name of the grammar (`strncmp`), on every call: a
/// few percent of checking a Rust project.
macro_rules! fields {
    ($($field:ident: $name:literal),* $(,)?) => {
        struct Fields {
            $($field: u16,)*
        }

        /// Every field name looked up (a test holds the grammar to having them all).
        #[cfg(test)]
        pub(crate) const FIELD_NAMES: &[&str] = &[$($name),*];

        static FIELDS: std::sync::LazyLock<Fields> = std::sync::LazyLock::new(|| {
            let lang: tree_sitter::Language = tree_sitter_rust::LANGUAGE.into();
            // A name the grammar lacks gets an id no node has: its lookups find nothing.
            let id = |name: &str| lang.field_id_for_name(name).map_or(u16::MAX, |f| f.get());
            Fields {
                $($field: id($name),)*
            }
        });
    };
}

fields! {
    alias: "alias",
    alternative: "alternative",
    argument: "argument",
    arguments: "arguments",
    body: "body",
    condition: "condition",
    consequence: "consequence",
    field: "field",
    function: "function",
    left: "left",
    length: "length",
    list: "list",
    mac: "macro",
    name: "name",
    operator: "operator",
    parameters: "parameters",
    path: "path",
    pattern: "pattern",
    return_type: "return_type",
    right: "right",
    tr: "trait",
    ty: "type",
    type_arguments: "type_arguments",
    value: "value",
}

/// Kind names by kind id, looked up once. `Node::kind` measures and UTF-8-validates the
/// grammar's C string on every call (1% of checking a Rust project); the lowering asks it
/// of nearly every node. A fixed array, not a vector: first made inside a scratch run, a
/// heap allocation would be freed with it.
static KINDS: std::sync::LazyLock<[&'static str; 1024]> = std::sync::LazyLock::new(|| {
    let count = tree_sitter::Language::from(tree_sitter_rust::LANGUAGE).node_kind_count();
    let mut kinds = [""; 1024];
    for (id, kind) in kinds.iter_mut().enumerate().take(count) {
        *kind = grammar_kind_name(id as u16);
    }
    kinds
});

/// The grammar's name for a kind id ("" for none): the binding ties the names it returns to
/// a `Language` value, but they are static strings of the grammar's tables.
fn grammar_kind_name(id: u16) -> &'static str {
    let lang = tree_sitter::Language::from(tree_sitter_rust::LANGUAGE).into_raw();
    // SAFETY: `ts_language_symbol_name` returns null for an id out of range, else a
    // NUL-terminated string in the grammar's static tables, never freed.
    unsafe {
        let name = tree_sitter::ffi::ts_language_symbol_name(lang, id);
        if name.is_null() {
            ""
        } else {
            std::ffi::CStr::from_ptr(name).to_str().unwrap_or("")
        }
    }
}

pub(crate) trait KindName {
    /// As `Node::kind`, from [`KINDS`].
    fn kind_name(&self) -> &'static str;
}

impl KindName for Node<'_> {
    fn kind_name(&self) -> &'static str {
        match KINDS.get(usize::from(self.kind_id())) {
            Some(k) if !k.is_empty() => k,
            _ => grammar_kind_name(self.kind_id()),
        }
    }
}

/// Recursion guard for expression walks: deeper trees are truncated, not overflowed. Sized
/// for a 2 MiB thread stack in a debug build (a test's, a library caller's) with room to
/// spare: each level costs `expr_inner`'s frame, several KiB unoptimised. The checker's own
/// threads have far larger stacks.
const MAX_DEPTH: u32 = 192;
/// Macro bodies re-parsed inside macro bodies, at most this deep.
const MAX_MACRO_DEPTH: u32 = 3;

fn new_parser() -> Result<Parser, FrontendError> {
    let mut parser = Parser::new();
    parser
        .set_language(&tree_sitter_rust::LANGUAGE.into())
        .map_err(|e| FrontendError(format!("tree-sitter-rust: {e}")))?;
    Ok(parser)
}

/// Source text that nodes point into, and how far its offsets are from the file's.
#[derive(Clone, Copy)]
struct Src<'t> {
    text: &'t str,
    delta: i64,
}

impl<'t> Src<'t> {
    fn of(&self, n: Node) -> &'t str {
        self.text.get(n.byte_range()).unwrap_or("")
    }
    fn span(&self, n: Node) -> Span {
        let s = (n.start_byte() as i64 + self.delta).max(0) as usize;
        let e = (n.end_byte() as i64 + self.delta).max(0) as usize;
        Span::new(s, e)
    }
    fn pos(&self, byte: usize) -> u32 {
        (byte as i64 + self.delta).max(0) as u32
    }
}

pub(crate) fn lower_file(
    src: &str,
    module_path: Path,
    is_test: bool,
    bench_file: bool,
) -> Result<Module, FrontendError> {
    // The parser and its trees are made and done with in here: their C heap may be the
    // scratch memory the file is lowered on.
    perfgate_model::scratch::c_heap(|| lower_file_with(src, module_path, is_test, bench_file))
}

fn lower_file_with(
    src: &str,
    module_path: Path,
    is_test: bool,
    bench_file: bool,
) -> Result<Module, FrontendError> {
    let mut parser = new_parser()?;
    // A benchmark file's test modules are read: they may hold its routines.
    let tree = parse_production(&mut parser, src, !bench_file)?;
    let root = tree.root_node();
    let mut cx = FileLower {
        module: Module {
            had_syntax_errors: root.has_error(),
            directive_comments: directive_comments(root, src),
            ..Module::empty(Language::Rust, module_path)
        },
        bench_file,
        variants: FxHashMap::default(),
        consts: FxHashMap::default(),
        parser,
    };
    let s = Src {
        text: src,
        delta: 0,
    };
    cx.collect_consts(root, s);
    // `#![cfg(test)]` at the top: the whole file is test code.
    let mut c = root.walk();
    let test_file = root
        .named_children(&mut c)
        .filter(|n| n.kind_name() == "inner_attribute_item")
        .any(|n| cfg_test_only(&s.of(n).replace(' ', "")));
    let scope = ItemScope {
        mod_prefix: Path::new(),
        owner: None,
        test: is_test || test_file,
    };
    cx.lower_items(root, s, &scope);
    // On scratch memory the parser and the tree are freed with it, not node by node.
    drop(c);
    let FileLower { module, parser, .. } = cx;
    perfgate_model::scratch::dispose(parser);
    perfgate_model::scratch::dispose(tree);
    Ok(module)
}

/// Parse a file, leaving out its `#[cfg(test)]` modules written inline in rustfmt's layout
/// (see [`inline_test_modules`]): no rule reads them, and they were a tenth to a quarter of
/// real crates' bytes. If what is left does not parse cleanly, the whole file is parsed.
fn parse_production(
    parser: &mut Parser,
    src: &str,
    skip_tests: bool,
) -> Result<tree_sitter::Tree, FrontendError> {
    let gave_up = || FrontendError("the parser gave up".into());
    let skipped = if skip_tests {
        inline_test_modules(src)
    } else {
        Vec::new()
    };
    if skipped.is_empty() {
        return parser.parse(src, None).ok_or_else(gave_up);
    }
    let point = |byte: usize| {
        let before = &src.as_bytes()[..byte];
        let row = memchr::memchr_iter(b'\n', before).count();
        let column = byte - memchr::memrchr(b'\n', before).map_or(0, |i| i + 1);
        tree_sitter::Point { row, column }
    };
    let range = |start: usize, end: usize| tree_sitter::Range {
        start_byte: start,
        end_byte: end,
        start_point: point(start),
        end_point: point(end),
    };
    let mut kept = Vec::with_capacity(skipped.len() + 1);
    let mut from = 0;
    for &(start, end) in &skipped {
        if start > from {
            kept.push(range(from, start));
        }
        from = end;
    }
    if from < src.len() {
        kept.push(range(from, src.len()));
    }
    let partial = match parser.set_included_ranges(&kept) {
        Ok(()) => parser.parse(src, None),
        Err(_) => None,
    };
    // The parser re-parses macro bodies later: whole texts again.
    let _ = parser.set_included_ranges(&[]);
    match partial {
        Some(tree) if !tree.root_node().has_error() => Ok(tree),
        _ => parser.parse(src, None).ok_or_else(gave_up),
    }
}

/// Byte ranges of the file's inline test modules, each from its `#[cfg(test)]` to its
/// closing brace, where the layout proves where that brace is: the attribute, any others,
/// and `mod name {` each on a line of their own at the left margin, every line up to a `}` back
/// at the margin indented or blank, and the braces on those lines, counted naively (strings
/// included), closing only there. Anything else (a module on one line, a raw string at the
/// margin, braces in strings that do not pair, a `perfgate:` comment) is parsed.
pub(crate) fn inline_test_modules(src: &str) -> Vec<(usize, usize)> {
    const ATTR: &str = "#[cfg(test)]";
    let mut out = Vec::new();
    let mut pos = 0;
    while let Some(i) = memchr::memmem::find(&src.as_bytes()[pos..], ATTR.as_bytes()) {
        let start = pos + i;
        pos = start + ATTR.len();
        if start > 0 && src.as_bytes()[start - 1] != b'\n' {
            continue;
        }
        if let Some(end) = test_module_end(src, start + ATTR.len()) {
            if !src[start..end].contains(perfgate_model::DIRECTIVE) {
                out.push((start, end));
            }
            pos = end;
        }
    }
    out
}

/// After a `#[cfg(test)]` at the margin: the end (past its closing line) of the `mod name {`
/// block that follows it, if the layout proves it (see [`inline_test_modules`]).
fn test_module_end(src: &str, after_attr: usize) -> Option<usize> {
    let mut lines = src[after_attr..].split_inclusive('\n');
    let mut at = after_attr;
    let rest_of_attr = lines.next()?;
    at += rest_of_attr.len();
    if !rest_of_attr.trim().is_empty() {
        return None;
    }
    // Other attributes of the module, each on a line of its own (`#[allow(unused)]`).
    let mut header = lines.next()?;
    at += header.len();
    while header.starts_with("#[") && header.trim_end().ends_with(']') {
        header = lines.next()?;
        at += header.len();
    }
    let h = header.trim_end();
    let module = ["mod ", "pub mod ", "pub(crate) mod ", "pub(super) mod "]
        .iter()
        .any(|p| h.starts_with(p));
    if !module || !h.ends_with('{') || h.matches('{').count() != 1 || h.contains('}') {
        return None;
    }
    let mut depth: i64 = 1;
    for line in lines {
        at += line.len();
        if line.trim().is_empty() {
            continue;
        }
        let opens = line.matches('{').count() as i64;
        let closes = line.matches('}').count() as i64;
        if line.starts_with([' ', '\t']) {
            depth += opens - closes;
            if depth <= 0 {
                return None;
            }
            continue;
        }
        // Back at the margin: the module's closing brace, or no module this layout proves.
        return (line.trim_end() == "}" && depth == 1).then_some(at);
    }
    None
}

/// Plain (non-doc) comments that mention `perfgate:`.
fn directive_comments(root: Node, src: &str) -> Vec<Span> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(i) = src[from..].find(perfgate_model::DIRECTIVE) {
        let at = from + i;
        from = at + perfgate_model::DIRECTIVE.len();
        let Some(node) = root.descendant_for_byte_range(at, from) else {
            continue;
        };
        let text = src.get(node.byte_range()).unwrap_or("");
        let is_doc = text.starts_with("///") || text.starts_with("//!") || text.starts_with("/**");
        if matches!(node.kind_name(), "line_comment" | "block_comment") && !is_doc {
            let sp = Span::new(node.start_byte(), node.end_byte());
            if out.last() != Some(&sp) {
                out.push(sp);
            }
        }
    }
    out
}

struct ItemScope {
    /// Inline `mod a { mod b { ... } }` names.
    mod_prefix: Path,
    owner: Option<Name>,
    test: bool,
}

struct FileLower {
    module: Module,
    /// The field type of each one-field tuple variant of the file's enums, by enum and
    /// variant name (`AtuinCmd::Client(client::Cmd)`): what a match arm binds.
    variants: FxHashMap<(String, String), Path>,
    /// A benchmark file (`benches/`): its tests' bodies are lowered, for the benchmark
    /// rules; other test code keeps only its signatures (see [`FileLower::lower_fn`]).
    bench_file: bool,
    consts: FxHashMap<String, f64>,
    parser: Parser,
}

impl FileLower {
    fn collect_consts(&mut self, root: Node, s: Src) {
        let mut stack = vec![root];
        while let Some(n) = stack.pop() {
            match n.kind_name() {
                "const_item" | "static_item" => {
                    let name = n.child_by_field_id(FIELDS.name).map(|x| s.of(x).to_owned());
                    let value = n.child_by_field_id(FIELDS.value).and_then(|v| number(v, s));
                    let ty = n.child_by_field_id(FIELDS.ty).and_then(|t| type_path(t, s));
                    if let Some(name) = name {
                        if let Some(v) = value {
                            self.consts.insert(name.clone(), v);
                        }
                        self.module.globals.push(Binding {
                            name: name.into(),
                            ty,
                            number: value,
                            span: s.span(n),
                            ..Binding::default()
                        });
                    }
                }
                "enum_item" => self.collect_variants(n, s),
                "source_file" | "declaration_list" | "mod_item" => {
                    let mut c = n.walk();
                    stack.extend(n.named_children(&mut c));
                }
                _ => {}
            }
        }
    }

    /// An enum's one-field tuple variants and their field types (see `variants`).
    fn collect_variants(&mut self, item: Node, s: Src) {
        let (Some(name), Some(body)) = (
            item.child_by_field_id(FIELDS.name),
            item.child_by_field_id(FIELDS.body),
        ) else {
            return;
        };
        let mut c = body.walk();
        for v in body.named_children(&mut c) {
            let (Some(vname), Some(fields)) = (
                v.child_by_field_id(FIELDS.name),
                v.child_by_field_id(FIELDS.body),
            ) else {
                continue;
            };
            if fields.kind_name() != "ordered_field_declaration_list" {
                continue;
            }
            let mut fc = fields.walk();
            let types: Vec<Node> = fields
                .named_children(&mut fc)
                .filter(|t| !matches!(t.kind_name(), "attribute_item" | "visibility_modifier"))
                .collect();
            if let [ty] = types[..] {
                if let Some(path) = type_path(ty, s) {
                    self.variants
                        .insert((s.of(name).to_owned(), s.of(vname).to_owned()), path);
                }
            }
        }
    }

    fn lower_items(&mut self, parent: Node, s: Src, scope: &ItemScope) {
        let mut cursor = parent.walk();
        let children: Vec<Node> = parent.named_children(&mut cursor).collect();
        // `mod simple; pub use simple::run;`: a `use` path may start at a child module.
        let child_mods: FxHashSet<&str> = children
            .iter()
            .filter(|c| c.kind_name() == "mod_item")
            .filter_map(|c| c.child_by_field_id(FIELDS.name))
            .map(|n| s.of(n))
            .collect();
        for (i, item) in children.iter().enumerate() {
            let attrs = preceding_attributes(&children[..i], s);
            match item.kind_name() {
                "function_item" => {
                    let mut role = role_of(item, s, &attrs, scope.test);
                    if role == FunctionRole::Normal && builds_from_config(item, s, scope) {
                        role = FunctionRole::Entry;
                    }
                    self.lower_function(*item, s, scope, role);
                    if attrs.iter().any(|a| {
                        a.starts_with("#[cached")
                            || a.starts_with("#[once")
                            || a.starts_with("#[memoize")
                    }) {
                        if let Some(f) = self.module.functions.last_mut() {
                            f.memoized = true;
                        }
                    }
                }
                "impl_item" => {
                    let owner = item
                        .child_by_field_id(FIELDS.ty)
                        .and_then(|t| type_path(t, s))
                        .and_then(|p| p.last().cloned());
                    if let (Some(owner), Some(tr)) = (&owner, item.child_by_field_id(FIELDS.tr)) {
                        if let Some(tp) = type_path(tr, s) {
                            self.add_base(owner, tp, s.span(*item));
                        }
                    }
                    if let Some(body) = item.child_by_field_id(FIELDS.body) {
                        let inner = ItemScope {
                            mod_prefix: scope.mod_prefix.clone(),
                            owner,
                            test: scope.test || attrs.iter().any(|a| cfg_test_only(a)),
                        };
                        self.lower_items(body, s, &inner);
                    }
                }
                "trait_item" => {
                    let owner = item
                        .child_by_field_id(FIELDS.name)
                        .map(|n| Name::from(s.of(n)));
                    if let Some(body) = item.child_by_field_id(FIELDS.body) {
                        let inner = ItemScope {
                            mod_prefix: scope.mod_prefix.clone(),
                            owner,
                            test: scope.test,
                        };
                        self.lower_items(body, s, &inner);
                    }
                }
                "struct_item" | "enum_item" | "union_item" => self.lower_type(*item, s),
                "mod_item" => {
                    // `mod tests`, and modules named for test support (`pub mod test;`,
                    // `mod test_utils;`) though not compiled for tests only.
                    let is_test = |name: &str| {
                        attrs.iter().any(|a| cfg_test_only(a))
                            || matches!(name, "test" | "tests" | "testing")
                            || name.starts_with("test_")
                    };
                    // `#[cfg(test)] mod tests;`: the module is another file's.
                    if let (None, Some(name)) = (
                        item.child_by_field_id(FIELDS.body),
                        item.child_by_field_id(FIELDS.name),
                    ) {
                        if scope.test || is_test(s.of(name)) {
                            let mut path = self.module.module_path.clone();
                            path.extend(scope.mod_prefix.iter().cloned());
                            path.push(s.of(name).into());
                            self.module.test_modules.push(path);
                        }
                    }
                    if let (Some(body), Some(name)) = (
                        item.child_by_field_id(FIELDS.body),
                        item.child_by_field_id(FIELDS.name),
                    ) {
                        let mut prefix = scope.mod_prefix.clone();
                        prefix.push(s.of(name).into());
                        let inner = ItemScope {
                            mod_prefix: prefix,
                            owner: None,
                            test: scope.test || is_test(s.of(name)),
                        };
                        self.lower_items(body, s, &inner);
                    }
                }
                "use_declaration" => self.lower_use(*item, s, scope, Some(&child_mods)),
                _ => {}
            }
        }
    }

    /// A `use` declaration's names, as the module's imports. One inside a function body
    /// (`use tokio::time::timeout;` in `main`) is taken as the module's too: its names
    /// rarely clash with the module's own.
    fn lower_use(
        &mut self,
        item: Node,
        s: Src,
        scope: &ItemScope,
        child_mods: Option<&FxHashSet<&str>>,
    ) {
        if let Some(arg) = item.child_by_field_id(FIELDS.argument) {
            let mut out = Vec::new();
            use_tree(arg, s, Path::new(), &mut out);
            for (alias, mut path) in out {
                // A child module's path is relative to here (Rust 2018's uniform paths).
                if path.len() > 1 && child_mods.is_some_and(|m| m.contains(path[0].as_str())) {
                    path.insert(0, "self".into());
                }
                let path = self.absolute(path, &scope.mod_prefix);
                self.module.imports.push(Import { alias, path });
            }
        }
    }

    fn add_base(&mut self, owner: &str, base: Path, span: Span) {
        if let Some(t) = self.module.types.iter_mut().find(|t| t.name == owner) {
            t.bases.push(base);
        } else {
            self.module.types.push(TypeDecl {
                name: owner.into(),
                span,
                fields: Vec::new(),
                bases: vec![base],
                inner: Vec::new(),
            });
        }
    }

    fn lower_type(&mut self, item: Node, s: Src) {
        let Some(name) = item
            .child_by_field_id(FIELDS.name)
            .map(|n| s.of(n).to_owned())
        else {
            return;
        };
        let mut fields = Vec::new();
        let mut inner_types = Vec::new();
        if let Some(body) = item.child_by_field_id(FIELDS.body) {
            let mut c = body.walk();
            for f in body.named_children(&mut c) {
                if f.kind_name() == "field_declaration" {
                    if let Some(fname) = f.child_by_field_id(FIELDS.name) {
                        let ty_node = f.child_by_field_id(FIELDS.ty);
                        let ty = ty_node.and_then(|t| type_path(t, s));
                        if let Some(inner) = ty_node
                            .and_then(|t| inner_type_path(t, s))
                            .filter(|i| Some(i) != ty.as_ref())
                        {
                            inner_types.push((fields.len() as u32, inner));
                        }
                        fields.push(Binding {
                            name: s.of(fname).into(),
                            ty,
                            span: s.span(f),
                            ..Binding::default()
                        });
                    }
                }
            }
        }
        if let Some(t) = self.module.types.iter_mut().find(|t| t.name == name) {
            t.fields = fields;
            t.inner = inner_types;
            t.span = s.span(item);
        } else {
            self.module.types.push(TypeDecl {
                name: name.into(),
                span: s.span(item),
                fields,
                bases: Vec::new(),
                inner: inner_types,
            });
        }
    }

    /// Rewrite `crate::`, `self::` and `super::` paths to absolute module paths.
    fn absolute(&self, mut path: Path, mod_prefix: &[Name]) -> Path {
        let mut here = self.module.module_path.clone();
        here.extend(mod_prefix.iter().cloned());
        match path.first().map(perfgate_model::Name::as_str) {
            Some("crate") => {
                path[0] = self.module.module_path[0].clone();
                path
            }
            Some("self") => {
                path.remove(0);
                here.extend(path);
                here
            }
            Some("super") => {
                while path.first().map(perfgate_model::Name::as_str) == Some("super") {
                    path.remove(0);
                    here.pop();
                }
                here.extend(path);
                here
            }
            _ => path,
        }
    }

    fn lower_function(&mut self, item: Node, s: Src, scope: &ItemScope, role: FunctionRole) {
        // Test code (a `tests/` file, a `#[cfg(test)]` module) is left out of the model: no
        // rule reads it, and on a well-tested crate its signatures were a large part of the
        // model, whose memory is most of a check's system time. Benchmarks are kept.
        if scope.test && !self.bench_file {
            return;
        }
        let Some(name_node) = item.child_by_field_id(FIELDS.name) else {
            return;
        };
        let name: Name = s.of(name_node).into();
        let mut qual: Path = scope.mod_prefix.clone();
        if let Some(o) = &scope.owner {
            qual.push(o.clone());
        }
        qual.push(name.as_str().into());
        let is_async = {
            let mut c = item.walk();
            let found = item
                .children(&mut c)
                .any(|ch| ch.kind_name() == "function_modifiers" && s.of(ch).contains("async"));
            found
        };
        let mut func = Function {
            name,
            owner: scope.owner.clone(),
            qualname: qual.join("::").into(),
            is_async,
            span: s.span(item),
            name_span: s.span(name_node),
            role,
            ..Function::default()
        };
        func.returns = item
            .child_by_field_id(FIELDS.return_type)
            .and_then(|t| return_path(t, s));
        let mut exclusive = FxHashSet::default();
        if let Some(params) = item.child_by_field_id(FIELDS.parameters) {
            let mut c = params.walk();
            for p in params.named_children(&mut c) {
                // `&mut self`, `&'a mut self`; not `mut self`, which owns it.
                if mut_ref(p, "self_parameter") && s.of(p).starts_with('&') {
                    func.mut_self = true;
                }
                if p.kind_name() == "parameter" {
                    if let Some(pat) = p.child_by_field_id(FIELDS.pattern) {
                        if p.child_by_field_id(FIELDS.ty).is_some_and(is_mut_ref_type) {
                            exclusive.insert(name_hash(s.of(pat).trim_start_matches("mut ")));
                        }
                        func.params.push(Binding {
                            name: s.of(pat).trim_start_matches("mut ").into(),
                            ty: p.child_by_field_id(FIELDS.ty).and_then(|t| type_path(t, s)),
                            span: s.span(p),
                            ..Binding::default()
                        });
                    }
                }
            }
        }
        let mut fl = FnLower {
            func,
            block: 0,
            stmt: 0,
            loops: Vec::new(),
            parent_call: None,
            in_closure: false,
            async_block: false,
            handler: None,
            stmt_defs: List::new(),
            await_facts: false,
            conditional_block: 0,
            depth: 0,
            macro_depth: 0,
            consts: &self.consts,
            variants: &self.variants,
            parser: &mut self.parser,
            owner: scope.owner.as_ref().map(Name::to_string),
            here: {
                let mut h = self.module.module_path.clone();
                h.extend(scope.mod_prefix.iter().cloned());
                h
            },
            crate_name: self.module.module_path[0].to_string(),
            varying: Vec::new(),
            returned_spans: FxHashSet::default(),
            returned_names: FxHashSet::default(),
            stored_names: FxHashSet::default(),
            exclusive,
        };
        // A test keeps its signature but not its body, nor what it declares inside: no rule
        // reads test code but the benchmark rules, which read benchmark files.
        if role == FunctionRole::Test && !self.bench_file {
            self.module.functions.push(fl.func);
            return;
        }
        if let Some(body) = item.child_by_field_id(FIELDS.body) {
            fl.returned(body, s, 0);
            fl.lower_block(body, s);
        }
        let func = fl.finish();
        self.module.functions.push(func);
        // Functions and items nested in the body are their own. Finding them visits every
        // node of the body, and most bodies have none: look for a keyword first.
        if let Some(body) = item.child_by_field_id(FIELDS.body) {
            if may_hold_items(s.of(body)) {
                self.lower_nested(body, s, scope, role);
            }
        }
    }

    /// Functions, impls, types, traits and modules declared inside a function body.
    fn lower_nested(&mut self, body: Node, s: Src, scope: &ItemScope, role: FunctionRole) {
        // What a test declares is test code too.
        let inner = ItemScope {
            mod_prefix: scope.mod_prefix.clone(),
            owner: None,
            test: scope.test || role == FunctionRole::Test,
        };
        let nested_role = if role == FunctionRole::Test {
            role
        } else {
            FunctionRole::Normal
        };
        let mut stack = vec![body];
        while let Some(n) = stack.pop() {
            let mut c = n.walk();
            let kids: Vec<Node> = n.named_children(&mut c).collect();
            // A block that declares an impl, a type, a trait or a module is lowered as a
            // module's items are, its functions with them (once: not again one by one).
            let has_items = kids.iter().any(|k| {
                matches!(
                    k.kind_name(),
                    "impl_item" | "struct_item" | "mod_item" | "trait_item"
                )
            });
            if has_items {
                self.lower_items(n, s, &inner);
            }
            for ch in kids {
                match ch.kind_name() {
                    "function_item" if !has_items => {
                        self.lower_function(ch, s, &inner, nested_role)
                    }
                    "use_declaration" if !has_items => self.lower_use(ch, s, &inner, None),
                    "function_item" | "impl_item" | "struct_item" | "mod_item" | "trait_item"
                    | "use_declaration" => {}
                    _ if ch.child_count() > 0 && stack.len() < 4096 => stack.push(ch),
                    _ => {}
                }
            }
        }
    }
}

/// How many times `word` stands alone in `text` (an identifier character on neither side),
/// counting up to `enough`.
pub(crate) fn word_count(text: &str, word: &str, enough: usize) -> usize {
    let b = text.as_bytes();
    let ident = |i: usize| {
        b.get(i)
            .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
    };
    memchr::memmem::find_iter(b, word.as_bytes())
        .filter(|&at| (at == 0 || !ident(at - 1)) && !ident(at + word.len()))
        .take(enough)
        .count()
}

/// Could `text` declare an item: does it hold `fn`, `impl`, `struct`, `mod`, `trait` or
/// `use` as a word? A superset test (a keyword in a string or comment passes it), never a miss.
pub(crate) fn may_hold_items(text: &str) -> bool {
    ["fn", "impl", "struct", "mod", "trait", "use"]
        .iter()
        .any(|kw| word_count(text, kw, 1) > 0)
}

fn preceding_attributes(before: &[Node], s: Src) -> Vec<String> {
    before
        .iter()
        .rev()
        .take_while(|n| {
            matches!(
                n.kind_name(),
                "attribute_item" | "line_comment" | "block_comment"
            )
        })
        .filter(|n| n.kind_name() == "attribute_item")
        .map(|n| s.of(*n).replace(' ', ""))
        .collect()
}

/// `#[cfg(test)]`, `#[cfg(all(test, feature = "x"))]` or the inner `#![cfg(test)]`: compiled
/// for tests only. `any(test, ..)` and `not(test)` are not. `attr` is written without spaces.
pub(crate) fn cfg_test_only(attr: &str) -> bool {
    let Some(pred) = attr
        .strip_prefix("#[cfg(")
        .or_else(|| attr.strip_prefix("#![cfg("))
        .and_then(|r| r.strip_suffix(")]"))
    else {
        return false;
    };
    if pred == "test" {
        return true;
    }
    let Some(args) = pred.strip_prefix("all(").and_then(|r| r.strip_suffix(')')) else {
        return false;
    };
    // The arguments at the top level of `all(..)`: commas inside `any(..)` do not count.
    perfgate_model::split_top_level(args).any(|a| a == "test")
}

/// `impl SinkConfig for HttpConfig { async fn build(&self) .. }`: a method that builds a
/// component from its configuration runs when the configuration is loaded (start-up, a
/// reload), not per request: like `main`, an entry point.
fn builds_from_config(item: &Node, s: Src, scope: &ItemScope) -> bool {
    let name = item
        .child_by_field_id(FIELDS.name)
        .map(|n| s.of(n))
        .unwrap_or("");
    scope
        .owner
        .as_deref()
        .is_some_and(|o| o.ends_with("Config"))
        && (name == "build" || name.starts_with("build_"))
}

fn role_of(item: &Node, s: Src, attrs: &[String], test_scope: bool) -> FunctionRole {
    let name = item
        .child_by_field_id(FIELDS.name)
        .map(|n| s.of(n))
        .unwrap_or("");
    if test_scope
        || attrs
            .iter()
            .any(|a| a.contains("test") || a.contains("bench"))
        || perfgate_model::is_test_helper_name(name)
    {
        FunctionRole::Test
    } else if name == "main"
        || attrs.iter().any(|a| a.contains("::main"))
        || perfgate_model::STARTUP_NAMES.contains(&name)
    {
        FunctionRole::Entry
    } else {
        FunctionRole::Normal
    }
}

/// Flatten a `use` tree into `(alias, path)` pairs.
fn use_tree(n: Node, s: Src, prefix: Path, out: &mut Vec<(Name, Path)>) {
    match n.kind_name() {
        "identifier" | "scoped_identifier" | "crate" | "self" | "super" => {
            let mut path = prefix;
            path.extend(path_segments(s.of(n)));
            if path.last().map(perfgate_model::Name::as_str) == Some("self") {
                path.pop();
            }
            if let Some(alias) = path.last().cloned() {
                out.push((alias, path));
            }
        }
        "use_as_clause" => {
            if let (Some(p), Some(a)) = (
                n.child_by_field_id(FIELDS.path),
                n.child_by_field_id(FIELDS.alias),
            ) {
                let mut path = prefix;
                path.extend(path_segments(s.of(p)));
                out.push((s.of(a).into(), path));
            }
        }
        "scoped_use_list" => {
            let mut base = prefix;
            if let Some(p) = n.child_by_field_id(FIELDS.path) {
                base.extend(path_segments(s.of(p)));
            }
            if let Some(list) = n.child_by_field_id(FIELDS.list) {
                use_tree(list, s, base, out);
            }
        }
        "use_list" => {
            let mut c = n.walk();
            for ch in n.named_children(&mut c) {
                use_tree(ch, s, prefix.clone(), out);
            }
        }
        // `use super::*;`: everything the module names, under the alias `*`.
        "use_wildcard" => {
            let mut path = prefix;
            path.extend(path_segments(
                s.of(n).trim_end_matches('*').trim_end_matches("::"),
            ));
            out.push(("*".into(), path));
        }
        _ => {}
    }
}

/// `a::b::<T>::c` -> `["a", "b", "c"]` (generic arguments dropped).
fn path_segments(text: &str) -> Path {
    let mut out = String::with_capacity(text.len());
    let mut depth = 0u32;
    for ch in text.chars() {
        match ch {
            '<' => depth += 1,
            '>' => depth = depth.saturating_sub(1),
            c if depth == 0 && !c.is_whitespace() => out.push(c),
            _ => {}
        }
    }
    out.split("::")
        .filter(|p| !p.is_empty())
        .map(Name::from)
        .collect()
}

/// The nominal type of a type expression, looking through references and smart pointers.
fn type_path(n: Node, s: Src) -> Option<Path> {
    match n.kind_name() {
        "type_identifier" | "primitive_type" | "identifier" => {
            Some(perfgate_model::thin_vec![s.of(n).into()])
        }
        "scoped_type_identifier" | "scoped_identifier" => Some(path_segments(s.of(n))),
        "reference_type" | "pointer_type" => {
            n.child_by_field_id(FIELDS.ty).and_then(|t| type_path(t, s))
        }
        // `[T]`: one name, so rules can tell a slice from a set. `[T; N]` has its size in its
        // type: a fixed handful (`special_characters: [char; N]`), not data.
        "array_type" if n.child_by_field_id(FIELDS.length).is_some() => {
            Some(perfgate_model::thin_vec!["[;]".into()])
        }
        "array_type" => Some(perfgate_model::thin_vec!["[]".into()]),
        "generic_type" => {
            let outer = type_path(n.child_by_field_id(FIELDS.ty)?, s)?;
            let last = outer.last()?.as_str();
            if matches!(
                last,
                "Arc" | "Rc" | "Box" | "Option" | "Cow" | "Pin" | "RefCell"
            ) {
                let args = n.child_by_field_id(FIELDS.type_arguments)?;
                let mut c = args.walk();
                let first = args.named_children(&mut c).next()?;
                type_path(first, s)
            } else {
                Some(outer)
            }
        }
        _ => None,
    }
}

/// A return type as the value it gives once unwrapped: `Result<Client, E>` as `Client` (`?`
/// and `unwrap` keep the type), other types as [`type_path`] reads them.
fn return_path(n: Node, s: Src) -> Option<Path> {
    if n.kind_name() == "generic_type" {
        let outer = type_path(n.child_by_field_id(FIELDS.ty)?, s)?;
        if outer.last().is_some_and(|l| l == "Result") {
            let args = n.child_by_field_id(FIELDS.type_arguments)?;
            let mut c = args.walk();
            let first = args.named_children(&mut c).next()?;
            return type_path(first, s);
        }
    }
    type_path(n, s)
}

fn number(n: Node, s: Src) -> Option<f64> {
    number_at(n, s, 0)
}

fn number_at(n: Node, s: Src, depth: u32) -> Option<f64> {
    if depth > 16 {
        return None;
    }
    match n.kind_name() {
        "integer_literal" | "float_literal" => {
            let t: String = s.of(n).chars().filter(|c| *c != '_').collect::<String>();
            let t = t.trim_end_matches(|c: char| c.is_ascii_alphabetic() && c != 'e');
            let t = t
                .trim_end_matches("u8")
                .trim_end_matches("u16")
                .trim_end_matches("u32")
                .trim_end_matches("u64")
                .trim_end_matches("usize")
                .trim_end_matches("i32")
                .trim_end_matches("i64")
                .trim_end_matches("f32")
                .trim_end_matches("f64");
            t.parse::<f64>().ok()
        }
        "parenthesized_expression" => n.named_child(0).and_then(|c| number_at(c, s, depth + 1)),
        "binary_expression" => {
            let l = number_at(n.child_by_field_id(FIELDS.left)?, s, depth + 1)?;
            let r = number_at(n.child_by_field_id(FIELDS.right)?, s, depth + 1)?;
            match s.of(n.child_by_field_id(FIELDS.operator)?) {
                "*" => Some(l * r),
                "+" => Some(l + r),
                "-" => Some(l - r),
                "/" if r != 0.0 => Some(l / r),
                _ => None,
            }
        }
        _ => None,
    }
}

struct FnLower<'c> {
    func: Function,
    block: u32,
    stmt: u32,
    loops: Vec<u32>,
    parent_call: Option<u32>,
    in_closure: bool,
    async_block: bool,
    handler: Option<u32>,
    stmt_defs: List<Name>,
    /// Whether the block being lowered is async code that can hold two awaits, the fewest
    /// `sequential-awaits` pairs (it pairs awaits of one block): the names its statements
    /// define and use, and its awaits bind and use, matter only then, and finding them walks
    /// each statement's subtree again (nested blocks again and again).
    await_facts: bool,
    /// The id of the block about to be lowered when its parent is a branch, a match arm or
    /// a `let` (`if_expression`, `else_clause`, `match_arm`, `let_declaration`), else 0.
    /// Set by the parent, taken by `lower_block`: asking a block for its parent walks the
    /// tree down from its root.
    conditional_block: usize,
    depth: u32,
    macro_depth: u32,
    consts: &'c FxHashMap<String, f64>,
    variants: &'c FxHashMap<(String, String), Path>,
    parser: &'c mut Parser,
    owner: Option<String>,
    here: Path,
    crate_name: String,
    /// Per enclosing loop, innermost last: the names each iteration changes.
    varying: Vec<FxHashSet<u64>>,
    /// Expressions whose value the function returns (tail expressions, `return` values,
    /// looking through `Ok(..)`, struct literals and branches), and names returned so.
    returned_spans: FxHashSet<Span>,
    returned_names: FxHashSet<String>,
    /// Names stored on `self` or pushed into a collection.
    stored_names: FxHashSet<String>,
    /// Names bound to a `&mut` borrow (parameters `x: &mut T`, `let x = &mut ...`): passing
    /// one on lends it exclusively ([`CallFlags::EXCLUSIVE`]).
    exclusive: FxHashSet<u64>,
}

/// Wrappers a returned value may be built inside and still be the returned value.
const WRAPPERS: &[&str] = &[
    "Ok", "Some", "Err", "new", "from", "Box", "Arc", "Rc", "Mutex", "RwLock", "RefCell", "pin",
];

/// Methods that hand on their receiver's value, or an error in its place.
const ADAPTORS: &[&str] = &[
    "map_err",
    "unwrap",
    "expect",
    "context",
    "with_context",
    "ok",
    "unwrap_or_default",
];

/// What leaves the function or is kept carries what it is made of: the call an adaptor hands
/// on (`Client::builder().build().map_err(Error::from)?`: the client is what is kept, not
/// only the adaptor's result), and the calls in a wrapper's or constructor's arguments
/// (`Arc::new(self.into_output().await?)` kept in a struct that is returned). Repeated until
/// nothing changes: chains are short, and each round only adds flags.
fn keep_what_is_kept_from(calls: &mut [Call]) {
    const KEPT: u16 = CallFlags::RETURNED | CallFlags::STORED;
    for _ in 0..16 {
        let mut changed = false;
        for i in 0..calls.len() {
            let flags = calls[i].flags & KEPT;
            if flags == 0 {
                continue;
            }
            if let Callee::Method {
                recv: Receiver::CallResult(inner),
                name,
            } = &calls[i].callee
            {
                let inner = *inner as usize;
                if ADAPTORS.contains(&name.as_str())
                    && inner != i
                    && inner < calls.len()
                    && calls[inner].flags & flags != flags
                {
                    calls[inner].flags |= flags;
                    changed = true;
                }
            }
        }
        for j in 0..calls.len() {
            let Some(p) = calls[j].ctx.parent_call() else {
                continue;
            };
            let Some(parent) = calls.get(p as usize) else {
                continue;
            };
            let flags = parent.flags & KEPT;
            let wraps = matches!(&parent.callee, Callee::Path(path)
                if path.last().is_some_and(|n| WRAPPERS.contains(&n.as_str())));
            // Not what runs in a closure or async block handed to the wrapper
            // (`Box::pin(async move { .. })`): that is the future's body, whose own tail says
            // what it returns.
            let (c, pc) = (calls[j].ctx, parent.ctx);
            if (c.in_closure && !pc.in_closure) || (c.async_block && !pc.async_block) {
                continue;
            }
            if flags != 0 && wraps && calls[j].flags & flags != flags {
                calls[j].flags |= flags;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
}

/// Methods that keep their argument: a value passed to them outlives the call.
const RETAINING: &[&str] = &[
    "push",
    "push_back",
    "push_front",
    "insert",
    "extend",
    "send",
    "try_send",
    "append",
    "or_insert",
    "or_insert_with",
    "get_or_insert_with",
];

impl FnLower<'_> {
    fn finish(mut self) -> Function {
        for b in &self.func.locals {
            let Some(c) = b.init_call else { continue };
            let mut flags = 0;
            if self.returned_names.contains(b.name.as_str()) {
                flags |= CallFlags::RETURNED;
            }
            if self.stored_names.contains(b.name.as_str()) {
                flags |= CallFlags::STORED;
            }
            self.func.calls[c as usize].flags |= flags;
        }
        for i in 0..self.func.calls.len() {
            if let Some(p) = self.func.calls[i].ctx.parent_call() {
                if let Callee::Method { name, .. } = &self.func.calls[p as usize].callee {
                    if RETAINING.contains(&name.as_str()) {
                        self.func.calls[i].flags |= CallFlags::STORED;
                    }
                }
            }
        }
        keep_what_is_kept_from(&mut self.func.calls);
        self.func
    }

    /// Record what an expression in return position returns.
    fn returned(&mut self, n: Node, s: Src, depth: u32) {
        if depth > 64 {
            return;
        }
        match n.kind_name() {
            "block" => {
                let mut c = n.walk();
                let last = n
                    .named_children(&mut c)
                    .filter(|x| !x.kind_name().ends_with("comment"))
                    .last();
                if let Some(l) = last {
                    // A tail expression has no `;` and is not wrapped in a statement.
                    if l.kind_name() != "expression_statement" && l.kind_name() != "let_declaration"
                    {
                        self.returned(l, s, depth + 1);
                    } else if l.kind_name() == "expression_statement"
                        && !s.of(l).trim_end().ends_with(';')
                    {
                        if let Some(e) = l.named_child(0) {
                            self.returned(e, s, depth + 1);
                        }
                    }
                }
            }
            "if_expression" => {
                for f in [FIELDS.consequence, FIELDS.alternative] {
                    if let Some(b) = n.child_by_field_id(f) {
                        self.returned(b, s, depth + 1);
                    }
                }
            }
            // `Box::pin(async move { .. })`: the future's output leaves with it.
            "async_block" => {
                if let Some(b) = n
                    .named_children(&mut n.walk())
                    .find(|c| c.kind_name() == "block")
                {
                    self.returned(b, s, depth + 1);
                }
            }
            // `Ok((Scoped::client(io), addr))`: each element leaves.
            "tuple_expression" | "array_expression" => {
                let mut c = n.walk();
                let items: Vec<Node> = n.named_children(&mut c).collect();
                for x in items {
                    self.returned(x, s, depth + 1);
                }
            }
            "else_clause"
            | "parenthesized_expression"
            | "try_expression"
            | "await_expression"
            | "return_expression"
            | "reference_expression" => {
                if let Some(x) = n.named_children(&mut n.walk()).last() {
                    self.returned(x, s, depth + 1);
                }
            }
            "match_expression" => {
                if let Some(body) = n.child_by_field_id(FIELDS.body) {
                    let mut c = body.walk();
                    let arms: Vec<Node> = body.named_children(&mut c).collect();
                    for arm in arms {
                        if let Some(v) = arm.child_by_field_id(FIELDS.value) {
                            self.returned(v, s, depth + 1);
                        }
                    }
                }
            }
            "struct_expression" => {
                if let Some(body) = n.child_by_field_id(FIELDS.body) {
                    let mut c = body.walk();
                    let fields: Vec<Node> = body.named_children(&mut c).collect();
                    for f in fields {
                        match f.kind_name() {
                            "field_initializer" => {
                                if let Some(v) = f.child_by_field_id(FIELDS.value) {
                                    self.returned(v, s, depth + 1);
                                }
                            }
                            "shorthand_field_initializer" => {
                                self.returned_names.insert(s.of(f).trim().to_owned());
                            }
                            _ => {}
                        }
                    }
                }
            }
            "call_expression" => {
                self.returned_spans.insert(s.span(n));
                let wrapper = n
                    .child_by_field_id(FIELDS.function)
                    .map(|f| s.of(f).rsplit("::").next().unwrap_or("").to_owned())
                    .is_some_and(|last| WRAPPERS.contains(&last.as_str()));
                if let Some(args) = n.child_by_field_id(FIELDS.arguments) {
                    // `Self::new(model)`: what the returned value is built from leaves with it.
                    let mut c = args.walk();
                    for k in args.named_children(&mut c) {
                        if k.kind_name() == "identifier" {
                            self.returned_names.insert(s.of(k).to_owned());
                        }
                    }
                }
                if wrapper {
                    if let Some(args) = n.child_by_field_id(FIELDS.arguments) {
                        let mut c = args.walk();
                        let kids: Vec<Node> = args.named_children(&mut c).collect();
                        for k in kids {
                            self.returned(k, s, depth + 1);
                        }
                    }
                }
            }
            "identifier" => {
                self.returned_names.insert(s.of(n).to_owned());
            }
            "macro_invocation" => {
                self.returned_spans.insert(s.span(n));
            }
            _ => {}
        }
    }

    /// A loop's own variables: the first names its iterations change. Names its body binds
    /// are added as lowering meets them ([`FnLower::bind_varying`]), so no extra walk of the
    /// body is needed; a name assigned only after its use in the body is missed.
    fn loop_varying(&self, pattern: Option<Node>, s: Src) -> FxHashSet<u64> {
        let mut names = FxHashSet::default();
        if let Some(p) = pattern {
            ident_hashes(p, s, &mut names);
        }
        names
    }

    /// Names bound inside loops change with every enclosing loop's iterations.
    /// `Self::Client(client) =>` on an enum of this file whose `Client` variant holds a
    /// `client::Cmd`: `client` is one, and `client.run()` its `run` (a command-line tool's
    /// subcommand dispatch, where every subcommand has a `run`).
    fn bind_variant(&mut self, pattern: Node, s: Src) {
        // A match arm's pattern wraps the pattern proper.
        let p = if pattern.kind_name() == "match_pattern" {
            match pattern.named_child(0) {
                Some(p) => p,
                None => return,
            }
        } else {
            pattern
        };
        if p.kind_name() != "tuple_struct_pattern" {
            return;
        }
        let Some(ty) = p.child_by_field_id(FIELDS.ty) else {
            return;
        };
        let mut c = p.walk();
        let inner: Vec<Node> = p
            .named_children(&mut c)
            .filter(|n| n.id() != ty.id())
            .collect();
        let [binding] = inner[..] else { return };
        if binding.kind_name() != "identifier" {
            return;
        }
        let segs = path_segments(s.of(ty));
        let (Some(variant), enum_name) = (segs.last(), segs.len().checked_sub(2).map(|i| &segs[i]))
        else {
            return;
        };
        let enum_name = match enum_name.map(Name::as_str) {
            Some("Self") => self.owner.clone(),
            Some(e) => Some(e.to_owned()),
            None => None,
        };
        let field = match enum_name {
            Some(e) => self.variants.get(&(e, variant.to_string())),
            // `Client(client)` with the variants imported: a variant name of one enum only.
            None => {
                let mut found = self
                    .variants
                    .iter()
                    .filter(|((_, v), _)| v == variant.as_str())
                    .map(|(_, t)| t);
                found.next().filter(|_| found.next().is_none())
            }
        };
        if let Some(ty) = field {
            self.func.locals.push(Binding {
                name: s.of(binding).into(),
                ty: Some(ty.clone()),
                span: s.span(binding),
                ..Binding::default()
            });
        }
    }

    fn bind_varying(&mut self, target: Node, s: Src) {
        if self.varying.is_empty() {
            return;
        }
        let mut names = FxHashSet::default();
        ident_hashes(target, s, &mut names);
        for v in &mut self.varying {
            v.extend(names.iter().copied());
        }
    }

    /// [`CallFlags`] the arguments give: all constant, or varying with a loop.
    fn arg_flags(&self, callee: &Callee, args: &[Node], s: Src) -> u16 {
        let mut flags = 0;
        if args.iter().any(|a| {
            lends_exclusively(*a)
                || (a.kind_name() == "identifier" && self.exclusive.contains(&name_hash(s.of(*a))))
        }) {
            flags |= CallFlags::EXCLUSIVE;
        }
        if !args.is_empty() && args.iter().all(|a| is_const_node(*a, s)) {
            flags |= CallFlags::ARGS_CONST;
        }
        if let Some(inner) = self.varying.last() {
            let mut names = FxHashSet::default();
            for a in args {
                ident_hashes(*a, s, &mut names);
                // `format!("{base}/{id}")`: inline captures live inside the string.
                if a.kind_name() == "macro_invocation" || a.kind_name() == "string_literal" {
                    format_captures(s.of(*a), &mut names);
                }
            }
            if let Callee::Method {
                recv: Receiver::Local(r),
                ..
            } = callee
            {
                names.insert(name_hash(r));
            }
            if names.iter().any(|n| inner.contains(n)) {
                flags |= CallFlags::ARGS_VARY_INNER;
            }
            if names
                .iter()
                .any(|n| self.varying.iter().any(|v| v.contains(n)))
            {
                flags |= CallFlags::ARGS_VARY_ANY;
            }
        }
        flags
    }

    fn ctx(&self) -> Context {
        Context::new(
            self.loops.last().copied(),
            self.block,
            self.stmt,
            self.parent_call,
            self.in_closure,
            self.async_block,
            self.handler,
        )
    }

    fn lower_block(&mut self, block: Node, s: Src) {
        // A branch, a match arm or a `let ... else`: runs only when a condition holds. Its
        // parent marked it (see `conditional_block`).
        let conditional = std::mem::take(&mut self.conditional_block) == block.id();
        let idx = self.func.open_block(self.block, s.span(block), conditional);
        let (saved_block, saved_stmt, saved_defs) =
            (self.block, self.stmt, std::mem::take(&mut self.stmt_defs));
        // Only awaits need the names statements define and use: sync code skips it, and so
        // does a block with fewer than two awaits in its text (nested blocks' included).
        let saved_facts = self.await_facts;
        self.await_facts =
            (self.func.is_async || self.async_block) && word_count(s.of(block), "await", 2) >= 2;
        self.block = idx;
        let mut c = block.walk();
        let stmts: Vec<Node> = block
            .named_children(&mut c)
            .filter(|n| {
                !matches!(
                    n.kind_name(),
                    "line_comment" | "block_comment" | "attribute_item"
                )
            })
            .collect();
        for (i, st) in stmts.iter().enumerate() {
            self.stmt = i as u32;
            if self.await_facts {
                let facts = self.stmt_facts(*st, s);
                self.stmt_defs = facts.defs.clone();
                self.func.blocks[idx as usize].stmts.push(facts);
            }
            self.lower_stmt(*st, s);
        }
        self.block = saved_block;
        self.stmt = saved_stmt;
        self.stmt_defs = saved_defs;
        self.await_facts = saved_facts;
    }

    fn stmt_facts(&self, st: Node, s: Src) -> StmtFacts {
        let mut defs = List::new();
        let mut uses = List::new();
        let mut exits = false;
        match st.kind_name() {
            "let_declaration" => {
                if let Some(p) = st.child_by_field_id(FIELDS.pattern) {
                    identifiers(p, s, &mut defs);
                }
                if let Some(v) = st.child_by_field_id(FIELDS.value) {
                    uses_and_exits(v, s, &mut uses, &mut exits);
                }
                // `let Some(x) = y else { return .. };` checks `y`.
                exits |= st.child_by_field_id(FIELDS.alternative).is_some();
            }
            _ => {
                let inner = if st.kind_name() == "expression_statement" {
                    st.named_child(0).unwrap_or(st)
                } else {
                    st
                };
                if matches!(
                    inner.kind_name(),
                    "assignment_expression" | "compound_assignment_expr"
                ) {
                    if let Some(l) = inner.child_by_field_id(FIELDS.left) {
                        if l.kind_name() == "field_expression" {
                            // `self.state = ..`: a write to object state, kept with its dot.
                            defs.push(s.of(l).split_whitespace().collect::<String>().into());
                        } else {
                            identifiers(l, s, &mut defs);
                        }
                    }
                    if let Some(r) = inner.child_by_field_id(FIELDS.right) {
                        uses_and_exits(r, s, &mut uses, &mut exits);
                    }
                } else {
                    // `check(&x)?;` is a check; `let x = f()?;` is a computation.
                    exits |= inner.kind_name() == "try_expression";
                    uses_and_exits(inner, s, &mut uses, &mut exits);
                    // `messages.push(answer);` may change `messages`: what reads it later
                    // reads `answer`. An awaited call is work done through the value.
                    if let Some(recv) = mutated_receiver(inner, s) {
                        defs.push(recv.into());
                    }
                }
            }
        }
        StmtFacts {
            span: s.span(st),
            defs,
            uses,
            exits,
        }
    }

    fn lower_stmt(&mut self, st: Node, s: Src) {
        match st.kind_name() {
            "let_declaration" => {
                let value = st.child_by_field_id(FIELDS.value);
                let call = value.and_then(|v| self.conditional_expr(v, s));
                if let Some(p) = st.child_by_field_id(FIELDS.pattern) {
                    self.bind_varying(p, s);
                }
                if let Some(alt) = st.child_by_field_id(FIELDS.alternative) {
                    // `lower_block` takes the mark.
                    self.conditional_block = alt.id();
                    self.lower_block(alt, s);
                }
                let ty = st
                    .child_by_field_id(FIELDS.ty)
                    .and_then(|t| type_path(t, s));
                if let Some(pat) = st.child_by_field_id(FIELDS.pattern) {
                    if pat.kind_name() == "identifier" || s.of(pat).starts_with("mut ") {
                        let name = s.of(pat).trim_start_matches("mut ").trim().to_owned();
                        if st.child_by_field_id(FIELDS.ty).is_some_and(is_mut_ref_type)
                            || value.is_some_and(is_mut_borrow)
                        {
                            self.exclusive.insert(name_hash(&name));
                        }
                        let ty = ty.or_else(|| value.and_then(|v| self.constructed_type(v, s)));
                        self.func.locals.push(Binding {
                            name: name.into(),
                            ty,
                            init_call: call,
                            number: value.and_then(|v| number(v, s)),
                            span: s.span(st),
                        });
                    }
                }
            }
            "expression_statement" => {
                if let Some(e) = st.named_child(0) {
                    self.expr(e, s);
                }
            }
            "function_item" | "impl_item" | "struct_item" | "enum_item" | "mod_item"
            | "trait_item" | "use_declaration" | "const_item" | "static_item" => {}
            _ => {
                self.expr(st, s);
            }
        }
    }

    /// The type a `let` initialiser constructs: `Client::new()`, `Client::builder()...build()`.
    fn constructed_type(&self, v: Node, s: Src) -> Option<Path> {
        let mut n = v;
        loop {
            match n.kind_name() {
                "try_expression" | "await_expression" | "parenthesized_expression" => {
                    n = n.named_child(0)?;
                }
                "call_expression" => {
                    let f = n.child_by_field_id(FIELDS.function)?;
                    match f.kind_name() {
                        "field_expression" => n = f.child_by_field_id(FIELDS.value)?,
                        "scoped_identifier" | "generic_function" => {
                            let mut p = path_segments(s.of(f));
                            p.pop();
                            let last = p.last()?;
                            if last.chars().next()?.is_uppercase() {
                                return Some(self.resolve_self(p));
                            }
                            return None;
                        }
                        _ => return None,
                    }
                }
                _ => return None,
            }
        }
    }

    fn resolve_self(&self, mut p: Path) -> Path {
        if p.first().map(perfgate_model::Name::as_str) == Some("Self") {
            if let Some(o) = &self.owner {
                p[0] = o.clone().into();
            }
        }
        match p.first().map(perfgate_model::Name::as_str) {
            Some("crate") => p[0] = self.crate_name.clone().into(),
            Some("self") => {
                p.remove(0);
                let mut h = self.here.clone();
                h.extend(p);
                return h;
            }
            Some("super") => {
                let mut h = self.here.clone();
                while p.first().map(perfgate_model::Name::as_str) == Some("super") {
                    p.remove(0);
                    h.pop();
                }
                h.extend(p);
                return h;
            }
            _ => {}
        }
        p
    }

    /// Lower an expression. Returns the index of the call it evaluates to, looking through
    /// `?`, `.await` and parentheses.
    fn expr(&mut self, n: Node, s: Src) -> Option<u32> {
        if self.depth > MAX_DEPTH {
            return None;
        }
        self.depth += 1;
        let r = self.expr_inner(n, s);
        self.depth -= 1;
        r
    }

    fn expr_inner(&mut self, n: Node, s: Src) -> Option<u32> {
        match n.kind_name() {
            "call_expression" => Some(self.lower_call(n, s)),
            "macro_invocation" => Some(self.lower_macro(n, s)),
            "await_expression" => {
                let inner = n.named_child(0)?;
                let idx = self.func.awaits.len();
                let mut uses = List::new();
                if self.await_facts {
                    identifiers(inner, s, &mut uses);
                }
                self.func.awaits.push(Await {
                    span: s.span(n),
                    ctx: self.ctx(),
                    call: None,
                    binds: self.stmt_defs.clone(),
                    uses,
                });
                let call = self.expr(inner, s);
                if let Some(c) = call {
                    self.func.calls[c as usize].awaited = true;
                }
                self.func.awaits[idx].call = call;
                call
            }
            "try_expression" | "parenthesized_expression" => {
                let inner = n.named_child(0)?;
                self.expr(inner, s)
            }
            "closure_expression" => {
                let saved = (self.in_closure, self.async_block);
                self.in_closure = true;
                if s.of(n).trim_start().starts_with("async") {
                    self.async_block = true;
                    self.func.async_blocks = true;
                }
                if let Some(b) = n.child_by_field_id(FIELDS.body) {
                    self.expr(b, s);
                }
                (self.in_closure, self.async_block) = saved;
                None
            }
            "async_block" => {
                let saved = self.async_block;
                self.async_block = true;
                self.func.async_blocks = true;
                if let Some(b) = n.named_child(0) {
                    self.expr(b, s);
                }
                self.async_block = saved;
                None
            }
            "block" | "unsafe_block" | "const_block" => {
                let b = if n.kind_name() == "block" {
                    n
                } else {
                    n.named_child(0)?
                };
                self.lower_block(b, s);
                None
            }
            "for_expression" => {
                let value = n.child_by_field_id(FIELDS.value)?;
                self.expr(value, s);
                let trip = self.trip(value, s);
                let mut vars = List::new();
                if let Some(p) = n.child_by_field_id(FIELDS.pattern) {
                    identifiers(p, s, &mut vars);
                }
                let header = Span::new(
                    s.pos(n.start_byte()) as usize,
                    s.pos(value.end_byte()) as usize,
                );
                let body = n.child_by_field_id(FIELDS.body)?;
                let vary = self.loop_varying(n.child_by_field_id(FIELDS.pattern), s);
                self.varying.push(vary);
                self.lower_loop(
                    LoopKind::For,
                    n,
                    header,
                    trip,
                    root_ident(value, s),
                    vars,
                    has_exit(body),
                    None,
                    body,
                    s,
                );
                self.varying.pop();
                None
            }
            "while_expression" => {
                let cond = n.child_by_field_id(FIELDS.condition);
                let body = n.child_by_field_id(FIELDS.body)?;
                // `while let Ok(batch) = rx.recv()`: the pattern is new every iteration.
                let pattern = cond
                    .filter(|c| c.kind_name() == "let_condition")
                    .and_then(|c| c.child_by_field_id(FIELDS.pattern));
                let vary = self.loop_varying(pattern, s);
                self.varying.push(vary);
                let header_end = cond.map_or(n.start_byte(), |c| c.end_byte());
                let header = Span::new(s.pos(n.start_byte()) as usize, s.pos(header_end) as usize);
                self.lower_loop(
                    LoopKind::While,
                    n,
                    header,
                    TripCount::Dynamic,
                    None,
                    List::new(),
                    true,
                    cond,
                    body,
                    s,
                );
                self.varying.pop();
                None
            }
            "loop_expression" => {
                let body = n.child_by_field_id(FIELDS.body)?;
                let vary = self.loop_varying(None, s);
                self.varying.push(vary);
                let header = Span::new(
                    s.pos(n.start_byte()) as usize,
                    s.pos(n.start_byte() + 4) as usize,
                );
                self.lower_loop(
                    LoopKind::Loop,
                    n,
                    header,
                    TripCount::Unbounded,
                    None,
                    List::new(),
                    has_exit(body),
                    None,
                    body,
                    s,
                );
                self.varying.pop();
                None
            }
            "return_expression" => {
                if let Some(v) = n.named_child(0) {
                    let (first_loop, first_call) = (self.func.loops.len(), self.func.calls.len());
                    self.returned(v, s, 0);
                    self.expr(v, s);
                    // What the `return` computes runs once, as the function ends (see
                    // `Loop::then_returns`, `CallFlags::ON_EXIT`); a closure's `return` ends
                    // only the closure.
                    if !self.in_closure {
                        self.func.mark_on_exit(first_loop, first_call);
                    }
                }
                None
            }
            "assignment_expression" => {
                let left = n.child_by_field_id(FIELDS.left)?;
                let right = n.child_by_field_id(FIELDS.right)?;
                self.bind_varying(left, s);
                let call = self.expr(right, s);
                let field = self_field(left, s);
                if let Some(f) = &field {
                    if let Some(c) = call {
                        self.func.calls[c as usize].flags |= CallFlags::STORED;
                    }
                    if right.kind_name() == "identifier" {
                        self.stored_names.insert(s.of(right).to_owned());
                    }
                    if self.func.name != "new" && self.func.name != "default" {
                        self.func.push_mutation(Mutation {
                            target: Receiver::SelfField(f.clone().into()),
                            op: MutOp::Reset,
                            span: s.span(n),
                        });
                    }
                }
                self.expr(left, s);
                None
            }
            "compound_assignment_expr" => {
                if let Some(l) = n.child_by_field_id(FIELDS.left) {
                    self.bind_varying(l, s);
                }
                let mut c = n.walk();
                let children: Vec<Node> = n.named_children(&mut c).collect();
                for ch in children {
                    self.expr(ch, s);
                }
                None
            }
            "field_initializer" => {
                let v = n.child_by_field_id(FIELDS.value)?;
                self.moved(v, s);
                let call = self.expr(v, s);
                if let Some(c) = call {
                    if !self.returned_spans.contains(&s.span(v)) {
                        self.func.calls[c as usize].flags |= CallFlags::STORED;
                    }
                }
                None
            }
            "shorthand_field_initializer" => {
                self.moved(n, s);
                None
            }

            "match_expression" => {
                let value = n.child_by_field_id(FIELDS.value);
                let timeout_match = value.is_some_and(|v| {
                    let t = s.of(v);
                    t.contains("timeout(") || t.contains("timeout_at(")
                });
                // `match Handle::try_current() { Ok(h) => .., Err(_) => { a runtime of its
                // own, blocked on } }`: the `Err` arm runs only outside any runtime.
                let runtime_probe = value.is_some_and(|v| probes_runtime(s.of(v)));
                if let Some(v) = value {
                    self.expr(v, s);
                }
                let body = n.child_by_field_id(FIELDS.body)?;
                let mut c = body.walk();
                let arms: Vec<Node> = body.named_children(&mut c).collect();
                for arm in arms {
                    if arm.kind_name() != "match_arm" {
                        continue;
                    }
                    // `Value::Array(items) =>` binds `items` anew each time it runs.
                    if let Some(p) = arm.child_by_field_id(FIELDS.pattern) {
                        self.bind_varying(p, s);
                        self.bind_variant(p, s);
                    }
                    let pat = arm
                        .child_by_field_id(FIELDS.pattern)
                        .map(|p| s.of(p))
                        .unwrap_or("");
                    let handler = if timeout_match && pat.trim_start().starts_with("Err") {
                        let idx = self.func.handlers.len() as u32;
                        let v = arm.child_by_field_id(FIELDS.value);
                        self.func.handlers.push(Handler {
                            kind: HandlerKind::Timeout,
                            span: s.span(arm),
                            guarded: value.map_or_else(|| s.span(n), |v| s.span(v)),
                            exits: v.is_some_and(|v| {
                                let t = s.of(v);
                                t.contains("return") || t.contains("Err(") || t.contains("bail!")
                            }),
                        });
                        Some(idx)
                    } else {
                        None
                    };
                    let saved = self.handler;
                    if handler.is_some() {
                        self.handler = handler;
                    }
                    let first = self.func.calls.len();
                    if let Some(v) = arm.child_by_field_id(FIELDS.value) {
                        self.conditional_expr(v, s);
                    }
                    if runtime_probe && pat.trim_start().starts_with("Err") {
                        self.flag_calls_from(first, CallFlags::OUTSIDE_RUNTIME);
                    }
                    self.handler = saved;
                }
                None
            }
            "identifier" | "integer_literal" | "string_literal" | "float_literal"
            | "boolean_literal" | "self" | "field_identifier" | "line_comment"
            | "block_comment" | "char_literal" | "raw_string_literal" => None,
            "let_declaration" | "expression_statement" => {
                self.lower_stmt(n, s);
                None
            }
            "function_item" | "impl_item" | "struct_item" | "mod_item" | "trait_item" => None,
            // An `if` a branch of which production's executor never runs (see
            // [`branch_flags`]): that branch's calls say so.
            "if_expression"
                if n.child_by_field_id(FIELDS.condition)
                    .is_some_and(|c| branch_flags(s.of(c)) != (0, 0)) =>
            {
                let cond = n.child_by_field_id(FIELDS.condition)?;
                let (then_flag, else_flag) = branch_flags(s.of(cond));
                self.conditional_expr(cond, s);
                for (field, flag) in [
                    (FIELDS.consequence, then_flag),
                    (FIELDS.alternative, else_flag),
                ] {
                    let first = self.func.calls.len();
                    if let Some(b) = n.child_by_field_id(field) {
                        self.conditional_expr(b, s);
                    }
                    self.flag_calls_from(first, flag);
                }
                None
            }
            "if_expression" => {
                let first = self.func.calls.len();
                self.lower_children(n, s);
                self.branches_call(n, s, first)
            }
            _ => {
                self.lower_children(n, s);
                None
            }
        }
    }

    /// Sets a [`CallFlags`] bit on the calls lowered since `first` (those of one branch).
    fn flag_calls_from(&mut self, first: usize, flag: u16) {
        for c in &mut self.func.calls[first..] {
            c.flags |= flag;
        }
    }

    /// The call an `if` evaluates to, when every branch ends in a call of the same function
    /// or macro (`let c = if labels.is_empty() { counter!("x") } else { counter!("x",
    /// labels) }`): the first branch's, which says how the value is made as well as any.
    /// `first` is the first call lowered for the `if`.
    fn branches_call(&self, n: Node, s: Src, first: usize) -> Option<u32> {
        let mut tails = Vec::new();
        if_tails(n, &mut tails)?;
        let callee = |t: Node| match t.kind_name() {
            "macro_invocation" => t.child_by_field_id(FIELDS.mac).map(|m| s.of(m)),
            "call_expression" => t.child_by_field_id(FIELDS.function).map(|f| s.of(f)),
            _ => None,
        };
        let name = callee(tails[0])?;
        if !tails.iter().all(|&t| callee(t) == Some(name)) {
            return None;
        }
        let span = s.span(tails[0]);
        self.func.calls[first..]
            .iter()
            .position(|c| c.span == span)
            .map(|i| (first + i) as u32)
    }

    /// Lower each named child of `n`; a branch's children run only when its condition holds.
    fn lower_children(&mut self, n: Node, s: Src) {
        let kind = n.kind_name();
        let mut c = n.walk();
        let children: Vec<Node> = n.named_children(&mut c).collect();
        let branch = matches!(kind, "if_expression" | "else_clause");
        // `(metadata, batch)`: a tuple's elements are moved into it, as a struct literal's
        // fields are.
        let tuple = kind == "tuple_expression";
        for ch in children {
            if tuple {
                self.moved(ch, s);
            }
            if branch {
                self.conditional_expr(ch, s);
            } else {
                self.expr(ch, s);
            }
        }
    }

    /// A local moved into a value being built (`Batch { input_ids, .. }`, `Batch { ids: x }`,
    /// `(meta, batch)`): kept by it, so each round of a loop needs its own. Out of line:
    /// `expr_inner` recurses once per nesting level, and its frame is what limits the depth.
    #[inline(never)]
    fn moved(&mut self, n: Node, s: Src) {
        let mut n = n;
        // Through conversions that consume their receiver (`slot.into_boxed_slice()`,
        // `name.into()`: by the `into_*` convention): what they make is the local itself.
        for _ in 0..4 {
            if n.kind_name() != "call_expression" {
                break;
            }
            let Some(f) = n.child_by_field_id(FIELDS.function) else {
                return;
            };
            let into = f.kind_name() == "field_expression"
                && f.child_by_field_id(FIELDS.field)
                    .is_some_and(|m| s.of(m).starts_with("into"));
            match f.child_by_field_id(FIELDS.value).filter(|_| into) {
                Some(recv) => n = recv,
                None => return,
            }
        }
        if matches!(n.kind_name(), "identifier" | "shorthand_field_initializer") {
            self.stored_names.insert(s.of(n).trim().to_owned());
        }
    }

    /// Lower a child of a branch, a match arm or a `let`: a block there runs only when a
    /// condition holds (see `conditional_block`).
    fn conditional_expr(&mut self, n: Node, s: Src) -> Option<u32> {
        if n.kind_name() == "block" {
            self.conditional_block = n.id();
        }
        let r = self.expr(n, s);
        self.conditional_block = 0;
        r
    }

    #[allow(clippy::too_many_arguments)]
    fn lower_loop(
        &mut self,
        kind: LoopKind,
        n: Node,
        header: Span,
        trip: TripCount,
        iter_root: Option<String>,
        vars: List<Name>,
        has_exit: bool,
        cond: Option<Node>,
        body: Node,
        s: Src,
    ) {
        let (arith, index) = scan_body(body, s);
        let parent = self.loops.last().copied();
        let depth = parent.map_or(1, |p| self.func.loops[p as usize].depth + 1);
        let idx = self.func.loops.len() as u32;
        let header_code = s
            .text
            .get(
                (header.start as i64 - s.delta).max(0) as usize
                    ..(header.end as i64 - s.delta).max(0) as usize,
            )
            .unwrap_or("");
        let header_text = normalize_ws(&strip_comments(header_code, Language::Rust), 120);
        // The enclosing loops' names bound so far, one set per loop of `self.loops` (the
        // last set is this loop's own).
        let rebound_in = iter_root.as_deref().and_then(|r| {
            let h = name_hash(r);
            let n = self.varying.len().saturating_sub(1).min(self.loops.len());
            (0..n)
                .rev()
                .find(|&k| self.varying[k].contains(&h))
                .map(|k| self.loops[k])
        });
        self.func.loops.push(Loop {
            kind,
            span: s.span(n),
            header: header_text,
            parent,
            depth,
            trip,
            iter_root: iter_root.map(Name::from),
            vars,
            body_arith: arith,
            body_index: index,
            has_exit,
            rebound_in,
            // A `while let Some(x) = s.next().await` header's await is recorded as one.
            awaits: false,
            yields: false,
            then_returns: false,
            ctx: self.ctx(),
        });
        self.loops.push(idx);
        if let Some(c) = cond {
            self.expr(c, s);
        }
        self.lower_block(body, s);
        self.loops.pop();
    }

    fn trip(&self, value: Node, s: Src) -> TripCount {
        match value.kind_name() {
            "range_expression" => {
                let mut c = value.walk();
                let kids: Vec<Node> = value.children(&mut c).collect();
                let inclusive = kids.iter().any(|k| s.of(*k) == "..=");
                let named: Vec<Node> = kids.iter().copied().filter(|k| k.is_named()).collect();
                let bound = |n: Node| -> Option<f64> {
                    number(n, s).or_else(|| {
                        let t = s.of(n);
                        let key = t.rsplit("::").next().unwrap_or(t);
                        self.consts.get(key).copied()
                    })
                };
                match named.as_slice() {
                    [a, b] => match (bound(*a), bound(*b)) {
                        (Some(a), Some(b)) => TripCount::Const(
                            (b - a + if inclusive { 1.0 } else { 0.0 }).max(0.0) as u64,
                        ),
                        _ => TripCount::Dynamic,
                    },
                    _ => TripCount::Dynamic,
                }
            }
            "array_expression" => {
                let mut c = value.walk();
                let n = value.named_children(&mut c).count();
                TripCount::Const(n as u64)
            }
            "reference_expression" => value
                .child_by_field_id(FIELDS.value)
                .map_or(TripCount::Dynamic, |v| self.trip(v, s)),
            _ => TripCount::Dynamic,
        }
    }

    fn classify(&self, f: Node, s: Src) -> (Callee, bool) {
        match f.kind_name() {
            "identifier" => (
                Callee::Path(perfgate_model::thin_vec![s.of(f).into()]),
                false,
            ),
            "scoped_identifier" => (
                Callee::Path(self.resolve_self(path_segments(s.of(f)))),
                false,
            ),
            "generic_function" => match f.child_by_field_id(FIELDS.function) {
                Some(inner) => self.classify(inner, s),
                None => (Callee::Unknown, false),
            },
            "field_expression" => {
                let name = f
                    .child_by_field_id(FIELDS.field)
                    .map(|x| s.of(x).to_owned())
                    .unwrap_or_default();
                let Some(value) = f.child_by_field_id(FIELDS.value) else {
                    return (Callee::Unknown, false);
                };
                let recv = match value.kind_name() {
                    "self" => Receiver::SelfValue,
                    "identifier" => Receiver::Local(s.of(value).into()),
                    "field_expression"
                        if value
                            .child_by_field_id(FIELDS.value)
                            .is_some_and(|v| v.kind_name() == "self") =>
                    {
                        Receiver::SelfField(
                            value
                                .child_by_field_id(FIELDS.field)
                                .map(|x| s.of(x).to_owned())
                                .unwrap_or_default()
                                .into(),
                        )
                    }
                    "scoped_identifier" => Receiver::Path(path_segments(s.of(value))),
                    _ => Receiver::Other,
                };
                let walk = matches!(recv, Receiver::Other);
                (
                    Callee::Method {
                        recv,
                        name: name.into(),
                    },
                    walk,
                )
            }
            _ => (Callee::Unknown, true),
        }
    }

    fn lower_call(&mut self, n: Node, s: Src) -> u32 {
        let idx = self.func.calls.len() as u32;
        let span = s.span(n);
        let func_node = n.child_by_field_id(FIELDS.function);
        let (callee, walk) = match func_node {
            Some(f) => self.classify(f, s),
            None => (Callee::Unknown, false),
        };
        let args = n.child_by_field_id(FIELDS.arguments);
        let mut arg_nodes = Vec::new();
        if let Some(a) = args {
            let mut c = a.walk();
            arg_nodes.extend(a.named_children(&mut c).filter(|x| {
                !matches!(
                    x.kind_name(),
                    "line_comment" | "block_comment" | "attribute_item"
                )
            }));
        }
        let mut flags = self.arg_flags(&callee, &arg_nodes, s);
        if self.returned_spans.contains(&span) {
            flags |= CallFlags::RETURNED;
        }
        // Only `self.field`: what collection and copy rules ask about.
        let arg0 = arg_nodes
            .first()
            .and_then(|a| self_field(*a, s))
            .map(|f| Receiver::SelfField(f.into()));
        if let Callee::Method { name, .. } = &callee {
            if RETAINING.contains(&name.as_str()) {
                for a in &arg_nodes {
                    if a.kind_name() == "identifier" {
                        self.stored_names.insert(s.of(*a).to_owned());
                    }
                }
            }
        }
        if let Callee::Path(p) = &callee {
            if matches!(
                p.last().map(perfgate_model::Name::as_str),
                Some("take" | "replace" | "swap")
            ) && p.iter().any(|x| x == "mem")
            {
                if let Some(Receiver::SelfField(f)) = &arg0 {
                    self.func.push_mutation(Mutation {
                        target: Receiver::SelfField(f.clone()),
                        op: MutOp::Reset,
                        span,
                    });
                }
            }
        }
        self.func.calls.push(Call {
            callee,
            span,
            ctx: self.ctx(),
            awaited: false,
            n_args: arg_nodes.len() as u32,
            is_macro: false,
            flags,
        });
        if let Some(r) = arg0 {
            self.func.push_arg0(idx, r);
        }
        // Receiver first: it is evaluated before this call.
        if let (Some(f), true) = (func_node, walk) {
            let recv_node = if f.kind_name() == "field_expression" {
                f.child_by_field_id(FIELDS.value)
            } else {
                Some(f)
            };
            if let Some(r) = recv_node {
                if let Some(inner) = self.expr(r, s) {
                    if let Callee::Method { recv, .. } = &mut self.func.calls[idx as usize].callee {
                        *recv = Receiver::CallResult(inner);
                    }
                }
            }
        }
        self.detect_lock(n, idx, s);
        let saved = self.parent_call;
        self.parent_call = Some(idx);
        for a in arg_nodes {
            self.expr(a, s);
        }
        self.parent_call = saved;
        idx
    }

    /// A `.lock()` (or std `RwLock` `.read()`/`.write()`) call: find how long its guard lives.
    fn detect_lock(&mut self, call: Node, idx: u32, s: Src) {
        let (name, recv) = match &self.func.calls[idx as usize].callee {
            Callee::Method { name, recv } => (name.clone(), recv.clone()),
            _ => return,
        };
        if self.func.calls[idx as usize].n_args != 0 {
            return;
        }
        let is_lock = name == "lock" || name == "blocking_lock";
        let is_rw = name == "read" || name == "write";
        if !is_lock && !is_rw {
            return;
        }
        let mut kind = LockKind::Blocking;
        let mut unwrapped = false;
        let mut top = call;
        while let Some(p) = top.parent() {
            match p.kind_name() {
                "field_expression" => {
                    let Some(gp) = p.parent().filter(|g| g.kind_name() == "call_expression") else {
                        break;
                    };
                    let m = p
                        .child_by_field_id(FIELDS.field)
                        .map(|f| s.of(f))
                        .unwrap_or("");
                    if matches!(m, "unwrap" | "expect" | "unwrap_or_else") {
                        unwrapped = true;
                        top = gp;
                    } else {
                        break;
                    }
                }
                "try_expression" => {
                    unwrapped = true;
                    top = p;
                }
                "await_expression" => {
                    kind = LockKind::Async;
                    top = p;
                }
                _ => break,
            }
        }
        if is_rw && !unwrapped && kind == LockKind::Blocking {
            // `x.read()` alone is too ambiguous (files, sockets) to call it a lock.
            return;
        }
        let parent = top.parent();
        let (guard, live_until) = match parent {
            Some(p) if p.kind_name() == "let_declaration" => {
                let guard = p
                    .child_by_field_id(FIELDS.pattern)
                    .map(|x| s.of(x).trim_start_matches("mut ").trim().to_owned());
                let block = p.parent();
                let mut end = block.map_or(p.end_byte(), |b| b.end_byte());
                if let (Some(b), Some(g)) = (block, &guard) {
                    // An explicit `drop(guard)` ends it early.
                    let mut c = b.walk();
                    for st in b.named_children(&mut c) {
                        if st.start_byte() > p.end_byte() {
                            let t = s.of(st).replace(' ', "");
                            if t.starts_with(&format!("drop({g})")) {
                                end = st.start_byte();
                                break;
                            }
                        }
                    }
                }
                (guard, end)
            }
            _ => {
                // A temporary guard lives to the end of its statement.
                let mut st = top;
                while let Some(p) = st.parent() {
                    if matches!(p.kind_name(), "block" | "source_file") {
                        break;
                    }
                    st = p;
                }
                (None, st.end_byte())
            }
        };
        let target = call
            .child_by_field_id(FIELDS.function)
            .and_then(|f| f.child_by_field_id(FIELDS.value))
            .map(|v| normalize_ws(s.of(v), 80))
            .unwrap_or_default();
        self.func.locks.push(Lock {
            kind,
            span: s.span(call),
            guard: guard.map(Name::from),
            live_until: s.pos(live_until),
            target,
            recv,
            ctx: self.ctx(),
        });
    }

    fn lower_macro(&mut self, n: Node, s: Src) -> u32 {
        let idx = self.func.calls.len() as u32;
        let path = n
            .child_by_field_id(FIELDS.mac)
            .map(|m| self.resolve_self(path_segments(s.of(m))))
            .unwrap_or_default();
        let name = path.last().cloned().unwrap_or_default();
        let span = s.span(n);
        self.func.calls.push(Call {
            callee: Callee::Path(path),
            span,
            ctx: self.ctx(),
            awaited: false,
            n_args: 0,
            is_macro: true,
            flags: if self.returned_spans.contains(&span) {
                CallFlags::RETURNED
            } else {
                0
            },
        });
        let Some(tt) = n
            .named_children(&mut n.walk())
            .find(|c| c.kind_name() == "token_tree")
        else {
            return idx;
        };
        let tt_text = s.of(tt);
        if self.macro_depth >= MAX_MACRO_DEPTH || tt_text.len() < 3 || !tt_text.contains('(') {
            return idx;
        }
        let inner = &tt_text[1..tt_text.len() - 1];
        let is_select = name == "select" || name == "select_biased";
        let (prefix, body, suffix) = if is_select {
            // `pat = fut => handler,` becomes `pat = fut ; handler,` (same length).
            ("fn __pg() {\n", inner.replace("=>", "; "), "\n}")
        } else {
            ("fn __pg() { __pg(", inner.to_owned(), "); }")
        };
        let text = format!("{prefix}{body}{suffix}");
        let Some(tree) = self.parser.parse(&text, None) else {
            return idx;
        };
        let sub = Src {
            text: &text,
            delta: s.delta + (tt.start_byte() + 1) as i64 - prefix.len() as i64,
        };
        let root = tree.root_node();
        let Some(block) = root
            .named_child(0)
            .filter(|f| f.kind_name() == "function_item")
            .and_then(|f| f.child_by_field_id(FIELDS.body))
        else {
            return idx;
        };
        let saved = self.parent_call;
        self.parent_call = Some(idx);
        self.macro_depth += 1;
        if is_select {
            let mut c = block.walk();
            let kids: Vec<Node> = block.named_children(&mut c).collect();
            for k in kids {
                self.expr(k, sub);
            }
        } else if let Some(args) = block
            .named_child(0)
            .and_then(|st| st.named_child(0))
            .filter(|c| c.kind_name() == "call_expression")
            .and_then(|c| c.child_by_field_id(FIELDS.arguments))
        {
            let mut c = args.walk();
            let kids: Vec<Node> = args.named_children(&mut c).collect();
            self.func.calls[idx as usize].n_args = kids.len() as u32;
            let callee = self.func.calls[idx as usize].callee.clone();
            self.func.calls[idx as usize].flags |= self.arg_flags(&callee, &kids, sub);
            for k in kids {
                self.expr(k, sub);
            }
        }
        self.macro_depth -= 1;
        self.parent_call = saved;
        perfgate_model::scratch::dispose(tree);
        idx
    }
}

/// Names captured inline by format strings: `{id}`, `{id:?}`, `{self.x}` is not one.
fn format_captures(text: &str, out: &mut FxHashSet<u64>) {
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'{' {
            if b.get(i + 1) == Some(&b'{') {
                i += 2;
                continue;
            }
            let start = i + 1;
            let mut j = start;
            while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_') {
                j += 1;
            }
            if j > start && matches!(b.get(j), Some(b'}' | b':')) && !b[start].is_ascii_digit() {
                out.insert(name_hash(&text[start..j]));
            }
            i = j.max(i + 1);
        } else {
            i += 1;
        }
    }
}

/// `self.field` (through `&`, `&mut`, `*`), as the field name.
fn self_field(n: Node, s: Src) -> Option<String> {
    let mut cur = n;
    for _ in 0..8 {
        match cur.kind_name() {
            "reference_expression" | "unary_expression" | "parenthesized_expression" => {
                cur = cur.named_children(&mut cur.walk()).last()?;
            }
            "field_expression" => {
                let v = cur.child_by_field_id(FIELDS.value)?;
                return (v.kind_name() == "self")
                    .then(|| {
                        cur.child_by_field_id(FIELDS.field)
                            .map(|f| s.of(f).to_owned())
                    })
                    .flatten();
            }
            _ => return None,
        }
    }
    None
}

/// A literal, or a constant by naming convention (`PATTERN`, `config::MAX_LEN`).
fn is_const_node(n: Node, s: Src) -> bool {
    match n.kind_name() {
        "string_literal" | "raw_string_literal" | "integer_literal" | "float_literal"
        | "boolean_literal" | "char_literal" => true,
        "reference_expression" => n
            .named_children(&mut n.walk())
            .last()
            .is_some_and(|x| is_const_node(x, s)),
        "identifier" | "scoped_identifier" => {
            let t = s.of(n);
            let last = t.rsplit("::").next().unwrap_or(t);
            last.len() > 1
                && last.chars().any(|c| c.is_ascii_uppercase())
                && last
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
        }
        _ => false,
    }
}

/// The type inside lock, cell and pointer wrappers: `HashMap` in `Arc<Mutex<HashMap<K, V>>>`.
fn inner_type_path(n: Node, s: Src) -> Option<Path> {
    let mut cur = n;
    for _ in 0..8 {
        match cur.kind_name() {
            "generic_type" => {
                let outer = type_path(cur.child_by_field_id(FIELDS.ty)?, s)?;
                let last = outer.last()?.as_str();
                if !matches!(
                    last,
                    "Arc"
                        | "Rc"
                        | "Box"
                        | "Mutex"
                        | "RwLock"
                        | "RefCell"
                        | "Cell"
                        | "OnceCell"
                        | "OnceLock"
                        | "ArcSwap"
                        | "Lazy"
                        | "LazyLock"
                ) {
                    return Some(outer);
                }
                let args = cur.child_by_field_id(FIELDS.type_arguments)?;
                cur = args.named_children(&mut args.walk()).next()?;
            }
            "reference_type" | "pointer_type" => cur = cur.child_by_field_id(FIELDS.ty)?,
            _ => return type_path(cur, s),
        }
    }
    None
}

/// The [`CallFlags`] an `if` condition puts on the calls of its `then` and `else` branches:
/// debug mode only (`if cfg!(debug_assertions)`, `if self.debug`), or outside any runtime
/// (`if let Ok(h) = Handle::try_current() { .. } else { a runtime of its own }`, `if
/// Handle::try_current().is_err() { .. }`); `(0, 0)` for any other condition.
fn branch_flags(cond: &str) -> (u16, u16) {
    if is_debug_condition(cond) {
        return (CallFlags::DEBUG_ONLY, 0);
    }
    if !probes_runtime(cond) {
        return (0, 0);
    }
    let t = cond.trim();
    let outside = |yes: bool| if yes { CallFlags::OUTSIDE_RUNTIME } else { 0 };
    (
        outside(t.starts_with("let Err") || t.ends_with(".is_err()")),
        outside(t.starts_with("let Ok") || t.ends_with(".is_ok()")),
    )
}

/// Does an expression ask whether a tokio runtime runs on this thread
/// (`tokio::runtime::Handle::try_current()`, and `.is_ok()`/`.is_err()` of it)?
fn probes_runtime(expr: &str) -> bool {
    let t = expr.trim_start();
    !t.starts_with('!')
        && t.contains("Handle::try_current()")
        && ["try_current()", ".is_ok()", ".is_err()"]
            .iter()
            .any(|end| t.trim_end().ends_with(end))
}

/// Does an `if` condition turn on debug mode (`cfg!(debug_assertions)`, `self.debug`,
/// `log_enabled!(Level::Debug)`)? A negated one (`!self.debug`) guards production's branch.
fn is_debug_condition(cond: &str) -> bool {
    !cond.trim_start().starts_with('!') && cond.to_ascii_lowercase().contains("debug")
}

/// Macros that leave the function, or may.
const EXIT_MACROS: &[&str] = &[
    "bail",
    "ensure",
    "panic",
    "assert",
    "assert_eq",
    "assert_ne",
    "unreachable",
    "todo",
];

/// The identifiers under an expression (at most 256), and whether it can leave the
/// enclosing block (see [`StmtFacts::exits`]), in one walk. A `return` inside a closure or
/// an async block leaves that, and a `break` inside a loop leaves the loop.
fn uses_and_exits(n: Node, s: Src, out: &mut List<Name>, exits: &mut bool) {
    const IN_FN: u8 = 1;
    const IN_LOOP: u8 = 2;
    // One cursor for the walk: making one allocates.
    let mut c = n.walk();
    let mut stack = vec![(n, 0u8)];
    while let Some((x, inside)) = stack.pop() {
        let kind = x.kind_name();
        match kind {
            "identifier" => {
                out.push(s.of(x).into());
                continue;
            }
            "return_expression" if inside & IN_FN == 0 => *exits = true,
            "break_expression" | "continue_expression" if inside == 0 => *exits = true,
            "macro_invocation" if inside & IN_FN == 0 => {
                let name = x
                    .child_by_field_id(FIELDS.mac)
                    .map(|m| s.of(m).rsplit("::").next().unwrap_or(""))
                    .unwrap_or("");
                *exits |= EXIT_MACROS.contains(&name);
            }
            _ => {}
        }
        if out.len() > 256 || stack.len() > 4096 {
            break;
        }
        let inside = inside
            | match kind {
                "closure_expression" | "async_block" | "function_item" => IN_FN,
                "for_expression" | "while_expression" | "loop_expression" => IN_LOOP,
                _ => 0,
            };
        stack.extend(x.named_children(&mut c).map(|ch| (ch, inside)));
    }
}

/// A node of this kind with a `mut` in it: `reference_type` for `&mut T`, `&'a mut T`;
/// `reference_expression` for `&mut <expression>`.
fn mut_ref(n: Node, kind: &str) -> bool {
    n.kind_name() == kind && {
        let mut c = n.walk();
        let found = n
            .children(&mut c)
            .any(|x| x.kind_name() == "mutable_specifier");
        found
    }
}

fn is_mut_ref_type(t: Node) -> bool {
    mut_ref(t, "reference_type")
}

fn is_mut_borrow(e: Node) -> bool {
    mut_ref(e, "reference_expression")
}

/// Is the expression an exclusive loan of a place a name holds: `&mut conn`, `&mut *pool`,
/// `&mut self.buf`? A loan of a temporary (`&mut context.pool()`) is nobody else's.
fn lends_exclusively(e: Node) -> bool {
    if !is_mut_borrow(e) {
        return false;
    }
    let mut place = e.child_by_field_id(FIELDS.value);
    while let Some(p) = place {
        match p.kind_name() {
            "identifier" | "self" => return true,
            "field_expression" => place = p.child_by_field_id(FIELDS.value),
            "unary_expression" | "parenthesized_expression" => place = p.named_child(0),
            _ => return false,
        }
    }
    false
}

fn name_hash(name: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = rustc_hash::FxHasher::default();
    name.hash(&mut h);
    h.finish()
}

/// The hashes of all identifiers under a node.
fn ident_hashes(n: Node, s: Src, out: &mut FxHashSet<u64>) {
    // One cursor for the walk: making one allocates.
    let mut c = n.walk();
    let mut stack = vec![n];
    while let Some(x) = stack.pop() {
        if x.kind_name() == "identifier" {
            out.insert(name_hash(s.of(x)));
            continue;
        }
        if out.len() > 256 || stack.len() > 4096 {
            break;
        }
        stack.extend(x.named_children(&mut c));
    }
}

/// All identifiers under a node (iteratively; no recursion on deep trees).
/// The local a statement-level method call is made on (`messages.push(x)`, `buf.extend(..)?`),
/// unless the call is awaited.
fn mutated_receiver<'t>(expr: Node, s: Src<'t>) -> Option<&'t str> {
    let call = if expr.kind_name() == "try_expression" {
        expr.named_child(0)?
    } else {
        expr
    };
    if call.kind_name() != "call_expression" {
        return None;
    }
    let func = call.child_by_field_id(FIELDS.function)?;
    if func.kind_name() != "field_expression" {
        return None;
    }
    let recv = func.child_by_field_id(FIELDS.value)?;
    (recv.kind_name() == "identifier").then(|| s.of(recv))
}

fn identifiers(n: Node, s: Src, out: &mut List<Name>) {
    uses_and_exits(n, s, out, &mut false);
}

/// The root data name iterated over: `self.items.iter()` -> `items`, `&frames` -> `frames`.
fn root_ident(n: Node, s: Src) -> Option<String> {
    let mut cur = n;
    for _ in 0..32 {
        match cur.kind_name() {
            "identifier" => return Some(s.of(cur).to_owned()),
            "field_expression" => {
                let v = cur.child_by_field_id(FIELDS.value)?;
                if v.kind_name() == "self" {
                    return cur
                        .child_by_field_id(FIELDS.field)
                        .map(|f| s.of(f).to_owned());
                }
                cur = v;
            }
            "call_expression" => {
                let f = cur.child_by_field_id(FIELDS.function)?;
                if f.kind_name() == "field_expression" {
                    cur = f;
                } else {
                    return None;
                }
            }
            "reference_expression" => cur = cur.child_by_field_id(FIELDS.value)?,
            "index_expression" | "try_expression" | "parenthesized_expression" => {
                cur = cur.named_child(0)?
            }
            _ => return None,
        }
    }
    None
}

/// Does the loop body `break` or `return` (not counting nested loops and closures)?
fn has_exit(body: Node) -> bool {
    // One cursor for the walk: making one allocates.
    let mut c = body.walk();
    let mut stack = vec![body];
    while let Some(x) = stack.pop() {
        match x.kind_name() {
            "break_expression" | "return_expression" | "try_expression" => return true,
            "closure_expression" | "for_expression" | "while_expression" | "loop_expression"
            | "function_item" | "async_block"
                if x.id() != body.id() =>
            {
                continue;
            }
            _ => {}
        }
        if stack.len() > 4096 {
            break;
        }
        stack.extend(x.named_children(&mut c));
    }
    false
}

/// Arithmetic and indexing anywhere in a loop body.
fn scan_body(body: Node, s: Src) -> (bool, bool) {
    let (mut arith, mut index) = (false, false);
    // One cursor for the walk: making one allocates.
    let mut c = body.walk();
    let mut stack = vec![body];
    while let Some(x) = stack.pop() {
        match x.kind_name() {
            "binary_expression" => {
                if let Some(op) = x.child_by_field_id(FIELDS.operator) {
                    if matches!(s.of(op), "+" | "-" | "*" | "/" | "%") {
                        arith = true;
                    }
                }
            }
            "compound_assignment_expr" => arith = true,
            "index_expression" => index = true,
            "field_identifier" => {
                if matches!(
                    s.of(x),
                    "get_pixel" | "put_pixel" | "get_pixel_mut" | "pixel"
                ) {
                    index = true;
                }
            }
            _ => {}
        }
        if (arith && index) || stack.len() > 4096 {
            break;
        }
        stack.extend(x.named_children(&mut c));
    }
    (arith, index)
}

/// The tail expressions of every branch of an `if` with an `else` (`else if` chains
/// followed), or `None` if a branch has none (it ends in a statement) or there is no `else`.
fn if_tails<'t>(n: Node<'t>, out: &mut Vec<Node<'t>>) -> Option<()> {
    out.push(block_tail(n.child_by_field_id(FIELDS.consequence)?)?);
    let alt = n.child_by_field_id(FIELDS.alternative)?.named_child(0)?;
    match alt.kind_name() {
        "if_expression" => if_tails(alt, out),
        "block" => {
            out.push(block_tail(alt)?);
            Some(())
        }
        _ => None,
    }
}

/// The expression a block evaluates to: its last child, if that is not a statement.
fn block_tail(block: Node) -> Option<Node> {
    let mut c = block.walk();
    let last = block
        .named_children(&mut c)
        .filter(|ch| !matches!(ch.kind_name(), "line_comment" | "block_comment"))
        .last()?;
    (!matches!(
        last.kind_name(),
        "expression_statement" | "let_declaration" | "empty_statement"
    ) && !last.kind_name().ends_with("_item"))
    .then_some(last)
}
