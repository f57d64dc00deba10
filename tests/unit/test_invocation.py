"""Unit tests for rungo.invocation: the `go run` command-line grammar.

Every expected error string below was printed by the real `go run` (go1.26.8 linux/amd64) in a
module directory; `go` printed it on stderr, followed by the usage blurb (and exit status 2) when
show_usage is true, else with exit status 1.
"""

from __future__ import annotations

import dataclasses

import pytest

from rungo.invocation import (
    GO_FLAG_NAMES,
    RUN_FLAGS,
    SUPPORTED,
    USAGE,
    BuildFlags,
    Invocation,
    PerPackageFlag,
    UsageError,
    flags_for,
    matches_pattern,
    parse_run_args,
    unsupported,
)
from rungo.quoting import quoted_split

# (argv, GOFLAGS, go's message, usage blurb follows)
GO_ERRORS: list[tuple[list[str], str, str, bool]] = [
    ([], "", "go: no go files listed", False),
    (["-x"], "", "go: no go files listed", False),
    (["-"], "", "go: no go files listed", False),
    (["--", "-x"], "", "go: no go files listed", False),
    (["-foo", "."], "", "flag provided but not defined: -foo", True),
    (["--foo", "."], "", "flag provided but not defined: -foo", True),
    (["-o", "x", "."], "", "flag provided but not defined: -o", True),
    (["-count=1", "."], "", "flag provided but not defined: -count", True),
    (["-\u00fc", "."], "", "flag provided but not defined: -\u00fc", True),
    (["---x", "."], "", "bad flag syntax: ---x", True),
    (["-=x", "."], "", "bad flag syntax: -=x", True),
    (["--=x", "."], "", "bad flag syntax: --=x", True),
    (["-h"], "", "", True),
    (["-help", "."], "", "", True),
    (["--help"], "", "", True),
    (["-x=maybe", "."], "", 'invalid boolean value "maybe" for -x: parse error', True),
    (["-x=", "."], "", 'invalid boolean value "" for -x: parse error', True),
    (["-json=2", "."], "", 'invalid boolean value "2" for -json: parse error', True),
    (["-p"], "", "flag needs an argument: -p", True),
    (["-p=x", "."], "", 'invalid value "x" for flag -p: parse error', True),
    (["-p", "x", "."], "", 'invalid value "x" for flag -p: parse error', True),
    (["-p", "-x", "."], "", 'invalid value "-x" for flag -p: parse error', True),
    (["-p=", "."], "", 'invalid value "" for flag -p: parse error', True),
    (["-p=_1", "."], "", 'invalid value "_1" for flag -p: parse error', True),
    (["-p=1_", "."], "", 'invalid value "1_" for flag -p: parse error', True),
    (["-p=1__0", "."], "", 'invalid value "1__0" for flag -p: parse error', True),
    (["-p=0x", "."], "", 'invalid value "0x" for flag -p: parse error', True),
    (["-p=0b", "."], "", 'invalid value "0b" for flag -p: parse error', True),
    (["-p=08", "."], "", 'invalid value "08" for flag -p: parse error', True),
    (["-p=+", "."], "", 'invalid value "+" for flag -p: parse error', True),
    (["-p=\u00e9\n", "."], "", 'invalid value "\u00e9\\n" for flag -p: parse error', True),
    (["-p=\x01\"\\", "."], "", 'invalid value "\\x01\\"\\\\" for flag -p: parse error', True),
    (["-p=\u00ad", "."], "", 'invalid value "\\u00ad" for flag -p: parse error', True),
    (["-p=99999999999999999999", "."], "",
     'invalid value "99999999999999999999" for flag -p: value out of range', True),
    (["-p=99999999999999999999x", "."], "",
     'invalid value "99999999999999999999x" for flag -p: value out of range', True),
    (["-p=9223372036854775808", "."], "",
     'invalid value "9223372036854775808" for flag -p: value out of range', True),
    (["-p=-9223372036854775809", "."], "",
     'invalid value "-9223372036854775809" for flag -p: value out of range', True),
    (["-p=0", "."], "", "go: -p must be a positive integer: 0", False),
    (["-p=-3"], "", "go: -p must be a positive integer: -3", False),
    (["-p=-9223372036854775808", "."], "",
     "go: -p must be a positive integer: -9223372036854775808", False),
    (["-mod=foo", "."], "",
     "-mod=foo not supported (can be '', 'mod', 'readonly', or 'vendor')", False),
    (["-mod=foo", "-p=0", "."], "",
     "-mod=foo not supported (can be '', 'mod', 'readonly', or 'vendor')", False),
    (["-mod=foo"], "",
     "-mod=foo not supported (can be '', 'mod', 'readonly', or 'vendor')", False),
    (["x_test.go"], "", "go: cannot run *_test.go files (x_test.go)", False),
    (["main.go", "x_test.go"], "", "go: cannot run *_test.go files (x_test.go)", False),
    (["-x", "-C", "sub", "."], "",
     'invalid value "sub" for flag -C: -C flag must be first flag on command line', True),
    (["-C", "sub", "-C", "sub", "."], "",
     'invalid value "sub" for flag -C: -C flag must be first flag on command line', True),
    (["-C"], "", "flag needs an argument: -C", True),
    (["-v", "-C"], "", "flag needs an argument: -C", True),
    (["-tags"], "", "flag needs an argument: -tags", True),
    (["-tags", "'a", "."], "", "invalid value \"'a\" for flag -tags: unterminated ' string",
     True),
    (["-gcflags=x", "."], "",
     'invalid value "x" for flag -gcflags: missing =<value> in <pattern>=<value>', True),
    (["-gcflags==x", "."], "",
     'invalid value "=x" for flag -gcflags: missing <pattern> in <pattern>=<value>', True),
    (["-gcflags='a=b", "."], "",
     "invalid value \"'a=b\" for flag -gcflags: parameter may not start with quote character '",
     True),
    (["-gcflags=\"x=-N", "."], "",
     'invalid value "\\"x=-N" for flag -gcflags: parameter may not start with quote character "',
     True),
    (["-gcflags=all='-N", "."], "",
     "invalid value \"all='-N\" for flag -gcflags: unterminated ' string", True),
    (["-exec", "'x", "."], "", "invalid value \"'x\" for flag -exec: unterminated ' string",
     True),
    (["-toolexec", "'x", "."], "",
     "invalid value \"'x\" for flag -toolexec: unterminated ' string", True),
    (["-compiler=foo", "."], "",
     'invalid value "foo" for flag -compiler: unknown compiler "foo"', True),
    (["-covermode=foo", "."], "",
     'invalid value "foo" for flag -covermode: valid modes are "set", "count", or "atomic"',
     True),
    (["-buildvcs=foo", "."], "",
     "invalid boolean value \"foo\" for -buildvcs: value is neither 'auto' nor a valid bool",
     True),
    # $GOFLAGS
    ([".", "a"], "-foo", "go: parsing $GOFLAGS: unknown flag -foo", False),
    ([".", "a"], "-h", "go: parsing $GOFLAGS: unknown flag -h", False),
    ([".", "a"], "-printf", "go: parsing $GOFLAGS: unknown flag -printf", False),
    (["-bar", ".", "a"], "-foo", "go: parsing $GOFLAGS: unknown flag -foo", False),
    ([".", "a"], "x", 'go: parsing $GOFLAGS: non-flag "x"', False),
    ([".", "a"], "-", 'go: parsing $GOFLAGS: non-flag "-"', False),
    ([".", "a"], "--", 'go: parsing $GOFLAGS: non-flag "--"', False),
    ([".", "a"], "---x", 'go: parsing $GOFLAGS: non-flag "---x"', False),
    ([".", "a"], "-=x", 'go: parsing $GOFLAGS: non-flag "-=x"', False),
    ([".", "a"], "--=x", 'go: parsing $GOFLAGS: non-flag "--=x"', False),
    ([".", "a"], "'-x", "go: parsing $GOFLAGS: unterminated ' string", False),
    ([".", "a"], "-x=maybe",
     'go: invalid boolean value "maybe" for flag -x (from $GOFLAGS): parse error', True),
    ([".", "a"], '-x="maybe"',
     'go: invalid boolean value "\\"maybe\\"" for flag -x (from $GOFLAGS): parse error', True),
    ([".", "a"], "-v=foo",
     'go: invalid boolean value "foo" for flag -v (from $GOFLAGS): parse error', True),
    ([".", "a"], "-p", "go: flag needs an argument: -p (from $GOFLAGS)", True),
    ([".", "a"], "-tags", "go: flag needs an argument: -tags (from $GOFLAGS)", True),
    ([".", "a"], "-C", "go: flag needs an argument: -C (from $GOFLAGS)", True),
    ([".", "a"], "-p=x", 'go: invalid value "x" for flag -p (from $GOFLAGS): parse error',
     True),
    ([".", "a"], "--p=x", 'go: invalid value "x" for flag -p (from $GOFLAGS): parse error',
     True),
    (["-bar", ".", "a"], "-p=x",
     'go: invalid value "x" for flag -p (from $GOFLAGS): parse error', True),
    (["-C", "sub", "."], "-p=x",
     'go: invalid value "x" for flag -p (from $GOFLAGS): parse error', True),
    ([".", "a"], "-buildvcs=foo",
     "go: invalid boolean value \"foo\" for flag -buildvcs (from $GOFLAGS): "
     "value is neither 'auto' nor a valid bool", True),
    ([".", "a"], "-gcflags=x",
     'go: invalid value "x" for flag -gcflags (from $GOFLAGS): '
     "missing =<value> in <pattern>=<value>", True),
    ([".", "a"], "-C=x",
     'go: invalid value "x" for flag -C (from $GOFLAGS): '
     "-C flag must be first flag on command line", True),
    ([".", "a"], "-exec='x",
     "go: invalid value \"'x\" for flag -exec (from $GOFLAGS): unterminated ' string", True),
    ([".", "a"], "-mod=foo",
     "-mod=foo not supported (can be '', 'mod', 'readonly', or 'vendor')", False),
    # the command line's own error wins over a bad -mod from $GOFLAGS (checked later)
    (["-p=x", ".", "a"], "-mod=foo", 'invalid value "x" for flag -p: parse error', True),
]


@pytest.mark.parametrize(("argv", "goflags", "message", "show_usage"), GO_ERRORS)
def test_error_text_matches_go(argv: list[str], goflags: str, message: str, show_usage: bool) -> None:
    with pytest.raises(UsageError) as info:
        parse_run_args(argv, goflags)
    assert info.value.message == message
    assert str(info.value) == message
    assert info.value.show_usage is show_usage


def test_usage_blurb_is_gos() -> None:
    assert USAGE == (
        "usage: go run [build flags] [-exec xprog] package [arguments...]\n"
        "Run 'go help run' for details."
    )


# --- target and program arguments (checked with a program printing os.Args[1:]) --------------


@pytest.mark.parametrize(
    ("argv", "files", "package", "args"),
    [
        ([".", "a", "b"], (), ".", ("a", "b")),
        (["-p", "4", ".", "-race", "x"], (), ".", ("-race", "x")),
        (["--", ".", "a", "b"], (), ".", ("a", "b")),
        ([".", "--", "a"], (), ".", ("--", "a")),
        (["main.go", "a", "b.go"], ("main.go",), None, ("a", "b.go")),
        (["main.go", "-x"], ("main.go",), None, ("-x",)),
        (["a.go", "b.go", "c", "d.go"], ("a.go", "b.go"), None, ("c", "d.go")),
        (["--", "main.go"], ("main.go",), None, ()),
        (["./cmd/x"], (), "./cmd/x", ()),
        (["example.com/m/x", "-v"], (), "example.com/m/x", ("-v",)),
        (["golang.org/x/tools/cmd/stringer@v0.1.0", "-h"], (),
         "golang.org/x/tools/cmd/stringer@v0.1.0", ("-h",)),
        (["dir.go/x"], (), "dir.go/x", ()),
        ([""], (), "", ()),
    ],
)
def test_target_and_arguments(
    argv: list[str], files: tuple[str, ...], package: str | None, args: tuple[str, ...]
) -> None:
    inv = parse_run_args(argv)
    assert (inv.files, inv.package, inv.args) == (files, package, args)


def test_a_go_suffixed_directory_is_still_a_file_argument() -> None:
    # run.go uses strings.HasSuffix(arg, ".go") only; there is no directory check.
    assert parse_run_args(["pkg.go"]).files == ("pkg.go",)


# --- flag syntax -------------------------------------------------------------------------------


def test_flag_forms() -> None:
    inv = parse_run_args(["-x", "--v", "-a=true", "-work=false", "-p=4", "-tags", "a,b", "."])
    f = inv.flags
    assert (f.x, f.v, f.a, f.work, f.p, f.tags) == (True, True, True, False, 4, ("a", "b"))
    assert f.explicit == frozenset({"x", "v", "a", "work", "p", "tags"})
    assert parse_run_args(["--p", "3", "."]).flags.p == 3


@pytest.mark.parametrize(
    ("value", "expected"),
    [("0x2", 2), ("1_0", 10), ("0_1", 1), ("0x_1", 1), ("010", 8), ("+3", 3), ("0b11", 3),
     ("0o7", 7), ("0X1f", 31), ("9223372036854775807", 9223372036854775807)],
)
def test_p_accepts_go_integer_syntax(value: str, expected: int) -> None:
    # go run accepted each of these (strconv.ParseInt(s, 0, 64)).
    assert parse_run_args([f"-p={value}", "."]).flags.p == expected


@pytest.mark.parametrize("value", ["1", "t", "T", "TRUE", "true", "True"])
def test_bool_true_spellings(value: str) -> None:
    assert parse_run_args([f"-race={value}", "."]).flags.race is True


@pytest.mark.parametrize("value", ["0", "f", "F", "FALSE", "false", "False"])
def test_bool_false_spellings(value: str) -> None:
    assert parse_run_args(["-race", f"-race={value}", "."]).flags.race is False


def test_a_bool_flag_never_takes_the_next_argument() -> None:
    inv = parse_run_args(["-x", "true", "a"])
    assert inv.flags.x and inv.package == "true" and inv.args == ("a",)


def test_every_go_run_flag_is_recognised() -> None:
    values = {"p": "2", "mod": "mod", "compiler": "gc", "covermode": "set", "buildvcs": "auto",
              "C": None}
    for name in RUN_FLAGS:
        if name == "C":
            continue
        argv = [f"-{name}={values.get(name, '')}"] if name in values else [f"-{name}=x"]
        if name in ("a", "n", "x", "v", "work", "trimpath", "race", "msan", "asan",
                    "linkshared", "json", "modcacherw", "cover"):
            argv = [f"-{name}"]
        if name in ("gcflags", "ldflags", "asmflags", "gccgoflags"):
            argv = [f"-{name}=-x"]
        assert name in parse_run_args([*argv, "."]).flags.explicit, name


def test_mod_values() -> None:
    for mode in ("readonly", "mod", "vendor"):
        assert parse_run_args([f"-mod={mode}", "."]).flags.mod == mode
    empty = parse_run_args(["-mod=", ".", "k"])  # go: accepted, as if not given
    assert empty.flags.mod is None and "mod" in empty.flags.explicit


def test_string_flags() -> None:
    f = parse_run_args(["-modfile=alt.mod", "-buildmode=pie", "-installsuffix=s",
                        "-overlay=o.json", "-pgo=off", "-pkgdir=/tmp/p", "-compiler=gccgo",
                        "-debug-trace=t", "."]).flags
    assert (f.modfile, f.buildmode, f.installsuffix, f.overlay, f.pgo, f.pkgdir, f.compiler,
            f.debug_trace) == ("alt.mod", "pie", "s", "o.json", "off", "/tmp/p", "gccgo", "t")


def test_buildvcs_is_canonicalised() -> None:
    assert parse_run_args(["-buildvcs", "."]).flags.buildvcs == "true"
    assert parse_run_args(["-buildvcs=", ".", "e"]).flags.buildvcs == "auto"
    assert parse_run_args(["-buildvcs=auto", "."]).flags.buildvcs == "auto"
    assert parse_run_args(["-buildvcs=F", "."]).flags.buildvcs == "false"


def test_cover_flags_imply_cover() -> None:
    f = parse_run_args(["-covermode=atomic", "-coverpkg=a/...,b", "."]).flags
    assert (f.cover, f.covermode, f.coverpkg) == (True, "atomic", ("a/...", "b"))
    assert parse_run_args(["-coverpkg=", "."]).flags.coverpkg == ()
    assert parse_run_args(["-coverpkg=a,,b", "."]).flags.coverpkg == ("a", "", "b")
    assert parse_run_args(["-covermode=set", "-cover=false", "."]).flags.cover is False


@pytest.mark.parametrize(
    ("value", "tags"),
    [("a,b", ("a", "b")), ("a,,b,", ("a", "b")), ("", ()), ("a b", ("a", "b")),
     ("'a'", ("a",)), ("a b'", ("a", "b'")), ("a,b c", ("a,b", "c"))],
)
def test_tags_forms(value: str, tags: tuple[str, ...]) -> None:
    assert parse_run_args(["-tags", value, "."]).flags.tags == tags


def test_exec_and_toolexec_are_split_like_go() -> None:
    f = parse_run_args(["-exec", "  xprog 'a b' \"c d\" e'f  ", "-toolexec=t -v", "."]).flags
    assert f.exec_cmd == ("xprog", "a b", "c d", "e'f")
    assert f.toolexec == ("t", "-v")
    assert parse_run_args(["-exec", "", "."]).flags.exec_cmd == ()


# --- per-package flags -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "entry"),
    [
        ("-s -w", PerPackageFlag(None, ("-s", "-w"))),
        ("  -s  ", PerPackageFlag(None, ("-s",))),
        ("", PerPackageFlag(None, ())),
        ("   ", PerPackageFlag(None, ())),
        ("-X 'main.v=a b'", PerPackageFlag(None, ("-X", "main.v=a b"))),
        ("-X=main.v=1", PerPackageFlag(None, ("-X=main.v=1",))),
        ("all=-N -l", PerPackageFlag("all", ("-N", "-l"))),
        (" std = -S", PerPackageFlag("std", ("-S",))),
        ("all=", PerPackageFlag("all", ())),
        ("example.com/...=-m", PerPackageFlag("example.com/...", ("-m",))),
        ("./x=a=b", PerPackageFlag("./x", ("a=b",))),
        ('all="-a b" c', PerPackageFlag("all", ("-a b", "c"))),
    ],
)
def test_per_package_value(value: str, entry: PerPackageFlag) -> None:
    assert parse_run_args([f"-gcflags={value}", "."]).flags.gcflags == (entry,)


def test_per_package_occurrences_accumulate_goflags_first() -> None:
    f = parse_run_args(["-ldflags=-s", "-ldflags=all=-w", "."], "-ldflags=-X=a=1").flags
    assert f.ldflags == (
        PerPackageFlag(None, ("-X=a=1",)), PerPackageFlag(None, ("-s",)),
        PerPackageFlag("all", ("-w",)))


def test_flags_for_last_match_wins() -> None:
    # go run -n -gcflags=-N -gcflags=all=-l . compiled main with -l only;
    # go run -n -gcflags=all=-l -gcflags=-N . compiled main with -N only;
    # go run -n '-gcflags=-N -l' -gcflags= . compiled main with neither.
    first = (PerPackageFlag(None, ("-N",)), PerPackageFlag("all", ("-l",)))
    assert flags_for(first, "example.com/gx", True) == ("-l",)
    assert flags_for(first, "fmt", False, is_std=True) == ("-l",)
    second = (PerPackageFlag("all", ("-l",)), PerPackageFlag(None, ("-N",)))
    assert flags_for(second, "example.com/gx", True) == ("-N",)
    assert flags_for(second, "fmt", False, is_std=True) == ("-l",)
    cleared = (PerPackageFlag(None, ("-N", "-l")), PerPackageFlag(None, ()))
    assert flags_for(cleared, "example.com/gx", True) == ()
    assert flags_for((PerPackageFlag(None, ("-N",)),), "fmt", False, is_std=True) == ()
    assert flags_for((), "x", True) == ()
    std = (PerPackageFlag("std", ("-S",)),)
    assert flags_for(std, "fmt", False, is_std=True) == ("-S",)
    assert flags_for(std, "example.com/m", True) == ()


def _match(pattern: str, path: str, **kw: object) -> bool:
    args: dict[str, object] = {"is_std": False, "dir_of_pkg": None, "cwd": "/w"}
    args.update(kw)
    return matches_pattern(pattern, path, **args)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        ("all", "anything/at/all", True),
        ("net/...", "net", True),
        ("net/...", "net/http", True),
        ("net/...", "network", False),
        ("net...", "network", True),
        ("example.com/m", "example.com/m", True),
        ("example.com/m", "example.com/m/x", False),
        ("example.com/.../x", "example.com/a/b/x", True),
        ("example.com/...", "example.com/vendor/x", False),
        ("example.com/...", "example.com/vendor", True),
        ("example.com/vendor/...", "example.com/vendor/x", True),
        ("example.com/vendor/...", "example.com/vendor", True),
        ("cmd/...", "cmd/vendor", True),
        ("...", "a/vendor/b", False),
        ("...", "a\nb", True),
        ("a.b", "axb", False),
        ("tool", "tool", True),  # GOPATH mode: an ordinary import path
        ("work", "example.com/m", False),
    ],
)
def test_import_path_patterns(pattern: str, path: str, expected: bool) -> None:
    assert _match(pattern, path) is expected


def test_std_and_cmd() -> None:
    assert _match("std", "fmt", is_std=True)
    assert not _match("std", "example.com/m")
    assert _match("cmd", "cmd/go", is_std=True)
    assert not _match("cmd", "cmd/go")  # cmd/go outside GOROOT
    assert not _match("cmd", "fmt", is_std=True)


def test_tool_and_work_in_module_mode() -> None:
    mm = frozenset({"example.com/m"})
    assert _match("tool", "golang.org/x/tools/cmd/stringer", main_module_paths=mm,
                  tools=frozenset({"golang.org/x/tools/cmd/stringer"}))
    assert not _match("tool", "fmt", main_module_paths=mm)
    assert _match("work", "example.com/m/x", main_module_paths=mm, module_path="example.com/m")
    assert not _match("work", "fmt", main_module_paths=mm, module_path=None)
    assert not _match("work", "golang.org/x/y", main_module_paths=mm,
                      module_path="golang.org/x")


@pytest.mark.parametrize(
    ("pattern", "pkg_dir", "expected"),
    [
        (".", "/w", True),
        (".", "/w/x", False),
        ("./x", "/w/x", True),
        ("./x/", "/w/x", True),
        ("./x", "/w/x/y", False),
        ("./x/...", "/w/x", True),
        ("./x/...", "/w/x/y/z", True),
        ("./x/...", "/w/xy", False),
        ("./...", "/w/a", True),
        ("./...", "/v/a", False),
        ("../...", "/v/a", True),
        ("..", "/", True),
        ("./x/.../z", "/w/x/y/z", True),
        ("./x/.../z", "/w/x/y/q", False),
        ("./...", "/w/vendor/a", False),
        ("./vendor/...", "/w/vendor/a", True),
        ("./x", None, False),
    ],
)
def test_relative_patterns_compare_directories(
    pattern: str, pkg_dir: str | None, expected: bool
) -> None:
    assert _match(pattern, "ignored", dir_of_pkg=pkg_dir) is expected


def test_relative_pattern_with_relative_dir_never_matches_absolute_cwd() -> None:
    assert not _match("./...", "x", dir_of_pkg="rel/x")


# --- $GOFLAGS ----------------------------------------------------------------------------------


def test_goflags_applies_before_the_command_line() -> None:
    # GOFLAGS=-p=0 go run -p=2 . a  and  GOFLAGS=-mod=foo go run -mod=mod . a  both ran.
    assert parse_run_args(["-p=2", ".", "a"], "-p=0").flags.p == 2
    assert parse_run_args(["-mod=mod", ".", "a"], "-mod=foo").flags.mod == "mod"
    f = parse_run_args(["."], "-x --trimpath -tags=a,b").flags
    assert (f.x, f.trimpath, f.tags) == (True, True, ("a", "b"))
    assert f.explicit == frozenset({"x", "trimpath", "tags"})


def test_goflags_ignores_other_commands_flags() -> None:
    # GOFLAGS=-count=1, '-o=x -json=false', -test.v, '-vettool=x -fixtool=y' all ran fine.
    for goflags in ("-count=1", "-o=x -json=false", "-test.v", "-vettool=x -fixtool=y",
                    "-modcache -i -u -json"):
        inv = parse_run_args([".", "a"], goflags)
        assert inv.args == ("a",)
    assert parse_run_args(["."], "-count=1").flags.explicit == frozenset()


def test_goflags_quoted_entries() -> None:
    # GOFLAGS="'-ldflags=-X main.x=1' -tags=a,b" go run -n . showed "-X main.x=1" and -tags=a,b.
    f = parse_run_args(["."], "'-ldflags=-X main.x=1' -tags=a,b").flags
    assert f.ldflags == (PerPackageFlag(None, ("-X", "main.x=1")),)
    assert f.tags == ("a", "b")


def test_goflags_whitespace_only() -> None:
    assert parse_run_args(["."], " \t\n").flags == BuildFlags()


def test_go_flag_names() -> None:
    # Each name was accepted by `GOFLAGS=-name go version`; these were rejected.
    assert len(GO_FLAG_NAMES) == 146
    assert set(RUN_FLAGS) <= GO_FLAG_NAMES
    for known in ("count", "vettool", "fixtool", "test.v", "test.benchmem", "json", "o"):
        assert known in GO_FLAG_NAMES
    for unknown in ("h", "help", "printf", "all", "cmd", "http", "test.c", "test.paniconexit0",
                    "gocoverdir", "S", "l"):
        assert unknown not in GO_FLAG_NAMES


# --- -C ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [["-C", "sub", ".", "a"], ["-C=sub", ".", "a"], ["--C", "sub", ".", "a"],
     ["--C=sub", ".", "a"]],
)
def test_chdir_first(argv: list[str]) -> None:
    inv = parse_run_args(argv)
    assert (inv.flags.chdir, inv.package, inv.args) == ("sub", ".", ("a",))
    assert "C" in inv.flags.explicit


def test_chdir_empty_is_left_to_the_caller() -> None:
    # go run -C= .  ->  "go: chdir : no such file or directory" (exit 1), from os.Chdir.
    assert parse_run_args(["-C=", "."]).flags.chdir == ""


def test_chdir_then_files() -> None:
    inv = parse_run_args(["-C", "sub", "-x", "main.go"])
    assert inv.flags.chdir == "sub" and inv.flags.x and inv.files == ("main.go",)


# --- unsupported flags -------------------------------------------------------------------------


def test_supported_set() -> None:
    assert SUPPORTED == frozenset({"a", "n", "x", "v", "work", "p", "tags", "ldflags", "gcflags",
                                   "trimpath", "race", "mod", "modfile", "modcacherw", "exec", "C", "overlay",
                                   "asmflags"})
    assert SUPPORTED <= set(RUN_FLAGS)


def test_unsupported_reports_in_effect_flags_only() -> None:
    inv = parse_run_args(["-buildmode=pie", "-msan", "-x", "-toolexec=t", "-coverpkg=a", "."],
                         "-asan -json=false -buildvcs=false -compiler=gc -pgo=off")
    assert unsupported(inv.flags) == ("asan", "buildmode", "coverpkg", "msan", "toolexec")
    assert unsupported(parse_run_args(["-race", "-trimpath", "-tags=a", "."]).flags) == ()
    assert unsupported(parse_run_args(["-buildvcs", "-pgo=x.pprof", "."]).flags) == (
        "buildvcs", "pgo")
    assert unsupported(parse_run_args(["-asmflags=", "-gccgoflags=-O2", "."]).flags) == ()
    assert unsupported(parse_run_args(["-asmflags=-D=x", "-overlay=o.json", "."]).flags) == ()


def test_unsupported_never_hides_a_usage_error() -> None:
    with pytest.raises(UsageError, match="flag provided but not defined: -foo"):
        parse_run_args(["-buildmode=pie", "-foo", "."])


# --- quoted splitting --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "fields"),
    [("", ()), ("  a  b ", ("a", "b")), ("'a b' \"c d\"", ("a b", "c d")),
     ("a'b c'", ("a'b", "c'")), ("''", ("",)), ("'x'y", ("x", "y")),
     ("a\tb\nc\rd\ve", ("a", "b", "c", "d\ve"))],
)
def test_quoted_split(text: str, fields: tuple[str, ...]) -> None:
    assert quoted_split(text) == fields


def test_quoted_split_unterminated() -> None:
    with pytest.raises(ValueError, match="^unterminated \" string$"):
        quoted_split('a "b')


# --- value types -------------------------------------------------------------------------------


def test_dataclasses_are_frozen_and_slotted() -> None:
    for cls in (PerPackageFlag, BuildFlags, Invocation):
        assert dataclasses.is_dataclass(cls)
        assert "__slots__" in cls.__dict__
    inv = parse_run_args(["."])
    with pytest.raises(dataclasses.FrozenInstanceError):
        inv.package = "x"  # type: ignore[misc]
    assert inv == Invocation(BuildFlags(), (), ".", ())
