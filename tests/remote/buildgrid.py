"""A real BuildGrid server (Remote Execution API over gRPC) for the remote cache tests.

`BuildGrid(workdir)` writes a `bgd server start` configuration into workdir and serves, on
127.0.0.1 at a free port without TLS, one instance (name '' unless told) with the CAS, ByteStream,
ActionCache (updates allowed) and Capabilities services. Blobs live in a `!disk-storage` under
workdir, `<workdir>/storage/cas/objects/<sha256[:2]>/<sha256[2:]>`, so that a test can find and
damage one (`blob_path`, `corrupt`) and they survive `restart()`; action results live in an
in-memory `!lru-action-cache`, so a restart forgets them.

The bgd comes from tools/setup_test_tools.py's virtualenv, .cache/buildgrid-venv. The server runs in
a process group of its own and is stopped by `stop()`, by the fixtures, and at the latest when the
test process exits (atexit, and on Linux a parent-death signal if the test process is killed).
"""

from __future__ import annotations

import atexit
import json
import os
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Callable

ROOT = Path(__file__).resolve().parents[2]
BGD_VENV = ROOT / ".cache" / "buildgrid-venv"
BGD = BGD_VENV / "bin" / "bgd"
NOT_INSTALLED = "BuildGrid not installed (run python3 tools/setup_test_tools.py)"

START_TIMEOUT = 60.0
STOP_GRACE = 5.0

_live: set[BuildGrid] = set()


def installed() -> bool:
    return BGD.is_file()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _yaml_str(value: str) -> str:
    return json.dumps(value)    # a JSON string is a YAML double-quoted scalar


def bgd_env() -> dict[str, str]:
    """The environment bgd runs in: the tests' own, less what would mislead the venv's Python, and
    with no HTTP proxy in the way of the loopback connections of its gRPC clients."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP")}
    for var in ("no_proxy", "NO_PROXY"):
        env[var] = ",".join(x for x in (env.get(var), "127.0.0.1", "localhost") if x)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _libc_prctl() -> Callable[..., int] | None:
    try:
        import ctypes

        prctl: Callable[..., int] = ctypes.CDLL(None, use_errno=True).prctl
        return prctl
    except (OSError, AttributeError):
        return None


_PRCTL = _libc_prctl()    # looked up here: the child after fork only calls it


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM when the thread that started it ends, which for the main
    thread is when the test process dies, however it dies (Linux's PR_SET_PDEATHSIG)."""
    if _PRCTL is not None:
        _PRCTL(1, int(signal.SIGTERM), 0, 0, 0)


def _exited(proc: subprocess.Popen[bytes]) -> bool:
    """Whether the process has exited, without reaping it: until it is reaped its pid, the id of
    its process group, cannot be reused, so the group can still be signalled safely."""
    if proc.returncode is not None:
        return True
    try:
        return os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    except ChildProcessError:
        return True


class BuildGrid:
    """One bgd server. Not started by the constructor: call start() (or use it as a context manager)."""

    def __init__(self, workdir: Path, *, instance_name: str = "", port: int | None = None, allow_updates: bool = True,
                 tls: tuple[Path, Path] | None = None, jwt_secret: Path | None = None,
                 client_token: Path | None = None) -> None:
        """tls: (certificate, key) PEM files to serve TLS with; jwt_secret: a file whose content is the
        HS256 secret every request's bearer JWT must be signed with (client_token: a token file for
        the fixture's own bgd calls); allow_updates=False: the action cache refuses writes."""
        self.workdir = Path(workdir)
        self.instance_name = instance_name
        self.allow_updates = allow_updates
        self.tls = tls
        self.jwt_secret = jwt_secret
        self.client_token = client_token
        self.port = port if port is not None else free_port()
        self.storage_dir = self.workdir / "storage"
        self.config_path = self.workdir / "bgd.yml"
        self.log_path = self.workdir / "bgd.log"
        self.start_seconds: float | None = None
        """How long the last start() took, until the server answered."""
        self._proc: subprocess.Popen[bytes] | None = None
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.storage_dir.mkdir(exist_ok=True)
        self.config_path.write_text(self.config())

    # -- what it is ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The address a REAPI client is given: grpc://127.0.0.1:PORT (grpcs:// with TLS)."""
        return f"{'grpcs' if self.tls else 'grpc'}://127.0.0.1:{self.port}"

    @property
    def remote(self) -> str:
        """The same address in the form bgd's own client commands take (--remote)."""
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def log(self) -> str:
        """What the server has written to stdout and stderr, over all its starts."""
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def config(self) -> str:
        channel = "    insecure-mode: true\n"
        if self.tls is not None:
            channel = (f"    insecure-mode: false\n    credentials:\n"
                       f"      tls-server-key: {_yaml_str(str(self.tls[1]))}\n"
                       f"      tls-server-cert: {_yaml_str(str(self.tls[0]))}\n")
        auth = ""
        if self.jwt_secret is not None:
            auth = (f"authorization:\n  method: jwt\n  secret: {_yaml_str(str(self.jwt_secret))}\n"
                    f"  algorithm: hs256\n\n")
        return f"""\
server:
  - !channel
    address: "127.0.0.1:{self.port}"
{channel}
{auth}
# Fail to start rather than share the port with another server (gRPC's default is SO_REUSEPORT).
grpc-server-options:
  grpc.so_reuseport: 0

storages:
  - !disk-storage &cas
    path: {_yaml_str(str(self.storage_dir))}

caches:
  - !lru-action-cache &ac
    storage: *cas
    max-cached-refs: 10000
    allow-updates: {'true' if self.allow_updates else 'false'}
    cache-failed-actions: true

instances:
  - name: {_yaml_str(self.instance_name)}
    services:
      - !cas
        storage: *cas
      - !bytestream
        storage: *cas
      - !action-cache
        cache: *ac
"""

    # -- the blobs it stores ------------------------------------------------------------------

    def blob_path(self, hash_hex: str) -> Path:
        """Where the disk storage keeps the blob of this sha256 (whether or not it is there)."""
        h = hash_hex.lower()
        return self.storage_dir / "cas" / "objects" / h[:2] / h[2:]

    def corrupt(self, hash_hex: str) -> None:
        """Overwrites the stored blob in place with other bytes of the same length, so that only a
        digest check tells; the server keeps serving it (and keeps it even if it is uploaded again)."""
        path = self.blob_path(hash_hex)
        data = path.read_bytes()
        if not data:
            raise ValueError(f"blob {hash_hex} is empty: there is no other content of its length")
        with open(path, "r+b") as f:
            f.write(bytes(b ^ 0xFF for b in data))

    # -- its life -----------------------------------------------------------------------------

    def start(self, timeout: float = START_TIMEOUT) -> BuildGrid:
        """Starts the server and returns once it answers a GetCapabilities for its instance."""
        if self.running:
            return self
        if not installed():
            raise RuntimeError(NOT_INSTALLED)
        t0 = time.monotonic()
        die_with_parent = _PRCTL is not None and threading.current_thread() is threading.main_thread()
        with open(self.log_path, "ab") as log:
            log.write(f"=== bgd server start {self.config_path} (port {self.port})\n".encode())
            log.flush()
            self._proc = subprocess.Popen(
                [str(BGD), "server", "start", str(self.config_path)],
                cwd=self.workdir, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                env=bgd_env(), start_new_session=True,
                preexec_fn=_die_with_parent if die_with_parent else None)
        _live.add(self)
        try:
            self._wait_ready(t0 + timeout)
        except BaseException:
            self.stop()
            raise
        self.start_seconds = time.monotonic() - t0
        return self

    def _wait_ready(self, deadline: float) -> None:
        last = ""
        while True:
            assert self._proc is not None
            code = self._proc.poll()
            if code is not None:
                raise RuntimeError(f"BuildGrid exited with status {code} while starting; its log:\n{self.log}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"BuildGrid did not answer on port {self.port} within the time allowed"
                                   f"{': ' + last if last else ''}; its log:\n{self.log}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    pass
            except OSError as e:
                last = f"connect: {e}"
                time.sleep(0.1)
                continue
            # Something listens; bgd itself once a GetCapabilities for the instance answers (a call
            # to a port another program holds hangs, hence the short timeout and the loop).
            try:
                got = self.cli("capabilities", timeout=min(10.0, max(1.0, deadline - time.monotonic())))
            except subprocess.TimeoutExpired:
                last = "bgd capabilities did not answer"
                continue
            if got.returncode == 0 and self._proc.poll() is None:
                return
            last = f"bgd capabilities: {(got.stdout + got.stderr).strip()}"
            time.sleep(0.2)

    def stop(self) -> None:
        """Stops the server's whole process group: SIGTERM, then SIGKILL after 5 s."""
        proc, self._proc = self._proc, None
        _live.discard(self)
        if proc is None:
            return
        if proc.returncode is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            deadline = time.monotonic() + STOP_GRACE
            while not _exited(proc) and time.monotonic() < deadline:
                time.sleep(0.05)
        try:    # the server if it did not stop in time, and whatever else is left of its group
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()

    def restart(self, timeout: float = START_TIMEOUT) -> BuildGrid:
        """Stops and starts the server on the same port over the same storage (the action cache,
        kept in memory, is emptied)."""
        self.stop()
        return self.start(timeout)

    def cli(self, group: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """Runs a bgd client command against this server and instance, e.g.
        cli("cas", "upload-file", path) or cli("capabilities")."""
        extra: list[str] = []
        if self.tls is not None:
            extra += ["--server-cert", str(self.tls[0])]
        if self.client_token is not None:
            extra += ["--auth-token", str(self.client_token)]
        cmd = [str(BGD), group, "--remote", self.remote, "--instance-name", self.instance_name, *extra, *args]
        return subprocess.run(cmd, cwd=self.workdir, env=bgd_env(), stdin=subprocess.DEVNULL, capture_output=True,
                              text=True, timeout=timeout)

    def __enter__(self) -> BuildGrid:
        return self.start()

    def __exit__(self, typ: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"BuildGrid({self.url}, instance {self.instance_name!r}, {state}, storage {self.storage_dir})"


@atexit.register
def _stop_all() -> None:
    for server in list(_live):
        server.stop()
