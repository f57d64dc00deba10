"""The rerun shortcut's module imports nothing beyond os, sys and zlib (the hot path of every rerun)."""

from __future__ import annotations

import subprocess
import sys


def test_fastpath_imports_only_what_it_needs() -> None:
    code = ("import os, stat, sys, zlib; before = set(sys.modules); import rungo.cli, rungo.fastpath; "
            "print(' '.join(sorted(set(sys.modules) - before)))")
    out = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": str(__import__("pathlib").Path(__file__).resolve().parents[2] / "server")})
    loaded = set(out.stdout.split())
    assert loaded <= {"rungo", "rungo.cli", "rungo.fastpath", "__future__"}, loaded
