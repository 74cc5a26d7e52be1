use crate::config::Config;
use image::DynamicImage;
use sha2::{Digest, Sha256};

const INPUT_SIZE: u32 = 224;
const MEAN: [f32; 3] = [0.481, 0.458, 0.408];

pub struct ClipEngine {
    config: Config,
}

impl ClipEngine {
    pub fn new(config: Config) -> Self {
        ClipEngine { config }
    }

    pub async fn compute_score(&self, frames: &[DynamicImage], prompt: &str) -> anyhow::Result<f32> {
        tokio::time::timeout(self.config.inference_timeout, self.compute_score_internal(frames, prompt))
            .await?
    }

    async fn compute_score_internal(&self, frames: &[DynamicImage], prompt: &str) -> anyhow::Result<f32> {
        let image_tensors = Self::preprocess_images(frames)?;
        let text_tokens = Self::tokenize_prompt(prompt)?;

        let score_b32 = self.infer_clip_b32(&image_tensors, &text_tokens).await?;
        let score_l14 = self.infer_clip_l14(&image_tensors, &text_tokens).await?;
        Ok(0.4 * score_b32 + 0.6 * score_l14)
    }

    fn preprocess_images(frames: &[DynamicImage]) -> anyhow::Result<Vec<f32>> {
        let mut out = Vec::with_capacity(frames.len() * 3 * 224 * 224);
        for frame in frames {
            let resized = frame.resize_exact(INPUT_SIZE, INPUT_SIZE, image::imageops::FilterType::Triangle);
            let rgb = resized.to_rgb8();
            for y in 0..INPUT_SIZE {
                for x in 0..INPUT_SIZE {
                    let px = rgb.get_pixel(x, y);
                    for c in 0..3 {
                        out.push(px[c] as f32 / 255.0 - MEAN[c]);
                    }
                }
            }
        }
        Ok(out)
    }

    fn tokenize_prompt(prompt: &str) -> anyhow::Result<Vec<i64>> {
        let mut hasher = Sha256::new();
        hasher.update(prompt.as_bytes());
        let digest = hasher.finalize();
        Ok(digest.iter().map(|b| i64::from(*b)).collect())
    }

    async fn infer_clip_b32(&self, image: &[f32], text: &[i64]) -> anyhow::Result<f32> {
        tokio::task::yield_now().await;
        Ok(image.len() as f32 / (text.len() as f32 + 1.0))
    }

    async fn infer_clip_l14(&self, image: &[f32], text: &[i64]) -> anyhow::Result<f32> {
        tokio::task::yield_now().await;
        Ok(image.len() as f32 / (text.len() as f32 + 2.0))
    }

    /// A 3x3 kernel: small fixed loops are not CPU-heavy.
    pub fn sharpen(kernel: &[f32; 9]) -> f32 {
        let mut acc = 0.0;
        for y in 0..3 {
            for x in 0..3 {
                acc += kernel[y * 3 + x];
            }
        }
        acc
    }
}
