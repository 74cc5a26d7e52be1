use image::DynamicImage;
use std::path::Path;

pub struct VideoDecoder {
    keyframe_count: usize,
}

impl VideoDecoder {
    pub fn new(keyframe_count: usize) -> Self {
        VideoDecoder { keyframe_count }
    }

    pub async fn extract_from_file(&self, path: &Path) -> anyhow::Result<Vec<DynamicImage>> {
        let video_data = std::fs::read(path)?;
        self.extract_keyframes(&video_data).await
    }

    /// The correct idiom: file I/O through tokio::fs, decoding on the blocking pool.
    pub async fn extract_from_file_offloaded(&self, path: &Path) -> anyhow::Result<Vec<DynamicImage>> {
        let video_data = tokio::fs::read(path).await?;
        let n = self.keyframe_count;
        let frames = tokio::task::spawn_blocking(move || decode_all(&video_data, n)).await??;
        Ok(frames)
    }

    async fn extract_keyframes(&self, data: &[u8]) -> anyhow::Result<Vec<DynamicImage>> {
        decode_all(data, self.keyframe_count)
    }
}

fn decode_all(data: &[u8], n: usize) -> anyhow::Result<Vec<DynamicImage>> {
    let img = image::load_from_memory(data)?;
    Ok(vec![img; n])
}
