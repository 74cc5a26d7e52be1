//! Every rule against its fixture project: each line marked `expect[rule-id]` must be
//! reported by that rule, and nothing else may be (the correct idioms in the same files
//! stay silent).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/rules")
}

fn expected(dir: &Path, rule: &str) -> BTreeSet<(String, u32)> {
    let marker = format!("expect[{rule}]");
    let mut out = BTreeSet::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&p).unwrap();
        for (i, line) in text.lines().enumerate() {
            if line.contains(&marker) {
                out.insert((name.clone(), i as u32 + 1));
            }
        }
    }
    out
}

fn reported(dir: &Path, rule: &str) -> BTreeSet<(String, u32)> {
    let opts = perfgate_check::Options {
        paths: vec![dir.to_path_buf()],
        select: Some(vec![rule.to_owned()]),
        ..Default::default()
    };
    let outcome = perfgate_check::run(&opts).unwrap();
    outcome
        .report
        .findings
        .iter()
        .map(|f| {
            assert_eq!(f.rule, rule);
            (f.path.clone(), f.line)
        })
        .collect()
}

#[test]
fn every_rule_finds_its_defects_and_stays_silent_on_correct_idioms() {
    let mut checked = 0;
    for rule in perfgate_rules::all() {
        let meta = rule.meta();
        let dir = fixtures().join(meta.id);
        assert!(dir.is_dir(), "rule {} has no fixture directory", meta.id);
        let want = expected(&dir, meta.id);
        for lang in meta.languages {
            let ext = match lang {
                perfgate_model::Language::Rust => ".rs",
                perfgate_model::Language::Python => ".py",
            };
            assert!(
                want.iter().any(|(p, _)| p.ends_with(ext)),
                "rule {} has no positive {ext} fixture",
                meta.id
            );
        }
        let got = reported(&dir, meta.id);
        let missed: Vec<_> = want.difference(&got).collect();
        let extra: Vec<_> = got.difference(&want).collect();
        assert!(
            missed.is_empty() && extra.is_empty(),
            "{}: missed {missed:?}, unexpected {extra:?}",
            meta.id
        );
        checked += 1;
    }
    assert_eq!(checked, perfgate_rules::all().len());
}
