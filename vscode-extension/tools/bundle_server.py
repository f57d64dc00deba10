"""Fills bundled/libs with the language server the .vsix carries: rungo from this repository and the
pinned wheels of bundled-requirements.txt, for every CPython in PYTHON_VERSIONS on Linux x86_64.

Run by `npm run package` (`npm run bundle`). It calls pip: rungo is built from the repository
checkout (never fetched by name), its dependencies come from the package registry as wheels only
(`--only-binary=:all:`: nothing is built or executed from a source distribution). Each CPython
version gets its own tree-sitter binding, which sit side by side in one package directory
(`_binding.cpython-311-x86_64-linux-gnu.so`, `...-312-...`): Python loads the one of its version.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

EXT = Path(__file__).resolve().parent.parent
REPO = EXT.parent
LIBS = EXT / "bundled" / "libs"
REQUIREMENTS = EXT / "bundled-requirements.txt"
PYTHON_VERSIONS = ("3.11", "3.12", "3.13", "3.14")
PLATFORMS = ("manylinux2014_x86_64", "manylinux_2_17_x86_64", "manylinux_2_28_x86_64", "manylinux1_x86_64")


def pip(*args: str) -> None:
    cmd = [sys.executable, "-m", "pip", "--disable-pip-version-check", "install", "--quiet", "--no-deps",
           "--no-compile", "--root-user-action=ignore", *args]
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True)


def merge(src: Path, dst: Path) -> None:
    """Copies the files of src into dst that dst does not have yet (the other versions' bindings)."""
    for f in src.rglob("*"):
        target = dst / f.relative_to(src)
        if f.is_dir():
            target.mkdir(parents=True, exist_ok=True)
        elif not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(f, target)


def main() -> int:
    if sys.version_info < (3, 11):
        sys.exit(f"bundle_server: run with Python 3.11 or newer (this is {sys.version.split()[0]})")
    shutil.rmtree(LIBS.parent, ignore_errors=True)
    LIBS.mkdir(parents=True)
    pip("--target", str(LIBS), str(REPO))
    platforms = [a for p in PLATFORMS for a in ("--platform", p)]
    with tempfile.TemporaryDirectory(prefix="rungo-bundle-") as tmp:
        for version in PYTHON_VERSIONS:
            into = Path(tmp) / version
            pip("--target", str(into), "--only-binary=:all:", "--implementation", "cp", "--python-version", version,
                *platforms, "-r", str(REQUIREMENTS))
            merge(into, LIBS)
    for junk in [*LIBS.rglob("__pycache__"), *LIBS.glob("bin")]:
        shutil.rmtree(junk, ignore_errors=True)
    bindings = sorted(p.name for p in (LIBS / "tree_sitter").glob("_binding*.so"))
    print(f"bundle_server: {LIBS.relative_to(EXT)} ready; tree-sitter bindings: {', '.join(bindings)}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
