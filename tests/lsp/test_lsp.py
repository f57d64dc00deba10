"""`rungo lsp` through a real server process, as VS Code and as Neovim."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Any

from lsprotocol import types as lsp

from lspkit import Session, child_pids_of, lsp_env, session_factory  # noqa: F401  (fixtures)

MODULE = {
    "go.mod": "module example.com/ws\n\ngo 1.22\n",
    "main.go": """
        package main

        import "fmt"

        func main() {
        	fmt.Println(greeting())
        }
        """,
    "greet.go": """
        package main

        func greeting() string { return "hi" }
        """,
    "lib/lib.go": """
        package lib

        func Lib() int { return 1 }
        """,
    "lib/lib_test.go": """
        package lib
        """,
}

OK_MAIN = 'package main\n\nimport "fmt"\n\nfunc main() {\n\tfmt.Println(greeting())\n}\n'


def messages(diags: list[lsp.Diagnostic]) -> list[str]:
    return [d.message for d in diags]


async def test_type_error_appears_and_clears(session_factory: Any) -> None:
    s: Session = await session_factory(MODULE)
    uri = s.open("main.go")
    await s.diagnostics(uri, lambda d: d == [], "no diagnostics at first")
    s.change(uri, OK_MAIN.replace("fmt.Println(greeting())", "fmt.Println(greeting() + 1)"))
    diags = await s.diagnostics(uri, lambda d: any("mismatched types" in m or "cannot convert" in m
                                                   for m in messages(d)), "the type error")
    assert diags[0].range.start.line == 5
    assert diags[0].severity == lsp.DiagnosticSeverity.Error
    s.change(uri, OK_MAIN)
    await s.diagnostics(uri, lambda d: d == [], "the error to clear")


async def test_unsaved_edit_in_second_file_is_seen(session_factory: Any) -> None:
    s: Session = await session_factory(MODULE)
    main = s.open("main.go")
    greet = s.open("greet.go")
    await s.diagnostics(main, lambda d: d == [], "clean start")
    s.change(greet, "package main\n\nfunc greeting(n int) string { return \"hi\" }\n")
    diags = await s.diagnostics(main, lambda d: bool(d), "main.go to see the unsaved greet.go")
    assert any("not enough arguments in call to greeting" in m for m in messages(diags)), messages(diags)
    assert (s.root / "greet.go").read_text().startswith("package main\n\nfunc greeting() string")
    s.change(greet, "package main\n\nfunc greeting() string { return \"hi\" }\n")
    await s.diagnostics(main, lambda d: d == [], "the error to clear in main.go")


async def test_utf16_column(session_factory: Any) -> None:
    s: Session = await session_factory(MODULE)
    uri = s.open("main.go")
    line = '\tx := "héllo ✓"; fmt.Println(x, undefinedName)'
    s.change(uri, OK_MAIN.replace("\tfmt.Println(greeting())", line + "\n\t_ = greeting"))
    diags = await s.diagnostics(uri, lambda d: any("undefinedName" in m for m in messages(d)), "undefined")
    d = next(d for d in diags if "undefinedName" in d.message)
    assert d.range.start.line == 5
    assert d.range.start.character == line.index("undefinedName")  # Python str index == UTF-16 here (BMP)


async def test_redeclared_main_has_related_information(session_factory: Any) -> None:
    s: Session = await session_factory(MODULE)
    uri = s.open("main.go")
    s.change(uri, OK_MAIN + "\nfunc main() {}\n")
    diags = await s.diagnostics(uri, lambda d: any("redeclared" in m for m in messages(d)), "redeclared")
    d = next(d for d in diags if "redeclared" in d.message)
    assert d.related_information, d
    rel = d.related_information[0]
    assert rel.location.uri == uri and rel.location.range.start.line == 4
    assert "other declaration" in rel.message


async def test_rapid_edits_never_publish_stale_versions(session_factory: Any) -> None:
    s: Session = await session_factory(MODULE)
    uri = s.open("main.go")
    await s.diagnostics(uri, lambda d: d == [], "clean start")
    for i in range(12):
        s.change(uri, OK_MAIN.replace("greeting()", f"greeting() + {i}"))
        await asyncio.sleep(0.01)
    final = s.change(uri, OK_MAIN.replace("greeting()", "undefinedFinal"))
    await s.diagnostics(uri, lambda d: any("undefinedFinal" in m for m in messages(d)), "final error")
    await asyncio.sleep(0.5)
    versions = [p.version for p in s.rec.publishes if p.uri == uri and p.version is not None]
    assert versions == sorted(versions), versions
    last = s.rec.last(uri)
    assert last is not None and last.version == final
    for p in s.rec.publishes:
        if p.uri == uri and p.version == final:
            continue
        assert not any("undefinedFinal" in d.message for d in p.diagnostics)


async def test_syntax_error_is_immediate_and_test_files_get_syntax_only(session_factory: Any) -> None:
    s: Session = await session_factory(MODULE)
    uri = s.open("lib/lib_test.go", "package lib\n\nfunc broken( {\n")
    diags = await s.diagnostics(uri, lambda d: bool(d), "syntax error in a test file")
    assert all(d.range.start.line >= 2 for d in diags)
    lib = s.open("lib/lib.go")
    await s.diagnostics(lib, lambda d: d == [], "lib.go builds: the test file is not part of it")


async def test_run_lens_only_on_main(session_factory: Any) -> None:
    s: Session = await session_factory(MODULE)
    main = s.open("main.go")
    lenses = await s.client.text_document_code_lens_async(
        lsp.CodeLensParams(text_document=lsp.TextDocumentIdentifier(uri=main)))
    assert lenses is not None
    titles = [lens.command.title for lens in lenses if lens.command]
    assert titles[:3] == ["▶ Run", "Watch", "Run with arguments…"]
    assert all(lens.range.start.line == 4 for lens in lenses)
    for rel in ("greet.go", "lib/lib.go"):
        other = s.open(rel)
        got = await s.client.text_document_code_lens_async(
            lsp.CodeLensParams(text_document=lsp.TextDocumentIdentifier(uri=other)))
        assert not got


PROGRAMS = {
    "go.mod": "module example.com/progs\n\ngo 1.22\n",
    "both/main.go": """
        package main

        import (
        	"fmt"
        	"os"
        	"time"
        )

        func main() {
        	fmt.Println("out 1")
        	time.Sleep(20 * time.Millisecond)
        	fmt.Fprintln(os.Stderr, "err 2")
        	time.Sleep(20 * time.Millisecond)
        	fmt.Println("out 3", os.Args[1:])
        	os.Exit(4)
        }
        """,
    "echo/main.go": """
        package main

        import (
        	"bufio"
        	"fmt"
        	"os"
        )

        func main() {
        	r := bufio.NewReader(os.Stdin)
        	line, _ := r.ReadString('\\n')
        	fmt.Printf("got %q\\n", line)
        }
        """,
    "forever/main.go": """
        package main

        import (
        	"fmt"
        	"time"
        )

        func main() {
        	fmt.Println("running")
        	for {
        		time.Sleep(time.Second)
        	}
        }
        """,
    "trap/main.go": """
        package main

        import (
        	"fmt"
        	"os"
        	"os/signal"
        	"time"
        )

        func main() {
        	c := make(chan os.Signal, 1)
        	signal.Notify(c, os.Interrupt)
        	fmt.Println("trapping")
        	for {
        		<-c
        		fmt.Println("ignored")
        		time.Sleep(time.Millisecond)
        	}
        }
        """,
    "broken/main.go": """
        package main

        func main() {
        	undefinedCall()
        }
        """,
}


def output_of(s: Session, run_id: str) -> str:
    return "".join(s.rec.output.get(run_id, []))


async def run(s: Session, rel: str, **extra: Any) -> str:
    res = await s.command("rungo.run", {"uri": s.uri(rel), **extra})
    return str(res["runId"] if isinstance(res, dict) else res.runId)


async def test_run_streams_output_in_order_with_exit_code(session_factory: Any) -> None:
    s: Session = await session_factory(PROGRAMS)
    run_id = await run(s, "both/main.go", args=["a", "b"])
    ex = await s.rec.until(lambda: s.rec.exited.get(run_id), 120, "run to exit")
    assert ex["exitCode"] == 4 and ex["stage"] == "run" and ex["signal"] is None
    out = output_of(s, run_id)
    assert out.index("out 1") < out.index("err 2") < out.index("out 3 [a b]"), out
    assert {"runId": run_id} in s.rec.started


async def test_input_reaches_the_program(session_factory: Any) -> None:
    s: Session = await session_factory(PROGRAMS)
    run_id = await run(s, "echo/main.go")
    await s.command("rungo.input", {"runId": run_id, "data": "hello there\r"})
    ex = await s.rec.until(lambda: s.rec.exited.get(run_id), 120, "echo to exit")
    assert ex["exitCode"] == 0
    assert 'got "hello there\\n"' in output_of(s, run_id)


async def test_stop_ends_programs(session_factory: Any) -> None:
    s: Session = await session_factory(PROGRAMS)
    for rel, ready, lower, upper in (("forever/main.go", "running", 0.0, 1.0),
                                     ("trap/main.go", "trapping", 0.9, 5.0)):
        run_id = await run(s, rel)
        await s.rec.until(lambda: ready in output_of(s, run_id), 120, ready)
        t0 = time.monotonic()
        await s.command("rungo.stop", {"runId": run_id})
        ex = await s.rec.until(lambda: s.rec.exited.get(run_id), 10, "stop")
        took = time.monotonic() - t0
        assert lower <= took < upper, (rel, took)
        assert ex["signal"] in ("SIGINT", "SIGKILL"), ex


async def test_build_error_ends_run_with_stage_build(session_factory: Any) -> None:
    s: Session = await session_factory(PROGRAMS)
    run_id = await run(s, "broken/main.go")
    ex = await s.rec.until(lambda: s.rec.exited.get(run_id), 120, "build failure")
    assert ex["stage"] == "build" and ex["exitCode"] is None
    assert "main.go:4:2: undefined: undefinedCall" in output_of(s, run_id)
    uri = s.uri("broken/main.go")
    await s.rec.until(lambda: (p := s.rec.last(uri)) is not None and p.diagnostics, 30, "diagnostics")


async def test_server_survives_bad_input(session_factory: Any, tmp_path: Path) -> None:
    s: Session = await session_factory(MODULE)
    uri = s.open("main.go")
    for bad in ({"nothing": 1}, {"uri": 42}, {"uri": "file:///does/not/exist/main.go", "args": "x"}):
        try:
            await s.command("rungo.run", bad)
        except Exception:
            pass
    for bad_input in ({"runId": "nope", "data": 5}, {}):
        try:
            await s.command("rungo.input", bad_input)
        except Exception:
            pass
    big = OK_MAIN + "\n" + ("// " + "x" * 100 + "\n") * 50_000
    s.change(uri, big)
    s.change(uri, OK_MAIN.replace("greeting()", "greeting(\udcff)"))
    s.change(uri, OK_MAIN.replace("greeting()", "brokenAfterAll"))
    await s.diagnostics(uri, lambda d: any("brokenAfterAll" in m for m in messages(d)), "still answering")
    os.remove(s.root / "greet.go")
    s.client.workspace_did_change_watched_files(lsp.DidChangeWatchedFilesParams(
        changes=[lsp.FileEvent(uri=s.uri("greet.go"), type=lsp.FileChangeType.Deleted)]))
    s.change(uri, OK_MAIN)
    await s.diagnostics(uri, lambda d: any("greeting" in m for m in messages(d)), "greet.go gone")


async def test_settings_change_and_invalid_values(session_factory: Any) -> None:
    s: Session = await session_factory(MODULE, {"diagnostics": {"delayMs": "soon"}})
    await s.rec.until(lambda: any("delayMs" in m.message for m in s.client.messages), 30, "a settings warning")
    uri = s.open("main.go")
    s.change(uri, OK_MAIN.replace("greeting()", "nope()"))
    await s.diagnostics(uri, lambda d: any("undefined: nope" in m for m in messages(d)), "the error")
    s.client.workspace_did_change_configuration(lsp.DidChangeConfigurationParams(
        settings={"rungo": {"diagnostics": {"enabled": False}}}))
    await s.rec.until(lambda: (p := s.rec.last(uri)) is not None and not p.diagnostics, 30, "cleared")
    s.client.workspace_did_change_configuration(lsp.DidChangeConfigurationParams(
        settings={"rungo": {"buildFlags": ["-tags", "extra"], "diagnostics": {"enabled": True}}}))
    await s.diagnostics(uri, lambda d: any("undefined: nope" in m for m in messages(d)), "back on")


async def test_plain_client_gets_log_and_show_messages(session_factory: Any) -> None:
    s: Session = await session_factory(PROGRAMS, {"rungoOutput": False})
    await run(s, "both/main.go")
    await s.rec.until(lambda: any("exit 4" in m.message for m in s.client.messages), 120, "showMessage result")
    logged = "".join(m.message for m in s.client.log_messages)
    assert "out 1" in logged and "out 3" in logged
    assert not s.rec.output


async def test_restricted_mode_runs_nothing(session_factory: Any) -> None:
    s: Session = await session_factory(PROGRAMS, {"allowRuns": False})
    uri = s.open("both/main.go")
    lenses = await s.client.text_document_code_lens_async(
        lsp.CodeLensParams(text_document=lsp.TextDocumentIdentifier(uri=uri)))
    assert lenses and [lens.command.title for lens in lenses if lens.command] == [
        "▶ Run is off in Restricted Mode: trust the workspace to run programs"]
    try:
        await run(s, "both/main.go")
    except Exception as e:
        assert "Restricted Mode" in str(e)
    else:
        raise AssertionError("rungo.run ran in Restricted Mode")
    await asyncio.sleep(0.5)
    assert not s.rec.started and not s.rec.output


WORKSPACE_MODULES = {
    "go.work": "go 1.22\n\nuse (\n\t./app\n\t./lib\n)\n",
    "app/go.mod": "module example.com/app\n\ngo 1.22\n\nrequire example.com/lib v0.0.0\n",
    "app/main.go": 'package main\n\nimport (\n\t"fmt"\n\n\t"example.com/lib"\n)\n\nfunc main() {\n\tfmt.Println(lib.Name())\n}\n',
    "lib/go.mod": "module example.com/lib\n\ngo 1.22\n",
    "lib/lib.go": 'package lib\n\nfunc Name() string { return "from lib" }\n',
}


async def test_go_work_workspace_diagnostics_and_run(session_factory: Any) -> None:
    s: Session = await session_factory(WORKSPACE_MODULES)
    uri = s.open("app/main.go")
    await s.diagnostics(uri, lambda d: d == [], "a clean workspace")
    text = WORKSPACE_MODULES["app/main.go"].replace("lib.Name()", "lib.Missing()")
    s.change(uri, text)
    diags = await s.diagnostics(uri, lambda d: any("undefined: lib.Missing" in m for m in messages(d)), "the error")
    d = next(d for d in diags if "lib.Missing" in d.message)
    assert d.range.start.line == 9 and d.range.start.character == text.splitlines()[9].index("lib.Missing") + 4
    s.change(uri, WORKSPACE_MODULES["app/main.go"])
    await s.diagnostics(uri, lambda d: d == [], "the error to clear")
    run_id = await run(s, "app/main.go")
    ex = await s.rec.until(lambda: s.rec.exited.get(run_id), 120, "the run")
    assert ex["exitCode"] == 0 and "from lib" in output_of(s, run_id)
