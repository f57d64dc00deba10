"""Editor latencies of `rungo lsp`, beside the go command measured in the same invocation.

Usage: python3 bench/lsp_bench.py [--runs N] [--update-readme]

  diagnostics  last keystroke (a didChange that introduces a type error) -> the publishDiagnostics that
               carries it, with the default 100 ms debounce included; beside `go vet` and `go build` of
               the same package with the error saved to disk. A small package and a 2,000-line one.
  run click    workspace/executeCommand rungo.run -> the first rungo/output byte, for an unchanged
               program and after saving one edit; beside `go run` -> its first stdout byte.
  at scale     the same keystroke (after a 0.3 s pause, as between a person's edits) in the one-file
               main package of a 50-package web server module, beside
               the same compile run by hand (`$GOTOOLDIR/compile` with the importcfg `go build` wrote for
               it) and beside gopls (golang.org/x/tools/gopls, which tools/setup_test_tools.py installs
               from the Go module proxy; the row says so when it is missing) on the same edit.

Results go to bench/results/lsp.json and lsp.md, and with --update-readme into README.md between the
`lsp-bench:begin` / `lsp-bench:end` markers.
"""

from __future__ import annotations

import argparse
import json
import os
import select
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import IO, Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run_bench import make_venv, measured_with, publish, real_go  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"

SMALL = {
    "go.mod": "module example.com/lspbench\n\ngo 1.22\n",
    "small/main.go": 'package main\n\nimport "fmt"\n\nfunc main() {\n\tfmt.Println("hello", value())\n}\n',
    "small/value.go": "package main\n\nfunc value() int { return 1 }\n",
}


def big_package() -> dict[str, str]:
    lines = ["package main", "", 'import "fmt"', "", "func main() {", '\tfmt.Println("big", f0(1))', "}", ""]
    i = 0
    while len(lines) < 2000:
        lines += [f"func f{i}(x int) int {{", f"\ty := x * {i + 1}", "\tif y > 100 {", "\t\treturn y - 1",
                  "\t}", f"\treturn y + f{i + 1}(0)*0" if len(lines) < 1980 else "\treturn y", "}", ""]
        i += 1
    return {"big/main.go": "\n".join(lines) + "\n"}


class Client:
    def __init__(self, cmd: list[str], env: dict[str, str], root: Path) -> None:
        self.p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                  env=env)
        assert self.p.stdin is not None and self.p.stdout is not None
        self.w: IO[bytes] = self.p.stdin
        self.r: IO[bytes] = self.p.stdout
        self.next_id = 0
        self.request("initialize", {"processId": None, "rootUri": root.as_uri(), "capabilities": {},
                                    "workspaceFolders": [{"uri": root.as_uri(), "name": "b"}],
                                    "initializationOptions": {"rungoOutput": True}})
        self.notify("initialized", {})

    def send(self, msg: dict[str, Any]) -> None:
        body = json.dumps({"jsonrpc": "2.0", **msg}).encode()
        self.w.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.w.flush()

    def receive(self) -> dict[str, Any]:
        length = 0
        while True:
            line = self.r.readline()
            if not line:
                raise EOFError("server exited")
            if line in (b"\r\n", b"\n"):
                break
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        msg: dict[str, Any] = json.loads(self.r.read(length))
        if "id" in msg and "method" in msg:  # a request from the server: answer null (or empty settings)
            result: Any = None
            if msg["method"] == "workspace/configuration":
                result = [{} for _ in (msg.get("params") or {}).get("items", [])]
            self.send({"id": msg["id"], "result": result})
        return msg

    def notify(self, method: str, params: dict[str, Any]) -> None:
        self.send({"method": method, "params": params})

    def request(self, method: str, params: dict[str, Any]) -> Any:
        self.next_id += 1
        rid = self.next_id
        self.send({"id": rid, "method": method, "params": params})
        while True:
            msg = self.receive()
            if msg.get("id") == rid and "method" not in msg:
                return msg.get("result")

    def wait_for(self, pred: Any, timeout: float = 120) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            msg = self.receive()
            if pred(msg):
                return msg
        raise TimeoutError

    def close(self) -> None:
        try:
            self.request("shutdown", {})
            self.notify("exit", {})
            self.p.wait(timeout=10)
        except Exception:
            self.p.kill()


def ms(t0: float) -> float:
    return (time.perf_counter() - t0) * 1000.0


def summary(samples: list[float]) -> dict[str, float]:
    return {"min": min(samples), "median": statistics.median(samples), "n": len(samples)}


def first_byte(cmd: list[str], cwd: Path, env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert p.stdout is not None
    select.select([p.stdout], [], [], 120)
    p.stdout.read(1)
    dt = ms(t0)
    p.stdout.read()
    p.wait()
    return dt


def timed(cmd: list[str], cwd: Path, env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return ms(t0)


def bench_diagnostics(c: Client, root: Path, rel: str, runs: int, go: str, env: dict[str, str]) -> dict[str, Any]:
    path = root / rel
    uri = path.as_uri()
    good = path.read_text()
    bad = good.replace("func main() {", "func main() {\n\tvar broken string = 1", 1)
    version = 1
    c.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "go", "version": 1, "text": good}})
    c.wait_for(lambda m: m.get("method") == "textDocument/publishDiagnostics"
               and m["params"]["uri"] == uri and m["params"].get("version") == 1 and not m["params"]["diagnostics"]
               and True)
    samples: list[float] = []
    for i in range(runs + 1):
        version += 1
        t0 = time.perf_counter()
        c.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": version},
                                            "contentChanges": [{"text": bad}]})
        want = version
        c.wait_for(lambda m: m.get("method") == "textDocument/publishDiagnostics" and m["params"]["uri"] == uri
                   and m["params"].get("version") == want
                   and any("cannot use" in d["message"] for d in m["params"]["diagnostics"]))
        if i:
            samples.append(ms(t0))
        version += 1
        want = version
        c.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": version},
                                            "contentChanges": [{"text": good}]})
        c.wait_for(lambda m: m.get("method") == "textDocument/publishDiagnostics" and m["params"]["uri"] == uri
                   and m["params"].get("version") == want and not any(
                       "cannot use" in d["message"] for d in m["params"]["diagnostics"]))
    c.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
    vet: list[float] = []
    build: list[float] = []
    out = Path(tempfile.mkdtemp(prefix="rungo-lspbench-out"))
    try:
        for i in range(runs):
            path.write_text(bad.replace("= 1", f"= {i + 2}"))
            vet.append(timed([go, "vet", "."], path.parent, env))
            build.append(timed([go, "build", "-o", str(out / "x"), "."], path.parent, env))
    finally:
        path.write_text(good)
        shutil.rmtree(out, ignore_errors=True)
    return {"rungo lsp": summary(samples), "go vet": summary(vet), "go build": summary(build)}


def bench_run(c: Client, root: Path, rel: str, runs: int, go: str, env: dict[str, str]) -> dict[str, Any]:
    path = root / rel
    uri = path.as_uri()
    good = path.read_text()

    def click() -> float:
        t0 = time.perf_counter()
        res = c.request("workspace/executeCommand", {"command": "rungo.run", "arguments": [{"uri": uri}]})
        rid = res["runId"]
        c.wait_for(lambda m: m.get("method") == "rungo/output" and m["params"]["runId"] == rid)
        dt = ms(t0)
        c.wait_for(lambda m: m.get("method") == "rungo/runExited" and m["params"]["runId"] == rid)
        return dt

    click()
    unchanged = [click() for _ in range(runs)]
    go_unchanged = [first_byte([go, "run", "."], path.parent, env) for _ in range(runs)]
    edited: list[float] = []
    go_edited: list[float] = []
    n = 0
    try:
        for _ in range(runs):
            n += 1
            path.write_text(good.replace('"hello"', f'"hello {n}"'))
            edited.append(click())
            n += 1
            path.write_text(good.replace('"hello"', f'"hello {n}"'))
            go_edited.append(first_byte([go, "run", "."], path.parent, env))
    finally:
        path.write_text(good)
    return {"unchanged": {"rungo lsp": summary(unchanged), "go run": summary(go_unchanged)},
            "one edit": {"rungo lsp": summary(edited), "go run": summary(go_edited)}}


SCALE_PACKAGES = 49      # plus the main package: 50


def web_module() -> dict[str, str]:
    """A 50-package web server module: 49 handler/model/store packages in layers over net/http,
    encoding/json, database-ish interfaces; cmd/server is a one-file main package importing a dozen."""
    files = {"go.mod": "module example.com/web\n\ngo 1.22\n"}
    for i in range(SCALE_PACKAGES):
        name = f"p{i:02d}"
        deps = [f"p{j:02d}" for j in (i - 1, i - 7, i // 2) if 0 <= j < i]
        deps = sorted(set(deps))
        imports = ['"encoding/json"', '"fmt"', '"net/http"', '"strings"', '"sync"']
        imports += [f'"example.com/web/internal/{d}"' for d in deps]
        uses = "".join(f"\n\t_ = {d}.Name()" for d in deps)
        body = f"""package {name}

import (
\t{chr(10).join(chr(9) + x for x in imports).strip()}
)

type Item struct {{
\tID    int    `json:"id"`
\tTitle string `json:"title"`
}}

type Store struct {{
\tmu    sync.Mutex
\titems map[int]Item
}}

func NewStore() *Store {{ return &Store{{items: map[int]Item{{}}}} }}

func (s *Store) Put(it Item) {{
\ts.mu.Lock()
\tdefer s.mu.Unlock()
\ts.items[it.ID] = it
}}

func (s *Store) Handler() http.Handler {{
\treturn http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {{
\t\ts.mu.Lock()
\t\tdefer s.mu.Unlock()
\t\tout := make([]Item, 0, len(s.items))
\t\tfor _, it := range s.items {{
\t\t\tif strings.Contains(it.Title, r.URL.Query().Get("q")) {{
\t\t\t\tout = append(out, it)
\t\t\t}}
\t\t}}
\t\t_ = json.NewEncoder(w).Encode(out)
\t}})
}}

func Name() string {{{uses}
\treturn fmt.Sprintf("{name}")
}}
"""
        files[f"internal/{name}/{name}.go"] = body
    used = [f"p{i:02d}" for i in range(0, SCALE_PACKAGES, 4)]
    imports = "\n".join(f'\t"example.com/web/internal/{u}"' for u in used)
    mounts = "\n".join(f'\tmux.Handle("/{u}", {u}.NewStore().Handler())' for u in used)
    files["cmd/server/main.go"] = f"""package main

import (
\t"log"
\t"net/http"

{imports}
)

func main() {{
\tmux := http.NewServeMux()
{mounts}
\tlog.Println("listening")
\t_ = http.ListenAndServe("127.0.0.1:0", mux)
}}
"""
    return files


def find_gopls(go: str, env: dict[str, str]) -> str | None:
    found = shutil.which("gopls", path=env.get("PATH"))
    if found:
        return found
    gopath = subprocess.run([go, "env", "GOPATH"], capture_output=True, text=True, env=env).stdout.strip()
    for d in gopath.split(os.pathsep):
        cand = Path(d) / "bin" / "gopls"
        if d and cand.is_file():
            return str(cand)
    return None


def keystrokes(c: Client, uri: str, good: str, bad: str, runs: int) -> list[float]:
    """Opens uri, then times each didChange that introduces the type error until a publish carries it."""
    version = 1
    c.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "go", "version": 1, "text": good}})
    c.wait_for(lambda m: m.get("method") == "textDocument/publishDiagnostics" and m["params"]["uri"] == uri
               and not any("cannot use" in d["message"] for d in m["params"]["diagnostics"]), 600)
    samples: list[float] = []
    for i in range(runs + 1):
        version += 1
        want = version
        text = bad.replace("= 1", f"= {i + 2}")
        t0 = time.perf_counter()
        c.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": version},
                                            "contentChanges": [{"text": text}]})
        c.wait_for(lambda m: m.get("method") == "textDocument/publishDiagnostics" and m["params"]["uri"] == uri
                   and m["params"].get("version") in (want, None)
                   and any("cannot use" in d["message"] for d in m["params"]["diagnostics"]), 300)
        if i:
            samples.append(ms(t0))
        version += 1
        want = version
        c.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": version},
                                            "contentChanges": [{"text": good}]})
        c.wait_for(lambda m: m.get("method") == "textDocument/publishDiagnostics" and m["params"]["uri"] == uri
                   and m["params"].get("version") in (want, None) and not any(
                       "cannot use" in d["message"] for d in m["params"]["diagnostics"]), 300)
        drain_for(c, PAUSE)     # a person pauses between edits: the next one is a first keystroke
    c.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
    return samples


PAUSE = 0.3


def drain_for(c: Client, seconds: float) -> None:
    """Reads (and answers) whatever the server sends for a while."""
    deadline = time.monotonic() + seconds
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return
        ready, _, _ = select.select([c.r], [], [], left)
        if ready:
            c.receive()


def compile_by_hand(root: Path, rel: str, bad: str, runs: int, go: str, env: dict[str, str]) -> list[float]:
    """The main package's compile as `go build` runs it (its importcfg, -p main, -lang, -complete, -pack),
    of the file with the type error, timed."""
    path = root / rel
    good = path.read_text()
    path.write_text(good + f"\n// {time.time_ns()}\n")      # a change go build must compile
    res = subprocess.run([go, "build", "-work", "-o", os.devnull, "./" + str(Path(rel).parent)], cwd=root, env=env,
                         capture_output=True, text=True)
    path.write_text(good)
    work = next((line.split("=", 1)[1] for line in res.stderr.splitlines() if line.startswith("WORK=")), "")
    importcfg = Path(work) / "b001" / "importcfg"
    if res.returncode != 0 or not importcfg.is_file():
        raise SystemExit(f"go build -work did not leave {importcfg}:\n{res.stderr}")
    tooldir = subprocess.run([go, "env", "GOTOOLDIR"], capture_output=True, text=True, env=env).stdout.strip()
    out = Path(work) / "x.a"
    samples: list[float] = []
    try:
        for i in range(runs):
            path.write_text(bad.replace("= 1", f"= {i + 2}"))
            samples.append(timed([str(Path(tooldir) / "compile"), "-o", str(out), "-p", "main", "-lang=go1.22",
                                  "-complete", "-importcfg", str(importcfg), "-pack", "-e", str(path)],
                                 path.parent, env))
    finally:
        path.write_text(good)
        shutil.rmtree(work, ignore_errors=True)
    return samples


def bench_scale(rungo: Path, root: Path, runs: int, go: str, env: dict[str, str]) -> dict[str, Any]:
    rel = "cmd/server/main.go"
    path = root / rel
    good = path.read_text()
    bad = good.replace("func main() {", "func main() {\n\tvar broken string = 1", 1)
    subprocess.run([go, "build", "-o", os.devnull, "./..."], cwd=root, env=env, check=True)
    out: dict[str, Any] = {}
    c = Client([str(rungo), "lsp"], env, root)
    try:
        out["rungo lsp"] = summary(keystrokes(c, path.as_uri(), good, bad, runs))
    finally:
        c.close()
    out["compile by hand"] = summary(compile_by_hand(root, rel, bad, runs, go, env))
    gopls = find_gopls(go, env)
    if gopls is not None:
        g = Client([gopls, "serve"], env, root)
        try:
            out["gopls"] = summary(keystrokes(g, path.as_uri(), good, bad, runs))
        finally:
            g.close()
        out["gopls version"] = subprocess.run([gopls, "version"], capture_output=True, text=True,
                                              env=env).stdout.splitlines()[0:1]
    return out


def render(meta: dict[str, str], res: dict[str, Any]) -> str:
    out = [f"Measured {meta['date']} with {meta['go']}, Python {meta['python']}, {meta['machine']}; "
           f"`{meta['command']}`.", "",
           "| measurement | rungo lsp min / median | go min / median (same invocation) | goal |",
           "| --- | ---: | ---: | --- |"]

    def cell(s: dict[str, float]) -> str:
        return f"{s['min']:.0f} / {s['median']:.0f} ms"

    for name in ("small", "2,000 lines"):
        d = res["diagnostics"][name]
        goal = "≤ 150 ms" if name == "small" else "—"
        out.append(f"| keystroke → type error, {name} package | {cell(d['rungo lsp'])} | "
                   f"`go vet` {cell(d['go vet'])}; `go build` {cell(d['go build'])} | {goal} |")
    r = res["run"]
    out.append(f"| Run click → first byte, unchanged | {cell(r['unchanged']['rungo lsp'])} | "
               f"`go run` {cell(r['unchanged']['go run'])} | ≤ 15 ms |")
    ratio = r["one edit"]["rungo lsp"]["median"] / r["one edit"]["go run"]["median"]
    out.append(f"| Run click → first byte, after one edit | {cell(r['one edit']['rungo lsp'])} | "
               f"`go run` {cell(r['one edit']['go run'])} (ratio {ratio:.2f}x median) | ≤ 0.75x of `go run` |")
    sc = res.get("scale")
    if sc:
        by_hand = sc["compile by hand"]
        ratio = sc["rungo lsp"]["median"] / by_hand["median"]
        gopls = (f"gopls {cell(sc['gopls'])}" if "gopls" in sc
                 else "gopls not installed (tools/setup_test_tools.py installs it)")
        out.append(f"| keystroke → type error, one-file main of a 50-package module | {cell(sc['rungo lsp'])} | "
                   f"compile by hand {cell(by_hand)} (ratio {ratio:.2f}x median); {gopls} | "
                   f"≤ 2x of the compile by hand |")
        m = sc.get("measured")
        if m:
            out += ["", f"The 50-package row: measured {m['date']} with {m['go']}"
                        f"{' and ' + m['gopls'] if m.get('gopls') else ''}; `{m['command']}`."]
    return "\n".join(out) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--update-readme", action="store_true")
    ap.add_argument("--only-scale", action="store_true", help="measure only the 50-package module rows")
    opts = ap.parse_args()
    go = os.environ.get("RUNGO_GO") or shutil.which("go")
    if not go:
        raise SystemExit("no go on PATH")
    go = real_go(go)
    work = Path(tempfile.mkdtemp(prefix="rungo-lspbench"))
    try:
        rungo = make_venv(work / "venv")
        root = work / "ws"
        for rel, text in {**SMALL, **big_package()}.items():
            p = root / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(text)
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("GOFLAGS", "RUNGO_CACHE", "PYTHONDONTWRITEBYTECODE"))}
        env.update({"GOCACHE": str(work / "gocache"), "RUNGO_CACHE": str(work / "rungo-cache"),
                    "GOTOOLCHAIN": "local", "GOFLAGS": "", "PYTHONPYCACHEPREFIX": str(work / "pycache"),
                    "PATH": str(Path(go).parent) + os.pathsep + os.environ.get("PATH", "")})
        web = work / "web"
        for rel, text in web_module().items():
            p = web / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(text)
        res: dict[str, Any] = {}
        if not opts.only_scale:
            subprocess.run([go, "build", "-o", str(work / "warm"), "./small"], cwd=root, env=env, check=True)
            subprocess.run([go, "vet", "./small"], cwd=root, env=env, check=True)
            c = Client([str(rungo), "lsp"], env, root)
            try:
                res = {
                    "diagnostics": {
                        "small": bench_diagnostics(c, root, "small/main.go", opts.runs, go, env),
                        "2,000 lines": bench_diagnostics(c, root, "big/main.go", opts.runs, go, env),
                    },
                    "run": bench_run(c, root, "small/main.go", opts.runs, go, env),
                }
            finally:
                c.close()
        res["scale"] = bench_scale(rungo, web, opts.runs, go, env)
        version = subprocess.run([go, "version"], capture_output=True, text=True).stdout.strip()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    meta = measured_with(version, "bench/lsp_bench.py")
    if opts.only_scale:    # the other rows keep their last measurement, and its date
        try:
            previous = json.loads((RESULTS / "lsp.json").read_text())
            gopls_version = res["scale"].get("gopls version") or [""]
            res["scale"]["measured"] = {**meta, "gopls": gopls_version[0] if gopls_version else ""}
            res = {**previous["results"], "scale": res["scale"]}
            meta = previous["meta"]
        except (OSError, ValueError, KeyError):
            print(json.dumps(res, indent=2))
            return 0
    publish("lsp", "lsp-bench" if opts.update_readme else None, {"meta": meta, "results": res}, render(meta, res))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
