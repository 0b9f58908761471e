"""What a parse worker process runs (started by bot.ingest.pool): each request is a pickled
module-level function and its arguments; each answer its bytes, in order. It imports the parser
and nothing of the pool's side (its futures and feeder threads)."""

from __future__ import annotations

import contextlib
import os
import pickle
import queue
import threading

import bot.ingest.workers  # noqa: F401  # the parser, imported before the worker says it is ready
from bot.ingest.pipes import OK, RAISED, child_streams, read_message, write_message


def serve() -> None:
    """A worker's main loop: parse each chunk it is sent, answer in order, end at EOF."""
    stream, answers = child_streams()
    with contextlib.suppress(OSError, AttributeError):  # AttributeError: no os.nice (Windows)
        os.nice(10)  # the bot's event loop and its single writer keep their core
    requests: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()

    def read_requests() -> None:  # drains stdin always, so the bot never blocks writing
        try:
            while True:
                requests.put(read_message(stream))
        except (OSError, EOFError):
            requests.put(None)

    threading.Thread(target=read_requests, name="requests", daemon=True).start()
    with contextlib.suppress(BrokenPipeError):  # the bot is gone: so are its answers
        write_message(answers, b"")
        while (request := requests.get()) is not None:
            write_message(answers, _answer(request))


def _answer(request: bytes) -> bytes:
    """A request's answer: its function's bytes, or the error it raised (as the caller's)."""
    try:
        function, args = pickle.loads(request)
        answer: bytes = function(*args)
        return OK + answer
    except Exception as exc:
        error = RuntimeError(f"{type(exc).__name__}: {exc}")
        return RAISED + pickle.dumps(error, pickle.HIGHEST_PROTOCOL)
