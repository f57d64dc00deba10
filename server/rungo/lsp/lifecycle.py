"""The session's life: initialize (settings, capabilities, roots), starting and stopping the warm start (lsp/warm.py),
settings changes, shutdown."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

from lsprotocol import types as lsp
from pygls.workspace import Workspace

from rungo.lsp import publishing, warm
from rungo.lsp.convert import uri_to_path
from rungo.lsp.documents import EditableWorkspace
from rungo.lsp.settings import parse_settings, settings_message
from rungo.lsp.state import RungoServer

log = logging.getLogger("rungo.lsp")

WATCHED_GLOBS = ("**/*.go", "**/go.mod", "**/go.sum", "**/go.work", "**/go.work.sum")
# Code actions carry the runs (rungo.run) for clients without lenses; they have no kind of their own.
CODE_ACTION_OPTIONS = lsp.CodeActionOptions(resolve_provider=False)


def apply_settings(ls: RungoServer, raw: Any) -> None:
    """Settings from the client; what is invalid keeps its default and is told in one message."""
    ls.settings, problems = parse_settings(raw)
    if problems:
        ls.window_show_message(lsp.ShowMessageParams(lsp.MessageType.Warning, settings_message(problems)))


def _roots(params: lsp.InitializeParams) -> list[Path]:
    folders = [p for f in params.workspace_folders or [] if (p := uri_to_path(f.uri)) is not None]
    if not folders and params.root_uri:
        root = uri_to_path(params.root_uri)
        return [root] if root is not None else []
    return folders


def _flag(value: Any, key: str) -> bool | None:
    """An initialization option or experimental capability that is exactly true or false."""
    found = value.get(key) if isinstance(value, dict) else None
    return found if isinstance(found, bool) else None


def initialize(ls: RungoServer, params: lsp.InitializeParams) -> None:
    if type(ls.workspace) is Workspace:
        ls.workspace.__class__ = EditableWorkspace    # same state, edits applied at C speed
    opts = params.initialization_options
    ls.output_support = _flag(opts, "rungoOutput") is True or _flag(params.capabilities.experimental,
                                                                     "rungoOutput") is True
    ls.runs_allowed = _flag(opts, "allowRuns") is not False
    ls.gopls_active = _flag(opts, "goplsActive") is True
    ls.roots = _roots(params)
    apply_settings(ls, opts)
    ls.engine.allow_background(ls.settings.warm_start != "off")


async def initialized(ls: RungoServer, params: lsp.InitializedParams) -> None:
    ls.warm = asyncio.ensure_future(warm.warm_start(ls))
    caps = ls.client_capabilities.workspace
    watched = caps.did_change_watched_files if caps is not None else None
    if watched is not None and watched.dynamic_registration:
        try:
            await ls.client_register_capability_async(lsp.RegistrationParams(registrations=[lsp.Registration(
                id="rungo-watched-files", method=lsp.WORKSPACE_DID_CHANGE_WATCHED_FILES,
                register_options=lsp.DidChangeWatchedFilesRegistrationOptions(
                    watchers=[lsp.FileSystemWatcher(glob_pattern=g) for g in WATCHED_GLOBS]))]))
        except Exception as e:   # a client that refuses: saves and edits still recheck
            log.info("watched files not registered: %s", e)


def did_change_configuration(ls: RungoServer, params: lsp.DidChangeConfigurationParams) -> None:
    apply_settings(ls, params.settings)
    ls.engine.allow_background(ls.settings.warm_start != "off")
    if ls.settings.warm_start == "off":     # turned off: a warm start in progress ends now
        stop_warm_start(ls)
    ls.refresh_lenses()      # run configurations show in the lens
    if ls.settings.diagnostics.enabled:
        publishing.recheck_open(ls)
    else:
        publishing.clear_all(ls)


def shutdown(ls: RungoServer, params: None) -> None:
    close_all(ls)
    ls.engine.shutdown()


def stop_warm_start(ls: RungoServer) -> None:
    ls.warm_token.cancel()
    if ls.warm is not None:
        ls.warm.cancel()
    if ls.ahead is not None:
        ls.ahead.cancel()


def close_all(ls: RungoServer) -> None:
    """Shutdown or a lost client: every check, the warm start and every run end now."""
    ls.closing = True
    stop_warm_start(ls)
    publishing.cancel_checks(ls)
    ls.runs.kill_all()
    ls.summaries.close()
