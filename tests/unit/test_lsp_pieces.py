"""Pure parts of the language server: UTF-16 positions, compiler output, settings."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from rungo.build.diagnostics import parse_compiler_output, remap_paths
from rungo.lsp.settings import Settings, parse_settings, to_wire
from rungo.syntax.utf16 import LineIndex, byte_col_to_utf16, utf16_to_byte_col


@pytest.mark.parametrize("text,needle", [
    ('\tx := "héllo ✓"; y', "y"),
    ("a😀b c", "c"),
    ("plain", "n"),
])
def test_byte_columns_round_trip_to_utf16(text: str, needle: str) -> None:
    line = text.encode()
    byte_col = line.index(needle.encode()) + 1
    want = len(text[: text.index(needle)].encode("utf-16-le")) // 2
    assert byte_col_to_utf16(line, byte_col) == want
    assert utf16_to_byte_col(line, want) == byte_col


def test_invalid_utf8_and_clamping() -> None:
    assert byte_col_to_utf16(b"a\xffb", 3) == 2
    assert utf16_to_byte_col(b"a\xffb", 2) == 3
    assert byte_col_to_utf16(b"abc", 99) == 3
    assert byte_col_to_utf16(b"abc\r", 99) == 3
    assert utf16_to_byte_col(b"abc", 99) == 4


def test_line_index() -> None:
    idx = LineIndex("ab\nc\u00e9d\n\U0001F600x".encode())
    assert idx.position(2, 4) == (1, 2)
    assert idx.position(3, 5) == (2, 2)
    assert idx.offset_of(1, 2) == 6
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
    mapped = remap_paths(msgs, {str(tmp_path / "main.go"): "/real/main.go"})
    assert all(m.path == "/real/main.go" for m in mapped)
    assert mapped[-1].related == () or mapped[-1].related[0].path == "/real/main.go"


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
    assert to_wire(Settings())["diagnostics"] == {"enabled": True, "delayMs": 100, "explainExcluded": False}
