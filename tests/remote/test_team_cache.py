"""The team cache against a real BuildGrid: two "machines" (two empty rungo caches and two empty
GOCACHEs) share one remote. What one compiled, the other fetches, the standard library included
(the go command uses rungo's cache as its GOCACHEPROG); faults on the remote never break a run."""

from __future__ import annotations

import json
import os
import re
import subprocess
import threading
import time
from pathlib import Path

import pytest

from buildgrid import BuildGrid
from conftest import RUNGO, Result, rungo, write_tree

PROGRAM = {
    "go.mod": "module example.com/team\n\ngo 1.22\n",
    "main.go": """\
        package main

        import (
        \t"fmt"
        \t"os"

        \t"example.com/team/greet"
        )

        func main() {
        \tfmt.Println(greet.Hello(os.Args[1:]...))
        }
        """,
    "greet/greet.go": """\
        package greet

        import "strings"

        func Hello(names ...string) string { return "hello, " + strings.Join(names, " and ") }
        """,
}

TOOL_LINE = re.compile(r"/pkg/tool/[^/\s]+/(compile|link|asm) ")


def machine(base_env: dict[str, str], tmp_path: Path, name: str, server: BuildGrid | None, mode: str = "readwrite",
            **extra: str) -> dict[str, str]:
    """The environment of one machine: its own empty caches, the shared remote."""
    env = dict(base_env)
    env["RUNGO_CACHE"] = str(tmp_path / name / "rungo-cache")
    env["GOCACHE"] = str(tmp_path / name / "gocache")
    if server is not None:
        env["RUNGO_REMOTE_CACHE"] = server.url
        env["RUNGO_REMOTE_CACHE_MODE"] = mode
    env.update(extra)
    return env


def stats(env: dict[str, str]) -> dict[str, int]:
    """The counts of `rungo cache stats`, from the log it sums."""
    from rungo.cache import counters

    return counters.totals(env["RUNGO_CACHE"])


def wait_uploads(env: dict[str, str], cwd: Path) -> None:
    got = rungo(["cache", "wait"], cwd, env)
    assert got.returncode == 0, got.stderr


def tools_run(result: Result) -> list[str]:
    return TOOL_LINE.findall(result.stderr)


@pytest.fixture
def program(tmp_path: Path) -> Path:
    return write_tree(tmp_path / "src", PROGRAM)


def test_second_machine_compiles_nothing(buildgrid: BuildGrid, base_env: dict[str, str], tmp_path: Path,
                                         program: Path) -> None:
    a = machine(base_env, tmp_path, "a", buildgrid)
    first = rungo(["run", ".", "Ann"], program, a)
    assert (first.returncode, first.stdout) == (0, "hello, Ann\n"), first.stderr
    assert "remote cache" not in first.stderr
    wait_uploads(a, program)
    assert stats(a)["uploads"] > 20          # the standard library's packages, ours, the program

    b = machine(base_env, tmp_path, "b", buildgrid, mode="read")
    second = rungo(["run", "-x", ".", "Ann"], program, b)
    assert (second.returncode, second.stdout) == (0, "hello, Ann\n"), second.stderr
    assert tools_run(second) == [], second.stderr      # rungo compiled and linked nothing
    counts = stats(b)
    assert counts["remote_hits"] > 20 and counts["remote_misses"] == 0, counts
    assert counts["corrupt"] == 0 and counts["uploads"] == 0 and counts["bytes_up"] == 0, counts
    # The go command compiled nothing either: every package it needed was a hit. All it stored is
    # its record of the C compiler's identity (a stat of gcc, under 100 bytes).
    assert counts["stored"] <= 1 and counts["stored_bytes"] < 256, counts
    assert not list(Path(b["RUNGO_CACHE"]).glob("uploads/*.json"))


def test_an_edit_is_all_a_machine_compiles(buildgrid: BuildGrid, base_env: dict[str, str], tmp_path: Path,
                                           program: Path) -> None:
    # The machines share this directory, and one user's warm engine would build A's program ahead on
    # the edit only B makes here (and upload it): each machine builds in-process.
    a = machine(base_env, tmp_path, "a", buildgrid, RUNGO_ENGINE="off")
    b = machine(base_env, tmp_path, "b", buildgrid, RUNGO_ENGINE="off")
    assert rungo(["run", ".", "x"], program, a).returncode == 0
    wait_uploads(a, program)

    greet = program / "greet" / "greet.go"
    greet.write_text(greet.read_text().replace('"hello, "', '"hi, "'))
    edited = rungo(["run", "-x", ".", "Bo"], program, b)
    assert (edited.returncode, edited.stdout) == (0, "hi, Bo\n"), edited.stderr
    # B compiled the changed package, then main (its import changed) and linked: nothing else.
    assert tools_run(edited) == ["compile", "compile", "link"], edited.stderr
    assert re.search(r"-p example.com/team/greet ", edited.stderr) and re.search(r"-p main ", edited.stderr)
    wait_uploads(b, program)

    again = rungo(["run", "-x", ".", "Bo"], program, a)      # A now has B's edit, and B's outputs
    assert (again.returncode, again.stdout) == (0, "hi, Bo\n"), again.stderr
    assert tools_run(again) == [], again.stderr


def test_a_second_machine_downloads_only_the_program(buildgrid: BuildGrid, base_env: dict[str, str],
                                                    tmp_path: Path, program: Path) -> None:
    """With the whole graph rungo's (RUNGO_GRAPH=native), a machine keys every package from its
    sources and its imports' output IDs as the remote's action cache reports them, without
    fetching an archive: when the link is a hit, the program is all it downloads. After an edit it
    fetches what the compile and the link read, and builds only what changed."""
    a = machine(base_env, tmp_path, "a", buildgrid, RUNGO_ENGINE="off", RUNGO_GRAPH="native", CGO_ENABLED="0")
    b = machine(base_env, tmp_path, "b", buildgrid, mode="read", RUNGO_ENGINE="off", RUNGO_GRAPH="native",
                CGO_ENABLED="0")
    first = rungo(["run", ".", "Ann"], program, a)
    assert (first.returncode, first.stdout) == (0, "hello, Ann\n"), first.stderr
    wait_uploads(a, program)
    assert stats(a)["uploads"] > 20          # the standard library's archives, ours, the program

    second = rungo(["run", "-x", ".", "Ann"], program, b)
    assert (second.returncode, second.stdout) == (0, "hello, Ann\n"), second.stderr
    assert tools_run(second) == [], second.stderr
    counts = stats(b)
    programs = list(Path(b["RUNGO_CACHE"]).rglob("team"))
    assert len(programs) == 1 and programs[0].is_file()
    assert counts["remote_hits"] == 1 and counts["bytes_down"] == programs[0].stat().st_size, (counts, second.stderr)

    main = program / "main.go"
    main.write_text(main.read_text().replace("greet.Hello(os.Args[1:]...)", "greet.Hello(os.Args[1:]...), \"!\""))
    edited = rungo(["run", "-x", ".", "Ann"], program, b)
    assert (edited.returncode, edited.stdout) == (0, "hello, Ann !\n"), edited.stderr
    assert tools_run(edited) == ["compile", "link"], edited.stderr     # the main package, then the link
    after = stats(b)
    assert after["remote_hits"] > 20 and after["remote_misses"] <= 2, after    # the archives the link read


def test_remote_stopped_in_the_middle_of_a_run(buildgrid: BuildGrid, base_env: dict[str, str], tmp_path: Path,
                                               program: Path) -> None:
    a = machine(base_env, tmp_path, "a", buildgrid)
    proc = subprocess.Popen([*RUNGO, "run", ".", "Cy"], cwd=program, env=a, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    # Cold: the go command is still building the standard library through the cache when it stops.
    deadline = time.monotonic() + 60
    while not list(Path(a["RUNGO_CACHE"]).glob("??/*-d")) and time.monotonic() < deadline:
        time.sleep(0.05)
    buildgrid.stop()
    out, err = proc.communicate(timeout=300)
    assert (proc.returncode, out) == (0, "hello, Cy\n"), err
    warnings = [line for line in err.splitlines() if line.startswith("rungo: remote cache unavailable:")]
    assert len(warnings) == 1, err
    assert buildgrid.url.removeprefix("grpc://") in warnings[0]
    assert "Traceback" not in err

    # The next run, while the remote is still down, is a local hit, and says so once again.
    t0 = time.monotonic()
    again = rungo(["run", "-a", ".", "Cy"], program, a)
    assert (again.returncode, again.stdout) == (0, "hello, Cy\n"), again.stderr
    assert again.stderr.count("remote cache unavailable") == 1, again.stderr
    assert time.monotonic() - t0 < 120


def test_a_remote_that_is_not_there(base_env: dict[str, str], tmp_path: Path, program: Path) -> None:
    import socket

    with socket.socket() as s:          # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = machine(base_env, tmp_path, "a", None, RUNGO_REMOTE_CACHE=f"grpc://127.0.0.1:{port}")
    got = rungo(["run", ".", "Di"], program, env)
    assert (got.returncode, got.stdout) == (0, "hello, Di\n"), got.stderr
    assert got.stderr.count("\n") == 1 and got.stderr.startswith(
        f"rungo: remote cache unavailable: grpc://127.0.0.1:{port}: unavailable"), got.stderr
    state = json.loads((Path(env["RUNGO_CACHE"]) / "remote-state").read_text())
    assert state["url"] == f"grpc://127.0.0.1:{port}" and state["until"] > time.time()


def test_a_corrupted_blob_is_detected_and_rebuilt(buildgrid: BuildGrid, base_env: dict[str, str], tmp_path: Path,
                                                  program: Path) -> None:
    a = machine(base_env, tmp_path, "a", buildgrid)
    assert rungo(["run", ".", "Ed"], program, a).returncode == 0
    wait_uploads(a, program)
    exe = next(Path(a["RUNGO_CACHE"]).glob("??/*-x/team"))
    buildgrid.corrupt(exe.parent.name.removesuffix("-x"))     # the linked program, damaged on the server

    b = machine(base_env, tmp_path, "b", buildgrid)
    got = rungo(["run", "-x", ".", "Ed"], program, b)
    assert (got.returncode, got.stdout) == (0, "hello, Ed\n"), got.stderr
    assert tools_run(got) == ["link"], got.stderr         # refused, and linked again here
    counts = stats(b)
    assert counts["corrupt"] == 1, counts
    kept = next(Path(b["RUNGO_CACHE"]).glob("??/*-x/team"))
    assert kept.read_bytes() == exe.read_bytes()


def test_a_read_only_client_never_writes(buildgrid: BuildGrid, base_env: dict[str, str], tmp_path: Path,
                                         program: Path) -> None:
    a = machine(base_env, tmp_path, "a", buildgrid, RUNGO_ENGINE="off")    # as above: B's edit is B's
    assert rungo(["run", ".", "Flo"], program, a).returncode == 0
    wait_uploads(a, program)
    before = sorted(p.name for p in buildgrid.storage_dir.rglob("*") if p.is_file())

    main = program / "main.go"
    main.write_text(main.read_text().replace("fmt.Println(", 'fmt.Println("read-only:", '))
    b = machine(base_env, tmp_path, "b", buildgrid, mode="read")
    got = rungo(["run", "-x", ".", "Flo"], program, b)
    assert (got.returncode, got.stdout) == (0, "read-only: hello, Flo\n"), got.stderr
    assert tools_run(got) == ["compile", "link"], got.stderr
    time.sleep(1)
    assert not (Path(b["RUNGO_CACHE"]) / "uploads").exists()
    assert stats(b)["uploads"] == 0 and stats(b)["bytes_up"] == 0
    after = sorted(p.name for p in buildgrid.storage_dir.rglob("*") if p.is_file())
    assert after == before

    c = machine(base_env, tmp_path, "c", buildgrid)       # so a third machine still compiles the edit
    third = rungo(["run", "-x", ".", "Flo"], program, c)
    assert tools_run(third) == ["compile", "link"], third.stderr


def test_the_token_goes_nowhere_but_the_wire(buildgrid: BuildGrid, base_env: dict[str, str], tmp_path: Path,
                                             program: Path) -> None:
    secret = "s3cr3t-t0ken-" + os.urandom(6).hex()
    a = machine(base_env, tmp_path, "a", buildgrid, RUNGO_REMOTE_CACHE_TOKEN=secret)
    got = rungo(["run", "-x", ".", "Gus"], program, a)
    assert (got.returncode, got.stdout) == (0, "hello, Gus\n"), got.stderr
    assert secret not in got.stderr
    assert "fork" not in got.stderr and "I1" not in got.stderr, got.stderr    # no gRPC logging
    stats_out = rungo(["cache", "stats"], program, a)
    assert secret not in stats_out.stdout + stats_out.stderr
    wait_uploads(a, program)
    for f in Path(a["RUNGO_CACHE"]).rglob("*"):
        if f.is_file() and f.stat().st_size < (1 << 20):
            assert secret.encode() not in f.read_bytes(), f


@pytest.mark.parametrize("value, message", [
    ("http://127.0.0.1:1", "is not a remote cache address"),
    ("grpc://127.0.0.1", "has no port"),
])
def test_a_malformed_setting_is_one_line(base_env: dict[str, str], tmp_path: Path, program: Path, value: str,
                                         message: str) -> None:
    env = machine(base_env, tmp_path, "a", None, RUNGO_REMOTE_CACHE=value)
    got = rungo(["run", ".", "x"], program, env)
    assert got.returncode == 125 and got.stdout == ""
    assert got.stderr.count("\n") == 1 and message in got.stderr and got.stderr.startswith("rungo: RUNGO_REMOTE_CACHE")


def test_go_build_shares_the_cache_through_rungo_cacheprog(buildgrid: BuildGrid, base_env: dict[str, str],
                                                           tmp_path: Path, program: Path, go_exe: str) -> None:
    a = machine(base_env, tmp_path, "a", buildgrid)
    assert rungo(["run", ".", "Hal"], program, a).returncode == 0
    wait_uploads(a, program)
    b = machine(base_env, tmp_path, "b", buildgrid, mode="read", GOCACHEPROG=" ".join(RUNGO + ["cacheprog"]))
    got = subprocess.run([go_exe, "build", "-x", "-o", str(tmp_path / "team"), "."], cwd=program, env=b,
                         capture_output=True, text=True, timeout=300)
    assert got.returncode == 0, got.stderr
    # The standard library came from the remote: only the main module's two packages (which rungo
    # compiles itself, not through the go command) are compiled.
    compiled = re.findall(r"/compile .* -p (\S+) ", got.stderr)
    assert sorted(compiled) == ["example.com/team/greet", "main"], got.stderr
    assert stats(b)["remote_hits"] > 20
    ran = subprocess.run([str(tmp_path / "team"), "Hal"], capture_output=True, text=True, timeout=60)
    assert ran.stdout == "hello, Hal\n"


def test_cacheprog_answers_garbage_with_one_line(base_env: dict[str, str], tmp_path: Path) -> None:
    env = machine(base_env, tmp_path, "a", None)
    p = subprocess.run([*RUNGO, "cacheprog"], input=b'{"ID":1,"Command":"get","ActionID":"AAA="}\n\nnot json\n',
                       env=env, capture_output=True, timeout=60)
    lines = p.stdout.decode().splitlines()
    assert json.loads(lines[0]) == {"ID": 0, "KnownCommands": ["get", "put", "close"]}
    assert json.loads(lines[1]) == {"ID": 1, "Err": "get: ActionID has 2 bytes, want 32"}
    assert p.returncode == 1 and p.stderr.decode().count("\n") == 1
    assert p.stderr.decode().startswith("rungo: GOCACHEPROG: malformed request")


def test_uploads_do_not_delay_the_program(buildgrid: BuildGrid, base_env: dict[str, str], tmp_path: Path,
                                          program: Path) -> None:
    """The program starts before the uploads end: a job is left for the background, and finished."""
    a = machine(base_env, tmp_path, "a", buildgrid)
    assert rungo(["run", ".", "x"], program, a).returncode == 0
    wait_uploads(a, program)
    main = program / "main.go"
    main.write_text(main.read_text().replace("fmt.Println(", 'fmt.Println("v2", '))
    seen: list[list[str]] = []
    done = threading.Event()

    def watch_jobs() -> None:
        while not done.is_set():
            seen.append([p.name for p in Path(a["RUNGO_CACHE"]).glob("uploads/*.json")])
            time.sleep(0.005)

    t = threading.Thread(target=watch_jobs)
    t.start()
    try:
        got = rungo(["run", ".", "x"], program, a)
    finally:
        done.set()
        t.join()
    assert (got.returncode, got.stdout) == (0, "v2 hello, x\n"), got.stderr
    wait_uploads(a, program)
    assert not list(Path(a["RUNGO_CACHE"]).glob("uploads/*.json"))
    c = machine(base_env, tmp_path, "c", buildgrid)
    third = rungo(["run", "-x", ".", "x"], program, c)
    assert tools_run(third) == [], third.stderr
