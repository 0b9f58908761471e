"""The worker processes as an Executor (what feeds parse in): results, errors, nothing left."""

from __future__ import annotations

import asyncio
import math
import os

import pytest

from bot.ingest.pool import ProcessExecutor


def test_results_and_errors_come_back_and_the_workers_end() -> None:
    executor = ProcessExecutor(2)
    pids = list(executor._pool.pids)
    try:
        assert executor.submit(math.factorial, 20).result(timeout=30) == math.factorial(20)
        with pytest.raises(RuntimeError, match="ValueError"):
            executor.submit(int, "not a number").result(timeout=30)
        # an error does not break the pool
        assert executor.submit(sorted, [3, 1, 2]).result(timeout=30) == [1, 2, 3]
    finally:
        executor.shutdown()
    for pid in pids:
        with pytest.raises(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)  # reaped: no worker outlives the executor


async def test_it_serves_run_in_executor() -> None:
    executor = ProcessExecutor(1)
    try:
        loop = asyncio.get_running_loop()
        assert await loop.run_in_executor(executor, max, 4, 9) == 9
    finally:
        executor.shutdown()
