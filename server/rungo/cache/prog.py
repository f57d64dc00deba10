"""Serves the cache to the go command as its GOCACHEPROG (the protocol of cmd/go/internal/cacheprog).

The go command starts `GOCACHEPROG` and speaks JSON lines over its stdin and stdout: after the
child's greeting `{"ID":0,"KnownCommands":["get","put","close"]}`, requests `get` (ActionID),
`put` (ActionID, OutputID, BodySize, then the body as a base64 JSON string on its own line) and
`close`. Answers may come in any order; each names its request's ID.

Here every request goes to a `TieredCache`: a get looks locally, then on the remote; a put is
stored locally (its content checked against the OutputID) and sent to the remote in the
background. Gets run on a few threads, since a remote lookup waits on the network. On `close`,
uploads still pending go to a detached process, and the answer is sent at once.

When the cache directory cannot be written, a put's body is kept in a private temporary
directory until `close`, so the go command still gets the DiskPath it needs.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import queue
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import IO, Any, Callable, Mapping

from rungo.cache.store import CacheWriteError
from rungo.cache.tiered import TieredCache

KNOWN = ["get", "put", "close"]
WORKERS = 4


def _rfc3339(t: float) -> str:
    whole = int(t)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + f".{int((t - whole) * 1e9):09d}Z"


def _id_bytes(value: Any, what: str) -> bytes:
    if not isinstance(value, str):
        raise ValueError(f"{what} missing")
    raw = base64.b64decode(value, validate=True)
    if len(raw) != 32:
        raise ValueError(f"{what} has {len(raw)} bytes, want 32")
    return raw


class _Server:
    def __init__(self, store: TieredCache, out: IO[bytes]) -> None:
        self.store = store
        self.out = out
        self.write_lock = threading.Lock()
        self.jobs: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.spill: str | None = None
        self.workers = [threading.Thread(target=self._work, daemon=True) for _ in range(WORKERS)]

    def send(self, obj: dict[str, Any]) -> None:
        line = json.dumps(obj, separators=(",", ":")).encode() + b"\n"
        with self.write_lock:
            self.out.write(line)
            self.out.flush()

    def _work(self) -> None:
        while True:
            req = self.jobs.get()
            if req is None:
                return
            self.send(self.get(req))

    def get(self, req: dict[str, Any]) -> dict[str, Any]:
        rid = req.get("ID", 0)
        try:
            action_id = _id_bytes(req.get("ActionID"), "ActionID")
        except (ValueError, binascii.Error) as e:
            return {"ID": rid, "Err": f"get: {e}"}
        hit = self.store.get_file(action_id)
        if hit is None:
            return {"ID": rid, "Miss": True}
        entry, path = hit
        return {"ID": rid, "OutputID": base64.b64encode(entry.output_id).decode(), "Size": entry.size,
                "Time": _rfc3339(entry.time), "DiskPath": str(path)}

    def put(self, req: dict[str, Any], body: bytes) -> dict[str, Any]:
        rid = req.get("ID", 0)
        try:
            action_id = _id_bytes(req.get("ActionID"), "ActionID")
            output_id = _id_bytes(req.get("OutputID"), "OutputID")
        except (ValueError, binascii.Error) as e:
            return {"ID": rid, "Err": f"put: {e}"}
        if hashlib.sha256(body).digest() != output_id:
            return {"ID": rid, "Err": "put: the body does not match its OutputID"}
        try:
            entry = self.store.put_bytes(action_id, body)
        except CacheWriteError:
            return {"ID": rid, "DiskPath": self._spill(output_id, body)}
        path = self.store.content_path(entry.output_id)
        self.store.share(action_id, entry, str(path))
        return {"ID": rid, "DiskPath": str(path)}

    def _spill(self, output_id: bytes, body: bytes) -> str:
        if self.spill is None:
            self.spill = tempfile.mkdtemp(prefix="rungo-cacheprog-")
        path = os.path.join(self.spill, output_id.hex())
        with open(path, "wb") as f:
            f.write(body)
        return path

    def close(self) -> None:
        for _ in self.workers:
            self.jobs.put(None)
        for w in self.workers:
            w.join()


def _read_body(inp: IO[bytes]) -> bytes:
    while True:
        line = inp.readline()
        if not line:
            raise EOFError("the go command closed the connection in the middle of a put")
        if line.strip():
            break
    text = json.loads(line)
    if not isinstance(text, str):
        raise ValueError("a put's body is not a JSON string")
    return base64.b64decode(text, validate=True)


def serve(store: TieredCache, inp: IO[bytes], out: IO[bytes], warn: Callable[[str], None]) -> int:
    """Answer the go command until `close` or end of input."""
    server = _Server(store, out)
    server.send({"ID": 0, "KnownCommands": KNOWN})
    for w in server.workers:
        w.start()
    status = 0
    closing: int | None = None     # the ID of the close request, once it came
    try:
        while True:
            line = inp.readline()
            if not line:
                break
            if not line.strip():
                continue
            try:
                req = json.loads(line)
                if not isinstance(req, dict):
                    raise ValueError("a request is not a JSON object")
                size = req.get("BodySize", 0)
                body = _read_body(inp) if isinstance(size, int) and size > 0 else b""
                if len(body) != (size if isinstance(size, int) and size > 0 else 0):
                    raise ValueError(f"a put's body has {len(body)} bytes, BodySize says {size}")
            except (ValueError, binascii.Error, EOFError) as e:
                warn(f"GOCACHEPROG: malformed request: {e}")
                status = 1
                break
            cmd = req.get("Command")
            if cmd == "get":
                server.jobs.put(req)
            elif cmd == "put":
                server.send(server.put(req, body))
            elif cmd == "close":
                closing = req.get("ID", 0)
                break
            else:
                server.send({"ID": req.get("ID", 0), "Err": f"unknown command {cmd!r}"})
        server.close()
        trouble = store.finish()
        if trouble:
            warn(trouble)
        if closing is not None:
            server.send({"ID": closing})
            return 0
        return status
    finally:
        if server.spill is not None:     # kept until close had its answer
            shutil.rmtree(server.spill, ignore_errors=True)


def open_store(root: str, env: Mapping[str, str]) -> tuple[TieredCache, str | None]:
    """The tiered cache the environment describes, and a settings problem to report (the cache is
    then local only)."""
    from rungo.cache.remote.settings import SettingsError, from_env

    try:
        settings = from_env(env)
    except SettingsError as e:
        return TieredCache(Path(root)), str(e)
    if settings is None:
        return TieredCache(Path(root)), None
    from rungo.cache.remote.client import RemoteCache

    return TieredCache(Path(root), RemoteCache(settings, root, env)), None


def main(root: str, env: Mapping[str, str]) -> int:
    """Serve GOCACHEPROG on stdin/stdout for the cache at `root` (`rungo cacheprog`)."""
    quiet = env.get("RUNGO_CACHEPROG_QUIET") == "1"
    store, problem = open_store(root, env)

    def warn(text: str) -> None:
        if not quiet:
            sys.stderr.write(f"rungo: {text}\n")
            sys.stderr.flush()

    if problem:
        warn(problem)
    return serve(store, sys.stdin.buffer, sys.stdout.buffer, warn)
