import asyncio
import logging
import time

import aiohttp
import redis.asyncio as aioredis
import torch

from .manifest import model_versions, read_local_manifest
from .preprocess import normalize_frame

logger = logging.getLogger(__name__)


class VortexPipeline:
    def __init__(self, config):
        self.config = config
        self.session = aiohttp.ClientSession()
        self.cache = aioredis.Redis(host=config["cache_host"])
        self.audio_buffer = torch.zeros(48000 * 45, device="cuda")
        self.mean = [0.48, 0.45, 0.40]
        self.std = [0.26, 0.26, 0.27]
        self.results = {}

    async def generate_slot(self, slot_id, recipe):
        versions = model_versions()
        try:
            audio = await asyncio.wait_for(self._generate_audio(recipe), timeout=3)
            actor = await asyncio.wait_for(self._generate_actor(recipe), timeout=15)
        except asyncio.CancelledError:
            logger.warning("slot %s generation cancelled", slot_id)
            raise
        result = {"audio": audio, "actor": actor, "versions": versions}
        self.results[slot_id] = result
        return result

    def loudness(self, clips):
        levels = []
        for clip in clips:
            levels.append(clip.abs().mean().item())
        return levels

    async def _generate_audio(self, recipe):
        await asyncio.sleep(0.1)
        return self.audio_buffer.clone()

    async def _generate_actor(self, recipe):
        frame = recipe["reference_frame"]
        tensor = normalize_frame(frame, self.mean, self.std)
        return torch.from_numpy(tensor).cuda()

    async def upload(self, slot):
        async with self.session.post(self.config["upload_url"], json=slot) as resp:
            return await resp.json()

    async def cached_recipe(self, slot_id):
        return await self.cache.get(f"recipe:{slot_id}")

    async def load_overrides(self, path):
        # Correct idiom: blocking file read moved off the event loop.
        return await asyncio.to_thread(read_local_manifest, path)

    async def wait_ready(self, flag):
        while not flag.is_set():
            time.sleep(0.05)


class SafePipeline(VortexPipeline):
    async def generate_slot(self, slot_id, recipe):
        try:
            return await asyncio.wait_for(self._generate_audio(recipe), timeout=3)
        except asyncio.CancelledError:
            torch.cuda.synchronize()
            raise
