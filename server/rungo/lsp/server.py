"""`rungo lsp`: live diagnostics, a Run lens above func main, and runs streamed to the editor.

The compiler is the truth: for a file it compiled, its answer replaces everything else; between a
keystroke and its next answer, its diagnostics of untouched lines stay (moved with the edits) and
tree-sitter speaks only about the edited lines. Files the compiler does not see are checked with the
toolchain's own parser. Parsing, file reads and builds run off the event loop (large documents in a
worker process), and every check and build can be cancelled by killing its subprocesses.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import pickle
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Generator, Mapping, TypeVar
from urllib.parse import unquote, urlparse

import cattrs
from lsprotocol import types as lsp
from pygls.exceptions import JsonRpcException, JsonRpcInvalidParams, JsonRpcInvalidRequest, JsonRpcParseError
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol
from pygls.protocol.language_server import lsp_method
from pygls.workspace import Workspace

from rungo import __version__
from rungo.load.loader import find_go_work, find_module_root
from rungo.load.modfile import ModError, parse_mod, parse_work
from rungo.lsp import convert
from rungo.lsp.documents import EditableWorkspace
from rungo.lsp.engine import CancelToken, Engine, find_main_packages
from rungo.lsp.runs import Run, RunManager
from rungo.lsp.settings import Settings, parse_settings
from rungo.lsp.standing import between_answers, line_edit, shift_diagnostics, shift_lines
from rungo.orchestrate import PackageCheck
from rungo.syntax import FileSummary, remember, summarize

T = TypeVar("T")
log = logging.getLogger("rungo.lsp")

MAX_DOCUMENT_BYTES = 16 << 20
BIG_DOCUMENT_BYTES = 1 << 18          # summarized in the worker process, never on the server's threads
MODULE_FILES = ("go.mod", "go.work")
WATCHED_GLOBS = ("**/*.go", "**/go.mod", "**/go.sum", "**/go.work", "**/go.work.sum")


def uri_to_path(uri: str) -> Path | None:
    u = urlparse(uri)
    if u.scheme != "file":
        return None
    return Path(unquote(u.path))


# -- JSON-RPC to the letter ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Rejected:
    """A message that could not be read as what its method expects."""

    msg_id: int | str | None
    method: str
    code: int
    message: str


def _validation_text(exc: BaseException) -> str:
    cause = exc.__cause__
    if isinstance(cause, (cattrs.ClassValidationError, cattrs.IterableValidationError)):
        try:
            return "; ".join(cattrs.transform_error(cause, path="params"))
        except Exception:
            pass
    return str(cause or exc) or type(exc).__name__


class RungoProtocol(LanguageServerProtocol):
    """pygls' protocol, with every request answered: invalid params get -32602, malformed requests
    -32600, requests after shutdown -32600; nothing of this pops up in the editor (it is logged)."""

    @lsp_method(lsp.INITIALIZE)
    def lsp_initialize(self, params: lsp.InitializeParams) -> Generator[Any, Any, lsp.InitializeResult]:
        # Positions are UTF-16, which every client must support: a client that prefers UTF-8
        # (Neovim) would otherwise read UTF-16 columns as bytes.
        general = params.capabilities.general
        if general is not None and general.position_encodings is not None:
            general.position_encodings = None
        result: lsp.InitializeResult = yield from super().lsp_initialize(params)
        return result

    def structure_message(self, data: dict[str, Any]) -> Any:
        try:
            return super().structure_message(data)
        except JsonRpcException as e:
            method = str(data.get("method", ""))
            msg_id = data.get("id") if isinstance(data.get("id"), (int, str)) else None
            if "method" in data:
                return _Rejected(msg_id, method, JsonRpcInvalidParams.CODE,
                                 f"invalid params for {method}: {_validation_text(e)}")
            return _Rejected(msg_id, method, JsonRpcInvalidRequest.CODE, f"invalid message: {_validation_text(e)}")

    def _reply_error(self, msg_id: int | str | None, code: int, message: str) -> None:
        self._send_data({"jsonrpc": "2.0", "id": msg_id, "error": {"code": code, "message": message}})

    def _log(self, message: str) -> None:
        log.warning("%s", message)
        try:
            self.notify(lsp.WINDOW_LOG_MESSAGE, lsp.LogMessageParams(lsp.MessageType.Error, "rungo: " + message))
        except Exception:
            pass

    def handle_message(self, message: Any) -> None:
        if isinstance(message, _Rejected):
            self._log(message.message)
            if message.msg_id is not None or message.code == JsonRpcInvalidRequest.CODE:
                self._reply_error(message.msg_id, message.code, message.message)
            return
        if isinstance(message, list):
            self._log("batch messages are not part of the language server protocol")
            self._reply_error(None, JsonRpcInvalidRequest.CODE, "batch messages are not supported")
            return
        if not hasattr(message, "jsonrpc"):
            msg_id = message.get("id") if isinstance(message, dict) else None
            self._log(f"not a JSON-RPC 2.0 message: {str(message)[:200]}")
            self._reply_error(msg_id if isinstance(msg_id, (int, str)) else None, JsonRpcInvalidRequest.CODE,
                              'not a JSON-RPC 2.0 message (it needs "jsonrpc": "2.0")')
            return
        method = getattr(message, "method", None)
        msg_id = getattr(message, "id", None)
        if message.jsonrpc != "2.0":
            self._log(f"unknown JSON-RPC version {message.jsonrpc!r}")
            if method is not None:
                self._reply_error(msg_id, JsonRpcInvalidRequest.CODE, 'only "jsonrpc": "2.0" is understood')
            return
        if self._shutdown and method is not None and msg_id is not None and method != lsp.EXIT:
            self._reply_error(msg_id, JsonRpcInvalidRequest.CODE, f"{method}: the server is shutting down")
            return
        super().handle_message(message)


# -- per-document state -------------------------------------------------------------------------------


@dataclass(eq=False)
class DocState:
    """What is published for one open document, and what it stands on."""

    text: str                                                   # the text `compiler` is positioned in
    compiler: list[lsp.Diagnostic] = field(default_factory=list)   # the last answer of the compiler (or Go parser)
    edited: list[tuple[int, int]] = field(default_factory=list)    # lines edited since that answer
    answered: bool = False
    generation: int = 0                                         # bumped whenever `text` moves
    refreshing: bool = False
    again: bool = False


@dataclass(frozen=True, slots=True)
class CheckAnswer:
    """A check turned into what to publish: per file (URI) its diagnostics; per go.mod/go.work too."""

    files: tuple[tuple[str, tuple[lsp.Diagnostic, ...]], ...]
    modules: tuple[tuple[str, tuple[lsp.Diagnostic, ...]], ...]


def _is_go(uri: str) -> bool:
    return urlparse(uri).path.endswith(".go")


class RungoServer(LanguageServer):
    """The server's state: settings, open documents, pending checks and runs."""

    def __init__(self, base_env: Mapping[str, str]) -> None:
        super().__init__("rungo", __version__, text_document_sync_kind=lsp.TextDocumentSyncKind.Incremental,
                         protocol_cls=RungoProtocol)
        self.engine = Engine(base_env)
        self.settings = Settings()
        self.output_support = False
        self.runs_allowed = True                       # False in an untrusted (Restricted Mode) workspace
        self.roots: list[Path] = []
        self.checks: dict[Path | str, tuple[asyncio.Task[None], CancelToken]] = {}
        self.published: dict[Path, set[str]] = {}     # package dir -> uris it published to
        self.module_published: set[str] = set()
        self.results: dict[Path, str] = {}            # package dir (or file) -> last run result for the lens
        self.summaries: dict[str, tuple[int | None, FileSummary]] = {}
        self.docs: dict[str, DocState] = {}
        self.last_change: dict[Path | str, float] = {}   # package dir (or URI) -> its last keystroke
        self.client_uris: dict[str, str] = {}         # pygls' (unquoted) key -> the client's URI
        self.path_uris: dict[Path, str] = {}          # an open file -> the client's URI for it
        self.warm: asyncio.Task[None] | None = None
        self.warm_token = CancelToken()
        self.closing = False
        self.worker = SummaryWorker()
        self.runs = RunManager(self.engine, _Events(self), self._in_thread)

    # -- helpers ---------------------------------------------------------------------------

    async def _in_thread(self, fn: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(None, fn)

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
            self.window_log_message(lsp.LogMessageParams(lsp.MessageType.Error, f"rungo: {type(error).__name__}: {error}"))
        except Exception:
            pass

    def close_pool(self) -> None:
        self.worker.kill()

    async def summarize(self, data: bytes) -> FileSummary:
        """The tree-sitter summary, in a thread; a large document's in the worker process (tree-sitter
        holds the interpreter while it parses), remembered for the loader of the next check."""
        if len(data) < BIG_DOCUMENT_BYTES:
            return await self._in_thread(lambda: summarize(data))
        s = await self.worker.summarize(data)
        if s is None:     # the worker is gone (shutdown, out of memory): no fast answer for this one
            return FileSummary("", None, (), False, (), (), None, ())
        await self._in_thread(lambda: remember(data, s))
        return s

    async def summary(self, uri: str, data: bytes) -> FileSummary:
        doc = self.doc(uri)
        version = doc.version if doc is not None else None
        hit = self.summaries.get(uri)
        if hit is not None and hit[0] == version and version is not None:
            return hit[1]
        s = await self.summarize(data)
        if version is not None:
            self.summaries[uri] = (version, s)
        return s

    def doc(self, uri: str) -> Any:
        """The open document of a URI as the client spells it (pygls keeps them unquoted)."""
        return self.workspace.text_documents.get(unquote(uri))

    def documents(self) -> list[tuple[str, Any]]:
        """The open documents, under the URIs the client used."""
        return [(self.client_uris.get(k, k), d) for k, d in list(self.workspace.text_documents.items())]

    def uri_for(self, path: Path) -> str:
        """The URI under which the client knows a file (the one it opened it with, when open)."""
        return self.path_uris.get(path) or path.as_uri()

    def doc_bytes(self, uri: str) -> bytes | None:
        doc = self.doc(uri)
        if doc is None:
            return None
        source: str = doc.source
        return source.encode("utf-8", "replace")

    def read_disk(self, path: Path) -> bytes | None:
        try:
            with open(path, "rb") as f:
                return f.read(MAX_DOCUMENT_BYTES)
        except OSError:
            return None

    def versions(self) -> dict[str, int | None]:
        return {uri: doc.version for uri, doc in self.documents()}

    def open_in(self, pkg_dir: Path) -> dict[str, int | None]:
        out: dict[str, int | None] = {}
        for uri, doc in self.documents():
            p = uri_to_path(uri)
            if p is not None and p.parent == pkg_dir and p.suffix == ".go":
                out[uri] = doc.version
        return out

    def texts(self) -> dict[str, str]:
        return {uri: doc.source for uri, doc in self.documents()}

    def publish(self, uri: str, diagnostics: list[lsp.Diagnostic], version: int | None = None) -> None:
        doc = self.doc(uri)
        if doc is not None and version is not None and doc.version != version:
            return     # never publish for content the client no longer has
        self.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(
            uri=uri, diagnostics=diagnostics, version=doc.version if doc is not None else None))

    def notify(self, method: str, params: dict[str, Any]) -> None:
        self.protocol.notify(method, params)

    # -- keystrokes -----------------------------------------------------------------------------

    def on_open(self, uri: str) -> None:
        self.client_uris[unquote(uri)] = uri
        path = uri_to_path(uri)
        if path is not None:
            self.path_uris[path] = uri
        doc = self.doc(uri)
        if doc is None:
            return
        self.docs[uri] = DocState(text=doc.source)
        self.after_change(uri, immediate=True)

    def after_change(self, uri: str, *, immediate: bool) -> None:
        path = uri_to_path(uri)
        if path is not None and path.name in MODULE_FILES:
            asyncio.ensure_future(self.publish_module_file(uri, path))
            if immediate:
                self.recheck_open()
            return
        if not _is_go(uri) and (path is not None or self.language_of(uri) != "go"):
            return
        if uri not in self.docs:
            doc = self.doc(uri)
            if doc is None:
                return
            self.docs[uri] = DocState(text=doc.source)
        if not immediate:
            self.refresh(uri)
        delay = 0.0 if immediate else self.settings.diagnostics.delay_ms / 1000
        key: Path | str = path.parent if path is not None else uri
        now = asyncio.get_running_loop().time()
        last = self.last_change.get(key)
        self.last_change[key] = now
        if last is None or now - last >= delay:
            delay = 0.0    # the first keystroke after a pause is checked at once; a burst waits for its end
        if path is None:
            self.schedule(uri, delay, self._parse_only(uri))
        else:
            self.schedule_check(path.parent, delay)

    def language_of(self, uri: str) -> str:
        doc = self.doc(uri)
        return (doc.language_id or "") if doc is not None else ""

    def refresh(self, uri: str) -> None:
        """Publishes, off the event loop, the standing compiler diagnostics and the fast parser's view
        of the edited lines; keystrokes that arrive meanwhile are folded into the next pass."""
        state = self.docs.get(uri)
        if state is None or not self.settings.diagnostics.enabled:
            return
        if state.refreshing:
            state.again = True
            return
        state.refreshing = True
        asyncio.ensure_future(self._refresh(uri, state))

    async def _refresh(self, uri: str, state: DocState) -> None:
        try:
            while True:
                state.again = False
                doc = self.doc(uri)
                if doc is None or self.docs.get(uri) is not state or self.closing:
                    return
                version, text = doc.version, doc.source
                base, generation = state.text, state.generation
                edit = await self._in_thread(lambda: line_edit(base, text))
                data: bytes = await self._in_thread(lambda: text.encode("utf-8", "replace"))
                summary = await self.summarize(data)
                fast = await self._in_thread(lambda: convert.syntax_diagnostics(data, summary))
                if self.docs.get(uri) is not state:
                    return
                if state.generation != generation:
                    continue     # a compiler answer moved the ground meanwhile: look again
                if edit is not None:
                    state.compiler = shift_diagnostics(state.compiler, edit)
                    state.edited = shift_lines(state.edited, edit)
                state.text = text
                state.generation += 1
                if self.settings.diagnostics.enabled:
                    self.publish(uri, between_answers(state.compiler, fast, state.edited, state.answered), version)
                if not state.again:
                    return
        finally:
            state.refreshing = False

    # -- compiler answers --------------------------------------------------------------------------

    def schedule(self, key: Path | str, delay: float, work: Any) -> None:
        old = self.checks.pop(key, None)
        if old is not None and not old[0].done():
            old[0].cancel()
            old[1].cancel()
        token = CancelToken()
        self.checks[key] = (asyncio.ensure_future(self._later(key, delay, work, token)), token)

    async def _later(self, key: Path | str, delay: float, work: Any, token: CancelToken) -> None:
        try:
            if delay > 0:
                await asyncio.sleep(delay)
            await work(token)
        except asyncio.CancelledError:
            token.cancel()
            return
        # Answered: from here on (before the client can even read the answer) the next keystroke
        # finds no check pending and is checked at once.
        current = self.checks.get(key)
        if current is not None and current[1] is token:
            del self.checks[key]

    def schedule_check(self, pkg_dir: Path, delay: float) -> None:
        if not self.settings.diagnostics.enabled or self.closing:
            return
        self.schedule(pkg_dir, delay, lambda token: self._check(pkg_dir, token))

    async def _check(self, pkg_dir: Path, token: CancelToken) -> None:
        versions = self.versions()
        texts = self.texts()
        overlays = await self._in_thread(lambda: _overlays(texts))
        for data in overlays.values():
            if len(data) >= BIG_DOCUMENT_BYTES:
                await self.summarize(data)     # the loader then finds it computed
        s = self.settings
        answer = await self._in_thread(lambda: self.compute_check(pkg_dir, overlays, texts, s, token))
        if token.cancelled or self.closing:
            return
        self.accept(pkg_dir, answer, versions, texts)

    def compute_check(self, pkg_dir: Path, overlays: Mapping[Path, bytes], texts: Mapping[str, str],
                      s: Settings, token: CancelToken) -> CheckAnswer:
        """The check of one package and what to publish for it (runs in a thread)."""
        check = self.engine.check(pkg_dir, overlays, env_extra=s.env, flags=s.build_flags, go_path=s.go_path,
                                  token=token)

        def read(p: Path) -> bytes | None:
            data = overlays.get(p)
            return data if data is not None else self.read_disk(p)

        by_file, loose = convert.check_diagnostics(check, read)
        loose = [m for m in loose if not convert.is_module_message(m)]
        pkg = check.package
        in_build = {f.path for f in pkg.files} if pkg is not None else set()
        failed = {ip for ip, _ in check.compile_outputs}
        compiled: set[Path]
        if pkg is None:
            compiled = {p for p in by_file if p.parent == pkg_dir}
        elif check.load_errors or check.message:
            compiled = set()
        elif not failed or pkg.import_path in failed:
            compiled = in_build
        else:
            compiled = set()   # a dependency failed: this package was not compiled
        files = set(_go_files(pkg_dir))
        files.update(p for p in overlays if p.parent == pkg_dir and p.suffix == ".go")
        out: list[tuple[str, tuple[lsp.Diagnostic, ...]]] = []
        for p in sorted(files):
            diags = list(by_file.pop(p, []))
            data = read(p)
            if p not in compiled and data is not None and not token.cancelled:
                problems = self.engine.parse_errors(data, env_extra=s.env, go_path=s.go_path, cwd=pkg_dir,
                                                    token=token)
                if problems is not None:
                    seen = {(d.range.start.line, d.message) for d in diags}
                    diags.extend(d for d in convert.parse_diagnostics(data, problems)
                                 if (d.range.start.line, d.message) not in seen)
            if pkg is not None and p not in in_build and s.diagnostics.explain_excluded:
                why = ("a test file: go test builds it, go run does not" if p.name.endswith("_test.go")
                       else "excluded from the build by its build constraints" if p in pkg.excluded
                       else "not part of this package's build")
                diags.append(lsp.Diagnostic(range=lsp.Range(lsp.Position(0, 0), lsp.Position(0, 0)),
                                            message=f"rungo: {p.name} is {why}",
                                            severity=lsp.DiagnosticSeverity.Hint, source=convert.SOURCE))
            if loose and (pkg is None or p in in_build):
                diags.append(lsp.Diagnostic(range=lsp.Range(lsp.Position(0, 0), lsp.Position(0, 0)),
                                            message="\n".join(loose), severity=lsp.DiagnosticSeverity.Error,
                                            source=convert.SOURCE))
            out.append((self.uri_for(p), tuple(diags)))
        for p, diags in by_file.items():
            out.append((self.uri_for(p), tuple(diags)))
        return CheckAnswer(tuple(out), tuple(self.module_answers(pkg_dir, texts, check.message)))

    def module_answers(self, pkg_dir: Path, texts: Mapping[str, str],
                       message: str = "") -> list[tuple[str, tuple[lsp.Diagnostic, ...]]]:
        """go.mod and go.work of pkg_dir, parsed (the editor's text when open), errors at their lines."""
        out: list[tuple[str, tuple[lsp.Diagnostic, ...]]] = []
        root = find_module_root(pkg_dir)
        work = find_go_work(pkg_dir)
        for path in ([root / "go.mod"] if root is not None else []) + ([work] if work is not None else []):
            uri = self.uri_for(path)
            text = texts.get(uri)
            data = text.encode("utf-8", "surrogateescape") if text is not None else self.read_disk(path)
            if data is None:
                continue
            out.append((uri, tuple(module_diagnostics(path, data, message))))
        return out

    def accept(self, pkg_dir: Path, answer: CheckAnswer, versions: Mapping[str, int | None],
               texts: Mapping[str, str]) -> None:
        """Publishes a compiler answer: it replaces everything said about the files it covers."""
        if not self.settings.diagnostics.enabled:
            return
        now = self.versions()
        targets: set[str] = set()
        for uri, diags in answer.files:
            targets.add(uri)
            if uri in now and (uri not in versions or now[uri] != versions[uri]):
                continue     # edited meanwhile: its own check will answer
            state = self.docs.get(uri)
            if state is not None and uri in texts:
                state.compiler = list(diags)
                state.edited = []
                state.answered = True
                state.text = texts[uri]
                state.generation += 1
            self.publish(uri, list(diags), now.get(uri))
        for uri in self.published.get(pkg_dir, set()) - targets:
            self.publish(uri, [])
        self.published[pkg_dir] = targets
        self.accept_modules(answer.modules, versions)

    def accept_modules(self, modules: tuple[tuple[str, tuple[lsp.Diagnostic, ...]], ...],
                       versions: Mapping[str, int | None]) -> None:
        now = self.versions()
        for uri, diags in modules:
            if uri in now and versions.get(uri) != now[uri]:
                continue
            if not diags and uri not in self.module_published:
                continue
            if diags:
                self.module_published.add(uri)
            else:
                self.module_published.discard(uri)
            self.publish(uri, list(diags), now.get(uri))

    async def publish_module_file(self, uri: str, path: Path) -> None:
        """go.mod / go.work edited: its own errors at once, from the editor's text."""
        versions = self.versions()
        texts = self.texts()
        text = texts.get(uri)
        if text is None:
            return
        data = text.encode("utf-8", "surrogateescape")
        diags = await self._in_thread(lambda: module_diagnostics(path, data, ""))
        self.accept_modules(((uri, tuple(diags)),), versions)

    def _parse_only(self, uri: str) -> Callable[[CancelToken], Any]:
        """The check of a document that is not a file on disk (untitled:, notebook cells): the Go parser."""
        async def work(token: CancelToken) -> None:
            versions = self.versions()
            text = self.texts().get(uri)
            if text is None:
                return
            data = text.encode("utf-8", "replace")
            s = self.settings
            cwd = self.roots[0] if self.roots else Path.cwd()
            problems = await self._in_thread(lambda: self.engine.parse_errors(
                data, env_extra=s.env, go_path=s.go_path, cwd=cwd, token=token))
            if problems is None or token.cancelled or self.versions().get(uri) != versions.get(uri):
                return
            diags = convert.parse_diagnostics(data, problems)
            state = self.docs.get(uri)
            if state is not None:
                state.compiler, state.edited, state.answered = list(diags), [], True
                state.text = text
                state.generation += 1
            self.publish(uri, diags, versions.get(uri))
        return work

    def recheck_open(self, delay: float = 0) -> None:
        dirs = {p.parent for uri, _ in self.documents() if (p := uri_to_path(uri)) is not None
                and p.suffix == ".go"}
        for d in dirs | set(self.published):
            if d in dirs or self.published.get(d):
                self.schedule_check(d, delay)

    # -- runs ------------------------------------------------------------------------------------

    async def file_scoped_main(self, path: Path) -> bool:
        """A file the package build leaves out, with its own package main and func main: a program of
        its own, run as `go run file.go`."""
        data = self.doc_bytes(self.uri_for(path))
        if data is None:
            data = await self._in_thread(lambda: self.read_disk(path))
        if data is None:
            return False
        summary = await self.summary(self.uri_for(path), data)
        if summary.package != "main" or summary.main_func is None:
            return False
        s = self.settings
        included = await self._in_thread(lambda: self.engine.included(
            path, data, env_extra=s.env, flags=s.build_flags, go_path=s.go_path))
        return included is False

    def package_args(self, pkg_dir: Path) -> list[str]:
        for key, args in self.settings.args.items():
            candidates = [Path(key)] if os.path.isabs(key) else [r / key for r in self.roots]
            if any(os.path.normpath(c) == os.path.normpath(pkg_dir) for c in candidates):
                return list(args)
            if key.endswith("/" + pkg_dir.name) or key == pkg_dir.name:
                return list(args)
        return []

    def refresh_lenses(self) -> None:
        caps = self.client_capabilities.workspace
        if caps is not None and caps.code_lens is not None and caps.code_lens.refresh_support:
            try:
                self.workspace_code_lens_refresh(None)
            except Exception:  # the client went away
                pass

    def close_all(self) -> None:
        """Shutdown or a lost client: every check, the warm start and every run end now."""
        self.closing = True
        self.warm_token.cancel()
        if self.warm is not None:
            self.warm.cancel()
        for task, token in list(self.checks.values()):
            token.cancel()
            task.cancel()
        self.checks.clear()
        self.runs.kill_all()
        self.close_pool()


class SummaryWorker:
    """One `python -m rungo.syntax.worker` child, started on first use, one request at a time."""

    def __init__(self) -> None:
        self.proc: asyncio.subprocess.Process | None = None
        self.lock = asyncio.Lock()

    async def summarize(self, data: bytes) -> FileSummary | None:
        async with self.lock:
            try:
                if self.proc is None or self.proc.returncode is not None:
                    self.proc = await asyncio.create_subprocess_exec(
                        sys.executable, "-m", "rungo.syntax.worker", stdin=asyncio.subprocess.PIPE,
                        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
                proc = self.proc
                assert proc.stdin is not None and proc.stdout is not None
                proc.stdin.write(len(data).to_bytes(8, "big") + data)
                await proc.stdin.drain()
                head = await proc.stdout.readexactly(8)
                body = await proc.stdout.readexactly(int.from_bytes(head, "big"))
                summary = pickle.loads(body)    # from our own child process
            except asyncio.CancelledError:
                self.kill()      # a half-read answer would confuse the next request
                raise
            except (OSError, EOFError, asyncio.IncompleteReadError, pickle.UnpicklingError, AssertionError):
                self.kill()
                return None
        return summary if isinstance(summary, FileSummary) else None

    def kill(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None and proc.returncode is None:
            try:
                proc.kill()
            except ProcessLookupError:
                pass


def _overlays(texts: Mapping[str, str]) -> dict[Path, bytes]:
    out: dict[Path, bytes] = {}
    for uri, text in texts.items():
        p = uri_to_path(uri)
        if p is None or p.suffix != ".go" or len(text) > MAX_DOCUMENT_BYTES:
            continue
        out[p] = text.encode("utf-8", "replace")
    return out


def _go_files(pkg_dir: Path) -> list[Path]:
    try:
        return [pkg_dir / n for n in os.listdir(pkg_dir) if n.endswith(".go")]
    except OSError:
        return []


def module_diagnostics(path: Path, data: bytes, message: str) -> list[lsp.Diagnostic]:
    """The errors of a go.mod or go.work file at their lines; a "go.mod requires go >= …" load message
    goes on its go line."""
    errors: tuple[ModError, ...]
    if path.name == "go.work":
        errors = parse_work(data, str(path)).errors
    else:
        errors = parse_mod(data, str(path)).errors
    extra: list[ModError] = []
    first = message.split("\n", 1)[0]
    if not errors and path.name == "go.mod" and "go.mod requires go" in first:
        line = next((i + 1 for i, text in enumerate(data.decode("utf-8", "replace").splitlines())
                     if text.strip().startswith("go ")), 1)
        extra.append(ModError(line, 0, first.removeprefix("go: ")))
    return convert.modfile_diagnostics(data, errors + tuple(extra))


class _Events:
    """Turns run events into rungo/* notifications, or log/show messages for plain clients."""

    def __init__(self, server: RungoServer) -> None:
        self.server = server
        self.progress: dict[str, str] = {}

    def started(self, run: Run) -> None:
        s = self.server
        if s.output_support:
            s.notify("rungo/runStarted", {"runId": run.run_id, "package": str(run.pkg_dir), "name": run.name,
                                          "args": list(run.args)})
        caps = s.client_capabilities.window
        if caps is not None and caps.work_done_progress:
            token = f"rungo-build-{uuid.uuid4().hex[:8]}"
            self.progress[run.run_id] = token
            asyncio.ensure_future(self._begin(token, run))

    async def _begin(self, token: str, run: Run) -> None:
        s = self.server
        try:
            await s.work_done_progress.create_async(token)
            s.work_done_progress.begin(token, lsp.WorkDoneProgressBegin(title=f"Building {run.name}", cancellable=False))
        except Exception:
            self.progress.pop(run.run_id, None)

    def _end(self, run: Run, message: str) -> None:
        token = self.progress.pop(run.run_id, None)
        if token is not None:
            try:
                self.server.work_done_progress.end(token, lsp.WorkDoneProgressEnd(message=message))
            except Exception:
                pass

    def output(self, run: Run, data: str) -> None:
        self._end(run, "built")
        s = self.server
        try:
            if s.output_support:
                s.notify("rungo/output", {"runId": run.run_id, "data": data})
            else:
                s.window_log_message(lsp.LogMessageParams(lsp.MessageType.Log, data))
        except Exception:
            pass

    def build_failed(self, run: Run, result: Any) -> None:
        self._end(run, "failed")
        text = result.text.rstrip("\n") + "\n"
        self.output(run, text.replace("\n", "\r\n"))
        # The diagnostics come from a check of what the editor shows now, never from the build's view.
        self.server.schedule_check(run.pkg_dir, 0)

    def exited(self, run: Run, exit_code: int | None, signal_name: str | None, stage: str) -> None:
        self._end(run, "done")
        s = self.server
        duration = run.duration_ms
        result = convert.format_result(exit_code, signal_name, duration, stage)
        s.results[_result_key(run)] = result
        try:
            if s.output_support:
                s.notify("rungo/runExited", {"runId": run.run_id, "exitCode": exit_code, "signal": signal_name,
                                             "durationMs": duration, "stage": stage})
            else:
                kind = lsp.MessageType.Info if stage == "run" and exit_code == 0 else lsp.MessageType.Warning
                s.window_show_message(lsp.ShowMessageParams(kind, f"{run.name}: {result}"))
        except Exception:
            return
        if not s.closing:
            s.refresh_lenses()


def _result_key(run: Run) -> Path:
    return run.pkg_dir / run.files[0] if run.files else run.pkg_dir


def _first_arg(args: tuple[Any, ...]) -> dict[str, Any]:
    if args and isinstance(args[0], dict):
        return args[0]
    if args and isinstance(args[0], str):
        return {"uri": args[0]}
    return {}


def _strings(value: Any, what: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise JsonRpcInvalidParams(f"{what} must be a list of strings")
    return list(value)


def _target_path(target: str) -> Path:
    """A file: URI or an absolute path; anything else (untitled:, notebook cells, other schemes) is refused."""
    if ":" in target.split("/", 1)[0] and not target.startswith("/"):
        path = uri_to_path(target)
        if path is None:
            raise JsonRpcInvalidParams(
                f"rungo.run: {target} is not a file on disk; save it as a .go file first")
        return path
    if not os.path.isabs(target):
        raise JsonRpcInvalidParams(f"rungo.run: {target!r} is neither a file URI nor an absolute path")
    return Path(target)


def create_server(base_env: Mapping[str, str] | None = None) -> RungoServer:
    server = RungoServer(dict(os.environ) if base_env is None else base_env)

    @server.feature(lsp.INITIALIZE)
    def initialize(ls: RungoServer, params: lsp.InitializeParams) -> None:
        if type(ls.workspace) is Workspace:
            ls.workspace.__class__ = EditableWorkspace    # same state, edits applied at C speed
        opts = params.initialization_options
        settings, problems = parse_settings(opts)
        ls.settings = settings
        exp = params.capabilities.experimental
        ls.output_support = bool(
            (isinstance(opts, dict) and opts.get("rungoOutput") is True)
            or (isinstance(exp, dict) and exp.get("rungoOutput") is True))
        ls.runs_allowed = not (isinstance(opts, dict) and opts.get("allowRuns") is False)
        roots: list[Path] = []
        for folder in params.workspace_folders or []:
            p = uri_to_path(folder.uri)
            if p is not None:
                roots.append(p)
        if not roots and params.root_uri:
            p = uri_to_path(params.root_uri)
            if p is not None:
                roots.append(p)
        ls.roots = roots
        for msg in problems:
            ls.window_show_message(lsp.ShowMessageParams(lsp.MessageType.Warning, msg))

    @server.feature(lsp.INITIALIZED)
    async def initialized(ls: RungoServer, params: lsp.InitializedParams) -> None:
        if ls.runs_allowed and ls.settings.warm_start:
            ls.warm = asyncio.ensure_future(_warm_start(ls))
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

    @server.feature(lsp.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: RungoServer, params: lsp.DidOpenTextDocumentParams) -> None:
        ls.on_open(params.text_document.uri)

    @server.feature(lsp.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: RungoServer, params: lsp.DidChangeTextDocumentParams) -> None:
        ls.after_change(params.text_document.uri, immediate=False)

    @server.feature(lsp.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls: RungoServer, params: lsp.DidSaveTextDocumentParams) -> None:
        ls.after_change(params.text_document.uri, immediate=True)

    @server.feature(lsp.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: RungoServer, params: lsp.DidCloseTextDocumentParams) -> None:
        uri = params.text_document.uri
        ls.summaries.pop(uri, None)
        ls.docs.pop(uri, None)
        ls.client_uris.pop(unquote(uri), None)
        p = uri_to_path(uri)
        if p is not None:
            ls.path_uris.pop(p, None)
        if p is None:
            ls.publish(uri, [])
            old = ls.checks.pop(uri, None)
            if old is not None:
                old[0].cancel()
                old[1].cancel()
            return
        if p.name in MODULE_FILES:
            ls.recheck_open()
            return
        if p.suffix != ".go":
            return
        if not p.exists():
            ls.publish(uri, [])
        ls.schedule_check(p.parent, 0)

    @server.feature(lsp.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    def watched(ls: RungoServer, params: lsp.DidChangeWatchedFilesParams) -> None:
        dirs: set[Path] = set()
        module_changed = False
        for ch in params.changes:
            p = uri_to_path(ch.uri)
            if p is None:
                continue
            if p.name in ("go.mod", "go.sum", "go.work", "go.work.sum"):
                module_changed = True
            elif p.suffix == ".go":
                dirs.add(p.parent)
                if ch.type == lsp.FileChangeType.Deleted and ls.doc(ls.uri_for(p)) is None:
                    ls.publish(ls.uri_for(p), [])
        if module_changed:
            ls.recheck_open()
        for d in dirs:
            if ls.open_in(d) or d in ls.published:
                ls.schedule_check(d, ls.settings.diagnostics.delay_ms / 1000)

    @server.feature(lsp.WORKSPACE_DID_CHANGE_CONFIGURATION)
    def configuration(ls: RungoServer, params: lsp.DidChangeConfigurationParams) -> None:
        settings, problems = parse_settings(params.settings)
        ls.settings = settings
        for msg in problems:
            ls.window_show_message(lsp.ShowMessageParams(lsp.MessageType.Warning, msg))
        if not settings.diagnostics.enabled:
            for task, token in list(ls.checks.values()):
                token.cancel()
                task.cancel()
            ls.checks.clear()
            for uris in ls.published.values():
                for uri in uris:
                    ls.publish(uri, [])
            ls.published.clear()
            for uri in list(ls.module_published):
                ls.publish(uri, [])
            ls.module_published.clear()
            for uri, state in ls.docs.items():
                state.compiler, state.edited, state.answered = [], [], False
                ls.publish(uri, [])
        else:
            ls.recheck_open()

    @server.feature(lsp.TEXT_DOCUMENT_CODE_LENS)
    async def code_lens(ls: RungoServer, params: lsp.CodeLensParams) -> list[lsp.CodeLens]:
        uri = params.text_document.uri
        p = uri_to_path(uri)
        if p is None or p.suffix != ".go" or p.name.endswith("_test.go"):
            return []
        data = ls.doc_bytes(uri)
        if data is None:
            data = await ls._in_thread(lambda: ls.read_disk(p))
        if data is None:
            return []
        summary = await ls.summary(uri, data)
        if summary.package != "main" or summary.main_func is None:
            return []
        s = ls.settings
        included = await ls._in_thread(lambda: ls.engine.included(
            p, data, env_extra=s.env, flags=s.build_flags, go_path=s.go_path))
        key = p.parent if included else p
        return convert.main_lenses(uri, data, summary, ls.results.get(key), ls.runs_allowed, included)

    @server.command("rungo.run")
    async def run(ls: RungoServer, *args: Any) -> dict[str, Any]:
        if not ls.runs_allowed:
            raise JsonRpcInvalidRequest("rungo runs no workspace code in Restricted Mode: trust the workspace first")
        opts = _first_arg(args)
        target = opts.get("uri") or opts.get("dir") or opts.get("package")
        if not isinstance(target, str) or not target:
            raise JsonRpcInvalidParams("rungo.run needs {uri} or {dir}")
        path = _target_path(target)
        files: list[str] = []
        if "files" in opts:
            named = [_target_path(f) for f in _strings(opts.get("files"), "files")]
            if not named:
                raise JsonRpcInvalidParams("rungo.run: files is empty")
            dirs = {f.parent for f in named}
            if len(dirs) > 1:
                a, b = sorted(str(d) for d in dirs)[:2]
                raise JsonRpcInvalidParams(f"named files must all be in one directory; have {a} and {b}")
            if any(f.suffix != ".go" for f in named):
                raise JsonRpcInvalidParams("rungo.run: files must be .go files")
            pkg_dir = named[0].parent
            files = [f.name for f in named]
        else:
            pkg_dir = path if path.is_dir() else path.parent
            if path.suffix == ".go" and await ls.file_scoped_main(path):
                files = [path.name]     # as its lens runs it, whichever client command asked
        run_args = _strings(opts.get("args"), "args") if "args" in opts else ls.package_args(pkg_dir)
        flags = [*ls.settings.build_flags, *_strings(opts.get("buildFlags"), "buildFlags")]
        env = dict(ls.settings.env)
        extra_env = opts.get("env") or {}
        if not isinstance(extra_env, dict):
            raise JsonRpcInvalidParams("env must be an object")
        env.update({str(k): str(v) for k, v in extra_env.items()})
        use_buffers = opts.get("useBuffers", True)
        if not isinstance(use_buffers, bool):
            raise JsonRpcInvalidParams("useBuffers must be true or false")
        cols, rows = opts.get("cols", 80), opts.get("rows", 24)
        size = (cols, rows) if isinstance(cols, int) and isinstance(rows, int) and cols > 0 and rows > 0 else (80, 24)
        overlays = _overlays(ls.texts()) if use_buffers else {}
        r = ls.runs.start(pkg_dir, run_args, flags=flags, env=env, go_path=ls.settings.go_path, size=size,
                          files=files, overlays=overlays, versions=ls.versions())
        return {"runId": r.run_id, "package": str(pkg_dir), "name": r.name}

    @server.command("rungo.stop")
    async def stop(ls: RungoServer, *args: Any) -> dict[str, Any]:
        opts = _first_arg(args)
        run_id = opts.get("runId")
        n = await ls.runs.stop(run_id if isinstance(run_id, str) else None)
        return {"stopped": n}

    @server.command("rungo.input")
    def input_(ls: RungoServer, *args: Any) -> dict[str, Any]:
        opts = _first_arg(args)
        data = opts.get("data")
        if not isinstance(data, str):
            raise JsonRpcInvalidParams("rungo.input needs {runId, data}")
        run_id = opts.get("runId")
        ok = ls.runs.input(run_id if isinstance(run_id, str) else None, data.encode("utf-8", "replace"))
        return {"delivered": ok}

    @server.command("rungo.resize")
    def resize(ls: RungoServer, *args: Any) -> dict[str, Any]:
        opts = _first_arg(args)
        cols, rows = opts.get("cols"), opts.get("rows")
        if not (isinstance(cols, int) and isinstance(rows, int) and cols > 0 and rows > 0):
            raise JsonRpcInvalidParams("rungo.resize needs {runId, cols, rows} with positive sizes")
        run_id = opts.get("runId")
        return {"resized": ls.runs.resize(run_id if isinstance(run_id, str) else None, cols, rows)}

    @server.feature(lsp.SHUTDOWN)
    def shutdown(ls: RungoServer, params: None) -> None:
        ls.close_all()

    return server


async def _warm_start(ls: RungoServer) -> None:
    """Builds the workspace's main packages in the background so the first Run only executes."""
    try:
        dirs = await ls._in_thread(lambda: find_main_packages(ls.roots))
        if not dirs:
            return
        token: str | None = None
        caps = ls.client_capabilities.window
        if caps is not None and caps.work_done_progress:
            token = f"rungo-warm-{uuid.uuid4().hex[:8]}"
            try:
                await ls.work_done_progress.create_async(token)
                ls.work_done_progress.begin(token, lsp.WorkDoneProgressBegin(
                    title="rungo: preparing main packages", cancellable=True, percentage=0))
            except Exception:
                token = None
        from rungo.work.workdir import WorkDir

        for i, d in enumerate(dirs):
            if ls.warm_token.cancelled:
                return
            if token is not None:
                ls.work_done_progress.report(token, lsp.WorkDoneProgressReport(
                    message=str(d), percentage=int(100 * i / len(dirs))))
            s = ls.settings

            def build(d: Path = d) -> None:
                work = WorkDir(None, keep=False, announce=lambda _: None)
                try:
                    ls.engine.build(d, env_extra=s.env, flags=s.build_flags, go_path=s.go_path, work=work,
                                    token=ls.warm_token)
                finally:
                    work.close()

            await ls._in_thread(build)
        if token is not None:
            ls.work_done_progress.end(token, lsp.WorkDoneProgressEnd(message=f"{len(dirs)} main packages ready"))
    except asyncio.CancelledError:
        ls.warm_token.cancel()
        return


def serve(argv: list[str]) -> int:
    """`rungo lsp [--stdio] [--tcp HOST:PORT]`."""
    import sys

    tcp: str | None = None
    it = iter(argv)
    for a in it:
        if a == "--stdio":
            continue
        if a == "--tcp":
            tcp = next(it, "")
        elif a.startswith("--tcp="):
            tcp = a.split("=", 1)[1]
        else:
            sys.stderr.write(f"rungo lsp: unknown argument {a}\nusage: rungo lsp [--stdio | --tcp HOST:PORT]\n")
            return 125
    server = create_server()
    try:
        if tcp is not None:
            host, _, port = tcp.rpartition(":")
            if not port.isdigit():
                sys.stderr.write(f"rungo lsp: --tcp wants HOST:PORT, got {tcp!r}\n")
                return 125
            server.start_tcp(host or "127.0.0.1", int(port))
        else:
            server.start_io()
    finally:
        server.close_all()
    return 0
