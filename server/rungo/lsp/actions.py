"""Code actions: `Run main package` (or `Run this file` for a file-scoped main) on the func main line,
one per saved run configuration, and `Watch main package` (or `Stop watching` while it is on); each
executes the command of its lens (rungo.run, rungo.stop), so a client without code lenses (Helix,
Emacs eglot…) runs and watches programs too."""

from __future__ import annotations


from lsprotocol import types as lsp

from rungo.lsp import convert
from rungo.lsp.lenses import main_file
from rungo.lsp.settings import configurations_for
from rungo.lsp.state import RungoServer
from rungo.syntax.utf16 import LineIndex

RUN_PACKAGE = "Run main package"
RUN_FILE = "Run this file"
WATCH_PACKAGE = "Watch main package"
WATCH_FILE = "Watch this file"
STOP_WATCHING = "Stop watching"


def run_actions(uri: str, file_scoped: bool, names: list[str], watching: str | None = None) -> list[lsp.CodeAction]:
    """The run actions of a main file: its plain run, one per configuration name, then its watch (or, with
    the run id of the watch that is on, stopping it)."""
    title = RUN_FILE if file_scoped else RUN_PACKAGE
    arg: dict[str, object] = {"uri": uri, "files": [uri]} if file_scoped else {"uri": uri}
    actions = [lsp.CodeAction(title=title, command=lsp.Command(title=title, command="rungo.run", arguments=[arg]))]
    for name in names:
        titled = f"{title} ({name})"
        actions.append(lsp.CodeAction(title=titled, command=lsp.Command(
            title=titled, command="rungo.run", arguments=[{**arg, "configuration": name}])))
    if watching is not None:
        actions.append(lsp.CodeAction(title=STOP_WATCHING, command=lsp.Command(
            title=STOP_WATCHING, command="rungo.stop", arguments=[{"runId": watching}])))
    else:
        watch = WATCH_FILE if file_scoped else WATCH_PACKAGE
        actions.append(lsp.CodeAction(title=watch, command=lsp.Command(
            title=watch, command="rungo.run", arguments=[{**arg, "watch": True}])))
    return actions


async def code_action(ls: RungoServer, params: lsp.CodeActionParams) -> list[lsp.CodeAction]:
    """The run actions when the range touches the `func main` line of a program; nothing otherwise, nothing
    when the client asks for other kinds only, nothing in Restricted Mode."""
    if params.context.only or not ls.runs_allowed:
        return []
    uri = params.text_document.uri
    p = convert.uri_to_path(uri)
    if p is None or p.suffix != ".go" or p.name.endswith("_test.go"):
        return []
    found = await main_file(ls, uri, p)
    if found is None or found.included is None or found.summary.main_func is None:
        return []
    line0, _ = LineIndex(found.data).position(found.summary.main_func.line, 1)
    if not params.range.start.line <= line0 <= params.range.end.line:
        return []
    target = p.parent if found.included else p
    names = [r.configuration.name for r in configurations_for(ls.settings, ls.roots, target)]
    on = ls.runs.watching(target)
    return run_actions(uri, not found.included, names, on.run_id if on is not None else None)
