"""`rungo lsp`: live diagnostics, a Run lens above func main, and runs streamed to the editor."""

from __future__ import annotations

import asyncio
import logging
import os
import time
import uuid
from pathlib import Path
from typing import Any, Callable, Mapping, TypeVar
from urllib.parse import unquote, urlparse

from lsprotocol import types as lsp
from pygls.lsp.server import LanguageServer

from rungo import __version__
from rungo.lsp import convert
from rungo.lsp.engine import BuildResult, Engine, find_main_packages
from rungo.lsp.runs import Run, RunManager
from rungo.lsp.settings import Settings, parse_settings
from rungo.pipeline import PackageCheck
from rungo.syntax import FileSummary, summarize

T = TypeVar("T")
log = logging.getLogger("rungo.lsp")

MAX_DOCUMENT_BYTES = 16 << 20


def uri_to_path(uri: str) -> Path | None:
    u = urlparse(uri)
    if u.scheme != "file":
        return None
    return Path(unquote(u.path))


class RungoServer(LanguageServer):
    """The server's state: settings, open packages, pending checks and runs."""

    def __init__(self, base_env: Mapping[str, str]) -> None:
        super().__init__("rungo", __version__, text_document_sync_kind=lsp.TextDocumentSyncKind.Incremental)
        self.engine = Engine(base_env)
        self.settings = Settings()
        self.output_support = False
        self.runs_allowed = True                       # False in an untrusted (Restricted Mode) workspace
        self.roots: list[Path] = []
        self.checks: dict[Path, asyncio.Task[None]] = {}
        self.published: dict[Path, set[str]] = {}     # package dir -> uris it published to
        self.results: dict[Path, str] = {}            # package dir -> last run result for the lens
        self.summaries: dict[str, tuple[int | None, FileSummary]] = {}
        self.warm: asyncio.Task[None] | None = None
        self.runs = RunManager(self.engine, _Events(self), self._in_thread)

    # -- helpers ---------------------------------------------------------------------------

    async def _in_thread(self, fn: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(None, fn)

    def doc_bytes(self, uri: str) -> bytes | None:
        doc = self.workspace.text_documents.get(uri)
        if doc is None:
            return None
        source: str = doc.source
        return source.encode("utf-8", "replace")

    def read(self, path: Path) -> bytes | None:
        data = self.doc_bytes(path.as_uri())
        if data is not None:
            return data
        try:
            with open(path, "rb") as f:
                return f.read(MAX_DOCUMENT_BYTES)
        except OSError:
            return None

    def summary(self, uri: str, data: bytes) -> FileSummary:
        doc = self.workspace.text_documents.get(uri)
        version = doc.version if doc is not None else None
        hit = self.summaries.get(uri)
        if hit is not None and hit[0] == version and version is not None:
            return hit[1]
        s = summarize(data)
        self.summaries[uri] = (version, s)
        return s

    def open_in(self, pkg_dir: Path) -> dict[str, int | None]:
        out: dict[str, int | None] = {}
        for uri, doc in self.workspace.text_documents.items():
            p = uri_to_path(uri)
            if p is not None and p.parent == pkg_dir and p.suffix == ".go":
                out[uri] = doc.version
        return out

    def overlays(self) -> dict[Path, bytes]:
        out: dict[Path, bytes] = {}
        for uri in list(self.workspace.text_documents):
            p = uri_to_path(uri)
            if p is None or p.suffix != ".go":
                continue
            data = self.doc_bytes(uri)
            if data is not None and len(data) <= MAX_DOCUMENT_BYTES:
                out[p] = data
        return out

    def go_files(self, pkg_dir: Path) -> set[Path]:
        files: set[Path] = set()
        try:
            for name in os.listdir(pkg_dir):
                if name.endswith(".go"):
                    files.add(pkg_dir / name)
        except OSError:
            pass
        for uri in self.open_in(pkg_dir):
            p = uri_to_path(uri)
            if p is not None:
                files.add(p)
        return files

    def publish(self, uri: str, diagnostics: list[lsp.Diagnostic]) -> None:
        doc = self.workspace.text_documents.get(uri)
        self.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(
            uri=uri, diagnostics=diagnostics, version=doc.version if doc is not None else None))

    def notify(self, method: str, params: dict[str, Any]) -> None:
        self.protocol.notify(method, params)

    # -- diagnostics ---------------------------------------------------------------------------

    def on_change(self, uri: str, *, immediate: bool) -> None:
        path = uri_to_path(uri)
        if path is None or path.suffix != ".go":
            return
        if self.settings.diagnostics.enabled:
            data = self.doc_bytes(uri)
            if data is not None:
                self.publish(uri, convert.syntax_diagnostics(data, self.summary(uri, data)))
        self.schedule_check(path.parent, 0 if immediate else self.settings.diagnostics.delay_ms / 1000)

    def schedule_check(self, pkg_dir: Path, delay: float) -> None:
        if not self.settings.diagnostics.enabled:
            return
        old = self.checks.pop(pkg_dir, None)
        if old is not None and not old.done():
            old.cancel()
        self.checks[pkg_dir] = asyncio.ensure_future(self._check_later(pkg_dir, delay))

    async def _check_later(self, pkg_dir: Path, delay: float) -> None:
        try:
            if delay > 0:
                await asyncio.sleep(delay)
            versions = self.open_in(pkg_dir)
            overlays = self.overlays()
            s = self.settings
            check = await self._in_thread(lambda: self.engine.check(
                pkg_dir, overlays, env_extra=s.env, flags=s.build_flags, go_path=s.go_path))
        except asyncio.CancelledError:
            return
        if self.open_in(pkg_dir) != versions:
            return  # an edit arrived meanwhile; its own check will publish
        self.publish_check(pkg_dir, check)

    def publish_check(self, pkg_dir: Path, check: PackageCheck) -> None:
        """Publishes a check for every file of the package (clearing fixed ones) and the files it names."""
        by_file, loose = convert.check_diagnostics(check, self.read)
        pkg = check.package
        in_build = {f.path for f in pkg.files} if pkg is not None else set()
        targets: set[str] = set()
        files = self.go_files(pkg_dir)
        for p in sorted(files):
            uri = p.as_uri()
            targets.add(uri)
            diags = list(by_file.pop(p, []))
            if not diags or p not in in_build:
                data = self.read(p)
                if data is not None:
                    diags.extend(convert.syntax_diagnostics(data, self.summary(uri, data)))
            if pkg is not None and p not in in_build and self.settings.diagnostics.explain_excluded:
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
            self.publish(uri, diags)
        for p, diags in by_file.items():
            uri = p.as_uri()
            targets.add(uri)
            self.publish(uri, diags)
        for uri in self.published.get(pkg_dir, set()) - targets:
            self.publish(uri, [])
        self.published[pkg_dir] = targets

    def recheck_open(self, delay: float = 0) -> None:
        dirs = {p.parent for uri in self.workspace.text_documents if (p := uri_to_path(uri)) is not None and p.suffix == ".go"}
        for d in dirs:
            self.schedule_check(d, delay)

    # -- runs ------------------------------------------------------------------------------------

    def package_args(self, pkg_dir: Path) -> list[str]:
        for key, args in self.settings.args.items():
            candidates = [Path(key)] if os.path.isabs(key) else [r / key for r in self.roots]
            if any(os.path.normpath(c) == os.path.normpath(pkg_dir) for c in candidates):
                return list(args)
            if key.endswith("/" + pkg_dir.name) or key == pkg_dir.name:
                return list(args)
        return []

    def lens_result(self, pkg_dir: Path) -> str | None:
        return self.results.get(pkg_dir)

    def refresh_lenses(self) -> None:
        caps = self.client_capabilities.workspace
        if caps is not None and caps.code_lens is not None and caps.code_lens.refresh_support:
            try:
                self.workspace_code_lens_refresh(None)
            except Exception:  # the client went away
                pass


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
        if s.output_support:
            s.notify("rungo/output", {"runId": run.run_id, "data": data})
        else:
            s.window_log_message(lsp.LogMessageParams(lsp.MessageType.Log, data))

    def build_failed(self, run: Run, result: BuildResult) -> None:
        self._end(run, "failed")
        text = result.text.rstrip("\n") + "\n"
        self.output(run, text.replace("\n", "\r\n"))
        if result.check is not None:
            self.server.publish_check(run.pkg_dir, result.check)

    def exited(self, run: Run, exit_code: int | None, signal_name: str | None, stage: str) -> None:
        self._end(run, "done")
        s = self.server
        duration = run.duration_ms
        result = convert.format_result(exit_code, signal_name, duration, stage)
        s.results[run.pkg_dir] = result
        if s.output_support:
            s.notify("rungo/runExited", {"runId": run.run_id, "exitCode": exit_code, "signal": signal_name,
                                         "durationMs": duration, "stage": stage})
        else:
            kind = lsp.MessageType.Info if stage == "run" and exit_code == 0 else lsp.MessageType.Warning
            s.window_show_message(lsp.ShowMessageParams(kind, f"{run.name}: {result}"))
        s.refresh_lenses()


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
        raise ValueError(f"{what} must be a list of strings")
    return list(value)


def create_server(base_env: Mapping[str, str] | None = None) -> RungoServer:
    server = RungoServer(dict(os.environ) if base_env is None else base_env)

    @server.feature(lsp.INITIALIZE)
    def initialize(ls: RungoServer, params: lsp.InitializeParams) -> None:
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
    def initialized(ls: RungoServer, params: lsp.InitializedParams) -> None:
        if ls.runs_allowed:
            ls.warm = asyncio.ensure_future(_warm_start(ls))

    @server.feature(lsp.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: RungoServer, params: lsp.DidOpenTextDocumentParams) -> None:
        ls.on_change(params.text_document.uri, immediate=True)

    @server.feature(lsp.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: RungoServer, params: lsp.DidChangeTextDocumentParams) -> None:
        ls.on_change(params.text_document.uri, immediate=False)

    @server.feature(lsp.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls: RungoServer, params: lsp.DidSaveTextDocumentParams) -> None:
        ls.on_change(params.text_document.uri, immediate=True)

    @server.feature(lsp.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: RungoServer, params: lsp.DidCloseTextDocumentParams) -> None:
        p = uri_to_path(params.text_document.uri)
        ls.summaries.pop(params.text_document.uri, None)
        if p is None or p.suffix != ".go":
            return
        if not p.exists():
            ls.publish(params.text_document.uri, [])
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
                if ch.type == lsp.FileChangeType.Deleted and p.as_uri() not in ls.workspace.text_documents:
                    ls.publish(p.as_uri(), [])
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
            for uris in ls.published.values():
                for uri in uris:
                    ls.publish(uri, [])
            ls.published.clear()
        else:
            ls.recheck_open()

    @server.feature(lsp.TEXT_DOCUMENT_CODE_LENS)
    def code_lens(ls: RungoServer, params: lsp.CodeLensParams) -> list[lsp.CodeLens]:
        uri = params.text_document.uri
        p = uri_to_path(uri)
        if p is None or p.suffix != ".go" or p.name.endswith("_test.go"):
            return []
        data = ls.read(p)
        if data is None:
            return []
        return convert.main_lenses(uri, data, ls.summary(uri, data), ls.lens_result(p.parent), ls.runs_allowed)

    @server.command("rungo.run")
    def run(ls: RungoServer, *args: Any) -> dict[str, Any]:
        if not ls.runs_allowed:
            raise ValueError("rungo runs no workspace code in Restricted Mode: trust the workspace first")
        opts = _first_arg(args)
        target = opts.get("uri") or opts.get("dir") or opts.get("package")
        if not isinstance(target, str) or not target:
            raise ValueError("rungo.run needs {uri} or {dir}")
        path = uri_to_path(target) if "://" in target else Path(target)
        if path is None:
            raise ValueError(f"rungo.run: not a file URI: {target}")
        pkg_dir = path if path.is_dir() else path.parent
        run_args = _strings(opts.get("args"), "args") if "args" in opts else ls.package_args(pkg_dir)
        flags = [*ls.settings.build_flags, *_strings(opts.get("buildFlags"), "buildFlags")]
        env = dict(ls.settings.env)
        extra_env = opts.get("env") or {}
        if not isinstance(extra_env, dict):
            raise ValueError("env must be an object")
        env.update({str(k): str(v) for k, v in extra_env.items()})
        cols, rows = opts.get("cols", 80), opts.get("rows", 24)
        size = (cols, rows) if isinstance(cols, int) and isinstance(rows, int) and cols > 0 and rows > 0 else (80, 24)
        r = ls.runs.start(pkg_dir, run_args, flags=flags, env=env, go_path=ls.settings.go_path, size=size)
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
            raise ValueError("rungo.input needs {runId, data}")
        run_id = opts.get("runId")
        ok = ls.runs.input(run_id if isinstance(run_id, str) else None, data.encode("utf-8", "replace"))
        return {"delivered": ok}

    @server.command("rungo.resize")
    def resize(ls: RungoServer, *args: Any) -> dict[str, Any]:
        opts = _first_arg(args)
        cols, rows = opts.get("cols"), opts.get("rows")
        if not (isinstance(cols, int) and isinstance(rows, int) and cols > 0 and rows > 0):
            raise ValueError("rungo.resize needs {runId, cols, rows} with positive sizes")
        run_id = opts.get("runId")
        return {"resized": ls.runs.resize(run_id if isinstance(run_id, str) else None, cols, rows)}

    @server.feature(lsp.SHUTDOWN)
    def shutdown(ls: RungoServer, params: None) -> None:
        if ls.warm is not None:
            ls.warm.cancel()
        ls.runs.kill_all()

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
        from rungo.build.execute import WorkDir

        for i, d in enumerate(dirs):
            if token is not None:
                ls.work_done_progress.report(token, lsp.WorkDoneProgressReport(
                    message=str(d), percentage=int(100 * i / len(dirs))))
            s = ls.settings
            work = WorkDir(None, keep=False, announce=lambda _: None)
            try:
                await ls._in_thread(lambda: ls.engine.build(
                    d, env_extra=s.env, flags=s.build_flags, go_path=s.go_path, work=work))
            finally:
                work.close()
        if token is not None:
            ls.work_done_progress.end(token, lsp.WorkDoneProgressEnd(message=f"{len(dirs)} main packages ready"))
    except asyncio.CancelledError:
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
        server.runs.kill_all()
    return 0
