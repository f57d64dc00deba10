"""Finding 5: input the go command rejects is rejected by rungo too, in go's words, side by side."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

import pytest

from conftest import gorun, rungo, write_tree

MAIN = 'package main\n\nfunc main() { println("ok") }\n'


def _symlink_loop(d: Path) -> None:
    os.symlink("loop.go", d / "loop.go")


def _dev_zero(d: Path) -> None:
    os.symlink("/dev/zero", d / "zero.go")


def _bad_build_line(d: Path) -> None:
    (d / "b.go").write_text('//go:build linux &&\n\npackage main\n\nfunc init() { println("init") }\n')


def _import_cycle(d: Path) -> None:
    write_tree(d, {
        "main.go": 'package main\n\nimport _ "example.com/bad/a"\n\nfunc main() {}\n',
        "a/a.go": 'package a\n\nimport _ "example.com/bad/b"\n',
        "b/b.go": 'package b\n\nimport _ "example.com/bad/a"\n',
    })


def _bytes(content: bytes) -> Callable[[Path], None]:
    def write(d: Path) -> None:
        (d / "main.go").write_bytes(content)
    return write


CASES: dict[str, Callable[[Path], None]] = {
    # Invalid UTF-8 in the header go/build reads is the go command's error, after it the compiler's.
    "utf8-comment-in-header": _bytes(b"package main\n\n// caf\xe9\nfunc main() {}\n"),
    "utf8-package-clause": _bytes(b"package ma\xffin\n\nfunc main() {}\n"),
    "utf8-import-path": _bytes(b'package main\n\nimport "fm\xfft"\n\nfunc main() {}\n'),
    "utf8-import-comment": _bytes(b'package main\n\nimport (\n\t"fmt" // \xfe\n)\n\nfunc main() { fmt.Println() }\n'),
    "utf8-in-code": _bytes(b"package main\n\nfunc main() { x\xff := 1; _ = x\xff }\n"),
    "import-path-with-space": _bytes(b'package main\n\nimport "example.com/bad/a b"\n\nfunc main() {}\n'),
    "named-import-path-with-tab": _bytes(b'package main\n\nimport (\n\t"fmt"\n\tx "a\\tb"\n)\n\n'
                                         b'func main() { fmt.Println() }\n'),
    "symlink-loop": _symlink_loop,
    "dev-zero": _dev_zero,
    "malformed-go-build": _bad_build_line,
    "import-cycle": _import_cycle,
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_rejected_as_go_rejects_it(case: str, module: Path, base_env: dict[str, str], go_exe: str,
                                   tmp_path: Path) -> None:
    env = base_env | {"RUNGO_CACHE": str(tmp_path / "cache")}
    write_tree(module, {"go.mod": "module example.com/bad\n\ngo 1.22\n", "main.go": MAIN})
    CASES[case](module)
    want = gorun(go_exe, ["."], module, env, timeout=60)
    assert want.returncode == 1, want
    got = rungo(["run", "."], module, env, timeout=60)
    assert (got.returncode, got.stdout, got.stderr) == (125, "", want.stderr)


def test_fifo_named_go_is_refused_without_blocking(module: Path, base_env: dict[str, str],
                                                   tmp_path: Path) -> None:
    # go itself blocks forever opening it; rungo refuses it at once.
    env = base_env | {"RUNGO_CACHE": str(tmp_path / "cache")}
    write_tree(module, {"go.mod": "module example.com/fifo\n\ngo 1.22\n", "main.go": MAIN})
    os.mkfifo(module / "pipe.go")
    got = rungo(["run", "."], module, env, timeout=60)
    assert (got.returncode, got.stdout) == (125, ""), got
    assert got.stderr == f"read {module / 'pipe.go'}: not a regular file\n"


@pytest.mark.parametrize("args,status", [
    (["-exec", "no-such-program-anywhere", "."], 127),
    (["-C", "/no/such/dir", "."], 125),
    (["-C", "main.go", "."], 125),
])
def test_flag_errors_in_go_words(args: list[str], status: int, module: Path, base_env: dict[str, str],
                                 go_exe: str, tmp_path: Path) -> None:
    env = base_env | {"RUNGO_CACHE": str(tmp_path / "cache")}
    write_tree(module, {"go.mod": "module example.com/flags\n\ngo 1.22\n", "main.go": MAIN})
    want = gorun(go_exe, args, module, env)
    assert want.returncode == 1, want
    got = rungo(["run", *args], module, env)
    assert (got.returncode, got.stdout, got.stderr) == (status, "", want.stderr)
