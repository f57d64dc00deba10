"""`rungo run` beside `go run` on the real programs of tests/realworld/corpus.toml, in one invocation.

Usage: python3 bench/realworld_bench.py [--runs N] [--cold-runs N] [--programs a,b] [--update-readme]

For every program, from a copy of its module (the main module; `pkg@version` programs as such), with
the test module cache the setup step filled and no network (GOPROXY=off, or the module cache's
download directory as a file:// proxy for `pkg@version`):
  cold          empty GOCACHE and rungo cache before each run: everything is compiled
  unchanged     the same program again
  edit main     a function added to a file of the main package before each run (new content each time)
  edit shared   the same in a file of a package most of the module's packages import
  back to a built version   the main package's edit undone: the content of two runs ago, built then
Runs alternate between the tools; min and median per tool; the ratio rungo / go run. rungo runs twice
in each round: through its warm engine (started by its first run, as for a user) and with
RUNGO_ENGINE=off; each tool works in a copy of its own (the engine builds ahead only what it ran).
rungo runs from a bare virtual environment (see bench/run_bench.py). Results go to
bench/results/realworld.json and .md, and with --update-readme into README.md between the
`realworld-bench:begin` / `realworld-bench:end` markers.
"""

from __future__ import annotations

import argparse
import http.server
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run_bench import make_venv, measured_with, publish, real_go, stop_engine, wait_engine  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
MODCACHE = ROOT / ".cache" / "realworld" / "gomodcache"
CORPUS = ROOT / "tests" / "realworld" / "corpus.toml"
GOALS = {"cold": 1.1, "unchanged": 0.3, "edit main": 0.8, "edit shared": 1.0, "back to a built version": 0.3}
GRAPH_GOALS = {**GOALS, "cold": 1.0}       # the whole graph's issue: cold no slower than go run
TOOLS = ("go run", "rungo run", "rungo run, no engine")


class Pong(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802
        self.send_response(200)
        self.send_header("Content-Length", "5")
        self.end_headers()
        self.wfile.write(b"pong\n")

    def log_message(self, *args: object) -> None:
        pass


def timed(cmd: list[str], cwd: Path, env: dict[str, str], stdin: bytes, expect: int | None) -> tuple[float, int]:
    t0 = time.perf_counter()
    p = subprocess.run(cmd, cwd=cwd, env=env, input=stdin, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    dt = (time.perf_counter() - t0) * 1000.0
    if expect is not None and p.returncode != expect:
        raise SystemExit(f"{' '.join(cmd)}: exit {p.returncode}, expected {expect}:\n"
                         f"{p.stderr.decode(errors='replace')[-2000:]}")
    return dt, p.returncode


def add_edit(path: Path, n: int) -> None:
    """Appends (or replaces) an unexported function: new code in the package, every time different."""
    text = path.read_text()
    marker = "\n// rungo-bench edit\n"
    if marker in text:
        text = text[: text.index(marker)]
    path.write_text(text + f"{marker}func rungoBenchEdit() int {{ return {n} }}\n")


def stats(xs: list[float]) -> dict[str, float]:
    return {"min": min(xs), "median": statistics.median(xs), "n": len(xs)}


def bench_program(spec: dict[str, Any], go: str, rungo: Path, work: Path, opts: argparse.Namespace,
                  url: str) -> dict[str, dict[str, dict[str, float]]]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("GOFLAGS", "RUNGO_", "PYTHONDONTWRITEBYTECODE", "GOPROXY", "GOMODCACHE"))}
    env.update(GOMODCACHE=str(MODCACHE), GOPROXY="off", GOFLAGS="", GOSUMDB="off", GOTOOLCHAIN="local",
               GOCACHE=str(work / "gocache"), RUNGO_CACHE=str(work / "rungo-cache"),
               PYTHONPYCACHEPREFIX=str(work / "pycache"),
               PATH=str(Path(go).parent) + os.pathsep + os.environ.get("PATH", ""))
    run = spec.get("bench") or spec["runs"][0]
    args = [a.replace("{url}", url).replace("{dir}", str(work)) for a in run.get("args", [])]
    stdin = run.get("stdin", "").encode()
    env["XDG_RUNTIME_DIR"] = str(work / "run")          # this program's warm engine, and only it
    (work / "run").mkdir(mode=0o700)
    if opts.graph:
        env["RUNGO_GRAPH"] = opts.graph                 # go run ignores it
    envs = {"go run": env, "rungo run": env, "rungo run, no engine": {**env, "RUNGO_ENGINE": "off"}}
    srcs: dict[str, Path] = {}
    if spec.get("at_version"):
        env["GOPROXY"] = (MODCACHE / "cache" / "download").as_uri()
        for i, tool in enumerate(TOOLS):
            srcs[tool] = work / f"cwd-{i}"
            srcs[tool].mkdir()
        target = f"{spec['package']}@{spec['version']}"
    else:
        info = json.loads(subprocess.run([go, "mod", "download", "-json", f"{spec['module']}@{spec['version']}"],
                                         env=env, capture_output=True, text=True, check=True, cwd=work).stdout)
        for i, tool in enumerate(TOOLS):
            srcs[tool] = work / f"src-{i}"
            shutil.copytree(info["Dir"], srcs[tool])
            for d, _dirs, files in os.walk(srcs[tool]):
                os.chmod(d, 0o755)
                for f in files:
                    os.chmod(os.path.join(d, f), 0o644)
        target = spec["package"]
    for name, text in (run.get("files") or {}).items():
        (work / name).write_text(text)
    go_cmd = [go, "run", *run.get("flags", []), target, *args]
    rungo_cmd = [str(rungo), "run", *run.get("flags", []), target, *args]
    cmds = {"go run": go_cmd, "rungo run": rungo_cmd, "rungo run, no engine": rungo_cmd}
    out: dict[str, dict[str, dict[str, float]]] = {}
    expect: int | None = None

    def one(tool: str) -> float:
        nonlocal expect
        dt, rc = timed(cmds[tool], srcs[tool], envs[tool], stdin, expect)
        expect = rc if expect is None else expect
        return dt

    wanted = {w for w in opts.scenarios.split(",") if w}

    def chosen(scen: str) -> bool:
        return not wanted or scen in wanted

    try:
        if opts.cold_runs and chosen("cold"):
            acc: dict[str, list[float]] = {"go run": [], "rungo run": []}
            for _ in range(opts.cold_runs):
                for tool in acc:
                    stop_engine(rungo, env)
                    shutil.rmtree(env["GOCACHE"], ignore_errors=True)
                    shutil.rmtree(env["RUNGO_CACHE"], ignore_errors=True)
                    acc[tool].append(one(tool))
            out["cold"] = {t: stats(v) for t, v in acc.items()}
        for tool in TOOLS:   # warm all, let the files age past the one-second mtime window, once more
            one(tool)
        wait_engine(rungo, env)
        time.sleep(1.2)
        for tool in TOOLS:
            one(tool)
        if chosen("unchanged"):
            acc = {t: [] for t in TOOLS}
            for _ in range(opts.runs):
                for tool in TOOLS:
                    acc[tool].append(one(tool))
            out["unchanged"] = {t: stats(v) for t, v in acc.items()}
        out.update(edits(spec, srcs, one, opts, chosen))
    finally:
        stop_engine(rungo, env)
    return out


def edits(spec: dict[str, Any], srcs: dict[str, Path], one: Any, opts: argparse.Namespace,
          chosen: Any) -> dict[str, dict[str, dict[str, float]]]:
    """The edit scenarios: each tool edits its own copy, new content before every run; then the main
    package's edit undone (back to the content of two runs ago, which each tool built then)."""
    out: dict[str, dict[str, dict[str, float]]] = {}
    n = 0
    for scen, key in (("edit main", "edit_main"), ("edit shared", "edit_shared")):
        if not spec.get(key) or not chosen(scen):
            continue
        originals = {tool: (srcs[tool] / spec[key]).read_text() for tool in TOOLS}
        acc: dict[str, list[float]] = {t: [] for t in TOOLS}
        for _ in range(opts.edit_runs):
            for tool in TOOLS:
                n += 1
                add_edit(srcs[tool] / spec[key], n)
                acc[tool].append(one(tool))
        out[scen] = {t: stats(v) for t, v in acc.items()}
        if scen == "edit main" and chosen("back to a built version"):
            acc = {t: [] for t in TOOLS}
            for _ in range(opts.edit_runs):
                for tool in TOOLS:
                    path = srcs[tool] / spec[key]
                    add_edit(path, n + 1)
                    one(tool)
                    add_edit(path, n + 2)
                    one(tool)
                    add_edit(path, n + 1)
                    acc[tool].append(one(tool))
                    n += 2
            out["back to a built version"] = {t: stats(v) for t, v in acc.items()}
        for tool in TOOLS:
            (srcs[tool] / spec[key]).write_text(originals[tool])
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--edit-runs", type=int, default=5)
    ap.add_argument("--cold-runs", type=int, default=1)
    ap.add_argument("--programs", default="")
    ap.add_argument("--scenarios", default="", help="e.g. unchanged,edit main (default: all)")
    ap.add_argument("--graph", default="", help="RUNGO_GRAPH for rungo (native: rungo compiles the whole "
                    "graph); its results go to bench/results/realworld-graph.*")
    ap.add_argument("--update-readme", action="store_true")
    opts = ap.parse_args()
    stem = "realworld-graph" if opts.graph else "realworld"
    if not (MODCACHE.parent / "complete.txt").is_file():
        raise SystemExit("the corpus is not downloaded: run python3 tools/setup_test_tools.py")
    go = os.environ.get("RUNGO_GO") or shutil.which("go")
    if not go:
        raise SystemExit("no go on PATH")
    go = real_go(go)
    version = subprocess.run([go, "version"], capture_output=True, text=True).stdout.strip()
    wanted = {p for p in opts.programs.split(",") if p}
    programs = [p for p in tomllib.loads(CORPUS.read_text())["program"] if not wanted or p["name"] in wanted]
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Pong)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{srv.server_address[1]}/"
    top = Path(tempfile.mkdtemp(prefix="rungo-rwbench"))
    rows: list[dict[str, Any]] = []
    try:
        rungo = make_venv(top / "venv")
        for spec in programs:
            work = top / spec["name"]
            work.mkdir()
            print(f"bench: {spec['name']}", file=sys.stderr, flush=True)
            res = bench_program(spec, go, rungo, work, opts, url)
            for scen in ("cold", "unchanged", "edit main", "edit shared", "back to a built version"):
                if scen in res:
                    g, rg = res[scen]["go run"], res[scen]["rungo run"]
                    row: dict[str, Any] = {"program": spec["name"], "scenario": scen, "runs": int(g["n"]),
                                           "go_min": g["min"], "go_median": g["median"],
                                           "rungo_min": rg["min"], "rungo_median": rg["median"],
                                           "ratio_min": rg["min"] / g["min"],
                                           "ratio_median": rg["median"] / g["median"],
                                           "goal": (GRAPH_GOALS if opts.graph else GOALS)[scen]}
                    o = res[scen].get("rungo run, no engine")
                    if o is not None:
                        row.update(off_min=o["min"], off_median=o["median"], off_ratio_min=o["min"] / g["min"],
                                   off_ratio_median=o["median"] / g["median"])
                    rows.append(row)
            shutil.rmtree(work, ignore_errors=True)
    finally:
        srv.shutdown()
        shutil.rmtree(top, ignore_errors=True)
    meta = measured_with(version, "bench/realworld_bench.py")
    if wanted or opts.scenarios:
        # A part was measured: it replaces its own rows of the last full results, marked with its date.
        try:
            earlier = json.loads((ROOT / "bench" / "results" / f"{stem}.json").read_text())
        except (OSError, ValueError):
            earlier = {"meta": {}, "rows": []}
        fresh = {(r["program"], r["scenario"]) for r in rows}
        for r in rows if earlier["rows"] else ():      # a first measurement is not a re-measurement
            r["remeasured"] = meta["date"] + " (`" + meta["command"] + "`)"
        order = {(r["program"], r["scenario"]): i for i, r in enumerate(earlier["rows"])}
        merged = [r for r in earlier["rows"] if (r["program"], r["scenario"]) not in fresh] + rows
        merged.sort(key=lambda r: order.get((r["program"], r["scenario"]), len(order)))
        meta, rows = earlier["meta"] or meta, merged
    if opts.graph:
        meta["graph"] = opts.graph
    publish(stem, f"{stem}-bench" if opts.update_readme else None, {"meta": meta, "rows": rows},
            render(meta, rows))
    return 0


def render(meta: dict[str, str], rows: list[dict[str, Any]]) -> str:
    out = [f"Measured {meta['date']} with {meta['go']}, Python {meta['python']}, {meta['machine']}; "
           f"`{meta['command']}`.", "",
           "| program | scenario | runs | `go run` min / median | `rungo run` min / median | ratio min / median "
           "| without the engine min / median | ratio min / median | goal |",
           "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    notes = [f"Rows marked * were measured again on {r['remeasured']}." for r in rows if r.get("remeasured")]
    for r in rows:
        miss = "" if r["ratio_median"] <= r["goal"] else " (missed)"
        star = " *" if r.get("remeasured") else ""
        off = (f"{r['off_min']:.0f} / {r['off_median']:.0f} ms | {r['off_ratio_min']:.2f}x / {r['off_ratio_median']:.2f}x"
               if "off_min" in r else "— | —")
        out.append(f"| {r['program']} | {r['scenario']}{star} | {r['runs']} | {r['go_min']:.0f} / {r['go_median']:.0f} ms | "
                   f"{r['rungo_min']:.0f} / {r['rungo_median']:.0f} ms | "
                   f"{r['ratio_min']:.2f}x / {r['ratio_median']:.2f}x | {off} | ≤ {r['goal']}x{miss} |")
    out += ["", "`rungo run` asks the warm engine (started by its first run, as for a user); \"without the engine\" "
            "is `RUNGO_ENGINE=off`. Cold runs start with empty caches and no engine."]
    if meta.get("graph"):
        out += ["", f"rungo ran with `RUNGO_GRAPH={meta['graph']}`: it compiles the standard library and the "
                "required modules itself (go list is asked only for the graph)."]
    if notes:
        out += ["", notes[0]]
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
