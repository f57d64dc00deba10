"""A keystroke's check trusts the kept compile inputs only while every file keeps its header: what
tells an edit of a body (no parse) from one that changes what the load would find."""

from __future__ import annotations

from rungo.lsp.typecheck import FileHead

SRC = b"""//go:build linux

package main

import (
\t"embed"
\t"fmt"
)

//go:embed a.txt
var a string

func main() {
\tfmt.Println(a)
}
"""


def test_a_body_edit_keeps_the_header() -> None:
    head = FileHead.of(SRC)
    assert head.holds_for(SRC.replace(b"fmt.Println(a)", b'fmt.Println(a, 1+"x")'))
    assert head.holds_for(SRC + b"\nfunc other() {}\n")


def test_what_the_load_reads_is_a_header_change() -> None:
    head = FileHead.of(SRC)
    for changed in (
        SRC.replace(b"//go:build linux", b"//go:build darwin"),            # build constraints
        SRC.replace(b"package main", b"package other"),                   # package clause
        SRC.replace(b'\t"fmt"\n', b'\t"fmt"\n\t"strings"\n'),              # an import in the block
        SRC.replace(b")\n\n//go:embed", b')\n\nimport "strings"\n\n//go:embed'),   # an import declaration after it
        SRC.replace(b"//go:embed a.txt", b"//go:embed b.txt"),             # an embed pattern
        SRC.replace(b"func main() {", b"//go:embed c.txt\nvar c string\n\nfunc main() {"),
        b"\n" + SRC,                                                      # every import moved a line
    ):
        assert not head.holds_for(changed), changed


def test_a_comment_or_string_that_looks_like_an_import_is_parsed_not_guessed() -> None:
    head = FileHead.of(SRC)
    assert head.holds_for(SRC + b"\nvar s = `\nimport \"x\"\n`\n")
    assert head.holds_for(SRC + b'\nimport "strings"\n')   # no import of the header: the compiler's syntax error
