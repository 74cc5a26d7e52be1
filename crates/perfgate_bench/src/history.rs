//! The run history: every recorded run with its commit, branch, time and machine, and each
//! benchmark's raw samples, in SQLite.
//!
//! A run is written in one `BEGIN IMMEDIATE` transaction, so a process killed mid-write
//! leaves either the whole run or nothing; WAL mode and a busy timeout let two CI jobs
//! record into the same file at once.

use crate::{BenchResult, Error, Source, Summary};
use rusqlite::{params, Connection, OptionalExtension};
use std::path::{Path, PathBuf};
use std::time::Duration;

pub const DEFAULT_DB: &str = ".perfgate/history.sqlite";

/// Where and when a run was made.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct RunInfo {
    pub id: i64,
    pub name: Option<String>,
    pub commit: Option<String>,
    pub branch: Option<String>,
    /// Seconds since the Unix epoch.
    pub recorded_at: i64,
    pub machine: String,
}

/// How long a writer waits for another to finish with the file.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// Runs `step` again while SQLite reports the file busy or locked, up to [`BUSY_TIMEOUT`].
fn retry_while_busy<T>(
    mut step: impl FnMut() -> Result<T, rusqlite::Error>,
) -> Result<T, rusqlite::Error> {
    let start = std::time::Instant::now();
    loop {
        match step() {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if matches!(
                    e.code,
                    rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
                ) && start.elapsed() < BUSY_TIMEOUT =>
            {
                std::thread::sleep(Duration::from_millis(20));
            }
            other => return other,
        }
    }
}

pub struct History {
    conn: Connection,
    path: PathBuf,
}

impl History {
    /// Open (creating it and its folder if needed) the database at `path`.
    pub fn open(path: &Path) -> Result<History, Error> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| Error::Io {
                path: dir.display().to_string(),
                source: e,
            })?;
        }
        let db = |e| Error::Db {
            path: path.display().to_string(),
            source: e,
        };
        let mut conn = Connection::open(path).map_err(db)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(db)?;
        // Two processes opening a new file at once: switching it to WAL takes a lock the
        // busy handler does not wait for, and a schema written statement by statement can
        // meet the other's half-way. Each step is retried while the file is busy, and the
        // schema is written in one transaction that takes the write lock first.
        retry_while_busy(|| conn.execute_batch("PRAGMA journal_mode = WAL;")).map_err(db)?;
        conn.execute_batch("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;")
            .map_err(db)?;
        retry_while_busy(|| {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            tx.execute_batch(
                "CREATE TABLE IF NOT EXISTS runs (
                 id INTEGER PRIMARY KEY AUTOINCREMENT,
                 name TEXT,
                 commit_sha TEXT,
                 branch TEXT,
                 recorded_at INTEGER NOT NULL,
                 machine TEXT NOT NULL,
                 n_benchmarks INTEGER NOT NULL
             );
             CREATE TABLE IF NOT EXISTS benchmarks (
                 run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
                 bench_id TEXT NOT NULL,
                 source TEXT NOT NULL,
                 n INTEGER NOT NULL,
                 mean REAL, median REAL, p95 REAL, p99 REAL,
                 min REAL, max REAL, stddev REAL,
                 samples BLOB NOT NULL,
                 PRIMARY KEY (run_id, bench_id, source)
             );
             CREATE INDEX IF NOT EXISTS runs_by_name ON runs(name);
             CREATE INDEX IF NOT EXISTS runs_by_branch ON runs(branch);",
            )?;
            tx.commit()
        })
        .map_err(db)?;
        Ok(History {
            conn,
            path: path.to_path_buf(),
        })
    }

    fn db(&self, e: rusqlite::Error) -> Error {
        Error::Db {
            path: self.path.display().to_string(),
            source: e,
        }
    }

    /// Record a run and its results in one transaction; returns the run id.
    pub fn record(&mut self, info: &RunInfo, results: &[BenchResult]) -> Result<i64, Error> {
        let path = self.path.display().to_string();
        let db = |e| Error::Db {
            path: path.clone(),
            source: e,
        };
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(db)?;
        tx.execute(
            "INSERT INTO runs (name, commit_sha, branch, recorded_at, machine, n_benchmarks)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                info.name,
                info.commit,
                info.branch,
                info.recorded_at,
                info.machine,
                results.len() as i64
            ],
        )
        .map_err(db)?;
        let run = tx.last_insert_rowid();
        {
            let mut st = tx
                .prepare(
                    "INSERT OR REPLACE INTO benchmarks
                     (run_id, bench_id, source, n, mean, median, p95, p99, min, max, stddev, samples)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                )
                .map_err(db)?;
            for r in results {
                let s = &r.summary;
                let blob: Vec<u8> = r.samples.iter().flat_map(|x| x.to_le_bytes()).collect();
                st.execute(params![
                    run,
                    r.id,
                    r.source.as_str(),
                    s.n,
                    s.mean,
                    s.median,
                    s.p95,
                    s.p99,
                    s.min,
                    s.max,
                    s.stddev,
                    blob
                ])
                .map_err(db)?;
            }
        }
        tx.commit().map_err(db)?;
        Ok(run)
    }

    /// The run a reference names: a run id (`#12`), a `--name`, a commit (or its prefix),
    /// or a branch (its latest run), tried in that order.
    pub fn find(&self, reference: &str) -> Result<RunInfo, Error> {
        let cols = "id, name, commit_sha, branch, recorded_at, machine";
        let row = run_row;
        if let Some(id) = reference
            .strip_prefix('#')
            .and_then(|n| n.parse::<i64>().ok())
        {
            if let Some(r) = self
                .conn
                .query_row(&format!("SELECT {cols} FROM runs WHERE id = ?1"), [id], row)
                .optional()
                .map_err(|e| self.db(e))?
            {
                return Ok(r);
            }
        }
        for q in [
            "SELECT {cols} FROM runs WHERE name = ?1 ORDER BY id DESC LIMIT 1",
            "SELECT {cols} FROM runs WHERE commit_sha = ?1 ORDER BY id DESC LIMIT 1",
            "SELECT {cols} FROM runs WHERE length(?1) >= 4 AND commit_sha LIKE ?1 || '%' ORDER BY id DESC LIMIT 1",
            "SELECT {cols} FROM runs WHERE branch = ?1 ORDER BY id DESC LIMIT 1",
        ] {
            let sql = q.replace("{cols}", cols);
            if let Some(r) = self
                .conn
                .query_row(&sql, [reference], row)
                .optional()
                .map_err(|e| self.db(e))?
            {
                return Ok(r);
            }
        }
        Err(Error::NotFound(format!(
            "no recorded run named `{reference}` (a run name, commit, branch or #id); record one with `perfgate bench record --name {reference}`"
        )))
    }

    /// The most recent run, optionally excluding one.
    pub fn latest(&self, except: Option<i64>) -> Result<Option<RunInfo>, Error> {
        self.conn
            .query_row(
                "SELECT id, name, commit_sha, branch, recorded_at, machine FROM runs
                 WHERE id != ?1 ORDER BY id DESC LIMIT 1",
                [except.unwrap_or(-1)],
                run_row,
            )
            .optional()
            .map_err(|e| self.db(e))
    }

    /// A run's results, sorted by id.
    pub fn results(&self, run: i64) -> Result<Vec<BenchResult>, Error> {
        let mut st = self
            .conn
            .prepare(
                "SELECT bench_id, source, n, mean, median, p95, p99, min, max, stddev, samples
                 FROM benchmarks WHERE run_id = ?1 ORDER BY bench_id, source",
            )
            .map_err(|e| self.db(e))?;
        let rows = st
            .query_map([run], |r| {
                let blob: Vec<u8> = r.get(10)?;
                let source: String = r.get(1)?;
                Ok(BenchResult {
                    id: r.get(0)?,
                    source: Source::parse(&source).unwrap_or(Source::Criterion),
                    samples: blob
                        .chunks_exact(8)
                        .map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes")))
                        .collect(),
                    summary: Summary {
                        n: r.get::<_, i64>(2)? as u32,
                        mean: r.get::<_, Option<f64>>(3)?.unwrap_or(f64::NAN),
                        median: r.get::<_, Option<f64>>(4)?.unwrap_or(f64::NAN),
                        p95: r.get::<_, Option<f64>>(5)?.unwrap_or(f64::NAN),
                        p99: r.get::<_, Option<f64>>(6)?.unwrap_or(f64::NAN),
                        min: r.get::<_, Option<f64>>(7)?.unwrap_or(f64::NAN),
                        max: r.get::<_, Option<f64>>(8)?.unwrap_or(f64::NAN),
                        stddev: r.get::<_, Option<f64>>(9)?.unwrap_or(f64::NAN),
                    },
                })
            })
            .map_err(|e| self.db(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.db(e))
    }

    /// One benchmark's median over the last `limit` runs, oldest first: the trend.
    pub fn trend(&self, bench_id: &str, limit: u32) -> Result<Vec<(RunInfo, f64)>, Error> {
        let mut st = self
            .conn
            .prepare(
                "SELECT r.id, r.name, r.commit_sha, r.branch, r.recorded_at, r.machine, b.median
                 FROM benchmarks b JOIN runs r ON r.id = b.run_id
                 WHERE b.bench_id = ?1 ORDER BY r.id DESC LIMIT ?2",
            )
            .map_err(|e| self.db(e))?;
        let rows = st
            .query_map(params![bench_id, limit], |r| {
                Ok((run_row(r)?, r.get::<_, f64>(6)?))
            })
            .map_err(|e| self.db(e))?;
        let mut v: Vec<_> = rows.collect::<Result<_, _>>().map_err(|e| self.db(e))?;
        v.reverse();
        Ok(v)
    }

    /// Every run is whole: its benchmark rows number what the run says, and each row's
    /// samples decode. Used by the kill test and by `perfgate bench record` itself.
    pub fn verify(&self) -> Result<(), Error> {
        let ok: String = self
            .conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .map_err(|e| self.db(e))?;
        if ok != "ok" {
            return Err(Error::NotFound(format!("integrity check failed: {ok}")));
        }
        let bad: i64 = self
            .conn
            .query_row(
                "SELECT count(*) FROM runs r WHERE n_benchmarks !=
                 (SELECT count(*) FROM benchmarks b WHERE b.run_id = r.id)",
                [],
                |r| r.get(0),
            )
            .map_err(|e| self.db(e))?;
        if bad != 0 {
            return Err(Error::NotFound(format!("{bad} partially recorded runs")));
        }
        Ok(())
    }

    pub fn run_count(&self) -> Result<i64, Error> {
        self.conn
            .query_row("SELECT count(*) FROM runs", [], |r| r.get(0))
            .map_err(|e| self.db(e))
    }
}

/// A `runs` row read as `id, name, commit_sha, branch, recorded_at, machine`.
fn run_row(r: &rusqlite::Row) -> rusqlite::Result<RunInfo> {
    Ok(RunInfo {
        id: r.get(0)?,
        name: r.get(1)?,
        commit: r.get(2)?,
        branch: r.get(3)?,
        recorded_at: r.get(4)?,
        machine: r.get(5)?,
    })
}

/// This machine, for telling runs on different hardware apart.
pub fn machine() -> String {
    let host = std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "unknown".into());
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    format!(
        "{host} ({} {}, {cores} cores)",
        std::env::consts::OS,
        std::env::consts::ARCH
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(id: &str, samples: Vec<f64>) -> BenchResult {
        BenchResult {
            id: id.into(),
            source: Source::Criterion,
            summary: Summary::of(&samples),
            samples,
        }
    }

    #[test]
    fn record_find_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let mut h = History::open(&dir.path().join("h/history.sqlite")).unwrap();
        let info = RunInfo {
            name: Some("baseline".into()),
            commit: Some("abcdef123".into()),
            branch: Some("main".into()),
            recorded_at: 1,
            machine: machine(),
            ..RunInfo::default()
        };
        let id = h
            .record(&info, &[result("a/b", vec![1.0, 2.0, 3.0])])
            .unwrap();
        let id2 = h
            .record(
                &RunInfo {
                    branch: Some("feature".into()),
                    ..info.clone()
                },
                &[result("a/b", vec![2.0, 3.0, 4.0])],
            )
            .unwrap();
        assert_eq!(h.find("baseline").unwrap().id, id2);
        assert_eq!(h.find("abcdef").unwrap().id, id2);
        assert_eq!(h.find("main").unwrap().id, id);
        assert_eq!(h.find(&format!("#{id}")).unwrap().id, id);
        assert!(h.find("nope").is_err());
        let back = h.results(id).unwrap();
        assert_eq!(back[0].samples, vec![1.0, 2.0, 3.0]);
        assert_eq!(back[0].summary.median, 2.0);
        assert_eq!(h.trend("a/b", 10).unwrap().len(), 2);
        h.verify().unwrap();
    }
}
