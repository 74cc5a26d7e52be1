use std::path::Path;
use std::time::Duration;

#[derive(Clone, Debug)]
pub struct Config {
    pub chain_endpoint: String,
    pub inference_timeout: Duration,
}

impl Config {
    /// Runs once at start-up, before the runtime serves anything: blocking I/O is fine here.
    pub fn load(path: &Path) -> anyhow::Result<Config> {
        let text = std::fs::read_to_string(path)?;
        let endpoint = text.lines().next().unwrap_or("http://localhost:9944").to_owned();
        Ok(Config {
            chain_endpoint: endpoint,
            inference_timeout: default_inference_timeout(),
        })
    }
}

pub fn default_inference_timeout() -> Duration {
    Duration::from_secs(5)
}
