"""The warm start: what the server prepares in the background so that the user's next action is fast.

It prepares the programs the user ran from the editor in this workspace (remembered across sessions),
or, with `warmStart: "all"`, every main package of the workspace; one at a time, each build with a
background token of its own (lowest CPU and I/O priority, paused while a check or a run builds, its
`go list` given up to an interactive one and tried again later). It never links a program nobody ran
unless told to. The packages of open documents are not its business: their checks, which start when
they are opened, compile them and everything they import into the cache.

A directory is a main package when one of its `package main` files that survive the build constraints
(of the toolchain and flags it would be built with) declares `func main`.

The programs the editor ran are remembered by lsp/ran.py.
"""

from __future__ import annotations

import asyncio
import logging
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Mapping, Sequence

from lsprotocol import types as lsp

from rungo.config import cache_dir_from
from rungo.invocation import UsageError, parse_run_args
from rungo.load.constraints import BuildContext, file_included
from rungo.load.program import build_context
from rungo.lsp.engine import BuildResult, Engine
from rungo.scheduling import CancelToken
from rungo.lsp.ran import RanProgram, forget, read_ran
from rungo.toolchain import ToolchainError

if TYPE_CHECKING:
    from rungo.lsp.state import RungoServer

log = logging.getLogger("rungo.lsp")

LIMIT = 200                 # main packages prepared by "all"
ATTEMPTS = 3                # builds of one program, when interactive work preempts it
SKIPPED_DIRS = ("vendor", "testdata", "node_modules")


def context_for(engine: Engine, cwd: Path, *, env_extra: Mapping[str, str], flags: Sequence[str],
                go_path: str) -> BuildContext | None:
    """The build constraints' context of a build with these settings; None when it cannot be known."""
    env = engine.env_for(env_extra, check=True)
    try:
        tc = engine.toolchain(env, cwd, go_path)
        inv = parse_run_args([*flags, str(cwd)], tc.env.get("GOFLAGS", ""))
    except (ToolchainError, UsageError):
        return None
    return build_context(tc, inv.flags, env.get("CGO_ENABLED") or None)


def _declares_main(data: bytes) -> bool:
    if b"func main" not in data or b"package main" not in data:
        return False
    from rungo.syntax import summarize

    s = summarize(data)
    return s.package == "main" and s.main_func is not None


def _read(path: str) -> bytes | None:
    try:
        with open(path, "rb") as fh:
            return fh.read(1 << 20)
    except OSError:
        return None


def is_main_package(d: Path, ctx: BuildContext) -> bool:
    """Whether a `package main` file of d that the build takes declares `func main`."""
    try:
        names = sorted(os.listdir(d))
    except OSError:
        return False
    for name in names:
        if not name.endswith(".go") or name.endswith("_test.go") or name.startswith((".", "_")):
            continue
        data = _read(os.path.join(d, name))
        if data is not None and _declares_main(data) and file_included(name, data, ctx):
            return True
    return False


def is_file_main(path: Path) -> bool:
    """Whether a file runs on its own (`go run file.go`): `package main` with `func main`; build
    constraints do not apply to files named on the command line."""
    data = _read(str(path))
    return data is not None and _declares_main(data)


def main_packages(roots: Sequence[Path], ctx: BuildContext, limit: int = LIMIT) -> list[Path]:
    """The main packages under roots (vendor, testdata, node_modules, hidden and `_` directories
    skipped), at most limit of them."""
    found: list[Path] = []
    for root in roots:
        for d, dirs, _ in os.walk(root):
            dirs[:] = sorted(x for x in dirs if not x.startswith((".", "_")) and x not in SKIPPED_DIRS)
            if is_main_package(Path(d), ctx):
                found.append(Path(d))
                if len(found) >= limit:
                    return found
    return found


def _under(path: Path, roots: Sequence[Path]) -> bool:
    return any(path == r or path.is_relative_to(r) for r in roots)


def still_runs(engine: Engine, p: RanProgram, env: Mapping[str, str]) -> bool:
    """Whether a remembered program can still be built (with env): its file is a main, or its directory
    a main package."""
    if p.files:
        return all(is_file_main(p.pkg_dir / f) for f in p.files)
    if not p.pkg_dir.is_dir():
        return False
    ctx = context_for(engine, p.pkg_dir, env_extra=env, flags=p.flags, go_path=p.go_path)
    return ctx is not None and is_main_package(p.pkg_dir, ctx)


def ran_here(engine: Engine, roots: Sequence[Path], cache_dir: Path, env: Mapping[str, str]) -> list[RanProgram]:
    """The remembered programs under roots that still run (with env under each one's own), most recent
    first; the record forgets those that no longer do (directory gone, no longer a main package)."""
    here = [p for p in read_ran(cache_dir) if _under(p.pkg_dir, roots)]
    gone = [p for p in here if not still_runs(engine, p, {**env, **dict(p.env)})]
    forget(cache_dir, gone)
    return [p for p in here if p not in gone]


@dataclass(frozen=True, slots=True)
class WarmTarget:
    """One build of the warm start, with the settings it is built with."""

    pkg_dir: Path
    files: tuple[str, ...]
    flags: tuple[str, ...]
    env: dict[str, str]
    go_path: str
    label: str                       # as the progress report names it


def _label(path: Path, roots: Sequence[Path]) -> str:
    for r in roots:
        if path == r:
            return "."
        if path.is_relative_to(r):
            return str(path.relative_to(r))
    return str(path)


def targets(ls: RungoServer) -> list[WarmTarget]:
    """What the warm start builds under the server's settings (never anything for "off")."""
    s = ls.settings
    env = s.run_env()
    if s.warm_start == "all":
        root = ls.roots[0] if ls.roots else None
        ctx = None if root is None else context_for(ls.engine, root, env_extra=env, flags=s.build_flags,
                                                    go_path=s.go_path)
        if ctx is None:
            return []
        return [WarmTarget(d, (), tuple(s.build_flags), env, s.go_path, _label(d, ls.roots))
                for d in main_packages(ls.roots, ctx)]
    if s.warm_start == "ran":
        cache_dir = cache_dir_from(ls.engine.env_for(env, check=False))
        return [WarmTarget(p.pkg_dir, p.files, p.flags, {**env, **dict(p.env)}, p.go_path, _label(p.target, ls.roots))
                for p in ran_here(ls.engine, ls.roots, cache_dir, env)]
    return []


TITLES = {"ran": "rungo: preparing the programs you ran", "all": "rungo: preparing the workspace's main packages"}


def _tell(ls: RungoServer, text: str) -> None:
    """One line in the client's log (never a popup): what the warm start did."""
    log.info("%s", text)
    try:
        ls.window_log_message(lsp.LogMessageParams(lsp.MessageType.Log, text))
    except Exception:  # the client went away
        pass


async def _begin(ls: RungoServer, title: str) -> str | None:
    caps = ls.client_capabilities.window
    if caps is None or not caps.work_done_progress:
        return None
    token = f"rungo-warm-{uuid.uuid4().hex[:8]}"
    try:
        await ls.work_done_progress.create_async(token)
        ls.work_done_progress.begin(token, lsp.WorkDoneProgressBegin(title=title, cancellable=False, percentage=0))
    except Exception:
        return None
    return token


async def _build(ls: RungoServer, t: WarmTarget, overlays: Mapping[Path, bytes] | None = None) -> BuildResult | None:
    """Builds one target with a fresh background token, again when interactive work preempted it (at
    most ATTEMPTS times); None when the session ends meanwhile or every attempt was preempted.
    `overlays`: the unsaved buffers a run would build with (a Run then finds this very build)."""
    from rungo.work.workdir import WorkDir

    for _ in range(ATTEMPTS):
        while ls.engine.activity.busy and not ls.closing:      # let the interactive work finish first
            await asyncio.sleep(0.2)
        if ls.closing:
            return None
        token = ls.warm_token = CancelToken(background=True)

        def build(token: CancelToken = token) -> BuildResult:
            work = WorkDir(t.env.get("GOTMPDIR") or None, keep=False, announce=lambda _: None)
            try:
                return ls.engine.build(t.pkg_dir, env_extra=t.env, flags=t.flags, go_path=t.go_path, work=work,
                                       files=t.files, token=token, overlays=overlays)
            finally:
                work.close()

        try:
            result = await asyncio.to_thread(build)
        except asyncio.CancelledError:
            token.cancel()
            raise
        if not token.cancelled:
            return result
        if not token.preempted or ls.closing:
            return None
    return None


async def warm_start(ls: RungoServer) -> None:
    """Prepares what the settings ask for, one build at a time; tells the client's log what it did."""
    mode = ls.settings.warm_start if ls.runs_allowed else "off"
    if mode == "off":
        _tell(ls, "rungo: warm start: off" + ("" if ls.runs_allowed else " (the workspace is not trusted)"))
        return
    try:
        found = await asyncio.to_thread(targets, ls)
        if not found:
            _tell(ls, f"rungo: warm start ({mode}): nothing to prepare")
            return
        progress = await _begin(ls, TITLES[mode])
        ready: list[str] = []
        failed: list[str] = []
        for i, t in enumerate(found):
            if ls.closing:
                return
            if progress is not None:
                ls.work_done_progress.report(progress, lsp.WorkDoneProgressReport(
                    message=t.label, percentage=int(100 * i / len(found))))
            result = await _build(ls, t)
            if result is not None and result.prepared is not None:
                ready.append(t.label)
            else:
                failed.append(t.label)
        if progress is not None:
            ls.work_done_progress.end(progress, lsp.WorkDoneProgressEnd(message=f"{len(ready)} ready"))
        text = f"rungo: warm start ({mode}): ready: {', '.join(ready) or 'none'}"
        _tell(ls, text + (f"; not built: {', '.join(failed)}" if failed else ""))
    except asyncio.CancelledError:
        ls.warm_token.cancel()
        raise


# After a save the check found clean, the programs the user ran are linked again after this pause,
# in the background, so that a Run clicked then execs at once.
AHEAD_DELAY = 1.0


def after_save(ls: RungoServer, saved: Path) -> None:
    """A save: the programs the user ran (in this workspace) built again ahead of the click, once the
    save's check is answered without an error in the saved file; a newer save replaces this one."""
    if ls.ahead is not None:
        ls.ahead.cancel()
        ls.ahead = None
    if ls.settings.warm_start == "off" or not ls.runs_allowed or ls.closing:
        return
    ls.ahead = asyncio.ensure_future(_ahead(ls, saved))


async def _ahead(ls: RungoServer, saved: Path) -> None:
    from rungo.lsp.documents import overlays

    try:
        await asyncio.sleep(AHEAD_DELAY)
        while (ls.checks or ls.engine.activity.busy or (ls.warm is not None and not ls.warm.done())) \
                and not ls.closing:
            await asyncio.sleep(0.2)     # the save's check (and the warm start) first
        state = ls.standing.get(saved.as_uri())
        if ls.closing or (state is not None and any(d.severity == lsp.DiagnosticSeverity.Error
                                                    for d in state.compiler)):
            return
        s = ls.settings
        env = s.run_env()
        cache_dir = cache_dir_from(ls.engine.env_for(env, check=False))
        found = await asyncio.to_thread(lambda: [
            WarmTarget(p.pkg_dir, p.files, p.flags, {**env, **dict(p.env)}, p.go_path, _label(p.target, ls.roots))
            for p in ran_here(ls.engine, ls.roots, cache_dir, env)])
        ready: list[str] = []
        for t in found:
            buffers = await asyncio.to_thread(overlays, ls.documents.texts())
            result = await _build(ls, t, buffers)
            if result is not None and result.prepared is not None:
                ready.append(t.label)
        if found:
            _tell(ls, f"rungo: after the save, ready to run: {', '.join(ready) or 'none'}")
    except asyncio.CancelledError:
        ls.warm_token.cancel()
        raise
