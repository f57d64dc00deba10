"""Unit tests for rungo.load.constraints: file-name rules, build tags, //go:build and // +build lines.

Expected values were checked against go/build and go/build/constraint (go1.26).
"""

from __future__ import annotations

import dataclasses

import pytest

from rungo.load.constraints import (
    And,
    BuildContext,
    ConstraintSyntaxError,
    Header,
    Not,
    Or,
    Tag,
    file_included,
    good_os_arch_file,
    match_tag,
    parse_expr,
    parse_plus_build_expr,
    read_header,
    release_tags,
    should_build,
)

LINUX = BuildContext(goos="linux", goarch="amd64", tags=frozenset(), cgo_enabled=True, go_minor=22,
                     goarch_features=frozenset({"amd64.v1"}))
NOCGO = dataclasses.replace(LINUX, cgo_enabled=False)
WINDOWS = BuildContext(goos="windows", goarch="386", tags=frozenset(), cgo_enabled=False, go_minor=22)
ANDROID = BuildContext(goos="android", goarch="arm64", tags=frozenset(), cgo_enabled=True, go_minor=22)


# -- the context and tags ---------------------------------------------------------------------------

def test_build_context_is_a_frozen_value() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        LINUX.goos = "darwin"  # type: ignore[misc]
    assert not hasattr(LINUX, "__dict__")
    assert LINUX.compiler == "gc"
    assert hash(LINUX) == hash(dataclasses.replace(LINUX))


def test_release_tags() -> None:
    assert release_tags(3) == ("go1.1", "go1.2", "go1.3")
    assert release_tags(22)[-1] == "go1.22"
    assert len(release_tags(22)) == 22
    assert release_tags(0) == ()


@pytest.mark.parametrize("tag, want", [
    ("linux", True), ("amd64", True), ("gc", True), ("gccgo", False),
    ("windows", False), ("arm64", False),
    ("unix", True), ("cgo", True),
    ("go1.1", True), ("go1.21", True), ("go1.22", True), ("go1.23", False), ("go1", False), ("go1.01", False),
    ("amd64.v1", True), ("amd64.v2", False),
    ("foo", False), ("", False),
])
def test_match_tag_linux(tag: str, want: bool) -> None:
    assert match_tag(tag, LINUX) is want


def test_match_tag_cgo_follows_cgo_enabled() -> None:
    assert match_tag("cgo", LINUX)
    assert not match_tag("cgo", NOCGO)


@pytest.mark.parametrize("goos, tag, want", [
    ("android", "linux", True), ("android", "android", True), ("linux", "android", False),
    ("illumos", "solaris", True), ("solaris", "illumos", False),
    ("ios", "darwin", True), ("darwin", "ios", False),
])
def test_match_tag_os_aliases(goos: str, tag: str, want: bool) -> None:
    ctx = dataclasses.replace(LINUX, goos=goos)
    assert match_tag(tag, ctx) is want


@pytest.mark.parametrize("goos", ["aix", "android", "darwin", "dragonfly", "freebsd", "hurd", "illumos", "ios",
                                  "linux", "netbsd", "openbsd", "solaris"])
def test_unix_tag_for_unix_os(goos: str) -> None:
    assert match_tag("unix", dataclasses.replace(LINUX, goos=goos))


@pytest.mark.parametrize("goos", ["windows", "plan9", "js", "wasip1", "zos", "nacl"])
def test_no_unix_tag_elsewhere(goos: str) -> None:
    assert not match_tag("unix", dataclasses.replace(LINUX, goos=goos))


def test_user_tags_and_experiments() -> None:
    ctx = dataclasses.replace(LINUX, tags=frozenset({"integration", "x.y"}),
                              experiments=frozenset({"arenas", "goexperiment.synctest"}))
    assert match_tag("integration", ctx)
    assert match_tag("x.y", ctx)
    assert not match_tag("other", ctx)
    assert match_tag("goexperiment.arenas", ctx)
    assert match_tag("goexperiment.synctest", ctx)
    assert not match_tag("arenas", ctx)                 # an experiment is only a goexperiment.X tag
    assert not match_tag("goexperiment.boringcrypto", ctx)


def test_boringcrypto_is_the_old_experiment_name() -> None:
    assert not match_tag("boringcrypto", LINUX)
    assert match_tag("boringcrypto", dataclasses.replace(LINUX, experiments=frozenset({"boringcrypto"})))


def test_user_tag_can_claim_a_future_release() -> None:
    assert match_tag("go1.99", dataclasses.replace(LINUX, tags=frozenset({"go1.99"})))


# -- GOARCH feature tags ----------------------------------------------------------------------------

def test_feature_tags_in_constraints() -> None:
    ctx = dataclasses.replace(LINUX, goarch_features=frozenset({"amd64.v1", "amd64.v2"}))
    assert should_build(b"//go:build amd64.v2\n\npackage p\n", ctx) == (True, None)
    assert should_build(b"//go:build amd64.v3\n\npackage p\n", ctx) == (False, None)
    assert should_build(b"//go:build !amd64.v3\n\npackage p\n", ctx) == (True, None)


# -- file names -------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, want", [
    ("x.go", True),
    ("x_linux.go", True),
    ("x_windows.go", False),
    ("x_amd64.go", True),
    ("x_arm64.go", False),
    ("x_linux_amd64.go", True),
    ("x_linux_arm64.go", False),
    ("x_windows_amd64.go", False),
    ("x_linux_test.go", True),
    ("x_windows_test.go", False),
    ("x_linux_amd64_test.go", True),
    ("x_darwin_amd64_test.go", False),
    ("x_test.go", True),
    ("linux.go", True),              # no "_": no constraint (since Go 1.4)
    ("windows.go", True),
    ("amd64.go", True),
    ("_windows.go", False),          # the text after the first "_" counts
    ("x_foo.go", True),              # unknown suffix
    ("x_linux_foo.go", True),        # the last element is what counts
    ("x_windows_foo.go", True),
    ("x_foo_windows.go", False),
    ("x_amd64_linux.go", True),      # arch_os is not os_arch: only "linux" is judged
    ("x_arm64_linux.go", True),
    ("x_linux_windows.go", False),
    ("x_unix.go", True),             # "unix" is not a GOOS for file names
    ("x_linux.s", True),
    ("x_windows.c", False),
    ("x_windows.foo.go", False),     # everything after the first "." is ignored
    ("x.y_windows.go", True),
    ("x_nacl.go", False),            # nacl is still a known GOOS
    ("x_amd64p32.go", False),        # and amd64p32 a known GOARCH
    ("x_android.go", False),
    ("x_ios.go", False),
])
def test_good_os_arch_file_linux(name: str, want: bool) -> None:
    assert good_os_arch_file(name, LINUX) is want


@pytest.mark.parametrize("name, want", [
    ("x_linux.go", True), ("x_android.go", True), ("x_linux_arm64.go", True), ("x_android_arm64_test.go", True),
    ("x_android_amd64.go", False), ("x_ios.go", False),
])
def test_good_os_arch_file_android(name: str, want: bool) -> None:
    assert good_os_arch_file(name, ANDROID) is want


def test_good_os_arch_file_ios_and_illumos() -> None:
    ios = dataclasses.replace(LINUX, goos="ios", goarch="arm64")
    assert good_os_arch_file("x_darwin.go", ios)
    assert good_os_arch_file("x_ios_arm64.go", ios)
    illumos = dataclasses.replace(LINUX, goos="illumos")
    assert good_os_arch_file("x_solaris_amd64.go", illumos)
    assert not good_os_arch_file("x_solaris.go", LINUX)


def test_good_os_arch_file_user_tag_does_not_fake_goos() -> None:
    # File names are matched with match_tag, so a -tags value that names a GOOS counts (as in Go).
    assert good_os_arch_file("x_windows.go", dataclasses.replace(LINUX, tags=frozenset({"windows"})))


# -- //go:build expressions -------------------------------------------------------------------------

def test_parse_expr_tree() -> None:
    assert parse_expr("linux") == Tag("linux")
    assert parse_expr("!linux") == Not(Tag("linux"))
    assert parse_expr("a && b") == And(Tag("a"), Tag("b"))
    assert parse_expr("a || b") == Or(Tag("a"), Tag("b"))
    assert parse_expr("a || b && c") == Or(Tag("a"), And(Tag("b"), Tag("c")))
    assert parse_expr("a && b || c") == Or(And(Tag("a"), Tag("b")), Tag("c"))
    assert parse_expr("(a || b) && c") == And(Or(Tag("a"), Tag("b")), Tag("c"))
    assert parse_expr("a && b && c") == And(And(Tag("a"), Tag("b")), Tag("c"))
    assert parse_expr("a || b || c") == Or(Or(Tag("a"), Tag("b")), Tag("c"))
    assert parse_expr("!(a && b)") == Not(And(Tag("a"), Tag("b")))
    assert parse_expr("((a))") == Tag("a")
    assert parse_expr("\t a\t&&b ") == And(Tag("a"), Tag("b"))
    assert parse_expr("go1.21 && x_y.z && 386 && é") == And(And(And(Tag("go1.21"), Tag("x_y.z")), Tag("386")), Tag("é"))


@pytest.mark.parametrize("text, rendered", [
    ("a", "a"),
    ("!a", "!a"),
    ("a&&b", "a && b"),
    ("(a || b) && c", "(a || b) && c"),
    ("a || (b && c)", "a || (b && c)"),
    ("a || b && c", "a || (b && c)"),
    ("!(a || b)", "!(a || b)"),
    ("!(!a)", "!!a"),
    ("((a && b)) || !c", "(a && b) || !c"),
    ("(a || b) || c", "a || b || c"),
])
def test_expr_str_matches_go(text: str, rendered: str) -> None:
    assert str(parse_expr(text)) == rendered


@pytest.mark.parametrize("text, message, offset", [
    ("", "unexpected end of expression", 0),
    ("a &&", "unexpected end of expression", 4),
    ("!", "unexpected end of expression", 1),
    ("a b", "unexpected token b", 2),
    ("a)", "unexpected token )", 1),
    ("a && )", "unexpected token )", 5),
    ("a && ||", "unexpected token ||", 5),
    ("(a", "missing close paren", 0),
    ("x && (a || b", "missing close paren", 5),
    ("(a &&", "missing close paren", 5),          # running out inside parentheses
    ("(", "missing close paren", 1),
    ("!!a", "double negation not allowed", 1),
    ("! !a", "double negation not allowed", 2),
    ("a & b", "invalid syntax at &", 2),
    ("a | b", "invalid syntax at |", 2),
    ("a-b", "invalid syntax at -", 1),
    ("a, b", "invalid syntax at ,", 1),
    ("linux,amd64", "invalid syntax at ,", 5),
])
def test_parse_expr_errors(text: str, message: str, offset: int) -> None:
    with pytest.raises(ConstraintSyntaxError) as e:
        parse_expr(text)
    assert str(e.value) == message
    assert e.value.message == message
    assert e.value.offset == offset
    assert isinstance(e.value, ValueError)


def test_parse_expr_size_limit_and_deep_nesting() -> None:
    assert parse_expr("(" * 999 + "a" + ")" * 999) == Tag("a")     # no RecursionError
    with pytest.raises(ConstraintSyntaxError, match="build expression too large"):
        parse_expr("(" * 1000 + "a" + ")" * 1000)
    with pytest.raises(ConstraintSyntaxError, match="build expression too large"):
        parse_expr(" && ".join(["a"] * 1001))
    deep = parse_expr("".join(f"(t{i} || u{i} && " for i in range(300)) + "x" + ")" * 300)   # 600 levels
    tags = frozenset({f"u{i}" for i in range(300)})
    assert not deep.eval(dataclasses.replace(LINUX, tags=tags))
    assert deep.eval(dataclasses.replace(LINUX, tags=tags | {"x"}))
    assert str(deep).startswith("t0 || (u0 && (t1 || (u1 && ")


def test_eval_consults_every_tag() -> None:
    seen: list[str] = []

    def ok(tag: str) -> bool:
        seen.append(tag)
        return tag == "a"

    assert parse_expr("a || b && !c").eval_with(ok)
    assert seen == ["a", "b", "c"]


@pytest.mark.parametrize("text, ctx, want", [
    ("linux && amd64", LINUX, True),
    ("linux && !cgo", LINUX, False),
    ("linux && !cgo", NOCGO, True),
    ("darwin || windows", LINUX, False),
    ("darwin || windows", WINDOWS, True),
    ("unix", LINUX, True),
    ("unix", WINDOWS, False),
    ("!unix", WINDOWS, True),
    ("go1.22", LINUX, True),
    ("go1.23", LINUX, False),
    ("!go1.23", LINUX, True),
    ("(linux || darwin) && (amd64 || arm64) && !go1.23", LINUX, True),
    ("linux && (386 || arm)", LINUX, False),
    ("ignore", LINUX, False),
])
def test_eval(text: str, ctx: BuildContext, want: bool) -> None:
    assert parse_expr(text).eval(ctx) is want


# -- // +build lines --------------------------------------------------------------------------------

def test_plus_build_grammar() -> None:
    assert parse_plus_build_expr("linux") == Tag("linux")
    assert parse_plus_build_expr("linux darwin") == Or(Tag("linux"), Tag("darwin"))       # space = OR
    assert parse_plus_build_expr("linux,amd64") == And(Tag("linux"), Tag("amd64"))        # comma = AND
    assert parse_plus_build_expr("linux,!cgo darwin") == Or(And(Tag("linux"), Not(Tag("cgo"))), Tag("darwin"))
    assert parse_plus_build_expr("!windows") == Not(Tag("windows"))
    assert parse_plus_build_expr("") == Tag("ignore")
    assert parse_plus_build_expr("!!linux") == Tag("ignore")
    assert parse_plus_build_expr("!") == Tag("ignore")
    assert parse_plus_build_expr("a-b") == Tag("ignore")
    assert parse_plus_build_expr("!a-b") == Not(Tag("ignore"))
    assert parse_plus_build_expr("a,,b") == And(And(Tag("a"), Tag("ignore")), Tag("b"))
    assert str(parse_plus_build_expr("linux,amd64 darwin,!cgo")) == "(linux && amd64) || (darwin && !cgo)"


def test_plus_build_too_complex() -> None:
    parse_plus_build_expr(" ".join(["a"] * 101))                  # 100 operators is the limit
    with pytest.raises(ConstraintSyntaxError, match="expression too complex for // \\+build lines"):
        parse_plus_build_expr(" ".join(["a"] * 102))
    with pytest.raises(ConstraintSyntaxError):
        parse_plus_build_expr(",".join(["a"] * 102))


@pytest.mark.parametrize("line, go_build, plus_build", [
    ("//go:build linux", True, False),
    ("//go:build", True, False),
    ("//go:build\tlinux", True, False),
    ("//go:buildlinux", False, False),
    ("// go:build linux", False, False),
    ("// +build linux", False, True),
    ("//+build linux", False, True),
    ("//   +build", False, True),
    ("// +buildlinux", False, False),
    ("/* +build linux */", False, False),
])
def test_line_kinds(line: str, go_build: bool, plus_build: bool) -> None:
    h = read_header((line + "\n\npackage p\n").encode())
    assert (h.go_build is not None) is go_build
    assert bool(h.plus_build) is plus_build


# -- headers ----------------------------------------------------------------------------------------

def test_read_header_go_build() -> None:
    h = read_header(b"// Copyright\n\n//go:build linux && !cgo\n\n// Package p does things.\npackage p\n")
    assert h == Header(go_build="linux && !cgo", plus_build=(), go_build_line=3, binary_only=False, error=None)


def test_read_header_plus_build_lines_and_blank_line_rule() -> None:
    src = b"// +build linux darwin\n// +build amd64\n\npackage p\n"
    assert read_header(src).plus_build == ("linux darwin", "amd64")
    # Without a blank line before the package clause they are the package comment, not constraints.
    assert read_header(b"// +build linux\npackage p\n").plus_build == ()
    assert read_header(b"// +build linux\n// Package p.\npackage p\n").plus_build == ()
    # Only lines before the last blank line count.
    src = b"// +build linux\n\n// +build windows\npackage p\n"
    assert read_header(src).plus_build == ("linux",)
    # A file of nothing but comments needs the blank line too.
    assert read_header(b"// +build linux\n").plus_build == ()
    assert read_header(b"// +build linux\n\n").plus_build == ("linux",)


def test_read_header_go_build_needs_no_blank_line() -> None:
    h = read_header(b"//go:build linux\npackage p\n")
    assert h.go_build == "linux" and h.go_build_line == 1


def test_read_header_block_comments() -> None:
    # //go:build after a /* */ comment still counts ...
    assert read_header(b"/* license */\n//go:build linux\n\npackage p\n").go_build == "linux"
    # ... but not inside one,
    assert read_header(b"/*\n//go:build linux\n*/\n\npackage p\n").go_build is None
    # and a /* comment ends the region where // +build lines count.
    assert read_header(b"/* x */\n// +build linux\n\npackage p\n").plus_build == ()
    assert read_header(b"/* a */ /* b */ //go:build x\n//go:build linux\npackage p\n").go_build == "linux"


def test_read_header_stops_at_first_token() -> None:
    assert read_header(b"package p\n//go:build linux\n").go_build is None
    assert read_header(b"/* x */ package p\n//go:build linux\n").go_build is None
    assert read_header(b"// c\n\npackage p // x\n\n//go:build linux\n").go_build is None


def test_read_header_multiple_go_build() -> None:
    h = read_header(b"//go:build linux\n//go:build cgo\n\npackage p\n")
    assert h.error == "multiple //go:build comments"
    assert should_build(b"//go:build linux\n//go:build cgo\n\npackage p\n", LINUX) == (False, "multiple //go:build comments")


def test_read_header_misc() -> None:
    assert read_header(b"").go_build is None
    assert read_header(b"\xef\xbb\xbf//go:build linux\n\npackage p\n").go_build == "linux"       # BOM
    assert read_header(b"//go:build linux\r\n\r\npackage p\r\n").go_build == "linux"             # CRLF
    assert read_header(b"// +build linux\r\n\r\npackage p\r\n").plus_build == ("linux",)
    assert read_header(b"  \t//go:build   linux  \n").go_build == "linux"
    assert read_header(b"//go:build\n").go_build == ""
    assert read_header(b"//go:binary-only-package\n\npackage p\n").binary_only
    assert read_header(b"// a \x00\npackage p\n").error == "unexpected NUL in input"
    assert read_header(b"//go:build \xff\n").go_build == "\udcff"


# -- should_build / file_included -------------------------------------------------------------------

@pytest.mark.parametrize("src, ctx, want", [
    (b"package p\n", LINUX, True),
    (b"//go:build linux\n\npackage p\n", LINUX, True),
    (b"//go:build windows\n\npackage p\n", LINUX, False),
    (b"//go:build cgo\n\npackage p\n", LINUX, True),
    (b"//go:build cgo\n\npackage p\n", NOCGO, False),
    (b"//go:build !cgo\n\npackage p\n", NOCGO, True),
    (b"//go:build ignore\n\npackage main\n", LINUX, False),
    (b"//go:build unix\n\npackage p\n", ANDROID, True),
    (b"//go:build go1.22\n\npackage p\n", LINUX, True),
    (b"//go:build go1.23\n\npackage p\n", LINUX, False),
    # // +build: every line must hold; within a line space = OR, comma = AND.
    (b"// +build linux darwin\n\npackage p\n", LINUX, True),
    (b"// +build linux,386\n\npackage p\n", LINUX, False),
    (b"// +build linux\n// +build 386\n\npackage p\n", LINUX, False),
    (b"// +build !windows\n\npackage p\n", LINUX, True),
    (b"// +build !linux\n\npackage p\n", LINUX, False),
    (b"// +build linux,!cgo\n\npackage p\n", NOCGO, True),
    (b"// +build ignore\n\npackage p\n", LINUX, False),
    (b"// +build ignore\npackage p\n", LINUX, True),             # not followed by a blank line
    (b"// +build " + b" ".join([b"a"] * 102) + b"\n\npackage p\n", LINUX, True),    # too complex: ignored
    # //go:build wins over // +build.
    (b"//go:build linux\n// +build windows\n\npackage p\n", LINUX, True),
    (b"// +build linux\n//go:build windows\n\npackage p\n", LINUX, False),
])
def test_should_build(src: bytes, ctx: BuildContext, want: bool) -> None:
    assert should_build(src, ctx) == (want, None)


@pytest.mark.parametrize("src, message", [
    (b"//go:build (linux\n\npackage p\n", "parsing //go:build line: missing close paren"),
    (b"//go:build linux,amd64\n\npackage p\n", "parsing //go:build line: invalid syntax at ,"),
    (b"//go:build\n\npackage p\n", "parsing //go:build line: unexpected end of expression"),
    (b"//go:build !!linux\n\npackage p\n", "parsing //go:build line: double negation not allowed"),
    (b"//go:build linux windows\n\npackage p\n", "parsing //go:build line: unexpected token windows"),
])
def test_should_build_malformed(src: bytes, message: str) -> None:
    assert should_build(src, LINUX) == (False, message)


def test_file_included() -> None:
    src = b"//go:build cgo\n\npackage p\n"
    assert file_included("x_linux.go", src, LINUX)
    assert not file_included("x_linux.go", src, NOCGO)
    assert not file_included("x_windows.go", b"package p\n", LINUX)
    assert file_included("x_windows.go", b"package p\n", WINDOWS)
    assert not file_included("x.go", b"//go:build (\n\npackage p\n", LINUX)
    assert file_included("x_linux_test.go", b"package p\n", LINUX)      # _test is the caller's business
    assert file_included("asm_amd64.s", b"// +build amd64\n\n#include \"textflag.h\"\n", LINUX)
    assert not file_included("asm.s", b"//go:build arm64\n\n#include \"textflag.h\"\n", LINUX)
