"""What importing the command line and the orchestration costs, best of N runs of `python -X importtime`.

Usage: python bench/import_time.py [--runs N] [--src DIR] [--modules "rungo.cli, rungo.orchestrate"]

Sums the cumulative times of the top-level imports the statement causes (the interpreter's own
start-up is printed apart, from `import sys`). Run it with a virtual environment's python: this
machine's base interpreter runs a .pth file at every start. `--src` points at another checkout's
server/ directory (e.g. a `git worktree` of an older commit) to compare the two.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \| (\S.*)$")


def import_ms(src: str, modules: str, runs: int) -> float:
    best = float("inf")
    env = dict(os.environ, PYTHONPATH=src)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    subprocess.run([sys.executable, "-m", "compileall", "-q", src], check=True, capture_output=True)
    for _ in range(runs):
        err = subprocess.run([sys.executable, "-X", "importtime", "-c", f"import {modules}"],
                             capture_output=True, text=True, env=env, check=True).stderr
        total = sum(int(m.group(2)) for m in map(_LINE.match, err.splitlines()) if m)
        best = min(best, total / 1000)
    return best


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=11)
    ap.add_argument("--src", default=str(Path(__file__).resolve().parent.parent / "server"))
    ap.add_argument("--modules", default="rungo.cli, rungo.orchestrate")
    a = ap.parse_args()
    base = import_ms(a.src, "sys", a.runs)
    total = import_ms(a.src, a.modules, a.runs)
    print(f"import {a.modules} from {a.src}: {total:.1f} ms best of {a.runs} "
          f"(the interpreter's own imports: {base:.1f} ms)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
