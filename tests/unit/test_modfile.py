"""Unit tests for rungo.load.modfile: go.mod/go.work parsing, error wording, language versions.

The expected error texts are what go1.26's `go run` printed for the same files.
"""

from __future__ import annotations

import dataclasses
import random

import pytest

from rungo.load.modfile import (
    ModError,
    ModFile,
    Replace,
    Require,
    WorkFile,
    format_errors,
    lang_version,
    parse_mod,
    parse_work,
)
from rungo.quoting import quote as go_quote


def errs(data: bytes, filename: str = "go.mod") -> str:
    """The error lines as the go command prints them after "go: errors parsing go.mod:"."""
    return format_errors("go.mod", parse_mod(data, filename).errors)


# -- happy paths ------------------------------------------------------------------------------------

FULL = b"""// The module.
module example.com/m // trailing comment

go 1.22.3
toolchain go1.22.5

godebug default=go1.21
godebug (
	panicnil=1
	// comment in a block
	asynctimerchan=0
)

require example.com/a v1.2.3
require (
	example.com/b v0.1.0 // indirect
	example.com/c/v2 v2.0.0

	"example.com/quoted" v1.0.0
	example.com/d v1.0.0 // indirect; for tests
	example.com/e v1.0.0 //indirect
	example.com/f v1.0.0 // not indirect
	example.com/g v3.0.0+incompatible
	gopkg.in/yaml.v3 v3.0.1
)

exclude example.com/a v1.2.2
exclude (
	example.com/b v0.0.9
)

replace example.com/a => ../a
replace example.com/b v0.1.0 => example.com/b2 v0.1.1
replace (
	example.com/c/v2 => /abs/c
	example.com/d v1.0.0 => ./d
)

retract v1.0.0
retract [v1.1.0, v1.2.0] // broken
retract (
	v0.9.0 // oops
)

tool example.com/a/cmd/tool
ignore ./node_modules
ignore (
	static
)
"""


def test_full_go_mod() -> None:
    mf = parse_mod(FULL)
    assert mf.errors == ()
    assert mf.module == "example.com/m"
    assert mf.module_line == 2
    assert mf.go == "1.22.3"
    assert mf.toolchain == "go1.22.5"
    assert mf.godebug == (("default", "go1.21"), ("panicnil", "1"), ("asynctimerchan", "0"))
    assert mf.requires == (
        Require("example.com/a", "v1.2.3", False, 14),
        Require("example.com/b", "v0.1.0", True, 16),
        Require("example.com/c/v2", "v2.0.0", False, 17),
        Require("example.com/quoted", "v1.0.0", False, 19),
        Require("example.com/d", "v1.0.0", True, 20),
        Require("example.com/e", "v1.0.0", True, 21),
        Require("example.com/f", "v1.0.0", False, 22),
        Require("example.com/g", "v3.0.0+incompatible", False, 23),
        Require("gopkg.in/yaml.v3", "v3.0.1", False, 24),
    )
    assert mf.excludes == (("example.com/a", "v1.2.2"), ("example.com/b", "v0.0.9"))
    assert mf.replaces == (
        Replace("example.com/a", None, "../a", None, 32),
        Replace("example.com/b", "v0.1.0", "example.com/b2", "v0.1.1", 33),
        Replace("example.com/c/v2", None, "/abs/c", None, 35),
        Replace("example.com/d", "v1.0.0", "./d", None, 36),
    )
    assert mf.retracts == (("v1.0.0", "v1.0.0"), ("v1.1.0", "v1.2.0"), ("v0.9.0", "v0.9.0"))
    assert mf.tools == ("example.com/a/cmd/tool",)
    assert mf.ignores == ("./node_modules", "static")
    assert not mf.needs_fix


def test_values_are_frozen() -> None:
    mf = parse_mod(b"module m\n")
    with pytest.raises(dataclasses.FrozenInstanceError):
        mf.module = "n"  # type: ignore[misc]
    assert not hasattr(mf, "__dict__")
    assert not hasattr(ModError(1, 1, "x"), "__dict__")


def test_minimal_and_empty() -> None:
    assert parse_mod(b"module m") == ModFile("m", 1, None, None, (), (), (), (), ())
    assert parse_mod(b"") == ModFile(None, None, None, None, (), (), (), (), ())
    assert parse_mod(b"// only a comment\n\n").errors == ()
    assert parse_mod(b"go 1.21\n").module is None          # no module: not a parse error (the go command checks)


def test_crlf() -> None:
    mf = parse_mod(b"module m\r\n\r\ngo 1.22\r\nrequire (\r\n\tx.com/y v1.0.0 // indirect\r\n)\r\n")
    assert mf.errors == ()
    assert mf.go == "1.22"
    assert mf.requires == (Require("x.com/y", "v1.0.0", True, 5),)


def test_quoted_module_paths() -> None:
    assert parse_mod(b'module "example.com/m"\n').module == "example.com/m"
    assert parse_mod(b'module "example.com/\\u00e9"\n').module == "example.com/\u00e9"
    assert parse_mod(b'module "a b"\n').module == "a b"
    assert parse_mod(b'require "x.com/y" "v1.0.0"\nmodule m\n').requires == (Require("x.com/y", "v1.0.0", False, 1),)


def test_go_versions_as_written() -> None:
    for v in ("1.21", "1.21.0", "1.21rc1", "1.22.3", "1.100"):
        assert parse_mod(f"module m\ngo {v}\n".encode()).go == v


def test_comments_everywhere() -> None:
    src = b"// head\nmodule m // c\n// between\nrequire ( // c\n// inside\nx.com/y v1.0.0 // indirect\n) // after\n// tail"
    mf = parse_mod(src)
    assert mf.errors == ()
    assert mf.requires == (Require("x.com/y", "v1.0.0", True, 6),)


def test_empty_blocks_and_paren_forms() -> None:
    assert parse_mod(b"module m\nrequire ()\nreplace (\n)\n").errors == ()
    assert parse_mod(b"module m\nrequire () // c\n").errors == ()


def test_noncanonical_versions_are_canonicalized_and_flagged() -> None:
    mf = parse_mod(b"module m\nrequire x.com/y v1.2\nexclude x.com/z v1\n")
    assert mf.errors == ()
    assert mf.requires == (Require("x.com/y", "v1.2.0", False, 2),)
    assert mf.excludes == (("x.com/z", "v1.0.0"),)
    assert mf.needs_fix
    assert not parse_mod(b"module m\nrequire x.com/y v1.2.0\n").needs_fix


def test_lax_mode_for_dependencies() -> None:
    src = b"module m\ngo 1.21.x\nfoo bar\nreplace a => b\nexclude x v\nnewblock (\n)\nrequire x.com/y v1.0.0\n"
    mf = parse_mod(src, lax=True)
    assert mf.errors == ()
    assert mf.go == "1.21"                                   # modfile's lax go-version fix
    assert mf.replaces == () and mf.excludes == ()
    assert mf.requires == (Require("x.com/y", "v1.0.0", False, 8),)
    assert len(parse_mod(src).errors) == 5


# -- errors, in the go command's words --------------------------------------------------------------

def test_unknown_directive_matches_go_run() -> None:
    # `go run .` printed: "go: errors parsing go.mod:\ngo.mod:2: unknown directive: foo"
    mf = parse_mod(b"module m\nfoo bar\n")
    assert mf.errors == (ModError(2, 1, "unknown directive: foo"),)
    assert mf.module == "m"
    assert format_errors("go.mod", mf.errors) == "go.mod:2: unknown directive: foo"


@pytest.mark.parametrize("src, want", [
    (b"module m\nfoo bar\ngo 1.x\n",
     "go.mod:2: unknown directive: foo\ngo.mod:3: invalid go version '1.x': must match format 1.23.0"),
    (b"module m\ngo 1.21rc1\ngo 1.22\ntoolchain foo\ntoolchain go1.22 x\ngodebug a\ngodebug (\n  x=1\n  \"y=2\"\n)\n",
     "go.mod:3: repeated go statement\n"
     "go.mod:4: invalid toolchain version 'foo': must match format go1.23.0 or default\n"
     "go.mod:5: toolchain directive expects exactly one argument\n"
     "go.mod:6: usage: godebug key=value\n"
     "go.mod:9:3: usage: godebug key=value"),
    (b"module m\ngo 1.22\nrequire (\n\tx.com/y v1.0.0\n\tfoo\n)\n", "go.mod:5:2: usage: require module/path v1.2.3"),
    (b"module m\nrequire x v1 ) \nfoo (\n)\nrequire x y (\n)\n",
     "go.mod:2: usage: require module/path v1.2.3\ngo.mod:3: unknown block type: foo\ngo.mod:5: unknown block type: require x y"),
    (b"module m\nrequire x.com/y/v2 v1.0.0\nrequire x.com/y v2.0.0\nrequire x.com/y/v1 v1.0.0\n",
     'go.mod:2: require x.com/y/v2: version "v1.0.0" invalid: should be v2, not v1\n'
     'go.mod:3: require x.com/y: version "v2.0.0" invalid: should be v0 or v1, not v2\n'
     'go.mod:4: require x.com/y/v1: version "v1.0.0" invalid: malformed module path "x.com/y/v1"'),
    (b"module m\nreplace x.com/a => y.com/b\nreplace x.com/a => ./b v1.0.0\nreplace x.com/a => y.com/b@v1\nreplace a\n",
     "go.mod:2: replacement module without version must be directory path (rooted or starting with . or ..)\n"
     'go.mod:3: replacement module directory path "./b" cannot have version\n'
     "go.mod:4: replacement module must match format 'path version', not 'path@version'\n"
     "go.mod:5: usage: replace module/path [v1.2.3] => other/module v1.4\n"
     "\t or replace module/path [v1.2.3] => ../local/directory"),
    (b"module m\nreplace x.com/a => a\\b\n", "go.mod:2: replacement module without version must be directory path (rooted or starting with . or ..)"),
    (b"module m\nreplace x.com/a => ./a\\b\n", "go.mod:2: replacement directory appears to be Windows path (on a non-windows system)"),
    (b"module m\nreplace x.com/a/v1 => ./x\n", "go.mod:2: replace x.com/a/v1: invalid module path"),
    (b'module "m\\q"\n', "go.mod:1: invalid quoted string: invalid syntax"),
    (b"module `m`\n", "go.mod:1: invalid quoted string: unquoted string cannot contain quote"),
    (b"module m\nrequire x.com/a v1.0.0 x\n", "go.mod:2: usage: require module/path v1.2.3"),
    (b'module m\nrequire x.com/a v1.0.0"\n', 'go.mod:2: require x.com/a: version "v1.0.0\\"" invalid: unquoted string cannot contain quote'),
    (b"module m\nmodule n\n", "go.mod:2: repeated module statement"),
    (b"module\nmodule m\n", "go.mod:1: usage: module module/path\ngo.mod:2: repeated module statement"),
    (b"go (\n)\n", "go.mod:1: unknown block type: go"),
    (b"module m\ntool a b\nignore\n",
     "go.mod:2: tool directive expects exactly one argument\ngo.mod:3: ignore directive expects exactly one argument"),
    (b"module m\nretract v1.0.0 x\nretract [v1.0.0\nretract\n",
     'go.mod:2: unexpected token after version: "x"\ngo.mod:3: expected \',\' after version\ngo.mod:4: expected \'[\' or version'),
    (b"retract v1.0.0\n", "go.mod:1: no module directive found, so retract cannot be used"),
    (b"module m\n  \xff\n", "go.mod:2:3: unknown directive: \ufffd"),
])
def test_directive_errors(src: bytes, want: str) -> None:
    assert errs(src) == want


@pytest.mark.parametrize("src, want", [
    (b"module m\nrequire (\nx v1.0.0\n", "go.mod:4: syntax error (unterminated block started at /abs/go.mod:2:1)"),
    (b"module m\n/* x */\n", "go.mod:2: mod files must use // comments (not /* */ comments)"),
    (b"module m\nfoo/*x\n", "go.mod:2:4: mod files must use // comments (not /* */ comments)"),
    (b'module m\nrequire "x v1.0.0\n', "go.mod:2:18: unexpected newline in string"),
    (b'module m\nfoo "abc', "go.mod:2:5: unexpected EOF in string"),
    (b"module m\nfoo `abc\n", "go.mod:2:9: unexpected newline in string"),
    (b"module m\n\x01\n", "go.mod:2: unexpected input character '\\x01'"),
    (b"module m\n\v\n", "go.mod:2: unexpected input character '\\v'"),
    (b"module m\nx \x00\n", "go.mod:2:3: unexpected input character '\\x00'"),
    (b"module m\nfoo\xe2\x80\x8bbar\n", "go.mod:2:4: unexpected input character '\\u200b'"),
    (b"\xef\xbb\xbfmodule m\n", "go.mod:1: unexpected input character '\\ufeff'"),
    (b"module m\nrequire (\n) x\n", "go.mod:3:4: syntax error (expected newline after closing paren)"),
])
def test_syntax_errors_stop_the_parse(src: bytes, want: str) -> None:
    mf = parse_mod(src, "/abs/go.mod")
    assert format_errors("go.mod", mf.errors) == want
    assert len(mf.errors) == 1
    assert mf.module is None                    # as in Go, a syntax error yields no file


@pytest.mark.parametrize("src, want", [
    (b"module m\nrequire x.com/b v1.2.3-01\n", 'go.mod:2: require x.com/b: version "v1.2.3-01" invalid: must be of the form v1.2.3'),
    (b"module m\nexclude x.com/b master\n", 'go.mod:2: exclude x.com/b: version "master" invalid: must be of the form v1.2.3'),
    (b"module m\nretract foo\n", 'go.mod:2: retract m: version "foo" invalid: must be of the form v1.2.3'),
])
def test_versions_the_go_command_would_look_up(src: bytes, want: str) -> None:
    # The go command asks the module proxy about a non-canonical version; offline we use
    # modfile's no-fixer rule, which is also exactly what the go command applies to go.work.
    assert errs(src) == want


def test_bad_utf8_module_path() -> None:
    # The go command reports this one after parsing, as 'go: malformed module path "m\xff": invalid UTF-8'.
    mf = parse_mod(b"module m\xff\n")
    assert mf.errors == (ModError(1, 1, 'malformed module path "m\\xff": invalid UTF-8'),)
    assert mf.module == "m\ufffd"


def test_bad_utf8_elsewhere_is_carried_through() -> None:
    mf = parse_mod(b"module m\n// \xff\xfe comment\nrequire x.com/\xff v1.0.0\n")
    assert mf.errors == ()
    assert mf.requires[0].path == "x.com/\ufffd"


@pytest.mark.parametrize("seed", range(20))
def test_garbage_never_raises(seed: int) -> None:
    rnd = random.Random(seed)
    alphabet = b'module require replace go ( ) [ ] { } , => // /* */ " ` \\ \n\r\t v1.0.0 \xff\xc3\x00 x.com/y'.split(b" ")
    for _ in range(200):
        data = b" ".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 30)))
        if rnd.random() < 0.3:
            data = bytes(rnd.randrange(256) for _ in range(rnd.randint(0, 60)))
        mf = parse_mod(data)
        wf = parse_work(data)
        for e in mf.errors + wf.errors:
            assert e.line >= 1 and e.column >= 1 and e.message
            assert "\udcff" not in e.message                 # no surrogate escapes leak out
        format_errors("go.mod", mf.errors)


def test_format_errors() -> None:
    errors = (ModError(3, 1, "unknown directive: foo"), ModError(5, 2, "usage: require module/path v1.2.3"),
              ModError(0, 0, "no position"))
    assert format_errors("../go.mod", errors) == (
        "../go.mod:3: unknown directive: foo\n../go.mod:5:2: usage: require module/path v1.2.3\n../go.mod: no position")
    assert format_errors("go.mod", ()) == ""


def test_go_quote() -> None:
    assert go_quote("a") == '"a"'
    assert go_quote('a"b\\c') == '"a\\"b\\\\c"'
    assert go_quote("\n\x01é") == '"\\n\\x01é"'
    assert go_quote("m\udcff") == '"m\\xff"'


# -- go.work ----------------------------------------------------------------------------------------

def test_parse_work() -> None:
    src = b"""go 1.22
toolchain go1.22.1
godebug panicnil=1

use ./a
use (
	./b // comment
	"./c d"
	../e
)

replace example.com/x v1.0.0 => ./x
replace example.com/y => example.com/z v1.2
"""
    wf = parse_work(src)
    assert wf == WorkFile(
        go="1.22", toolchain="go1.22.1",
        uses=(("./a", 5), ("./b", 7), ("./c d", 8), ("../e", 9)),
        replaces=(Replace("example.com/x", "v1.0.0", "./x", None, 12),
                  Replace("example.com/y", None, "example.com/z", "v1.2.0", 13)),
        godebug=(("panicnil", "1"),), errors=())


@pytest.mark.parametrize("src, want", [
    (b"go 1.22\nuse ./a\nfoo\nuse (\n)\nmodule x\n", "../go.work:3: unknown directive: foo\n../go.work:6: unknown directive: module"),
    (b"go 1.22\nuse (\n./a\n", "../go.work:4: syntax error (unterminated block started at ../go.work:2:1)"),
    (b"use a b\nrequire (\n)\n", "../go.work:1: usage: use local/dir\n../go.work:2: unknown block type: require"),
    (b"go 1.x\ngo 1.22\n", "../go.work:1: invalid go version '1.x': must match format 1.23.0"),
    (b"replace x.com/a master => ./b\n", '../go.work:1: replace x.com/a: version "master" invalid: must be of the form v1.2.3'),
    (b"toolchain go2\ngodebug x\n",
     "../go.work:1: invalid toolchain version 'go2': must match format go1.23.0 or default\n../go.work:2: usage: godebug key=value"),
])
def test_work_errors(src: bytes, want: str) -> None:
    assert format_errors("../go.work", parse_work(src, "../go.work").errors) == want


# -- Go versions ------------------------------------------------------------------------------------

@pytest.mark.parametrize("v, want", [
    ("1.22.3", "go1.22"), ("1.21rc1", "go1.21"), ("1.22", "go1.22"), ("go1.26.8", "go1.26"),
    ("1", "go1"), ("1.0", "go1"), ("1.x", ""),
])
def test_lang_version(v: str, want: str) -> None:
    assert lang_version(v) == want
