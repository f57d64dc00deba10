"""A `replace => ../dir` module is built from the directory: an edit there is seen by the next run."""

from __future__ import annotations

import time
from pathlib import Path

from conftest import gorun, rungo, write_tree


def test_edits_in_a_replaced_directory_are_seen(tmp_path: Path, base_env: dict[str, str], go_exe: str) -> None:
    write_tree(tmp_path, {
        "app/go.mod": "module example.com/app\n\ngo 1.22\n\nrequire example.com/dep v0.0.0\n\n"
                      "replace example.com/dep => ../dep\n",
        "app/main.go": 'package main\n\nimport (\n\t"fmt"\n\n\t"example.com/dep"\n)\n\n'
                       'func main() { fmt.Println(dep.Version()) }\n',
        "dep/go.mod": "module example.com/dep\n\ngo 1.22\n",
        "dep/dep.go": 'package dep\n\nfunc Version() string { return "one" }\n',
    })
    app = tmp_path / "app"
    first = rungo(["run", "."], app, base_env)
    assert first.returncode == 0, first.stderr
    assert first.stdout == gorun(go_exe, ["."], app, base_env).stdout == "one\n"
    assert rungo(["run", "."], app, base_env).stdout == "one\n"

    time.sleep(1.1)
    (tmp_path / "dep" / "dep.go").write_text('package dep\n\nfunc Version() string { return "two" }\n')
    assert rungo(["run", "."], app, base_env).stdout == "two\n"

    # A new file in the replaced directory counts too.
    time.sleep(1.1)
    (tmp_path / "dep" / "extra.go").write_text('package dep\n\nfunc init() { println("extra init") }\n')
    third = rungo(["run", "."], app, base_env)
    assert third.stdout == "two\n" and third.stderr == "extra init\n"
    assert third.stderr == gorun(go_exe, ["."], app, base_env).stderr
