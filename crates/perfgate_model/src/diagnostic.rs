use serde::Serialize;
use std::borrow::Cow;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 5] = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Info,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    pub fn parse(s: &str) -> Option<Severity> {
        Some(match s.to_ascii_lowercase().as_str() {
            "info" => Severity::Info,
            "low" => Severity::Low,
            "medium" => Severity::Medium,
            "high" => Severity::High,
            "critical" => Severity::Critical,
            _ => return None,
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Category {
    Concurrency,
    Memory,
    Io,
    Algorithmic,
    Config,
    Benchmarks,
}

impl Category {
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Concurrency => "concurrency",
            Category::Memory => "memory",
            Category::Io => "io",
            Category::Algorithmic => "algorithmic",
            Category::Config => "config",
            Category::Benchmarks => "benchmarks",
        }
    }

    /// The heading used for this area in the markdown report.
    pub fn title(self) -> &'static str {
        match self {
            Category::Concurrency => "Concurrency",
            Category::Memory => "Memory",
            Category::Io => "I/O",
            Category::Algorithmic => "Algorithmic complexity",
            Category::Config => "Configuration",
            Category::Benchmarks => "Benchmarks",
        }
    }
}

/// How much of a finding's call chain was resolved exactly.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    /// Every step was resolved through declarations and imports.
    Certain,
    /// Some step was resolved by name only (e.g. a trait method with one implementation).
    Assumed,
}

impl Confidence {
    pub fn as_str(self) -> &'static str {
        match self {
            Confidence::Certain => "certain",
            Confidence::Assumed => "assumed",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TraceStep {
    pub path: String,
    pub line: u32,
    pub function: String,
    pub note: String,
}

/// The root cause a finding was reached through; several findings may share it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RootCause {
    pub fingerprint: String,
    pub path: String,
    pub line: u32,
    pub function: String,
    pub note: String,
}

/// One reported defect, located and explained; what every reporter renders.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The rule's id: a constant of the rule's, not copied per finding.
    pub rule: Cow<'static, str>,
    pub category: Category,
    pub severity: Severity,
    pub path: String,
    pub line: u32,
    pub column: u32,
    pub end_line: u32,
    pub end_column: u32,
    pub function: String,
    pub message: String,
    /// Usually a constant of the rule's (borrowed, not copied per finding).
    pub impact: Cow<'static, str>,
    pub fix: Cow<'static, str>,
    pub trace: Vec<TraceStep>,
    pub fingerprint: String,
    pub confidence: Confidence,
    /// Boxed: most findings have none, and findings are moved about (collected, sorted)
    /// by the thousand.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub root_cause: Option<Box<RootCause>>,
    /// The source line(s) of the finding, for reports that quote code.
    #[serde(skip)]
    pub snippet: String,
}
