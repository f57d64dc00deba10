"""rungo compiles the whole graph itself (RUNGO_GRAPH=native): the standard library and the
dependencies with the flags cmd/go gives them. The oracle is the go command's own program
(tests/wholegraph.py): the binary `rungo run` builds equals `go run`'s byte for byte, build IDs
blanked."""

from __future__ import annotations

import subprocess
from pathlib import Path
import pytest

from conftest import RUNGO, write_tree
from wholegraph import compiled_natively, same_program

HELLO = {
    "go.mod": "module example.com/hello\n\ngo 1.22\n",
    "main.go": """
        package main

        import (
            "fmt"
            "os"
        )

        func main() { fmt.Println("hello", len(os.Args)) }
    """,
}

WEB = {
    "go.mod": "module example.com/web\n\ngo 1.21\n",
    "main.go": """
        package main

        import (
            "crypto/sha256"
            "embed"
            "encoding/json"
            "fmt"
            "net/http"
            "net/http/httptest"
            "os/user"
        )

        //go:embed static
        var static embed.FS

        func main() {
            srv := httptest.NewServer(http.FileServerFS(static))
            defer srv.Close()
            resp, err := http.Get(srv.URL + "/static/a.txt")
            if err != nil {
                panic(err)
            }
            var v any
            json.NewDecoder(resp.Body).Decode(&v)
            _, uerr := user.Current()
            fmt.Println(v, fmt.Sprintf("%x", sha256.Sum256([]byte("a")))[:8], uerr == nil)
        }
    """,
    "static/a.txt": '{"a": 1}\n',
}


@pytest.mark.parametrize("cgo", ["0", "1"])
@pytest.mark.parametrize("trimpath", [True, False], ids=["trimpath", "paths"])
def test_hello_is_the_go_commands_program(cgo: str, trimpath: bool, tmp_path: Path, base_env: dict[str, str],
                                          go_exe: str) -> None:
    mod = write_tree(tmp_path / "hello", HELLO)
    env = {**base_env, "CGO_ENABLED": cgo}
    x = same_program(go_exe, mod, env, ["-trimpath"] if trimpath else [], tmp_path)
    for pkg in ("runtime", "internal/abi", "fmt", "os"):
        assert compiled_natively(x, pkg), pkg


@pytest.mark.parametrize("flags", [["-trimpath"], [], ["-gcflags=all=-N -l"], ["-gcflags=std=-l", "-asmflags=all=-D=X"]],
                         ids=["trimpath", "paths", "all-N-l", "std-l"])
def test_net_http_without_cgo_is_the_go_commands_program(flags: list[str], tmp_path: Path,
                                                          base_env: dict[str, str], go_exe: str) -> None:
    """Vendored standard packages (importmap), assembly with go_asm.h (runtime, crypto), the
    packages cmd/go compiles without -complete, -gcflags and -asmflags patterns that reach the
    standard library, an embed in the main package."""
    mod = write_tree(tmp_path / "web", WEB)
    x = same_program(go_exe, mod, {**base_env, "CGO_ENABLED": "0"}, flags, tmp_path)
    for pkg in ("runtime", "net/http", "vendor/golang.org/x/net/http/httpguts", "crypto/sha256", "sync"):
        assert compiled_natively(x, pkg), pkg
    runtime_compile = next(line for line in x.splitlines() if "/compile " in line and " -p runtime " in line)
    assert " -std" in runtime_compile and " -complete" not in runtime_compile
    sync_compile = next(line for line in x.splitlines() if "/compile " in line and " -p sync " in line)
    assert " -complete" not in sync_compile
    if "-gcflags=all=-N -l" in flags:
        assert " -N -l " in runtime_compile


def test_module_dependencies_and_their_lang(tmp_path: Path, base_env: dict[str, str], go_exe: str) -> None:
    """A required module (a replace => directory, so no proxy is needed) with an older go line
    compiles at its own -lang; its directory is writable, so its files are read through private
    copies as the main module's are."""
    write_tree(tmp_path / "dep", {
        "go.mod": "module example.com/dep\n\ngo 1.18\n",
        "dep.go": """
            package dep

            //go:generate true

            func Twice[T any](v T) []T { return []T{v, v} }
        """,
    })
    mod = write_tree(tmp_path / "main", {
        "go.mod": "module example.com/m\n\ngo 1.22\n\nrequire example.com/dep v1.0.0\n\nreplace example.com/dep => ../dep\n",
        "main.go": 'package main\n\nimport (\n\t"fmt"\n\n\t"example.com/dep"\n)\n\nfunc main() { fmt.Println(dep.Twice(2)) }\n',
    })
    x = same_program(go_exe, mod, {**base_env, "CGO_ENABLED": "0"}, ["-trimpath"], tmp_path)
    dep_compile = next(line for line in x.splitlines() if "/compile " in line and " -p example.com/dep " in line)
    assert " -lang=go1.18 " in dep_compile and " -std" not in dep_compile


@pytest.mark.parametrize("flags", [["-trimpath"], []], ids=["trimpath", "paths"])
def test_std_cgo_is_the_go_commands_program(flags: list[str], tmp_path: Path, base_env: dict[str, str],
                                            go_exe: str) -> None:
    """With cgo, the standard packages that use it: runtime/cgo (its own cgo flags, its Go assembly
    beside the C compiler's, -dynlinker), net (a cgo package whose C side is only cgo's) and
    os/user."""
    mod = write_tree(tmp_path / "web", WEB)
    x = same_program(go_exe, mod, {**base_env, "CGO_ENABLED": "1"}, flags, tmp_path)
    for pkg in ("runtime/cgo", "net", "os/user", "runtime"):
        assert compiled_natively(x, pkg), pkg
    lines = x.splitlines()
    assert any("/cgo " in line and "-importpath runtime/cgo -import_runtime_cgo=false -import_syscall=false" in line
               for line in lines)
    assert any("/cgo " in line and " -dynpackage cgo " in line and line.endswith("-dynlinker") for line in lines)
    assert any("/asm " in line and " -p runtime/cgo " in line and "asm_amd64.s" in line for line in lines) \
        or "amd64" not in subprocess.run([go_exe, "env", "GOARCH"], capture_output=True, text=True).stdout


def test_cgo_in_the_main_package_and_in_a_vendored_module(tmp_path: Path, base_env: dict[str, str],
                                                          go_exe: str) -> None:
    """The main module's own cgo beside the graph's (the main package's compile still gets the
    runtime), and a vendored module's cgo under -trimpath (the C compiler maps the whole vendor
    directory to /_/vendor, as cmd/go does)."""
    mod = write_tree(tmp_path / "m", {
        "go.mod": "module example.com/m\n\ngo 1.22\n\nrequire v.com/c v1.0.0\n",
        "vendor/modules.txt": "# v.com/c v1.0.0\n## explicit; go 1.20\nv.com/c\n",
        "vendor/v.com/c/c.go": 'package c\n\n// #cgo CFLAGS: -I${SRCDIR}/inc\n// #include "f.h"\nimport "C"\n\n'
                               "func File() string { return C.GoString(C.file()) }\n",
        "vendor/v.com/c/inc/f.h": 'static const char *file(void) { return __FILE__; }\n',
        "main.go": 'package main\n\n// int x = 7;\nimport "C"\n\nimport (\n\t"fmt"\n\n\t"v.com/c"\n)\n\n'
                   "func main() { fmt.Println(C.x, c.File()) }\n",
    })
    env = {**base_env, "CGO_ENABLED": "1"}
    x = same_program(go_exe, mod, env, ["-trimpath"], tmp_path)
    assert compiled_natively(x, "v.com/c") and compiled_natively(x, "runtime/cgo")
    res = subprocess.run([*RUNGO, "run", "-trimpath", "."], cwd=mod, capture_output=True, text=True,
                         env={**env, "RUNGO_GRAPH": "native", "RUNGO_ENGINE": "off"})
    assert res.returncode == 0 and res.stdout == "7 /_/vendor/v.com/c/inc/f.h\n", res.stderr


RACY = {
    "go.mod": "module example.com/racy\n\ngo 1.21\n",
    "main.go": """
        package main

        // static int twice(int x) { return 2 * x; }
        import "C"

        import (
            "fmt"
            "os"
        )

        func main() {
            n := 0
            if len(os.Args) > 1 {
                done := make(chan bool)
                go func() { n++; done <- true }()
                n++
                <-done
            }
            fmt.Println(C.twice(21), n)
        }
    """,
}


def test_race_instruments_the_whole_graph(tmp_path: Path, base_env: dict[str, str], go_exe: str) -> None:
    """-race: every package compiles with -race (runtime/race, a cgo package of the standard
    library, too), and cgo's dynamic-import link of a package takes the .syso files of the packages
    it depends on (the race runtime's, for runtime/race and for a main package that uses cgo). The
    program is the go command's, and it finds the race."""
    mod = write_tree(tmp_path / "racy", RACY)
    env = {**base_env, "CGO_ENABLED": "1"}
    x = same_program(go_exe, mod, env, ["-race"], tmp_path)
    lines = x.splitlines()
    for pkg in ("runtime/race", "runtime", "fmt"):
        assert any("/compile " in line and f" -p {pkg} " in line and " -race " in line for line in lines), pkg
    dyn_links = [line for line in lines if "_cgo_.o" in line and " -o " in line and "race_linux" in line]
    assert len(dyn_links) >= 2, x      # runtime/race's and the main package's
    res = subprocess.run([*RUNGO, "run", "-race", ".", "race"], cwd=mod, capture_output=True, text=True,
                         env={**env, "RUNGO_GRAPH": "native", "RUNGO_ENGINE": "off"}, timeout=600)
    assert res.returncode == 66 and res.stdout == "42 2\n", res.stderr
    assert "WARNING: DATA RACE" in res.stderr


PROFILED = {
    "go.mod": "module example.com/profiled\n\ngo 1.22\n",
    "main.go": """
        package main

        import (
            "fmt"
            "os"
            "runtime/pprof"
            "strconv"
            "strings"
        )

        func work(n int) int {
            s := 0
            for i := 0; i < n; i++ {
                s += len(strings.Repeat("ab", i%50)) + len(fmt.Sprint(i)) + len(strconv.Quote("q"))
            }
            return s
        }

        // With an argument it writes a CPU profile of its own work there.
        func main() {
            if len(os.Args) > 2 {
                f, _ := os.Create(os.Args[1])
                pprof.StartCPUProfile(f)
                n, _ := strconv.Atoi(os.Args[2])
                work(n)
                pprof.StopCPUProfile()
                f.Close()
                return
            }
            fmt.Println(work(100))
        }
    """,
}


def _profile(go: str, mod: Path, env: dict[str, str], out: Path, n: int) -> None:
    res = subprocess.run([go, "run", ".", str(out), str(n)], cwd=mod, env=env, capture_output=True, text=True,
                         timeout=600)
    assert res.returncode == 0 and out.stat().st_size > 0, res.stderr


def test_pgo_default_profile_optimizes_the_whole_graph(tmp_path: Path, base_env: dict[str, str],
                                                       go_exe: str) -> None:
    """-pgo=auto (the default) with a default.pgo beside the main package: the profile is
    preprocessed once and every package compiles with it, the standard library too, and the
    program is the go command's (its build info names the profile). A new profile rebuilds."""
    mod = write_tree(tmp_path / "profiled", PROFILED)
    env = {**base_env, "CGO_ENABLED": "0"}
    _profile(go_exe, mod, env, mod / "default.pgo", 2_000_000)
    x = same_program(go_exe, mod, env, [], tmp_path)
    lines = x.splitlines()
    assert sum(1 for line in lines if "/preprofile " in line and line.endswith(f"-i {mod / 'default.pgo'}")) == 1, x
    for pkg in ("runtime", "fmt", "strconv", "main"):
        assert any("/compile " in line and f" -p {pkg} " in line and " -pgoprofile=" in line for line in lines), pkg
    native = {**env, "RUNGO_GRAPH": "native", "RUNGO_ENGINE": "off"}
    again = subprocess.run([*RUNGO, "run", "-v", "."], cwd=mod, env=native, capture_output=True, text=True)
    assert again.returncode == 0 and again.stdout == "5390\n" and again.stderr == "", again.stderr
    _profile(go_exe, mod, env, mod / "default.pgo", 3_000_000)
    edited = subprocess.run([*RUNGO, "run", "-v", "."], cwd=mod, env=native, capture_output=True, text=True,
                            timeout=1200)
    assert edited.returncode == 0 and "\nfmt\n" in edited.stderr, edited.stderr
    off = subprocess.run([*RUNGO, "run", "-n", "-a", "-pgo=off", "."], cwd=mod, env=native, capture_output=True,
                         text=True)
    assert off.returncode == 0 and "-pgoprofile" not in off.stderr and "/preprofile " not in off.stderr, off.stderr


def test_pgo_file_under_trimpath_and_a_bad_profile(tmp_path: Path, base_env: dict[str, str], go_exe: str) -> None:
    """-pgo=file names a profile relative to the directory of the run (after -C); -trimpath keeps
    only its base name in the build info. A profile preprofile cannot read fails the build with
    the tool's words under the profile's name, as go run's does."""
    mod = write_tree(tmp_path / "profiled", PROFILED)
    env = {**base_env, "CGO_ENABLED": "0"}
    (mod / "prof").mkdir()
    _profile(go_exe, mod, env, mod / "prof" / "cpu.pprof", 2_000_000)
    same_program(go_exe, mod, env, ["-trimpath", "-pgo=prof/cpu.pprof"], tmp_path, dry=False)
    (mod / "bad.pgo").write_text("not a profile\n")
    native = {**env, "RUNGO_GRAPH": "native", "RUNGO_ENGINE": "off"}
    go = subprocess.run([go_exe, "run", "-pgo=bad.pgo", "."], cwd=mod, env=env, capture_output=True, text=True)
    res = subprocess.run([*RUNGO, "run", "-pgo=bad.pgo", "."], cwd=mod, env=native, capture_output=True, text=True)
    assert go.returncode == 1 and res.returncode == 125 and res.stdout == ""
    assert res.stderr == go.stderr and res.stderr.startswith(f"# {mod / 'bad.pgo'}\npreprofile: "), res.stderr


def test_a_run_after_an_edit_compiles_only_the_edit(tmp_path: Path, base_env: dict[str, str]) -> None:
    mod = write_tree(tmp_path / "hello", HELLO)
    env = {**base_env, "CGO_ENABLED": "0", "RUNGO_GRAPH": "native", "RUNGO_ENGINE": "off"}
    first = subprocess.run([*RUNGO, "run", "-x", "."], cwd=mod, env=env, capture_output=True, text=True)
    assert first.returncode == 0 and first.stdout == "hello 1\n", first.stderr
    (mod / "main.go").write_text((mod / "main.go").read_text().replace('"hello"', '"hi"'))
    second = subprocess.run([*RUNGO, "run", "-x", "."], cwd=mod, env=env, capture_output=True, text=True)
    assert second.returncode == 0 and second.stdout == "hi 1\n", second.stderr
    compiles = [line for line in second.stderr.splitlines() if "/compile " in line]
    assert len(compiles) == 1 and " -p main " in compiles[0], compiles
