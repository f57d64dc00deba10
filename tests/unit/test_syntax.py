"""Unit tests for rungo.syntax: the tree-sitter-go file summary."""

from __future__ import annotations

import dataclasses
import random
import subprocess
import sys
import time

import pytest

from rungo.syntax import (
    EmbedDirective,
    FileSummary,
    GoDebugDirective,
    ImportSpec,
    Position,
    SyntaxProblem,
    summarize,
)
from rungo.quoting import unquote
from rungo.syntax.literals import directive_args, embed_patterns, go_debug_setting


def src(text: str) -> bytes:
    return text.encode("utf-8")


def first_error(summary: FileSummary) -> SyntaxProblem:
    assert summary.syntax_errors, "expected a syntax problem"
    return summary.syntax_errors[0]


# -- package clause ----------------------------------------------------------------------------------------


def test_package_clause_and_position() -> None:
    s = summarize(src("// Copyright notice.\n\n/* block */ package hello // trailing\n"))
    assert s.package == "hello"
    assert s.package_position == Position(3, 21)
    assert s.syntax_errors == ()


def test_package_clause_after_bom_counts_bom_bytes() -> None:
    s = summarize(b"\xef\xbb\xbfpackage main\n")
    assert s.package == "main"
    assert s.package_position == Position(1, 12)
    assert s.syntax_errors == ()


def test_missing_package_clause_is_reported_first_like_go_run() -> None:
    s = summarize(src("// x\n\nfunc main() {}\n"))
    assert s.package == "" and s.package_position is None
    assert first_error(s) == SyntaxProblem(Position(3, 1), "expected 'package', found 'func'")
    s = summarize(src("\n\n  foo bar\n"))
    assert first_error(s) == SyntaxProblem(Position(3, 3), "expected 'package', found foo")


def test_empty_input() -> None:
    s = summarize(b"")
    assert s == FileSummary("", None, (), False, (), (), None,
                            (SyntaxProblem(Position(1, 1), "expected 'package', found 'EOF'"),))


def test_only_comments_reports_eof_where_go_parser_does() -> None:
    assert first_error(summarize(b"// x\n")) == SyntaxProblem(Position(1, 6), "expected 'package', found 'EOF'")


# -- imports -----------------------------------------------------------------------------------------------


def test_single_and_grouped_imports_with_names_and_positions() -> None:
    s = summarize(src(
        'package main\n'
        'import "fmt"\n'
        'import (\n'
        '\tstr "strings"\n'
        '\t_ "embed"\n'
        '\t. "math"\n'
        '\n'
        '\t"os" // comment\n'
        ')\n'
        'import f2 "fmt"\n'
        'func main() {}\n'))
    assert s.imports == (
        ImportSpec("fmt", None, Position(2, 8), Position(2, 8)),
        ImportSpec("strings", "str", Position(4, 6), Position(4, 2)),
        ImportSpec("embed", "_", Position(5, 4), Position(5, 2)),
        ImportSpec("math", ".", Position(6, 4), Position(6, 2)),
        ImportSpec("os", None, Position(8, 2), Position(8, 2)),
        ImportSpec("fmt", "f2", Position(10, 11), Position(10, 8)),
    )
    assert not s.imports_c
    assert s.syntax_errors == ()


def test_semicolon_separated_header() -> None:
    s = summarize(src('package main; import "fmt"; import ("os"; "io"); func main() {}'))
    assert s.package == "main"
    assert [i.path for i in s.imports] == ["fmt", "os", "io"]
    assert s.main_func == Position(1, 55)


def test_raw_string_and_escaped_import_paths() -> None:
    s = summarize(src('package main\nimport (\n\t`example.com/raw`\n\tx "\\x66m\\u0074"\n)\n'))
    assert s.imports == (ImportSpec("example.com/raw", None, Position(3, 2), Position(3, 2)),
                         ImportSpec("fmt", "x", Position(4, 4), Position(4, 2)))


def test_import_c_with_preamble() -> None:
    s = summarize(src(
        'package main\n\n'
        '/*\n#include <stdio.h>\nstatic void hello() { printf("hi\\n"); }\n*/\n'
        'import "C"\n\n'
        'import "fmt"\n\n'
        'func main() { C.hello(); fmt.Println() }\n'))
    assert s.imports_c
    assert s.imports == (ImportSpec("C", None, Position(7, 8), Position(7, 8)),
                         ImportSpec("fmt", None, Position(9, 8), Position(9, 8)))
    assert s.syntax_errors == ()


def test_import_after_declarations_is_an_error_and_not_an_import() -> None:
    s = summarize(src('package main\n\nfunc main() {}\n\nimport "fmt"\n'))
    assert s.imports == ()
    assert s.syntax_errors == (
        SyntaxProblem(Position(5, 1), "syntax error: imports must appear before other declarations"),)


def test_invalid_import_path_is_a_problem_and_not_an_import() -> None:
    s = summarize(src('package main\nimport "a b"\nimport "ok"\n'))
    assert [i.path for i in s.imports] == ["ok"]
    assert s.syntax_errors == (SyntaxProblem(Position(2, 8), 'invalid import path: "a b"'),)


def test_header_survives_errors_further_down() -> None:
    s = summarize(src(
        'package main\n'
        '\n'
        'import (\n'
        '\t"fmt"\n'
        '\t"os"\n'
        ')\n'
        '\n'
        'func main() {\n'
        '\tfmt.Println("a"\n'
        '\tos.Exit(1)}}}\n'
        '}\n'
        'var = \n'))
    assert s.package == "main" and s.package_position == Position(1, 9)
    assert [i.path for i in s.imports] == ["fmt", "os"]
    assert s.main_func == Position(8, 6)
    assert len(s.syntax_errors) >= 1


def test_unclosed_import_group_still_yields_its_imports() -> None:
    s = summarize(src('package main\nimport (\n"fmt"\n"os"\n\nfunc main() {}\n'))
    assert s.package == "main"
    assert [i.path for i in s.imports] == ["fmt", "os"]
    assert s.syntax_errors


# -- //go:embed ----------------------------------------------------------------------------------------------


EMBED_FILE = (
    'package main\n'
    '\n'
    'import "embed"\n'
    '\n'
    '//go:embed a.txt "b c.txt" `d` "e\\x41"\n'
    'var f embed.FS\n'
    '\n'
    'var (\n'
    '\t//go:embed  static/*   \r\n'
    '\tstatic embed.FS\n'
    ')\n'
    '\n'
    '// //go:embed not-a-directive\n'
    '/* //go:embed not-a-directive */\n'
    '//go:embedded not-a-directive\n'
    '//go:embed "unterminated\n'
    '//go:embed "a"b\n'
    '//go:embed\n'
    'var s = "//go:embed not-a-directive"\n'
)


def test_embeds_with_all_quoting_forms() -> None:
    s = summarize(src(EMBED_FILE))
    assert s.embeds == (
        EmbedDirective(("a.txt", "b c.txt", "d", "eA"), Position(5, 1)),
        EmbedDirective(("static/*",), Position(9, 2)),
    )
    assert s.syntax_errors == ()


def test_embeds_need_an_import_of_embed() -> None:
    s = summarize(src(EMBED_FILE.replace('import "embed"', 'import "fmt"')))
    assert s.embeds == ()


def test_embed_pattern_parsing() -> None:
    assert embed_patterns("//go:embed a b\tc") == ("a", "b", "c")
    assert embed_patterns('//go:embed "a b" `c d`') == ("a b", "c d")
    assert embed_patterns("//go:embed\u00a0x") == ("x",)          # Go's unicode.IsSpace separates
    assert embed_patterns("//go:embed") is None
    assert embed_patterns("//go:embedx a") is None
    assert embed_patterns('//go:embed "a') is None
    assert embed_patterns('//go:embed "a"b') is None
    assert directive_args('a"b c') == ('a"b', "c")                 # quotes only count at the start


def test_unquote_follows_go() -> None:
    assert unquote('"fmt"') == "fmt"
    assert unquote("`a\\n\r`") == "a\\n"
    assert unquote('"\\u00e9\\101\\t"') == "éA\t"
    assert unquote('"\\\'"') is None        # \' is for rune literals only
    assert unquote('"\\ud800"') is None     # surrogate halves are not runes
    assert unquote('"\\x4"') is None
    assert unquote('"a') is None


# -- //go:debug ----------------------------------------------------------------------------------------------


def test_go_debug_before_the_package_clause_only() -> None:
    s = summarize(src(
        '//go:build linux\n'
        '//go:debug panicnil=1\n'
        '//go:debug  asynctimerchan=0  \r\n'
        '\n'
        '// Package doc.\n'
        '// go:debug not=directive\n'
        '/*go:debug not=directive */\n'
        'package main\n'
        '\n'
        '//go:debug late=1\n'
        'func main() {}\n'))
    assert s.go_debug == (
        GoDebugDirective("panicnil", "1", Position(2, 1)),
        GoDebugDirective("asynctimerchan", "0", Position(3, 1)),
    )
    assert s.syntax_errors == ()


def test_go_debug_prefix_quirk_matches_cmd_go() -> None:
    # cmd/go's ParseGoDebug only checks the "//go:debug" prefix, then splits at the first space.
    s = summarize(src("//go:debugx k=v\n//go:debugonly\npackage main\n"))
    assert s.go_debug == (GoDebugDirective("k", "v", Position(1, 1)),)
    assert s.syntax_errors == ()


def test_malformed_go_debug_is_a_problem() -> None:
    s = summarize(src("//go:debug\n//go:debug novalue\npackage main\n"))
    assert s.go_debug == ()
    assert s.syntax_errors == (
        SyntaxProblem(Position(1, 1), "invalid //go:debug: missing key=value"),
        SyntaxProblem(Position(2, 1), "invalid //go:debug: missing key=value"),
    )


def test_go_debug_setting() -> None:
    assert go_debug_setting("//go:debug a=b") == ("a", "b")
    assert go_debug_setting("//go:debug\ta=b=c ") == ("a", "b=c")
    assert go_debug_setting("//go:build linux") is None
    assert go_debug_setting("//go:debugx") is None
    with pytest.raises(ValueError, match="missing key=value"):
        go_debug_setting("//go:debug ")


# -- func main -----------------------------------------------------------------------------------------------


def test_func_main_detection() -> None:
    s = summarize(src('package main\n\ntype T struct{}\n\nfunc (T) main() {}\n\nfunc main() {\n}\n'))
    assert s.main_func == Position(7, 6)


@pytest.mark.parametrize("text", [
    "package main\n\ntype T struct{}\n\nfunc (t T) main() {}\n",
    "package main\n\nfunc main[T any]() {}\n",
    "package main\n\nfunc mainly() {}\nvar main = 1\n",
    "package main\n\nfunc f() {\n\tmain := func() {}\n\tmain()\n}\n",
    'package main\n\nvar s = "func main() {}"\n// func main() {}\n',
])
def test_no_func_main(text: str) -> None:
    assert summarize(src(text)).main_func is None


def test_func_main_reported_whatever_the_package_or_signature() -> None:
    # Whether it is a valid entry point is the caller's decision.
    assert summarize(src("package lib\n\nfunc main() {}\n")).main_func == Position(3, 6)
    assert summarize(src("package main\n\nfunc  main(args []string) int { return 0 }\n")).main_func == Position(3, 7)
    assert summarize(src("package main\n\nfunc main()\n")).main_func == Position(3, 6)


# -- syntax errors -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text,line,column,message", [
    # Each position is the one `go tool compile` reports.
    ('package main\nimport "fmt"\nfunc main() {\n\tfmt.Println("x"\n}\n',
     4, 17, "syntax error: unexpected newline, expected )"),
    ("package main\nfunc main() {\n\tif x {\n\t\ty()\n\t}}\n}\n",
     6, 1, "syntax error: non-declaration statement outside function body"),
    ("package main\nx := 1\nfunc main() {}\n", 2, 1, "syntax error: non-declaration statement outside function body"),
    ("package main\nfunc main() {\n\tx := 1 +\n}\n", 4, 1, "syntax error: unexpected }"),
    ("package main\nfunc main() {\n", 3, 1, "syntax error: unexpected EOF, expected }"),
    ("package main\nfunc main() {\n\tfor i := 0; i < 3 {\n\t}\n}\n",
     3, 20, "syntax error: unexpected {, expected semicolon or newline"),
    ("package main\nvar = \nfunc main() {}\n", 2, 5, "syntax error: unexpected ="),
    ("package 123\n", 1, 9, "syntax error: unexpected literal 123"),
    ("package main\nfunc main() {\n\tfmt.Println(a b)\n}\n", 3, 16, "syntax error: unexpected name b"),
    ('package main\nimport "fmt"\nfunc main() {\n\tfmt.Println("hi"))\n}\n', 4, 19, "syntax error: unexpected )"),
    ("package main\nfunc main() { x := 1 @ 2 }\n", 2, 22, "invalid character U+0040 '@'"),
    ('package main\nfunc main() { a := "x }\n', 2, 24, "newline in string"),
    ("package main\nfunc main() { x := `abc\n", 2, 20, "string not terminated"),
    ("package main\nfunc main() { /* x \n", 2, 15, "comment not terminated"),
    ("package main\nfunc main() {}\n}\n", 3, 1, "syntax error: non-declaration statement outside function body"),
    ("package main; func main() { } }\n", 1, 31, "syntax error: unexpected } after top level declaration"),
])
def test_syntax_errors_at_exact_positions(text: str, line: int, column: int, message: str) -> None:
    assert first_error(summarize(src(text))) == SyntaxProblem(Position(line, column), message)


def test_error_column_counts_utf8_bytes() -> None:
    text = 'package main\n\nfunc main() {\n\tx := "héllo ✓" }}\n}\n'
    # tab, x, space, :=, space: 6 bytes; the literal is 12 bytes ("é" is 2, "✓" is 3); the second } is at byte 21.
    assert first_error(summarize(src(text))).position == Position(4, 21)


def test_one_problem_per_error_region_and_a_cap() -> None:
    s = summarize(src("package main\nfunc main() {\n\tx := ) ) ) ) )\n}\n"))
    assert len(s.syntax_errors) == 1
    many = "package main\n" + "".join(f"func f{i}() {{ x := 1 @ 2 }}\n" for i in range(200))
    s = summarize(src(many))
    assert len(s.syntax_errors) == 50
    assert s.syntax_errors[:2] == (SyntaxProblem(Position(2, 20), "invalid character U+0040 '@'"),
                                   SyntaxProblem(Position(3, 20), "invalid character U+0040 '@'"))


def test_clean_file_has_no_problems() -> None:
    s = summarize(src(
        "package main\n\nimport (\n\t\"fmt\"\n)\n\ntype T[K comparable, V any] struct{ m map[K]V }\n\n"
        "func (t *T[K, V]) Get(k K) (V, bool) { v, ok := t.m[k]; return v, ok }\n\n"
        "func main() {\n\tch := make(chan int, 1)\n\tgo func() { ch <- 1 }()\n\tselect {\n\tcase v := <-ch:\n"
        "\t\tfmt.Println(v)\n\t}\n\tfor i := range 3 {\n\t\t_ = i\n\t}\n}\n"))
    assert s.syntax_errors == ()
    assert s.main_func == Position(11, 6)


# -- encoding ------------------------------------------------------------------------------------------------


def test_invalid_utf8() -> None:
    s = summarize(b'package main\n\nvar s = "ab\xffcd"\n\nfunc main() {}\n')
    assert s.package == "main"
    assert s.main_func == Position(5, 6)
    assert SyntaxProblem(Position(3, 12), "invalid UTF-8 encoding") in s.syntax_errors


def test_nul_and_misplaced_bom() -> None:
    s = summarize(b'package main\n\nvar s = "\x00"\nvar t = "\xef\xbb\xbf"\n')
    assert SyntaxProblem(Position(3, 10), "invalid NUL character") in s.syntax_errors
    assert SyntaxProblem(Position(4, 10), "invalid BOM in the middle of the file") in s.syntax_errors


def test_crlf_line_endings() -> None:
    s = summarize(b'//go:debug x=1\r\npackage main\r\n\r\nimport "embed"\r\n\r\n//go:embed a.txt\r\nvar f embed.FS\r\n'
                  b'\r\nfunc main() {}\r\n')
    assert s.go_debug == (GoDebugDirective("x", "1", Position(1, 1)),)
    assert s.embeds == (EmbedDirective(("a.txt",), Position(6, 1)),)
    assert s.main_func == Position(9, 6)
    assert s.syntax_errors == ()


# -- robustness ----------------------------------------------------------------------------------------------


def test_never_raises_on_mangled_input() -> None:
    rng = random.Random(1)
    base = src(EMBED_FILE + "func main() {\n\tfor i := 0; i < 10; i++ {\n\t\tprintln(i)\n\t}\n}\n")
    alphabet = b'(){}[]"`\'/*;,.:=+-\n\t xyz01\xff\x00\xc3\xa9@#package import func main //go:embed '
    for _ in range(300):
        data = bytearray(base)
        for _ in range(rng.randint(1, 6)):
            pos = rng.randint(0, len(data))
            if rng.random() < 0.5:
                del data[pos:pos + rng.randint(1, 10)]
            else:
                data[pos:pos] = bytes(rng.choice(alphabet) for _ in range(rng.randint(1, 8)))
        s = summarize(bytes(data))
        assert len(s.syntax_errors) <= 50
        assert all(p.position.line >= 1 and p.position.column >= 1 for p in s.syntax_errors)
        assert not any(p.message.startswith("internal error") for p in s.syntax_errors)
    for size in (1, 2, 3, 7, 100, 5000):
        s = summarize(rng.randbytes(size))
        assert not any(p.message.startswith("internal error") for p in s.syntax_errors)


def test_accepts_other_buffers() -> None:
    assert summarize(bytearray(b"package p\n")).package == "p"  # type: ignore[arg-type]
    assert summarize(memoryview(b"package p\n")).package == "p"  # type: ignore[arg-type]


def test_five_megabyte_file() -> None:
    funcs = "".join(f"func f{i}(x int) int {{\n\treturn x + {i}\n}}\n\n" for i in range(120_000))
    text = src('package main\n\nimport "fmt"\n\n' + funcs + "func main() { fmt.Println(f1(1)) }\n")
    assert len(text) > 5_000_000
    start = time.monotonic()
    s = summarize(text)
    assert time.monotonic() - start < 30
    assert s.package == "main" and [i.path for i in s.imports] == ["fmt"]
    assert s.main_func == Position(text.count(b"\n"), 6)
    assert s.syntax_errors == ()


def test_five_megabytes_of_garbage() -> None:
    start = time.monotonic()
    s = summarize(random.Random(5).randbytes(5_000_000))
    assert time.monotonic() - start < 30
    assert s.package == ""
    assert 1 <= len(s.syntax_errors) <= 50
    assert s.syntax_errors[0].message.startswith("expected 'package', found")


def test_summary_types_are_frozen() -> None:
    s = summarize(src("package p\n"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.package = "q"  # type: ignore[misc]
    assert not hasattr(s, "__dict__")  # slots


def test_import_does_not_load_tree_sitter() -> None:
    code = "import sys, rungo.syntax; print('tree_sitter' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
