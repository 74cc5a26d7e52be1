//! `redundant-clone`: copying a large or pre-allocated buffer on every call where a
//! borrow, view or in-place reuse would do.

use super::scope;
use crate::checker::Draft;
use crate::{Checker, RuleMeta};
use perfgate_analysis::{CallId, Shape, Target};
use perfgate_catalog::Kind;
use perfgate_model::{CallFlags, Callee, Category, Finding, Language, Receiver, Severity};

pub struct Rule;

pub static META: RuleMeta = RuleMeta {
    id: "redundant-clone",
    category: Category::Memory,
    severity: Severity::Medium,
    languages: &[Language::Rust, Language::Python],
    summary:
        "copying a large or pre-allocated buffer where a borrow, view or in-place reuse would do",
    doc: r#"## What it does
Finds copies of a buffer held by a long-lived object — `self.buf.clone()`,
`.to_vec()`, `.to_owned()` on a field whose type copies all its data (`Vec`, `String`,
`HashMap`, `VecDeque`, `BytesMut`, `ndarray` arrays, `image` buffers); in Python
`copy.deepcopy(self.x)`, and `self.x.copy()` / `self.x.clone()` / `np.copy(self.x)` on a
field initialised as an array or tensor (`np.zeros`, `torch.zeros`, ...) — that are
returned from the method, passed straight to another function of the project, or made
inside a loop.

Not reported: cheap clones (`Arc`, `Rc`, `bytes::Bytes`, handles, small `Copy` values),
a `deepcopy` handed back of a field not known to hold a collection or an array (a cached
result, `None` until set: a defensive copy that keeps callers from changing the cache),
copies inside functions whose job is to copy (`clone`, `snapshot`, `to_owned`, ...),
fields of a new value built from `&self` (`Config { names: self.names.clone(), .. }`: the
copy is the new value's own data), and copies of locals.

## Why is this bad?
Cloning a field returns a full copy of its data: an audio buffer of 100 MB cloned per
call is 100 MB allocated, copied and freed per request, which shows up as allocator time,
memory bandwidth and peak RSS. The caller usually only reads it.

## Example
```rust
impl Recorder {
    pub fn samples(&self) -> Vec<f32> {
        self.audio_buffer.clone()
    }
}
```

## Use instead
```rust
impl Recorder {
    pub fn samples(&self) -> &[f32] {
        &self.audio_buffer
    }
}
```
Share immutable data with `Arc<[f32]>` when it must outlive the borrow; in Python return
a view (`self.buf[:]` for NumPy, `tensor.detach()`) or write into a caller-provided
`out=` buffer.
"#,
};

const CLONES_RS: &[&str] = &["clone", "to_vec", "to_owned"];
const CLONES_PY: &[&str] = &["copy", "clone", "deepcopy"];
/// Functions whose job is to copy.
const COPIERS: &[&str] = &[
    "clone",
    "copy",
    "__copy__",
    "__deepcopy__",
    "snapshot",
    "to_owned",
    "to_vec",
    "cloned",
    "duplicate",
    "fork",
    "into_inner",
    "to_dict",
    "as_dict",
    "to_json",
    "to_json_dict",
    "__getstate__",
    "state_dict",
    "serialize",
    "dict",
    "export",
];

impl crate::Rule for Rule {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Checker, out: &mut Vec<Finding>) {
        let a = cx.a;
        for fid in cx.functions_with(Shape::METHOD) {
            let f = a.func(fid);
            let Some(owner) = f.owner.as_deref() else {
                continue;
            };
            if COPIERS.contains(&f.name.as_str()) || f.name.starts_with("snapshot") {
                continue;
            }
            let lang = scope::lang_of(a, fid);
            for cid in a.calls_of(fid) {
                let c = a.call(cid);
                // What is copied: `self.x.clone()`, or `copy.deepcopy(self.x)` / `np.copy(self.x)`.
                let (field, deep) = match (&c.callee, lang) {
                    (Callee::Method { name, .. }, _)
                        if (lang == Language::Rust && CLONES_RS.contains(&name.as_str()))
                            || (lang == Language::Python && CLONES_PY.contains(&name.as_str())) =>
                    {
                        if c.n_args != 0 {
                            continue;
                        }
                        match scope::method_on(f, cid.call) {
                            Some((_, Receiver::SelfField(x))) => (x.as_str(), false),
                            _ => continue,
                        }
                    }
                    (Callee::Path(_), Language::Python) => {
                        let ext = a.external_path(cid);
                        let deepcopy =
                            ext.is_some_and(|p| p.last().is_some_and(|l| l == "deepcopy"));
                        let npcopy =
                            ext.is_some_and(|p| p.len() == 2 && p[0] == "numpy" && p[1] == "copy");
                        if !deepcopy && !npcopy {
                            continue;
                        }
                        match f.arg0(cid.call) {
                            Some(Receiver::SelfField(x)) => (x.as_str(), deepcopy),
                            _ => continue,
                        }
                    }
                    _ => continue,
                };
                let facts = scope::field_facts(a, fid.file, owner, field);
                if !deep && (facts.cheap_clone || !scope::has_kind(&facts.apis, Kind::Buffer)) {
                    continue;
                }
                let why = if c.has(CallFlags::RETURNED) {
                    // A field of a new value built from `&self` (`Config { names:
                    // self.names.clone(), .. }`): the copy is the new value's own data, and
                    // no borrow can stand in for it.
                    if struct_field_init(a.file(fid).text(), c.span.start) {
                        continue;
                    }
                    // A deep copy of a field of no known kind (a cached result, `None` until
                    // set) handed out: a defensive copy, where the shared object would let
                    // the caller change the cache. Reported for data the field is known to
                    // hold (a collection, an array).
                    if deep
                        && !scope::has_kind(&facts.apis, Kind::Buffer)
                        && !scope::has_kind(&facts.apis, Kind::Collection)
                    {
                        continue;
                    }
                    "returned to the caller".to_owned()
                } else if let Some(l) = c.ctx.loop_idx().filter(|l| scope::loop_is_hot(f, *l)) {
                    format!(
                        "made on every iteration of `{}`",
                        f.loops[l as usize].header
                    )
                } else if let Some(g) = passed_to_project(a, cid) {
                    format!("passed by value to `{g}`")
                } else {
                    continue;
                };
                let name = a.call_text(cid);
                cx.emit(
                    Draft {
                        message: format!(
                            "`{name}` copies all of `self.{field}` on every call of `{}`, {why}",
                            f.qualname
                        ),
                        impact: "every call allocates and copies the full buffer (memory bandwidth, allocator time and peak RSS grow with its size)".into(),
                        fix: match lang {
                            Language::Rust => format!("borrow it (`&self.{field}` / a slice), share it with `Arc`, or reuse a caller-provided buffer"),
                            Language::Python => format!("return or pass a view of `self.{field}` (or write into an `out=` buffer) instead of a copy"),
                        }
                        .into(),
                        ..Draft::at_call(&META, a, cid, format!("`{name}`"))
                    },
                    out,
                );
            }
        }
    }
}

/// `self.process(self.buf.clone())`: the copy goes straight into one of the project's own
/// functions, which could take a borrow instead.
fn passed_to_project(a: &perfgate_analysis::Analysis, id: CallId) -> Option<String> {
    let p = a.call(id).ctx.parent_call()?;
    let pid = CallId {
        func: id.func,
        call: p,
    };
    match a.info(pid).target {
        Target::Project { func, .. } => Some(a.func(func).qualname.to_string()),
        _ => None,
    }
}

/// Is the expression at `at` the value of a struct literal's field (`name: <here>`), or a
/// Python keyword argument of a constructor (`name=<here>`)? Read from the text just before
/// it: a name, then `:` (not `::`) or `=` with no space (an assignment `x = ` has one).
fn struct_field_init(text: &str, at: u32) -> bool {
    let before = text.get(..at as usize).unwrap_or("").trim_end();
    let mut rev = before.chars().rev();
    let name_char = |c: char| c.is_alphanumeric() || c == '_';
    match (rev.next(), rev.next()) {
        (Some(':'), Some(prev)) => name_char(prev),
        (Some('='), Some(prev)) => name_char(prev),
        _ => false,
    }
}
