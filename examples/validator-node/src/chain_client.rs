use std::sync::Mutex;
use std::time::Duration;

pub struct Challenge {
    pub id: u64,
    pub video_path: String,
    pub prompt: String,
}

pub struct ChainClient {
    endpoint: String,
    http: reqwest::Client,
    submitted: Mutex<Vec<u64>>,
}

impl ChainClient {
    pub fn new(endpoint: &str) -> Self {
        ChainClient {
            endpoint: endpoint.to_owned(),
            http: reqwest::Client::new(),
            submitted: Mutex::new(Vec::new()),
        }
    }

    pub async fn pending_challenges(&self) -> anyhow::Result<Vec<Challenge>> {
        let url = format!("{}/challenges/pending", self.endpoint);
        let body = self.http.get(&url).send().await?.text().await?;
        Ok(parse_challenges(&body))
    }

    pub async fn submit_score(&self, id: u64, score: f32) -> anyhow::Result<()> {
        let mut submitted = self.submitted.lock().unwrap();
        submitted.push(id);
        let url = format!("{}/scores/{id}", self.endpoint);
        self.http
            .post(&url)
            .timeout(Duration::from_secs(2))
            .body(score.to_string())
            .send()
            .await?;
        Ok(())
    }

    /// The correct idiom: the guard is dropped before the await.
    pub async fn record_and_notify(&self, id: u64) -> anyhow::Result<()> {
        {
            let mut submitted = self.submitted.lock().unwrap();
            submitted.push(id);
        }
        let url = format!("{}/notify/{id}", self.endpoint);
        tokio::time::timeout(Duration::from_secs(2), self.http.post(&url).send()).await??;
        Ok(())
    }

    pub fn wait_until_synced(&self) {
        while !self.is_synced() {
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn is_synced(&self) -> bool {
        true
    }
}

fn parse_challenges(body: &str) -> Vec<Challenge> {
    body.lines()
        .enumerate()
        .map(|(i, l)| Challenge {
            id: i as u64,
            video_path: l.to_owned(),
            prompt: String::new(),
        })
        .collect()
}
