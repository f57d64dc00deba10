"""What the go command builds keeps the rerun shortcut: an unchanged rerun execs the cached binary
without calling go; any change to an input the build read makes the next run build again; `-v`
names the reason the go command builds it."""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from conftest import rungo, write_tree

# A cgo module (rungo builds cgo natively) built with a flag only the go command implements.
GO_COMMAND_FLAGS = ["-buildmode=pie"]

CGO_MODULE = {
    "go.mod": "module example.com/cgomod\n\ngo 1.22\n",
    "internal/sq/sq.go": 'package sq\n\n// #include "sq.h"\nimport "C"\n\n'
                         "func Square(x int) int { return int(C.square(C.int(x))) }\n",
    "internal/sq/sq.h": "int square(int x);\n",
    "internal/sq/sq.c": '#include "sq.h"\nint square(int x) { return x * x; }\n',
    "main.go": 'package main\n\nimport (\n\t"fmt"\n\t"os"\n\n\t"example.com/cgomod/internal/sq"\n)\n\n'
               'func main() {\n\tfmt.Println("square:", sq.Square(7), os.Args[1:])\n}\n',
}


def age(_path: Path) -> None:
    """Waits until what was just written is older than the rerun shortcut's one-second window
    (mtime and ctime: a file's times cannot be moved into the past without changing its ctime)."""
    time.sleep(1.1)


@pytest.fixture
def no_go_cache(base_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """`.env` is the tests' environment with GOCACHE a link to the shared cache; while active, that
    GOCACHE is a plain file instead: any go build fails, while the environment is unchanged (and
    other test runs sharing the cache are not disturbed)."""
    cache = tmp_path_factory.mktemp("gocache-link") / "gocache"
    cache.symlink_to(base_env["GOCACHE"])

    class Toggle:
        env = dict(base_env, GOCACHE=str(cache))

        def __enter__(self) -> None:
            cache.unlink()
            cache.write_text("not a directory\n")

        def __exit__(self, *exc: object) -> None:
            cache.unlink()
            cache.symlink_to(base_env["GOCACHE"])

    yield Toggle()


def test_cgo_module_rerun_skips_the_go_command(tmp_path: Path, no_go_cache: Any) -> None:
    if not shutil.which("gcc"):
        pytest.skip("needs a C compiler")
    env = dict(no_go_cache.env, CGO_ENABLED="1")
    write_tree(tmp_path, CGO_MODULE)
    age(tmp_path)
    first = rungo(["run", "-v", *GO_COMMAND_FLAGS, ".", "a"], tmp_path, env)
    assert first.returncode == 0, first.stderr
    assert first.stdout == "square: 49 [a]\n"
    assert first.stderr.startswith(
        "rungo: building with the go command: the flag -buildmode\n"), first.stderr

    remembered = rungo(["run", *GO_COMMAND_FLAGS, ".", "a"], tmp_path, env)
    assert (remembered.returncode, remembered.stdout) == (0, "square: 49 [a]\n"), remembered.stderr

    with no_go_cache:
        rerun = rungo(["run", *GO_COMMAND_FLAGS, ".", "b", "c"], tmp_path, env)
        assert (rerun.returncode, rerun.stdout, rerun.stderr) == (0, "square: 49 [b c]\n", "")

        # A change to a C file is a change: the next run builds (and here, with no GOCACHE, fails).
        (tmp_path / "internal/sq/sq.c").write_text('#include "sq.h"\nint square(int x) { return x * x + 1; }\n')
        age(tmp_path / "internal/sq/sq.c")
        broken = rungo(["run", *GO_COMMAND_FLAGS, ".", "b"], tmp_path, env)
        assert broken.returncode == 125 and "build cache" in broken.stderr, broken.stderr

    edited = rungo(["run", *GO_COMMAND_FLAGS, ".", "b"], tmp_path, env)
    assert (edited.returncode, edited.stdout) == (0, "square: 50 [b]\n"), edited.stderr

    # A new file in a package directory is a change too.
    (tmp_path / "extra.go").write_text('package main\n\nimport "fmt"\n\nfunc init() { fmt.Println("extra") }\n')
    age(tmp_path)
    added = rungo(["run", *GO_COMMAND_FLAGS, ".", "b"], tmp_path, env)
    assert (added.returncode, added.stdout) == (0, "extra\nsquare: 50 [b]\n"), added.stderr
    again = rungo(["run", *GO_COMMAND_FLAGS, ".", "b"], tmp_path, env)
    assert (again.returncode, again.stdout) == (0, "extra\nsquare: 50 [b]\n"), again.stderr


def test_go_work_above_the_module_is_seen(tmp_path: Path, base_env: dict[str, str]) -> None:
    """A go.work created above a module the go command builds changes the build: no stale rerun."""
    env = dict(base_env, CGO_ENABLED="1")
    mod = tmp_path / "mod"
    write_tree(mod, CGO_MODULE)
    age(tmp_path)
    for _ in range(2):
        ok = rungo(["run", *GO_COMMAND_FLAGS, "."], mod, env)
        assert (ok.returncode, ok.stdout) == (0, "square: 49 []\n"), ok.stderr
    (tmp_path / "go.work").write_text("go 1.22\n")
    age(tmp_path / "go.work")
    refused = rungo(["run", *GO_COMMAND_FLAGS, "."], mod, env)
    assert refused.returncode == 125
    assert "workspace" in refused.stderr, refused.stderr


def test_overlay_replacement_is_watched(tmp_path: Path, base_env: dict[str, str]) -> None:
    """-buildmode=pie goes through the go command; an -overlay file and its replacements are inputs too."""
    write_tree(tmp_path, {
        "go.mod": "module example.com/ov\n\ngo 1.22\n",
        "main.go": 'package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("disk") }\n',
        "alt/main.go": 'package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("overlay 1") }\n',
        "overlay.json": '{"Replace": {"main.go": "alt/main.go"}}\n',
    })
    age(tmp_path)
    for _ in range(2):
        got = rungo(["run", "-buildmode=pie", "-overlay", "overlay.json", "."], tmp_path, base_env)
        assert (got.returncode, got.stdout) == (0, "overlay 1\n"), got.stderr
    (tmp_path / "alt/main.go").write_text('package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("overlay 2") }\n')
    age(tmp_path / "alt/main.go")
    got = rungo(["run", "-buildmode=pie", "-overlay", "overlay.json", "."], tmp_path, base_env)
    assert (got.returncode, got.stdout) == (0, "overlay 2\n"), got.stderr
    (tmp_path / "overlay.json").write_text('{"Replace": {}}\n')
    age(tmp_path / "overlay.json")
    got = rungo(["run", "-buildmode=pie", "-overlay", "overlay.json", "."], tmp_path, base_env)
    assert (got.returncode, got.stdout) == (0, "disk\n"), got.stderr


def test_a_file_the_program_writes_beside_its_sources_keeps_the_shortcut(
        tmp_path: Path, no_go_cache: Any) -> None:
    """A program that writes a database or a log into its own package directory (the directory's
    stat changes on every run) is still not rebuilt; a new source file there still is."""
    if not shutil.which("gcc"):
        pytest.skip("needs a C compiler")
    env = dict(no_go_cache.env, CGO_ENABLED="1")
    files = dict(CGO_MODULE)
    files["main.go"] = ('package main\n\nimport (\n\t"fmt"\n\t"os"\n\n\t"example.com/cgomod/internal/sq"\n)\n\n'
                        'func main() {\n\tos.WriteFile("run.log", []byte("ran\\n"), 0o644)\n'
                        '\tfmt.Println("square:", sq.Square(7))\n}\n')
    write_tree(tmp_path, files)
    age(tmp_path)
    first = rungo(["run", *GO_COMMAND_FLAGS, "."], tmp_path, env)
    assert (first.returncode, first.stdout) == (0, "square: 49\n"), first.stderr
    with no_go_cache:
        for _ in range(2):
            (tmp_path / "run.log").unlink()
            again = rungo(["run", *GO_COMMAND_FLAGS, "."], tmp_path, env)
            assert (again.returncode, again.stdout, again.stderr) == (0, "square: 49\n", "")
        (tmp_path / "extra.go").write_text('package main\n\nimport "fmt"\n\nfunc init() { fmt.Println("extra") }\n')
        rebuilt = rungo(["run", *GO_COMMAND_FLAGS, "."], tmp_path, env)
        assert rebuilt.returncode == 125 and "build cache" in rebuilt.stderr, rebuilt.stderr


def test_main_modules_go_mod_is_watched_for_a_package_of_another_module(tmp_path: Path, base_env: dict[str, str]) -> None:
    """`rungo run other.module/pkg` is built by the go command; the main module's go.mod still sets its
    GODEBUG defaults, so a change to it (same size, same second) must rebuild."""
    lib = tmp_path / "lib"
    app = tmp_path / "app"
    write_tree(lib, {"go.mod": "module example.com/panicnil\n\ngo 1.20\n",
                     "main.go": 'package main\n\nfunc main() { panic(nil) }\n'})
    write_tree(app, {"go.mod": "module example.com/app\n\ngo 1.21\n\nrequire example.com/panicnil v0.0.0 // indirect\n\n"
                               "replace example.com/panicnil => ../lib\n",
                     "app.go": "package app\n"})
    age(tmp_path)
    for _ in range(2):
        got = rungo(["run", "example.com/panicnil"], app, base_env)
        assert got.returncode == 2 and "panic called with nil argument" in got.stderr, got.stderr
    gomod = (app / "go.mod").read_text()
    (app / "go.mod").write_text(gomod.replace("go 1.21", "go 1.20"))
    got = rungo(["run", "example.com/panicnil"], app, base_env)
    assert got.returncode == 2 and "panic: nil" in got.stderr, got.stderr
