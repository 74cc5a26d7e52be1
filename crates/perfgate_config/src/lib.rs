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

/// Find the configuration for a checked path: walk up from it, first found wins.
pub fn discover(start: &Path) -> Result<Loaded, ConfigError> {
    let start = if start.is_file() {
        start.parent().unwrap_or(start).to_path_buf()
    } else {
        start.to_path_buf()
    };
    let start = start.canonicalize().unwrap_or(start);
    for dir in start.ancestors() {
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
}
