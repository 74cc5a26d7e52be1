//! Configuration: where it is found and what it may say (SPEC §5).
//!
//! Discovered upward from the checked path, first found wins: `perfgate.toml`, then
//! `[tool.perfgate]` in `pyproject.toml`, then `[workspace.metadata.perfgate]` /
//! `[package.metadata.perfgate]` in `Cargo.toml`. Errors name the file and line.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Config {
    /// Only these rules (ids or categories).
    #[serde(default)]
    pub select: Option<Vec<String>>,
    /// All but these rules (ids or categories).
    #[serde(default)]
    pub ignore: Vec<String>,
    /// Glob patterns (gitignore syntax) of paths not to check.
    #[serde(default)]
    pub exclude: Vec<String>,
    /// Per-rule severity overrides: `busy-wait = "low"`.
    #[serde(default)]
    pub severity: BTreeMap<String, String>,
    #[serde(default)]
    pub gate: Gate,
    #[serde(default)]
    pub analysis: AnalysisOptions,
    /// Catalogue extensions, per language.
    #[serde(default)]
    pub catalog: CatalogExt,
    /// Benchmark history, baseline and plan.
    #[serde(default)]
    pub bench: BenchConfig,
    /// Declared performance targets (`[[target]]`).
    #[serde(default)]
    pub target: Vec<Target>,
    /// Declared budgets (`[[budget]]`).
    #[serde(default)]
    pub budget: Vec<Budget>,
}

/// `[bench]`: where results are kept, what they are compared against, what must exist.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct BenchConfig {
    /// The history database (default `.perfgate/history.sqlite`, relative to the config).
    #[serde(default)]
    pub db: Option<String>,
    /// The run `check --bench` compares against: a run name, branch or commit.
    #[serde(default)]
    pub baseline: Option<String>,
    /// The smallest relative change that counts as a regression (default 0.05 = 5%).
    #[serde(default = "default_min_effect")]
    pub min_effect: f64,
    /// The benchmark plan: components that must have a benchmark.
    #[serde(default)]
    pub required: Vec<Required>,
}

impl Default for BenchConfig {
    fn default() -> Self {
        BenchConfig {
            db: None,
            baseline: None,
            min_effect: default_min_effect(),
            required: Vec::new(),
        }
    }
}

fn default_min_effect() -> f64 {
    0.05
}

/// `[[bench.required]]`: one planned component.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Required {
    pub component: String,
    /// Substrings or `*` globs matched (case-insensitively) against benchmark ids, bench
    /// function names and bench file paths. Default: the component name.
    #[serde(default, rename = "match")]
    pub patterns: Vec<String>,
}

/// `[[target]]`: a limit on a measured figure or a configured timeout.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Target {
    pub name: String,
    /// `p99 <= 3s`, `mean <= 2.5s`, `peak_rss <= 2GiB`.
    pub limit: String,
    /// Benchmark ids (`*` globs) the limit applies to.
    #[serde(default)]
    pub benches: Vec<String>,
    /// Configured timeouts that must fit within the limit: `config.yaml:timeouts.clip_s`
    /// (a key path into a YAML, TOML or JSON file, in seconds unless the value says) or the
    /// name of a function or constant in code (`default_inference_timeout`).
    #[serde(default)]
    pub timeouts: Vec<String>,
}

/// `[[budget]]`: parts that must add up to no more than a limit.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Budget {
    pub name: String,
    /// `24GiB`, `<= 3s`.
    pub limit: String,
    /// Key paths with `*` wildcards into config files: `config.yaml:models.*.vram_gb`.
    pub parts: Vec<String>,
    /// The unit of the part values when they are bare numbers (`GiB`, `GB`, `MiB`, `s`, `ms`).
    #[serde(default)]
    pub unit: Option<String>,
}

/// A parsed limit: `metric <= value` in base units (seconds or bytes).
#[derive(Clone, Debug, PartialEq)]
pub struct Limit {
    pub metric: String,
    pub value: f64,
    pub dimension: Dimension,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dimension {
    Time,
    Bytes,
    Count,
}

/// Parse `p99 <= 3s`, `mean<=2.5 s`, `peak_rss <= 2GiB`, `24GiB` (metric defaults to `total`).
pub fn parse_limit(s: &str) -> Result<Limit, String> {
    let (metric, value) = match s.split_once("<=") {
        Some((m, v)) => (m.trim().to_owned(), v.trim()),
        None => ("total".to_owned(), s.trim()),
    };
    let (value, dimension) = parse_quantity(value, None)?;
    if !matches!(
        metric.as_str(),
        "mean" | "median" | "p50" | "p95" | "p99" | "min" | "max" | "peak_rss" | "total"
    ) {
        return Err(format!(
            "unknown metric `{metric}` in limit `{s}`: use mean, median, p95, p99, min, max or peak_rss"
        ));
    }
    Ok(Limit {
        metric,
        value,
        dimension,
    })
}

/// A number with an optional unit, in base units: `3s`, `250 ms`, `2GiB`, `16`.
pub fn parse_quantity(s: &str, default_unit: Option<&str>) -> Result<(f64, Dimension), String> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '_' || c == '-' || c == 'e'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let num: f64 = num
        .replace('_', "")
        .parse()
        .map_err(|_| format!("`{s}` is not a number with a unit (like `3s`, `250ms`, `2GiB`)"))?;
    let unit = unit.trim();
    let unit = if unit.is_empty() {
        default_unit.unwrap_or("")
    } else {
        unit
    };
    let (k, dim) = match unit {
        "" => (1.0, Dimension::Count),
        "ns" => (1e-9, Dimension::Time),
        "us" | "µs" => (1e-6, Dimension::Time),
        "ms" => (1e-3, Dimension::Time),
        "s" | "sec" => (1.0, Dimension::Time),
        "min" | "m" => (60.0, Dimension::Time),
        "B" => (1.0, Dimension::Bytes),
        "KB" | "kB" => (1e3, Dimension::Bytes),
        "MB" => (1e6, Dimension::Bytes),
        "GB" => (1e9, Dimension::Bytes),
        "KiB" => (1024.0, Dimension::Bytes),
        "MiB" => (1024.0 * 1024.0, Dimension::Bytes),
        "GiB" => (1024.0 * 1024.0 * 1024.0, Dimension::Bytes),
        other => return Err(format!("unknown unit `{other}` in `{s}`")),
    };
    Ok((num * k, dim))
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Gate {
    /// `fail`, `warn` or `never`: the decision at which `check` exits 1.
    #[serde(default)]
    pub fail_on: Option<String>,
    /// FAIL below this score.
    #[serde(default = "default_fail_below")]
    pub fail_below: u32,
    /// WARN below this score.
    #[serde(default = "default_warn_below")]
    pub warn_below: u32,
    #[serde(default)]
    pub weights: Weights,
}

impl Default for Gate {
    fn default() -> Self {
        Gate {
            fail_on: None,
            fail_below: default_fail_below(),
            warn_below: default_warn_below(),
            weights: Weights::default(),
        }
    }
}

fn default_fail_below() -> u32 {
    60
}
fn default_warn_below() -> u32 {
    85
}

/// Points subtracted from 100 per finding of each severity.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Weights {
    #[serde(default = "w25")]
    pub critical: u32,
    #[serde(default = "w8")]
    pub high: u32,
    #[serde(default = "w3")]
    pub medium: u32,
    #[serde(default = "w1")]
    pub low: u32,
    #[serde(default)]
    pub info: u32,
}

fn w25() -> u32 {
    25
}
fn w8() -> u32 {
    8
}
fn w3() -> u32 {
    3
}
fn w1() -> u32 {
    1
}

impl Default for Weights {
    fn default() -> Self {
        Weights {
            critical: 25,
            high: 8,
            medium: 3,
            low: 1,
            info: 0,
        }
    }
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct AnalysisOptions {
    /// Report findings whose call chain was resolved by method name only.
    #[serde(default = "yes")]
    pub assumed_chains: bool,
    /// Files larger than this many bytes are skipped.
    #[serde(default = "default_max_file_size")]
    pub max_file_size: u64,
}

fn yes() -> bool {
    true
}
fn default_max_file_size() -> u64 {
    2 * 1024 * 1024
}

impl Default for AnalysisOptions {
    fn default() -> Self {
        AnalysisOptions {
            assumed_chains: true,
            max_file_size: default_max_file_size(),
        }
    }
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CatalogExt {
    #[serde(default)]
    pub rust: LangExt,
    #[serde(default)]
    pub python: LangExt,
}

/// Extra catalogue entries: the user's own blocking helpers, clients, loaders.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct LangExt {
    #[serde(default)]
    pub blocking_io: Vec<String>,
    #[serde(default)]
    pub blocking_sleep: Vec<String>,
    #[serde(default)]
    pub blocking_wait: Vec<String>,
    #[serde(default)]
    pub cpu_heavy: Vec<String>,
    #[serde(default)]
    pub remote: Vec<String>,
    #[serde(default)]
    pub timeout: Vec<String>,
    #[serde(default)]
    pub offload: Vec<String>,
    #[serde(default)]
    pub client: Vec<String>,
    #[serde(default)]
    pub gpu: Vec<String>,
}

impl LangExt {
    /// `(kind name, paths)` pairs, kind names as in the catalogue schema.
    pub fn entries(&self) -> [(&'static str, &[String]); 9] {
        [
            ("blocking-io", &self.blocking_io),
            ("blocking-sleep", &self.blocking_sleep),
            ("blocking-wait", &self.blocking_wait),
            ("cpu-heavy", &self.cpu_heavy),
            ("remote", &self.remote),
            ("timeout", &self.timeout),
            ("offload", &self.offload),
            ("client", &self.client),
            ("gpu", &self.gpu),
        ]
    }
}

/// A configuration that was found, and where.
#[derive(Clone, Debug, PartialEq)]
pub struct Loaded {
    pub config: Config,
    /// `None` when no file was found (defaults apply).
    pub path: Option<PathBuf>,
    /// The file's text, to locate values named in later validation errors.
    pub text: String,
}

/// A configuration error: the file, the 1-based line when known, and the problem.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    pub path: PathBuf,
    pub line: Option<usize>,
    pub message: String,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(l) => write!(f, "{}:{}: {}", self.path.display(), l, self.message),
            None => write!(f, "{}: {}", self.path.display(), self.message),
        }
    }
}

impl std::error::Error for ConfigError {}

#[derive(Deserialize)]
struct Pyproject {
    tool: Option<PyTool>,
}
#[derive(Deserialize)]
struct PyTool {
    perfgate: Option<Config>,
}
#[derive(Deserialize)]
struct CargoManifest {
    workspace: Option<CargoMeta>,
    package: Option<CargoMeta>,
}
#[derive(Deserialize)]
struct CargoMeta {
    metadata: Option<CargoPerfgate>,
}
#[derive(Deserialize)]
struct CargoPerfgate {
    perfgate: Option<Config>,
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

fn parse_err(path: &Path, text: &str, e: toml::de::Error) -> ConfigError {
    ConfigError {
        path: path.to_owned(),
        line: e.span().map(|s| line_of(text, s.start)),
        message: e.message().trim().to_owned(),
    }
}

fn read(path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|e| ConfigError {
        path: path.to_owned(),
        line: None,
        message: format!("cannot read: {e}"),
    })
}

/// Load one file, whichever kind it is (by name).
pub fn load_file(path: &Path) -> Result<Option<Loaded>, ConfigError> {
    let text = read(path)?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let config = match name {
        "pyproject.toml" => toml::from_str::<Pyproject>(&text)
            .map_err(|e| parse_err(path, &text, e))?
            .tool
            .and_then(|t| t.perfgate),
        "Cargo.toml" => {
            let m: CargoManifest = toml::from_str(&text).map_err(|e| parse_err(path, &text, e))?;
            m.workspace
                .and_then(|w| w.metadata)
                .and_then(|m| m.perfgate)
                .or_else(|| m.package.and_then(|p| p.metadata).and_then(|m| m.perfgate))
        }
        _ => Some(toml::from_str::<Config>(&text).map_err(|e| parse_err(path, &text, e))?),
    };
    Ok(config.map(|config| Loaded {
        config,
        path: Some(path.to_owned()),
        text,
    }))
}

/// The environment variable naming directories that configuration discovery does not
/// search, nor anything above them: a list like `PATH`, of absolute paths (relative ones are
/// ignored). Git's `GIT_CEILING_DIRECTORIES`, for configuration: a sandbox, a CI job or a
/// test suite keeps a stray `perfgate.toml` in a shared parent (`/tmp`, a home directory)
/// out of its runs.
pub const CEILING_VAR: &str = "PERFGATE_CONFIG_CEILING";

/// Find the configuration for a checked path: walk up from it, first found wins, stopping
/// below the directories that [`CEILING_VAR`] names.
pub fn discover(start: &Path) -> Result<Loaded, ConfigError> {
    let ceilings: Vec<PathBuf> = std::env::var_os(CEILING_VAR)
        .map(|v| {
            std::env::split_paths(&v)
                .filter(|p| p.is_absolute())
                .map(|p| p.canonicalize().unwrap_or(p))
                .collect()
        })
        .unwrap_or_default();
    discover_below(start, &ceilings)
}

/// [`discover`], searching neither the `ceilings` (absolute, canonical paths) nor anything
/// above them.
pub fn discover_below(start: &Path, ceilings: &[PathBuf]) -> Result<Loaded, ConfigError> {
    let start = if start.is_file() {
        start.parent().unwrap_or(start).to_path_buf()
    } else {
        start.to_path_buf()
    };
    let start = start.canonicalize().unwrap_or(start);
    let ceilings: std::collections::HashSet<&Path> = ceilings.iter().map(|c| c.as_path()).collect();
    for dir in start.ancestors() {
        if ceilings.contains(dir) {
            break;
        }
        for name in ["perfgate.toml", "pyproject.toml", "Cargo.toml"] {
            let p = dir.join(name);
            if p.is_file() {
                if let Some(l) = load_file(&p)? {
                    return Ok(l);
                }
            }
        }
    }
    Ok(Loaded {
        config: Config::default(),
        path: None,
        text: String::new(),
    })
}

impl Loaded {
    /// An error about a value of this configuration, located by searching its text.
    pub fn error_at(&self, needle: &str, message: String) -> ConfigError {
        let line = self
            .text
            .find(&format!("\"{needle}\""))
            .or_else(|| self.text.find(needle))
            .map(|o| line_of(&self.text, o));
        ConfigError {
            path: self
                .path
                .clone()
                .unwrap_or_else(|| PathBuf::from("<defaults>")),
            line,
            message,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Discovery from inside a fresh temporary directory, which no configuration in a
    /// shared parent (a stray `/tmp/perfgate.toml`) may reach.
    fn discover(start: &Path) -> Result<Loaded, ConfigError> {
        let tmp = std::env::temp_dir();
        discover_below(start, &[tmp.canonicalize().unwrap_or(tmp)])
    }

    #[test]
    fn discovers_each_kind_and_reports_errors_with_lines() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("a/b");
        std::fs::create_dir_all(&sub).unwrap();
        assert_eq!(discover(&sub).unwrap().path, None);

        std::fs::write(
            dir.path().join("Cargo.toml"),
            "[package]\nname = \"x\"\n[package.metadata.perfgate]\nignore = [\"busy-wait\"]\n",
        )
        .unwrap();
        let l = discover(&sub).unwrap();
        assert_eq!(l.config.ignore, vec!["busy-wait"]);

        std::fs::write(
            dir.path().join("a/pyproject.toml"),
            "[project]\nname = \"x\"\n[tool.perfgate]\nexclude = [\"gen/**\"]\n[tool.perfgate.gate]\nfail-below = 50\n",
        )
        .unwrap();
        let l = discover(&sub).unwrap();
        assert_eq!(l.config.exclude, vec!["gen/**"]);
        assert_eq!(l.config.gate.fail_below, 50);

        std::fs::write(
            sub.join("perfgate.toml"),
            "select = [\"concurrency\"]\n\nignor = []\n",
        )
        .unwrap();
        let e = discover(&sub).unwrap_err();
        assert_eq!(e.line, Some(3), "{e}");
        assert!(e.to_string().contains("perfgate.toml:3:"), "{e}");
        assert!(e.message.contains("ignor"), "{e}");

        std::fs::write(sub.join("perfgate.toml"), "[gate]\nfail-below = \"high\"\n").unwrap();
        let e = discover(&sub).unwrap_err();
        assert_eq!(e.line, Some(2), "{e}");
    }

    /// A ceiling hides its own configuration and everything above it; the directories
    /// below it are searched as before.
    #[test]
    fn discovery_stops_below_a_ceiling() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        let (mid, sub) = (root.join("mid"), root.join("mid/sub"));
        std::fs::create_dir_all(&sub).unwrap();
        std::fs::write(root.join("perfgate.toml"), "ignore = [\"busy-wait\"]\n").unwrap();
        let found = |ceilings: &[PathBuf]| discover_below(&sub, ceilings).unwrap().path;
        assert_eq!(found(&[]), Some(root.join("perfgate.toml")));
        assert_eq!(found(std::slice::from_ref(&root)), None);
        assert_eq!(found(std::slice::from_ref(&mid)), None);
        assert_eq!(
            found(&[sub.join("deeper")]),
            Some(root.join("perfgate.toml"))
        );
        std::fs::write(mid.join("perfgate.toml"), "select = [\"io\"]\n").unwrap();
        assert_eq!(
            found(std::slice::from_ref(&root)),
            Some(mid.join("perfgate.toml"))
        );
    }
}
