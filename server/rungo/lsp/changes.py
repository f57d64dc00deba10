"""What the editor says about files (open, change, save, close, watched-file events), each turned into checks.

A keystroke refreshes the fast view at once and schedules the compiler after the settings' delay;
the first keystroke after a pause, an open and a save are checked at once.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from urllib.parse import urlparse

from lsprotocol import types as lsp

from rungo.lsp import publishing, warm
from rungo.lsp.convert import uri_to_path
from rungo.lsp.standing import Standing
from rungo.lsp.state import RungoServer

MODULE_FILES = ("go.mod", "go.work")
MODULE_INPUTS = ("go.mod", "go.sum", "go.work", "go.work.sum")


def did_open(ls: RungoServer, params: lsp.DidOpenTextDocumentParams) -> None:
    uri = params.text_document.uri
    ls.documents.opened(uri)
    doc = ls.documents.get(uri)
    if doc is None:
        return
    ls.standing[uri] = Standing(text=doc.source)
    after_change(ls, uri, immediate=True)


def did_change(ls: RungoServer, params: lsp.DidChangeTextDocumentParams) -> None:
    after_change(ls, params.text_document.uri, immediate=False)


def did_save(ls: RungoServer, params: lsp.DidSaveTextDocumentParams) -> None:
    after_change(ls, params.text_document.uri, immediate=True, saved=True)
    p = uri_to_path(params.text_document.uri)
    if p is not None:
        ls.runs.saved(p)     # a watch restarts on a save of its inputs, never on an unsaved edit
        if p.suffix == ".go" or p.name in MODULE_FILES:
            warm.after_save(ls, p)    # the programs the user ran, linked ahead of the next Run


def did_close(ls: RungoServer, params: lsp.DidCloseTextDocumentParams) -> None:
    uri = params.text_document.uri
    ls.summaries.forget(uri)
    ls.standing.pop(uri, None)
    ls.documents.closed(uri)
    p = uri_to_path(uri)
    if p is None:
        publishing.publish(ls, uri, [])
        old = ls.checks.pop(uri, None)
        if old is not None:
            old.cancel()
        return
    if p.name in MODULE_FILES:
        publishing.recheck_open(ls)
        return
    if p.suffix != ".go":
        return
    if not p.exists():
        publishing.publish(ls, uri, [])
    publishing.schedule_check(ls, p.parent, 0)


def did_change_watched_files(ls: RungoServer, params: lsp.DidChangeWatchedFilesParams) -> None:
    dirs: set[Path] = set()
    module_changed = False
    for ch in params.changes:
        p = uri_to_path(ch.uri)
        if p is None:
            continue
        if ls.documents.get(ls.documents.uri_for(p)) is None:
            ls.runs.changed_on_disk(p)    # an open document's saves reach a watch as didSave
        if p.name in MODULE_INPUTS:
            module_changed = True
        elif p.suffix == ".go":
            dirs.add(p.parent)
            uri = ls.documents.uri_for(p)
            if ch.type == lsp.FileChangeType.Deleted and ls.documents.get(uri) is None:
                publishing.publish(ls, uri, [])
    if module_changed:
        publishing.recheck_open(ls)
    for d in dirs:
        if ls.documents.open_in(d) or d in ls.published:
            publishing.schedule_check(ls, d, ls.settings.diagnostics.delay_ms / 1000)


def _names_go_file(uri: str) -> bool:
    return urlparse(uri).path.endswith(".go")


def after_change(ls: RungoServer, uri: str, *, immediate: bool, saved: bool = False) -> None:
    """A document changed (or opened, or saved): a fast refresh, and a check now or after the delay
    (a save's builds the package's imports when they are not built yet)."""
    path = uri_to_path(uri)
    if path is not None and path.name in MODULE_FILES:
        asyncio.ensure_future(publishing.publish_module_file(ls, uri, path))
        if immediate:
            publishing.recheck_open(ls)
        return
    if not _names_go_file(uri) and (path is not None or ls.documents.language_of(uri) != "go"):
        return
    if uri not in ls.standing:
        doc = ls.documents.get(uri)
        if doc is None:
            return
        ls.standing[uri] = Standing(text=doc.source)
    if not immediate:
        publishing.refresh(ls, uri)
    beside = ls.beside_gopls()
    if beside and not immediate and path is not None:
        # gopls answers the keystrokes: the compiler's own errors wait for a pause, then a full compile
        publishing.schedule_check(ls, path.parent, max(publishing.FULL_CHECK_DELAY,
                                                       ls.settings.diagnostics.delay_ms / 1000), active=True)
        return
    delay = 0.0 if immediate else ls.settings.diagnostics.delay_ms / 1000
    key: Path | str = path.parent if path is not None else uri
    now = asyncio.get_running_loop().time()
    last = ls.last_change.get(key)
    ls.last_change[key] = now
    if last is None or now - last >= delay:
        delay = 0.0    # the first keystroke after a pause is checked at once; a burst waits for its end
    if path is None:
        publishing.schedule_parse(ls, uri, delay)
    else:
        publishing.schedule_check(ls, path.parent, delay, quick=not immediate, active=True, build=saved)
