"""A client that goes away mid-run: the server exits and the program is killed, nothing left behind."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path
from typing import IO, Any

from lspkit import alive
from conftest import RUNGO, write_tree

PROGRAM = {
    "go.mod": "module example.com/dc\n\ngo 1.22\n",
    "main.go": """
        package main

        import (
        	"fmt"
        	"os"
        	"time"
        )

        func main() {
        	os.WriteFile("pid.txt", []byte(fmt.Sprint(os.Getpid())), 0o644)
        	fmt.Println("running")
        	for {
        		time.Sleep(time.Second)
        	}
        }
        """,
}


def send(w: IO[bytes], msg: dict[str, Any]) -> None:
    body = json.dumps({"jsonrpc": "2.0", **msg}).encode()
    w.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
    w.flush()


def receive(r: IO[bytes]) -> dict[str, Any]:
    length = 0
    while True:
        line = r.readline()
        if not line:
            raise EOFError
        if line in (b"\r\n", b"\n"):
            break
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    result: dict[str, Any] = json.loads(r.read(length))
    return result



def test_client_disconnect_kills_the_program(tmp_path: Path, base_env: dict[str, str]) -> None:
    root = write_tree(tmp_path / "dc", PROGRAM)
    server = subprocess.Popen([*RUNGO, "lsp"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, env=base_env)
    assert server.stdin is not None and server.stdout is not None
    send(server.stdin, {"id": 1, "method": "initialize", "params": {
        "processId": None, "rootUri": root.as_uri(), "capabilities": {},
        "initializationOptions": {"rungoOutput": True}}})
    while receive(server.stdout).get("id") != 1:
        pass
    send(server.stdin, {"method": "initialized", "params": {}})
    send(server.stdin, {"method": "textDocument/didOpen", "params": {"textDocument": {
        "uri": (root / "main.go").as_uri(), "languageId": "go", "version": 1,
        "text": (root / "main.go").read_text()}}})
    send(server.stdin, {"id": 2, "method": "workspace/executeCommand", "params": {
        "command": "rungo.run", "arguments": [{"uri": (root / "main.go").as_uri()}]}})
    send(server.stdin, {"id": 3, "method": "workspace/executeCommand", "params": {"command": "no.such"}})
    send(server.stdin, {"id": 4, "method": "textDocument/codeLens", "params": {"garbage": True}})
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        msg = receive(server.stdout)
        if msg.get("method") == "rungo/output" and "running" in msg["params"]["data"]:
            break
    pid = int((root / "pid.txt").read_text())
    assert alive(pid)
    server.stdin.close()
    server.wait(timeout=30)
    deadline = time.monotonic() + 10
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(pid)
    left = {p.name for p in root.iterdir()}
    assert left == {"go.mod", "main.go", "pid.txt"}
    os.remove(root / "pid.txt")
