"""The long-lived type checker: `gosrc/typeserver/main.go`, built by rungo's own pipeline with the
user's toolchain, running beside the server and answering a keystroke's type check in memory.

It type-checks a package with the toolchain's own `go/types` against the compiler's export data of
its imports (an import config, as the compiler reads it), keeping the imported packages and each
file's syntax tree between requests, as gopls and `go vet`'s unitchecker do. One process per
toolchain; requests one at a time, one JSON line each way.

Its source and built program live in `<cache dir>/typeserver/<source digest>/`: the program is built
once per toolchain (in the background, at the lowest priority), then reused by every session. When it
cannot be built or misbehaves, the caller compiles instead (lsp/typecheck.py).
"""

from __future__ import annotations

import hashlib
import json
import os
import select
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from rungo.cache.atomic import write_file
from rungo.toolchain import Toolchain

SOURCE = Path(__file__).parent / "gosrc" / "typeserver" / "main.go"
GO_MOD = b"module rungo.dev/typeserver\n\ngo 1.22\n"

# How long an answer may take before the process counts as hung (a package of 100,000 lines checks
# in well under a second).
ANSWER_SECONDS = 30.0
# Restarts of a process that died or misbehaved, per toolchain and session.
RESTARTS = 3


@dataclass(frozen=True, slots=True)
class TypesAnswer:
    """The type checker's word on a package: the report, written as the compiler writes its errors;
    `syntax`: the parser failed (the report holds its errors); `stale`: an import could not be read."""

    report: str
    syntax: bool
    stale: bool
    unknown: bool = False     # a graph request without packages, for a graph the process does not know


def source_dir(cache_dir: Path) -> Path | None:
    """The module to build the type checker from, written under cache_dir (None when it cannot be)."""
    try:
        source = SOURCE.read_bytes()
    except OSError:
        return None
    d = cache_dir / "typeserver" / hashlib.sha256(source + b"\0" + GO_MOD).hexdigest()[:20]
    for name, data in (("main.go", source), ("go.mod", GO_MOD)):
        p = d / name
        try:
            if p.read_bytes() == data:
                continue
        except OSError:
            pass
        if not write_file(str(p), data):
            return None
    return d


def program_path(src: Path, tc: Toolchain) -> Path:
    """Where the type checker built with tc is kept, beside its source."""
    return src / ("typeserver-" + hashlib.sha256(f"{tc.goroot}\0{tc.version}".encode()).hexdigest()[:16])


def build_env(tc: Toolchain) -> dict[str, str]:
    """The environment the type checker is built in: for this machine, without cgo, and with none
    of the user's build settings (GOFLAGS set, so that a go env file's does not apply)."""
    return {"GOOS": tc.env.get("GOHOSTOS", ""), "GOARCH": tc.env.get("GOHOSTARCH", ""), "CGO_ENABLED": "0",
            "GOFLAGS": "-mod=mod", "GOWORK": "off", "GO111MODULE": "on", "GOEXPERIMENT": ""}


class TypeServer:
    """One running type checker. Thread-safe; one request at a time. Once it fails it stays broken."""

    def __init__(self, program: Path) -> None:
        self.program = program
        self.broken = False
        self._lock = threading.Lock()
        self._next = 0
        self._buffer = b""
        self._graphs: set[str] = set()      # the graphs this process was sent
        self._proc = subprocess.Popen([str(program)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      stderr=subprocess.DEVNULL, start_new_session=True)

    def ask(self, request: dict[str, Any]) -> TypesAnswer | None:
        """The answer to one request (its id is set here); None when the process failed."""
        with self._lock:
            if self.broken:
                return None
            self._next += 1
            line = self._exchange(json.dumps({**request, "id": self._next}).encode() + b"\n")
            if line is None:
                self._break()
                return None
            try:
                reply = json.loads(line)
                ok = reply["id"] == self._next and isinstance(reply["report"], str)
            except (ValueError, KeyError, TypeError):
                ok = False
            if not ok:
                self._break()
                return None
            if reply.get("error") and not reply.get("stale"):
                return None
            return TypesAnswer(reply["report"], bool(reply.get("syntax")), bool(reply.get("stale")),
                               bool(reply.get("unknown")))

    def ask_graph(self, request: dict[str, Any], digest: str, imports: Sequence[str],
                  packages: Sequence[dict[str, Any]]) -> TypesAnswer | None:
        """The answer over a graph of packages checked from source: sent once per process (again when
        the process says it does not know it)."""
        request = {**request, "graph": digest, "imports": list(imports)}
        for send in (digest not in self._graphs, True):
            answer = self.ask({**request, "packages": list(packages)} if send else request)
            if answer is None or not answer.unknown:
                if answer is not None:
                    self._graphs.add(digest)
                return answer
        return None

    def _exchange(self, data: bytes) -> bytes | None:
        proc = self._proc
        assert proc.stdin is not None and proc.stdout is not None
        try:
            proc.stdin.write(data)
            proc.stdin.flush()
        except OSError:
            return None
        fd = proc.stdout.fileno()
        deadline = time.monotonic() + ANSWER_SECONDS
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                return None
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                return None
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line

    def _break(self) -> None:
        self.broken = True
        self._close()

    def _close(self) -> None:
        proc = self._proc
        try:
            if proc.stdin is not None:
                proc.stdin.close()
        except OSError:
            pass
        try:
            proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()

    def close(self) -> None:
        with self._lock:
            self.broken = True
            self._close()


Builder = Callable[[Toolchain, Path], "bytes | None"]


class TypeServers:
    """A type checker per toolchain: started when first wanted, after a build in the background the
    first time (until then, and when it cannot be had, `get` answers None)."""

    def __init__(self, cache_dir: Path, build: Builder, may_build: Callable[[], bool] = lambda: True) -> None:
        self._cache_dir = cache_dir
        self._build = build          # (toolchain, source dir) -> the built program's bytes, or None
        self._may_build = may_build  # whether background builds are allowed now
        self._lock = threading.Lock()
        self._servers: dict[str, TypeServer] = {}
        self._programs: dict[str, Path] = {}
        self._pending: set[str] = set()
        self._builders: list[threading.Thread] = []     # builds of a type checker under way
        self._building: dict[str, threading.Thread] = {}
        self._failed: set[str] = set()
        self._restarts: dict[str, int] = {}
        self._closed = False
        self._notes: list[str] = []
        self.built = 0            # programs built by this session (for tests and the bench)

    @staticmethod
    def _key(tc: Toolchain) -> str:
        return f"{tc.goroot}\0{tc.version}"

    def get(self, tc: Toolchain) -> TypeServer | None:
        key = self._key(tc)
        with self._lock:
            if self._closed:
                return None
            server = self._servers.get(key)
            if server is not None and not server.broken:
                return server
            program = self._programs.get(key)
            if program is None and key not in self._pending and key not in self._failed and self._may_build():
                program = self._built(tc)
                if program is not None:
                    self._programs[key] = program
            if program is not None:
                return self._start(key, program)
            if key in self._pending or key in self._failed or not self._may_build():
                return None
            self._pending.add(key)
        builder = threading.Thread(target=self._prepare, args=(tc, key), name="rungo-typeserver-build", daemon=True)
        with self._lock:
            self._builders.append(builder)
            self._building[key] = builder
        builder.start()
        return None

    def building(self, tc: Toolchain) -> bool:
        """Whether the type checker of tc is being built now."""
        with self._lock:
            return self._key(tc) in self._pending

    def wait(self, tc: Toolchain, timeout: float, cancelled: Callable[[], bool]) -> TypeServer | None:
        """The type checker of tc once its build under way ends (None after timeout, or when
        cancelled() says the caller no longer wants it)."""
        with self._lock:
            builder = self._building.get(self._key(tc))
        end = time.monotonic() + timeout
        while builder is not None and builder.is_alive() and time.monotonic() < end and not cancelled():
            builder.join(0.2)
        return self.get(tc) if builder is None or not builder.is_alive() else None

    def _built(self, tc: Toolchain) -> Path | None:
        """The type checker built for tc by an earlier session, when there is one."""
        src = source_dir(self._cache_dir)
        program = program_path(src, tc) if src is not None else None
        return program if program is not None and os.access(program, os.X_OK) else None

    def _start(self, key: str, program: Path) -> TypeServer | None:
        """A process of program (the lock held); None after too many restarts."""
        n = self._restarts.get(key, 0)
        if n > RESTARTS:
            return None
        self._restarts[key] = n + 1
        version = key.rpartition("\0")[2]
        try:
            server = TypeServer(program)
        except OSError as e:
            self._failed.add(key)
            self._programs.pop(key, None)
            self._notes.append(f"the type checker for {version} did not start ({e.strerror}); "
                               "the compiler checks each keystroke")
            return None
        self._servers[key] = server
        self._notes.append(f"type checking in memory with {version}'s go/types ({program})")
        return server

    def _prepare(self, tc: Toolchain, key: str) -> None:
        program: Path | None = None
        try:
            src = source_dir(self._cache_dir)
            if src is not None:
                program = program_path(src, tc)
                if not os.access(program, os.X_OK):
                    data = self._build(tc, src)
                    program = None
                    if data is not None and write_file(str(program_path(src, tc)), data):
                        program = program_path(src, tc)
                        try:
                            os.chmod(program, 0o755)
                            self.built += 1
                        except OSError:
                            program = None
        finally:
            with self._lock:
                self._pending.discard(key)
                self._building.pop(key, None)
                if program is None and not self._may_build():
                    pass          # stopped (background work turned off): built when it is allowed again
                elif program is None:
                    self._failed.add(key)
                    self._notes.append(f"the type checker could not be built with {tc.version}; "
                                       "the compiler checks each keystroke")
                else:
                    self._programs[key] = program

    def take_notes(self) -> list[str]:
        """What happened to the type checkers since the last call (for the server's log)."""
        with self._lock:
            out, self._notes = self._notes, []
        return out

    def close(self, wait: float = 3.0) -> None:
        """Ends the type checkers; a build of one (cancelled by the caller) gets `wait` seconds to
        clean up after itself before the process goes."""
        with self._lock:
            self._closed = True
            servers = list(self._servers.values())
            self._servers.clear()
            builders, self._builders = self._builders, []
        for s in servers:
            s.close()
        end = time.monotonic() + wait
        for b in builders:
            b.join(max(0.0, end - time.monotonic()))

    def running(self) -> Sequence[TypeServer]:
        with self._lock:
            return [s for s in self._servers.values() if not s.broken]
