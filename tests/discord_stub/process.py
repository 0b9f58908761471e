"""Run the real bot (`python -m bot run`) as a subprocess against a DiscordStub."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import os
import re
import signal
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

from .server import DiscordStub

ROOT = Path(__file__).resolve().parents[2]
INGEST_DONE = r"ingest: \d+ added"  # the summary line the bot logs after every ingest


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str | Path):
        return json.dumps(str(value))
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return (
            "{ " + ", ".join(f"{json.dumps(k)} = {_toml_value(v)}" for k, v in value.items()) + " }"
        )
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def to_toml(data: dict[str, Any]) -> str:
    """A small TOML writer: top-level tables, array-of-tables for lists of dicts, inline tables
    for dicts nested deeper."""
    lines: list[str] = []
    for table, body in data.items():
        if isinstance(body, list) and body and all(isinstance(x, dict) for x in body):
            for item in body:
                lines.append(f"[[{table}]]")
                lines.extend(f"{json.dumps(k)} = {_toml_value(v)}" for k, v in item.items())
                lines.append("")
            continue
        if not isinstance(body, dict):
            raise TypeError(f"top-level key {table!r} must be a table")
        lines.append(f"[{table}]")
        tables: list[tuple[str, list[dict[str, Any]]]] = []
        for key, value in body.items():
            if isinstance(value, list) and value and all(isinstance(x, dict) for x in value):
                tables.append((key, value))
            else:
                lines.append(f"{json.dumps(key)} = {_toml_value(value)}")
        lines.append("")
        for key, items in tables:
            for item in items:
                lines.append(f"[[{table}.{key}]]")
                lines.extend(f"{json.dumps(k)} = {_toml_value(v)}" for k, v in item.items())
                lines.append("")
    return "\n".join(lines)


def deep_merge(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


class NewsbotProcess:
    """`newsbot run --config <tmp>/config.toml` in a subprocess, pointed at `stub`.

    start() returns once the stub sent READY to the new process and commands are registered.
    The combined stdout/stderr is kept in `.log` (and `<tmp>/newsbot.log`)."""

    def __init__(self, stub: DiscordStub, tmp_path: Path, *, token: str | None = None) -> None:
        self.stub = stub
        self.tmp_path = tmp_path
        self.token = token or stub.token or "stub-token"
        self.config_path = tmp_path / "config.toml"
        self.db_path = tmp_path / "newsbot.sqlite3"
        self.articles_dir = tmp_path / "articles"
        self.log_path = tmp_path / "newsbot.log"
        self.config: dict[str, Any] = {}
        self.proc: asyncio.subprocess.Process | None = None
        self._lines: list[str] = []
        self._reader: asyncio.Task[None] | None = None
        self._overrides: dict[str, Any] = {}
        self._args: tuple[str, ...] = ()
        self.starts = 0

    # ----- config -----
    def default_config(self) -> dict[str, Any]:
        return {
            "discord": {
                "token": "unused",
                "guild_ids": list(self.stub.guilds),
                "owner_ids": [self.stub.owner.id],
            },
            "database": {"path": str(self.db_path)},
            "ingest": {"paths": [str(self.articles_dir)], "interval_minutes": 60},
            "digest": {"max_age_days": 0},  # the seeds and test articles are years old
            "logging": {"level": "DEBUG"},
        }

    def write_config(self, overrides: dict[str, Any] | None = None) -> Path:
        self.config = deep_merge(self.default_config(), overrides or {})
        self.config_path.write_text(to_toml(self.config), encoding="utf-8")
        return self.config_path

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k != "NEWSBOT_CONFIG"}
        env.update(
            DISCORD_TOKEN=self.token,
            DISCORD_API_BASE=self.stub.url,
            DISCORD_GATEWAY_URL=self.stub.gateway_url,
            PYTHONUNBUFFERED="1",
        )
        return env

    # ----- log -----
    @property
    def log(self) -> str:
        return "".join(self._lines)

    async def wait_for_log(self, pattern: str, timeout: float = 10.0) -> re.Match[str]:  # noqa: ASYNC109
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            m = rx.search(self.log)
            if m:
                return m
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"no log line matching {pattern!r} within {timeout}s:\n{self.log}"
                )
            await asyncio.sleep(0.05)

    def ingests(self) -> int:
        """How many ingests the bot finished, over all starts (one at each start-up)."""
        return len(re.findall(INGEST_DONE, self.log))

    async def wait_for_ingests(self, count: int, timeout: float = 30.0) -> None:  # noqa: ASYNC109
        """Until the log holds `count` finished ingests, over all starts."""
        await self.wait_for_log(rf"(?s)(?:{INGEST_DONE}.*){{{count}}}", timeout)

    # ----- database -----
    def query(self, sql: str, *params: object) -> list[tuple[Any, ...]]:
        """Rows of a query on the bot's database, read beside the running bot."""
        with contextlib.closing(sqlite3.connect(self.db_path)) as conn:
            return conn.execute(sql, params).fetchall()

    async def _read(self, stream: asyncio.StreamReader) -> None:
        with self.log_path.open("a", encoding="utf-8") as fh:
            while True:
                line = await stream.readline()
                if not line:
                    return
                text = line.decode("utf-8", "replace")
                self._lines.append(text)
                fh.write(text)
                fh.flush()

    # ----- lifecycle -----
    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.returncode is None

    @property
    def returncode(self) -> int | None:
        return None if self.proc is None else self.proc.returncode

    async def start(
        self,
        config_overrides: dict[str, Any] | None = None,
        articles_dir: Path | str | None = None,
        *,
        timeout: float = 30.0,  # noqa: ASYNC109
        wait: bool = True,
        ingested: bool = False,
        extra_env: dict[str, str] | None = None,
        args: tuple[str, ...] | None = None,
    ) -> NewsbotProcess:
        """With `wait`, returns once connected; with `ingested` too, once the start-up ingest
        is done. `args`: more `newsbot run` arguments (`--shard-count`), kept for restarts."""
        if self.running:
            raise RuntimeError("newsbot is already running")
        if config_overrides is not None:
            self._overrides = config_overrides
        if articles_dir is not None:
            self.articles_dir = Path(articles_dir)
        if args is not None:
            self._args = args
        self.articles_dir.mkdir(parents=True, exist_ok=True)
        self.write_config(self._overrides)
        ready_before = self.stub.gateway.ready_count
        ingests_before = self.ingests()
        env = self.env()
        env.update(extra_env or {})
        self._lines.append(f"----- newsbot start #{self.starts + 1} -----\n")
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            "--config",
            str(self.config_path),
            *self._args,
            cwd=str(ROOT),
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )
        self.starts += 1
        assert self.proc.stdout is not None
        self._reader = asyncio.create_task(self._read(self.proc.stdout))
        if wait:
            await self.wait_connected(ready_before, timeout)
        if ingested:
            await self.wait_for_ingests(ingests_before + 1, timeout)
        return self

    async def wait_connected(self, ready_before: int, timeout: float = 30.0) -> None:  # noqa: ASYNC109
        """Until the stub sent READY to this process and commands are registered."""
        deadline = time.monotonic() + timeout
        stub = self.stub
        while True:
            ready = stub.gateway.ready_count > ready_before
            synced = any(stub.commands(g) for g in [None, *stub.guilds])
            if ready and synced:
                return
            if not self.running:
                await self._drain()
                raise RuntimeError(
                    f"newsbot exited with code {self.returncode} before connecting:\n{self.log}"
                )
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"newsbot not connected within {timeout}s (ready={ready}, synced={synced}):"
                    f"\n{self.log}"
                )
            await asyncio.sleep(0.05)

    async def _drain(self) -> None:
        if self._reader is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._reader, 5)

    async def _signal(self, sig: int) -> None:
        if self.running:
            assert self.proc is not None
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(sig)

    async def stop(self, timeout: float = 10.0) -> int | None:  # noqa: ASYNC109
        """SIGTERM, then SIGKILL after `timeout`. Returns the exit code."""
        if self.proc is None:
            return None
        await self._signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self.proc.wait(), timeout)
        except TimeoutError:
            self._lines.append(f"----- newsbot ignored SIGTERM for {timeout}s; killing -----\n")
            await self._signal(signal.SIGKILL)
            await self.proc.wait()
        await self._drain()
        return self.proc.returncode

    async def kill(self) -> int | None:
        """SIGKILL: a crash, no clean shutdown."""
        if self.proc is None:
            return None
        await self._signal(signal.SIGKILL)
        await self.proc.wait()
        await self._drain()
        return self.proc.returncode

    async def restart(self, *, kill: bool = False, **kwargs: Any) -> NewsbotProcess:
        await (self.kill() if kill else self.stop())
        return await self.start(**kwargs)
