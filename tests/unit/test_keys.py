"""Every key in rungo.keys: changing any one of its inputs changes it, and nothing else does
(not the order of a mapping, not an environment variable the key does not list, not the call)."""

from __future__ import annotations

from typing import Any, Callable

import pytest

from rungo import keys

TARGET = {"GOOS": "linux", "GOARCH": "amd64", "GOAMD64": "v1", "CGO_ENABLED": "1"}


def _reordered(m: dict[str, Any]) -> dict[str, Any]:
    return dict(reversed(list(m.items())))


# (key function, base inputs, {input: [other values]}, [inputs that must not change the key])
CASES: dict[str, tuple[Callable[..., bytes], dict[str, Any], dict[str, list[Any]], list[dict[str, Any]]]] = {
    "compile": (
        keys.compile_key,
        dict(compile_tool="go1.26:compile:1", target_env=TARGET, args=("-p", "main", "-complete"),
             import_path="example.com/m", directory="/m", files=[("/m/a.go", b"1" * 32), ("/m/b.go", b"2" * 32)],
             imports={"fmt": "content:aa", "os": "content:bb"}, embeds=[("x.txt", b"3" * 32)],
             embed_patterns=[("x.txt", ("x.txt",))], asm_tool="go1.26:asm:1", asm_args=("-D", "X"),
             native_files=[("/m/a.s", b"4" * 32)]),
        {
            "compile_tool": ["go1.26:compile:2"],
            "target_env": [{**TARGET, "GOAMD64": "v3"}, {**TARGET, "CGO_ENABLED": "0"}, {**TARGET, "GOEXPERIMENT": "x"}],
            "args": [("-p", "main"), ("-p", "main", "-complete", "-race")],
            "import_path": ["example.com/n"],
            "directory": ["/n"],
            "files": [[("/m/a.go", b"1" * 32)], [("/m/a.go", b"1" * 32), ("/m/b.go", b"5" * 32)],
                      [("/m/b.go", b"2" * 32), ("/m/a.go", b"1" * 32)]],
            "imports": [{"fmt": "content:aa"}, {"fmt": "content:aa", "os": "content:cc"}],
            "embeds": [[], [("x.txt", b"6" * 32)]],
            "embed_patterns": [[], [("*.txt", ("x.txt",))]],
            "asm_tool": ["go1.26:asm:2"],
            "asm_args": [("-D", "Y")],
            "native_files": [[("/m/a.s", b"7" * 32)], [("/m/a.s", b"4" * 32), ("/m/x.syso", b"8" * 32)]],
        },
        [{"imports": {"os": "content:bb", "fmt": "content:aa"}}, {"target_env": {**TARGET, "HOME": "/x", "PATH": "/y"}}],
    ),
    "link": (
        keys.link_key,
        dict(link_tool="go1.26:link:1", target_env=TARGET, args=("-s", "-w"), packages={"main": "c:1", "fmt": "c:2"},
             modinfo="modinfo x", main_package="example.com/m", name="m", goroot_env="/goroot"),
        {
            "link_tool": ["go1.26:link:2"],
            "target_env": [{**TARGET, "GOOS": "darwin"}],
            "args": [("-s",), ("-s", "-w", "-race")],
            "packages": [{"main": "c:1"}, {"main": "c:1", "fmt": "c:3"}],
            "modinfo": ["modinfo y", ""],
            "main_package": ["example.com/n"],
            "name": ["n"],
            "goroot_env": [""],
        },
        [{"packages": {"fmt": "c:2", "main": "c:1"}}, {"target_env": {**TARGET, "TERM": "xterm"}}],
    ),
    "versioned program": (
        keys.versioned_program_key,
        dict(go_tool="go1.26:go:1", target_env=TARGET, package_at_version="x.org/t@v1.0.0", build_args=("-trimpath",),
             env={"GOFLAGS": "", "CC": "gcc"}),
        {
            "go_tool": ["go1.26:go:2"],
            "target_env": [{**TARGET, "GOARCH": "arm64"}],
            "package_at_version": ["x.org/t@v1.0.1"],
            "build_args": [(), ("-trimpath", "-race")],
            "env": [{"GOFLAGS": "-mod=mod", "CC": "gcc"}, {"GOFLAGS": "", "CC": "clang"},
                    {"GOFLAGS": "", "CC": "gcc", "CGO_CFLAGS": "-O0"}, {"GOFLAGS": "", "CC": "gcc", "GOAMD64": "v3"}],
        },
        [{"env": {"CC": "gcc", "GOFLAGS": ""}}, {"env": {"GOFLAGS": "", "CC": "gcc", "GOPROXY": "off"}},
         {"env": {"GOFLAGS": "", "CC": "gcc", "GOMODCACHE": "/elsewhere", "GOCACHE": "/x"}},
         {"env": {"GOFLAGS": "", "CC": "gcc", "GOGCCFLAGS": "-ffile-prefix-map=/tmp/go-build123=/tmp/go-build"}}],
    ),
    "go-built program": (
        keys.go_built_program_key,
        dict(go_tool="go1.26:go:1", target_env=TARGET, build_args=("-tags=x",), targets=(".",), cwd="/m",
             env={"GOFLAGS": "", "PATH": "/bin"}, inputs=[("/m/a.go", "1:2:3:4"), ("/m", "dir:5")]),
        {
            "go_tool": ["go1.26:go:2"],
            "target_env": [{**TARGET, "CGO_ENABLED": "0"}],
            "build_args": [(), ("-tags=y",)],
            "targets": [("./cmd/x",)],
            "cwd": ["/n"],
            "env": [{"GOFLAGS": "", "PATH": "/usr/bin"}, {"GOFLAGS": "", "PATH": "/bin", "CC": "clang"}],
            "inputs": [[("/m/a.go", "1:2:3:5"), ("/m", "dir:5")], [("/m/a.go", "1:2:3:4")],
                       [("/m/b.go", "1:2:3:4"), ("/m", "dir:5")]],
        },
        [{"env": {"PATH": "/bin", "GOFLAGS": ""}}],
    ),
    "go list snapshot": (
        keys.golist_snapshot_key,
        dict(format="v3", go="/usr/bin/go", goenv={"GOOS": "linux", "GOFLAGS": ""}, list_flags=("-race",),
             module_dir="/m", inputs={"go.mod": b"module m", "go.sum": b""}, imports=["fmt", "os"]),
        {
            "format": ["v4"],
            "go": ["/usr/local/go/bin/go"],
            "goenv": [{"GOOS": "darwin", "GOFLAGS": ""}, {"GOOS": "linux", "GOFLAGS": "", "GOPROXY": "off"}],
            "list_flags": [(), ("-race", "-trimpath")],
            "module_dir": ["/n", None],
            "inputs": [{"go.mod": b"module n", "go.sum": b""}, {"go.mod": b"module m", "go.sum": b"x"},
                       {"go.mod": b"module m", "go.sum": b"", "vendor/modules.txt": b""}],
            "imports": [["fmt"], ["fmt", "os", "net"]],
        },
        [{"imports": ["os", "fmt", "fmt"]}, {"goenv": {"GOFLAGS": "", "GOOS": "linux"}},
         {"inputs": {"go.sum": b"", "go.mod": b"module m"}}],
    ),
    "go env": (
        keys.goenv_key,
        dict(go="/usr/bin/go", go_stat="1:2:3", goenv_file="/h/.config/go/env", goenv_file_stat="absent",
             env={"PATH": "/bin", "GOFLAGS": ""}),
        {
            "go": ["/usr/local/go/bin/go"],
            "go_stat": ["1:2:4"],
            "goenv_file": ["/x/go/env"],
            "goenv_file_stat": ["5:6:7"],
            "env": [{"PATH": "/usr/bin", "GOFLAGS": ""}, {"PATH": "/bin", "GOFLAGS": "", "CGO_ENABLED": "0"}],
        },
        [{"env": {"GOFLAGS": "", "PATH": "/bin"}}],
    ),
    "go wrapper": (
        keys.go_wrapper_key,
        dict(wrapper="/venv/bin/go", wrapper_stat="1:2:3", env={"PATH": "/bin"}),
        {"wrapper": ["/other/bin/go"], "wrapper_stat": ["1:2:4"], "env": [{"PATH": "/usr/bin"}, {}]},
        [],
    ),
    "C compiler identity": (
        keys.c_compiler_identity_key,
        dict(exe="/usr/bin/gcc", exe_stat="1:2:3:4", language="c"),
        {"exe": ["/usr/bin/cc"], "exe_stat": ["1:2:3:5"], "language": ["c++"]},
        [],
    ),
    "C flag probe": (
        keys.c_flag_probe_key,
        dict(compiler_identity="gcc version 12", argv=["gcc", "-fno-caret-diagnostics", "-c"]),
        {"compiler_identity": ["gcc version 13"], "argv": [["gcc", "-Wl,--no-gc-sections", "-c"], ["gcc"]]},
        [],
    ),
    "file summary": (
        keys.summary_key,
        dict(format="f1", code="c1", content=b"9" * 32),
        {"format": ["f2"], "code": ["c2"], "content": [b"8" * 32]},
        [],
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_every_input_changes_the_key(name: str) -> None:
    fn, base, changes, _ = CASES[name]
    assert set(changes) == set(base), "every input of the key is exercised"
    k0 = fn(**base)
    assert len(k0) == 32 and fn(**dict(base)) == k0
    seen = {k0}
    for field, values in changes.items():
        for v in values:
            k = fn(**{**base, field: v})
            assert k != k0, f"{name}: changing {field} to {v!r} must change the key"
            assert k not in seen or v is None, f"{name}: {field}={v!r} collides with another variant"
            seen.add(k)


@pytest.mark.parametrize("name", sorted(CASES))
def test_nothing_else_changes_the_key(name: str) -> None:
    fn, base, _, same = CASES[name]
    k0 = fn(**base)
    for change in same:
        assert fn(**{**base, **change}) == k0, f"{name}: {change} must not change the key"
    for field, value in base.items():
        if isinstance(value, dict):
            assert fn(**{**base, field: _reordered(value)}) == k0


def test_keys_of_different_kinds_never_meet() -> None:
    assert keys.goenv_key(go="g", go_stat="s", goenv_file="f", goenv_file_stat="t", env={}) != \
        keys.go_wrapper_key(wrapper="g", wrapper_stat="s", env={})


def test_target_env_lists_every_architecture_level() -> None:
    assert set(keys.GOARCH_ENV.values()) <= set(keys.TARGET_ENV)
    assert len(set(keys.TARGET_ENV)) == len(keys.TARGET_ENV)


def test_dependency_identity(tmp_path: Any) -> None:
    blob = tmp_path / ("ab" * 32 + "-d")
    blob.write_bytes(b"x")
    assert keys.export_identity(str(blob)) == "content:" + "ab" * 32
    assert keys.content_identity(bytes.fromhex("ab" * 32)) == "content:" + "ab" * 32
    plain = tmp_path / "pkg.a"
    plain.write_bytes(b"x")
    before = keys.export_identity(str(plain))
    plain.write_bytes(b"xy")
    assert keys.export_identity(str(plain)) != before
    assert keys.export_identity(str(tmp_path / "gone.a")).endswith(":absent")
