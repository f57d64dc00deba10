"""rungo.work.cgo against the real toolchain and C compiler: cgo, gcc and dynimport run by rungo, then
compile, pack and link by hand, and the program's output compared with `go run` of the same package.

Also: flag rejections compared with what `go build` prints for the same bad directive.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from rungo.load.constraints import BuildContext
from rungo.process import Runner
from rungo.load.cgodirectives import CgoError
from rungo.load.cgoflags import (
    CgoEnvironment,
    CgoPackage,
    cgo_environment,
    extld_flag,
    implicit_imports,
    resolve_flags,
)
from rungo.work.cgo import CgoOutcome, CompilerProbes, execute, key_lines, pack, plan
from rungo.load.cgosecurity import SecurityRules, Unsupported, load_rules

from tests.conftest import pkg_config_module, write_tree

pytestmark = pytest.mark.skipif(shutil.which("gcc") is None, reason="no C compiler")

MAIN = """
package main

/*
#cgo CFLAGS: -DX=3
#cgo linux CFLAGS: -DOSV=1
#cgo windows CFLAGS: -DOSV=2
#cgo CFLAGS: -I${SRCDIR}/inc
#include "hdr.h"
int add(int a, int b);
*/
import "C"

import "fmt"

func main() {
	fmt.Println(C.add(1, 2), C.X, C.OSV, C.H, twice(int(C.add(2, 2))))
}
"""

FILES = {
    "go.mod": "module example.com/cg\n\ngo 1.22\n",
    "main.go": MAIN,
    "util.go": "package main\n\nfunc twice(x int) int { return 2 * x }\n",
    "add.c": "int add(int a, int b) { return a + b + X + OSV; }\n",
    "inc/hdr.h": "#define H 7\n",
}


def _goenv(go: str, env: dict[str, str], cwd: Path) -> dict[str, str]:
    out = subprocess.run([go, "env", "-json"], cwd=cwd, env=env, capture_output=True, text=True, check=True).stdout
    return {str(k): str(v) for k, v in json.loads(out).items()}


def _setup(go: str, env: dict[str, str], mod: Path) -> tuple[dict[str, str], SecurityRules, CgoEnvironment, BuildContext]:
    goenv = _goenv(go, env, mod)
    if goenv.get("CGO_ENABLED") != "1":
        pytest.skip("cgo is disabled for this toolchain")
    rules = load_rules(Path(goenv["GOROOT"]))
    assert not isinstance(rules, Unsupported), rules
    cenv = cgo_environment(env, goenv)
    assert not isinstance(cenv, Unsupported), cenv
    minor = int(goenv["GOVERSION"].removeprefix("go").split(".")[1])
    ctx = BuildContext(goenv["GOOS"], goenv["GOARCH"], frozenset(), True, minor)
    return goenv, rules, cenv, ctx


def _package(mod: Path) -> CgoPackage:
    return CgoPackage("example.com/cg", "main", mod, cgo_files=("main.go",), go_files=("util.go",),
                      c_files=("add.c",), h_files=("inc/hdr.h",))


def test_native_cgo_matches_go_run(go_exe: str, base_env: dict[str, str], tmp_path: Path) -> None:
    mod = write_tree(tmp_path / "mod", FILES)
    env = dict(base_env)
    goenv, rules, cenv, ctx = _setup(go_exe, env, mod)
    echo = io.StringIO()
    runner = Runner(env=env, echo=echo)
    pkg = _package(mod)
    flags = resolve_flags(pkg, {"main.go": (mod / "main.go").read_bytes()}, ctx, cenv, rules, runner)
    assert not isinstance(flags, (CgoError, Unsupported)), flags
    assert flags.cflags[-3:] == ("-DX=3", "-DOSV=1", f"-I{mod}/inc")
    objdir = tmp_path / "work" / "b001"
    objdir.mkdir(parents=True)
    probes = CompilerProbes(runner, cenv, tmp_path / "work")
    ident = probes.identity(cenv.cc[0])
    assert isinstance(ident, str) and "version" in ident
    lines = key_lines(pkg, flags, cenv, probes, "cgo-id")
    assert not isinstance(lines, CgoError) and any(ln.startswith("CC ID=") for ln in lines)
    tooldir = Path(goenv["GOTOOLDIR"])
    step = plan(pkg, flags, cenv, probes, objdir=objdir, tooldir=tooldir, seed=b"seed", cwd=mod, env=env)
    outcome = execute(step, runner, rules, cwd=mod)
    assert isinstance(outcome, CgoOutcome), outcome.render("example.com/cg") if isinstance(outcome, CgoError) else outcome
    od = str(objdir) + "/"
    assert outcome.go_files == (str(mod / "util.go"), od + "_cgo_gotypes.go", od + "main.cgo1.go", od + "_cgo_import.go")
    assert outcome.objects == (od + "_x001.o", od + "_x002.o", od + "_x003.o")
    assert not outcome.dynimport_failed and not outcome.prefer_external_link
    shown = echo.getvalue()
    assert f"{tooldir}/cgo -objdir {od} -importpath example.com/cg" in shown
    assert "-dynpackage main -dynimport" in shown and "# test for internal linking errors (succeeded)" in shown
    assert f"-ffile-prefix-map={objdir}=/tmp/go-build" in shown and "-frandom-seed=" in shown

    # The rest by hand, as the engine will: compile (no -complete), pack, link with -extld.
    imports = sorted({"fmt", *implicit_imports(pkg.import_path, False)} - {"unsafe"})
    listed = subprocess.run(
        [go_exe, "list", "-export", "-deps", "-f", "{{if .Export}}packagefile {{.ImportPath}}={{.Export}}{{end}}",
         *imports, "runtime"], cwd=mod, env=env, capture_output=True, text=True, check=True).stdout
    importcfg = tmp_path / "importcfg"
    importcfg.write_text(listed)
    archive = objdir / "_pkg_.a"
    comp = subprocess.run([str(tooldir / "compile"), "-o", str(archive), "-trimpath", outcome.trimpath, "-p", "main",
                           "-lang=go1.22", "-importcfg", str(importcfg), "-pack", *outcome.go_files],
                          cwd=mod, env=env, capture_output=True, text=True)
    assert comp.returncode == 0, comp.stdout + comp.stderr
    assert pack(archive, outcome.objects, runner, mod) is None
    extld = extld_flag(cenv, uses_cxx=False)
    assert extld == "-extld=" + " ".join(cenv.cc)
    binary = tmp_path / "cg"
    linked = subprocess.run([str(tooldir / "link"), "-o", str(binary), "-importcfg", str(importcfg),
                             "-buildmode=exe", str(extld), str(archive)], cwd=mod, env=env, capture_output=True, text=True)
    assert linked.returncode == 0, linked.stdout + linked.stderr
    ours = subprocess.run([str(binary)], capture_output=True, text=True, check=True).stdout
    theirs = subprocess.run([go_exe, "run", "."], cwd=mod, env=env, capture_output=True, text=True)
    assert theirs.returncode == 0, theirs.stderr
    assert ours == theirs.stdout == "7 3 1 7 16\n"


def test_dry_run_prints_and_runs_nothing(go_exe: str, base_env: dict[str, str], tmp_path: Path) -> None:
    mod = write_tree(tmp_path / "mod", FILES)
    goenv, rules, cenv, ctx = _setup(go_exe, dict(base_env), mod)
    echo = io.StringIO()
    runner = Runner(env=dict(base_env), echo=echo, dry_run=True)
    pkg = _package(mod)
    flags = resolve_flags(pkg, {"main.go": (mod / "main.go").read_bytes()}, ctx, cenv, rules, runner)
    assert not isinstance(flags, (CgoError, Unsupported))
    objdir = tmp_path / "b001"
    objdir.mkdir()
    probes = CompilerProbes(runner, cenv, tmp_path)
    step = plan(pkg, flags, cenv, probes, objdir=objdir, tooldir=Path(goenv["GOTOOLDIR"]), seed=b"s", cwd=mod)
    outcome = execute(step, runner, rules)
    assert isinstance(outcome, CgoOutcome)
    assert list(objdir.iterdir()) == []
    shown = echo.getvalue()
    assert "|| true" in shown and "cgo -objdir" in shown and "_cgo_main.c" in shown


BAD = {
    "cflags": ("// #cgo CFLAGS: -fplugin=foo.so", {}),
    "ldflags": ("// #cgo LDFLAGS: -Wl,--foo", {}),
    "no argument": ("// #cgo CFLAGS: -D", {}),
    "disallowed": ("// #cgo CFLAGS: -DX", {"CGO_CFLAGS_DISALLOW": "-D.*"}),
    "pkg-config name": ("// #cgo pkg-config: -foo", {}),
    "pkg-config flag": ("// #cgo pkg-config: --log-file=/tmp/log zlib", {}),
    "bad line": ("// #cgo CFLAGS -DX", {}),
    "bad verb": ("// #cgo FOOFLAGS: -DX", {}),
    "malformed": ("// #cgo CFLAGS: -D'X=<'", {}),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_rejections_match_go_build(go_exe: str, base_env: dict[str, str], tmp_path: Path, case: str) -> None:
    line, extra = BAD[case]
    mod = write_tree(tmp_path / "bad", {
        "go.mod": "module example.com/bad\n\ngo 1.22\n",
        "main.go": f'package main\n\n{line}\nimport "C"\n\nfunc main() {{}}\n',
    })
    env = {**base_env, **extra}
    goenv, rules, cenv, ctx = _setup(go_exe, env, mod)
    runner = Runner(env=env)
    pkg = CgoPackage("example.com/bad", "main", mod, cgo_files=("main.go",))
    got = resolve_flags(pkg, {"main.go": (mod / "main.go").read_bytes()}, ctx, cenv, rules, runner)
    assert isinstance(got, CgoError), got
    go = subprocess.run([go_exe, "build", "-o", os.devnull, "."], cwd=mod, env=env, capture_output=True, text=True)
    assert go.returncode == 1
    assert got.render("example.com/bad") == go.stderr


def test_pkg_config(go_exe: str, base_env: dict[str, str], tmp_path: Path) -> None:
    mod, pc = pkg_config_module(tmp_path, base_env, libs="-lm")
    env = {**base_env, "PKG_CONFIG_PATH": str(pc)}
    goenv, rules, cenv, ctx = _setup(go_exe, env, mod)
    echo = io.StringIO()
    runner = Runner(env=env, echo=echo)
    pkg = CgoPackage("example.com/pc", "main", mod, cgo_files=("main.go",))
    flags = resolve_flags(pkg, {"main.go": (mod / "main.go").read_bytes()}, ctx, cenv, rules, runner)
    assert not isinstance(flags, (CgoError, Unsupported)), flags
    assert flags.cppflags[-1] == "-DPCV=5" and flags.ldflags[-1] == "-lm"
    assert f"{cenv.pkg_config} --cflags -- mylib" in echo.getvalue()
    missing = CgoPackage("example.com/pc", "main", mod, cgo_files=("main.go",))
    (mod / "main.go").write_text('package main\n\n// #cgo pkg-config: nosuchlib\nimport "C"\n\nfunc main() {}\n')
    err = resolve_flags(missing, {"main.go": (mod / "main.go").read_bytes()}, ctx, cenv, rules, Runner(env=env))
    assert isinstance(err, CgoError)
    go = subprocess.run([go_exe, "build", "-o", os.devnull, "."], cwd=mod, env=env, capture_output=True, text=True)
    assert err.render("example.com/pc") == go.stderr
