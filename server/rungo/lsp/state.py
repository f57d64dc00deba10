"""The server object: what the handlers share (settings, documents, checks, published diagnostics, runs).

It imports none of the modules that act on it (they import it, for its type); create_server (server.py)
builds it and wires what reports to it (the run reporter)."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from lsprotocol import types as lsp
from pygls.exceptions import JsonRpcException, JsonRpcParseError
from pygls.lsp.server import LanguageServer

from rungo import __version__
from rungo.lsp.documents import OpenDocuments
from rungo.lsp.engine import Engine
from rungo.scheduling import CancelToken
from rungo.lsp.protocol import RungoProtocol
from rungo.lsp.runs import RunManager
from rungo.lsp.settings import Settings
from rungo.lsp.standing import Standing
from rungo.lsp.summaries import Summaries

log = logging.getLogger("rungo.lsp")


@dataclass(frozen=True, slots=True)
class PendingCheck:
    """A scheduled check (or parse) of a package directory or a document: its task, and the token
    that kills its subprocesses."""

    task: asyncio.Task[None]
    token: CancelToken

    def cancel(self) -> None:
        self.token.cancel()
        self.task.cancel()


class RungoServer(LanguageServer):
    """pygls' server with rungo's state; the handlers (registered by create_server) act on it."""

    runs: RunManager      # set by create_server, with the reporter that tells the client

    def __init__(self, base_env: Mapping[str, str]) -> None:
        super().__init__("rungo", __version__, text_document_sync_kind=lsp.TextDocumentSyncKind.Incremental,
                         protocol_cls=RungoProtocol)
        self.engine = Engine(base_env)
        self.settings = Settings()
        self.output_support = False
        self.runs_allowed = True                       # False in an untrusted (Restricted Mode) workspace
        self.gopls_active = False                      # the client says gopls serves the same files
        self.roots: list[Path] = []
        self.documents = OpenDocuments(lambda: self.workspace)
        self.summaries = Summaries()
        self.standing: dict[str, Standing] = {}       # open document -> what is published for it
        self.checks: dict[Path | str, PendingCheck] = {}     # package dir (or URI) -> its pending check
        self.published: dict[Path, set[str]] = {}     # package dir -> uris it published to
        self.module_published: set[str] = set()
        self.results: dict[Path, str] = {}            # package dir (or file) -> last run result for the lens
        self.last_change: dict[Path | str, float] = {}   # package dir (or URI) -> its last keystroke
        self.warm: asyncio.Task[None] | None = None
        self.ahead: asyncio.Task[None] | None = None     # the programs ran, built again after a save
        self.warm_token = CancelToken()
        self.closing = False

    def beside_gopls(self) -> bool:
        """Whether gopls shows the type and syntax errors, so that rungo shows only what it cannot see."""
        mode = self.settings.diagnostics.beside_gopls
        return mode == "on" or (mode == "auto" and self.gopls_active)

    def report_server_error(self, error: Exception, source: Any) -> None:
        """Protocol and handler errors go to the log, never to a popup; unreadable JSON gets -32700."""
        if isinstance(error, ValueError) and not isinstance(error, JsonRpcException):
            try:
                self.protocol._send_data({"jsonrpc": "2.0", "id": None, "error": {
                    "code": JsonRpcParseError.CODE, "message": f"parse error: {error}"}})
            except Exception:
                pass
        log.warning("%s: %s", type(error).__name__, error)
        try:
            self.window_log_message(lsp.LogMessageParams(lsp.MessageType.Error,
                                                         f"rungo: {type(error).__name__}: {error}"))
        except Exception:
            pass

    def tell_troubles(self) -> None:
        """Shows what the remote cache had trouble with (each message once per server); logs what
        became of the type checkers."""
        for text in self.engine.take_troubles():
            log.warning("%s", text)
            try:
                self.window_show_message(lsp.ShowMessageParams(lsp.MessageType.Warning, f"rungo: {text}"))
            except Exception:  # the client went away
                pass
        for text in self.engine.typeservers.take_notes():
            log.info("%s", text)
            try:
                self.window_log_message(lsp.LogMessageParams(lsp.MessageType.Log, f"rungo: {text}"))
            except Exception:  # the client went away
                pass

    def refresh_lenses(self) -> None:
        """Asks the client to fetch the code lenses again (a run's result changed them)."""
        caps = self.client_capabilities.workspace
        if caps is not None and caps.code_lens is not None and caps.code_lens.refresh_support:
            try:
                self.workspace_code_lens_refresh(None)
            except Exception:  # the client went away
                pass
