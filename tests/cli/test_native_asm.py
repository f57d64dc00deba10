"""Go assembly and .syso objects in the main module, built natively: asm -gensymabis, compile with
-symabis/-asmhdr (no -complete), asm each .s, pack the objects into the archive."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import pytest

from conftest import gorun, rungo, write_tree

FILES = {
    "go.mod": "module example.com/asm\n\ngo 1.22\n",
    "main.go": '''
        package main

        import (
        \t"fmt"

        \t"example.com/asm/internal/fast"
        )

        func add(a, b int64) int64

        func main() { fmt.Println(add(2, 3), fast.Second([]int64{7, 11, 13})) }
        ''',
    "add_amd64.s": '''
        #include "textflag.h"

        TEXT ·add(SB), NOSPLIT, $0-24
        \tMOVQ a+0(FP), AX
        \tADDQ b+8(FP), AX
        \tMOVQ AX, ret+16(FP)
        \tRET
        ''',
    "add_arm64.s": '''
        #include "textflag.h"

        TEXT ·add(SB), NOSPLIT, $0-24
        \tMOVD a+0(FP), R0
        \tMOVD b+8(FP), R1
        \tADD R1, R0, R0
        \tMOVD R0, ret+16(FP)
        \tRET
        ''',
    "internal/fast/fast.go": '''
        package fast

        // Stride is read by the assembly through go_asm.h (const_Stride).
        const Stride = 8

        func Second(xs []int64) int64
        ''',
    "internal/fast/defs.h": "#define FIRST 0\n",
    "internal/fast/second_amd64.s": '''
        #include "textflag.h"
        #include "go_asm.h"
        #include "defs.h"

        TEXT ·Second(SB), NOSPLIT, $0-32
        \tMOVQ xs_base+0(FP), AX
        \tMOVQ (FIRST+const_Stride)(AX), BX
        \tMOVQ BX, ret+24(FP)
        \tRET
        ''',
}


@pytest.fixture
def amd64_only(base_env: dict[str, str], go_exe: str) -> None:
    arch = subprocess.run([go_exe, "env", "GOARCH"], capture_output=True, text=True, env=base_env).stdout.strip()
    if arch != "amd64":
        pytest.skip(f"the assembly in this test is amd64 assembly; GOARCH is {arch}")


def test_assembly_in_main_and_internal_packages(tmp_path: Path, base_env: dict[str, str], go_exe: str,
                                                amd64_only: None) -> None:
    proj = write_tree(tmp_path / "proj", FILES)
    want = gorun(go_exe, ["."], proj, base_env)
    got = rungo(["run", "-x", "."], proj, base_env)
    assert want.returncode == 0, want.stderr
    assert got.returncode == 0, got.stderr
    assert got.stdout == want.stdout == "5 11\n"
    x = got.stderr
    assert " build -o " not in x, x                                          # native, not go build
    assert "-gensymabis" in x and "-symabis " in x and "-asmhdr " in x
    assert "-complete" not in x
    assert "go tool pack r " in x and "second_amd64.o" in x

    again = rungo(["run", "-x", "."], proj, base_env)
    assert again.stdout == "5 11\n"
    assert "/asm " not in again.stderr and "/compile " not in again.stderr   # nothing rebuilt

    time.sleep(1.1)
    s = proj / "internal" / "fast" / "second_amd64.s"
    s.write_text(s.read_text().replace("(FIRST+const_Stride)", "(FIRST+2*const_Stride)"))
    edited = rungo(["run", "-x", "."], proj, base_env)
    assert edited.stdout == "5 13\n", edited.stderr
    assert "second_amd64.s" in edited.stderr

    time.sleep(1.1)
    a = proj / "add_amd64.s"
    a.write_text(a.read_text().replace("ADDQ b+8(FP), AX", "ADDQ b+8(FP), AX\n\tADDQ b+8(FP), AX"))
    main_only = rungo(["run", "-x", "."], proj, base_env)
    assert main_only.stdout == "8 13\n", main_only.stderr
    assert "add_amd64.s" in main_only.stderr and "second_amd64.s" not in main_only.stderr   # fast is not rebuilt


def test_assembly_errors_are_reported_as_go_reports_them(tmp_path: Path, base_env: dict[str, str], go_exe: str,
                                                          amd64_only: None) -> None:
    proj = write_tree(tmp_path / "proj", {**FILES, "add_amd64.s": "TEXT ·add(SB), $0-24\n\tNOTANINSTRUCTION AX\n\tRET\n"})
    want = gorun(go_exe, ["."], proj, base_env)
    got = rungo(["run", "."], proj, base_env)
    assert want.returncode == 1 and got.returncode == 125
    assert got.stderr == want.stderr, (got.stderr, want.stderr)


def test_syso_objects_are_packed(tmp_path: Path, base_env: dict[str, str], go_exe: str, amd64_only: None) -> None:
    cc = shutil.which("gcc") or shutil.which("cc")
    if cc is None:
        pytest.skip("no C compiler to make a .syso with")
    proj = write_tree(tmp_path / "proj", {
        "go.mod": "module example.com/syso\n\ngo 1.22\n",
        "main.go": 'package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("with a syso") }\n',
        "marker.c": "int rungo_syso_marker = 42;\n",
    })
    subprocess.run([cc, "-c", "-fPIC", "-o", str(proj / "marker_linux_amd64.syso"), str(proj / "marker.c")], check=True)
    (proj / "marker.c").unlink()
    want = gorun(go_exe, ["."], proj, base_env)
    got = rungo(["run", "-x", "."], proj, base_env)
    assert got.returncode == want.returncode == 0, (got.stderr, want.stderr)
    assert got.stdout == want.stdout == "with a syso\n"
    assert "go tool pack r " in got.stderr and "marker_linux_amd64.syso" in got.stderr
    assert " build -o " not in got.stderr
