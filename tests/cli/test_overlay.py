"""-overlay on the native path: replaced, added and deleted Go files of the main module, seen by the
loader, the compiler and the rerun shortcut; anything else overlaid goes through `go build -overlay`."""

from __future__ import annotations

import json
import time
from pathlib import Path

from conftest import gorun, rungo, write_tree

MAIN = 'package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("disk", extra()) }\n\nfunc extra() string { return "-" }\n'
ALT = 'package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("overlay", added) }\n'
ADDED = 'package main\n\nvar added = "added"\n'


def _project(tmp_path: Path) -> Path:
    proj = write_tree(tmp_path / "proj", {"go.mod": "module example.com/ov\n\ngo 1.22\n", "main.go": MAIN,
                                          "gone.go": "package main\n\nfunc extra() string { return \"dup\" }\n"})
    write_tree(tmp_path / "ovl", {"alt.go": ALT, "added.go.txt": ADDED})
    return proj


def test_overlay_replaces_adds_and_deletes_natively(tmp_path: Path, base_env: dict[str, str], go_exe: str) -> None:
    proj = _project(tmp_path)
    ovl = tmp_path / "ovl"
    (proj / "o.json").write_text(json.dumps({"Replace": {
        "main.go": str(ovl / "alt.go"), "new.go": str(ovl / "added.go.txt"), "gone.go": ""}}))
    want = gorun(go_exe, ["-overlay", "o.json", "."], proj, base_env)
    got = rungo(["run", "-x", "-overlay", "o.json", "."], proj, base_env)
    assert want.returncode == 0, want.stderr
    assert got.returncode == 0, got.stderr
    assert got.stdout == want.stdout == "overlay added\n"
    assert "/compile " in got.stderr and " build -o " not in got.stderr, got.stderr   # native, not go build
    assert (proj / "main.go").read_text() == MAIN and not (proj / "new.go").exists()

    # The rerun notices an edit of a replacement file.
    time.sleep(1.1)
    (ovl / "added.go.txt").write_text('package main\n\nvar added = "edited"\n')
    again = rungo(["run", "-overlay", "o.json", "."], proj, base_env)
    assert again.stdout == "overlay edited\n", again.stderr


def test_overlay_compile_errors_and_bad_overlay_files(tmp_path: Path, base_env: dict[str, str], go_exe: str) -> None:
    proj = _project(tmp_path)
    ovl = tmp_path / "ovl"
    (proj / "bad.json").write_text(json.dumps({"Replace": {"main.go": str(ovl / "alt.go")}}))
    got = rungo(["run", "-overlay", "bad.json", "."], proj, base_env)
    assert got.returncode == 125
    assert "undefined: added" in got.stderr
    missing = rungo(["run", "-overlay", "nope.json", "."], proj, base_env)
    want = gorun(go_exe, ["-overlay", "nope.json", "."], proj, base_env)
    assert missing.returncode == 125 and missing.stderr == want.stderr
    (proj / "garbage.json").write_text("{bad")
    garbage = rungo(["run", "-overlay", "garbage.json", "."], proj, base_env)
    assert garbage.returncode == 125 and garbage.stderr.startswith("go: parsing overlay JSON: ")


def test_overlay_of_go_mod_goes_through_go_build(tmp_path: Path, base_env: dict[str, str], go_exe: str) -> None:
    proj = _project(tmp_path)
    (proj / "main.go").write_text('package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("hi") }\n')
    (proj / "gone.go").unlink()
    (tmp_path / "ovl" / "go.mod").write_text("module example.com/other\n\ngo 1.22\n")
    (proj / "o.json").write_text(json.dumps({"Replace": {"go.mod": str(tmp_path / "ovl" / "go.mod")}}))
    got = rungo(["run", "-x", "-overlay", "o.json", "."], proj, base_env)
    assert got.returncode == 0, got.stderr
    assert got.stdout == "hi\n"
    assert " build -o " in got.stderr and "-overlay" in got.stderr
