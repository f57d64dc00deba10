"""Running a program under a pseudo-terminal for the editor: output chunks out, keystrokes in, resize, stop.

The program leads a session of its own (setsid). Stopping it ends the whole session: every process
group in it (children that called setpgid included) and every descendant that is still found.
"""

from __future__ import annotations

import asyncio
import errno
import fcntl
import os
import signal
import struct
import termios
from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

DRAIN_SECONDS = 0.5


@dataclass(frozen=True, slots=True)
class ExitInfo:
    exit_code: int | None     # None when a signal ended the program
    signal: int | None


def _set_size(fd: int, cols: int, rows: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def _live_processes(proc_dir: str) -> list[tuple[int, list[bytes]]]:
    """(pid, the /proc stat fields after the command: state ppid pgrp session ...) of every process
    that is not a zombie (Linux /proc; empty elsewhere)."""
    out: list[tuple[int, list[bytes]]] = []
    try:
        entries = os.listdir(proc_dir)
    except OSError:
        return out
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"{proc_dir}/{entry}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if len(fields) > 3 and fields[0] != b"Z":
            out.append((int(entry), fields))
    return out


def session_groups(sid: int, proc_dir: str = "/proc") -> set[int]:
    """The process groups of every process in session sid (Linux /proc; empty elsewhere)."""
    return {int(fields[2]) for _, fields in _live_processes(proc_dir) if int(fields[3]) == sid}


def group_members(pgid: int, proc_dir: str = "/proc") -> set[int]:
    """The live processes of process group pgid (Linux /proc; empty elsewhere)."""
    return {pid for pid, fields in _live_processes(proc_dir) if int(fields[2]) == pgid}


def descendants(pid: int, proc_dir: str = "/proc") -> set[int]:
    """Every live descendant of pid (Linux /proc; empty elsewhere)."""
    children: dict[int, list[int]] = {}
    for child, fields in _live_processes(proc_dir):
        children.setdefault(int(fields[1]), []).append(child)
    out: set[int] = set()
    todo = [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            if c not in out:
                out.add(c)
                todo.append(c)
    return out


def _take_terminal() -> None:
    # In the child, after setsid: the pty slave (already stdin) becomes the controlling terminal.
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class PtyProcess:
    """A program in its own session whose stdin, stdout and stderr are one pty's slave side."""

    def __init__(self, proc: asyncio.subprocess.Process, master: int, on_output: Callable[[bytes], None]) -> None:
        self._proc = proc
        self._master: int | None = master
        self._on_output = on_output
        self._pending = b""
        self._eof = asyncio.get_running_loop().create_future()
        self._exit: ExitInfo | None = None
        self.pid = proc.pid
        loop = asyncio.get_running_loop()
        loop.add_reader(master, self._readable)

    @classmethod
    async def start(cls, argv: Sequence[str], *, cwd: str, env: Mapping[str, str], cols: int = 80, rows: int = 24,
                    on_output: Callable[[bytes], None]) -> "PtyProcess":
        master, slave = os.openpty()
        try:
            _set_size(master, cols, rows)
            os.set_blocking(master, False)
            proc = await asyncio.create_subprocess_exec(
                *argv, cwd=cwd, env=dict(env), stdin=slave, stdout=slave, stderr=slave,
                start_new_session=True, preexec_fn=_take_terminal, close_fds=True)
        except BaseException:
            os.close(master)
            os.close(slave)
            raise
        os.close(slave)
        return cls(proc, master, on_output)

    # -- output ----------------------------------------------------------------------

    def _readable(self) -> None:
        if self._master is None:
            return
        try:
            data = os.read(self._master, 65536)
        except BlockingIOError:
            return
        except OSError:  # EIO: every slave descriptor is closed
            data = b""
        if not data:
            self._finish_reading()
            return
        try:
            self._on_output(data)
        except Exception:
            pass

    def _finish_reading(self) -> None:
        if self._master is not None:
            loop = asyncio.get_running_loop()
            loop.remove_reader(self._master)
            loop.remove_writer(self._master)
        if not self._eof.done():
            self._eof.set_result(None)

    # -- input -----------------------------------------------------------------------

    def write(self, data: bytes) -> None:
        if self._master is None or self._exit is not None:
            return
        self._pending += data
        self._flush()

    def _flush(self) -> None:
        if self._master is None:
            return
        loop = asyncio.get_running_loop()
        while self._pending:
            try:
                n = os.write(self._master, self._pending)
            except BlockingIOError:
                loop.add_writer(self._master, self._flush)
                return
            except OSError as e:
                if e.errno in (errno.EIO, errno.EBADF):
                    self._pending = b""
                    return
                raise
            self._pending = self._pending[n:]
        loop.remove_writer(self._master)

    def resize(self, cols: int, rows: int) -> None:
        if self._master is None:
            return
        try:
            _set_size(self._master, cols, rows)
        except OSError:
            pass

    # -- ending ------------------------------------------------------------------------

    def _signal_group(self, sig: int) -> None:
        try:
            os.killpg(self.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    def _kill_session(self, known: set[int] | None = None) -> None:
        """SIGKILL to the program's group, every group of its session and every descendant found (now,
        or in known before the program exited)."""
        found = descendants(self.pid) if self._proc.returncode is None else set()
        found |= known or set()
        self._signal_group(signal.SIGKILL)
        for pgrp in session_groups(self.pid):
            try:
                os.killpg(pgrp, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        for pid in found:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass

    async def wait(self) -> ExitInfo:
        """Waits for the program, then for its output to be read to the end, then closes the pty."""
        if self._exit is not None:
            return self._exit
        code = await self._proc.wait()
        try:
            await asyncio.wait_for(asyncio.shield(self._eof), DRAIN_SECONDS)
        except asyncio.TimeoutError:
            # Something it started still holds the terminal: end the whole session.
            self._kill_session()
            try:
                await asyncio.wait_for(asyncio.shield(self._eof), DRAIN_SECONDS)
            except asyncio.TimeoutError:
                self._finish_reading()
        self._close()
        if self._exit is None:
            self._exit = ExitInfo(None, -code) if code < 0 else ExitInfo(code, None)
        return self._exit

    def _close(self) -> None:
        if self._master is not None:
            self._finish_reading()
            try:
                os.close(self._master)
            except OSError:
                pass
            self._master = None

    async def stop(self, grace: float = 1.0, sig: int = signal.SIGINT) -> None:
        """`sig` (SIGINT) to the program's process group; after it exits, or after grace seconds,
        SIGKILL to everything in its session."""
        if self._proc.returncode is not None:
            self._kill_session()
            return
        known = descendants(self.pid)
        self._signal_group(sig)
        try:
            await asyncio.wait_for(asyncio.shield(self._proc.wait()), grace)
        except asyncio.TimeoutError:
            pass
        self._kill_session(known | descendants(self.pid))

    def kill(self) -> None:
        self._kill_session()
        try:
            self._proc.kill()
        except ProcessLookupError:
            pass
