//! A self-contained HTML page: summary, findings, benchmark table and one trend chart per
//! benchmark, drawn as inline SVG here. No scripts, styles or fonts are fetched.

use crate::measured::{seconds, BenchRow};
use crate::Report;
use std::fmt::Write;

fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

pub(crate) fn render(r: &Report) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>perfgate: {} {}/100</title>\n<style>{}</style>\n</head>\n<body>",
        r.decision.as_str(),
        r.score,
        CSS
    );
    let c = &r.counts;
    let _ = writeln!(o, "<h1>Performance Verification Report</h1>\n<p class=\"decision {}\" id=\"decision\">{} · score {}/100</p>\n<p>{} critical, {} high, {} medium, {} low, {} info in {} files.</p>",
        r.decision.as_str().to_ascii_lowercase(),
        r.decision.as_str(),
        r.score,
        c.critical,
        c.high,
        c.medium,
        c.low,
        c.info,
        r.files.analyzed
    );
    let m = &r.measured;
    if !m.benchmarks.is_empty() {
        let _ = writeln!(o, "<h2>Benchmarks</h2>");
        if let Some(cur) = &m.current {
            let base = m.baseline.as_ref().map_or("no baseline".to_owned(), |b| {
                format!("baseline {}", b.label())
            });
            let _ = writeln!(
                o,
                "<p>{} against {}</p>",
                esc(&cur.label().replace('`', "")),
                esc(&base.replace('`', ""))
            );
        }
        let _ = writeln!(o, "<table id=\"benchmarks\"><tr><th>benchmark</th><th>median</th><th>p95</th><th>p99</th><th>baseline</th><th>change [95% CI]</th><th>status</th></tr>");
        for b in &m.benchmarks {
            let change = match (b.change, b.change_low, b.change_high) {
                (Some(x), Some(lo), Some(hi)) if lo.is_finite() => format!(
                    "{:+.1}% [{:+.1}%, {:+.1}%]",
                    x * 100.0,
                    lo * 100.0,
                    hi * 100.0
                ),
                (Some(x), _, _) => format!("{:+.1}%", x * 100.0),
                _ => "–".into(),
            };
            let _ = writeln!(o, "<tr class=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                b.status.replace(' ', "-"),
                esc(&b.id),
                seconds(b.median),
                seconds(b.p95),
                seconds(b.p99),
                b.baseline_median.map_or("–".into(), seconds),
                change,
                esc(&b.status)
            );
        }
        let _ = writeln!(o, "</table>\n<h2>Trends</h2>\n<div class=\"charts\">");
        for b in &m.benchmarks {
            chart(&mut o, b);
        }
        let _ = writeln!(o, "</div>");
    }
    if !m.targets.is_empty() {
        let _ = writeln!(o, "<h2>Targets</h2>\n<table id=\"targets\"><tr><th>target</th><th>limit</th><th>checked</th><th>measured</th><th>status</th></tr>");
        for t in &m.targets {
            let _ = writeln!(
                o,
                "<tr class=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                t.status.replace(' ', "-"),
                esc(&t.name),
                esc(&t.limit),
                esc(&t.subject),
                esc(&t.measured),
                esc(&t.status)
            );
        }
        let _ = writeln!(o, "</table>");
    }
    let _ = writeln!(o, "<h2>Findings</h2>");
    if r.findings.is_empty() {
        let _ = writeln!(o, "<p>No findings.</p>");
    } else {
        let _ = writeln!(o, "<table id=\"findings\"><tr><th>severity</th><th>rule</th><th>location</th><th>problem</th><th>fix</th></tr>");
        for f in &r.findings {
            let _ = writeln!(o, "<tr><td class=\"sev {}\">{}</td><td>{}</td><td>{}:{}</td><td>{}</td><td>{}</td></tr>",
                f.severity.as_str(),
                f.severity.as_str(),
                esc(&f.rule),
                esc(&f.path),
                f.line,
                esc(&f.message),
                esc(&f.fix)
            );
        }
        let _ = writeln!(o, "</table>");
    }
    let _ = writeln!(o, "</body>\n</html>");
    o
}

/// One benchmark's median per recorded run, as an SVG line chart with labelled axes.
fn chart(o: &mut String, b: &BenchRow) {
    const W: f64 = 360.0;
    const H: f64 = 160.0;
    const L: f64 = 56.0;
    const B: f64 = 24.0;
    let pts: Vec<(i64, f64)> = if b.trend.is_empty() {
        vec![(0, b.median)]
    } else {
        b.trend.clone()
    };
    let (lo, hi) = pts
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), (_, v)| {
            (lo.min(*v), hi.max(*v))
        });
    let (lo, hi) = if (hi - lo).abs() < f64::EPSILON {
        (lo * 0.9, hi * 1.1 + f64::EPSILON)
    } else {
        (lo - (hi - lo) * 0.1, hi + (hi - lo) * 0.1)
    };
    let n = pts.len().max(2) - 1;
    let x = |i: usize| L + (W - L - 8.0) * i as f64 / n as f64;
    let y = |v: f64| 8.0 + (H - B - 8.0) * (1.0 - (v - lo) / (hi - lo));
    let line: Vec<String> = pts
        .iter()
        .enumerate()
        .map(|(i, (_, v))| format!("{:.1},{:.1}", x(i), y(*v)))
        .collect();
    let _ = write!(
        o,
        "<figure class=\"chart\"><figcaption>{}</figcaption><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{H}\" viewBox=\"0 0 {W} {H}\" role=\"img\" aria-label=\"median per run of {}\">",
        esc(&b.id),
        esc(&b.id)
    );
    let _ = write!(
        o,
        "<line x1=\"{L}\" y1=\"8\" x2=\"{L}\" y2=\"{}\" class=\"axis\"/><line x1=\"{L}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" class=\"axis\"/>",
        H - B,
        H - B,
        W - 8.0,
        H - B
    );
    let _ = write!(
        o,
        "<text x=\"{}\" y=\"14\" class=\"tick\" text-anchor=\"end\">{}</text><text x=\"{}\" y=\"{}\" class=\"tick\" text-anchor=\"end\">{}</text>",
        L - 4.0,
        seconds(hi),
        L - 4.0,
        H - B,
        seconds(lo)
    );
    let _ = write!(
        o,
        "<polyline class=\"trend\" fill=\"none\" points=\"{}\"/>",
        line.join(" ")
    );
    for (i, (run, v)) in pts.iter().enumerate() {
        let _ = write!(
            o,
            "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\"><title>run #{run}: {}</title></circle>",
            x(i),
            y(*v),
            seconds(*v)
        );
    }
    let _ = writeln!(o, "<text x=\"{}\" y=\"{}\" class=\"tick\" text-anchor=\"middle\">runs (oldest → newest)</text></svg></figure>",
        (L + W) / 2.0,
        H - 6.0
    );
}

const CSS: &str = "body{font-family:system-ui,sans-serif;margin:2em;color:#222}\
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}\
.decision{font-size:1.4em;font-weight:bold}.decision.fail{color:#b00}.decision.warn{color:#b70}.decision.pass{color:#070}\
tr.regression td{background:#fdd}tr.improvement td{background:#dfd}tr.missed td{background:#fdd}\
.charts{display:flex;flex-wrap:wrap;gap:1em}.chart{margin:0}.axis{stroke:#888}.trend{stroke:#36c;stroke-width:2}\
circle{fill:#36c}.tick{font-size:10px;fill:#555}.sev.critical,.sev.high{color:#b00}";
