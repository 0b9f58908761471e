"""Worker processes for one ingest (or one feed fetch): plain child interpreters fed over pipes.

Not multiprocessing: its forkserver and resource tracker outlive the pool (~13 MB RSS each, idle,
for the life of the bot), and the forkserver first imports the bot's whole main module (~1 s).
A child here imports only the parser and ends when its stdin closes: at ``close()``, or when the
bot dies (the bot holds the only write end).
"""

from __future__ import annotations

import collections
import concurrent.futures
import os
import pickle
import queue
import subprocess
import threading
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from bot.ingest.pipes import (
    CLOSE_TIMEOUT_S,
    OK,
    end_child,
    pipe,
    read_message,
    start_child,
    write_message,
)
from bot.ingest.walk import FoundFile
from bot.ingest.workers import parse_pickled

_AHEAD = 2  # chunks sent to a worker before its first answer is read: it never waits for one

T = TypeVar("T")
Task = tuple[Callable[..., bytes], tuple[Any, ...]]  # a module-level function and its arguments


class ParsePool:
    """``count`` worker processes parsing chunks of files; ``submit`` returns a future of the
    chunk's parse_pickled bytes.

    Each worker has one thread here that sends it chunks (up to _AHEAD at a time) and reads its
    answers in order; the worker reads requests on a thread of its own, so neither side can
    block the other on a full pipe.
    """

    def __init__(self, count: int):
        self._tasks: queue.SimpleQueue[tuple[Task, concurrent.futures.Future[bytes]] | None]
        self._tasks = queue.SimpleQueue()
        self._workers: list[subprocess.Popen[bytes]] = []
        self._threads: list[threading.Thread] = []
        self._closed = False
        self._broken: RuntimeError | None = None
        try:
            for _ in range(count):
                self._workers.append(start_child("from bot.ingest.child import serve; serve()"))
            for worker in self._workers:
                read_message(pipe(worker.stdout))  # ready: imports done
                thread = threading.Thread(
                    target=self._feed, args=(worker,), name="parse-feeder", daemon=True
                )
                thread.start()
                self._threads.append(thread)
        except BaseException:
            self.close()
            raise

    @property
    def pids(self) -> list[int]:
        return [worker.pid for worker in self._workers]

    def submit(
        self, files: Sequence[FoundFile], max_bytes: int
    ) -> concurrent.futures.Future[bytes]:
        """A chunk of files parsed: parse_pickled's bytes."""
        return self.call(parse_pickled, files, max_bytes)

    def call(self, function: Callable[..., bytes], *args: Any) -> concurrent.futures.Future[bytes]:
        """``function(*args)`` in a worker (a module-level function, pickled by reference)."""
        future: concurrent.futures.Future[bytes] = concurrent.futures.Future()
        if self._closed or self._broken is not None:
            future.set_exception(self._broken or RuntimeError("the parse pool is closed"))
        else:
            self._tasks.put(((function, args), future))
        return future

    def close(self) -> None:
        """End the workers (their stdin closes) and fail what was not answered; idempotent."""
        if self._closed:
            return
        self._closed = True
        for _ in self._threads:
            self._tasks.put(None)
        for thread in self._threads:
            thread.join(CLOSE_TIMEOUT_S)
        for worker in self._workers:
            end_child(worker)
        while True:
            try:
                item = self._tasks.get_nowait()
            except queue.Empty:
                break
            if item is not None:
                item[1].cancel()

    def _feed(self, worker: subprocess.Popen[bytes]) -> None:
        """One worker's thread: send it chunks, read its answers, resolve their futures."""
        send, receive = pipe(worker.stdin), pipe(worker.stdout)
        waiting: collections.deque[concurrent.futures.Future[bytes]] = collections.deque()
        stopping = False
        try:
            while True:
                while not stopping and len(waiting) < _AHEAD:
                    try:
                        # Block for work only when the worker has none.
                        item = self._tasks.get(block=not waiting)
                    except queue.Empty:
                        break
                    if item is None:
                        stopping = True
                        break
                    task, future = item
                    if not future.set_running_or_notify_cancel():
                        continue
                    waiting.append(future)  # before sending: a dead worker fails it too
                    write_message(send, pickle.dumps(task, pickle.HIGHEST_PROTOCOL))
                if not waiting:
                    return
                answer = read_message(receive)
                if answer[:1] == OK:
                    waiting.popleft().set_result(answer[1:])
                else:
                    waiting.popleft().set_exception(pickle.loads(answer[1:]))
        except (OSError, EOFError, ValueError) as exc:  # ValueError: a pipe closed by close()
            error = RuntimeError(f"a parse worker stopped (exit code {worker.poll()}): {exc}")
            self._fail(error)
            for future in waiting:
                future.set_exception(error)

    def _fail(self, error: RuntimeError) -> None:
        """A worker is gone: fail what is queued and what comes, so no caller waits forever."""
        self._broken = error
        stops = 0
        while True:
            try:
                item = self._tasks.get_nowait()
            except queue.Empty:
                break
            if item is None:
                stops += 1  # close()'s, for the other threads
            elif item[1].set_running_or_notify_cancel():
                item[1].set_exception(error)
        for _ in range(stops):
            self._tasks.put(None)


def _pickled_result(function: Callable[..., object], args: tuple[Any, ...]) -> bytes:
    return pickle.dumps(function(*args), pickle.HIGHEST_PROTOCOL)


class ProcessExecutor(concurrent.futures.Executor):
    """An Executor over a pool of these workers, for work other than parsing files (a feed's
    body): no forkserver or resource tracker outlives it; shut it down after the work."""

    def __init__(self, count: int | None = None):
        self._pool = ParsePool(count or os.cpu_count() or 1)

    def submit(
        self, fn: Callable[..., T], /, *args: Any, **kwargs: Any
    ) -> concurrent.futures.Future[T]:
        if kwargs:
            raise TypeError("ProcessExecutor.submit takes positional arguments only")
        outer: concurrent.futures.Future[T] = concurrent.futures.Future()
        inner = self._pool.call(_pickled_result, fn, args)

        def settle(done: concurrent.futures.Future[bytes]) -> None:
            if not outer.set_running_or_notify_cancel():
                return
            error = done.exception() if not done.cancelled() else RuntimeError("cancelled")
            if error is not None:
                outer.set_exception(error)
            else:
                outer.set_result(pickle.loads(done.result()))

        inner.add_done_callback(settle)
        return outer

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self._pool.close()
