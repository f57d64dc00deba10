"""Where the engine listens and how the client and the engine talk; imports nothing but os, socket,
sys and zlib.

The socket lives in a directory only its user can reach: `$XDG_RUNTIME_DIR/rungo` when that is set,
else `<temp dir>/rungo-<uid>`, created 0700 and refused when another user owns it or others can
enter it. There is one engine per user, rungo version and toolchain: the socket's name carries the
version and a digest of where this rungo is installed and of what chooses the toolchain (RUNGO_GO,
the `go` on PATH, GOROOT), and the first exchange (the handshake) checks both again.

A message is a frame: four bytes of length (big-endian), then NUL-separated UTF-8 fields (surrogate
escapes kept), the first naming the message. Strings rungo sends (arguments, environment entries,
paths) cannot hold a NUL.

    client -> engine  HELLO version key
    engine -> client  HELLO version key pid
    client -> engine  RUN cwd n argv[0..n) env entries ("K=V")...
                      STATUS | STOP
    engine -> client  ERR text              (what rungo prints while building; any number)
                      EXEC via_exec goroot_bin argv...   (exec this program in place)
                      EXIT status           (the build failed; its message came as ERR)
                      LOCAL reason          (build in-process instead)
                      INFO key=value...     (the answer to STATUS)
"""

from __future__ import annotations

import os
import socket
import sys
import zlib

PROTOCOL = "1"
MAX_FRAME = 64 << 20


def runtime_dir(env: "dict[str, str] | os._Environ[str]") -> str:
    """The user's private directory for the engine's socket (not created here)."""
    xdg = env.get("XDG_RUNTIME_DIR", "")
    if xdg.startswith("/"):
        return os.path.join(xdg, "rungo")
    tmp = env.get("TMPDIR", "")
    return os.path.join(tmp if tmp.startswith("/") else "/tmp", f"rungo-{os.getuid()}")


def private_dir(path: str, create: bool) -> bool:
    """Whether path is a directory of this user that no one else can enter (made so when create)."""
    if create:
        try:
            os.makedirs(path, mode=0o700, exist_ok=True)
        except OSError:
            return False
    try:
        st = os.lstat(path)
    except OSError:
        return False
    import stat

    return stat.S_ISDIR(st.st_mode) and st.st_uid == os.getuid() and st.st_mode & 0o077 == 0


def _which_go(path: str) -> str:
    for d in path.split(os.pathsep):
        cand = os.path.join(d or ".", "go")
        if os.path.isfile(cand) and os.access(cand, os.X_OK):
            return os.path.realpath(cand)
    return ""


def engine_key(version: str, env: "dict[str, str] | os._Environ[str]") -> str:
    """What an engine is one of: the rungo version (and where this rungo is installed) and what
    chooses the toolchain."""
    chooser = "\0".join((os.path.dirname(os.path.dirname(os.path.abspath(__file__))), env.get("RUNGO_GO", ""),
                         _which_go(env.get("PATH", os.defpath)), env.get("GOROOT", "")))
    return f"{version}-{zlib.crc32(chooser.encode('utf-8', 'surrogateescape')):08x}"


def peer(sock: socket.socket) -> tuple[int, int]:
    """(pid, uid) of the process at the other end of a unix socket, as the kernel says (SO_PEERCRED)."""
    creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12)
    return int.from_bytes(creds[0:4], sys.byteorder), int.from_bytes(creds[4:8], sys.byteorder)


def socket_path(directory: str, key: str) -> str:
    return os.path.join(directory, f"engine-{key}.sock")


def encode(*fields: str) -> bytes:
    body = "\0".join(fields).encode("utf-8", "surrogateescape")
    return len(body).to_bytes(4, "big") + body


def _recv_exact(sock: "object", n: int) -> bytes | None:
    out = b""
    while len(out) < n:
        try:
            chunk = sock.recv(n - len(out))  # type: ignore[attr-defined]
        except ConnectionError:
            return None
        if not chunk:
            return None
        out += chunk
    return out


def receive(sock: "object") -> "list[str] | None":
    """The next message's fields; None when the peer closed or sent something unreadable."""
    head = _recv_exact(sock, 4)
    if head is None:
        return None
    n = int.from_bytes(head, "big")
    if n > MAX_FRAME:
        return None
    body = _recv_exact(sock, n) if n else b""
    if body is None:
        return None
    return body.decode("utf-8", "surrogateescape").split("\0")
