//! `budget-exceeded`: declared per-component budgets that add up past the declared limit.

use crate::{Checker, RuleMeta};
use perfgate_model::{Category, Finding, Language, Severity};

pub struct Rule;

pub static META: RuleMeta = RuleMeta {
    id: "budget-exceeded",
    category: Category::Config,
    severity: Severity::High,
    languages: &[Language::Rust, Language::Python],
    summary:
        "declared per-component budgets (memory, VRAM, time) that add up past the declared limit",
    doc: r#"## What it does
Adds up the parts of each `[[budget]]` — values read from configuration files by key path,
with `*` matching every key at that level — and reports a budget whose parts exceed its
limit, listing each part.

```toml
[[budget]]
name = "GPU memory"
limit = "24GiB"
parts = ["config.yaml:models.*.vram_gb"]
unit = "GiB"
```

## Why is this bad?
Per-component reservations that add up past the hardware (four models at 7 GB on a 24 GB
card) fail only when every component is loaded at once — in production, under load, as an
out-of-memory crash or a timeout budget that cannot be met.

## Example
```yaml
models:
  clip:    {vram_gb: 8}
  whisper: {vram_gb: 6}
  actor:   {vram_gb: 12}   # 26 GiB in all, on a 24 GiB card
```

## Use instead
Shrink a part (quantise, share weights, offload), load components on demand, or raise the
limit with the hardware that backs it.
"#,
};

impl crate::Rule for Rule {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Checker, out: &mut Vec<Finding>) {
        for b in &cx.project.budgets {
            let known: Vec<(&str, f64)> = b
                .parts
                .iter()
                .filter_map(|p| p.value.map(|v| (p.source.as_str(), v)))
                .collect();
            let total: f64 = known.iter().map(|(_, v)| v).sum();
            if total <= b.limit || known.is_empty() {
                continue;
            }
            let shown = |x: f64| {
                if b.is_time {
                    crate::rules::fmt_seconds(x)
                } else {
                    crate::rules::fmt_bytes(x)
                }
            };
            let parts: Vec<String> = known
                .iter()
                .map(|(s, v)| format!("{s} = {}", shown(*v)))
                .collect();
            cx.emit_at(
                &META,
                &b.place,
                &b.name,
                format!(
                    "budget `{}` exceeded: parts add up to {} against a limit of {} ({})",
                    b.name,
                    shown(total),
                    b.limit_text,
                    parts.join(", ")
                ),
                format!(
                    "{} over the limit: with every part in use at once, it cannot fit",
                    shown(total - b.limit)
                ),
                "shrink or drop a part, load parts on demand, or raise the limit with the resources that back it".into(),
                out,
            );
        }
    }
}
