import asyncio
import time
from concurrent.futures import ThreadPoolExecutor


class Coordinator:
    def __init__(self):
        self.results = {}
        self.executor = ThreadPoolExecutor(max_workers=4)

    def get_result(self, task_id, timeout):
        start = time.time()
        while time.time() - start < timeout:
            if task_id in self.results:
                return self.results[task_id]
            time.sleep(0.001)
        raise TimeoutError(task_id)

    def submit_and_wait(self, task):
        future = self.executor.submit(self.execute, task)
        return future.result()

    def execute(self, task):
        return {"task": task, "status": "done"}

    async def handle(self, task):
        return self.submit_and_wait(task)

    async def handle_offloaded(self, task):
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, self.execute, task)
