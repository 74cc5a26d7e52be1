//! A generated corpus for benchmarks: async services and pipelines with deep and wide call
//! graphs across modules (each module calls into the previous one and into two others),
//! loops, locks, handlers and comprehensions. Deterministic for a given size.
//!
//! Every module has the same shape; one in [`DEFECTIVE_EVERY`] holds the defects of the
//! reference reports (blocking I/O and a 64x64 loop on the event loop, sequential awaits, a
//! lock held across an await, a busy-wait, a client per call, an await with no timeout), the
//! others use the correct idioms in their place (`asyncio.to_thread`, `gather`, `join!`, a
//! shared session, a guard dropped before the await, an event). [`generate_dense`] makes
//! every module defective: a stress test of the cost of each finding and of the reports.

/// `(relative path, source)` pairs.
pub type Files = Vec<(String, String)>;

/// One module in this many holds the defects: seven findings per 950 lines of Python, one
/// per 136 lines. Real code has far fewer: over 60 open-source async Python and Rust
/// projects (10.4 M lines), perfgate finds one per 2,520 lines overall, one per 4,551 in the
/// median project and one per 294 in the densest (chainlit). Twice the densest keeps the
/// findings' cost in every measurement.
pub const DEFECTIVE_EVERY: usize = 10;

/// `modules` Python modules and `modules` Rust modules, one in [`DEFECTIVE_EVERY`]
/// defective.
#[allow(dead_code)]
pub fn generate(modules: usize) -> (Files, Files) {
    generate_with(modules, DEFECTIVE_EVERY)
}

/// As [`generate`], every module defective (7,700 findings in 1,100 Python modules).
#[allow(dead_code)]
pub fn generate_dense(modules: usize) -> (Files, Files) {
    generate_with(modules, 1)
}

fn generate_with(modules: usize, defective_every: usize) -> (Files, Files) {
    let defective = |i: usize| i.is_multiple_of(defective_every.max(1));
    let py = (0..modules)
        .flat_map(|i| {
            [
                (
                    format!("svc/m{i}.py"),
                    python_module(i, modules, defective(i)),
                ),
                (format!("svc/tests/test_m{i}.py"), python_tests(i)),
            ]
        })
        .collect();
    let rs = (0..modules)
        .map(|i| {
            (
                format!("svc/src/m{i}.rs"),
                rust_module(i, modules, defective(i)),
            )
        })
        .collect();
    (py, rs)
}

fn others(i: usize, n: usize) -> [usize; 3] {
    let prev = if i == 0 { 0 } else { i - 1 };
    [prev, (i * 7 + 3) % n.max(1), (i * 13 + 5) % n.max(1)]
}

fn python_module(i: usize, n: usize, defective: bool) -> String {
    let [a, b, c] = others(i, n);
    let (client, run, guarded, wait, remote) = if defective {
        (
            "requests".to_owned(),
            format!(
                r#"        settings = load_settings_{i}(self.config["path"])
        frames = [tx(f) for f in batch]
        first = await self.score(frames)
        second = await self.rank(frames)"#
            ),
            "        with self.lock:\n            self.cache[key] = await fetch(key)".to_owned(),
            r#"        start = time.time()
        while time.time() - start < timeout:
            if task_id in self.results:
                return self.results[task_id]
            time.sleep(0.01)
        raise TimeoutError(task_id)"#
                .to_owned(),
            format!("        return fetch_remote_{i}(url)"),
        )
    } else {
        (
            "SESSION".to_owned(),
            format!(
                r#"        path = self.config["path"]
        settings = await asyncio.to_thread(load_settings_{i}, path)
        frames = await asyncio.to_thread(self.transform_all, batch)
        first, second = await asyncio.gather(self.score(frames), self.rank(frames))"#
            ),
            "        value = await fetch(key)\n        with self.lock:\n            self.cache[key] = value"
                .to_owned(),
            r#"        start = time.time()
        if not self.done.wait(timeout):
            raise TimeoutError(task_id)
        logger.debug("waited %.3f s", time.time() - start)
        return self.results[task_id]"#
                .to_owned(),
            format!("        return await asyncio.to_thread(fetch_remote_{i}, url)"),
        )
    };
    format!(
        r#""""Module {i}: ingestion stage {i} of the pipeline."""
import asyncio
import json
import logging
import threading
import time

import requests

from svc.m{a} import Stage{a}, helper_{a}
from svc import m{b} as peer_b
from .m{c} import transform_{c} as tx

logger = logging.getLogger(__name__)
SESSION = requests.Session()
SIZE = 64
RETRIES = 3


def helper_{i}(items, depth=0):
    """Twice the sum of `items`, plus what the earlier stages make of them."""
    total = 0
    for item in items:
        total += item * 2
    if depth < 3:
        total += helper_{a}(items, depth + 1)
    return total


def transform_{i}(frame):
    """Rescales a SIZE x SIZE frame into [1.0, 1.5], pixel by pixel.

    Frames arrive as nested lists from the decoder; the result is a new frame.
    """
    out = [[0.0] * SIZE for _ in range(SIZE)]
    for y in range(SIZE):
        for x in range(SIZE):
            out[y][x] = frame[y][x] * 0.5 + 1.0
    return out


def load_settings_{i}(path):
    """The stage's settings, read from a JSON file."""
    with open(path) as fh:
        return json.load(fh)


def fetch_remote_{i}(url):
    """The decoded JSON body at `url` (five seconds at most)."""
    response = {client}.get(url, timeout=5)
    return response.json()


class Stage{i}:
    """Stage {i}: scores and ranks the frames of each batch it is given.

    A stage keeps a cache of fetched values and the results of finished tasks, and
    hands its peer (the stage before it) the same configuration.
    """

    def __init__(self, config):
        self.config = config
        self.peer = Stage{a}(config) if {i} != {a} else None
        self.lock = threading.Lock()
        self.cache = {{}}
        self.results = {{}}
        self.done = threading.Event()

    async def run(self, batch):
        """Runs the stage on one batch: its score plus its rank plus the settings' size."""
{run}
        return first + second + len(settings)

    def transform_all(self, batch):
        return [tx(f) for f in batch]

    async def score(self, frames):
        await asyncio.sleep(0)
        return helper_{i}([len(f) for f in frames])

    async def rank(self, frames):
        values = sorted(len(f) for f in frames)
        return values[0] if values else 0

    async def guarded(self, key, fetch):
        # The cache is shared with the sync entry points, hence the thread lock.
{guarded}

    async def bounded(self, key):
        try:
            return await asyncio.wait_for(self.score([key]), timeout=2)
        except asyncio.CancelledError:
            logger.warning("stage {i} cancelled")
            raise

    def wait_for_result(self, task_id, timeout):
        """The result of `task_id`, waiting at most `timeout` seconds for it."""
{wait}

    async def offloaded(self, path):
        return await asyncio.to_thread(load_settings_{i}, path)

    def sync_entry(self, items):
        return peer_b.helper_{b}(items) + helper_{i}(items)

    async def remote(self, url):
{remote}
"#
    )
}

/// A module's tests, in proportion: over 34 real async Python projects a median 39% of the
/// lines are in tests (which perfgate's rules, like the benchmark rules' readers, skip the
/// bodies of), and a third of the rest are comments, docstrings and blank lines.
fn python_tests(i: usize) -> String {
    format!(
        r#""""Tests for svc.m{i}."""
import asyncio
from unittest import mock

import pytest

from svc import m{i}
from svc.m{i} import Stage{i}, helper_{i}, transform_{i}


@pytest.fixture
def stage(tmp_path):
    path = tmp_path / "settings.json"
    path.write_text('{{"retries": 3}}')
    return Stage{i}({{"path": str(path)}})


def test_helper_doubles_the_items():
    assert helper_{i}([1, 2, 3], depth=3) == 12


def test_transform_rescales_every_pixel():
    frame = [[2.0] * m{i}.SIZE for _ in range(m{i}.SIZE)]
    out = transform_{i}(frame)
    assert len(out) == m{i}.SIZE
    assert all(value == 2.0 for row in out for value in row)


def test_load_settings_reads_json(stage):
    assert m{i}.load_settings_{i}(stage.config["path"]) == {{"retries": 3}}


@pytest.mark.asyncio
async def test_run_adds_score_rank_and_settings(stage):
    frame = [[1.0] * m{i}.SIZE for _ in range(m{i}.SIZE)]
    assert await stage.run([frame]) >= 1


@pytest.mark.asyncio
async def test_guarded_caches_the_fetched_value(stage):
    async def fetch(key):
        await asyncio.sleep(0)
        return key * 2

    await stage.guarded(21, fetch)
    assert stage.cache[21] == 42


@pytest.mark.asyncio
async def test_bounded_passes_cancellation_on(stage):
    with mock.patch.object(stage, "score", side_effect=asyncio.CancelledError):
        with pytest.raises(asyncio.CancelledError):
            await stage.bounded("k")


def test_wait_for_result_gives_up_after_the_timeout(stage):
    with pytest.raises(TimeoutError):
        stage.wait_for_result("missing", timeout=0.01)


@pytest.mark.asyncio
async def test_remote_returns_the_decoded_body(stage):
    with mock.patch.object(m{i}, "fetch_remote_{i}", return_value={{"ok": True}}):
        assert await stage.remote("http://example") == {{"ok": True}}


@pytest.mark.parametrize("items", [[], [1], [1, 2, 3]])
def test_sync_entry_is_deterministic(stage, items):
    assert stage.sync_entry(items) == stage.sync_entry(list(items))
"#
    )
}

fn rust_module(i: usize, n: usize, defective: bool) -> String {
    let [a, b, c] = others(i, n);
    let (run, guarded, timeout, wait) = if defective {
        (
            format!(
                r#"        let settings = load_settings_{i}("settings.toml");
        let frames: Vec<Vec<f32>> = batch.iter().map(|f| tx(f)).collect();
        let first = self.score(&frames).await;
        let second = self.rank(&frames).await;"#
            ),
            r#"        let mut state = self.state.lock().unwrap();
        state.push(value);
        self.notify(value).await;"#,
            "",
            r#"        while self.state.lock().unwrap().is_empty() {
            std::thread::sleep(Duration::from_millis(10));
        }"#,
        )
    } else {
        (
            r#"        let settings = tokio::fs::read_to_string("settings.toml").await.unwrap_or_default();
        let batch = batch.to_vec();
        let frames: Vec<Vec<f32>> =
            tokio::task::spawn_blocking(move || batch.iter().map(|f| tx(f)).collect())
                .await
                .unwrap_or_default();
        let (first, second) = tokio::join!(self.score(&frames), self.rank(&frames));"#
                .to_owned(),
            r#"        self.state.lock().unwrap().push(value);
        self.notify(value).await;"#,
            ".timeout(Duration::from_secs(2))",
            r#"        let mut state = self.state.lock().unwrap();
        while state.is_empty() {
            state = self.ready.wait(state).unwrap();
        }"#,
        )
    };
    format!(
        r#"//! Module {i}: stage {i} of the service.
use crate::m{a}::{{helper_{a}, Stage{a}}};
use crate::m{b} as peer_b;
use crate::m{c}::transform_{c} as tx;
use std::sync::{{Arc, Condvar, Mutex}};
use std::time::Duration;

const SIDE: usize = 64;

/// Twice the sum of `items`, plus what the earlier stages make of them.
pub fn helper_{i}(items: &[u32], depth: u32) -> u64 {{
    let mut total = 0u64;
    for item in items {{
        total += u64::from(*item) * 2;
    }}
    if depth < 3 {{
        total += helper_{a}(items, depth + 1);
    }}
    total
}}

/// Rescales a `SIDE` x `SIDE` frame into [1.0, 1.5], pixel by pixel.
///
/// Frames arrive row by row from the decoder; the result is a new frame.
pub fn transform_{i}(frame: &[f32]) -> Vec<f32> {{
    let mut out = vec![0.0; SIDE * SIDE];
    for y in 0..SIDE {{
        for x in 0..SIDE {{
            out[y * SIDE + x] = frame[y * SIDE + x] * 0.5 + 1.0;
        }}
    }}
    out
}}

/// The stage's settings file, empty if it cannot be read.
pub fn load_settings_{i}(path: &str) -> String {{
    std::fs::read_to_string(path).unwrap_or_default()
}}

/// Stage {i}: scores and ranks the frames of each batch it is given.
///
/// A stage keeps the values it was told of, and notifies its peer of each.
pub struct Stage{i} {{
    peer: Option<Arc<Stage{a}>>,
    state: Mutex<Vec<u64>>,
    ready: Condvar,
    http: reqwest::Client,
}}

impl Stage{i} {{
    pub fn new() -> Self {{
        Stage{i} {{
            peer: None,
            state: Mutex::new(Vec::new()),
            ready: Condvar::new(),
            http: reqwest::Client::new(),
        }}
    }}

    /// Runs the stage on one batch: its score plus its rank plus the settings' size.
    pub async fn run(&self, batch: &[Vec<f32>]) -> u64 {{
{run}
        first + second + settings.len() as u64
    }}

    async fn score(&self, frames: &[Vec<f32>]) -> u64 {{
        tokio::time::sleep(Duration::from_millis(0)).await;
        helper_{i}(&frames.iter().map(|f| f.len() as u32).collect::<Vec<_>>(), 0)
    }}

    async fn rank(&self, frames: &[Vec<f32>]) -> u64 {{
        frames.iter().map(|f| f.len() as u64).min().unwrap_or(0)
    }}

    /// Records `value` and tells the peer service about it.
    pub async fn guarded(&self, value: u64) {{
{guarded}
    }}

    async fn notify(&self, value: u64) {{
        let _ = self.http.get(format!("http://peer/{{value}}")){timeout}.send().await;
    }}

    pub async fn bounded(&self) -> Option<u64> {{
        match tokio::time::timeout(Duration::from_secs(2), self.score(&[])).await {{
            Ok(v) => Some(v),
            Err(_) => None,
        }}
    }}

    pub fn wait_ready(&self) {{
{wait}
    }}

    pub async fn offloaded(&self) -> String {{
        tokio::task::spawn_blocking(|| load_settings_{i}("x")).await.unwrap()
    }}

    pub fn sync_entry(&self, items: &[u32]) -> u64 {{
        peer_b::helper_{b}(items, 0) + helper_{i}(items, 0)
    }}
}}

#[cfg(test)]
mod tests {{
    use super::*;

    #[test]
    fn helper_doubles_the_items() {{
        assert_eq!(helper_{i}(&[1, 2, 3], 3), 12);
    }}

    #[test]
    fn transform_rescales_every_pixel() {{
        let frame = vec![2.0; SIDE * SIDE];
        let out = transform_{i}(&frame);
        assert_eq!(out.len(), SIDE * SIDE);
        assert!(out.iter().all(|v| (*v - 2.0).abs() < f32::EPSILON));
    }}

    #[test]
    fn missing_settings_read_as_empty() {{
        assert!(load_settings_{i}("/nonexistent/settings.toml").is_empty());
    }}

    #[tokio::test]
    async fn run_adds_score_rank_and_settings() {{
        let stage = Stage{i}::new();
        let frame = vec![1.0; SIDE * SIDE];
        assert!(stage.run(&[frame]).await >= 1);
    }}

    #[tokio::test]
    async fn bounded_scores_an_empty_batch() {{
        let stage = Stage{i}::new();
        assert_eq!(stage.bounded().await, Some(0));
    }}

    #[test]
    fn sync_entry_is_deterministic() {{
        let stage = Stage{i}::new();
        for items in [&[][..], &[1], &[1, 2, 3]] {{
            assert_eq!(stage.sync_entry(items), stage.sync_entry(items));
        }}
    }}
}}
"#
    )
}
