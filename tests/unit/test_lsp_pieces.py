"""Pure parts of the language server: UTF-16 positions, compiler output, settings."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from rungo.work.diagnostics import parse_compiler_output
from rungo.lsp.settings import Settings, parse_settings, to_wire
from rungo.syntax.utf16 import LineIndex, byte_col_to_utf16


@pytest.mark.parametrize("text,needle", [
    ('\tx := "héllo ✓"; y', "y"),
    ("a😀b c", "c"),
    ("plain", "n"),
])
def test_byte_columns_to_utf16(text: str, needle: str) -> None:
    line = text.encode()
    byte_col = line.index(needle.encode()) + 1
    want = len(text[: text.index(needle)].encode("utf-16-le")) // 2
    assert byte_col_to_utf16(line, byte_col) == want


def test_invalid_utf8_and_clamping() -> None:
    assert byte_col_to_utf16(b"a\xffb", 3) == 2
    assert byte_col_to_utf16(b"abc", 99) == 3
    assert byte_col_to_utf16(b"abc\r", 99) == 3


def test_line_index() -> None:
    idx = LineIndex("ab\nc\u00e9d\n\U0001F600x".encode())
    assert idx.position(2, 4) == (1, 2)
    assert idx.position(3, 5) == (2, 2)
    assert idx.position(99, 1) == (2, 3)


def test_parse_real_compiler_output(tmp_path: Path) -> None:
    (tmp_path / "go.mod").write_text("module ce\n\ngo 1.22\n")
    (tmp_path / "main.go").write_text(
        'package main\n\nfunc f(a int) int { return a }\n\nfunc main() {\n'
        '\tx := "héllo ✓"; _ = f(1, 2)\n}\n\nfunc main() {}\n')
    env = {"PATH": __import__("os").environ["PATH"], "HOME": str(tmp_path), "GOCACHE": str(tmp_path / "c"),
           "GOFLAGS": "", "GOTOOLCHAIN": "local", "GOENV": "off"}
    p = subprocess.run(["go", "build", "-o", str(tmp_path / "out"), "."], cwd=tmp_path, env=env,
                       capture_output=True, text=True)
    assert p.returncode != 0
    msgs, loose = parse_compiler_output(p.stderr, base_dir=str(tmp_path))
    assert loose == []
    by = {m.message: m for m in msgs}
    unused = by["declared and not used: x"]
    assert (unused.path, unused.line, unused.column) == (str(tmp_path / "main.go"), 6, 2)
    call = next(m for m in msgs if m.message.startswith("too many arguments"))
    assert call.continuation == ("have (number, number)", "want (int)")
    redecl = next(m for m in msgs if "redeclared" in m.message)
    assert redecl.related[0].line == 5 and "other declaration" in redecl.related[0].message


def test_compiler_output_odd_lines() -> None:
    msgs, loose = parse_compiler_output("# pkg\n/a b/c:d/x.go:3: no column\ntoo many errors\n", base_dir="/w")
    assert [(m.path, m.line, m.column, m.message) for m in msgs] == [("/a b/c:d/x.go", 3, 0, "no column")]
    assert loose == ["too many errors"]


def test_settings_camel_case_and_invalid_values() -> None:
    s, problems = parse_settings({"rungo": {"goPath": "/x/go", "buildFlags": ["-tags", "a"],
                                            "diagnostics": {"delayMs": 250, "enabled": "yes"},
                                            "args": {"./cmd": ["-v"]}, "env": {"A": 1}}})
    assert s.go_path == "/x/go" and s.build_flags == ["-tags", "a"] and s.args == {"./cmd": ["-v"]}
    assert s.diagnostics.delay_ms == 250 and s.diagnostics.enabled is True and s.env == {}
    assert len(problems) == 2 and any("diagnostics.enabled" in p for p in problems)
    assert parse_settings("garbage")[0] == Settings()
    assert parse_settings(None) == (Settings(), [])
    assert to_wire(Settings())["diagnostics"] == {"enabled": True, "delayMs": 100, "explainExcluded": False,
                                                  "besideGopls": "auto"}


# -- standing diagnostics: the compiler's word carried through edits ---------------------------------

from lsprotocol import types as lsp  # noqa: E402

from rungo.lsp.engine import parse_gofmt_errors  # noqa: E402
from rungo.scheduling import CancelToken, EngineRunner, ListGate  # noqa: E402
from rungo.lsp.standing import (  # noqa: E402
    LineEdit, between_answers, common_prefix, common_suffix, line_edit, shift_diagnostics, shift_lines)
from rungo.process import Completed  # noqa: E402


def diag(line: int, msg: str = "m") -> lsp.Diagnostic:
    return lsp.Diagnostic(range=lsp.Range(lsp.Position(line, 2), lsp.Position(line, 3)), message=msg)


def test_line_edit_finds_the_changed_lines() -> None:
    old = "a\nb\nc\nd\n"
    assert line_edit(old, old) is None
    assert line_edit(old, "a\nB\nc\nd\n") == LineEdit(1, 2, 2)
    assert line_edit(old, "a\nb\nx\ny\nc\nd\n") == LineEdit(2, 3, 5)   # two lines inserted before c
    assert line_edit(old, "a\nd\n") == LineEdit(1, 4, 2)
    big = "x" * 100_000
    assert common_prefix(big + "a", big + "b") == 100_000
    assert common_suffix("a" + big, "b" + big, 200_000) == 100_000


def test_shift_keeps_untouched_lines_and_moves_later_ones() -> None:
    diags = [diag(0, "above"), diag(3, "edited"), diag(7, "below")]
    kept = shift_diagnostics(diags, LineEdit(3, 4, 6))
    assert [(d.message, d.range.start.line) for d in kept] == [("above", 0), ("below", 9)]
    assert shift_lines([(1, 2), (10, 12)], LineEdit(3, 4, 6)) == [(1, 2), (3, 6), (12, 14)]
    assert shift_lines([(3, 5)], LineEdit(4, 5, 5)) == [(3, 5)]


def test_between_answers_trusts_the_compiler_outside_the_edits() -> None:
    compiler = [diag(2, "undefined: x"), diag(8, "other")]
    fast = [diag(5, "syntax error at the edit"), diag(6, "next line"), diag(12, "far away (a parser's mistake)")]
    shown = between_answers(compiler, fast, [(5, 6)], answered=True)
    assert [d.message for d in shown] == ["undefined: x", "syntax error at the edit", "next line", "other"]
    assert [d.message for d in between_answers(compiler, fast, [], answered=False)] == [d.message for d in fast]


def test_gofmt_errors_are_read() -> None:
    text = "<standard input>:3:14: expected ';', found 'EOF'\n<standard input>:7:1: expected '}'\nnoise\n"
    got = parse_gofmt_errors(text)
    assert [(p.line, p.column, p.message) for p in got] == [(3, 14, "expected ';', found 'EOF'"),
                                                            (7, 1, "expected '}'")]


# -- the engine's runner: cancellation kills the process group, go list runs once at a time ----------------

def test_cancel_kills_the_whole_process_group(tmp_path: Path) -> None:
    import os
    import threading
    import time

    token = CancelToken()
    runner = EngineRunner(env=dict(os.environ), token=token)
    pidfile = tmp_path / "grandchild"
    result: list[Completed] = []
    t = threading.Thread(target=lambda: result.append(runner.run(
        ["/bin/sh", "-c", f"sleep 100 & echo $! > {pidfile}; wait"])))
    t.start()
    deadline = time.monotonic() + 10
    while not (pidfile.exists() and pidfile.read_text().strip()):
        assert time.monotonic() < deadline
        time.sleep(0.01)
    grandchild = int(pidfile.read_text())
    t0 = time.monotonic()
    token.cancel()
    t.join(5)
    assert not t.is_alive() and time.monotonic() - t0 < 0.5
    assert result[0].returncode < 0 and b"cancelled" in result[0].stderr
    time.sleep(0.1)
    try:
        with open(f"/proc/{grandchild}/stat") as f:
            assert f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        pass    # gone: reaped
    late = runner.run(["/bin/true"])
    assert late.returncode < 0, "a cancelled token still started a process"


def test_go_list_export_runs_once_per_configuration() -> None:
    import threading
    import time

    gate = ListGate()
    running = 0
    most = 0
    calls = 0
    lock = threading.Lock()

    def spawn() -> Completed:
        nonlocal running, most, calls
        with lock:
            running += 1
            calls += 1
            most = max(most, running)
        time.sleep(0.2)
        with lock:
            running -= 1
        return Completed(("go",), 0, b"{}", b"")

    same = ["go", "list", "-e", "-export", "-deps", "-json=X", "--", "fmt"]
    other = ["go", "list", "-e", "-export", "-deps", "-json=X", "--", "fmt", "net"]
    threads = [threading.Thread(target=lambda a=a: gate.run(a, Path("/m"), {"A": "1"}, None, spawn))
               for a in (same, same, same, other)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert most == 1, "two go list -export of one configuration ran at once"
    assert calls == 2, f"identical calls were not shared ({calls} ran)"
    assert gate.shared == 2
    assert ListGate.applies(same) and not ListGate.applies(["go", "env", "-json"])


# -- incremental edits at C speed, equal to pygls' own ---------------------------------------------------

@pytest.mark.parametrize("encoding", [lsp.PositionEncodingKind.Utf16, lsp.PositionEncodingKind.Utf8,
                                      lsp.PositionEncodingKind.Utf32])
def test_edits_equal_pygls(encoding: lsp.PositionEncodingKind) -> None:
    import random

    from pygls.workspace import PositionCodec, TextDocument

    from rungo.lsp.documents import EditableDocument

    rng = random.Random(7)
    text = "package main\n\nfunc main() {\n\tx := \"héllo ✓ 😀\"\n}\n"
    codec = PositionCodec(encoding=encoding)
    ours = EditableDocument("file:///a.go", source=text, position_codec=codec)
    theirs = TextDocument("file:///a.go", source=text, position_codec=codec)
    pieces = ["a", "é", "😀", "\n", "✓", "}", ""]
    for _ in range(2000):
        src = theirs.source
        lines = src.split("\n")
        l1 = rng.randrange(len(lines))
        l2 = min(len(lines) - 1, l1 + rng.randrange(3))

        def units(line: str, upto: int) -> int:
            part = line[:upto]
            if encoding == lsp.PositionEncodingKind.Utf8:
                return len(part.encode())
            if encoding == lsp.PositionEncodingKind.Utf16:
                return len(part.encode("utf-16-le")) // 2
            return len(part)

        c1 = units(lines[l1], rng.randrange(len(lines[l1]) + 1))
        c2 = units(lines[l2], rng.randrange(len(lines[l2]) + 1))
        if (l2, c2) < (l1, c1):
            c2 = c1
        change = lsp.TextDocumentContentChangePartial(
            range=lsp.Range(lsp.Position(l1, c1), lsp.Position(l2, c2)),
            text="".join(rng.choice(pieces) for _ in range(rng.randrange(3))))
        ours.apply_change(change)
        theirs.apply_change(change)
        assert ours.source == theirs.source


# -- the server factory ------------------------------------------------------------------------------------


def test_create_server_registers_every_handler_on_a_new_server() -> None:
    from rungo.lsp.server import create_server

    a, b = create_server({}), create_server({})
    assert a is not b and a.documents is not b.documents and a.runs is not b.runs
    assert set(a.protocol.fm.commands) == {"rungo.run", "rungo.stop", "rungo.input", "rungo.resize"}
    assert {lsp.INITIALIZE, lsp.TEXT_DOCUMENT_DID_OPEN, lsp.TEXT_DOCUMENT_DID_CHANGE, lsp.TEXT_DOCUMENT_CODE_LENS,
            lsp.WORKSPACE_DID_CHANGE_CONFIGURATION, lsp.SHUTDOWN} <= set(a.protocol.fm.features)


def test_importing_the_server_does_no_work() -> None:
    import subprocess
    import sys

    code = ("import threading, rungo.lsp.server; from rungo.lsp import arguments, settings; "
            "print(threading.active_count(), settings.converter.cache_info().currsize, "
            "arguments.converter.cache_info().currsize)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["1", "0", "0"]
