use crate::Report;
use perfgate_model::Severity;
use serde_json::{json, Value};

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "note",
    }
}

fn location(path: &str, line: u32, col: Option<(u32, u32, u32)>, message: Option<&str>) -> Value {
    let mut region = json!({ "startLine": line });
    if let Some((c, el, ec)) = col {
        region = json!({ "startLine": line, "startColumn": c, "endLine": el, "endColumn": ec });
    }
    let mut loc = json!({
        "physicalLocation": {
            "artifactLocation": { "uri": path, "uriBaseId": "%SRCROOT%" },
            "region": region,
        }
    });
    if let Some(m) = message {
        loc["message"] = json!({ "text": m });
    }
    loc
}

/// SARIF 2.1.0, as GitHub code scanning accepts it.
fn document(r: &Report) -> Value {
    let mut rules = r.rules.clone();
    rules.sort_by(|a, b| a.id.cmp(&b.id));
    let rule_index = |id: &str| rules.iter().position(|x| x.id == id);
    let rules_json: Vec<Value> = rules
        .iter()
        .map(|x| {
            json!({
                "id": x.id,
                "name": x.id,
                "shortDescription": { "text": x.summary },
                "fullDescription": { "text": x.summary },
                "help": { "text": x.doc, "markdown": x.doc },
                "defaultConfiguration": { "level": level(x.severity) },
                "properties": { "tags": ["performance", x.category.as_str()], "precision": "high" },
            })
        })
        .collect();
    let results: Vec<Value> = r
        .findings
        .iter()
        .map(|f| {
            let mut res = json!({
                "ruleId": f.rule,
                "level": level(f.severity),
                "message": { "text": format!("{} Impact: {}. Fix: {}.", f.message, f.impact, f.fix) },
                "locations": [location(&f.path, f.line, Some((f.column, f.end_line, f.end_column.max(f.column + 1))), None)],
                "partialFingerprints": { "perfgate/v1": f.fingerprint },
                "properties": { "severity": f.severity.as_str(), "confidence": f.confidence },
            });
            if let Some(i) = rule_index(&f.rule) {
                res["ruleIndex"] = json!(i);
            }
            if f.trace.len() > 1 {
                let steps: Vec<Value> = f
                    .trace
                    .iter()
                    .map(|t| json!({ "location": location(&t.path, t.line, None, Some(&format!("{}: {}", t.function, t.note))) }))
                    .collect();
                res["codeFlows"] = json!([{ "threadFlows": [{ "locations": steps }] }]);
            }
            res
        })
        .collect();
    let mut doc = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "perfgate",
                "version": r.version,
                "semanticVersion": r.version,
                "rules": rules_json,
            }},
            "originalUriBaseIds": { "%SRCROOT%": { "description": { "text": "the checked root" } } },
            "results": results,
        }],
    });
    // The response-time table travels in the run's property bag (SARIF §3.8), where
    // viewers that know nothing of it ignore it.
    if !r.measured.is_empty() {
        doc["runs"][0]["properties"] = json!({
            "benchmarks": r.measured.benchmarks,
            "targets": r.measured.targets,
            "baseline": r.measured.baseline,
            "benchmarkRun": r.measured.current,
        });
    }
    doc
}

pub(crate) fn write(r: &Report, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    crate::write_pretty_json(&document(r), out)
}

pub(crate) fn render(r: &Report) -> String {
    crate::in_memory(|out| write(r, out))
}
