"""The rungo.* commands: start a run of what the editor shows, stop it, feed its input, resize its terminal."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence, TypeVar

from pygls.exceptions import JsonRpcInvalidParams, JsonRpcInvalidRequest

from rungo.lsp import arguments
from rungo.lsp.arguments import InputArguments, ResizeArguments, RunArguments, StopArguments
from rungo.lsp.documents import overlays
from rungo.lsp.lenses import file_scoped_main
from rungo.lsp.settings import ResolvedConfiguration, Settings, configurations_for
from rungo.lsp.state import RungoServer

A = TypeVar("A")
RESTRICTED = "rungo runs no workspace code in Restricted Mode: trust the workspace first"


def _structure(command: str, args: tuple[Any, ...], kind: type[A]) -> A:
    try:
        return arguments.structure(command, args, kind)
    except arguments.InvalidArguments as e:
        raise JsonRpcInvalidParams(str(e)) from None


def package_args(settings: Settings, roots: list[Path], pkg_dir: Path) -> list[str]:
    """The settings' default arguments of a package: keyed by its directory (absolute, or relative to a
    workspace root) or by the end of its path."""
    for key, args in settings.args.items():
        candidates = [Path(key)] if os.path.isabs(key) else [r / key for r in roots]
        if any(os.path.normpath(c) == os.path.normpath(pkg_dir) for c in candidates):
            return list(args)
        if key.endswith("/" + pkg_dir.name) or key == pkg_dir.name:
            return list(args)
    return []


def configuration(settings: Settings, roots: list[Path], target: Path, name: str) -> ResolvedConfiguration:
    """The run configuration called name of target (a package directory or a file-scoped main's file)."""
    for found in configurations_for(settings, roots, target):
        if found.configuration.name == name:
            return found
    raise JsonRpcInvalidParams(f"rungo.run: no run configuration named {name!r} for {target}")


@dataclass(frozen=True, slots=True)
class ResolvedRun:
    """What a run request comes to once the settings and its saved configuration are merged in."""

    args: tuple[str, ...]
    flags: tuple[str, ...]
    env: Mapping[str, str]
    cwd: Path | None
    configuration: str | None        # the saved configuration's name, when the request named one


def resolve_run(settings: Settings, roots: list[Path], request: RunArguments, pkg_dir: Path,
                files: Sequence[str]) -> ResolvedRun:
    """A run request with the settings and its saved configuration merged in: a configuration adds to
    the settings; what the request itself says comes last (or replaces, for the program's arguments)."""
    saved = None
    if request.configuration is not None:
        target = pkg_dir / files[0] if len(files) == 1 else pkg_dir
        saved = configuration(settings, roots, target, request.configuration)
    config_args = list(saved.configuration.args) if saved else None
    run_args = (list(request.args) if request.args is not None else config_args if config_args is not None
                else package_args(settings, roots, pkg_dir))
    # -watch-* flags (the settings' watchFlags, or among a configuration's or the request's build
    # flags) are the watch's; runs.RunManager takes them out before the build.
    flags = [*settings.watch_flags, *settings.build_flags, *(saved.configuration.build_flags if saved else ()),
             *request.build_flags]
    env = {**settings.run_env(), **(saved.configuration.env if saved else {}), **request.env}
    cwd = request.cwd or (saved.cwd if saved else None)
    if cwd is not None and not cwd.is_dir():
        raise JsonRpcInvalidParams(f"rungo.run: the working directory {cwd} does not exist")
    return ResolvedRun(tuple(run_args), tuple(flags), env, cwd, saved.configuration.name if saved else None)


async def run(ls: RungoServer, *args: Any) -> dict[str, Any]:
    if not ls.runs_allowed:
        raise JsonRpcInvalidRequest(RESTRICTED)
    request = _structure("rungo.run", args, RunArguments)
    path = request.target
    files: list[str] = []
    if request.files is not None:
        pkg_dir = request.files[0].parent
        files = [f.name for f in request.files]
    else:
        pkg_dir = path if path.is_dir() else path.parent
        if path.suffix == ".go" and await file_scoped_main(ls, path):
            files = [path.name]     # as its lens runs it, whichever client command asked
    resolved = resolve_run(ls.settings, ls.roots, request, pkg_dir, files)
    if request.watch:
        on = ls.runs.watching(pkg_dir / files[0] if len(files) == 1 else pkg_dir)
        if on is not None:     # one watch per package: asking again answers with it
            return {"runId": on.run_id, "package": str(pkg_dir), "name": on.name, "configuration": None,
                    "watch": True}
    buffers = overlays(ls.documents.texts()) if request.use_buffers else {}
    current = (lambda: overlays(ls.documents.texts())) if request.use_buffers else None
    r = ls.runs.start(pkg_dir, resolved.args, flags=resolved.flags, env=resolved.env, go_path=ls.settings.go_path,
                      size=request.size, files=files, overlays=buffers, versions=ls.documents.versions(),
                      cwd=resolved.cwd, watch=request.watch, current_overlays=current)
    return {"runId": r.run_id, "package": str(pkg_dir), "name": r.name, "configuration": resolved.configuration,
            "watch": request.watch}


async def stop(ls: RungoServer, *args: Any) -> dict[str, Any]:
    request = _structure("rungo.stop", args, StopArguments)
    return {"stopped": await ls.runs.stop(request.run_id)}


def input_(ls: RungoServer, *args: Any) -> dict[str, Any]:
    request = _structure("rungo.input", args, InputArguments)
    return {"delivered": ls.runs.input(request.run_id, request.data.encode("utf-8", "replace"))}


def resize(ls: RungoServer, *args: Any) -> dict[str, Any]:
    request = _structure("rungo.resize", args, ResizeArguments)
    return {"resized": ls.runs.resize(request.run_id, request.cols, request.rows)}
