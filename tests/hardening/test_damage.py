"""Finding 3: damaged entries are misses. Stored archives and programs garbled without changing their
size (or times) are never served: they are removed, rebuilt, and the run gives the right output."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pytest

from conftest import rungo, write_tree
from hardkit import garble_in_place, remembered_run, stored_files
from rungo.work.workdir import WorkDir
from rungo.cache import Cache
from rungo.config import make_config
from rungo.invocation import parse_run_args
from rungo.orchestrate import Session, build
from rungo.process import Runner
from rungo.toolchain import load_toolchain

TREE = {
    "go.mod": "module example.com/damage\n\ngo 1.22\n",
    "main.go": 'package main\n\nimport (\n\t"fmt"\n\n\t"example.com/damage/lib"\n)\n\n'
               'func main() { fmt.Println(lib.Word(), lib.Sum(40, 2)) }\n',
    "lib/lib.go": 'package lib\n\nfunc Word() string { return "intact" }\n\n'
                  'func Sum(a, b int) int { return a + b }\n',
}
WANT = "intact 42\n"


def intact(stored: Path) -> bool:
    """A stored file is gone or holds the content its name (or its directory's) says."""
    if not stored.exists():
        return True
    name = stored.parent.name if stored.parent.name.endswith("-x") else stored.name
    return hashlib.sha256(stored.read_bytes()).hexdigest() == name[:-2]


@pytest.fixture
def env(base_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    return base_env | {"RUNGO_CACHE": str(tmp_path / "rungo-cache")}


@pytest.mark.parametrize("what", ["archives", "programs", "everything"])
def test_garbled_entries_of_the_same_size_are_rebuilt(module: Path, env: dict[str, str], what: str) -> None:
    write_tree(module, TREE)
    assert remembered_run(["run", "."], module, env).stdout == WANT
    cache = Path(env["RUNGO_CACHE"])
    victims = [p for p in stored_files(cache)
               if what == "everything" or (what == "programs") == p.parent.name.endswith("-x")]
    assert victims
    for p in victims:
        garble_in_place(p)
    for _ in range(2):
        got = rungo(["run", "."], module, env)
        assert (got.returncode, got.stdout) == (0, WANT), got
    # An edit of main makes the build read lib's archive again.
    (module / "main.go").write_text(TREE["main.go"].replace("40, 2", "41, 1"))
    got = rungo(["run", "."], module, env)
    assert (got.returncode, got.stdout) == (0, WANT), got
    assert any(intact(p) for p in victims)  # what the runs read was removed or rebuilt


def test_cache_trim_and_stats_do_not_count_removed_damage(module: Path, env: dict[str, str]) -> None:
    write_tree(module, TREE)
    assert rungo(["run", "."], module, env).stdout == WANT
    cache = Path(env["RUNGO_CACHE"])
    program = next(p for p in stored_files(cache) if p.parent.name.endswith("-x"))
    garble_in_place(program)
    got = rungo(["run", "-x", "."], module, env)
    assert (got.returncode, got.stdout) == (0, WANT), got
    assert "/link " in got.stderr  # the damaged program was not served: it was linked again


def test_large_archive_is_checked_when_its_consumer_fails(module: Path, env: dict[str, str],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Archives above the size rungo re-hashes on every hit are checked when a step that read them
    fails; a damaged one is removed, rebuilt, and the step retried once."""
    write_tree(module, TREE)
    assert rungo(["run", "."], module, env).stdout == WANT
    (module / "main.go").write_text(TREE["main.go"].replace("40, 2", "41, 1"))
    cache = Path(env["RUNGO_CACHE"])
    archives = [p for p in stored_files(cache) if p.name.endswith("-d") and p.read_bytes().startswith(b"!<arch>")]
    assert archives
    for p in archives:
        garble_in_place(p)
    monkeypatch.setattr("rungo.cache.store.VERIFY_LIMIT", 0)  # every archive counts as large
    config = make_config(env, module)
    tc = load_toolchain(config, Runner(env=config.child_env()))
    work = WorkDir(None, keep=False, announce=lambda _: None)
    session = Session(config=config, toolchain=tc, runner=Runner(env=config.child_env()),
                      store=Cache(config.cache_dir), work=work)
    try:
        prepared = build(session, parse_run_args(["."], ""))
        assert prepared.binary is not None
        out = subprocess.run([str(prepared.binary)], capture_output=True, text=True, check=True).stdout
    finally:
        work.close()
    assert out == WANT
    assert any(intact(p) for p in archives)  # lib's archive (read by main's compile) was removed or rebuilt
    got = rungo(["run", "."], module, env)
    assert (got.returncode, got.stdout) == (0, WANT), got
