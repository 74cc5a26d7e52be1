//! Facts about the project beyond its code, for the benchmark and configuration rules:
//! benchmark suites and how they are registered, CI workflows, the declared plan, targets
//! and budgets with the values they constrain, and what was measured. Gathered by the
//! driver (`perfgate_check`); rules only read them.

/// A location in a non-code file (a manifest, a workflow, a configuration file).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Place {
    pub path: String,
    pub line: u32,
    /// The line's text, for the report.
    pub text: String,
}

#[derive(Clone, Debug, Default)]
pub struct ProjectFacts {
    pub manifests: Vec<Manifest>,
    pub bench_files: Vec<BenchFile>,
    pub ci_files: Vec<CiFile>,
    /// Task runners' files at the project's root (`Makefile`, `justfile`): CI jobs often run
    /// `make bench` or `just test-benchmark`, whose recipes hold the commands.
    pub task_files: Vec<CiFile>,
    pub plan: Vec<PlannedComponent>,
    pub targets: Vec<TargetFacts>,
    pub budgets: Vec<BudgetFacts>,
    /// Benchmark comparisons, when `--bench` was given.
    pub comparisons: Vec<BenchComparison>,
}

/// A `Cargo.toml` and its `[[bench]]` entries.
#[derive(Clone, Debug, Default)]
pub struct Manifest {
    /// Relative path of the manifest.
    pub path: String,
    /// Relative directory of the crate (`""` for the root).
    pub dir: String,
    pub benches: Vec<BenchEntry>,
}

#[derive(Clone, Debug, Default)]
pub struct BenchEntry {
    pub name: String,
    /// The file it names (declared `path`, or `benches/<name>.rs`), relative.
    pub file: String,
    pub file_exists: bool,
    /// `harness = false` was declared.
    pub harness_false: bool,
    pub place: Place,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BenchKind {
    Criterion,
    Divan,
    IaiCallgrind,
    PytestBenchmark,
    Asv,
}

impl BenchKind {
    pub fn as_str(self) -> &'static str {
        match self {
            BenchKind::Criterion => "criterion",
            BenchKind::Divan => "divan",
            BenchKind::IaiCallgrind => "iai-callgrind",
            BenchKind::PytestBenchmark => "pytest-benchmark",
            BenchKind::Asv => "asv",
        }
    }

    pub fn is_rust(self) -> bool {
        matches!(
            self,
            BenchKind::Criterion | BenchKind::Divan | BenchKind::IaiCallgrind
        )
    }
}

/// A file that defines benchmarks.
#[derive(Clone, Debug)]
pub struct BenchFile {
    pub path: String,
    pub kind: BenchKind,
    /// Benchmark ids and function names it defines (`"parse"`, `bench_parse`).
    pub ids: Vec<String>,
    /// Where each string-literal id is written (`bench_function("parse", ..)`): 1-based
    /// line and its text.
    pub id_lines: Vec<(String, u32, String)>,
    /// The crate it belongs to (index into `manifests`) and whether it is a top-level
    /// `benches/*.rs` target that Cargo must be told about.
    pub manifest: Option<usize>,
    pub is_target: bool,
    pub place: Place,
}

#[derive(Clone, Debug)]
pub struct CiFile {
    pub path: String,
    pub text: String,
}

#[derive(Clone, Debug)]
pub struct PlannedComponent {
    pub component: String,
    pub patterns: Vec<String>,
    pub place: Place,
}

/// A configured value a target constrains: a timeout from a config file or from code.
#[derive(Clone, Debug)]
pub struct ConfiguredValue {
    /// `config.yaml:timeouts.clip_s`, `default_inference_timeout`.
    pub source: String,
    /// Seconds (or bytes), when it could be read.
    pub value: Option<f64>,
    /// Why it could not be read.
    pub problem: Option<String>,
    pub place: Place,
}

#[derive(Clone, Debug)]
pub struct TargetFacts {
    pub name: String,
    pub limit_text: String,
    pub metric: String,
    /// Seconds or bytes.
    pub limit: f64,
    pub is_time: bool,
    pub timeouts: Vec<ConfiguredValue>,
    /// Measured figures for the target's benchmarks: (bench id, value of the metric).
    pub measured: Vec<(String, f64)>,
    pub place: Place,
}

#[derive(Clone, Debug)]
pub struct BudgetFacts {
    pub name: String,
    pub limit_text: String,
    pub limit: f64,
    pub is_time: bool,
    pub parts: Vec<ConfiguredValue>,
    pub place: Place,
}

/// One benchmark against its baseline (times in seconds).
#[derive(Clone, Debug)]
pub struct BenchComparison {
    pub id: String,
    pub baseline_median: f64,
    pub current_median: f64,
    pub ratio: f64,
    pub ci_low: f64,
    pub ci_high: f64,
    pub samples: (u32, u32),
    pub regression: bool,
    pub min_effect: f64,
    /// Where the benchmark is defined, when found; else the history database.
    pub place: Place,
}
