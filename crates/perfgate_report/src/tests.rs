use super::*;
use perfgate_model::{Confidence, TraceStep};

fn report() -> Report {
    let f = Finding {
        rule: "blocking-io-in-async".into(),
        category: Category::Concurrency,
        severity: Severity::High,
        path: "src/a.rs".into(),
        line: 3,
        column: 15,
        end_line: 3,
        end_column: 34,
        function: "load".into(),
        message: "blocking I/O `std::fs::read` runs on the async executor".into(),
        impact: "blocks a worker".into(),
        fix: "use tokio::fs::read".into(),
        trace: vec![
            TraceStep {
                path: "src/a.rs".into(),
                line: 3,
                function: "load".into(),
                note: "calls helper".into(),
            },
            TraceStep {
                path: "src/a.rs".into(),
                line: 9,
                function: "helper".into(),
                note: "std::fs::read".into(),
            },
        ],
        fingerprint: "00112233aabbccdd".into(),
        confidence: Confidence::Certain,
        root_cause: None,
        snippet: "    let data = std::fs::read(path)?;".into(),
    };
    Report {
        version: "0.1.0".into(),
        decision: Decision::Warn,
        score: 92,
        counts: Counts::of(std::slice::from_ref(&f)),
        files: FileCounts {
            analyzed: 1,
            skipped: 0,
            parse_errors: 0,
        },
        findings: vec![f],
        problems: vec![],
        gate: Gate {
            weights: [25, 8, 3, 1, 0],
            fail_below: 60,
            warn_below: 85,
        },
        rules: vec![RuleInfo {
            id: "blocking-io-in-async".into(),
            category: Category::Concurrency,
            severity: Severity::High,
            summary: "blocking I/O reached from async code".into(),
            doc: "## What it does\n...".into(),
        }],
        measured: Default::default(),
    }
}

#[test]
fn text_has_caret_under_the_span() {
    let t = render(&report(), Format::Text, false);
    let lines: Vec<&str> = t.lines().collect();
    assert_eq!(lines[0], "src/a.rs:3:15: high[blocking-io-in-async] blocking I/O `std::fs::read` runs on the async executor");
    assert_eq!(lines[2], "3 |     let data = std::fs::read(path)?;");
    assert_eq!(lines[3], "  |               ^^^^^^^^^^^^^^^^^^^");
}

#[test]
fn json_has_the_spec_keys_in_order() {
    let j = render(&report(), Format::Json, false);
    let v: serde_json::Value = serde_json::from_str(&j).unwrap();
    assert_eq!(v["schema_version"], 1);
    assert_eq!(v["decision"], "WARN");
    assert_eq!(v["counts"]["high"], 1);
    assert_eq!(v["findings"][0]["trace"][1]["line"], 9);
    let keys: Vec<&str> = [
        "schema_version",
        "tool",
        "decision",
        "score",
        "counts",
        "files",
        "findings",
    ]
    .to_vec();
    let mut last = 0;
    for k in keys {
        let at = j.find(&format!("\"{k}\"")).unwrap();
        assert!(at >= last, "{k} out of order");
        last = at;
    }
}

#[test]
fn sarif_is_2_1_0_with_code_flows() {
    let s = render(&report(), Format::Sarif, false);
    let v: serde_json::Value = serde_json::from_str(&s).unwrap();
    assert_eq!(v["version"], "2.1.0");
    let res = &v["runs"][0]["results"][0];
    assert_eq!(res["level"], "error");
    assert_eq!(res["ruleIndex"], 0);
    assert_eq!(
        res["locations"][0]["physicalLocation"]["region"]["startColumn"],
        15
    );
    assert_eq!(
        res["codeFlows"][0]["threadFlows"][0]["locations"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[test]
fn markdown_prints_the_formula() {
    let m = render(&report(), Format::Markdown, false);
    assert!(m.contains("**Decision:** WARN"));
    assert!(m.contains("= **92**"));
    assert!(m.contains(
        "- [ ] Blocking I/O reached from async code (`blocking-io-in-async`) — 1 finding"
    ));
}

/// The whole JSON document as serde writes it in one go, for comparison.
fn in_one_go(r: &Report) -> String {
    let doc = crate::json::document(r, &r.findings);
    serde_json::to_string_pretty(&doc).expect("renders") + "\n"
}

#[test]
fn json_findings_rendered_apart_read_as_the_whole_document_would() {
    // Many findings (several batches), texts with newlines, quotes and the findings key
    // itself, a root cause on some, no trace on others: spliced, the report is the
    // document serde would write.
    let mut r = report();
    let one = r.findings[0].clone();
    r.findings = (0..600)
        .map(|i| {
            let mut f = one.clone();
            f.line = i;
            f.message = format!("line {i}\n  \"findings\": []\n\t`quoted` \"text\"");
            // Every character JSON escapes, in a long text and a short one, and some it
            // does not (non-ASCII, DEL): the hand-written findings must escape as serde does.
            if i % 5 == 1 {
                let controls: String = (0u8..0x20).map(char::from).collect();
                f.impact = format!("{}{controls}\\ \u{7f} é 😀 {i}", "x".repeat(i as usize)).into();
                f.fix = "\\".into();
                f.function = String::new();
                f.trace.clear();
            }
            if i % 3 == 0 {
                f.root_cause = Some(Box::new(perfgate_model::RootCause {
                    fingerprint: format!("{i:016x}"),
                    path: "src/b.rs".into(),
                    line: i,
                    function: "root".into(),
                    note: "std::fs::read".into(),
                }));
            }
            f
        })
        .collect();
    let spliced = render(&r, Format::Json, false);
    assert_eq!(spliced, in_one_go(&r));
    let whole: serde_json::Value = serde_json::from_str(&spliced).expect("valid JSON");
    assert_eq!(whole["findings"].as_array().map(Vec::len), Some(600));
    // No findings: an empty array in place.
    r.findings.clear();
    let empty = render(&r, Format::Json, false);
    assert_eq!(empty, in_one_go(&r));
    assert!(empty.contains("\n  \"findings\": [],\n"), "{empty}");
}
