"""At scale: the warm start and the first checks never run two `go list -export` of one module at once."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import AsyncIterator

import pytest
import pytest_asyncio

from conftest import write_tree
from lspkit import CLIENTS, Session, end_session, start_session

MAINS = {
    "go.mod": "module example.com/scale\n\ngo 1.22\n",
    "a/main.go": 'package main\n\nimport (\n\t"fmt"\n\t"net/url"\n)\n\nfunc main() { fmt.Println(url.PathEscape("a b")) }\n',
    "b/main.go": 'package main\n\nimport (\n\t"fmt"\n\t"strings"\n)\n\nfunc main() { fmt.Println(strings.ToUpper("b")) }\n',
    "c/main.go": 'package main\n\nimport (\n\t"encoding/json"\n\t"fmt"\n)\n\nfunc main() { b, _ := json.Marshal(1); fmt.Println(string(b)) }\n',
}


def go_lists(root: Path) -> list[tuple[int, bytes]]:
    """`go list -export` calls running in root (a go command that re-executes itself counts once), each
    with its parent and the end of its command line."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
            cwd = os.readlink(f"/proc/{entry}/cwd")
        except OSError:
            continue
        if len(argv) > 2 and argv[1] == b"list" and b"-export" in argv and cwd == str(root):
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = f.read().rsplit(")", 1)[1].split()[1]
            except OSError:
                continue
            out.append((int(entry), ppid.encode() + b" " + b" ".join(argv[-4:])))
    pids = {str(pid).encode() for pid, _ in out}
    return [(pid, what) for pid, what in out if what.split(b" ", 1)[0] not in pids]
    return out


@pytest_asyncio.fixture(params=CLIENTS)
async def scale_session(request: pytest.FixtureRequest, base_env: dict[str, str],
                        tmp_path: Path) -> AsyncIterator[Session]:
    env = dict(base_env)
    env["RUNGO_CACHE"] = str(tmp_path / "rungo-cache")   # no remembered go list answers
    root = write_tree(tmp_path / "ws", MAINS)
    # No type checker: the checks build their imports (with one, they check them from source and run
    # no `go list -export` at all; tests/lsp/test_from_source.py).
    s = await start_session(request.param, root, env, {"warmStart": "off"})
    yield s
    await end_session(s)


async def test_one_go_list_per_configuration_at_a_time(scale_session: Session) -> None:
    s = scale_session
    for rel in ("a/main.go", "b/main.go", "c/main.go"):   # three checks race
        s.open(rel)
    most: list[tuple[int, bytes]] = []
    seen: set[int] = set()
    done_at: float | None = None
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 90
    while loop.time() < deadline:
        running = go_lists(s.root)
        seen.update(pid for pid, _ in running)
        if len(running) > len(most):
            most = running
        all_clean = all((p := s.rec.last(s.uri(r))) is not None and not p.diagnostics
                        for r in ("a/main.go", "b/main.go", "c/main.go"))
        if all_clean and not running:
            done_at = done_at or loop.time()
            if loop.time() - done_at > 2.0:
                break
        else:
            done_at = None
        await asyncio.sleep(0.01)
    assert seen, "no go list -export was seen"
    assert len(most) == 1, f"{len(most)} go list -export ran at once: {most}"
