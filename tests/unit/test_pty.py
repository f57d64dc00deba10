"""The pty runner with real programs."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time

from rungo.run.pty import PtyProcess


async def run(argv: list[str], feed: bytes = b"", **kw: int) -> tuple[str, object]:
    chunks: list[bytes] = []
    p = await PtyProcess.start(argv, cwd="/", env=dict(os.environ), on_output=chunks.append, **kw)
    if feed:
        p.write(feed)
    info = await asyncio.wait_for(p.wait(), 30)
    return b"".join(chunks).decode(), info


async def test_output_order_exit_code_and_tty() -> None:
    out, info = await run(["/bin/sh", "-c", "echo one; echo two >&2; [ -t 0 ] && echo tty; exit 3"])
    assert out == "one\r\ntwo\r\ntty\r\n"
    assert info.exit_code == 3 and info.signal is None  # type: ignore[attr-defined]


async def test_signal_death_and_stdin() -> None:
    _, info = await run(["/bin/sh", "-c", "kill -TERM $$"])
    assert info.signal == signal.SIGTERM and info.exit_code is None  # type: ignore[attr-defined]
    out, info = await run([sys.executable, "-c", "print('got', input())"], feed=b"hello\r")
    assert "got hello" in out


async def test_size_and_resize() -> None:
    out, _ = await run(["/bin/sh", "-c", "stty size"], cols=100, rows=30)
    assert out.strip() == "30 100"
    chunks: list[bytes] = []
    p = await PtyProcess.start(["/bin/sh", "-c", "read x; stty size"], cwd="/", env=dict(os.environ),
                               on_output=chunks.append)
    p.resize(120, 40)
    p.write(b"\r")
    await asyncio.wait_for(p.wait(), 30)
    assert b"40 120" in b"".join(chunks)


async def test_stop_and_grace_and_background_children() -> None:
    fds_before = len(os.listdir("/proc/self/fd"))
    p = await PtyProcess.start(["/bin/sh", "-c", "sleep 100 & sleep 100"], cwd="/", env=dict(os.environ),
                               on_output=lambda _: None)
    await asyncio.sleep(0.2)
    t0 = time.monotonic()
    await p.stop(1.0)
    info = await asyncio.wait_for(p.wait(), 10)
    assert time.monotonic() - t0 < 1.5 and info.signal == signal.SIGINT
    trap = await PtyProcess.start([sys.executable, "-c",
                                   "import signal,time; signal.signal(signal.SIGINT, lambda *a: None); "
                                   "print('ready', flush=True); time.sleep(100)"],
                                  cwd="/", env=dict(os.environ), on_output=lambda _: None)
    await asyncio.sleep(0.5)
    t0 = time.monotonic()
    await trap.stop(0.5)
    info = await asyncio.wait_for(trap.wait(), 10)
    assert 0.45 <= time.monotonic() - t0 < 3 and info.signal == signal.SIGKILL
    await asyncio.sleep(0.1)
    assert len(os.listdir("/proc/self/fd")) == fds_before
    assert live_members({p.pid, trap.pid}) == []


def live_members(groups: set[int]) -> list[int]:
    """Processes (not zombies) whose process group is one of groups."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z" and int(fields[2]) in groups:
            found.append(int(entry))
    return found


async def test_stop_ends_every_process_group_of_the_session(tmp_path: object) -> None:
    """A child that moves to a process group of its own (setpgid) still dies with the program."""
    import pathlib
    import tempfile

    d = pathlib.Path(tempfile.mkdtemp())
    pidfile = d / "pid"
    script = (f"import os, subprocess, time\n"
              f"p = subprocess.Popen(['sleep', '100'], process_group=0)\n"
              f"open({str(pidfile)!r}, 'w').write(str(p.pid))\n"
              f"print('ready', flush=True)\n"
              f"time.sleep(100)\n")
    chunks: list[bytes] = []
    p = await PtyProcess.start([sys.executable, "-c", script], cwd="/", env=dict(os.environ),
                               on_output=chunks.append)
    deadline = time.monotonic() + 20
    while b"ready" not in b"".join(chunks):
        assert time.monotonic() < deadline
        await asyncio.sleep(0.02)
    child = int(pidfile.read_text())
    assert os.getpgid(child) == child != p.pid
    await p.stop(grace=0.2)
    await asyncio.wait_for(p.wait(), 10)
    await asyncio.sleep(0.1)
    try:
        with open(f"/proc/{child}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        state = "gone"
    if state not in ("Z", "gone"):
        os.kill(child, signal.SIGKILL)
        raise AssertionError("the child in its own process group survived stop")
