"""The language server's `remoteCache` setting, through the real server and a real BuildGrid: a run
from the editor on a machine that never built the program compiles nothing; a remote that is not
there is told once, as a warning, and the run goes on."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import pytest

from conftest import ROOT, rungo, write_tree
from lspkit import end_session, lsp_env  # noqa: F401  (fixtures)
from test_run_anywhere import actions_at, execute, func_main_line, logged, plain_session, shown

sys.path.insert(0, str(ROOT / "tests" / "remote"))
from buildgrid import NOT_INSTALLED, BuildGrid, installed  # noqa: E402

PROGRAM = {
    "go.mod": "module example.com/editor\n\ngo 1.22\n",
    "main.go": """
        package main

        import (
        	"fmt"
        	"strings"
        )

        func main() {
        	fmt.Println(strings.ToUpper("from the remote"))
        }
        """,
}


def caches(env: dict[str, str], tmp_path: Path, name: str) -> dict[str, str]:
    env = dict(env)
    env["RUNGO_CACHE"] = str(tmp_path / name / "rungo-cache")
    env["GOCACHE"] = str(tmp_path / name / "gocache")
    return env


async def test_a_run_from_the_editor_uses_the_team_cache(lsp_env: dict[str, str], tmp_path: Path) -> None:
    if not installed():
        pytest.skip(NOT_INSTALLED)
    from rungo.cache import counters

    root = write_tree(tmp_path / "ws", PROGRAM)
    with BuildGrid(tmp_path / "buildgrid") as grid:
        a = caches(lsp_env, tmp_path, "a")
        a["RUNGO_REMOTE_CACHE"] = grid.url
        assert rungo(["run", "."], root, a).stdout == "FROM THE REMOTE\n"
        assert rungo(["cache", "wait"], root, a).returncode == 0

        b = caches(lsp_env, tmp_path, "b")
        s = await plain_session(root, b, {"warmStart": False, "remoteCache": grid.url, "remoteCacheMode": "read"})
        try:
            uri = s.open("main.go")
            actions = await actions_at(s, uri, func_main_line(s, "main.go"))
            await execute(s, actions[0])
            await shown(s, "exit 0")
            await s.rec.until(lambda: "FROM THE REMOTE" in logged(s), 30, "the program's output")
        finally:
            await end_session(s)
        counts = counters.totals(b["RUNGO_CACHE"])
        assert counts["remote_hits"] > 10 and counts["remote_misses"] == 0, counts
        # Nothing was compiled, by rungo (the check and the run) or by the go command: all they stored
        # is the go command's record of the C compiler's identity (under 100 bytes, once per go command).
        assert counts["stored_bytes"] < 512 and counts["uploads"] == 0, counts
        assert not any("remote cache" in m.message for m in s.client.messages)


async def test_an_unreachable_remote_is_one_warning(lsp_env: dict[str, str], tmp_path: Path) -> None:
    root = write_tree(tmp_path / "ws", PROGRAM)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = caches(lsp_env, tmp_path, "c")
    s = await plain_session(root, env, {"warmStart": False, "remoteCache": f"grpc://127.0.0.1:{port}"})
    try:
        uri = s.open("main.go")
        actions = await actions_at(s, uri, func_main_line(s, "main.go"))
        await execute(s, actions[0])
        await shown(s, "exit 0")
        await execute(s, actions[0])
        await s.rec.until(lambda: sum("exit 0" in m.message for m in s.client.messages) == 2, 120, "two runs")
        warnings = [m for m in s.client.messages if "remote cache unavailable" in m.message]
        assert len(warnings) == 1, [m.message for m in s.client.messages]
        assert warnings[0].type == 2 and f"grpc://127.0.0.1:{port}" in warnings[0].message   # Warning
    finally:
        await end_session(s)


async def test_a_malformed_setting_is_reported_and_ignored(lsp_env: dict[str, str], tmp_path: Path) -> None:
    root = write_tree(tmp_path / "ws", PROGRAM)
    env = caches(lsp_env, tmp_path, "d")
    s = await plain_session(root, env, {"warmStart": False, "remoteCache": "http://cache:80"})
    try:
        await shown(s, "remoteCache")
        uri = s.open("main.go")
        actions = await actions_at(s, uri, func_main_line(s, "main.go"))
        await execute(s, actions[0])
        await shown(s, "exit 0")
    finally:
        await end_session(s)
