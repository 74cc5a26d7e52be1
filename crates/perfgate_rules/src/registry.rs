use crate::rules;
use crate::Rule;
use perfgate_model::{Category, Language, Severity};

/// What `perfgate rules` shows, and what a finding's category and default severity come from.
#[derive(Debug)]
pub struct RuleMeta {
    pub id: &'static str,
    pub category: Category,
    pub severity: Severity,
    pub languages: &'static [Language],
    pub summary: &'static str,
    /// Markdown: what it does, why it is bad, example, use instead.
    pub doc: &'static str,
}

const RULES: &[&dyn Rule] = &[
    &rules::blocking_io_in_async::Rule,
    &rules::blocking_sleep_in_async::Rule,
    &rules::blocking_wait_in_async::Rule,
    &rules::cpu_heavy_in_async::Rule,
    &rules::sequential_awaits::Rule,
    &rules::await_without_timeout::Rule,
    &rules::lock_across_await::Rule,
    &rules::busy_wait::Rule,
    &rules::cancellation_without_cleanup::Rule,
    &rules::unbounded_growth::Rule,
    &rules::redundant_clone::Rule,
    &rules::alloc_in_loop::Rule,
    &rules::gpu_sync_in_loop::Rule,
    &rules::n_plus_one::Rule,
    &rules::connection_per_call::Rule,
    &rules::resource_load_per_call::Rule,
    &rules::quadratic_loop::Rule,
    &rules::missing_cache::Rule,
    &rules::timeout_exceeds_target::Rule,
    &rules::budget_exceeded::Rule,
    &rules::missing_benchmark::Rule,
    &rules::bench_not_registered::Rule,
    &rules::bench_no_black_box::Rule,
    &rules::bench_not_in_ci::Rule,
    &rules::bench_regression::Rule,
    &rules::target_missed::Rule,
];

/// Reported by the driver for `perfgate: ignore[...]` comments naming no known rule.
pub static INVALID_SUPPRESSION: RuleMeta = RuleMeta {
    id: "invalid-suppression",
    category: Category::Config,
    severity: Severity::Low,
    languages: &[Language::Rust, Language::Python],
    summary: "a `perfgate: ignore[...]` comment names a rule that does not exist",
    doc: r#"## What it does
Reports inline suppressions (`# perfgate: ignore[rule-id]`, `// perfgate: ignore[rule-id]`)
that name no perfgate rule.

## Why is this bad?
A misspelt rule id suppresses nothing: the finding it was meant to silence is still
reported, and the comment misleads readers into thinking it is handled.

## Example
```python
data = open(path).read()  # perfgate: ignore[blocking-io-in-asyc]
```

## Use instead
```python
data = open(path).read()  # perfgate: ignore[blocking-io-in-async]
```
"#,
};

/// Every rule, in registry order.
pub fn all() -> &'static [&'static dyn Rule] {
    RULES
}

/// A rule's metadata by id (the driver's own `invalid-suppression` included).
pub fn find(id: &str) -> Option<&'static RuleMeta> {
    if id == INVALID_SUPPRESSION.id {
        return Some(&INVALID_SUPPRESSION);
    }
    RULES.iter().map(|r| r.meta()).find(|m| m.id == id)
}

/// Metadata of every rule, driver rules included, sorted by category then id.
pub fn metas() -> Vec<&'static RuleMeta> {
    let mut v: Vec<&'static RuleMeta> = RULES.iter().map(|r| r.meta()).collect();
    v.push(&INVALID_SUPPRESSION);
    v.sort_by_key(|m| (m.category, m.id));
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_kebab_case_and_documented() {
        let metas = metas();
        let mut ids: Vec<&str> = metas.iter().map(|m| m.id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), metas.len());
        for m in metas {
            assert!(m.id.chars().all(|c| c.is_ascii_lowercase() || c == '-'));
            for section in [
                "## What it does",
                "## Why is this bad?",
                "## Example",
                "## Use instead",
            ] {
                assert!(m.doc.contains(section), "{} lacks {section}", m.id);
            }
        }
    }
}
