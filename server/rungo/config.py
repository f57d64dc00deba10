"""The one configuration object: environment, working directory and cache location, built at the edge."""

from __future__ import annotations

import os
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Mapping

from rungo import fastpath

if TYPE_CHECKING:
    from rungo.cache.remote.client import RemoteCache
    from rungo.cache.remote.settings import RemoteSettings
    from rungo.cache.tiered import TieredCache


@dataclass(frozen=True, slots=True)
class Config:
    """Everything rungo reads from its surroundings, captured once and passed down."""

    env: Mapping[str, str]
    cwd: Path
    cache_dir: Path
    remote: RemoteSettings | None = None

    def child_env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """The environment every toolchain subprocess gets: never a toolchain switch, and with a
        remote cache, rungo's cache as the go command's GOCACHEPROG (unless the user named one)."""
        env = dict(self.env)
        env["GOTOOLCHAIN"] = "local"
        if self.remote is not None and not env.get("GOCACHEPROG"):
            env.update(cacheprog_env(self.cache_dir, self.remote, env.get("PYTHONPATH", "")))
        if extra:
            env.update(extra)
        return env


def _quote(word: str) -> str:
    """One word of a GOCACHEPROG command line, quoted as cmd/internal/quoted.Split reads it."""
    if word and not any(c.isspace() or c in "'\"" for c in word):
        return word
    return f"'{word}'" if "'" not in word else f'"{word}"'


def cacheprog_env(cache_dir: Path, remote: RemoteSettings, path: str = "") -> dict[str, str]:
    """What makes the go command use rungo's cache (and its remote tier) as its GOCACHEPROG: this
    interpreter, finding this rungo first (`path` is the PYTHONPATH it had)."""
    import rungo

    source_root = os.path.dirname(os.path.dirname(os.path.abspath(rungo.__file__)))
    env = {"GOCACHEPROG": f"{_quote(sys.executable)} -m rungo cacheprog", "RUNGO_CACHE": str(cache_dir),
           "RUNGO_CACHEPROG_QUIET": "1",
           "PYTHONPATH": source_root + (os.pathsep + path if path else "")}
    env.update(remote.to_env())
    return env


_REMOTES: dict[tuple[RemoteSettings, str], RemoteCache] = {}
_REMOTES_LOCK = threading.Lock()


def open_store(config: Config) -> TieredCache:
    """The build cache for this configuration: local, with the remote tier when one is set. One
    remote client per remote and cache directory serves the whole process (its connection and its
    record of failures are kept)."""
    from rungo.cache.tiered import TieredCache

    if config.remote is None:
        return TieredCache(config.cache_dir)
    from rungo.cache.remote.client import RemoteCache

    key = (config.remote, str(config.cache_dir))
    with _REMOTES_LOCK:
        remote = _REMOTES.get(key)
        if remote is None:
            remote = _REMOTES[key] = RemoteCache(config.remote, str(config.cache_dir), config.env)
    return TieredCache(config.cache_dir, remote)


def hand_off_uploads() -> None:
    """Give the uploads every remote of this process still has pending to detached processes (the
    process is about to exit)."""
    with _REMOTES_LOCK:
        remotes = list(_REMOTES.values())
    for remote in remotes:
        if remote.uploader is not None:
            remote.uploader.handoff()


RELATIVE_CACHE = "build cache is required, but could not be located: RUNGO_CACHE is not an absolute path"


def cache_dir_from(env: Mapping[str, str]) -> Path:
    """RUNGO_CACHE, else $XDG_CACHE_HOME/rungo, else ~/.cache/rungo."""
    return Path(fastpath.cache_dir_from(dict(env)))


def make_config(env: Mapping[str, str], cwd: Path) -> Config:
    """The configuration from an environment; raises SettingsError for a malformed remote cache."""
    remote = None
    if env.get("RUNGO_REMOTE_CACHE", "").strip():
        from rungo.cache.remote.settings import from_env

        remote = from_env(env)
    return Config(env=dict(env), cwd=cwd, cache_dir=cache_dir_from(env), remote=remote)
