"""The running config: its one owner. Services read it at call time, so a reload takes effect."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from bot.config.load import load_config, resolve_config_path
from bot.config.model import Config

log = logging.getLogger(__name__)


class LiveConfig:
    def __init__(self, config: Config) -> None:
        self._config = config
        self._path = config.source

    def current(self) -> Config:
        return self._config

    @property
    def path(self) -> Path | None:
        """The file a reload reads; None: built-in defaults."""
        return self._path

    def reload(self, env: Mapping[str, str], cwd: Path) -> Config:
        """Re-read the file and make it current; ConfigError when it does not validate, and then
        nothing changes. The database path only changes with a restart."""
        if self._path is None:  # started on built-in defaults: a config.toml created since counts
            self._path = resolve_config_path(None, env, cwd)
        fresh = load_config(self._path, env)
        if fresh.database != self._config.database:
            log.warning("reload: [database] changes only take effect after a restart")
            fresh = replace(fresh, database=self._config.database)
        self._config = fresh
        return fresh
