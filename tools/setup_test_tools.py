"""Installs what the editor tests drive, from the package registries: Debian's Neovim and Chromium,
the VS Code extension's npm dependencies and its .vsix, code-server (a real VS Code), and gopls from
the Go module proxy (bench/lsp_bench.py measures it beside rungo lsp).

Idempotent: what is already there is kept. Run by the README's test command before pytest.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXT = ROOT / "vscode-extension"
E2E = ROOT / "tests" / "e2e" / "vscode"


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


GOPLS = "golang.org/x/tools/gopls@v0.23.0"     # the newest gopls that Go 1.26 builds


def gopls() -> None:
    go = shutil.which("go")
    if go is None:
        print("setup: no go on PATH; not installing gopls", flush=True)
        return
    gopath = subprocess.run([go, "env", "GOPATH"], capture_output=True, text=True).stdout.strip().split(os.pathsep)[0]
    if shutil.which("gopls") or (gopath and (Path(gopath) / "bin" / "gopls").is_file()):
        return
    try:
        run([go, "install", GOPLS], env=dict(os.environ, GOTOOLCHAIN="local", GOFLAGS=""))
    except subprocess.CalledProcessError:
        print("setup: gopls did not install; the benchmark leaves its row out", flush=True)


def main() -> int:
    if shutil.which("npm") is None:
        print("setup: npm not found; the VS Code tests will fail", file=sys.stderr)
        return 1
    apt_packages()
    extension()
    code_server()
    gopls()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
