"""Real programs of the corpus, built with the whole graph native (RUNGO_GRAPH=native): rungo
compiles their required modules and the standard library itself (with cgo: runtime/cgo, net,
os/user too), and the program equals `go run`'s byte for byte with -trimpath, build IDs blanked
(tests/wholegraph.py says how), with CGO_ENABLED=0 and 1, and with -race.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from test_realworld import CORPUS, Program, corpus_env, corpus_go, program  # noqa: F401 - fixtures
from wholegraph import compiled_natively, same_program

# Seven programs, chosen for what they cover: generics and iterators (gojq, shfmt, yq), assembly in
# the main module (s2c), //go:embed in the main module (present), an interpreter (jsonnet), the
# standard library's cgo (hey: net). (os/user's cgo: tests/cli/test_whole_graph.py.)
NAMES = ("gojq", "shfmt", "yq", "s2c", "present", "jsonnet", "hey")
SPECS = [spec for spec in CORPUS if spec["name"] in NAMES]


@pytest.mark.parametrize("cgo", ["0", "1"])
@pytest.mark.parametrize("program", SPECS, indirect=True, ids=[s["name"] for s in SPECS])
def test_corpus_program_is_the_go_commands_program(program: Program, cgo: str, tmp_path: Path) -> None:  # noqa: F811
    spec: dict[str, Any] = program.spec
    env = {**program.env, "CGO_ENABLED": cgo}
    x = same_program(program.go, program.src, env, ["-trimpath"], tmp_path, target=spec["package"])
    assert compiled_natively(x, "runtime")      # all or nothing: every external package is rungo's


@pytest.mark.parametrize("program", [spec for spec in SPECS if spec["name"] == "hey"], indirect=True, ids=["hey"])
def test_corpus_program_under_race_is_the_go_commands_program(program: Program, tmp_path: Path) -> None:  # noqa: F811
    """-race on a corpus program: every package instrumented, runtime/race and net's cgo native."""
    env = {**program.env, "CGO_ENABLED": "1"}
    x = same_program(program.go, program.src, env, ["-race", "-trimpath"], tmp_path, target=program.spec["package"])
    assert compiled_natively(x, "runtime/race") and compiled_natively(x, "net")
    assert all(" -race " in line for line in x.splitlines() if "/compile " in line)
