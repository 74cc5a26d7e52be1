//! A generated, realistic corpus for benchmarks: async services and pipelines with deep and
//! wide call graphs across modules (each module calls into the previous one and into two
//! others), loops, locks, handlers and comprehensions. Deterministic for a given size.

/// `(relative path, source)` pairs.
pub type Files = Vec<(String, String)>;

/// `modules` Python modules and `modules` Rust modules.
pub fn generate(modules: usize) -> (Files, Files) {
    let py = (0..modules)
        .map(|i| (format!("svc/m{i}.py"), python_module(i, modules)))
        .collect();
    let rs = (0..modules)
        .map(|i| (format!("svc/src/m{i}.rs"), rust_module(i, modules)))
        .collect();
    (py, rs)
}

fn others(i: usize, n: usize) -> [usize; 3] {
    let prev = if i == 0 { 0 } else { i - 1 };
    [prev, (i * 7 + 3) % n.max(1), (i * 13 + 5) % n.max(1)]
}

fn python_module(i: usize, n: usize) -> String {
    let [a, b, c] = others(i, n);
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
SIZE = 64
RETRIES = 3


def helper_{i}(items, depth=0):
    total = 0
    for item in items:
        total += item * 2
    if depth < 3:
        total += helper_{a}(items, depth + 1)
    return total


def transform_{i}(frame):
    out = [[0.0] * SIZE for _ in range(SIZE)]
    for y in range(SIZE):
        for x in range(SIZE):
            out[y][x] = frame[y][x] * 0.5 + 1.0
    return out


def load_settings_{i}(path):
    with open(path) as fh:
        return json.load(fh)


def fetch_remote_{i}(url):
    response = requests.get(url, timeout=5)
    return response.json()


class Stage{i}:
    def __init__(self, config):
        self.config = config
        self.peer = Stage{a}(config) if {i} != {a} else None
        self.lock = threading.Lock()
        self.cache = {{}}
        self.results = {{}}

    async def run(self, batch):
        settings = load_settings_{i}(self.config["path"])
        frames = [tx(f) for f in batch]
        first = await self.score(frames)
        second = await self.rank(frames)
        return first + second + len(settings)

    async def score(self, frames):
        await asyncio.sleep(0)
        return helper_{i}([len(f) for f in frames])

    async def rank(self, frames):
        values = sorted(len(f) for f in frames)
        return values[0] if values else 0

    async def guarded(self, key, fetch):
        with self.lock:
            self.cache[key] = await fetch(key)

    async def bounded(self, key):
        try:
            return await asyncio.wait_for(self.score([key]), timeout=2)
        except asyncio.CancelledError:
            logger.warning("stage {i} cancelled")
            raise

    def wait_for_result(self, task_id, timeout):
        start = time.time()
        while time.time() - start < timeout:
            if task_id in self.results:
                return self.results[task_id]
            time.sleep(0.01)
        raise TimeoutError(task_id)

    async def offloaded(self, path):
        return await asyncio.to_thread(load_settings_{i}, path)

    def sync_entry(self, items):
        return peer_b.helper_{b}(items) + helper_{i}(items)

    async def remote(self, url):
        return fetch_remote_{i}(url)
"#
    )
}

fn rust_module(i: usize, n: usize) -> String {
    let [a, b, c] = others(i, n);
    format!(
        r#"//! Module {i}: stage {i} of the service.
use crate::m{a}::{{helper_{a}, Stage{a}}};
use crate::m{b} as peer_b;
use crate::m{c}::transform_{c} as tx;
use std::sync::{{Arc, Mutex}};
use std::time::Duration;

const SIDE: usize = 64;

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

pub fn transform_{i}(frame: &[f32]) -> Vec<f32> {{
    let mut out = vec![0.0; SIDE * SIDE];
    for y in 0..SIDE {{
        for x in 0..SIDE {{
            out[y * SIDE + x] = frame[y * SIDE + x] * 0.5 + 1.0;
        }}
    }}
    out
}}

pub fn load_settings_{i}(path: &str) -> String {{
    std::fs::read_to_string(path).unwrap_or_default()
}}

pub struct Stage{i} {{
    peer: Option<Arc<Stage{a}>>,
    state: Mutex<Vec<u64>>,
    http: reqwest::Client,
}}

impl Stage{i} {{
    pub fn new() -> Self {{
        Stage{i} {{ peer: None, state: Mutex::new(Vec::new()), http: reqwest::Client::new() }}
    }}

    pub async fn run(&self, batch: &[Vec<f32>]) -> u64 {{
        let settings = load_settings_{i}("settings.toml");
        let frames: Vec<Vec<f32>> = batch.iter().map(|f| tx(f)).collect();
        let first = self.score(&frames).await;
        let second = self.rank(&frames).await;
        first + second + settings.len() as u64
    }}

    async fn score(&self, frames: &[Vec<f32>]) -> u64 {{
        tokio::time::sleep(Duration::from_millis(0)).await;
        helper_{i}(&frames.iter().map(|f| f.len() as u32).collect::<Vec<_>>(), 0)
    }}

    async fn rank(&self, frames: &[Vec<f32>]) -> u64 {{
        frames.iter().map(|f| f.len() as u64).min().unwrap_or(0)
    }}

    pub async fn guarded(&self, value: u64) {{
        let mut state = self.state.lock().unwrap();
        state.push(value);
        self.notify(value).await;
    }}

    async fn notify(&self, value: u64) {{
        let _ = self.http.get(format!("http://peer/{{value}}")).send().await;
    }}

    pub async fn bounded(&self) -> Option<u64> {{
        match tokio::time::timeout(Duration::from_secs(2), self.score(&[])).await {{
            Ok(v) => Some(v),
            Err(_) => None,
        }}
    }}

    pub fn wait_ready(&self) {{
        while self.state.lock().unwrap().is_empty() {{
            std::thread::sleep(Duration::from_millis(10));
        }}
    }}

    pub async fn offloaded(&self) -> String {{
        tokio::task::spawn_blocking(|| load_settings_{i}("x")).await.unwrap()
    }}

    pub fn sync_entry(&self, items: &[u32]) -> u64 {{
        peer_b::helper_{b}(items, 0) + helper_{i}(items, 0)
    }}
}}
"#
    )
}
