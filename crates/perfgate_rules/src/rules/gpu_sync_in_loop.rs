//! `gpu-sync-in-loop`: a host-device synchronisation on every iteration of a loop.

use super::scope;
use crate::checker::Draft;
use crate::{Checker, RuleMeta};
use perfgate_analysis::{Analysis, CallId};
use perfgate_catalog::Kind;
use perfgate_model::{Callee, Category, Finding, Language, Receiver, Severity};

pub struct Rule;

pub static META: RuleMeta = RuleMeta {
    id: "gpu-sync-in-loop",
    category: Category::Memory,
    severity: Severity::Medium,
    languages: &[Language::Rust, Language::Python],
    summary: "a host-device synchronisation (`.item()`, `.cpu()`, `.numpy()`, `torch.cuda.synchronize()`) in every iteration of a loop over tensors",
    doc: r#"## What it does
Finds calls that copy a device value to the host or wait for the GPU — `.item()`,
`.cpu()`, `.numpy()`, `.tolist()`, `torch.cuda.synchronize()`; in Rust `tch`'s
`double_value`/`int64_value`/`to_device` and `candle`'s `to_scalar`/`to_vec*` — made on
every iteration of a loop that can run many times, in files that use a tensor library
(`torch`, `cupy`, `tch`, `candle`).

Not reported: loops that only copy their own elements to the host
(`{k: v.detach().cpu() for k, v in weights.items()}`: no GPU work is queued between the
copies, so they do not stall it; a denoising loop's `t.item()` is reported), reads of
tensors already on the host (bound from `.cpu()`, `.numpy()`, `torch.tensor(...)` or
`torch.from_numpy(...)` without a device, or read further along the chain that copied them:
`logits.cpu().numpy()` is one wait, reported once), numpy arrays (made by `np.*` or
`.astype(..)`: `rect.astype(np.float16).tolist()`), syncs under a condition inside the loop
(`if step % 100 == 0:` logging), syncs after the loop, and loops over a small constant
range.

## Why is this bad?
GPU work is queued asynchronously; a host read has to wait until everything queued before
it has finished. One per iteration serialises the CPU and the GPU: the CPU cannot queue
the next step while the GPU drains, and the GPU idles while the CPU catches up. Training
and inference loops commonly lose 10-30% of their throughput this way.

## Example
```python
total = 0.0
for batch in loader:
    loss = model(batch.cuda())
    total += loss.item()
```

## Use instead
```python
total = torch.zeros((), device="cuda")
for batch in loader:
    loss = model(batch.cuda())
    total += loss.detach()
print(total.item())
```
"#,
};

const TENSOR_LIBS: &[&str] = &[
    "torch",
    "cupy",
    "jax",
    "tensorflow",
    "tch",
    "candle_core",
    "candle",
];

impl crate::Rule for Rule {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Checker, out: &mut Vec<Finding>) {
        let a = cx.a;
        for &cid in a.calls_with_kind(Kind::GpuSync) {
            let fid = cid.func;
            let f = a.func(fid);
            if f.role == perfgate_model::FunctionRole::Test
                || !scope::imports_any(a, fid.file, TENSOR_LIBS)
            {
                continue;
            }

            let c = a.call(cid);
            let Some(li) = c.ctx.loop_idx() else { continue };
            let Some(api) = a.info(cid).api_of(Kind::GpuSync) else {
                continue;
            };
            if on_host_in_chain(a, cid) {
                continue;
            }
            if !scope::loop_is_hot(f, li) || !scope::unconditional_in_loop(a, cid) {
                continue;
            }
            let name = scope::short_name(a, cid);
            if on_host(f, a.file(fid), &name, c.span.start, 0) {
                continue;
            }
            let l = &f.loops[li as usize];
            // `{k: v.cpu() for k, v in weights.items()}`: each element of a collection copied
            // to the host by a loop that does nothing else. No GPU work is queued between the
            // copies, so only the first waits: the copies are the loop's work, not a stall.
            // (A denoising loop's `t.item()` waits for the step queued before it: reported.)
            let root = leading_name(name.trim_start_matches('('));
            // A scalar read per element (`token.item()`) is a transfer per element, which one
            // `.tolist()` of the whole tensor replaces: still reported.
            if l.vars.iter().any(|v| *v == root)
                && c.callee.last_name() != "item"
                && only_copies(f, li)
            {
                continue;
            }
            cx.emit(
                Draft {
                    message: format!(
                        "`{name}` synchronises with the GPU on every iteration of `{}`",
                        l.header
                    ),
                    impact: "each iteration waits for all queued GPU work to finish before the CPU can queue more, serialising host and device".into(),
                    fix: "keep values on the device inside the loop (accumulate tensors, `detach()`), and copy to the host once after it".into(),
                    ..Draft::at_call(&META, a, cid, format!("`{name}`: {}", api.note.as_deref().unwrap_or("a host-device sync")))
                },
                out,
            );
        }
    }
}

/// Is the call's receiver, through a chain of calls, already on the host: the result of a
/// host-device sync (`logits.cpu().numpy()`, `x.cpu().float().tolist()`: the chain's first
/// sync waited, one finding per chain), or of numpy (`rect.astype(np.float16).tolist()`,
/// `np.around(x).tolist()`)?
fn on_host_in_chain(a: &Analysis, cid: CallId) -> bool {
    let f = a.func(cid.func);
    let file = a.file(cid.func);
    let mut cur = &f.calls[cid.call as usize].callee;
    for _ in 0..16 {
        let Callee::Method {
            recv: Receiver::CallResult(inner),
            ..
        } = cur
        else {
            return false;
        };
        let id = CallId {
            func: cid.func,
            call: *inner,
        };
        if a.info(id).api_of(Kind::GpuSync).is_some() {
            return true;
        }
        cur = &f.calls[*inner as usize].callee;
        if makes_numpy_array(file, cur) {
            return true;
        }
    }
    false
}

/// Calls that move or reshape a value on its way to the host, or put it in a container:
/// a loop of only these queues no GPU work.
const COPY_ONLY: &[&str] = &[
    "detach",
    "cpu",
    "numpy",
    "tolist",
    "item",
    "to",
    "float",
    "half",
    "double",
    "long",
    "int",
    "contiguous",
    "clone",
    "view",
    "reshape",
    "squeeze",
    "unsqueeze",
    "flatten",
    "permute",
    "transpose",
    "append",
    "extend",
    "add",
    "update",
    "insert",
    "items",
    "values",
    "keys",
    "enumerate",
    "zip",
    "range",
    "len",
    "str",
    "list",
    "dict",
    "tuple",
    "isinstance",
    "hasattr",
    "getattr",
];

/// Does each round of the loop (nested loops included; not the iterable, made once) call
/// nothing but [`COPY_ONLY`] methods?
fn only_copies(f: &perfgate_model::Function, li: u32) -> bool {
    f.calls
        .iter()
        .filter(|c| c.ctx.loop_idx().is_some_and(|l| f.loop_within(l, li)))
        .all(|c| COPY_ONLY.contains(&c.callee.last_name()))
}

/// The name a text starts with (`probs` in `probs[i, j].item`).
fn leading_name(text: &str) -> &str {
    let end = text
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(text.len());
    &text[..end]
}

/// Does the call make a numpy array, a host value: `np.around(x)`, `np.array(..)` (with
/// `import numpy as np`), or `x.astype(..)`, numpy's (a tensor converts with `.to(dtype)`)?
fn makes_numpy_array(file: &perfgate_model::SourceFile, callee: &Callee) -> bool {
    match callee {
        Callee::Method { name, .. } => name == "astype",
        Callee::Path(p) if p.len() > 1 => {
            p[0] == "numpy"
                || file
                    .module
                    .imports
                    .iter()
                    .any(|i| i.alias == p[0] && i.path.len() == 1 && i.path[0] == "numpy")
        }
        _ => false,
    }
}

/// Is the value read (`probs[i, j]` in `probs[i, j].item()`) a local built on the host:
/// from `.cpu()`/`.numpy()`/`.tolist()`, `torch.tensor(...)`/`torch.from_numpy(...)` with
/// no device, or numpy ([`makes_numpy_array`])?
fn on_host(
    f: &perfgate_model::Function,
    file: &perfgate_model::SourceFile,
    callee: &str,
    at: u32,
    depth: u32,
) -> bool {
    use perfgate_model::{Callee, Receiver};
    let root = leading_name(callee);
    if root.is_empty() || root == "self" || depth > 8 {
        return false;
    }
    let Some(b) = f.local_before(root, at) else {
        return false;
    };
    let Some(mut cur) = b.init_call else {
        // `part = tokens[a:b]`: a slice or attribute of another local lives where it does.
        let text = file.slice(b.span);
        let rhs = text.split_once('=').map_or("", |(_, r)| r).trim_start();
        let base = leading_name(rhs);
        let derived = rhs[base.len()..].starts_with(['[', '.']);
        return derived && base != root && on_host(f, file, base, b.span.start, depth + 1);
    };
    for _ in 0..16 {
        let c = &f.calls[cur as usize];
        if makes_numpy_array(file, &c.callee) {
            return true;
        }
        match &c.callee {
            Callee::Method { name, recv } => {
                if matches!(name.as_str(), "cpu" | "numpy" | "tolist") {
                    return true;
                }
                if matches!(name.as_str(), "cuda" | "to") {
                    return false;
                }
                match recv {
                    Receiver::CallResult(inner) => cur = *inner,
                    // `mask = tokens.ge(x)`: follow `tokens` to what built it.
                    Receiver::Local(n) => {
                        match f
                            .locals
                            .iter()
                            .rev()
                            .find(|b| b.name == n && b.span.start < c.span.start)
                            .and_then(|b| b.init_call)
                        {
                            Some(i) if i != cur => cur = i,
                            _ => return false,
                        }
                    }
                    _ => return false,
                }
            }
            Callee::Path(p) => {
                let last = p.last().map(|s| s.as_str());
                return matches!(last, Some("tensor" | "from_numpy" | "as_tensor"))
                    && !f.keywords(cur).iter().any(|(k, _)| k == "device");
            }
            Callee::Unknown => return false,
        }
    }
    false
}
