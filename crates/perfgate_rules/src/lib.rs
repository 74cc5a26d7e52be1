//! perfgate's rules. Each rule lives in `rules/<rule_id>.rs` with its documentation beside
//! its code; `registry.rs` lists them. Rules read the analysis (model, call graph, effect
//! summaries, catalogue facts) and never syntax.

mod checker;
pub mod project;
mod registry;
pub mod rules;

pub use checker::{fingerprint, Checker};
pub use registry::{all, find, metas, RuleMeta, INVALID_SUPPRESSION};

use perfgate_model::Finding;

/// A rule: its metadata and its check over the whole analysed project.
pub trait Rule: Sync {
    fn meta(&self) -> &'static RuleMeta;
    fn check(&self, cx: &Checker, out: &mut Vec<Finding>);
}
