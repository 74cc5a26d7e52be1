mod chain_client;
mod clip_engine;
mod config;
mod video_decoder;

use std::path::Path;
use std::sync::Arc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cfg = config::Config::load(Path::new("validator.toml"))?;
    let engine = Arc::new(clip_engine::ClipEngine::new(cfg.clone()));
    let decoder = video_decoder::VideoDecoder::new(5);
    let chain = chain_client::ChainClient::new(&cfg.chain_endpoint);

    for challenge in chain.pending_challenges().await? {
        let frames = decoder.extract_from_file(Path::new(&challenge.video_path)).await?;
        let score = engine.compute_score(&frames, &challenge.prompt).await?;
        chain.submit_score(challenge.id, score).await?;
    }
    Ok(())
}
