"""A bare JSON-RPC client over a real `rungo lsp` process's stdio: raw bytes in, every message out.

For what a well-behaved client library cannot send: malformed JSON, invalid params, thousands of
messages without waiting. Requests from the server are answered with null, as a plain client would.
"""

from __future__ import annotations

import json
import queue
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Callable

from lsprotocol import converters
from pytest_lsp import client_capabilities

from conftest import RUNGO

KINDS = {"visual_studio_code": "visual-studio-code", "neovim": "neovim"}


def capabilities(kind: str) -> Any:
    return converters.get_converter().unstructure(client_capabilities(KINDS[kind]))


@dataclass
class RawServer:
    proc: subprocess.Popen[bytes]
    inbox: list[dict[str, Any]] = field(default_factory=list)
    cond: threading.Condition = field(default_factory=threading.Condition)
    lock: threading.Lock = field(default_factory=threading.Lock)
    next_id: int = 1000

    @classmethod
    def start(cls, env: dict[str, str], cwd: Path | None = None) -> "RawServer":
        proc = subprocess.Popen([*RUNGO, "lsp"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, env=env, cwd=cwd)
        s = cls(proc)
        threading.Thread(target=s._read, daemon=True).start()
        return s

    def _read(self) -> None:
        r = self.proc.stdout
        assert r is not None
        while True:
            try:
                msg = _receive(r)
            except (EOFError, ValueError, OSError):
                with self.cond:
                    self.inbox.append({"eof": True})
                    self.cond.notify_all()
                return
            if "method" in msg and "id" in msg:      # a request from the server
                try:
                    self.send({"id": msg["id"], "result": None})
                except (OSError, ValueError):        # the test closed our side already
                    pass
            with self.cond:
                self.inbox.append(msg)
                self.cond.notify_all()

    def send_bytes(self, body: bytes) -> None:
        w = self.proc.stdin
        assert w is not None
        with self.lock:
            w.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
            w.flush()

    def send(self, msg: dict[str, Any]) -> None:
        self.send_bytes(json.dumps({"jsonrpc": "2.0", **msg}).encode())

    def request(self, method: str, params: Any) -> int:
        self.next_id += 1
        self.send({"id": self.next_id, "method": method, "params": params})
        return self.next_id

    def notify(self, method: str, params: Any) -> None:
        self.send({"method": method, "params": params})

    def wait(self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 30.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        with self.cond:
            seen = 0
            while True:
                for m in self.inbox[seen:]:
                    if predicate(m):
                        return m
                seen = len(self.inbox)
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("timed out waiting for a message")
                self.cond.wait(left)

    def response(self, msg_id: int | None, timeout: float = 30.0) -> dict[str, Any]:
        return self.wait(lambda m: "method" not in m and m.get("id") == msg_id and ("result" in m or "error" in m),
                         timeout)

    def messages(self, method: str) -> list[dict[str, Any]]:
        with self.cond:
            return [m for m in self.inbox if m.get("method") == method]

    def initialize(self, root: Path, kind: str, options: dict[str, Any] | None = None) -> None:
        rid = self.request("initialize", {
            "processId": None, "rootUri": root.as_uri(), "capabilities": capabilities(kind),
            "workspaceFolders": [{"uri": root.as_uri(), "name": root.name}],
            "initializationOptions": {"rungoOutput": True, **(options or {})}})
        self.response(rid, 60)
        self.notify("initialized", {})

    def close(self, timeout: float = 30.0) -> int:
        try:
            rid = self.request("shutdown", None)
            self.response(rid, timeout)
            self.notify("exit", None)
        except (AssertionError, OSError):
            pass
        try:
            return self.proc.wait(timeout=timeout)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()


def _receive(r: IO[bytes]) -> dict[str, Any]:
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
