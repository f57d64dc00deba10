"""Finding 6: nothing left behind after kill -9. A killed run's work directory is removed by the next
run, the tools rungo started die with it, and the go command's own go-build* directories live inside
rungo's work directory."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import RUNGO, rungo, write_tree


def _wait_for(what: str, check: "object", limit: float = 60.0) -> None:
    deadline = time.monotonic() + limit
    while not check():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.02)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _children(pid: int) -> list[int]:
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                    out.append(int(d))
        except (OSError, ValueError, IndexError):
            continue
    return out


needs_proc = pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs /proc to find processes")


@needs_proc
def test_tools_die_with_rungo(tmp_path: Path) -> None:
    """A subprocess started through rungo's runner is killed by the kernel when rungo dies of SIGKILL."""
    marker = tmp_path / "started"
    code = ("import os, sys\nfrom rungo.process import Runner\n"
            f"Runner(env=dict(os.environ)).run(['sh', '-c', 'touch {marker}; exec sleep 300'])\n")
    parent = subprocess.Popen([sys.executable, "-c", code])
    child = 0
    try:
        _wait_for("the tool to start", lambda: marker.exists() and _children(parent.pid))
        child = _children(parent.pid)[0]
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        _wait_for("the tool to die with its parent", lambda: not _alive(child), limit=20)
    finally:
        if child and _alive(child):
            os.kill(child, signal.SIGKILL)


def _work_dirs(tmp: Path) -> list[Path]:
    return sorted(tmp.glob("rungo-build*"))


@needs_proc
def test_work_dir_of_a_killed_run_is_removed_by_the_next(module: Path, base_env: dict[str, str],
                                                         tmp_path: Path) -> None:
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = base_env | {"RUNGO_CACHE": str(tmp_path / "cache"), "TMPDIR": str(tmp)}
    # A workspace goes through the go command; with -a nothing is remembered, so the program runs
    # from the work directory, as a child of rungo: the work directory exists as long as it runs.
    write_tree(module, {
        "go.mod": "module example.com/killed\n\ngo 1.22\n",
        "go.work": "go 1.22\n\nuse .\n",
        "main.go": 'package main\n\nimport (\n\t"fmt"\n\t"os"\n\t"time"\n)\n\n'
                   'func main() {\n\tif len(os.Args) > 1 {\n\t\tfmt.Println("waiting")\n\t\ttime.Sleep(300 * time.Second)\n\t}\n'
                   '\tfmt.Println("done")\n}\n',
    })
    proc = subprocess.Popen([*RUNGO, "run", "-a", ".", "wait"], cwd=module, env=env, stdout=subprocess.PIPE)
    program = 0
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline() == b"waiting\n"
        assert len(_work_dirs(tmp)) == 1
        program = _children(proc.pid)[0]
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert len(_work_dirs(tmp)) == 1  # left behind by the killed run
        # The next run that needs a work directory removes it.
        got = rungo(["run", "."], module, env)
        assert (got.returncode, got.stdout) == (0, "done\n"), got
        assert _work_dirs(tmp) == []
        assert [p.name for p in tmp.iterdir()] == []  # no go-build* either
    finally:
        if program and _alive(program):
            os.kill(program, signal.SIGKILL)


def test_a_live_run_keeps_its_work_dir(module: Path, base_env: dict[str, str], tmp_path: Path) -> None:
    """Removing abandoned work directories never touches one whose run is alive, nor a -work one."""
    from rungo.work.workdir import WorkDir, remove_abandoned

    tmp = tmp_path / "tmp"
    tmp.mkdir()
    live = WorkDir(str(tmp), keep=False, announce=lambda _: None)
    kept = WorkDir(str(tmp), keep=True, announce=lambda _: None)
    try:
        (live.path / "x").write_text("x")
        (kept.path / "y").write_text("y")
        assert remove_abandoned(str(tmp)) == 0
        assert (live.path / "x").exists() and (kept.path / "y").exists()
    finally:
        live.close()
        kept.close()
    assert sorted(tmp.iterdir()) == [kept.path] and kept.path.name.startswith("rungo-work")
    os.utime(kept.path, (time.time() - 3600, time.time() - 3600))
    assert remove_abandoned(str(tmp)) == 0 and kept.path.exists()


def test_remains_of_interrupted_runs_are_recognised(tmp_path: Path) -> None:
    """A run killed while it removed its work directory leaves it locked-by-nobody; one killed between
    creating the directory and locking it leaves it empty. Both go, once the empty one is a minute old."""
    from rungo.work.workdir import LOCK_NAME, remove_abandoned

    half_removed = tmp_path / "rungo-build-half"
    (half_removed / "b001").mkdir(parents=True)
    (half_removed / LOCK_NAME).write_text("")
    empty_old = tmp_path / "rungo-build-empty-old"
    empty_old.mkdir()
    os.utime(empty_old, (time.time() - 3600, time.time() - 3600))
    empty_new = tmp_path / "rungo-build-empty-new"
    empty_new.mkdir()
    kept = tmp_path / "rungo-work-kept"
    kept.mkdir()
    os.utime(kept, (time.time() - 3600, time.time() - 3600))
    assert remove_abandoned(str(tmp_path)) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rungo-build-empty-new", "rungo-work-kept"]
