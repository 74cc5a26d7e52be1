//! Measured performance: benchmark results read from the files benchmark tools write
//! ([`ingest`]), summarised and compared with a statistical test ([`stats`]), and kept
//! with their raw samples in a history database ([`history`]).

pub mod history;
pub mod ingest;
pub mod stats;

use serde::Serialize;

/// Which tool produced a result.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Source {
    Criterion,
    PytestBenchmark,
    Hyperfine,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Criterion => "criterion",
            Source::PytestBenchmark => "pytest-benchmark",
            Source::Hyperfine => "hyperfine",
        }
    }

    pub fn parse(s: &str) -> Option<Source> {
        match s {
            "criterion" => Some(Source::Criterion),
            "pytest-benchmark" => Some(Source::PytestBenchmark),
            "hyperfine" => Some(Source::Hyperfine),
            _ => None,
        }
    }
}

/// One benchmark's measurements: seconds per iteration, one value per sample.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BenchResult {
    /// `group/function` for criterion, the test's full name for pytest-benchmark, the
    /// command (or its `--command-name`) for hyperfine.
    pub id: String,
    pub source: Source,
    /// Raw samples in seconds per iteration. Empty when the tool kept only a summary
    /// (pytest-benchmark without `--benchmark-save-data`): then only `summary` is known.
    pub samples: Vec<f64>,
    pub summary: Summary,
}

/// Descriptive statistics, in seconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Summary {
    pub n: u32,
    pub mean: f64,
    pub median: f64,
    pub p95: f64,
    pub p99: f64,
    pub min: f64,
    pub max: f64,
    pub stddev: f64,
}

impl Summary {
    pub fn of(samples: &[f64]) -> Summary {
        if samples.is_empty() {
            return Summary::default();
        }
        let mut s = samples.to_vec();
        s.sort_by(f64::total_cmp);
        let n = s.len() as f64;
        let mean = s.iter().sum::<f64>() / n;
        let var = if s.len() > 1 {
            s.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)
        } else {
            0.0
        };
        Summary {
            n: s.len() as u32,
            mean,
            median: stats::quantile_sorted(&s, 0.5),
            p95: stats::quantile_sorted(&s, 0.95),
            p99: stats::quantile_sorted(&s, 0.99),
            min: s[0],
            max: s[s.len() - 1],
            stddev: var.sqrt(),
        }
    }

    /// A named figure: `mean`, `median` (`p50`), `p95`, `p99`, `min`, `max`.
    pub fn get(&self, metric: &str) -> Option<f64> {
        Some(match metric {
            "mean" => self.mean,
            "median" | "p50" => self.median,
            "p95" => self.p95,
            "p99" => self.p99,
            "min" => self.min,
            "max" => self.max,
            _ => return None,
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {message}")]
    Input { path: String, message: String },
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("history database {path}: {source}")]
    Db {
        path: String,
        #[source]
        source: rusqlite::Error,
    },
    #[error("{0}")]
    NotFound(String),
}
