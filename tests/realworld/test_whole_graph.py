"""Real programs of the corpus, built with the whole graph native (RUNGO_GRAPH=native): rungo
compiles their required modules and the standard library itself, and the program equals `go run`'s
byte for byte with -trimpath, build IDs blanked (tests/cli/test_whole_graph.py says how).

CGO_ENABLED=0: with cgo, a standard package that uses it (net, os/user) still sends the external
packages to go list -export.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from test_realworld import CORPUS, Program, corpus_env, corpus_go, program  # noqa: F401 - fixtures
from wholegraph import compiled_natively, same_program

# Six programs, chosen for what they cover: generics and iterators (gojq, shfmt, yq), assembly in
# the main module (s2c), //go:embed in the main module (present), an interpreter (jsonnet).
NAMES = ("gojq", "shfmt", "yq", "s2c", "present", "jsonnet")
SPECS = [spec for spec in CORPUS if spec["name"] in NAMES]


@pytest.mark.parametrize("program", SPECS, indirect=True, ids=[s["name"] for s in SPECS])
def test_corpus_program_is_the_go_commands_program(program: Program, tmp_path: Path) -> None:  # noqa: F811
    spec: dict[str, Any] = program.spec
    env = {**program.env, "CGO_ENABLED": "0"}
    x = same_program(program.go, program.src, env, ["-trimpath"], tmp_path, target=spec["package"])
    assert compiled_natively(x, "runtime")      # all or nothing: every external package is rungo's
