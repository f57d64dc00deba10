"""JSON-RPC 2.0 to the letter: every request answered, -32602 for invalid params, -32700 for unreadable JSON,
no popups for protocol errors, and documents that are not files (untitled:, notebook cells) handled."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from conftest import write_tree
from lspkit import CLIENTS
from rawkit import RawServer, capabilities

MODULE = {
    "go.mod": "module example.com/proto\n\ngo 1.22\n",
    "main.go": 'package main\n\nfunc main() {}\n',
}


@pytest.fixture(params=CLIENTS)
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_every_request_gets_an_answer(kind: str, tmp_path: Path, base_env: dict[str, str]) -> None:
    root = write_tree(tmp_path / "ws", MODULE)
    s = RawServer.start(base_env)
    try:
        s.initialize(root, kind)
        main = (root / "main.go").as_uri()
        s.notify("textDocument/didOpen", {"textDocument": {"uri": main, "languageId": "go", "version": 1,
                                                           "text": MODULE["main.go"]}})
        # Invalid params: an answer with -32602 and a message that says what is wrong.
        bad = s.request("textDocument/codeLens", {"textDocument": 5})
        r = s.response(bad)
        assert r["error"]["code"] == -32602, r
        assert "textDocument" in r["error"]["message"], r
        # Unreadable JSON: -32700 with a null id.
        s.send_bytes(b'{"jsonrpc": "2.0", "id": 77, "method": "textDocument/codeLens", "params": {')
        r = s.response(None)
        assert r["error"]["code"] == -32700, r
        # Not JSON-RPC 2.0, and an unknown method: -32600 and -32601.
        s.send_bytes(b'{"id": 78, "method": "textDocument/codeLens", "params": {}}')
        assert s.response(78)["error"]["code"] == -32600
        unknown = s.request("rungo/noSuchMethod", {})
        assert s.response(unknown)["error"]["code"] == -32601
        # Commands with bad arguments: -32602, never a popup.
        for args in ([{"uri": 42}], [{"uri": main, "args": "x"}], [{"uri": "untitled:Untitled-1"}],
                     [{"uri": "vscode-notebook-cell:/nb.ipynb#cell1"}]):
            rid = s.request("workspace/executeCommand", {"command": "rungo.run", "arguments": args})
            r = s.response(rid)
            assert r["error"]["code"] == -32602, (args, r)
        r = s.response(s.request("workspace/executeCommand", {"command": "rungo.run", "arguments": [
            {"uri": "untitled:Untitled-1"}]}))
        assert "not a file on disk" in r["error"]["message"], r
        # A good request still works after all that.
        ok = s.response(s.request("textDocument/codeLens", {"textDocument": {"uri": main}}))
        assert [lens["command"]["title"] for lens in ok["result"]][:1] == ["▶ Run"], ok
        popups = s.messages("window/showMessage")
        assert not popups, popups
        assert any("invalid params" in m["params"]["message"] for m in s.messages("window/logMessage"))
    finally:
        assert s.close() == 0


def test_untitled_and_notebook_documents(kind: str, tmp_path: Path, base_env: dict[str, str]) -> None:
    root = write_tree(tmp_path / "ws", MODULE)
    s = RawServer.start(base_env, cwd=root)
    try:
        s.initialize(root, kind)
        for uri in ("untitled:Untitled-1", "vscode-notebook-cell:/ws/nb.ipynb#W0sZmlsZQ%3D%3D"):
            s.notify("textDocument/didOpen", {"textDocument": {
                "uri": uri, "languageId": "go", "version": 1,
                "text": "package main\n\nfunc main() {\n\tx := new(123)\n\t_ = x\n\tfor {\n}\n"}})
            pub = s.wait(lambda m: m.get("method") == "textDocument/publishDiagnostics"
                         and m["params"]["uri"] == uri and m["params"]["diagnostics"], 60)
            diags = pub["params"]["diagnostics"]
            # The Go parser's verdict: the unclosed block, and nothing about new(123).
            assert all(d["range"]["start"]["line"] != 3 for d in diags), diags
            assert any("expected" in d["message"] or "EOF" in d["message"] for d in diags), diags
            lenses = s.response(s.request("textDocument/codeLens", {"textDocument": {"uri": uri}}))
            assert lenses.get("result") == [], lenses
        assert not s.messages("window/showMessage")
        assert not any("go" == str(m["params"].get("message", "")).split(":")[0]
                       for m in s.messages("window/logMessage"))
    finally:
        assert s.close() == 0


def test_requests_after_shutdown_are_answered(kind: str, tmp_path: Path, base_env: dict[str, str]) -> None:
    root = write_tree(tmp_path / "ws", MODULE)
    s = RawServer.start(base_env)
    try:
        s.initialize(root, kind)
        s.response(s.request("shutdown", None))
        late = s.request("textDocument/codeLens", {"textDocument": {"uri": (root / "main.go").as_uri()}})
        r: dict[str, Any] = s.response(late)
        assert r["error"]["code"] == -32600, r
        s.notify("exit", None)
        assert s.proc.wait(timeout=10) == 0
    finally:
        if s.proc.poll() is None:
            s.proc.kill()


def test_positions_are_utf16_for_every_client(kind: str, tmp_path: Path, base_env: dict[str, str]) -> None:
    """Neovim offers UTF-8 first; the server's columns are UTF-16, so it must settle on UTF-16."""
    root = write_tree(tmp_path / "ws", MODULE)
    s = RawServer.start(base_env)
    try:
        s.next_id = 0
        rid = s.request("initialize", {"processId": None, "rootUri": root.as_uri(),
                                       "capabilities": capabilities(kind),
                                       "initializationOptions": {"warmStart": False}})
        encoding = s.response(rid, 60)["result"]["capabilities"].get("positionEncoding", "utf-16")
        assert encoding == "utf-16", encoding
        s.notify("initialized", {})
        uri = (root / "main.go").as_uri()
        line = '\tx := "héllo ✓ 😀"; println(x, undefinedName)'
        s.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "go", "version": 1,
                                                           "text": f"package main\n\nfunc main() {{\n{line}\n}}\n"}})
        m = s.wait(lambda m: m.get("method") == "textDocument/publishDiagnostics" and m["params"]["diagnostics"], 60)
        d = m["params"]["diagnostics"][0]
        want = len(line[:line.index("undefinedName")].encode("utf-16-le")) // 2
        assert d["range"]["start"] == {"line": 3, "character": want}, d
    finally:
        assert s.close() == 0
