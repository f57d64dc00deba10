"""Finding 1: no stale binary. Whatever makes `go run` rebuild makes rungo rebuild, even when a run is
remembered (the rerun shortcut) and the `go list` answer is cached."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import gorun, rungo, write_tree
from hardkit import remembered_run, same_stat_edit, write_proxy

MAIN = """
    package main

    import "fmt"

    func main() { fmt.Println("aaa") }
    """


@pytest.fixture
def env(base_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    return base_env | {"RUNGO_CACHE": str(tmp_path / "rungo-cache")}


def test_in_place_edit_that_keeps_size_and_mtime(module: Path, env: dict[str, str], go_exe: str) -> None:
    write_tree(module, {"go.mod": "module example.com/stale\n\ngo 1.22\n", "main.go": MAIN})
    assert remembered_run(["run", "."], module, env).stdout == "aaa\n"
    main = module / "main.go"
    same_stat_edit(main, main.read_text().replace("aaa", "bbb"))
    want = gorun(go_exe, ["."], module, env)
    assert want.stdout == "bbb\n"
    got = rungo(["run", "."], module, env)
    assert (got.returncode, got.stdout) == (0, want.stdout), got.stderr


EMBED_MAIN = """
    package main

    import (
    	"embed"
    	"fmt"
    	"io/fs"
    )

    //go:embed static
    var files embed.FS

    func main() {
    	fs.WalkDir(files, ".", func(p string, d fs.DirEntry, err error) error {
    		if !d.IsDir() {
    			fmt.Println(p)
    		}
    		return nil
    	})
    }
    """


@pytest.mark.parametrize("before,added", [
    ({"static/sub/a.txt": "a\n"}, "static/new.txt"),                       # the pattern's own directory
    ({"static/a.txt": "a\n", "static/sub/.keep": ""}, "static/sub/b.txt"),  # a subdirectory with only a dot-file
    ({"static/a.txt": "a\n", "static/sub/deeper/.keep": ""}, "static/sub/deeper/c.txt"),
])
def test_file_added_where_an_embed_pattern_walks(module: Path, env: dict[str, str], go_exe: str,
                                                  before: dict[str, str], added: str) -> None:
    write_tree(module, {"go.mod": "module example.com/emb\n\ngo 1.22\n", "main.go": EMBED_MAIN, **before})
    first = remembered_run(["run", "."], module, env)
    assert first.stdout == gorun(go_exe, ["."], module, env).stdout
    (module / added).write_text("new\n")
    want = gorun(go_exe, ["."], module, env)
    assert added in want.stdout
    got = rungo(["run", "."], module, env)
    assert (got.returncode, got.stdout) == (0, want.stdout), got.stderr


def test_go_work_created_above_the_module_root(tmp_path: Path, env: dict[str, str], go_exe: str) -> None:
    outer = tmp_path / "outer"
    mod = outer / "inner" / "mod"
    write_tree(mod, {"go.mod": "module example.com/inner\n\ngo 1.22\n", "main.go": MAIN})
    assert remembered_run(["run", "."], mod, env).stdout == "aaa\n"
    (outer / "go.work").write_text("go 1.22\n")  # a workspace that does not list this module
    want = gorun(go_exe, ["."], mod, env)
    assert want.returncode != 0, want
    got = rungo(["run", "."], mod, env)
    assert got.returncode == 125, got
    assert got.stdout == ""
    assert got.stderr.strip().splitlines()[0] == want.stderr.strip().splitlines()[0]


@pytest.mark.parametrize("how", ["-modcacherw", "chmod"])
def test_module_cache_edit(tmp_path: Path, env: dict[str, str], go_exe: str, how: str) -> None:
    proxy = write_proxy(tmp_path / "proxy", "example.com/dep", "v1.0.0", {
        "go.mod": "module example.com/dep\n\ngo 1.22\n",
        "dep.go": 'package dep\n\nfunc Msg() string { return "one" }\n',
    })
    menv = env | {"GOPROXY": proxy, "GOSUMDB": "off", "GOMODCACHE": str(tmp_path / "modcache"),
                  "GOFLAGS": "-modcacherw" if how == "-modcacherw" else ""}
    mod = tmp_path / "mod"
    write_tree(mod, {
        "go.mod": "module example.com/user\n\ngo 1.22\n\nrequire example.com/dep v1.0.0\n",
        "main.go": 'package main\n\nimport (\n\t"fmt"\n\n\t"example.com/dep"\n)\n\nfunc main() { fmt.Println(dep.Msg()) }\n',
    })
    from conftest import run

    tidy = run([go_exe, "mod", "download", "example.com/dep"], mod, menv)
    assert tidy.returncode == 0, tidy.stderr
    tidy = run([go_exe, "mod", "tidy"], mod, menv)
    assert tidy.returncode == 0, tidy.stderr
    assert remembered_run(["run", "."], mod, menv).stdout == "one\n"
    src = tmp_path / "modcache" / "example.com" / "dep@v1.0.0" / "dep.go"
    if how == "-modcacherw":
        assert src.parent.stat().st_mode & 0o200  # the module's directory stays writable
    else:
        assert not src.parent.stat().st_mode & 0o222
        src.parent.chmod(0o755)  # made writable by hand
    src.unlink()
    src.write_text('package dep\n\nfunc Msg() string { return "two" }\n')
    want = gorun(go_exe, ["."], mod, menv)
    assert want.stdout == "two\n", want
    got = rungo(["run", "."], mod, menv)
    assert (got.returncode, got.stdout) == (0, "two\n"), got
    # A forced rebuild and then a plain run agree with the module cache too.
    assert rungo(["run", "-a", "."], mod, menv).stdout == "two\n"
    assert rungo(["run", "."], mod, menv).stdout == "two\n"


def test_what_the_go_list_snapshot_watches(tmp_path: Path) -> None:
    """Every package: its directory. Its files too, unless it is a standard package or a module-cache
    package whose directory is read-only (made writable, the directory's ctime changes)."""
    from rungo.load.external import _pkg_from_json

    goroot, modcache = tmp_path / "goroot", tmp_path / "modcache"
    ro, rw, other = modcache / "ro@v1.0.0", modcache / "rw@v1.0.0", tmp_path / "replaced"
    for d in (goroot / "src" / "fmt", ro, rw, other):
        d.mkdir(parents=True)
    ro.chmod(0o555)
    roots = [str(goroot), str(modcache)]

    def watched(dir_: Path, standard: bool = False) -> tuple[str, ...]:
        return _pkg_from_json({"ImportPath": "p", "Standard": standard, "Dir": str(dir_), "GoFiles": ["a.go"]},
                              roots).watched

    try:
        assert watched(goroot / "src" / "fmt", standard=True) == (str(goroot / "src" / "fmt"),)
        assert watched(ro) == (str(ro),)
        assert watched(rw) == (str(rw), str(rw / "a.go"))
        assert watched(other) == (str(other), str(other / "a.go"))
    finally:
        ro.chmod(0o755)
