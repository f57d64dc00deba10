"""What the native pipeline does not build goes through `go build`, with rungo's exec and exit status."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from conftest import gorun, rungo, write_tree

HELLO = 'package main\n\nimport (\n\t"fmt"\n\t"os"\n)\n\nfunc main() {\n\tfmt.Println("hello", os.Args[1:])\n\tos.Exit(3)\n}\n'


def same_as_go(go_exe: str, args: list[str], cwd: Path, env: dict[str, str], status: int = 3) -> str:
    got = rungo(["run", *args], cwd, env)
    want = gorun(go_exe, args, cwd, env)
    assert got.returncode == status, got.stderr
    assert got.stdout == want.stdout
    assert want.stderr.endswith(f"exit status {status}\n") or status == 0
    return got.stderr


def test_unsupported_flag_goes_through_go_build(tmp_path: Path, base_env: dict[str, str], go_exe: str) -> None:
    write_tree(tmp_path, {"go.mod": "module m\n\ngo 1.22\n", "main.go": HELLO})
    same_as_go(go_exe, ["-buildmode=pie", ".", "a"], tmp_path, base_env)
    x = rungo(["run", "-x", "-cover", ".", "b"], tmp_path, base_env)
    assert x.returncode == 3 and "hello [b]" in x.stdout
    assert " build -o " in x.stderr and "-cover" in x.stderr, x.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["go.mod", "main.go"]


def test_workspace_with_two_modules(tmp_path: Path, base_env: dict[str, str], go_exe: str) -> None:
    write_tree(tmp_path, {
        "go.work": "go 1.22\n\nuse (\n\t./app\n\t./lib\n)\n",
        "app/go.mod": "module example.com/app\n\ngo 1.22\n\nrequire example.com/lib v0.0.0\n",
        "app/main.go": 'package main\n\nimport (\n\t"fmt"\n\t"os"\n\n\t"example.com/lib"\n)\n\n'
                       'func main() {\n\tfmt.Println(lib.Name())\n\tos.Exit(3)\n}\n',
        "lib/go.mod": "module example.com/lib\n\ngo 1.22\n",
        "lib/lib.go": 'package lib\n\nfunc Name() string { return "from the workspace" }\n',
    })
    same_as_go(go_exe, ["./app"], tmp_path, base_env)
    (tmp_path / "lib" / "lib.go").write_text('package lib\n\nfunc Name() string { return "edited" }\n')
    got = rungo(["run", "./app"], tmp_path, base_env)
    assert got.stdout == "edited\n" and got.returncode == 3


def test_gopath_mode(tmp_path: Path, base_env: dict[str, str], go_exe: str) -> None:
    env = dict(base_env, GO111MODULE="off", GOPATH=str(tmp_path / "gopath"))
    src = tmp_path / "gopath" / "src" / "hello"
    write_tree(src, {"main.go": HELLO})
    same_as_go(go_exe, [".", "x"], src, env)
    same_as_go(go_exe, ["hello", "y"], tmp_path, env)


def test_vendored_module(tmp_path: Path, base_env: dict[str, str], go_exe: str) -> None:
    write_tree(tmp_path, {
        "go.mod": "module example.com/v\n\ngo 1.22\n\nrequire example.com/dep v1.0.0\n",
        "main.go": 'package main\n\nimport (\n\t"fmt"\n\t"os"\n\n\t"example.com/dep"\n)\n\n'
                   'func main() {\n\tfmt.Println(dep.V)\n\tos.Exit(3)\n}\n',
        "vendor/modules.txt": "# example.com/dep v1.0.0\n## explicit\nexample.com/dep\n",
        "vendor/example.com/dep/dep.go": 'package dep\n\nconst V = "vendored"\n',
    })
    same_as_go(go_exe, ["."], tmp_path, base_env)
    got = rungo(["run", "-x", "."], tmp_path, base_env)
    assert got.stdout == "vendored\n"
    assert " build -o " not in got.stderr                    # vendored modules are built natively


def test_cgo_in_the_main_package(tmp_path: Path, base_env: dict[str, str], go_exe: str) -> None:
    write_tree(tmp_path / "cg", {
        "go.mod": "module example.com/cg\n\ngo 1.22\n",
        "main.go": 'package main\n\n// static int twice(int x) { return 2 * x; }\nimport "C"\n\nimport (\n\t"fmt"\n\t"os"\n)\n\n'
                   'func main() {\n\tfmt.Println("cgo", C.twice(21))\n\tos.Exit(3)\n}\n',
    })
    x = rungo(["run", "-x", "."], tmp_path / "cg", dict(base_env, CGO_ENABLED="1"))
    assert x.stdout == "cgo 42\n" and x.returncode == 3
    assert " build -o " not in x.stderr and "/cgo -objdir " in x.stderr   # cgo in the module is built natively
    same_as_go(go_exe, ["."], tmp_path / "cg", dict(base_env, CGO_ENABLED="1"))


VCS_MAIN = """package main

import (
	"fmt"
	"runtime/debug"
	"strings"
)

func main() {
	bi, _ := debug.ReadBuildInfo()
	for _, s := range bi.Settings {
		if strings.HasPrefix(s.Key, "vcs") {
			fmt.Printf("%s=%s\\n", s.Key, s.Value)
		}
	}
	fmt.Println("done")
}
"""


def test_buildvcs_stamps_only_when_asked_as_go_run_does(tmp_path: Path, base_env: dict[str, str], go_exe: str) -> None:
    """go run does not stamp VCS information by default (-buildvcs=auto); -buildvcs=true does."""
    import shutil
    import subprocess

    git = shutil.which("git")
    if git is None:
        pytest.skip("git is not installed")
    write_tree(tmp_path, {"go.mod": "module example.com/vcs\n\ngo 1.22\n", "main.go": VCS_MAIN})
    env = {**base_env, "GIT_CONFIG_NOSYSTEM": "1", "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    for args in (["init", "-q"], ["add", "."], ["commit", "-q", "-m", "first"]):
        subprocess.run([git, *args], cwd=tmp_path, env=env, check=True)
    by_default = rungo(["run", "."], tmp_path, env)
    assert by_default.stdout == gorun(go_exe, ["."], tmp_path, env).stdout == "done\n"
    stamped = rungo(["run", "-buildvcs=true", "."], tmp_path, env)
    want = gorun(go_exe, ["-buildvcs=true", "."], tmp_path, env)
    assert stamped.returncode == 0, stamped.stderr
    assert stamped.stdout == want.stdout
    assert "vcs=git\n" in stamped.stdout and "vcs.revision=" in stamped.stdout and "vcs.modified=false" in stamped.stdout


def _zip_module(path: str, version: str, files: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, text in files.items():
            z.writestr(f"{path}@{version}/{name}", text)
    return buf.getvalue()


def test_package_at_version_from_a_local_proxy(tmp_path: Path, base_env: dict[str, str]) -> None:
    mod, version = "example.com/tool", "v1.2.3"
    files = {"go.mod": f"module {mod}\n\ngo 1.22\n", "main.go": HELLO.replace('"hello"', '"tool"')}
    proxy = tmp_path / "proxy" / mod / "@v"
    proxy.mkdir(parents=True)
    (proxy / "list").write_text(version + "\n")
    (proxy / f"{version}.info").write_text('{"Version":"%s","Time":"2024-01-01T00:00:00Z"}' % version)
    (proxy / f"{version}.mod").write_text(files["go.mod"])
    (proxy / f"{version}.zip").write_bytes(_zip_module(mod, version, files))
    env = dict(base_env, GOPROXY=(tmp_path / "proxy").as_uri(), GOSUMDB="off", GOFLAGS="-modcacherw",
               GOMODCACHE=str(tmp_path / "modcache"))
    got = rungo(["run", f"{mod}@{version}", "a"], tmp_path, env)
    assert got.returncode == 3 and got.stdout == "tool [a]\n", got.stderr
    assert (tmp_path / "modcache" / "cache" / "download" / mod / "@v" / f"{version}.zip").is_file()
    env["GOPROXY"] = "off"
    again = rungo(["run", f"{mod}@{version}", "b"], tmp_path, env)
    assert again.returncode == 3 and again.stdout == "tool [b]\n", again.stderr
    # The built program is rungo's own cache entry: neither the proxy nor the module cache is needed.
    import shutil
    shutil.rmtree(tmp_path / "proxy")
    shutil.rmtree(tmp_path / "modcache")
    third = rungo(["run", f"{mod}@{version}", "c"], tmp_path, env)
    assert third.returncode == 3 and third.stdout == "tool [c]\n", third.stderr
    assert not (tmp_path / "modcache").exists()


def test_build_failure_through_go_build_is_125(tmp_path: Path, base_env: dict[str, str]) -> None:
    write_tree(tmp_path, {"go.mod": "module m\n\ngo 1.22\n",
                          "main.go": "package main\n\nfunc main() { undefinedThing() }\n"})
    got = rungo(["run", "-cover", "."], tmp_path, base_env)
    assert got.returncode == 125
    assert "undefined: undefinedThing" in got.stderr
