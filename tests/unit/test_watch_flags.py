"""rungo's -watch flags: taken out of the build flags without disturbing go run's grammar; the
watch set's rule for which events may matter."""

from __future__ import annotations

from pathlib import Path

import pytest

from rungo.filewatch import watch_set
from rungo.invocation import UsageError, WatchFlags, parse_duration, parse_run_args, split_watch_flags
from rungo.load.model import Watched
from rungo.load.stamps import package_dir_stamp, watched


def test_watch_flags_anywhere_among_the_build_flags() -> None:
    flags, rest = split_watch_flags(["-tags", "x", "-watch", "-watch-grace=500ms", "--watch-signal", "TERM",
                                     "-race", "-watch-debounce", "10ms", "-watch-on-error=stop", "-watch-clear",
                                     ".", "-watch", "arg"])
    assert flags == WatchFlags(on=True, signal="SIGTERM", grace_s=0.5, debounce_s=0.01, stop_on_error=True,
                               clear=True)
    assert rest == ["-tags", "x", "-race", ".", "-watch", "arg"]
    inv = parse_run_args(rest)
    assert inv.package == "." and inv.args == ("-watch", "arg") and inv.flags.race


def test_a_flag_value_that_looks_like_watch_stays_the_value() -> None:
    flags, rest = split_watch_flags(["-exec", "-watch", "-watch", "main.go"])
    assert flags.on and rest == ["-exec", "-watch", "main.go"]
    flags, rest = split_watch_flags(["-C", "-watch", "."])
    assert not flags.on and rest == ["-C", "-watch", "."]


def test_no_watch_flags_leave_the_command_line_alone() -> None:
    argv = ["-x", "-ldflags=-s", "./cmd", "-watch"]
    assert split_watch_flags(argv) == (WatchFlags(), argv)


@pytest.mark.parametrize(("argv", "message"), [
    (["-watch-grace=2", "."], 'invalid value "2" for flag -watch-grace: time: invalid duration "2"'),
    (["-watch", "-watch-signal=NOPE", "."], 'invalid value "NOPE" for flag -watch-signal: unknown signal'),
    (["-watch", "-watch-on-error=ignore", "."], 'invalid value "ignore" for flag -watch-on-error: must be keep or stop'),
    (["-watch=maybe", "."], 'invalid boolean value "maybe" for -watch: parse error'),
    (["-watch", "-watch-grace"], "flag needs an argument: -watch-grace"),
    (["-watch-nope", "."], "flag provided but not defined: -watch-nope"),
    (["-watch-clear", "."], "rungo: -watch-clear needs -watch"),
])
def test_bad_watch_flags(argv: list[str], message: str) -> None:
    with pytest.raises(UsageError) as e:
        split_watch_flags(argv)
    assert e.value.message == message


def test_durations_as_go_reads_them() -> None:
    assert parse_duration("2s") == 2.0
    assert parse_duration("1m30s") == 90.0
    assert parse_duration("1.5s") == 1.5
    assert parse_duration("0") == 0.0
    assert abs(parse_duration("50ms") - 0.05) < 1e-12
    with pytest.raises(ValueError):
        parse_duration("")


def test_signals_by_name_or_number() -> None:
    assert split_watch_flags(["-watch", "-watch-signal=15", "."])[0].signal == "SIGTERM"
    assert split_watch_flags(["-watch", "-watch-signal=sighup", "."])[0].signal == "SIGHUP"


def test_which_events_may_matter(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "main.go").write_text("package main\n")
    ws = watch_set([Watched(str(pkg), package_dir_stamp(pkg)), watched(pkg / "main.go"),
                    watched(tmp_path / "go.work"), watched(tmp_path / "newpkg" / "sub")])
    assert ws.concerns(str(pkg / "main.go"))
    assert ws.concerns(str(pkg / "new.go"))                # a new source file of a package read
    assert not ws.concerns(str(pkg / ".main.go.swp"))      # an editor's swap file
    assert not ws.concerns(str(pkg / ".#main.go"))         # an editor's lock file
    assert not ws.concerns(str(pkg / "main.go~"))          # an editor's backup
    assert not ws.concerns(str(pkg / "server.log"))        # what the program writes
    assert ws.concerns(str(tmp_path / "go.work"))          # an absent input appearing
    assert ws.concerns(str(tmp_path / "newpkg"))           # a missing directory above an input
    assert not ws.concerns(str(tmp_path / "other" / "x.go"))
    assert set(ws.directories()) == {str(pkg), str(tmp_path)}
    assert ws.changed() == ()
    (pkg / "server.log").write_text("x")
    (pkg / ".main.go.swp").write_text("x")
    assert ws.changed() == ()                              # the package's names that matter are the same
    (pkg / "main.go").write_text("package main\n\nfunc main() {}\n")
    assert ws.changed() == (str(pkg / "main.go"),)
    (pkg / "b.go").write_text("package main\n")
    assert set(ws.changed()) == {str(pkg), str(pkg / "main.go")}
    assert watch_set(ws.restamped()).changed() == ()
