//! Shared by the integration tests.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Record perfgate_bench's two real criterion runs — `baseline` and `current`, with
/// `rust/check` 14% slower — into the history at `db`, with fixed commits and branch so
/// reports are reproducible.
pub fn record_fixture_runs(db: &Path) {
    let fx = Path::new(env!("CARGO_MANIFEST_DIR")).join("../perfgate_bench/tests/fixtures");
    for (name, sub) in [
        ("baseline", "criterion-baseline"),
        ("current", "criterion-current"),
    ] {
        let o = Command::new(PathBuf::from(env!("CARGO_BIN_EXE_perfgate")))
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
