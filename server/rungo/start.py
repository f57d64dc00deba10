"""A `rungo run` command line made ready to build, and what follows a build, for the command line
and the warm engine alike: the configuration from an environment and a directory, the toolchain, the
parsed flags (with rungo's watch flags), then the rerun record and the cache's trim. Nothing here
prints: a refusal comes back as the message to print and the exit status."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from rungo import fastpath
from rungo.config import RELATIVE_CACHE, Config, make_config
from rungo.invocation import USAGE, Invocation, UsageError, WatchFlags, parse_run_args, split_watch_flags
from rungo.orchestrate import Prepared, Session
from rungo.process import Runner
from rungo.toolchain import Toolchain, ToolchainError, load_toolchain

TRIM_AGE_SECONDS = 5 * 24 * 3600


@dataclass(frozen=True, slots=True)
class RunStart:
    config: Config
    toolchain: Toolchain
    invocation: Invocation
    watching: WatchFlags


@dataclass(frozen=True, slots=True)
class Refused:
    """Why the run cannot start, as rungo prints it, and its exit status."""

    message: str
    status: int = 125


def start_run(argv: list[str], env: Mapping[str, str], cwd: Path) -> RunStart | Refused:
    """The configuration, toolchain and parsed command line of `rungo run argv` in cwd. A -C flag
    is left to the caller (the directory is the process's to change)."""
    from rungo.cache.remote.settings import SettingsError

    try:
        config = make_config(env, cwd)
    except SettingsError as e:
        return Refused(f"rungo: {e}")
    if not config.cache_dir.is_absolute():
        return Refused(RELATIVE_CACHE)
    try:
        tc = load_toolchain(config, Runner(env=config.child_env()))
    except ToolchainError as e:
        return Refused(f"rungo: {e}")
    try:
        watching, argv = split_watch_flags(argv)
        inv = parse_run_args(argv, tc.env.get("GOFLAGS", ""))
        if watching.on and inv.flags.n:
            raise UsageError("rungo: -watch cannot be used with -n", show_usage=False)
    except UsageError as e:
        text = e.message
        if e.show_usage:
            text = f"{text}\n{USAGE}" if text else USAGE
        return Refused(text)
    return RunStart(config, tc, inv, watching)


def noexec(path: "os.PathLike[str] | str") -> bool:
    """Whether the file system holding `path` refuses to run programs (mounted noexec)."""
    try:
        return bool(os.statvfs(os.path.dirname(os.fspath(path))).f_flag & os.ST_NOEXEC)
    except (OSError, AttributeError):
        return False


def exec_trouble(message: str, binary: "os.PathLike[str] | str") -> str:
    """A failure to start the program, with what to do when its file system is mounted noexec."""
    if not noexec(binary):
        return message
    where = os.path.dirname(os.path.abspath(os.fspath(binary)))
    try:
        dev = os.stat(where).st_dev
        while os.path.dirname(where) != where and os.stat(os.path.dirname(where)).st_dev == dev:
            where = os.path.dirname(where)
    except OSError:
        pass
    return f"{message} ({where} is mounted noexec; set GOTMPDIR to a directory where programs may run)"


def record_prefix(inv: Invocation) -> list[str]:
    """The build part of a run's command line, which (with the directory and the environment that
    selects a build) keys its rerun record: the flags as given, then the files or the package."""
    return [*inv.flag_tokens, *(inv.files or (inv.package or "",))]


def remember_run(session: Session, inv: Invocation, prepared: Prepared, env: Mapping[str, str]) -> None:
    """The rerun record: an unchanged rerun of this command line (in this environment) execs the
    program at once."""
    # The program is rungo's own cache entry: its stamp is taken now, after the cache's last
    # touch of it (the inputs' stamps are from before they were read).
    own = str(prepared.binary)
    fastpath.write_record(
        str(session.config.cache_dir), record_prefix(inv), str(session.config.cwd), dict(env), [*prepared.exec_argv, own], str(session.toolchain.goroot / "bin"),
        [(w.path, fastpath.stamp(own) if w.path == own else w.stamp, w.digest) for w in prepared.watched],
        prepared.inputs_since_ns or time.time_ns(), frozenset((own,)),
    )


def maybe_trim(cache_dir: "os.PathLike[str] | str") -> None:
    """Trim the cache (and the rerun records) at most once a day, as the go command does."""
    from rungo.cache import Cache, CacheWriteError

    try:
        if Cache(Path(cache_dir)).trim_if_due(every_seconds=24 * 3600, max_age_seconds=TRIM_AGE_SECONDS):
            fastpath.trim_records(str(cache_dir), TRIM_AGE_SECONDS, time.time())
    except (OSError, CacheWriteError):
        pass
