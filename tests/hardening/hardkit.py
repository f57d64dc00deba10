"""Helpers for the hardening tests: remembered reruns, a module proxy on disk, damage, mounts."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import time
import zipfile
from pathlib import Path
from typing import Iterator, Mapping

from conftest import Result, rungo

RACY_WAIT = 1.2
"""rungo refuses to remember a run whose inputs changed within the last second; wait that out."""


def fast_records(cache: Path) -> list[Path]:
    d = cache / "fast"
    return sorted(p for p in d.iterdir() if p.is_file()) if d.is_dir() else []


def remembered_run(args: list[str], cwd: Path, env: Mapping[str, str]) -> Result:
    """Runs rungo until the run is remembered (a rerun record exists), returning the last result."""
    cache = Path(env["RUNGO_CACHE"])
    before = set(fast_records(cache))
    got = rungo(args, cwd, env)
    for _ in range(3):
        if set(fast_records(cache)) - before:
            return got
        time.sleep(RACY_WAIT)
        got = rungo(args, cwd, env)
    raise AssertionError(f"rungo never remembered the run: {got}")


def same_stat_edit(path: Path, new: str) -> None:
    """Rewrites a file in place with content of the same size and puts its times back (`touch -r`)."""
    st = path.stat()
    data = new.encode()
    assert len(data) == st.st_size, "the edit must keep the size"
    with open(path, "r+b") as f:
        f.write(data)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    after = path.stat()
    assert (after.st_size, after.st_mtime_ns, after.st_ino) == (st.st_size, st.st_mtime_ns, st.st_ino)


def garble_in_place(path: Path, keep_times: bool = True) -> None:
    """Flips bytes in the middle of a file without changing its size (and, by default, its times)."""
    st = path.stat()
    data = bytearray(path.read_bytes())
    for i in range(len(data) // 3, len(data) // 3 + 64):
        if i < len(data):
            data[i] ^= 0x5A
    mode = st.st_mode
    os.chmod(path, mode | 0o200)
    with open(path, "r+b") as f:
        f.write(bytes(data))
    os.chmod(path, mode)
    if keep_times:
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


def stored_files(cache: Path) -> Iterator[Path]:
    """The stored outputs (archives, programs) of a rungo cache."""
    for p in sorted(cache.rglob("*")):
        if p.is_file() and "fast" not in p.parts and (p.name.endswith("-d") or p.parent.name.endswith("-x")):
            yield p


def write_proxy(root: Path, module: str, version: str, files: Mapping[str, str]) -> str:
    """A GOPROXY=file:// tree holding one module version; returns the GOPROXY value."""
    base = root / module / "@v"
    base.mkdir(parents=True, exist_ok=True)
    gomod = files.get("go.mod", f"module {module}\n")
    (base / "list").write_text(version + "\n")
    (base / f"{version}.info").write_text(json.dumps({"Version": version, "Time": "2024-01-01T00:00:00Z"}))
    (base / f"{version}.mod").write_text(gomod)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, content in {**files, "go.mod": gomod}.items():
            z.writestr(f"{module}@{version}/{name}", content)
    (base / f"{version}.zip").write_bytes(buf.getvalue())
    return "file://" + str(root)


def can_mount() -> str | None:
    """Why tmpfs mounts cannot be made here, or None when they can."""
    if os.geteuid() != 0:
        return "mounting a tmpfs needs root"
    if shutil.which("mount") is None:
        return "no mount command"
    probe = Path("/tmp") / f"rungo-mount-probe-{os.getpid()}"
    probe.mkdir(exist_ok=True)
    try:
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(probe)], capture_output=True)
        if r.returncode != 0:
            return "mount -t tmpfs is not permitted here: " + r.stderr.decode(errors="replace").strip()
        subprocess.run(["umount", str(probe)], check=True)
        return None
    finally:
        probe.rmdir()


class Mount:
    """A tmpfs mounted for one test (noexec, read-only or tiny), unmounted at the end."""

    def __init__(self, where: Path, options: str) -> None:
        self.where = where
        where.mkdir(parents=True, exist_ok=True)
        subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)], check=True)

    def remount(self, options: str) -> None:
        subprocess.run(["mount", "-o", "remount," + options, str(self.where)], check=True)

    def close(self) -> None:
        subprocess.run(["umount", "-l", str(self.where)], check=False)


def unprivileged(cmd: list[str]) -> list[str]:
    """`cmd` run as root but without the capabilities that override file permissions."""
    return ["setpriv", "--inh-caps=-dac_override,-dac_read_search",
            "--bounding-set=-dac_override,-dac_read_search", "--", *cmd]
