"""The script interpreter itself: it must fail a script whose expectation is wrong, not only pass good ones."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from scriptlang import (Conditions, Outcome, State, expand, go_regexp, parse_line, parse_txtar, run_script,
                        ScriptError)


def _state(tmp_path: Path, go: str = "/bin/false") -> State:
    env = {"PATH": os.environ.get("PATH", ""), "WORK": str(tmp_path), "HOME": "/no-home", "X": "a.b"}

    def go_command(s: State, args: list[str]) -> tuple[list[str], dict[str, str]]:
        # A stand-in for the go command that prints its arguments and fails on "fail".
        code = "import sys; a=sys.argv[1:]; print(' '.join(a)); print('err', file=sys.stderr); sys.exit(3 if 'fail' in a else 0)"
        return [sys.executable, "-c", code, *args], {}
    return State(workdir=tmp_path, env=env, pwd=tmp_path, go=go_command,
                 conditions=Conditions({"GOOS": "linux", "GOARCH": "amd64", "CGO_ENABLED": "1", "CC": "gcc"}))


def _run(tmp_path: Path, text: str) -> Outcome:
    archive = parse_txtar(text.encode())
    for name, data in archive.files:
        p = tmp_path / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    return run_script(_state(tmp_path), archive.comment, "t.txt")


def test_a_passing_script(tmp_path: Path) -> None:
    out = _run(tmp_path, """\
# comments start sections
go run hello 'two words'
stdout '^run hello two words$'
stderr err
! stdout nothing-like-this
! go run fail
[GOOS:linux] cmp stdout want.txt
[!GOOS:linux] stop
exists want.txt
! exists missing.txt
env Y=$X
go list $Y
stdout '^list a\\.b$'
cp stdout got.txt
cmp got.txt want2.txt
-- want.txt --
run fail
-- want2.txt --
list a.b
""")
    assert out.status == "passed", out.detail + "\n" + out.log


def test_a_wrong_stdout_expectation_fails(tmp_path: Path) -> None:
    out = _run(tmp_path, """\
go run hello
stdout '^goodbye$'
""")
    assert out.status == "failed"
    assert "t.txt:2: stdout '^goodbye$'" in out.detail and "no match" in out.detail


def test_a_failure_where_success_was_expected_fails(tmp_path: Path) -> None:
    out = _run(tmp_path, "go run fail\n")
    assert out.status == "failed" and "exit status 3" in out.detail


def test_a_success_where_failure_was_expected_fails(tmp_path: Path) -> None:
    out = _run(tmp_path, "! go run fine\n")
    assert out.status == "failed" and "unexpected command success" in out.detail


def test_cmp_reports_the_first_difference(tmp_path: Path) -> None:
    out = _run(tmp_path, "go run a\ncmp stdout want\n-- want --\nrun b\n")
    assert out.status == "failed" and "first difference" in out.detail


def test_skip_and_unknown_conditions(tmp_path: Path) -> None:
    out = _run(tmp_path, "[short] stop\n[!short] skip 'needs a long run'\ngo run never\n")
    assert out.status == "skipped" and "needs a long run" in out.detail and "[!short]" in out.detail
    out = _run(tmp_path, "[no-such-condition] go run x\n")
    assert out.status == "failed" and "unknown condition" in out.detail


def test_optional_command_and_background(tmp_path: Path) -> None:
    out = _run(tmp_path, "? go run fail\ngo run one &\ngo run two &\nwait\nstdout '^run one$'\nstdout '^run two$'\n")
    assert out.status == "passed", out.detail
    out = _run(tmp_path, "go run fail &\nwait\n")
    assert out.status == "failed"


def test_parse_quotes_conditions_and_comments() -> None:
    cmd = parse_line("[!GOOS:windows] [cgo] ! go build -o 'a b'''c # trailing", 1)
    assert cmd is not None
    assert cmd.conds == [(False, "GOOS:windows"), (True, "cgo")]
    assert cmd.want == "!" and cmd.name == "go"
    assert ["".join(t for t, _ in f) for f in cmd.raw_args] == ["build", "-o", "a b'c"]
    assert parse_line("   # only a comment", 2) is None
    with pytest.raises(ScriptError):
        parse_line("echo 'unterminated", 3)


def test_expand_follows_os_expand() -> None:
    env = {"A": "1", "B": "2", ":": ":"}
    look = lambda k: env.get(k, "")  # noqa: E731
    assert expand("$A-${B}x$C.", look) == "1-2x."
    assert expand("cost$", look) == "cost$"
    assert expand("${:}", look) == ":"


def test_go_regexp_translations() -> None:
    assert go_regexp(r"^a[[:digit:]]+\z").search("x\na12")
    assert not go_regexp(r"^a[[:digit:]]+\z").search("a12\n")
    assert go_regexp(r"\Qa.b\E$").search("a.b")
    assert not go_regexp(r"\Qa.b\E$").search("axb")
