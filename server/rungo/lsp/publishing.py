"""Diagnostics to the client: the fast parser's view at each keystroke, the compiler's answer after a pause.

Each publish carries the document version it was computed for, and one for a version the client no
longer has is dropped. Checks are tasks, one per package directory (or non-file document), replaced
by the next keystroke's and cancelled with their subprocesses.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Awaitable, Callable, Mapping

from lsprotocol import types as lsp

from rungo.lsp import convert
from rungo.lsp.answers import CheckAnswer, FileDiagnostics, compute_check, module_diagnostics
from rungo.lsp.documents import overlays
from rungo.scheduling import CancelToken
from rungo.lsp.standing import Standing, between_answers, line_edit, shift_diagnostics, shift_lines
from rungo.lsp.state import PendingCheck, RungoServer
from rungo.lsp.summaries import BIG_DOCUMENT_BYTES

FollowUp = tuple[float, "Work"]      # more work for the same key, after a delay (seconds)
Work = Callable[[CancelToken], Awaitable[FollowUp | None]]

# After a keystroke's check stopped clean after type checking, or was answered by go/types, the full
# compile of the package (the compiler's own words; later phases' errors; the cache, when the buffers
# equal the disk) follows a pause this long.
FULL_CHECK_DELAY = 1.0


def publish(ls: RungoServer, uri: str, diagnostics: list[lsp.Diagnostic], version: int | None = None) -> None:
    doc = ls.documents.get(uri)
    if doc is not None and version is not None and doc.version != version:
        return     # never publish for content the client no longer has
    ls.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(
        uri=uri, diagnostics=diagnostics, version=doc.version if doc is not None else None))


# -- between keystroke and answer ------------------------------------------------------------------


def refresh(ls: RungoServer, uri: str) -> None:
    """Publishes, off the event loop, the standing compiler diagnostics and the fast parser's view
    of the edited lines; keystrokes that arrive meanwhile are folded into the next pass."""
    state = ls.standing.get(uri)
    if state is None or not ls.settings.diagnostics.enabled or ls.beside_gopls():
        return
    if state.refreshing:
        state.again = True
        return
    state.refreshing = True
    asyncio.ensure_future(_refresh(ls, uri, state))


async def _refresh(ls: RungoServer, uri: str, state: Standing) -> None:
    try:
        while True:
            state.again = False
            doc = ls.documents.get(uri)
            if doc is None or ls.standing.get(uri) is not state or ls.closing:
                return
            version, text = doc.version, doc.source
            base, generation = state.text, state.generation
            edit = await asyncio.to_thread(line_edit, base, text)
            data = await asyncio.to_thread(text.encode, "utf-8", "replace")
            summary = await ls.summaries.summarize(data)
            fast = await asyncio.to_thread(convert.syntax_diagnostics, data, summary)
            if ls.standing.get(uri) is not state:
                return
            if state.generation != generation:
                continue     # a compiler answer moved the ground meanwhile: look again
            if edit is not None:
                state.compiler = shift_diagnostics(state.compiler, edit)
                state.edited = shift_lines(state.edited, edit)
            state.text = text
            state.generation += 1
            if ls.settings.diagnostics.enabled:
                publish(ls, uri, between_answers(state.compiler, fast, state.edited, state.answered), version)
            if not state.again:
                return
    finally:
        state.refreshing = False


# -- compiler answers ---------------------------------------------------------------------------------


def schedule(ls: RungoServer, key: Path | str, delay: float, work: Work, *, deferred: bool = False) -> None:
    """Runs work after delay, in place of the pending work of the same key (which is cancelled).
    Deferred work (not the document the user is in) lets the active document's checks go first."""
    old = ls.checks.pop(key, None)
    if old is not None and not old.task.done():
        old.cancel()
    token = CancelToken(deferred=deferred)
    ls.checks[key] = PendingCheck(asyncio.ensure_future(_later(ls, key, delay, work, token)), token)


async def _later(ls: RungoServer, key: Path | str, delay: float, work: Work, token: CancelToken) -> None:
    try:
        if delay > 0:
            await asyncio.sleep(delay)
        follow = await work(token)
    except asyncio.CancelledError:
        token.cancel()
        return
    # Answered: from here on (before the client can even read the answer) the next keystroke
    # finds no check pending and is checked at once.
    current = ls.checks.get(key)
    if current is not None and current.token is token:
        del ls.checks[key]
        if follow is not None and not ls.closing:
            then = CancelToken(deferred=token.deferred)
            ls.checks[key] = PendingCheck(asyncio.ensure_future(_later(ls, key, follow[0], follow[1], then)), then)


def cancel_checks(ls: RungoServer) -> None:
    for pending in list(ls.checks.values()):
        pending.cancel()
    ls.checks.clear()


def schedule_check(ls: RungoServer, pkg_dir: Path, delay: float, *, quick: bool = False, active: bool = False,
                   build: bool = False) -> None:
    """The check of the package in pkg_dir after delay. `quick` (a keystroke's): it may stop after
    type checking; when it then finds nothing, or go/types answered it, the full compile follows
    after FULL_CHECK_DELAY, unless nothing is built yet (an answer from source: the full compile waits
    for a save). `build` (a save, a run): the package and its imports are compiled whatever it costs.
    `active`: the package of the document the user is in (its checks go first)."""
    if not ls.settings.diagnostics.enabled or ls.closing:
        return

    async def full(token: CancelToken) -> None:
        await _check(ls, pkg_dir, token, build=True)
        return None

    async def work(token: CancelToken) -> FollowUp | None:
        answer = await _check(ls, pkg_dir, token, quick=quick, build=build)
        if answer is not None and answer.types_only and (answer.clean or answer.in_memory) and not answer.unbuilt:
            return (FULL_CHECK_DELAY, full)
        return None
    schedule(ls, pkg_dir, delay, work, deferred=not active)


async def _check(ls: RungoServer, pkg_dir: Path, token: CancelToken, *, quick: bool = False,
                 build: bool = False) -> CheckAnswer | None:
    versions = ls.documents.versions()
    texts = ls.documents.texts()
    buffers = await asyncio.to_thread(overlays, texts)
    for data in buffers.values():
        if len(data) >= BIG_DOCUMENT_BYTES:
            await ls.summaries.summarize(data)     # the loader then finds it computed
    answer = await asyncio.to_thread(compute_check, ls.engine, pkg_dir, buffers, texts, ls.settings, token,
                                     ls.documents.uri_for, quick, ls.beside_gopls(), build)
    ls.tell_troubles()
    if token.cancelled or ls.closing:
        return None
    if not ls.settings.diagnostics.enabled:
        return None
    if answer.stands:
        return answer     # code generation's errors stay (moved with the edits) until the full compile
    now = ls.documents.versions()
    targets: set[str] = set()
    for uri, diags in answer.files:
        targets.add(uri)
        if uri in now and (uri not in versions or now[uri] != versions[uri]):
            continue     # edited meanwhile: its own check will answer
        state = ls.standing.get(uri)
        if state is not None and uri in texts:
            state.answer(texts[uri], list(diags))
        publish(ls, uri, list(diags), now.get(uri))
    for uri in ls.published.get(pkg_dir, set()) - targets:
        publish(ls, uri, [])
    ls.published[pkg_dir] = targets
    accept_modules(ls, answer.modules, versions)
    return answer


def accept_modules(ls: RungoServer, modules: FileDiagnostics, versions: Mapping[str, int | None]) -> None:
    """Publishes the errors of go.mod and go.work files, and clears the ones that had some."""
    now = ls.documents.versions()
    for uri, diags in modules:
        if uri in now and versions.get(uri) != now[uri]:
            continue
        if not diags and uri not in ls.module_published:
            continue
        if diags:
            ls.module_published.add(uri)
        else:
            ls.module_published.discard(uri)
        publish(ls, uri, list(diags), now.get(uri))


async def publish_module_file(ls: RungoServer, uri: str, path: Path) -> None:
    """go.mod / go.work edited: its own errors at once, from the editor's text."""
    versions = ls.documents.versions()
    text = ls.documents.texts().get(uri)
    if text is None:
        return
    data = text.encode("utf-8", "surrogateescape")
    diags = await asyncio.to_thread(module_diagnostics, path, data, "")
    accept_modules(ls, ((uri, tuple(diags)),), versions)


def schedule_parse(ls: RungoServer, uri: str, delay: float) -> None:
    """The check of a document that is not a file on disk (untitled:, notebook cells): the Go parser."""
    async def work(token: CancelToken) -> FollowUp | None:
        versions = ls.documents.versions()
        text = ls.documents.texts().get(uri)
        if text is None:
            return None
        data = text.encode("utf-8", "replace")
        s = ls.settings
        cwd = ls.roots[0] if ls.roots else Path.cwd()
        problems = await asyncio.to_thread(lambda: ls.engine.parse_errors(
            data, env_extra=s.run_env(), go_path=s.go_path, cwd=cwd, token=token))
        if problems is None or token.cancelled or ls.documents.versions().get(uri) != versions.get(uri):
            return None
        diags = convert.parse_diagnostics(data, problems)
        state = ls.standing.get(uri)
        if state is not None:
            state.answer(text, list(diags))
        publish(ls, uri, diags, versions.get(uri))
        return None
    schedule(ls, uri, delay, work)


def recheck_open(ls: RungoServer, delay: float = 0) -> None:
    """A check of every package with an open file or published diagnostics (settings or modules changed)."""
    dirs = {p.parent for uri, _ in ls.documents.items() if (p := convert.uri_to_path(uri)) is not None
            and p.suffix == ".go"}
    for d in dirs | set(ls.published):
        if d in dirs or ls.published.get(d):
            schedule_check(ls, d, delay)


def clear_all(ls: RungoServer) -> None:
    """Diagnostics switched off: nothing pending, nothing left on screen."""
    cancel_checks(ls)
    for uris in ls.published.values():
        for uri in uris:
            publish(ls, uri, [])
    ls.published.clear()
    for uri in list(ls.module_published):
        publish(ls, uri, [])
    ls.module_published.clear()
    for uri, state in ls.standing.items():
        state.forget()
        publish(ls, uri, [])
