//! SARIF 2.1.0, as GitHub code scanning accepts it. Objects are typed structs borrowing from
//! the report (a report can hold thousands of results; a `serde_json::Value` tree of them
//! cost more than the whole check), their fields in alphabetical order as SARIF consumers and
//! earlier perfgate versions wrote them.

use crate::Report;
use perfgate_model::{Confidence, Severity};
use serde::Serialize;
use serde_json::{json, Value};
use std::borrow::Cow;

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "note",
    }
}

/// A message: borrowed from the report, or composed from its parts.
#[derive(Serialize)]
struct Text<'a> {
    text: Cow<'a, str>,
}

fn text<'a>(text: impl Into<Cow<'a, str>>) -> Text<'a> {
    Text { text: text.into() }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Region {
    #[serde(skip_serializing_if = "Option::is_none")]
    end_column: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    end_line: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    start_column: Option<u32>,
    start_line: u32,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ArtifactLocation<'a> {
    uri: &'a str,
    uri_base_id: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PhysicalLocation<'a> {
    artifact_location: ArtifactLocation<'a>,
    region: Region,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Location<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<Text<'a>>,
    physical_location: PhysicalLocation<'a>,
}

fn location<'a>(path: &'a str, region: Region, message: Option<String>) -> Location<'a> {
    Location {
        message: message.map(text),
        physical_location: PhysicalLocation {
            artifact_location: ArtifactLocation {
                uri: path,
                uri_base_id: "%SRCROOT%",
            },
            region,
        },
    }
}

#[derive(Serialize)]
struct FlowStep<'a> {
    location: Location<'a>,
}

#[derive(Serialize)]
struct ThreadFlow<'a> {
    locations: Vec<FlowStep<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CodeFlow<'a> {
    thread_flows: [ThreadFlow<'a>; 1],
}

#[derive(Serialize)]
struct Fingerprints<'a> {
    #[serde(rename = "perfgate/v1")]
    v1: &'a str,
}

#[derive(Serialize)]
struct ResultProperties {
    confidence: Confidence,
    severity: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifResult<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    code_flows: Option<[CodeFlow<'a>; 1]>,
    level: &'static str,
    locations: [Location<'a>; 1],
    message: Text<'a>,
    partial_fingerprints: Fingerprints<'a>,
    properties: ResultProperties,
    rule_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    rule_index: Option<usize>,
}

#[derive(Serialize)]
struct Level {
    level: &'static str,
}

#[derive(Serialize)]
struct Help<'a> {
    markdown: &'a str,
    text: &'a str,
}

#[derive(Serialize)]
struct RuleProperties {
    precision: &'static str,
    tags: [&'static str; 2],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Rule<'a> {
    default_configuration: Level,
    full_description: Text<'a>,
    help: Help<'a>,
    id: &'a str,
    name: &'a str,
    properties: RuleProperties,
    short_description: Text<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Driver<'a> {
    name: &'static str,
    rules: Vec<Rule<'a>>,
    semantic_version: &'a str,
    version: &'a str,
}

#[derive(Serialize)]
struct Tool<'a> {
    driver: Driver<'a>,
}

#[derive(Serialize)]
struct Root {
    description: Text<'static>,
}

#[derive(Serialize)]
struct BaseIds {
    #[serde(rename = "%SRCROOT%")]
    src_root: Root,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Run<'a> {
    original_uri_base_ids: BaseIds,
    /// The response-time table travels in the run's property bag (SARIF §3.8), where
    /// viewers that know nothing of it ignore it. A `Value`, so that its keys are sorted
    /// as everywhere else in the document.
    #[serde(skip_serializing_if = "Option::is_none")]
    properties: Option<Value>,
    results: Vec<SarifResult<'a>>,
    tool: Tool<'a>,
}

#[derive(Serialize)]
struct Sarif<'a> {
    #[serde(rename = "$schema")]
    schema: &'static str,
    runs: [Run<'a>; 1],
    version: &'static str,
}

fn document(r: &Report) -> Sarif<'_> {
    let mut rules: Vec<&crate::RuleInfo> = r.rules.iter().collect();
    rules.sort_by(|a, b| a.id.cmp(&b.id));
    let rule_index = |id: &str| rules.binary_search_by(|x| x.id.as_str().cmp(id)).ok();
    let results = r
        .findings
        .iter()
        .enumerate()
        .map(|(i, f)| {
            crate::prefetch::ahead(&r.findings, i);
            f
        })
        .map(|f| SarifResult {
            code_flows: (f.trace.len() > 1).then(|| {
                let locations = f
                    .trace
                    .iter()
                    .map(|t| FlowStep {
                        location: location(
                            &t.path,
                            Region {
                                end_column: None,
                                end_line: None,
                                start_column: None,
                                start_line: t.line,
                            },
                            Some(format!("{}: {}", t.function, t.note)),
                        ),
                    })
                    .collect();
                [CodeFlow {
                    thread_flows: [ThreadFlow { locations }],
                }]
            }),
            level: level(f.severity),
            locations: [location(
                &f.path,
                Region {
                    end_column: Some(f.end_column.max(f.column + 1)),
                    end_line: Some(f.end_line),
                    start_column: Some(f.column),
                    start_line: f.line,
                },
                None,
            )],
            // SARIF has one message per result: the problem, its impact and its fix.
            message: text(format!(
                "{} Impact: {}. Fix: {}.",
                f.message, f.impact, f.fix
            )),
            partial_fingerprints: Fingerprints { v1: &f.fingerprint },
            properties: ResultProperties {
                confidence: f.confidence,
                severity: f.severity.as_str(),
            },
            rule_id: &f.rule,
            rule_index: rule_index(&f.rule),
        })
        .collect();
    let rules = rules
        .iter()
        .map(|x| Rule {
            default_configuration: Level {
                level: level(x.severity),
            },
            full_description: text(x.summary.as_str()),
            help: Help {
                markdown: &x.doc,
                text: &x.doc,
            },
            id: &x.id,
            name: &x.id,
            properties: RuleProperties {
                precision: "high",
                tags: ["performance", x.category.as_str()],
            },
            short_description: text(x.summary.as_str()),
        })
        .collect();
    let properties = (!r.measured.is_empty()).then(|| {
        json!({
            "benchmarks": r.measured.benchmarks,
            "targets": r.measured.targets,
            "baseline": r.measured.baseline,
            "benchmarkRun": r.measured.current,
        })
    });
    Sarif {
        schema: "https://json.schemastore.org/sarif-2.1.0.json",
        runs: [Run {
            original_uri_base_ids: BaseIds {
                src_root: Root {
                    description: text("the checked root"),
                },
            },
            properties,
            results,
            tool: Tool {
                driver: Driver {
                    name: "perfgate",
                    rules,
                    semantic_version: &r.version,
                    version: &r.version,
                },
            },
        }],
        version: "2.1.0",
    }
}

pub(crate) fn write(r: &Report, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    crate::write_pretty_json(&document(r), out)
}

pub(crate) fn render(r: &Report) -> String {
    crate::in_memory(|out| write(r, out))
}
