"""What the hot path imports: the rerun shortcut nothing beyond os, sys and zlib (every rerun), the
engine's load, cache and process modules no heavy standard module before it is needed."""

from __future__ import annotations

import subprocess
import sys


def test_fastpath_imports_only_what_it_needs() -> None:
    code = ("import os, stat, sys, zlib; before = set(sys.modules); import rungo.cli, rungo.fastpath; "
            "print(' '.join(sorted(set(sys.modules) - before)))")
    out = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": str(__import__("pathlib").Path(__file__).resolve().parents[2] / "server")})
    loaded = set(out.stdout.split())
    assert loaded <= {"rungo", "rungo.cli", "rungo.fastpath", "rungo.cache", "rungo.cache.records", "__future__"}, loaded


# The load, cache and process modules bring in what only some of their functions need when those
# functions first run: json (go list streams, summary records), shlex (-x lines), subprocess (the
# runner's run), shutil and secrets (the cache's removals and temporary names). And they compile no
# regular expression before it is first used.
_ENGINE_MODULES = ("rungo.cache", "rungo.process", "rungo.config", "rungo.load.golist", "rungo.load.summaries",
                   "rungo.load.stamps", "rungo.load.modfile", "rungo.load.constraints", "rungo.load.model",
                   "rungo.load.embed", "rungo.load.filechecks", "rungo.invocation", "rungo.quoting", "rungo.goenv", "rungo.work.buildinfo",
                   "rungo.work.diagnostics", "rungo.syntax", "rungo.syntax.utf16")
_ON_FIRST_USE = {"json", "shlex", "subprocess", "shutil", "secrets", "random", "tempfile", "logging"}


def test_engine_modules_import_heavy_stdlib_on_first_use() -> None:
    code = ("import re, sys; before = set(sys.modules); import " + ", ".join(_ENGINE_MODULES) + "; "
            "print(' '.join(sorted(set(sys.modules) - before))); "
            "print(' '.join(m for m in " + repr(_ENGINE_MODULES) + " "
            "if any(isinstance(v, re.Pattern) for v in vars(sys.modules[m]).values())))")
    out = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": str(__import__("pathlib").Path(__file__).resolve().parents[2] / "server")})
    loaded, compiled = (set(line.split()) for line in out.stdout.split("\n")[:2])
    assert not loaded & _ON_FIRST_USE, loaded & _ON_FIRST_USE
    assert not compiled, compiled


# A build imports the orchestration; the stages only some builds need load when those builds run:
# the cgo stage (a package that imports "C"), the go command's builds (the fallback), watch mode,
# the language server, and the thread pool of concurrent.futures (with logging) not at all.
_ON_DEMAND = {"rungo.load.cgoload", "rungo.load.cgoflags", "rungo.load.cgodirectives", "rungo.syntax.preamble",
              "rungo.load.cgosecurity", "rungo.work.cgo",
              "rungo.work.gocommand", "rungo.watch", "rungo.filewatch", "rungo.lsp", "concurrent.futures",
              "logging", "tree_sitter", "pygls"}


def test_a_build_imports_only_the_stages_it_needs() -> None:
    code = "import sys; import rungo.cli, rungo.orchestrate; print(' '.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": str(__import__("pathlib").Path(__file__).resolve().parents[2] / "server")})
    loaded = set(out.stdout.split())
    assert "rungo.work.execute" in loaded and "rungo.load.program" in loaded
    assert not loaded & _ON_DEMAND, loaded & _ON_DEMAND
