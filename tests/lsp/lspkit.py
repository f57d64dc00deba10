"""A real `rungo lsp` process per test, driven once with VS Code's and once with Neovim's capabilities."""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, AsyncIterator

import pytest
import pytest_asyncio
from lsprotocol import types as lsp
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from conftest import RUNGO, write_tree

CLIENTS = ["visual_studio_code", "neovim"]


@dataclass
class Recorder:
    """Everything the server sent that the tests look at, in arrival order."""

    publishes: list[lsp.PublishDiagnosticsParams] = field(default_factory=list)
    output: dict[str, list[str]] = field(default_factory=dict)
    started: list[dict[str, Any]] = field(default_factory=list)
    exited: dict[str, dict[str, Any]] = field(default_factory=dict)
    events: asyncio.Event = field(default_factory=asyncio.Event)

    def poke(self) -> None:
        self.events.set()

    async def until(self, predicate: Any, timeout: float = 60.0, what: str = "") -> Any:
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"timed out waiting for {what or predicate}")
            self.events.clear()
            try:
                await asyncio.wait_for(self.events.wait(), min(left, 0.5))
            except asyncio.TimeoutError:
                pass

    def last(self, uri: str) -> lsp.PublishDiagnosticsParams | None:
        for p in reversed(self.publishes):
            if p.uri == uri:
                return p
        return None


@dataclass
class Session:
    client: LanguageClient
    rec: Recorder
    root: Path
    kind: str
    versions: dict[str, int] = field(default_factory=dict)

    def uri(self, rel: str) -> str:
        return (self.root / rel).as_uri()

    def open(self, rel: str, text: str | None = None) -> str:
        uri = self.uri(rel)
        if text is None:
            text = (self.root / rel).read_text()
        self.versions[uri] = 1
        self.client.text_document_did_open(lsp.DidOpenTextDocumentParams(
            lsp.TextDocumentItem(uri=uri, language_id="go", version=1, text=text)))
        return uri

    def change(self, uri: str, text: str) -> int:
        v = self.versions[uri] + 1
        self.versions[uri] = v
        self.client.text_document_did_change(lsp.DidChangeTextDocumentParams(
            text_document=lsp.VersionedTextDocumentIdentifier(uri=uri, version=v),
            content_changes=[lsp.TextDocumentContentChangeWholeDocument(text=text)]))
        return v

    async def diagnostics(self, uri: str, predicate: Any, what: str = "", timeout: float = 60.0) -> list[lsp.Diagnostic]:
        def check() -> tuple[list[lsp.Diagnostic]] | None:
            p = self.rec.last(uri)
            if p is None:
                return None
            if p.version is not None and uri in self.versions and p.version != self.versions[uri]:
                return None
            diags = list(p.diagnostics)
            return (diags,) if predicate(diags) else None
        try:
            result: tuple[list[lsp.Diagnostic]] = await self.rec.until(check, timeout, what)
        except AssertionError as e:
            last = self.rec.last(uri)
            shown = "nothing" if last is None else f"version {last.version}: " + "; ".join(
                f"{d.range.start.line}:{d.range.start.character} {d.message}" for d in last.diagnostics)
            raise AssertionError(f"{e}; the last publish for {uri} was {shown or 'empty'} "
                                 f"(document version {self.versions.get(uri)})") from None
        return result[0]

    async def command(self, name: str, arg: dict[str, Any]) -> Any:
        return await self.client.workspace_execute_command_async(
            lsp.ExecuteCommandParams(command=name, arguments=[arg]))


@pytest.fixture(scope="session")
def lsp_env(base_env: dict[str, str]) -> dict[str, str]:
    return dict(base_env)


def make_client(rec: Recorder) -> LanguageClient:
    from pytest_lsp.client import make_test_lsp_client

    client = make_test_lsp_client()
    client.protocol.fm._features.pop(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS, None)  # record every publish

    @client.feature(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    def publish(params: lsp.PublishDiagnosticsParams) -> None:
        client.diagnostics[params.uri] = params.diagnostics
        rec.publishes.append(params)
        rec.poke()

    @client.feature("rungo/output")
    def output(params: Any) -> None:
        rec.output.setdefault(params.runId, []).append(params.data)
        rec.poke()

    @client.feature("rungo/runStarted")
    def started(params: Any) -> None:
        rec.started.append({"runId": params.runId})
        rec.poke()

    @client.feature("rungo/runExited")
    def exited(params: Any) -> None:
        rec.exited[params.runId] = {"exitCode": params.exitCode, "signal": params.signal,
                                    "durationMs": params.durationMs, "stage": params.stage}
        rec.poke()

    return client


async def start_session(kind: str, root: Path, env: dict[str, str],
                        init: dict[str, Any] | None = None) -> Session:
    rec = Recorder()
    config = ClientServerConfig(server_command=[*RUNGO, "lsp"], server_env=env,
                                client_factory=lambda: make_client(rec))
    client = await config.start()
    options: dict[str, Any] = {"rungoOutput": True, "diagnostics": {"delayMs": 50}}
    if init:
        options.update(init)
    await client.initialize_session(lsp.InitializeParams(
        capabilities=client_capabilities(kind),
        root_uri=root.as_uri(),
        workspace_folders=[lsp.WorkspaceFolder(uri=root.as_uri(), name=root.name)],
        initialization_options=options,
    ))
    return Session(client, rec, root, kind)


async def end_session(s: Session) -> None:
    try:
        await asyncio.wait_for(s.client.shutdown_session(), 30)
    finally:
        await s.client.stop()


@pytest_asyncio.fixture(params=CLIENTS)
async def session_factory(request: pytest.FixtureRequest, lsp_env: dict[str, str],
                          tmp_path: Path) -> AsyncIterator[Any]:
    started: list[Session] = []

    async def factory(files: dict[str, str], init: dict[str, Any] | None = None) -> Session:
        root = tmp_path / "ws"
        write_tree(root, files)
        s = await start_session(request.param, root, lsp_env, init)
        started.append(s)
        return s

    yield factory
    for s in started:
        await end_session(s)


def alive(pid: int) -> bool:
    """Whether a process exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def child_pids_of(pid: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(entry))
    return out
