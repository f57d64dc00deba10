"""`rungo lsp`: the server factory, which registers each handler on a new server (lsp/quickstart.py serves it).

Live diagnostics, a Run lens above func main, and runs streamed to the editor. The compiler is the
truth: for a file it compiled, its answer replaces everything else; between a keystroke and its next
answer, its diagnostics of untouched lines stay (moved with the edits) and tree-sitter speaks only
about the edited lines. Files the compiler does not see are checked with the toolchain's own parser.
Parsing, file reads and builds run off the event loop (large documents in a worker process), and
every check and build can be cancelled by killing its subprocesses.
"""

from __future__ import annotations

import asyncio
from typing import Any, Callable, Mapping

from lsprotocol import types as lsp

from rungo.lsp import actions, changes, commands, lenses, lifecycle
from rungo.lsp.reporting import RunReporter
from rungo.lsp.runs import RunManager
from rungo.lsp.state import RungoServer


def create_server(base_env: Mapping[str, str]) -> RungoServer:
    """A new server with every handler registered; base_env is the environment of checks and runs."""
    server = RungoServer(dict(base_env))
    server.runs = RunManager(server.engine, RunReporter(server), asyncio.to_thread)
    features: dict[str, Callable[..., Any]] = {
        lsp.INITIALIZE: lifecycle.initialize,
        lsp.INITIALIZED: lifecycle.initialized,
        lsp.WORKSPACE_DID_CHANGE_CONFIGURATION: lifecycle.did_change_configuration,
        lsp.SHUTDOWN: lifecycle.shutdown,
        lsp.TEXT_DOCUMENT_DID_OPEN: changes.did_open,
        lsp.TEXT_DOCUMENT_DID_CHANGE: changes.did_change,
        lsp.TEXT_DOCUMENT_DID_SAVE: changes.did_save,
        lsp.TEXT_DOCUMENT_DID_CLOSE: changes.did_close,
        lsp.WORKSPACE_DID_CHANGE_WATCHED_FILES: changes.did_change_watched_files,
        lsp.TEXT_DOCUMENT_CODE_LENS: lenses.code_lens,
    }
    for method, handler in features.items():
        server.feature(method)(handler)
    server.feature(lsp.TEXT_DOCUMENT_CODE_ACTION, lifecycle.CODE_ACTION_OPTIONS)(actions.code_action)
    for name, command in (("rungo.run", commands.run), ("rungo.stop", commands.stop),
                          ("rungo.input", commands.input_), ("rungo.resize", commands.resize)):
        server.command(name)(command)
    return server
