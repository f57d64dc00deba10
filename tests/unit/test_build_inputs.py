"""Which files a go-command build must be watched for: the pure reading of `go list -deps -json`."""

from __future__ import annotations

import json
from pathlib import Path

from rungo.load.inputs import inputs_from_list


def listing(*pkgs: dict[str, object]) -> str:
    return "\n".join(json.dumps(p) for p in pkgs)


def test_main_module_files_dirs_and_module_files(tmp_path: Path) -> None:
    mod = tmp_path / "m"
    (mod / "static" / "sub").mkdir(parents=True)
    text = listing(
        {"ImportPath": "fmt", "Dir": "/goroot/src/fmt", "Standard": True, "GoFiles": ["print.go"]},
        {"ImportPath": "example.com/dep", "Dir": "/modcache/example.com/dep@v1.0.0", "GoFiles": ["d.go"],
         "Module": {"Path": "example.com/dep", "Dir": "/modcache/example.com/dep@v1.0.0",
                    "GoMod": "/modcache/cache/download/example.com/dep/@v/v1.0.0.mod"}},
        {"ImportPath": "example.com/m", "Dir": str(mod), "GoFiles": ["main.go"], "CgoFiles": ["c.go"],
         "CFiles": ["x.c"], "HFiles": ["x.h"], "EmbedFiles": ["static/sub/a.txt"],
         "IgnoredGoFiles": ["gen.go"],
         "Module": {"Path": "example.com/m", "Dir": str(mod), "GoMod": str(mod / "go.mod")}},
    )
    got = set(inputs_from_list(text, goroot="/goroot", gomodcache="/modcache", modcache_writable=False,
                               cwd=mod).paths)
    for name in ("main.go", "c.go", "x.c", "x.h", "gen.go", "static/sub/a.txt", "go.mod", "go.sum",
                 "vendor/modules.txt"):
        assert str(mod / name) in got, name
    for d in (mod, mod / "static", mod / "static" / "sub"):
        assert str(d) in got
    assert str(mod / "go.work") in got and str(tmp_path / "go.work") in got and "/go.work" in got
    assert not any(p.startswith(("/goroot", "/modcache")) for p in got)


def test_module_cache_is_watched_when_writable(tmp_path: Path) -> None:
    text = listing({"ImportPath": "example.com/dep", "Dir": "/modcache/dep@v1", "GoFiles": ["d.go"],
                    "Module": {"Path": "example.com/dep", "Dir": "/modcache/dep@v1"}})
    got = inputs_from_list(text, goroot="/goroot", gomodcache="/modcache", modcache_writable=True, cwd=tmp_path)
    assert "/modcache/dep@v1/d.go" in got.paths and not got.unsure


def test_errors_and_pkg_config_make_the_list_unsure(tmp_path: Path) -> None:
    broken = listing({"ImportPath": "x", "Dir": str(tmp_path), "Error": {"Err": "bad"}})
    assert inputs_from_list(broken, goroot="", gomodcache="", modcache_writable=False, cwd=tmp_path).unsure
    pc = listing({"ImportPath": "x", "Dir": str(tmp_path), "CgoPkgConfig": ["sqlite3"]})
    assert "pkg-config" in inputs_from_list(pc, goroot="", gomodcache="", modcache_writable=False,
                                            cwd=tmp_path).unsure
    garbage = inputs_from_list("{not json", goroot="", gomodcache="", modcache_writable=False, cwd=tmp_path)
    assert garbage.unsure and not garbage.paths


def test_package_dirs_are_loose_unless_they_embed(tmp_path: Path) -> None:
    plain, embeds = tmp_path / "plain", tmp_path / "embeds"
    (embeds / "static").mkdir(parents=True)
    plain.mkdir()
    text = listing({"ImportPath": "a", "Dir": str(plain), "GoFiles": ["a.go"]},
                   {"ImportPath": "b", "Dir": str(embeds), "GoFiles": ["b.go"], "EmbedFiles": ["static/x.txt"]})
    got = inputs_from_list(text, goroot="", gomodcache="", modcache_writable=False, cwd=tmp_path)
    assert got.package_dirs == (str(plain),)


def test_a_file_the_program_writes_beside_its_sources_is_no_change(tmp_path: Path) -> None:
    from rungo.load.stamps import holds, package_dir_stamp

    (tmp_path / "main.go").write_text("package main\n")
    recorded = package_dir_stamp(tmp_path)
    (tmp_path / "foo.db").write_text("data")
    assert holds(str(tmp_path), recorded)
    (tmp_path / "extra.go").write_text("package main\n")
    assert not holds(str(tmp_path), recorded)
    (tmp_path / "extra.go").unlink()
    assert holds(str(tmp_path), recorded)
    (tmp_path / "sq.c").write_text("int x;\n")
    assert not holds(str(tmp_path), recorded)


def test_a_package_dir_written_just_now_is_remembered_by_its_names(tmp_path: Path) -> None:
    import time

    from rungo import fastpath
    from rungo.load.stamps import package_dir_stamp

    src = tmp_path / "src"
    src.mkdir()
    (src / "main.go").write_text("package main\n")
    cache = tmp_path / "cache"
    now = time.time_ns()
    # The directory changed this instant (the program wrote run.log): the run is still remembered.
    (src / "run.log").write_text("x")
    assert fastpath.write_record(str(cache), ["."], str(src), {}, ["/bin/true"], "",
                                 [(str(src), package_dir_stamp(src))], now)
    assert fastpath.lookup(["."], str(src), {}, str(cache)) is not None
    (src / "run.log").write_text("y")
    assert fastpath.lookup(["."], str(src), {}, str(cache)) is not None
    (src / "new.go").write_text("package main\n")
    assert fastpath.lookup(["."], str(src), {}, str(cache)) is None
    # A plain file that changed this instant is still refused.
    assert not fastpath.write_record(str(cache), ["x"], str(src), {}, ["/bin/true"], "",
                                     [(str(src / "main.go"), fastpath.stamp(str(src / "main.go")))], now)


def _digest(p: Path) -> str:
    import hashlib

    return hashlib.sha256(p.read_bytes()).hexdigest()


def test_an_edit_undone_finds_the_build_of_that_content(tmp_path: Path) -> None:
    import time

    from rungo import fastpath

    src = tmp_path / "src"
    src.mkdir()
    main = src / "main.go"
    cache = tmp_path / "cache"
    exes = []
    for n, text in enumerate(("package main // a\n", "package main // b\n")):
        main.write_text(text)
        exe = tmp_path / f"exe{n}"
        exe.write_text("")
        exes.append(str(exe))
        # Written this instant: the stamp cannot be trusted, the content can.
        assert fastpath.write_record(str(cache), ["."], str(src), {}, [str(exe)], "",
                                     [(str(main), fastpath.stamp(str(main)), _digest(main))], time.time_ns())
        got = fastpath.lookup(["."], str(src), {}, str(cache))
        assert got is not None and got[0] == [str(exe)]
    main.write_text("package main // c\n")
    assert fastpath.lookup(["."], str(src), {}, str(cache)) is None
    main.write_text("package main // a\n")            # undone: the first build again
    got = fastpath.lookup(["."], str(src), {}, str(cache))
    assert got is not None and got[0] == [exes[0]]
    main.write_text("package main // b\n")
    got = fastpath.lookup(["."], str(src), {}, str(cache))
    assert got is not None and got[0] == [exes[1]]


def test_content_never_stands_in_for_an_input_without_a_digest(tmp_path: Path) -> None:
    import time

    from rungo import fastpath

    src = tmp_path / "src"
    src.mkdir()
    main, mod = src / "main.go", src / "go.mod"
    main.write_text("package main\n")
    mod.write_text("module m\n")
    cache = tmp_path / "cache"
    old = time.time_ns() + 5_000_000_000       # as if read five seconds from now: the stamps count
    assert fastpath.write_record(str(cache), ["."], str(src), {}, ["/bin/true"], "",
                                 [(str(main), fastpath.stamp(str(main)), _digest(main)),
                                  (str(mod), fastpath.stamp(str(mod)))], old)
    assert fastpath.lookup(["."], str(src), {}, str(cache)) is not None
    mod.write_text("module m\n")                # the same bytes, but go.mod was recorded by its stamp only
    assert fastpath.lookup(["."], str(src), {}, str(cache)) is None
    # A stamp written within a second of the read, with no digest to fall back on, is refused.
    assert not fastpath.write_record(str(cache), ["y"], str(src), {}, ["/bin/true"], "",
                                     [(str(mod), fastpath.stamp(str(mod)))], time.time_ns())


def test_two_contents_one_program(tmp_path: Path) -> None:
    """An edit the linker drops (a new unused function) links the same program from other content:
    each content finds it, although storing it again moved its stamp."""
    import time

    from rungo import fastpath

    src = tmp_path / "src"
    src.mkdir()
    main = src / "main.go"
    cache = tmp_path / "cache"
    exe = tmp_path / "exe"
    for text in ("package main // a\n", "package main // b\n"):
        main.write_text(text)
        exe.write_text("the same program")          # stored again: a new stamp, the same size
        assert fastpath.write_record(str(cache), ["."], str(src), {}, [str(exe)], "",
                                     [(str(main), fastpath.stamp(str(main)), _digest(main)),
                                      (str(exe), fastpath.stamp(str(exe)))], time.time_ns(),
                                     frozenset((str(exe),)))
    for text in ("package main // a\n", "package main // b\n", "package main // a\n"):
        main.write_text(text)
        got = fastpath.lookup(["."], str(src), {}, str(cache))
        assert got is not None and got[0] == [str(exe)], text
    exe.write_text("truncated")
    assert fastpath.lookup(["."], str(src), {}, str(cache)) is None
