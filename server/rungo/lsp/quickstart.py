"""`rungo lsp` over stdio: `initialize` answered at once, while the server's modules import.

The language server's modules (pygls, lsprotocol) take longer to import than a client should wait
for `initialize`. So the first message is read here, with nothing but the standard library loaded:
when it is `initialize`, the answer (the server's capabilities, which do not depend on the client
once positions are UTF-16; tests/unit/test_quickstart.py holds them equal to what pygls computes)
goes out at once; then the server starts on the same stream, given that message first, and its own
answer to it is not sent again. Anything else as the first message goes to the server untouched.
"""

from __future__ import annotations

import json
import sys
import threading
from typing import Any, BinaryIO, Mapping

SERVER_INFO = {"name": "rungo"}

CAPABILITIES: dict[str, Any] = {
    "positionEncoding": "utf-16",
    "textDocumentSync": {"openClose": True, "change": 2, "save": True},
    "codeActionProvider": {"resolveProvider": False},
    "codeLensProvider": {"resolveProvider": False},
    "executeCommandProvider": {"commands": ["rungo.run", "rungo.stop", "rungo.input", "rungo.resize"]},
    "workspace": {"workspaceFolders": {"supported": True, "changeNotifications": True}, "fileOperations": {}},
}


def read_message(stream: BinaryIO) -> tuple[bytes, dict[str, Any] | None]:
    """One framed message: its raw bytes (headers included) and its JSON, None when unreadable."""
    raw = b""
    length = -1
    while True:
        line = stream.readline()
        raw += line
        if not line:
            return raw, None
        if line in (b"\r\n", b"\n"):
            break
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            try:
                length = int(value.strip())
            except ValueError:
                return raw, None
    if length < 0:
        return raw, None
    body = stream.read(length)
    raw += body
    try:
        msg = json.loads(body)
    except ValueError:
        return raw, None
    return raw, msg if isinstance(msg, dict) else None


def frame(msg: dict[str, Any]) -> bytes:
    body = json.dumps(msg, separators=(",", ":")).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


class Replay:
    """The server's stdin: the bytes already read first, then the stream."""

    def __init__(self, head: bytes, stream: BinaryIO) -> None:
        self._head = head
        self._stream = stream

    def readline(self) -> bytes:
        if self._head:
            line, nl, rest = self._head.partition(b"\n")
            self._head = rest
            if nl or not rest:
                return line + nl if nl else line + self._stream.readline()
        return self._stream.readline()

    def read(self, n: int = -1) -> bytes:
        if not self._head:
            return self._stream.read(n)
        if n < 0:
            out, self._head = self._head, b""
            return out + self._stream.read()
        out, self._head = self._head[:n], self._head[n:]
        if len(out) < n:
            out += self._stream.read(n - len(out))
        return out

    def close(self) -> None:
        self._stream.close()


class Skip:
    """The server's stdout: every message goes through, except the one answer already sent."""

    def __init__(self, stream: BinaryIO, answered: Any) -> None:
        self._stream = stream
        self._answered = answered
        self._pending = b""

    def write(self, data: bytes) -> int:
        if self._answered is None:
            return self._stream.write(data)
        self._pending += data
        while True:
            head, sep, rest = self._pending.partition(b"\r\n\r\n")
            if not sep:
                break
            length = next((int(v) for k, _, v in (h.partition(b":") for h in head.split(b"\r\n"))
                           if k.strip().lower() == b"content-length" and v.strip().isdigit()), -1)
            if length < 0 or len(rest) < length:
                break
            body, self._pending = rest[:length], rest[length:]
            if self._is_answer(body):
                self._answered = None
                continue
            self._stream.write(head + sep + body)
        if self._answered is None and self._pending:
            self._stream.write(self._pending)
            self._pending = b""
        return len(data)

    def _is_answer(self, body: bytes) -> bool:
        try:
            msg = json.loads(body)
        except ValueError:
            return False
        return isinstance(msg, dict) and "method" not in msg and msg.get("id") == self._answered

    def flush(self) -> None:
        self._stream.flush()

    def close(self) -> None:
        self._stream.close()


def _early_answerable(msg: dict[str, Any] | None) -> bool:
    """An `initialize` request whose params the server will take (else the server answers it)."""
    if msg is None or msg.get("method") != "initialize" or not isinstance(msg.get("id"), (int, str)) \
            or isinstance(msg.get("id"), bool):
        return False
    params = msg.get("params")
    if not isinstance(params, dict) or not isinstance(params.get("capabilities"), dict):
        return False
    pid = params.get("processId")
    return (pid is None or (isinstance(pid, int) and not isinstance(pid, bool))) \
        and isinstance(params.get("rootUri"), (str, type(None))) \
        and isinstance(params.get("workspaceFolders"), (list, type(None)))


UNAVAILABLE = "rungo lsp: the language server is not available in this build\n"


def serve_stdio(env: Mapping[str, str]) -> int:
    """Serves the language server on stdin/stdout, answering `initialize` before the imports end."""
    imported: list[BaseException] = []

    def load() -> None:
        try:
            import rungo.lsp.server  # noqa: F401
        except BaseException as e:   # reported on the main thread
            imported.append(e)

    loader = threading.Thread(target=load, name="rungo-lsp-import", daemon=True)
    loader.start()
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    raw, msg = read_message(stdin)
    loader_done = not loader.is_alive()
    answered: Any = None
    if msg is not None and _early_answerable(msg) and not (loader_done and imported):
        answered = msg["id"]
        from rungo import __version__

        stdout.write(frame({"jsonrpc": "2.0", "id": answered, "result": {
            "capabilities": CAPABILITIES, "serverInfo": {**SERVER_INFO, "version": __version__}}}))
        stdout.flush()
    loader.join()
    if imported:
        if isinstance(imported[0], ImportError):
            sys.stderr.write(UNAVAILABLE)
            return 125
        raise imported[0]
    from rungo.lsp import lifecycle
    from rungo.lsp.server import create_server

    server = create_server(env)
    try:
        server.start_io(Replay(raw, stdin), Skip(stdout, answered))   # type: ignore[arg-type]
    finally:
        lifecycle.close_all(server)
    return 0


def serve(argv: list[str], env: Mapping[str, str]) -> int:
    """`rungo lsp [--stdio] [--tcp HOST:PORT]`."""
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
    if tcp is None:
        return serve_stdio(env)
    host, _, port = tcp.rpartition(":")
    if not port.isdigit():
        sys.stderr.write(f"rungo lsp: --tcp wants HOST:PORT, got {tcp!r}\n")
        return 125
    try:
        from rungo.lsp import lifecycle
        from rungo.lsp.server import create_server
    except ImportError:
        sys.stderr.write(UNAVAILABLE)
        return 125
    server = create_server(env)
    try:
        server.start_tcp(host or "127.0.0.1", int(port))
    finally:
        lifecycle.close_all(server)
    return 0
