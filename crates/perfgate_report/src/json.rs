use crate::{Counts, FileCounts, Report};
use perfgate_model::Finding;
use serde::Serialize;

#[derive(Serialize)]
pub(crate) struct Tool {
    name: &'static str,
    version: String,
}

/// SPEC §3, schema_version 1. Keys are only ever added.
#[derive(Serialize)]
pub(crate) struct JsonReport<'a> {
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

/// The report as SPEC §3 lays it out, with these findings.
pub(crate) fn document<'a>(r: &'a Report, findings: &'a [Finding]) -> JsonReport<'a> {
    JsonReport {
        schema_version: 1,
        tool: Tool {
            name: "perfgate",
            version: r.version.clone(),
        },
        decision: r.decision.as_str(),
        score: r.score,
        counts: r.counts,
        files: r.files,
        findings,
        benchmarks: &r.measured.benchmarks,
        targets: &r.measured.targets,
        baseline: &r.measured.baseline,
        benchmark_run: &r.measured.current,
        coverage: &r.measured.coverage,
    }
}

pub(crate) fn write(r: &Report, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    use std::io::Write;
    let doc = document(r, &[]);
    // The findings are most of a report (9 MB for 7,700 of them): they are rendered in
    // parallel, a batch at a time, and spliced into the document rendered without them.
    // The findings key is found by its line: a newline inside a JSON string is escaped.
    let frame = serde_json::to_vec_pretty(&doc)?;
    const KEY: &[u8] = b"\n  \"findings\": []";
    let at = memchr::memmem::find(&frame, KEY)
        .map(|i| i + KEY.len() - 2)
        .expect("the report has a findings key");
    let mut buf = std::io::BufWriter::with_capacity(1 << 16, out);
    buf.write_all(&frame[..at])?;
    if r.findings.is_empty() {
        buf.write_all(b"[]")?;
    } else {
        buf.write_all(b"[")?;
        for (b, batch) in r.findings.chunks(FINDINGS_PER_BATCH).enumerate() {
            use rayon::prelude::*;
            let rendered: Vec<std::io::Result<Vec<u8>>> =
                batch.par_iter().map(render_finding).collect();
            for (i, finding) in rendered.into_iter().enumerate() {
                if b > 0 || i > 0 {
                    buf.write_all(b",")?;
                }
                buf.write_all(b"\n    ")?;
                buf.write_all(&finding?)?;
            }
        }
        buf.write_all(b"\n  ]")?;
    }
    buf.write_all(&frame[at + 2..])?;
    buf.write_all(b"\n")?;
    buf.flush()
}

/// Findings rendered at a time: enough to share among threads, few enough that their
/// text stays in cache.
const FINDINGS_PER_BATCH: usize = 256;

/// One finding as pretty JSON, indented for its place in the report's findings array, two
/// levels deep: four more spaces on every line after the first.
fn render_finding(f: &Finding) -> std::io::Result<Vec<u8>> {
    let alone = serde_json::to_vec_pretty(f)?;
    let lines = memchr::memchr_iter(b'\n', &alone).count();
    let mut out = Vec::with_capacity(alone.len() + 4 * lines);
    let mut from = 0;
    for nl in memchr::memchr_iter(b'\n', &alone) {
        out.extend_from_slice(&alone[from..=nl]);
        out.extend_from_slice(b"    ");
        from = nl + 1;
    }
    out.extend_from_slice(&alone[from..]);
    Ok(out)
}

pub(crate) fn render(r: &Report) -> String {
    crate::in_memory(|out| write(r, out))
}
