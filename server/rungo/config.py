"""The one configuration object: environment, working directory and cache location, built at the edge."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from rungo import fastpath


@dataclass(frozen=True, slots=True)
class Config:
    """Everything rungo reads from its surroundings, captured once and passed down."""

    env: Mapping[str, str]
    cwd: Path
    cache_dir: Path

    def child_env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """The environment every toolchain subprocess gets: never a toolchain switch."""
        env = dict(self.env)
        env["GOTOOLCHAIN"] = "local"
        if extra:
            env.update(extra)
        return env


def cache_dir_from(env: Mapping[str, str]) -> Path:
    """RUNGO_CACHE, else $XDG_CACHE_HOME/rungo, else ~/.cache/rungo."""
    return Path(fastpath.cache_dir_from(dict(env)))


def make_config(env: Mapping[str, str], cwd: Path) -> Config:
    return Config(env=dict(env), cwd=cwd, cache_dir=cache_dir_from(env))
