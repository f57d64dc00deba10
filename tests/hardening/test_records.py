"""Finding 7: rerun records are counted and trimmed like the rest of the cache, and --max-age means
what it says."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest

from conftest import rungo, write_tree
from hardkit import fast_records, remembered_run

MAIN = 'package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("rec") }\n'
DAY = 86400


@pytest.fixture
def env(base_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    return base_env | {"RUNGO_CACHE": str(tmp_path / "rungo-cache")}


def _age(path: Path, seconds: float) -> None:
    t = time.time() - seconds
    os.utime(path, (t, t))


def test_stats_count_rerun_records(module: Path, env: dict[str, str]) -> None:
    write_tree(module, {"go.mod": "module example.com/rec\n\ngo 1.22\n", "main.go": MAIN})
    remembered_run(["run", "."], module, env)
    recs = fast_records(Path(env["RUNGO_CACHE"]))
    assert len(recs) == 1
    stats = rungo(["cache", "stats"], module, env)
    assert re.search(r"^reruns:\s+1$", stats.stdout, re.M), stats.stdout
    total = int(re.search(r"\((\d+) bytes\)", stats.stdout).group(1))  # type: ignore[union-attr]
    on_disk = sum(p.stat().st_size for p in Path(env["RUNGO_CACHE"]).rglob("*") if p.is_file()
                  and p.name not in ("README", "trim.txt"))
    assert total == on_disk


def test_trim_removes_old_and_stale_records(module: Path, env: dict[str, str], tmp_path: Path) -> None:
    cache = Path(env["RUNGO_CACHE"])
    write_tree(module, {"go.mod": "module example.com/rec\n\ngo 1.22\n", "main.go": MAIN})
    remembered_run(["run", "."], module, env)
    other = tmp_path / "other"
    write_tree(other, {"go.mod": "module example.com/other\n\ngo 1.22\n", "main.go": MAIN})
    remembered_run(["run", "."], other, env)
    third = tmp_path / "third"
    write_tree(third, {"go.mod": "module example.com/third\n\ngo 1.22\n", "main.go": MAIN})
    remembered_run(["run", "."], third, env)
    recs = fast_records(cache)
    assert len(recs) == 3
    by_dir = {}
    for r in recs:
        data = r.read_bytes()
        by_dir[next(d for d in (module, other, third) if str(d).encode() + b"\x1f" in data)] = r
    for r in recs:
        _age(r, 120)
    (module / "main.go").write_text(MAIN.replace("rec", "new"))  # module's record can no longer hit
    _age(by_dir[other], 6 * DAY)                                 # other's is older than --max-age
    got = rungo(["cache", "trim"], module, env)
    assert got.returncode == 0, got
    assert fast_records(cache) == [by_dir[third]]
    assert rungo(["run", "."], third, env).stdout == "rec\n"


def test_max_age_has_no_extra_hour(module: Path, env: dict[str, str]) -> None:
    write_tree(module, {"go.mod": "module example.com/rec\n\ngo 1.22\n", "main.go": MAIN})
    assert rungo(["run", "."], module, env).returncode == 0
    cache = Path(env["RUNGO_CACHE"])
    stored = [p for p in cache.rglob("*") if p.is_file() and "fast" not in p.parts and p.name != "README"]
    for p in stored:
        _age(p, 90 * 60)
    for d in cache.rglob("*-x"):
        _age(d, 90 * 60)
    before = re.search(r"entries:\s+(\d+)", rungo(["cache", "stats"], module, env).stdout)
    assert before and int(before.group(1)) > 0
    got = rungo(["cache", "trim", "--max-age=1h"], module, env)
    assert got.returncode == 0, got
    after = rungo(["cache", "stats"], module, env).stdout
    assert re.search(r"entries:\s+0\b", after), (got.stdout, after)
