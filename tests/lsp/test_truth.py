"""The language server tells the truth, at once: the compiler's word stands, runs build what the editor shows,
lenses sit where `go run` would run, go.mod errors sit in go.mod, and stop ends every process."""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

from lsprotocol import types as lsp

from lspkit import alive, Session, lsp_env, session_factory  # noqa: F401  (fixtures)


def messages(diags: list[lsp.Diagnostic]) -> list[str]:
    return [d.message for d in diags]


def publishes_for(s: Session, uri: str) -> list[lsp.PublishDiagnosticsParams]:
    return [p for p in s.rec.publishes if p.uri == uri]


async def settle(s: Session, quiet: float = 0.8, timeout: float = 60.0) -> None:
    """Waits until nothing was published for `quiet` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        n = len(s.rec.publishes)
        await asyncio.sleep(quiet)
        if len(s.rec.publishes) == n:
            return
    raise AssertionError("the server never went quiet")


# -- 1. Go 1.26's new(expr): the compiler is the truth for a file it compiled ------------------------

NEW_EXPR = {
    "go.mod": "module example.com/newexpr\n\ngo 1.26\n",
    "main.go": """
        package main

        import "fmt"

        type point struct{ x, y int }

        func g(x int) int { return x * 2 }

        func main() {
        	label := "start"
        	p := new(123)
        	q := new(g(1))
        	r := new(point{1, 2})
        	fmt.Println(label, *p, *q, r.x)
        }
        """,
}


async def test_new_expr_is_never_called_a_syntax_error(session_factory: Any) -> None:
    s: Session = await session_factory(NEW_EXPR)
    uri = s.open("main.go")
    await s.diagnostics(uri, lambda d: d == [], "the compiler's clean answer")
    text = (s.root / "main.go").read_text()
    for i in range(6):     # typing elsewhere in the file: the new(...) lines are untouched
        s.change(uri, text.replace('"start"', f'"start{i}"'))
        await asyncio.sleep(0.03)
    await s.diagnostics(uri, lambda d: d == [], "clean after the edits")
    await settle(s)
    said = [(p.version, d.range.start.line, d.message) for p in publishes_for(s, uri) for d in p.diagnostics]
    assert said == [], said


# -- 2. No flicker: the compiler's diagnostics of other lines stay while typing ------------------------

FLICKER_MAIN = """package main

import "fmt"

// notes:
func main() {
	fmt.Println("hello")
	fmt.Println(missing)
}
"""


async def test_compiler_diagnostics_stay_while_typing(session_factory: Any) -> None:
    s: Session = await session_factory({"go.mod": "module example.com/flicker\n\ngo 1.22\n",
                                        "main.go": FLICKER_MAIN}, {"diagnostics": {"delayMs": 400}})
    uri = s.open("main.go")
    await s.diagnostics(uri, lambda d: any("undefined: missing" in m for m in messages(d)), "undefined: missing")
    first = len(s.rec.publishes)
    expected_line: dict[int, int] = {}
    typed = ""
    for i, ch in enumerate("abcdefghijklmnopqrst"):
        typed += ch
        extra = "\n// more" if i >= 10 else ""     # after ten keystrokes a line is inserted above the error
        v = s.change(uri, FLICKER_MAIN.replace("// notes:", "// notes: " + typed + extra))
        expected_line[v] = 7 + (1 if extra else 0)
        await asyncio.sleep(0.02)
    await s.diagnostics(uri, lambda ds: any("undefined: missing" in x.message and x.range.start.line == 8
                                            for x in ds), "the error after typing")
    await settle(s)
    during = [p for p in s.rec.publishes[first:] if p.uri == uri]
    assert len(during) >= 5, f"only {len(during)} publishes while typing"
    for p in during:
        where = [d.range.start.line for d in p.diagnostics if "undefined: missing" in d.message]
        assert where == [expected_line[p.version]], (p.version, where, messages(list(p.diagnostics)))


async def test_syntax_error_shows_at_once_on_the_edited_line_only(session_factory: Any) -> None:
    s: Session = await session_factory({"go.mod": "module example.com/flicker\n\ngo 1.22\n",
                                        "main.go": FLICKER_MAIN}, {"diagnostics": {"delayMs": 3000}})
    uri = s.open("main.go")
    await s.diagnostics(uri, lambda d: any("undefined: missing" in m for m in messages(d)), "undefined: missing")
    t0 = time.monotonic()
    s.change(uri, FLICKER_MAIN.replace('fmt.Println("hello")', 'fmt.Println("hello" +'))
    diags = await s.diagnostics(uri, lambda d: any(x.range.start.line in (6, 7) and "syntax error" in x.message
                                                   for x in d), "a syntax error at the edit", timeout=10)
    assert time.monotonic() - t0 < 2.5, "the syntax error waited for the compiler"
    assert any("undefined: missing" in m for m in messages(diags)), messages(diags)


# -- 3. Runs build what the editor shows ---------------------------------------------------------------

DISK_BROKEN = {
    "go.mod": "module example.com/buffers\n\ngo 1.22\n",
    "main.go": """
        package main

        func main() {
        	undefinedOnDisk()
        }
        """,
}

BUFFER_OK = 'package main\n\nimport "fmt"\n\nfunc main() {\n\tfmt.Println("from the buffer")\n}\n'


async def test_run_builds_the_unsaved_buffer(session_factory: Any) -> None:
    s: Session = await session_factory(DISK_BROKEN)
    uri = s.open("main.go")
    await s.diagnostics(uri, lambda d: any("undefinedOnDisk" in m for m in messages(d)), "the disk's error")
    v = s.change(uri, BUFFER_OK)
    await s.diagnostics(uri, lambda d: d == [], "the buffer is clean")
    res = await s.command("rungo.run", {"uri": uri})
    run_id = str(res["runId"] if isinstance(res, dict) else res.runId)
    ex = await s.rec.until(lambda: s.rec.exited.get(run_id), 120, "the run")
    out = "".join(s.rec.output.get(run_id, []))
    assert ex["exitCode"] == 0 and ex["stage"] == "run", (ex, out)
    assert "from the buffer" in out
    await settle(s)
    for p in publishes_for(s, uri):
        if p.version is not None and p.version >= v:
            assert not any("undefinedOnDisk" in d.message for d in p.diagnostics), p


async def test_run_from_disk_never_publishes_what_the_editor_does_not_show(session_factory: Any) -> None:
    s: Session = await session_factory(DISK_BROKEN)
    uri = s.open("main.go")
    v = s.change(uri, BUFFER_OK)
    await s.diagnostics(uri, lambda d: d == [], "the buffer is clean")
    res = await s.command("rungo.run", {"uri": uri, "useBuffers": False})
    run_id = str(res["runId"] if isinstance(res, dict) else res.runId)
    ex = await s.rec.until(lambda: s.rec.exited.get(run_id), 120, "the run")
    assert ex["stage"] == "build"
    assert "undefinedOnDisk" in "".join(s.rec.output.get(run_id, []))
    await settle(s)
    for p in publishes_for(s, uri):
        if p.version is not None and p.version >= v:
            assert not any("undefinedOnDisk" in d.message for d in p.diagnostics), p


# -- 4. Lenses where `go run` would run ----------------------------------------------------------------

LENSES = {
    "go.mod": "module example.com/lenses\n\ngo 1.22\n",
    "main.go": """
        package main

        import "fmt"

        func main() { fmt.Println("the package") }
        """,
    "gen.go": """
        //go:build ignore

        package main

        import "fmt"

        func main() { fmt.Println("generated here") }
        """,
    "alpha.go": """
        //go:build alpha

        package main

        func helper() int { return 1 }
        """,
    "lib/lib.go": """
        package lib

        func Lib() int { return 1 }
        """,
    "lib/gen.go": """
        //go:build ignore

        package main

        import "fmt"

        func main() { fmt.Println("lib generator") }
        """,
    "lib/other.go": """
        //go:build alpha

        package main

        func main() {}
        """,
}


async def lenses_of(s: Session, uri: str) -> list[lsp.CodeLens]:
    got = await s.client.text_document_code_lens_async(
        lsp.CodeLensParams(text_document=lsp.TextDocumentIdentifier(uri=uri)))
    return list(got or [])


async def run_lens(s: Session, lens: lsp.CodeLens) -> tuple[dict[str, Any], str]:
    assert lens.command is not None and lens.command.arguments
    res = await s.command(lens.command.command, lens.command.arguments[0])
    run_id = str(res["runId"] if isinstance(res, dict) else res.runId)
    ex = await s.rec.until(lambda: s.rec.exited.get(run_id), 120, "the run")
    return ex, "".join(s.rec.output.get(run_id, []))


async def test_file_scoped_mains_run_as_go_run_file(session_factory: Any) -> None:
    s: Session = await session_factory(LENSES)
    main = await lenses_of(s, s.open("main.go"))
    assert [x.command.title for x in main if x.command][:1] == ["▶ Run"]
    assert not await lenses_of(s, s.open("alpha.go")), "a file the build leaves out, without func main"
    for rel, want in (("gen.go", "generated here"), ("lib/gen.go", "lib generator")):
        lenses = await lenses_of(s, s.open(rel))
        assert lenses and lenses[0].command is not None, rel
        assert lenses[0].command.title == "▶ Run gen.go", lenses[0].command.title
        ex, out = await run_lens(s, lenses[0])
        assert ex["exitCode"] == 0 and want in out, (rel, ex, out)
    # A client command that passes only the file's URI ("Run with arguments…") runs the same program.
    res = await s.command("rungo.run", {"uri": s.uri("gen.go"), "args": ["x"]})
    run_id = str(res["runId"] if isinstance(res, dict) else res.runId)
    ex = await s.rec.until(lambda: s.rec.exited.get(run_id), 120, "the run")
    assert ex["exitCode"] == 0 and "generated here" in "".join(s.rec.output.get(run_id, [])), ex
    other = await lenses_of(s, s.open("lib/other.go"))
    assert other and other[0].command is not None and other[0].command.title == "▶ Run other.go"
    assert not await lenses_of(s, s.open("lib/lib.go"))


# -- 5. go.mod errors at their line in go.mod, cleared when fixed ---------------------------------------

BAD_MOD = {
    "go.mod": "module example.com/badmod\n\ngo 1.22\n\nbogus directive here\n",
    "main.go": 'package main\n\nfunc main() {}\n',
}


async def test_go_mod_errors_sit_in_go_mod_and_clear_on_save(session_factory: Any) -> None:
    s: Session = await session_factory(BAD_MOD)
    main = s.open("main.go")
    gomod = s.uri("go.mod")
    await s.rec.until(lambda: (p := s.rec.last(gomod)) is not None and p.diagnostics, 60, "go.mod diagnostics")
    d = list(s.rec.last(gomod).diagnostics)   # type: ignore[union-attr]
    assert [x.range.start.line for x in d] == [4], d
    assert "unknown directive: bogus" in d[0].message
    await settle(s)
    for p in publishes_for(s, main):
        assert not any("go.mod" in x.message for x in p.diagnostics), p
    s.open("go.mod")
    fixed = "module example.com/badmod\n\ngo 1.22\n"
    s.change(gomod, fixed)
    await s.diagnostics(gomod, lambda d: d == [], "go.mod clean in the editor")
    (s.root / "go.mod").write_text(fixed)
    s.client.text_document_did_save(lsp.DidSaveTextDocumentParams(lsp.TextDocumentIdentifier(uri=gomod)))
    s.change(main, 'package main\n\nfunc main() { undefinedAfterFix() }\n')
    await s.diagnostics(main, lambda d: any("undefined: undefinedAfterFix" in m for m in messages(d)),
                        "the package compiles again")
    assert not s.rec.last(gomod).diagnostics    # type: ignore[union-attr]


# -- 8. stop ends the program's whole session ----------------------------------------------------------

SPAWNER = {
    "go.mod": "module example.com/spawner\n\ngo 1.22\n",
    "main.go": """
        package main

        import (
        	"fmt"
        	"os"
        	"os/exec"
        	"syscall"
        	"time"
        )

        func main() {
        	cmd := exec.Command("sleep", "1000")
        	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
        	if err := cmd.Start(); err != nil {
        		fmt.Println("cannot start:", err)
        		os.Exit(3)
        	}
        	fmt.Printf("child %d\\n", cmd.Process.Pid)
        	for {
        		time.Sleep(time.Second)
        	}
        }
        """,
}



async def test_stop_ends_children_in_their_own_process_group(session_factory: Any) -> None:
    s: Session = await session_factory(SPAWNER)
    res = await s.command("rungo.run", {"uri": s.uri("main.go")})
    run_id = str(res["runId"] if isinstance(res, dict) else res.runId)
    await s.rec.until(lambda: "child " in "".join(s.rec.output.get(run_id, [])), 120, "the child")
    out = "".join(s.rec.output.get(run_id, []))
    child = int(out.split("child ", 1)[1].split()[0])
    assert alive(child)
    assert os.getpgid(child) == child
    await s.command("rungo.stop", {"runId": run_id})
    await s.rec.until(lambda: s.rec.exited.get(run_id), 10, "the run to end")
    deadline = time.monotonic() + 3
    while alive(child) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    if alive(child):
        os.kill(child, 9)
        raise AssertionError("the child in its own process group survived rungo.stop")



# -- files the compiler does not see: the Go parser, not tree-sitter -------------------------------------

EXCLUDED = {
    "go.mod": "module example.com/excluded\n\ngo 1.26\n",
    "main.go": 'package main\n\nfunc main() {}\n',
    "gen.go": """
        //go:build ignore

        package main

        func main() {
        	p := new(123)
        	_ = p
        }
        """,
    "main_test.go": """
        package main

        func helper() *int {
        	return new(7)
        }
        """,
}


async def test_files_outside_the_build_are_judged_by_the_go_parser(session_factory: Any) -> None:
    s: Session = await session_factory(EXCLUDED)
    gen = s.open("gen.go")
    test = s.open("main_test.go")
    await s.diagnostics(gen, lambda d: d == [], "gen.go clean")
    await s.diagnostics(test, lambda d: d == [], "main_test.go clean")
    broken = (s.root / "gen.go").read_text().replace("_ = p", "_ = p +")
    s.change(gen, broken)
    diags = await s.diagnostics(gen, lambda d: any(x.range.start.line in (6, 7) for x in d), "the real error")
    assert all(x.range.start.line != 5 for x in diags), diags     # the new(123) line
    await settle(s)
    for p in publishes_for(s, gen):
        assert not any(x.range.start.line == 5 for x in p.diagnostics), p       # never about new(123)
    for p in publishes_for(s, test):
        assert not p.diagnostics, p                                            # never about new(7)
