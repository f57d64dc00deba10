"""`initialize` is answered before the server's modules are imported, with exactly the capabilities
the server computes, and the server then takes the same stream as if it had read it itself."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from typing import Any

import pytest
from lsprotocol import converters
from lsprotocol import types as lsp
from pygls.capabilities import ServerCapabilitiesBuilder
from pytest_lsp import client_capabilities

from conftest import RUNGO
from rungo import __version__
from rungo.lsp.quickstart import CAPABILITIES, Replay, Skip, frame, read_message
from rungo.lsp.server import create_server


def _without_false(d: Any) -> Any:
    if isinstance(d, dict):
        return {k: _without_false(v) for k, v in d.items() if v is not False or k == "resolveProvider"}
    return d


@pytest.mark.parametrize("kind", ["visual-studio-code", "neovim", None])
def test_the_early_answer_is_what_the_server_computes(kind: str | None) -> None:
    server = create_server({})
    fm = server.protocol.fm
    caps = client_capabilities(kind) if kind else lsp.ClientCapabilities()
    if caps.general is not None:
        caps.general.position_encodings = None     # the server always speaks UTF-16
    built = ServerCapabilitiesBuilder(caps, set({**fm.features, **fm.builtin_features}.keys()), fm.feature_options,
                                      list(fm.commands.keys()), server._text_document_sync_kind,
                                      server._notebook_document_sync, lsp.PositionEncodingKind.Utf16).build()
    computed = json.loads(json.dumps(converters.get_converter().unstructure(built)))
    assert _without_false(computed) == CAPABILITIES


def test_replay_gives_the_first_message_then_the_stream() -> None:
    first = frame({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}})
    second = frame({"jsonrpc": "2.0", "method": "initialized", "params": {}})
    stream = io.BytesIO(first + second)
    raw, msg = read_message(stream)
    assert raw == first and msg is not None and msg["id"] == 1
    replay = Replay(raw, stream)
    got1 = read_message(replay)   # type: ignore[arg-type]
    got2 = read_message(replay)   # type: ignore[arg-type]
    assert got1[0] == first and got2[0] == second and got2[1] == {"jsonrpc": "2.0", "method": "initialized",
                                                                      "params": {}}


def test_skip_drops_only_the_answer_already_sent() -> None:
    out = io.BytesIO()
    skip = Skip(out, 7)
    note = frame({"jsonrpc": "2.0", "method": "window/logMessage", "params": {"type": 3, "message": "x"}})
    answer = frame({"jsonrpc": "2.0", "id": 7, "result": {"capabilities": {}}})
    later = frame({"jsonrpc": "2.0", "id": 7, "result": None})
    data = note + answer + later
    for i in range(0, len(data), 5):             # whatever the writes' boundaries
        skip.write(data[i:i + 5])
    assert out.getvalue() == note + later


def _startup() -> float:
    best = float("inf")
    for _ in range(3):
        t = time.monotonic()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        best = min(best, time.monotonic() - t)
    return best


def test_initialize_is_answered_before_the_imports(tmp_path: Any) -> None:
    """Within 100 ms of what starting the interpreter costs (best of three, each side), whatever the
    server's modules cost to import; the server then goes on with the same stream (shutdown is answered)."""
    (tmp_path / "go.mod").write_text("module example.com/q\n\ngo 1.22\n")
    (tmp_path / "main.go").write_text("package main\n\nfunc main() { var x int = \"s\" }\n")
    env = dict(os.environ, GOPROXY="off")
    best = float("inf")
    for _ in range(3):
        t = time.monotonic()
        proc = subprocess.Popen([*RUNGO, "lsp"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env,
                                cwd=tmp_path)
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(frame({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "processId": None, "rootUri": tmp_path.as_uri(), "capabilities": {},
            "initializationOptions": {"warmStart": False}}}))
        proc.stdin.flush()
        _, answer = read_message(proc.stdout)   # type: ignore[arg-type]
        best = min(best, time.monotonic() - t)
        assert answer is not None and answer["id"] == 1
        assert answer["result"]["serverInfo"] == {"name": "rungo", "version": __version__}
        uri = (tmp_path / "main.go").as_uri()
        for msg in ({"method": "initialized", "params": {}},
                    {"method": "textDocument/didOpen", "params": {"textDocument": {
                        "uri": uri, "languageId": "go", "version": 1, "text": (tmp_path / "main.go").read_text()}}},
                    {"id": 2, "method": "shutdown", "params": None}):
            proc.stdin.write(frame({"jsonrpc": "2.0", **msg}))
        proc.stdin.flush()
        seen = []
        while True:
            _, m = read_message(proc.stdout)   # type: ignore[arg-type]
            assert m is not None, seen
            seen.append(m)
            if m.get("id") == 2:
                break
        assert [m for m in seen if m.get("id") == 1] == []       # the server's own answer is not sent again
        proc.stdin.write(frame({"jsonrpc": "2.0", "method": "exit", "params": None}))
        proc.stdin.close()
        assert proc.wait(30) == 0
    assert best - _startup() < 0.1, f"initialize took {best:.3f} s"
