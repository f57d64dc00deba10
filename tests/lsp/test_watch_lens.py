"""The editor's watch: the `Watch` lens starts it, a save of an input restarts the program under the same run,
an unsaved edit does not, a failed rebuild keeps the old program, `rungo.stop` ends it all."""

from __future__ import annotations

import asyncio
import os
import re
from pathlib import Path
from typing import Any

from lsprotocol import types as lsp

import pytest
from conftest import write_tree
from lspkit import CLIENTS, Session, alive, end_session, lsp_env, session_factory, start_session  # noqa: F401  (fixtures)


def program(tag: str) -> str:
    return ('package main\n\nimport (\n\t"fmt"\n\t"os"\n\t"time"\n)\n\n'
            f'func main() {{\n\tfmt.Printf("{tag} pid=%d\\n", os.Getpid())\n\ttime.Sleep(time.Hour)\n}}\n')


FILES = {"go.mod": "module example.com/w\n\ngo 1.22\n", "main.go": program("v1"),
         "other/other.go": "package other\n"}


async def lens_titles(s: Session, uri: str) -> list[str]:
    got = await s.client.text_document_code_lens_async(
        lsp.CodeLensParams(text_document=lsp.TextDocumentIdentifier(uri=uri)))
    return [lens.command.title for lens in got or [] if lens.command]


async def lens(s: Session, uri: str, title: str) -> lsp.Command:
    got = await s.client.text_document_code_lens_async(
        lsp.CodeLensParams(text_document=lsp.TextDocumentIdentifier(uri=uri)))
    found = [lens.command for lens in got or [] if lens.command and lens.command.title == title]
    assert found, [lens.command.title for lens in got or [] if lens.command]
    return found[0]


async def action_titles(s: Session, uri: str) -> list[str]:
    got = await s.client.text_document_code_action_async(lsp.CodeActionParams(
        text_document=lsp.TextDocumentIdentifier(uri=uri),
        range=lsp.Range(lsp.Position(0, 0), lsp.Position(20, 0)), context=lsp.CodeActionContext(diagnostics=[])))
    return [a.title for a in got or []]


def output(s: Session, run_id: str) -> str:
    return "".join(s.rec.output.get(run_id, []))


def pid_of(s: Session, run_id: str, tag: str) -> int:
    m = re.findall(rf"{tag} pid=(\d+)", output(s, run_id))
    return int(m[-1]) if m else 0



def save(s: Session, rel: str, text: str) -> None:
    """What an editor does on save: the buffer changes, the file is written, didSave."""
    uri = s.uri(rel)
    s.change(uri, text)
    (s.root / rel).write_text(text)
    s.client.text_document_did_save(lsp.DidSaveTextDocumentParams(lsp.TextDocumentIdentifier(uri=uri)))


def starts(s: Session, run_id: str) -> int:
    return sum(1 for st in s.rec.started if st["runId"] == run_id)


async def test_watch_lens_restarts_on_save_only(session_factory: Any) -> None:
    s: Session = await session_factory(FILES)
    main = s.open("main.go")
    titles = await lens_titles(s, main)
    assert titles[:3] == ["▶ Run", "Watch", "Run with arguments…"], titles
    assert await action_titles(s, main) == ["Run main package", "Watch main package"]

    watch = await lens(s, main, "Watch")
    assert watch.command == "rungo.run" and watch.arguments
    res = await s.command(watch.command, watch.arguments[0])
    run_id = res["runId"] if isinstance(res, dict) else res.runId
    await s.rec.until(lambda: pid_of(s, run_id, "v1"), 120, "the first program")
    first = pid_of(s, run_id, "v1")
    assert "● Watching (stop)" in await lens_titles(s, main)
    assert await action_titles(s, main) == ["Run main package", "Stop watching"]
    again = await s.command("rungo.run", watch.arguments[0])    # one watch per package
    assert (again["runId"] if isinstance(again, dict) else again.runId) == run_id

    save(s, "main.go", program("v2"))
    await s.rec.until(lambda: pid_of(s, run_id, "v2"), 60, "the restarted program")
    second = pid_of(s, run_id, "v2")
    assert not alive(first) and alive(second)
    assert starts(s, run_id) == 2 and run_id not in s.rec.exited

    s.change(main, program("v3"))                      # unsaved: nothing restarts
    s.open("other/other.go")
    save(s, "other/other.go", "package other\n\nvar X = 1\n")    # not an input of the build
    await asyncio.sleep(2)
    assert "v3" not in output(s, run_id), repr(output(s, run_id))
    assert starts(s, run_id) == 2 and alive(second), repr(output(s, run_id))

    save(s, "main.go", program("v4").replace("time.Hour)", "time.Hour)\n\tundefinedCall()"))
    await s.rec.until(lambda: "undefined: undefinedCall" in output(s, run_id), 60, "the build error")
    await asyncio.sleep(0.5)
    assert alive(second) and starts(s, run_id) == 2 and run_id not in s.rec.exited

    save(s, "main.go", program("v5"))
    await s.rec.until(lambda: pid_of(s, run_id, "v5"), 60, "the program after the fix")
    fifth = pid_of(s, run_id, "v5")
    assert not alive(second) and starts(s, run_id) == 3

    stop = await lens(s, main, "● Watching (stop)")
    assert stop.command == "rungo.stop"
    await s.command(stop.command, stop.arguments[0] if stop.arguments else {})
    ex = await s.rec.until(lambda: s.rec.exited.get(run_id), 10, "the watch to end")
    assert ex["stage"] == "run" and ex["signal"] in ("SIGINT", "SIGKILL"), ex
    assert not alive(fifth)
    (s.root / "main.go").write_text(program("v6"))
    s.client.text_document_did_save(lsp.DidSaveTextDocumentParams(lsp.TextDocumentIdentifier(uri=main)))
    await asyncio.sleep(1)
    assert "v6" not in output(s, run_id) and starts(s, run_id) == 3
    assert (await lens_titles(s, main))[:2] == ["▶ Run", "Watch"]


async def test_a_program_that_exits_keeps_the_watch(session_factory: Any) -> None:
    done = 'package main\n\nimport "os"\n\nfunc main() { println("%s"); os.Exit(3) }\n'
    s: Session = await session_factory({"go.mod": FILES["go.mod"], "main.go": done % "one"})
    main = s.open("main.go")
    res = await s.command("rungo.run", {"uri": main, "watch": True})
    run_id = res["runId"] if isinstance(res, dict) else res.runId
    await s.rec.until(lambda: "[exit 3" in output(s, run_id), 120, "the status line")
    assert run_id not in s.rec.exited
    save(s, "main.go", done % "two")
    await s.rec.until(lambda: "two" in output(s, run_id), 60, "the rerun")
    await s.command("rungo.stop", {"runId": run_id})
    await s.rec.until(lambda: s.rec.exited.get(run_id), 10, "the watch to end")
    assert os.path.exists(s.root / "main.go")


@pytest.mark.parametrize("kind", CLIENTS)
async def test_saves_in_a_burst_end_with_the_last(kind: str, lsp_env: dict[str, str], tmp_path: Path) -> None:
    tmp = tmp_path / "tmpdir"
    tmp.mkdir()
    s = await start_session(kind, write_tree(tmp_path / "ws", FILES), {**lsp_env, "TMPDIR": str(tmp)})
    try:
        await burst(s)
    finally:
        await end_session(s)
    assert not list(tmp.iterdir()), list(tmp.iterdir())     # no work dir of a rebuild given up on stays


async def burst(s: Session) -> None:
    main = s.open("main.go")
    res = await s.command("rungo.run", {"uri": main, "watch": True})
    run_id = res["runId"] if isinstance(res, dict) else res.runId
    await s.rec.until(lambda: pid_of(s, run_id, "v1"), 120, "the first program")
    for n in range(2, 7):       # each save cancels the rebuild in flight (or restarts again)
        save(s, "main.go", program(f"b{n}"))
        await asyncio.sleep(0.02)
    await s.rec.until(lambda: pid_of(s, run_id, "b6"), 60, "the last save's program")
    await asyncio.sleep(1)
    pids = [int(p) for p in re.findall(r"pid=(\d+)", output(s, run_id))]
    assert [p for p in pids if alive(p)] == [pid_of(s, run_id, "b6")], output(s, run_id)
    await s.command("rungo.stop", {"runId": run_id})
    await s.rec.until(lambda: s.rec.exited.get(run_id), 10, "the watch to end")
    assert not any(alive(p) for p in pids)


@pytest.mark.parametrize("kind", CLIENTS)
async def test_shutdown_ends_a_watch(kind: str, lsp_env: dict[str, str], tmp_path: Path) -> None:
    root = write_tree(tmp_path / "ws", FILES)
    s = await start_session(kind, root, lsp_env)
    try:
        main = s.open("main.go")
        res = await s.command("rungo.run", {"uri": main, "watch": True})
        run_id = res["runId"] if isinstance(res, dict) else res.runId
        await s.rec.until(lambda: pid_of(s, run_id, "v1"), 120, "the program")
        pid = pid_of(s, run_id, "v1")
    finally:
        await end_session(s)
    for _ in range(50):
        if not alive(pid):
            break
        await asyncio.sleep(0.1)
    assert not alive(pid)


async def test_a_change_on_disk_to_a_closed_input_restarts_it(session_factory: Any) -> None:
    files = {**FILES, "main.go": program("v1").replace('"v1 pid', '"v1 %s pid').replace(
        "os.Getpid())", "word(), os.Getpid())"), "word.go": 'package main\n\nfunc word() string { return "one" }\n'}
    s: Session = await session_factory(files)
    main = s.open("main.go")
    res = await s.command("rungo.run", {"uri": main, "watch": True})
    run_id = res["runId"] if isinstance(res, dict) else res.runId
    await s.rec.until(lambda: "v1 one pid=" in output(s, run_id), 120, "the program")

    def changed(rel: str) -> None:
        s.client.workspace_did_change_watched_files(lsp.DidChangeWatchedFilesParams(
            [lsp.FileEvent(uri=s.uri(rel), type=lsp.FileChangeType.Changed)]))

    changed("main.go")                  # open in the editor: only its didSave counts
    changed("other/other.go")           # not an input
    await asyncio.sleep(1.5)
    assert starts(s, run_id) == 1
    (s.root / "word.go").write_text('package main\n\nfunc word() string { return "two" }\n')
    changed("word.go")
    await s.rec.until(lambda: "v1 two pid=" in output(s, run_id), 60, "the restart")
    changed("word.go")                  # the same change told again: its stamp already holds
    await asyncio.sleep(1.5)
    assert starts(s, run_id) == 2
    await s.command("rungo.stop", {"runId": run_id})
    await s.rec.until(lambda: s.rec.exited.get(run_id), 10, "the watch to end")


async def test_a_watch_whose_first_build_fails_starts_on_the_fixing_save(session_factory: Any) -> None:
    s: Session = await session_factory({**FILES, "main.go": "package main\n\nfunc main() {\n"})
    main = s.open("main.go")
    res = await s.command("rungo.run", {"uri": main, "watch": True})
    run_id = res["runId"] if isinstance(res, dict) else res.runId
    await s.rec.until(lambda: "main.go:" in output(s, run_id), 120, "the build error")
    assert run_id not in s.rec.exited
    save(s, "main.go", program("fixed"))
    await s.rec.until(lambda: pid_of(s, run_id, "fixed"), 60, "the program after the fix")
    await s.command("rungo.stop", {"runId": run_id})
    await s.rec.until(lambda: s.rec.exited.get(run_id), 10, "the watch to end")
    assert not alive(pid_of(s, run_id, "fixed"))


def stubborn(tag: str) -> str:
    """A program that reports and ignores SIGINT and SIGTERM (only SIGKILL ends it)."""
    return ('package main\n\nimport (\n\t"fmt"\n\t"os"\n\t"os/signal"\n\t"syscall"\n)\n\n'
            'func main() {\n\tc := make(chan os.Signal, 1)\n\tsignal.Notify(c, syscall.SIGINT, syscall.SIGTERM)\n'
            f'\tfmt.Printf("{tag} pid=%d\\n", os.Getpid())\n\tfor s := range c {{\n\t\tfmt.Printf("{tag} got %v\\n", s)\n\t}}\n}}\n')


async def test_the_watch_flags_of_the_command_line_hold_in_the_editor(session_factory: Any) -> None:
    flags = ["-watch-signal=SIGTERM", "-watch-grace=300ms", "-watch-on-error=stop", "-watch-clear"]
    s: Session = await session_factory({**FILES, "main.go": stubborn("v1")}, {"watchFlags": flags})
    main = s.open("main.go")
    plain = await lens(s, main, "▶ Run")              # a plain run has no use for them, and builds
    res = await s.command(plain.command, plain.arguments[0])
    plain_id = res["runId"] if isinstance(res, dict) else res.runId
    await s.rec.until(lambda: pid_of(s, plain_id, "v1"), 120, "the plain run's program")
    await s.command("rungo.stop", {"runId": plain_id})
    await s.rec.until(lambda: s.rec.exited.get(plain_id), 30, "the plain run to end")

    watch = await lens(s, main, "Watch")
    res = await s.command(watch.command, watch.arguments[0])
    run_id = res["runId"] if isinstance(res, dict) else res.runId
    await s.rec.until(lambda: pid_of(s, run_id, "v1"), 120, "the first program")
    first = pid_of(s, run_id, "v1")
    save(s, "main.go", stubborn("v2"))
    await s.rec.until(lambda: pid_of(s, run_id, "v2"), 60, "the restarted program")
    assert "v1 got terminated" in output(s, run_id)            # -watch-signal, then SIGKILL after the grace
    assert not alive(first) and "\x1b[2J" in output(s, run_id)  # -watch-clear
    second = pid_of(s, run_id, "v2")
    save(s, "main.go", stubborn("v3").replace("for s := range c", "undefinedCall()\n\tfor s := range c"))
    await s.rec.until(lambda: "program stopped" in output(s, run_id), 60, "the program stopped on the error")
    assert "undefined: undefinedCall" in output(s, run_id) and not alive(second)    # -watch-on-error=stop
    assert run_id not in s.rec.exited
    await s.command("rungo.stop", {"runId": run_id})
    await s.rec.until(lambda: s.rec.exited.get(run_id), 30, "the watch to end")


async def test_a_malformed_watch_flag_is_refused_as_the_command_line_refuses_it(session_factory: Any) -> None:
    s: Session = await session_factory(FILES, {"watchFlags": ["-watch-grace=soon"]})
    main = s.open("main.go")
    watch = await lens(s, main, "Watch")
    res = await s.command(watch.command, watch.arguments[0])
    run_id = res["runId"] if isinstance(res, dict) else res.runId
    ex = await s.rec.until(lambda: s.rec.exited.get(run_id), 30, "the refusal")
    assert ex["exitCode"] == 2 and ex["stage"] == "build", ex
    assert "-watch-grace" in output(s, run_id) and "soon" in output(s, run_id), repr(output(s, run_id))
