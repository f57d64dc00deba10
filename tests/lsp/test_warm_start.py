"""The warm start: it prepares the programs the user ran (remembered across sessions), or every main package
of the workspace when told to, never a directory whose main files the build constraints exclude; it links
nothing nobody ran, and its background build never delays the check of an open document."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types as lsp

from conftest import write_tree
from lspkit import CLIENTS, Session, end_session, start_session

WORKSPACE = {
    "go.mod": "module example.com/warm\n\ngo 1.22\n",
    "a/main.go": ('package main\n\nimport (\n\t"fmt"\n\t"net/url"\n)\n\n'
                  'func main() { fmt.Println(url.PathEscape("a b")) }\n'),
    "b/main.go": ('package main\n\nimport (\n\t"fmt"\n\t"strings"\n)\n\n'
                  'func main() { fmt.Println(strings.ToUpper("b")) }\n'),
    "c/main.go": 'package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("c") }\n',
    # a library with a generator beside it (`go run gen.go`): not a main package
    "gen/lib.go": "package gen\n\nconst Answer = 42\n",
    "gen/gen.go": '//go:build ignore\n\npackage main\n\nimport "fmt"\n\nfunc main() { fmt.Println("generated") }\n',
    # a directory whose only main file is never built
    "tools/tools.go": '//go:build none\n\npackage main\n\nimport "fmt"\n\nfunc main() { fmt.Println("tools") }\n',
}


@pytest.fixture(params=CLIENTS)
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def env(base_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """A rungo cache of the test's own: what it links, and what it remembers, is the test's alone."""
    return {**base_env, "RUNGO_CACHE": str(tmp_path / "rungo-cache")}


def linked(env: dict[str, str]) -> Counter[str]:
    """The workspace's programs in the rungo cache, by name (a linked binary is stored as
    <xx>/<output>-x/<name>); rungo's own type checker, built once per toolchain, is not one of them."""
    return Counter(p.name for p in Path(env["RUNGO_CACHE"]).glob("*/*-x/*") if p.name != "typeserver")


def warm_logged(s: Session) -> str | None:
    found = [m.message for m in s.client.log_messages if m.message.startswith("rungo: warm start")]
    return found[0] if found else None


async def warm_done(s: Session, timeout: float = 240) -> str:
    """The warm start's one log line, which it writes when it has done what it does."""
    return str(await s.rec.until(lambda: warm_logged(s), timeout, "the warm start's log line"))


def warm_progress(s: Session) -> list[list[Any]]:
    """The warm start's progress, one list of begin/report/end per progress token."""
    return [v for v in s.client.progress_reports.values()
            if v and isinstance(v[0], lsp.WorkDoneProgressBegin) and v[0].title.startswith("rungo: preparing")]


def prepared(s: Session) -> list[str]:
    """What the warm start's progress said it prepares, in order."""
    return [r.message for v in warm_progress(s) for r in v if isinstance(r, lsp.WorkDoneProgressReport)]


async def run_to_exit(s: Session, rel: str) -> None:
    res = await s.command("rungo.run", {"uri": s.uri(rel)})
    run_id = str(res["runId"] if isinstance(res, dict) else res.runId)
    ex = await s.rec.until(lambda: s.rec.exited.get(run_id), 180, f"the run of {rel} to exit")
    assert ex["exitCode"] == 0 and ex["stage"] == "run", ex


async def test_all_prepares_main_packages_that_survive_build_constraints(kind: str, env: dict[str, str],
                                                                       tmp_path: Path) -> None:
    root = write_tree(tmp_path / "ws", WORKSPACE)
    s = await start_session(kind, root, env, {"warmStart": "all"})
    try:
        done = await warm_done(s)
        assert done == "rungo: warm start (all): ready: a, b, c", done
        assert prepared(s) == ["a", "b", "c"]          # not gen/ (//go:build ignore), not tools/ (none)
        assert isinstance(warm_progress(s)[0][-1], lsp.WorkDoneProgressEnd)
        assert linked(env) == Counter({"a": 1, "b": 1, "c": 1})
    finally:
        await end_session(s)


async def test_nothing_run_nothing_linked(kind: str, env: dict[str, str], tmp_path: Path) -> None:
    root = write_tree(tmp_path / "ws", WORKSPACE)
    s = await start_session(kind, root, env)            # the default: "ran"
    try:
        uri = s.open("a/main.go")
        await s.diagnostics(uri, lambda d: d == [], "a/main.go checked", timeout=180)
        assert await warm_done(s) == "rungo: warm start (ran): nothing to prepare"
        assert warm_progress(s) == []
        assert linked(env) == Counter()                 # checked, compiled, never linked
    finally:
        await end_session(s)


async def test_a_run_is_remembered_and_prepared_by_the_next_session(kind: str, env: dict[str, str],
                                                                  tmp_path: Path) -> None:
    root = write_tree(tmp_path / "ws", WORKSPACE)
    s = await start_session(kind, root, env)
    try:
        await run_to_exit(s, "gen/gen.go")              # a file-scoped main: `go run gen.go`
        await run_to_exit(s, "a/main.go")
    finally:
        await end_session(s)
    assert linked(env) == Counter({"gen": 1, "a": 1})
    # The programs change on disk: preparing them again links new binaries.
    (root / "a/main.go").write_text(WORKSPACE["a/main.go"].replace('"a b"', '"a  b"'))
    (root / "gen/gen.go").write_text(WORKSPACE["gen/gen.go"].replace("generated", "generated again"))

    s = await start_session(kind, root, env, {"warmStart": False})    # the setting's first form: off
    try:
        assert await warm_done(s) == "rungo: warm start: off"
        assert warm_progress(s) == []
    finally:
        await end_session(s)
    assert linked(env) == Counter({"gen": 1, "a": 1})

    s = await start_session(kind, root, env)
    try:
        done = await warm_done(s)
        assert done == "rungo: warm start (ran): ready: a, gen/gen.go", done     # the last run first
        assert prepared(s) == ["a", "gen/gen.go"]
    finally:
        await end_session(s)
    assert linked(env) == Counter({"gen": 2, "a": 2})   # b and c, never run, are not linked


async def test_a_deleted_program_is_forgotten(kind: str, env: dict[str, str], tmp_path: Path) -> None:
    root = write_tree(tmp_path / "ws", WORKSPACE)
    s = await start_session(kind, root, env, {"warmStart": "off"})
    try:
        assert await warm_done(s) == "rungo: warm start: off"
        await run_to_exit(s, "c/main.go")
        await run_to_exit(s, "b/main.go")
    finally:
        await end_session(s)
    (root / "b/main.go").unlink()                       # b is gone
    (root / "c/main.go").write_text("//go:build ignore\n\n" + WORKSPACE["c/main.go"])   # c is no main package
    (root / "c/lib.go").write_text("package c\n")
    s = await start_session(kind, root, env)
    try:
        assert await warm_done(s) == "rungo: warm start (ran): nothing to prepare"
    finally:
        await end_session(s)
    (root / "c/main.go").write_text(WORKSPACE["c/main.go"])     # c is a main package again: forgotten all the same
    (root / "c/lib.go").unlink()
    s = await start_session(kind, root, env)
    try:
        assert await warm_done(s) == "rungo: warm start (ran): nothing to prepare"
    finally:
        await end_session(s)


def test_the_record_of_runs_is_bounded_most_recent_first(tmp_path: Path) -> None:
    from rungo.lsp.ran import KEEP, RanProgram, read_ran, record_path, remember

    def program(i: int, flags: tuple[str, ...] = ()) -> RanProgram:
        return RanProgram(tmp_path / f"p{i}", (), flags, (("GOFLAGS", "-mod=mod"),), "")

    assert read_ran(tmp_path) == []
    for i in range(KEEP + 5):
        remember(tmp_path, program(i))
    remember(tmp_path, program(7, ("-race",)))          # run again, another way: first, and only once
    got = read_ran(tmp_path)
    assert len(got) == KEEP
    assert got[0] == program(7, ("-race",))
    assert [p.pkg_dir.name for p in got[1:4]] == ["p24", "p23", "p22"]
    assert sum(p.pkg_dir.name == "p7" for p in got) == 1
    for garbled in (b"", b"{", b'{"version": 2, "ran": []}', b'{"version": 1, "ran": [{"dir": "rel"}]}'):
        record_path(tmp_path).write_bytes(garbled)
        assert read_ran(tmp_path) == []


def test_a_run_remembers_only_the_environment_that_can_change_its_build() -> None:
    from rungo.lsp.ran import build_env

    env = {"GOFLAGS": "-tags=x", "CGO_ENABLED": "0", "CC": "clang", "API_KEY": "secret",
           "RUNGO_REMOTE_CACHE": "grpc://cache:8980", "RUNGO_REMOTE_CACHE_TOKEN": "secret"}
    assert build_env(env) == (("CC", "clang"), ("CGO_ENABLED", "0"), ("GOFLAGS", "-tags=x"),
                              ("RUNGO_REMOTE_CACHE", "grpc://cache:8980"))


WRAPPER = """package main

import (
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const realGo = REAL_GO
const marker = MARKER

// niceness is this process's nice value (field 19 of /proc/self/stat).
func niceness() int {
	data, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return 0
	}
	s := string(data)
	fields := strings.Fields(s[strings.LastIndex(s, ")")+1:])
	n, _ := strconv.Atoi(fields[16])
	return n
}

func main() {
	if len(os.Args) > 2 && os.Args[1] == "list" && niceness() == 19 {
		for _, a := range os.Args {
			if a == "-export" {    // a background go list -export: slow
				f, _ := os.OpenFile(marker, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
				f.WriteString("sleeping\\n")
				f.Close()
				time.Sleep(300 * time.Second)
			}
		}
	}
	syscall.Exec(realGo, append([]string{realGo}, os.Args[1:]...), os.Environ())
}
"""


def slow_background_go(go_exe: str, env: dict[str, str], where: Path) -> tuple[Path, Path]:
    """A go binary that runs a `go list -export` at the lowest priority (the warm start's) only after 300 s
    and writes a line into the marker when it begins waiting; everything else is the real go at once."""
    goroot = subprocess.run([go_exe, "env", "GOROOT"], env=env, capture_output=True, text=True, check=True).stdout
    real = Path(goroot.strip()) / "bin" / "go"
    marker = where / "background-go-list"
    src = where / "wrapper"
    src.mkdir(parents=True)
    (src / "go.mod").write_text("module wrapper\n\ngo 1.22\n")
    source = WRAPPER.replace("REAL_GO", json.dumps(str(real))).replace("MARKER", json.dumps(str(marker)))
    (src / "main.go").write_text(source)
    out = where / "bin" / "go"
    subprocess.run([str(real), "build", "-o", str(out), "."], cwd=src, env=env, check=True, capture_output=True)
    return out, marker


def processes_of(exe: Path) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.readlink(f"/proc/{entry}/exe") == str(exe):
                    out.append(int(entry))
            except OSError:
                pass
    return out


@pytest.mark.parametrize("ending", ["shutdown", "setting"])
async def test_a_warm_build_never_delays_the_check_of_an_open_document(kind: str, env: dict[str, str], go_exe: str,
                                                                      tmp_path: Path, ending: str) -> None:
    """The warm start's go list is held back; a check of an opened document answers meanwhile. Shutdown,
    or the setting turned off, ends the warm start's go list."""
    go, marker = slow_background_go(go_exe, env, tmp_path / "slow")
    root = write_tree(tmp_path / "ws", WORKSPACE)
    settings = {"goPath": str(go)}
    s = await start_session(kind, root, env, settings)
    try:
        await run_to_exit(s, "a/main.go")
    finally:
        await end_session(s)
    assert not marker.exists()
    # a new import: preparing a needs a go list -export of the standard library, which takes 300 s at
    # the warm start's priority
    (root / "a/main.go").write_text(WORKSPACE["a/main.go"].replace('"net/url"', '"net/url"\n\t"encoding/xml"')
                                    .replace("func main() {", "var _ = xml.Header\n\nfunc main() {"))
    s = await start_session(kind, root, env, settings)
    try:
        await s.rec.until(marker.exists, 120, "the warm start's go list")
        assert prepared(s) == ["a"]
        opened = time.monotonic()
        uri = s.open("b/main.go", WORKSPACE["b/main.go"].replace('strings.ToUpper("b")', "strings.ToUpper(1)"))
        found = await s.diagnostics(uri, lambda d: any("cannot use 1" in x.message for x in d),
                                    "b's type error", timeout=120)
        took = time.monotonic() - opened
        assert found and took < 100, took
        assert warm_logged(s) is None, warm_logged(s)      # the warm start still runs
        assert not isinstance(warm_progress(s)[0][-1], lsp.WorkDoneProgressEnd)
        if ending == "setting":
            await s.rec.until(lambda: processes_of(go), 60, "the warm start's go list again")
            s.client.workspace_did_change_configuration(lsp.DidChangeConfigurationParams(
                settings={**settings, "warmStart": "off"}))
            await ended(go)
    finally:
        await end_session(s)
    await ended(go)


async def ended(go: Path) -> None:
    """Every process of the slow go has ended (within 10 s)."""
    deadline = time.monotonic() + 10
    while processes_of(go) and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    assert processes_of(go) == []


async def test_a_save_links_the_programs_ran_ahead_of_the_click(kind: str, env: dict[str, str],
                                                                tmp_path: Path) -> None:
    root = write_tree(tmp_path / "ws", WORKSPACE)
    s = await start_session(kind, root, env, {})
    try:
        await run_to_exit(s, "a/main.go")                 # the user ran a
        before = linked(env)["a"]
        uri = s.open("a/main.go")
        broken = WORKSPACE["a/main.go"].replace('url.PathEscape("a b")', "url.PathEscape(1)")
        s.change(uri, broken)
        (root / "a/main.go").write_text(broken)
        s.client.text_document_did_save(lsp.DidSaveTextDocumentParams(lsp.TextDocumentIdentifier(uri)))
        await s.diagnostics(uri, lambda d: any("cannot use 1" in x.message for x in d), "the saved type error")
        await asyncio.sleep(3)
        assert linked(env)["a"] == before                  # a save the check finds broken links nothing

        saved = WORKSPACE["a/main.go"].replace('"a b"', '"saved a"')
        s.change(uri, saved)
        (root / "a/main.go").write_text(saved)
        s.client.text_document_did_save(lsp.DidSaveTextDocumentParams(lsp.TextDocumentIdentifier(uri)))

        def ahead() -> str | None:
            found = [m.message for m in s.client.log_messages if "after the save, ready to run" in m.message]
            return found[-1] if found else None

        said = await s.rec.until(ahead, 180, "the build after the save")
        assert said == "rungo: after the save, ready to run: a", said
        assert linked(env)["a"] == before + 1              # linked before any Run was asked for
        assert warm_logged(s) is not None
        res = await s.command("rungo.run", {"uri": s.uri("a/main.go")})
        run_id = str(res["runId"] if isinstance(res, dict) else res.runId)
        ex = await s.rec.until(lambda: s.rec.exited.get(run_id), 180, "the run after the save")
        assert ex["exitCode"] == 0
        assert "saved%20a" in "".join(s.rec.output.get(run_id, [])), s.rec.output.get(run_id)
        assert linked(env)["a"] == before + 1              # the Run built nothing new
    finally:
        await end_session(s)
