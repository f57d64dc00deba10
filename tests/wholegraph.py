"""The whole graph's oracle: the program `rungo run` builds with RUNGO_GRAPH=native equals the one
`go run` builds, byte for byte, once the build IDs (the Go one and the GNU note derived from it)
are blanked out. Each tool's binary is caught with `-exec`: both run `xprog binary`, and xprog
copies the binary."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Mapping

from conftest import RUNGO

COPY = "#!/bin/sh\ncp \"$1\" \"$CAUGHT\"\n"


def blank_build_ids(binary: Path, go: str) -> bytes:
    """The program's bytes with its Go build ID and its GNU build-id note zeroed."""
    data = bytearray(binary.read_bytes())
    ids = [subprocess.run([go, "tool", "buildid", str(binary)], capture_output=True, text=True,
                          check=True).stdout.strip().encode()]
    notes = subprocess.run(["readelf", "-n", str(binary)], capture_output=True, text=True, check=True).stdout
    ids += [bytes.fromhex(line.split(":", 1)[1].strip()) for line in notes.splitlines() if "Build ID:" in line]
    for needle in ids:
        assert needle
        i = data.find(needle)
        while i >= 0:
            data[i:i + len(needle)] = bytes(len(needle))
            i = data.find(needle, i + 1)
    return bytes(data)


def caught(cmd: list[str], cwd: Path, env: Mapping[str, str], out: Path) -> subprocess.CompletedProcess[str]:
    """Runs `cmd run -exec copier <args>`: the binary the tool built lands in `out`."""
    res = subprocess.run(cmd, cwd=cwd, env={**env, "CAUGHT": str(out)}, capture_output=True, text=True,
                         timeout=1200)
    assert res.returncode == 0 and out.is_file(), res.stdout + res.stderr
    return res


def same_program(go: str, module: Path, env: Mapping[str, str], flags: list[str], tmp: Path,
                 target: str = ".", *, dry: bool = True) -> str:
    """Builds `target` with go run and with rungo run (the whole graph native) and asserts the two
    programs are the same bytes; returns what `rungo run -n -a` prints for the same build (every
    command of it, as if nothing were cached)."""
    copier = tmp / "copy.sh"
    copier.write_text(COPY)
    copier.chmod(0o755)
    go_bin, rungo_bin = tmp / "go.bin", tmp / "rungo.bin"
    native = {**env, "RUNGO_GRAPH": "native", "RUNGO_ENGINE": "off"}
    caught([go, "run", *flags, "-exec", str(copier), target], module, env, go_bin)
    caught([*RUNGO, "run", *flags, "-exec", str(copier), target], module, native, rungo_bin)
    assert blank_build_ids(go_bin, go) == blank_build_ids(rungo_bin, go), \
        f"rungo's program differs from go run's ({' '.join(flags)})"
    if not dry:
        return ""
    shown = subprocess.run([*RUNGO, "run", "-n", "-a", *flags, target], cwd=module, env=native,
                           capture_output=True, text=True, timeout=600)
    assert shown.returncode == 0, shown.stderr
    return shown.stderr


def compiled_natively(commands: str, path: str) -> bool:
    """Whether the commands (of -n or -x) hold rungo's own compile of package `path`."""
    return any("/compile " in line and f" -p {path} " in line for line in commands.splitlines())
