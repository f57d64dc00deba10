"""Finding 2: no poisoned cache. A source file edited between the moment rungo hashes it and the moment
the compiler reads it must not put the other version's archive under the key of the hashed one.

The edit is made at the worst moment on purpose: a runner that rewrites the file just before it starts
the compiler (every subprocess goes through the runner, so this is where the compiler would read it).
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Mapping, Sequence

import pytest

from conftest import rungo, write_tree
from rungo.work.workdir import WorkDir
from rungo.cache import Cache
from rungo.config import make_config
from rungo.invocation import parse_run_args
from rungo.orchestrate import Session, build
from rungo.process import Completed, Runner
from rungo.toolchain import load_toolchain


class EditingRunner(Runner):
    """Before the first compile of `target`, replaces its content with `then`."""

    def __init__(self, env: Mapping[str, str], target: Path, then: str, tool: str) -> None:
        super().__init__(env=env)
        self.target = target
        self.then = then
        self.tool = tool
        self.edits = 0

    def run(self, argv: Sequence[str], **kw: object) -> Completed:  # type: ignore[override]
        if argv and Path(argv[0]).name == self.tool and self.edits == 0:
            self.target.write_text(self.then)
            self.edits += 1
        return super().run(argv, **kw)  # type: ignore[arg-type]


def _say(word: str) -> str:
    return f'package lib\n\nfunc Word() string {{ return "{word}" }}\n'


TREE = {
    "go.mod": "module example.com/poison\n\ngo 1.22\n",
    "main.go": 'package main\n\nimport (\n\t"fmt"\n\n\t"example.com/poison/lib"\n)\n\n'
               'func main() { fmt.Println(lib.Word()) }\n',
}


def _prepare(module: Path, env: dict[str, str], runner_for: "type[Runner] | EditingRunner") -> Path:
    config = make_config(env, module)
    tc = load_toolchain(config, Runner(env=config.child_env()))
    runner = runner_for if isinstance(runner_for, Runner) else Runner(env=config.child_env())
    work = WorkDir(None, keep=False, announce=lambda _: None)
    session = Session(config=config, toolchain=tc, runner=runner, store=Cache(config.cache_dir), work=work)
    try:
        prepared = build(session, parse_run_args(["."], ""))
        assert prepared.binary is not None
        out = subprocess.run([str(prepared.binary)], capture_output=True, text=True, check=True).stdout
    finally:
        work.close()
    return Path(out)


@pytest.mark.parametrize("tool", ["compile"])
def test_edit_while_the_compiler_starts_does_not_poison_the_cache(
        module: Path, base_env: dict[str, str], tmp_path: Path, tool: str) -> None:
    env = base_env | {"RUNGO_CACHE": str(tmp_path / "cache")}
    write_tree(module, {**TREE, "lib/lib.go": _say("one")})
    lib = module / "lib" / "lib.go"
    config = make_config(env, module)
    editor = EditingRunner(config.child_env(), lib, _say("two"), tool)
    # rungo hashed "one"; the file says "two" when the compiler starts. Whatever this first build
    # prints, the cache must not remember "two" as the archive of "one".
    first = _prepare(module, env, editor)
    assert editor.edits == 1
    assert str(first) in ("one\n", "two\n")
    lib.write_text(_say("one"))
    got = rungo(["run", "."], module, env)
    assert (got.returncode, got.stdout) == (0, "one\n"), got
    lib.write_text(_say("two"))
    got = rungo(["run", "."], module, env)
    assert (got.returncode, got.stdout) == (0, "two\n"), got


def test_embedded_file_edited_while_the_compiler_starts(module: Path, base_env: dict[str, str],
                                                       tmp_path: Path) -> None:
    env = base_env | {"RUNGO_CACHE": str(tmp_path / "cache")}
    write_tree(module, {
        "go.mod": "module example.com/poisonembed\n\ngo 1.22\n",
        "main.go": 'package main\n\nimport (\n\t_ "embed"\n\t"fmt"\n)\n\n//go:embed msg.txt\nvar msg string\n\n'
                   'func main() { fmt.Print(msg) }\n',
        "msg.txt": "one\n",
    })
    msg = module / "msg.txt"
    config = make_config(env, module)
    editor = EditingRunner(config.child_env(), msg, "two\n", "compile")
    _prepare(module, env, editor)
    assert editor.edits == 1
    msg.write_text("one\n")
    got = rungo(["run", "."], module, env)
    assert (got.returncode, got.stdout) == (0, "one\n"), got
