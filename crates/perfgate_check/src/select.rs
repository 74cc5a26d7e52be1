//! Which rules run, at which severity, with which catalogue: config and command line.

use crate::Error;
use perfgate_catalog::{ApiSchema, Catalog, Kind};
use perfgate_config::Loaded;
use perfgate_model::{Language, Severity};
use perfgate_rules::Rule;
use rustc_hash::FxHashMap;

const CATEGORIES: &[&str] = &[
    "concurrency",
    "memory",
    "io",
    "algorithmic",
    "config",
    "benchmarks",
];

fn matches(rule: &dyn Rule, sel: &str) -> bool {
    let m = rule.meta();
    sel == "all" || m.id == sel || m.category.as_str() == sel
}

fn check_known(loaded: &Loaded, sel: &str, from_cli: bool) -> Result<(), Error> {
    if sel == "all" || CATEGORIES.contains(&sel) || perfgate_rules::find(sel).is_some() {
        return Ok(());
    }
    let message = format!("unknown rule or category `{sel}` (see `perfgate rules`)");
    if from_cli {
        Err(Error::Usage(message))
    } else {
        Err(loaded.error_at(sel, message).into())
    }
}

/// Rules to run: the command line's `--select` replaces the config's `select`; `--ignore`
/// adds to the config's `ignore`.
pub fn rules(
    loaded: &Loaded,
    cli_select: Option<&[String]>,
    cli_ignore: &[String],
) -> Result<Vec<&'static dyn Rule>, Error> {
    let cfg = &loaded.config;
    for s in cfg.select.iter().flatten().chain(&cfg.ignore) {
        check_known(loaded, s, false)?;
    }
    for s in cli_select.into_iter().flatten().chain(cli_ignore) {
        check_known(loaded, s, true)?;
    }
    let select: Option<&[String]> = cli_select.or(cfg.select.as_deref());
    Ok(perfgate_rules::all()
        .iter()
        .copied()
        .filter(|r| select.is_none_or(|s| s.iter().any(|x| matches(*r, x))))
        .filter(|r| !cfg.ignore.iter().chain(cli_ignore).any(|x| matches(*r, x)))
        .collect())
}

pub fn severities(loaded: &Loaded) -> Result<FxHashMap<String, Severity>, Error> {
    let mut out = FxHashMap::default();
    for (id, sev) in &loaded.config.severity {
        if perfgate_rules::find(id).is_none() {
            return Err(loaded
                .error_at(id, format!("unknown rule `{id}` in [severity]"))
                .into());
        }
        let s = Severity::parse(sev).ok_or_else(|| {
            loaded.error_at(
                sev,
                format!("`{sev}` is not a severity (critical, high, medium, low, info)"),
            )
        })?;
        out.insert(id.clone(), s);
    }
    Ok(out)
}

/// The bundled catalogue plus the config's `[catalog.rust]` / `[catalog.python]` entries.
pub fn catalog(loaded: &Loaded) -> Result<Catalog, Error> {
    let mut c = Catalog::bundled();
    for (lang, ext) in [
        (Language::Rust, &loaded.config.catalog.rust),
        (Language::Python, &loaded.config.catalog.python),
    ] {
        for (kind, paths) in ext.entries() {
            if paths.is_empty() {
                continue;
            }
            let kind: Kind = toml::Value::String(kind.to_owned())
                .try_into()
                .map_err(|e| Error::Usage(format!("catalogue kind {kind}: {e}")))?;
            c.add_api(
                lang,
                ApiSchema {
                    paths: paths.to_vec(),
                    kind,
                    note: Some("listed in the project's perfgate configuration".into()),
                    instead: None,
                    returns: None,
                    when: Default::default(),
                    except: Vec::new(),
                    min_literal: None,
                },
            );
        }
    }
    Ok(c)
}
