use crate::{Counts, FileCounts, Report};
use perfgate_model::Finding;
use serde::Serialize;

#[derive(Serialize)]
struct Tool {
    name: &'static str,
    version: String,
}

/// SPEC §3, schema_version 1. Keys are only ever added.
#[derive(Serialize)]
struct JsonReport<'a> {
    schema_version: u32,
    tool: Tool,
    decision: &'static str,
    score: u32,
    counts: Counts,
    files: FileCounts,
    findings: &'a [Finding],
    /// Added keys (SPEC §3: later additions are new keys).
    benchmarks: &'a [crate::measured::BenchRow],
    targets: &'a [crate::measured::TargetRow],
    baseline: &'a Option<crate::measured::RunRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    benchmark_run: &'a Option<crate::measured::RunRef>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    coverage: &'a [crate::measured::CoverageRow],
}

pub(crate) fn write(r: &Report, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    let doc = JsonReport {
        schema_version: 1,
        tool: Tool {
            name: "perfgate",
            version: r.version.clone(),
        },
        decision: r.decision.as_str(),
        score: r.score,
        counts: r.counts,
        files: r.files,
        findings: &r.findings,
        benchmarks: &r.measured.benchmarks,
        targets: &r.measured.targets,
        baseline: &r.measured.baseline,
        benchmark_run: &r.measured.current,
        coverage: &r.measured.coverage,
    };
    crate::write_pretty_json(&doc, out)
}

pub(crate) fn render(r: &Report) -> String {
    crate::in_memory(|out| write(r, out))
}
