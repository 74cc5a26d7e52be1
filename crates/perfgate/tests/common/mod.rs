//! Shared by the integration tests.

// Each test crate uses its own part of this module.
#![allow(dead_code)]

use std::path::Path;
use std::process::Command;

/// The perfgate binary as the tests run it: configuration discovery stops below the
/// system's temporary directory (`PERFGATE_CONFIG_CEILING`), so a stray `perfgate.toml` there
/// (left by a manual run) cannot reach the temporary projects the tests check.
pub fn perfgate_command() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_perfgate"));
    c.env("PERFGATE_CONFIG_CEILING", std::env::temp_dir());
    c
}

/// Record perfgate_bench's two real criterion runs — `baseline` and `current`, with
/// `rust/check` 14% slower — into the history at `db`, with fixed commits and branch so
/// reports are reproducible.
pub fn record_fixture_runs(db: &Path) {
    let fx = Path::new(env!("CARGO_MANIFEST_DIR")).join("../perfgate_bench/tests/fixtures");
    for (name, sub) in [
        ("baseline", "criterion-baseline"),
        ("current", "criterion-current"),
    ] {
        let o = perfgate_command()
            .args(["bench", "record"])
            .arg(fx.join(sub))
            .arg("--db")
            .arg(db)
            .args([
                "--name", name, "--commit", name, "--branch", "main", "--quiet",
            ])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
}
