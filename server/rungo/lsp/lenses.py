"""Code lenses: `▶ Run` above func main of a main package (or of a file-scoped program), `Watch` (or the
watch that is on), the last result and the last run configuration (`▶ Run (dev)`)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from lsprotocol import types as lsp

from rungo.lsp import convert
from rungo.lsp.documents import read_disk
from rungo.lsp.settings import last_configuration
from rungo.lsp.state import RungoServer
from rungo.syntax import FileSummary


@dataclass(frozen=True, slots=True)
class MainFile:
    """A .go file with package main and func main, and whether the package build takes it."""

    data: bytes
    summary: FileSummary
    included: bool | None      # None: neither in the build nor a program of its own


async def main_file(ls: RungoServer, uri: str, path: Path) -> MainFile | None:
    """The file at path (the editor's text when open) when it holds func main of package main."""
    data = ls.documents.data(uri)
    if data is None:
        data = await asyncio.to_thread(read_disk, path)
    if data is None:
        return None
    summary = await ls.summaries.of_document(uri, ls.documents.version(uri), data)
    if summary.package != "main" or summary.main_func is None:
        return None
    s = ls.settings
    included = await asyncio.to_thread(lambda: ls.engine.included(
        path, data, env_extra=s.run_env(), flags=s.build_flags, go_path=s.go_path))
    return MainFile(data, summary, included)


async def file_scoped_main(ls: RungoServer, path: Path) -> bool:
    """A file the package build leaves out, with its own package main and func main: a program of
    its own, run as `go run file.go`."""
    found = await main_file(ls, ls.documents.uri_for(path), path)
    return found is not None and found.included is False


def watch_lens(ls: RungoServer, key: Path, run_lens: lsp.CodeLens) -> lsp.CodeLens:
    """`Watch` beside `▶ Run` (rungo.run with watch), or while a watch is on `● Watching (stop)` (rungo.stop)."""
    on = ls.runs.watching(key)
    if on is not None:
        return lsp.CodeLens(range=run_lens.range, command=lsp.Command(
            title="● Watching (stop)", command="rungo.stop", arguments=[{"runId": on.run_id}]))
    assert run_lens.command is not None and run_lens.command.arguments
    first = run_lens.command.arguments[0]
    assert isinstance(first, dict)
    return lsp.CodeLens(range=run_lens.range, command=lsp.Command(
        title="Watch", command="rungo.run", arguments=[{**first, "watch": True}]))


async def code_lens(ls: RungoServer, params: lsp.CodeLensParams) -> list[lsp.CodeLens]:
    uri = params.text_document.uri
    p = convert.uri_to_path(uri)
    if p is None or p.suffix != ".go" or p.name.endswith("_test.go"):
        return []
    found = await main_file(ls, uri, p)
    if found is None:
        return []
    key = p.parent if found.included else p
    lenses = convert.main_lenses(uri, found.data, found.summary, ls.results.get(key), ls.runs_allowed,
                                 found.included)
    if ls.runs_allowed and lenses:
        lenses.insert(1, watch_lens(ls, key, lenses[0]))
    last = last_configuration(ls.settings, ls.roots, key) if ls.runs_allowed and lenses else None
    if last is not None:
        run = lenses[0].command
        assert run is not None and run.arguments
        name = last.configuration.name
        first = run.arguments[0]
        assert isinstance(first, dict)
        arg = {**first, "configuration": name}
        lenses.insert(1, lsp.CodeLens(range=lenses[0].range, command=lsp.Command(
            title=f"{run.title} ({name})", command="rungo.run", arguments=[arg])))
    return lenses
