"""Never block: stop and shutdown cancel builds at once (the compiler's process group killed, nothing left in
TMPDIR), and a 5 MB document costs its own work, never other documents' requests."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import AsyncIterator

import pytest
import pytest_asyncio
from lsprotocol import types as lsp

from conftest import write_tree
from lspkit import CLIENTS, Session, end_session, start_session
from rawkit import RawServer


def slow_program(functions: int = 4000) -> str:
    """A main package the compiler needs seconds for."""
    lines = ["package main", "", 'import "fmt"', ""]
    for i in range(functions):
        lines.append(f"func f{i}(x int) int {{")
        for j in range(20):
            lines.append(f"\tif x%{j + 2} == {j} {{ x = x*{j + 3} + {i} }}")
        lines.append("\treturn x\n}")
    lines.append("func main() { fmt.Println(f1(3)) }")
    return "\n".join(lines) + "\n"


SLOW = {"go.mod": "module example.com/slow\n\ngo 1.22\n", "main.go": "", "small/main.go": 'package main\n\nfunc main() {}\n'}


def compiles_under(tmp: Path) -> list[int]:
    """Processes whose command line names a file under tmp (the compiler of a build there)."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmd = f.read()
            with open(f"/proc/{entry}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z" and str(tmp).encode() in cmd and b"compile" in cmd:
            out.append(int(entry))
    return out


@pytest.fixture
def private_env(base_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    env = dict(base_env)
    tmp = tmp_path / "tmpdir"
    tmp.mkdir()
    env["TMPDIR"] = str(tmp)
    env["RUNGO_CACHE"] = str(tmp_path / "rungo-cache")   # a cold rungo cache: the main package compiles
    return env


@pytest_asyncio.fixture(params=CLIENTS)
async def slow_session(request: pytest.FixtureRequest, private_env: dict[str, str],
                       tmp_path: Path) -> AsyncIterator[Session]:
    root = write_tree(tmp_path / "ws", {**SLOW, "main.go": ""})
    (root / "main.go").write_text(slow_program())
    s = await start_session(request.param, root, private_env, {"warmStart": False})
    yield s
    await end_session(s)


async def wait_for_compile(tmp: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not compiles_under(tmp):
        if time.monotonic() > deadline:
            raise AssertionError("the compiler never started")
        await asyncio.sleep(0.05)


async def test_stop_during_a_build_kills_the_compiler(slow_session: Session, private_env: dict[str, str]) -> None:
    s = slow_session
    tmp = Path(private_env["TMPDIR"])
    res = await s.command("rungo.run", {"uri": s.uri("main.go")})
    run_id = str(res["runId"] if isinstance(res, dict) else res.runId)
    await wait_for_compile(tmp)
    await asyncio.sleep(0.3)
    t0 = time.monotonic()
    await s.command("rungo.stop", {"runId": run_id})
    ex = await s.rec.until(lambda: s.rec.exited.get(run_id), 5, "runExited")
    took = time.monotonic() - t0
    assert took < 0.5, f"runExited {took:.2f} s after stop"
    assert ex["stage"] == "build" and ex["exitCode"] is None, ex
    await asyncio.sleep(0.5)
    assert not compiles_under(tmp), "the compiler goes on after stop"
    deadline = time.monotonic() + 2
    while list(tmp.iterdir()) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert not list(tmp.iterdir()), list(tmp.iterdir())


@pytest.mark.parametrize("kind", CLIENTS)
def test_shutdown_during_a_build_ends_everything(kind: str, tmp_path: Path, private_env: dict[str, str]) -> None:
    root = write_tree(tmp_path / "ws", SLOW)
    (root / "main.go").write_text(slow_program())
    tmp = Path(private_env["TMPDIR"])
    s = RawServer.start(private_env)
    try:
        s.initialize(root, kind, {"warmStart": False})
        rid = s.request("workspace/executeCommand", {"command": "rungo.run", "arguments": [
            {"uri": (root / "main.go").as_uri()}]})
        run_id = s.response(rid, 60)["result"]["runId"]
        deadline = time.monotonic() + 60
        while not compiles_under(tmp):
            assert time.monotonic() < deadline, "the compiler never started"
            time.sleep(0.05)
        time.sleep(0.3)
        t0 = time.monotonic()
        sid = s.request("shutdown", None)
        s.response(sid, 5)
        assert time.monotonic() - t0 < 0.5, "shutdown took longer than 0.5 s"
        exited = [m for m in s.messages("rungo/runExited") if m["params"]["runId"] == run_id]
        assert exited, "the run ended by shutdown got no runExited"
        s.notify("exit", None)
        assert s.proc.wait(timeout=3) == 0
        assert time.monotonic() - t0 < 2.0, "the server outlived its shutdown"
        time.sleep(0.2)
        assert not compiles_under(tmp), "orphaned compiles"
        assert not list(tmp.iterdir()), list(tmp.iterdir())
    finally:
        if s.proc.poll() is None:
            s.proc.kill()


@pytest.mark.parametrize("kind", CLIENTS)
def test_client_gone_during_a_build_ends_everything(kind: str, tmp_path: Path, private_env: dict[str, str]) -> None:
    root = write_tree(tmp_path / "ws", SLOW)
    (root / "main.go").write_text(slow_program())
    tmp = Path(private_env["TMPDIR"])
    s = RawServer.start(private_env)
    try:
        s.initialize(root, kind, {"warmStart": False})
        rid = s.request("workspace/executeCommand", {"command": "rungo.run", "arguments": [
            {"uri": (root / "main.go").as_uri()}]})
        s.response(rid, 60)
        deadline = time.monotonic() + 60
        while not compiles_under(tmp):
            assert time.monotonic() < deadline, "the compiler never started"
            time.sleep(0.05)
        t0 = time.monotonic()
        assert s.proc.stdin is not None
        s.proc.stdin.close()
        s.proc.wait(timeout=5)
        assert time.monotonic() - t0 < 2.0, "the server outlived its client"
        time.sleep(0.2)
        assert not compiles_under(tmp), "orphaned compiles"
        assert not list(tmp.iterdir()), list(tmp.iterdir())
    finally:
        if s.proc.poll() is None:
            s.proc.kill()


# -- a 5 MB document ------------------------------------------------------------------------------------


def big_source(target: int = 5 << 20) -> str:
    chunk = "".join(f"func g{i}(x int) int {{\n\tx += {i}\n\treturn x * 2\n}}\n\n" for i in range(1000))
    body = "package big\n\n"
    n = 0
    while len(body) < target:
        body += chunk.replace("func g", f"func h{n}_")
        n += 1
    return body


@pytest_asyncio.fixture(params=CLIENTS)
async def big_session(request: pytest.FixtureRequest, private_env: dict[str, str],
                      tmp_path: Path) -> AsyncIterator[Session]:
    root = write_tree(tmp_path / "ws", {"go.mod": "module example.com/bigdoc\n\ngo 1.22\n",
                                        "main.go": 'package main\n\nfunc main() {}\n'})
    (root / "big").mkdir()
    (root / "big" / "big.go").write_text(big_source())
    s = await start_session(request.param, root, private_env, {"warmStart": False})
    yield s
    await end_session(s)


async def test_a_5mb_document_never_blocks_other_requests(big_session: Session) -> None:
    s = big_session
    small = s.open("main.go")
    big = s.open("big/big.go")
    await s.client.text_document_code_lens_async(      # the first one also finds the toolchain
        lsp.CodeLensParams(text_document=lsp.TextDocumentIdentifier(uri=small)))
    await asyncio.sleep(0.5)
    lines = (s.root / "big" / "big.go").read_text().count("\n")
    waits: list[float] = []
    for i in range(10):
        v = s.versions[big] + 1
        s.versions[big] = v
        line = lines // 2 + i
        s.client.text_document_did_change(lsp.DidChangeTextDocumentParams(
            text_document=lsp.VersionedTextDocumentIdentifier(uri=big, version=v),
            content_changes=[lsp.TextDocumentContentChangePartial(
                range=lsp.Range(lsp.Position(line, 0), lsp.Position(line, 0)), text=f"// edit {i}\n")]))
        t0 = time.monotonic()
        got = await s.client.text_document_code_lens_async(
            lsp.CodeLensParams(text_document=lsp.TextDocumentIdentifier(uri=small)))
        waits.append(time.monotonic() - t0)
        assert got and got[0].command is not None and got[0].command.title == "▶ Run"
        await asyncio.sleep(0.1)
    assert max(waits) < 0.5, [round(w, 3) for w in waits]
    final = s.versions[big]
    await s.rec.until(lambda: any(p.uri == big and p.version == final for p in s.rec.publishes), 60,
                      "a publish for the big document's last version")

