"""The pipeline as the language server uses it: checks with unsaved buffers, builds for runs. Thread-safe."""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

from rungo.build.execute import WorkDir
from rungo.cache import Cache
from rungo.config import make_config
from rungo.load.model import Watched
from rungo.load.stamps import still_valid
from rungo.invocation import Invocation, UsageError, parse_run_args
from rungo.pipeline import (NeedsGoBuild, PackageCheck, Prepared, RunError, Session, build_with_go, check_package,
                             prepare)
from rungo.process import Runner
from rungo.toolchain import Toolchain, ToolchainError, load_toolchain

# Diagnostics never fetch anything: no module downloads, no toolchain switch.
CHECK_ENV: Mapping[str, str] = {"GOPROXY": "off", "GOTOOLCHAIN": "local"}


@dataclass(frozen=True, slots=True)
class BuildResult:
    """A build for a run: the binary, or the stage that failed and what it printed."""

    prepared: Prepared | None
    stage: str                    # "" on success, else "load", "build", "link", "usage"
    text: str                     # the error text, go-style (`file:line:col: message`)
    check: PackageCheck | None    # the failed compile as a check, for diagnostics


def _settled(items: Sequence[Watched], now_ns: int) -> bool:
    """No input changed within the last second (a later edit could keep size and mtime tick)."""
    for w in items:
        parts = w.stamp.split(":")
        if len(parts) == 3 and parts[1].isdigit() and now_ns - int(parts[1]) < 1_000_000_000:
            return False
    return True


class Engine:
    def __init__(self, base_env: Mapping[str, str]) -> None:
        self.base_env = dict(base_env)
        self._lock = threading.Lock()
        self._toolchains: dict[tuple[str, tuple[tuple[str, str], ...]], Toolchain] = {}
        self._built: dict[tuple[Any, ...], Prepared] = {}

    def env_for(self, extra: Mapping[str, str], *, check: bool) -> dict[str, str]:
        env = dict(self.base_env)
        env.update(extra)
        if check:
            env.update(CHECK_ENV)
            flags = env.get("GOFLAGS", "")
            env["GOFLAGS"] = " ".join(f for f in flags.split() if not f.startswith("-mod=mod"))
        return env

    def toolchain(self, env: Mapping[str, str], cwd: Path, go_path: str) -> Toolchain:
        key = (go_path, tuple(sorted(env.items())))
        with self._lock:
            tc = self._toolchains.get(key)
        if tc is None:
            config = make_config(env, cwd)
            tc = load_toolchain(config, Runner(env=config.child_env()), go_path or None)
            with self._lock:
                self._toolchains[key] = tc
        return tc

    def _invocation(self, flags: Sequence[str], target: str, tc: Toolchain) -> Invocation:
        return parse_run_args([*flags, target], tc.env.get("GOFLAGS", ""))

    def check(self, pkg_dir: Path, overlays: Mapping[Path, bytes], *, env_extra: Mapping[str, str],
              flags: Sequence[str], go_path: str) -> PackageCheck:
        """The compile stage of the package in pkg_dir, with unsaved buffers as overlays."""
        env = self.env_for(env_extra, check=True)
        try:
            tc = self.toolchain(env, pkg_dir, go_path)
            inv = self._invocation(flags, str(pkg_dir), tc)
        except ToolchainError as e:
            return PackageCheck(None, pkg_dir, (), (), f"rungo: {e}")
        except UsageError as e:
            return PackageCheck(None, pkg_dir, (), (), f"rungo: build flags setting: {e.message}")
        config = make_config(env, pkg_dir)
        work = WorkDir(env.get("GOTMPDIR") or None, keep=False, announce=lambda _: None)
        session = Session(config=config, toolchain=tc, runner=Runner(env=config.child_env()),
                          store=Cache(config.cache_dir), work=work, overlays=dict(overlays))
        try:
            return check_package(session, inv, flags)
        finally:
            work.close()

    def build(self, pkg_dir: Path, *, env_extra: Mapping[str, str], flags: Sequence[str],
              go_path: str, work: WorkDir) -> BuildResult:
        """Builds the main package in pkg_dir from the files on disk, as `rungo run` would."""
        env = self.env_for(env_extra, check=False)
        memo_key = (str(pkg_dir), tuple(flags), go_path, tuple(sorted(env.items())))
        with self._lock:
            known = self._built.get(memo_key)
        if known is not None and still_valid(known.watched):
            return BuildResult(known, "", "", None)
        try:
            tc = self.toolchain(env, pkg_dir, go_path)
            inv = self._invocation(flags, str(pkg_dir), tc)
        except ToolchainError as e:
            return BuildResult(None, "load", f"rungo: {e}", None)
        except UsageError as e:
            return BuildResult(None, "usage", e.message or "invalid build flags", None)
        config = make_config(env, pkg_dir)
        session = Session(config=config, toolchain=tc, runner=Runner(env=config.child_env()),
                          store=Cache(config.cache_dir), work=work)
        try:
            try:
                prepared = prepare(session, inv)
            except NeedsGoBuild:
                prepared = build_with_go(session, inv, flags)
        except RunError as e:
            check = None
            if e.outcome is not None or e.errors:
                outputs = tuple((c.import_path, c.output) for c in e.outcome.compiles if c.failed) if e.outcome else ()
                check = PackageCheck(e.package, pkg_dir, e.errors, outputs, "")
            return BuildResult(None, e.stage, e.text, check)
        if not prepared.temporary and _settled(prepared.watched, time.time_ns()):
            with self._lock:
                self._built[memo_key] = prepared
        return BuildResult(prepared, "", "", None)

    def program_env(self, env_extra: Mapping[str, str]) -> dict[str, str]:
        env = dict(self.base_env)
        env.update(env_extra)
        env.setdefault("TERM", "xterm-256color")
        return env


def find_main_packages(roots: Sequence[Path], limit: int = 200) -> list[Path]:
    """Directories under roots holding a `package main` file with `func main` (vendor, testdata,
    hidden and node_modules directories skipped), at most limit of them."""
    from rungo.syntax import summarize

    found: list[Path] = []
    for root in roots:
        for d, dirs, files in os.walk(root):
            dirs[:] = sorted(x for x in dirs if not x.startswith((".", "_"))
                             and x not in ("vendor", "testdata", "node_modules"))
            for name in sorted(files):
                if not name.endswith(".go") or name.endswith("_test.go"):
                    continue
                try:
                    with open(os.path.join(d, name), "rb") as fh:
                        data = fh.read(1 << 20)
                except OSError:
                    continue
                if b"func main" not in data:
                    continue
                s = summarize(data)
                if s.package == "main" and s.main_func is not None:
                    found.append(Path(d))
                    break
            if len(found) >= limit:
                return found
    return found
