"""10,000 random edits and malformed messages to one server: every request is answered, no publish goes
back to an older version, and the server's text ends equal to the client's."""

from __future__ import annotations


import random
import time
from pathlib import Path
from typing import Any

import pytest

from conftest import write_tree
from lspkit import CLIENTS
from rawkit import RawServer, capabilities

EDITS = 10_000
SNIPPETS = ["x", "y := 1\n", "}", "{", "(", ")", "\n", "\t", "fmt.Println(z)\n", '"', "é", "✓", "😀", "new(1)",
            "func f() {}\n", "// c\n", "var", " ", "0x", "`", "/*", "*/", ";", "package p\n", "\\"]
MALFORMED: list[bytes] = [
    b"{", b"", b"null", b"[]", b"[1, 2]", b'"text"', b"\xff\xfe",
    b'{"jsonrpc": "2.0", "method": "textDocument/didChange", "params": {"textDocument": 3}}',
    b'{"jsonrpc": "1.0", "id": "old", "method": "shutdown"}',
    b'{"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": null}',
    b'{"jsonrpc": "2.0", "id": null, "result": 1}',
]
START = 'package main\n\nimport "fmt"\n\nfunc main() {\n\tfmt.Println("start")\n}\n'
FINAL = 'package main\n\nimport "fmt"\n\nfunc main() {\n\tfmt.Println(undefinedFinalName)\n}\n'


def position(text: str, offset: int, encoding: str) -> dict[str, int]:
    line = text.count("\n", 0, offset)
    start = text.rfind("\n", 0, offset) + 1
    prefix = text[start:offset]
    char = len(prefix.encode("utf-8")) if encoding == "utf-8" else len(prefix.encode("utf-16-le")) // 2
    return {"line": line, "character": char}


@pytest.mark.parametrize("kind", CLIENTS)
def test_random_edits_and_malformed_messages(kind: str, tmp_path: Path, base_env: dict[str, str]) -> None:
    rng = random.Random(12 if kind == "neovim" else 26)
    root = write_tree(tmp_path / "ws", {"go.mod": "module example.com/fuzz\n\ngo 1.22\n"})
    (root / "main.go").write_text(START)
    s = RawServer.start(base_env)
    expected: dict[Any, str] = {}        # request id -> what kind of answer it needs
    try:
        s.next_id = 0
        rid = s.request("initialize", {
            "processId": None, "rootUri": root.as_uri(), "capabilities": capabilities(kind),
            "initializationOptions": {"rungoOutput": True, "warmStart": False, "diagnostics": {"delayMs": 20}}})
        encoding = s.response(rid, 60)["result"]["capabilities"].get("positionEncoding", "utf-16")
        s.notify("initialized", {})
        uri = (root / "main.go").as_uri()
        text, version = START, 1
        s.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "go", "version": 1,
                                                           "text": text}})
        malformed = 0
        for _ in range(EDITS):
            roll = rng.random()
            if roll < 0.04:
                expected[s.request("textDocument/codeLens", {"textDocument": {"uri": uri}})] = "result"
            elif roll < 0.06:
                expected[s.request("textDocument/codeLens", {"textDocument": rng.choice([5, None, "x", []])})] = "error"
            elif roll < 0.07:
                expected[s.request("rungo/unknown", {})] = "error"
            elif roll < 0.09:
                s.send_bytes(rng.choice(MALFORMED))
                malformed += 1
            elif roll < 0.10:
                expected[s.request("workspace/executeCommand", {"command": "rungo.input",
                                                                "arguments": [{"data": 5}]})] = "error"
            # an edit: insert, delete or replace at random places
            a = rng.randrange(len(text) + 1)
            b = min(len(text), a + rng.randrange(0, 12)) if rng.random() < (0.6 if len(text) > 3000 else 0.3) else a
            new = "".join(rng.choice(SNIPPETS) for _ in range(rng.randrange(0, 3)))
            change = {"range": {"start": position(text, a, encoding), "end": position(text, b, encoding)},
                      "text": new}
            text = text[:a] + new + text[b:]
            version += 1
            s.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": version},
                                                "contentChanges": [change]})
        # Last, one edit from the start of the file to its end: the server must hold exactly the client's text.
        version += 1
        end = position(text, len(text), encoding)
        s.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": version}, "contentChanges": [
            {"range": {"start": {"line": 0, "character": 0}, "end": end}, "text": FINAL}]})
        final = version
        last = s.wait(lambda m: m.get("method") == "textDocument/publishDiagnostics" and m["params"]["uri"] == uri
                      and m["params"].get("version") == final
                      and any("undefined: undefinedFinalName" in d["message"] for d in m["params"]["diagnostics"]),
                      180)
        # Exactly the one error: had the server's text drifted from the client's, more would be left over.
        assert [d["message"] for d in last["params"]["diagnostics"]] == ["undefined: undefinedFinalName"], last
        assert last["params"]["diagnostics"][0]["range"]["start"]["line"] == 5
        for msg_id, want in expected.items():
            r = s.response(msg_id, 60)
            assert want in r, (msg_id, r)
            if want == "error":
                assert r["error"]["code"] in (-32602, -32601), r
        time.sleep(1.0)
        with s.cond:
            inbox = list(s.inbox)
        answers: dict[Any, int] = {}
        for m in inbox:
            if "method" not in m and "id" in m and m.get("id") is not None:
                answers[m["id"]] = answers.get(m["id"], 0) + 1
        assert all(answers.get(i) == 1 for i in expected), "a request answered twice or never"
        parse_errors = [m for m in inbox if "method" not in m and m.get("id") is None and "error" in m]
        assert parse_errors, "malformed messages got no error response"
        versions = [m["params"].get("version") for m in inbox
                    if m.get("method") == "textDocument/publishDiagnostics" and m["params"]["uri"] == uri]
        versions = [v for v in versions if v is not None]
        assert versions == sorted(versions), "a publish went back to an older version"
        assert versions[-1] == final
        assert not [m for m in inbox if m.get("method") == "window/showMessage"], "popups for protocol errors"
        assert malformed > 50
        assert s.close() == 0
    finally:
        if s.proc.poll() is None:
            s.proc.kill()

