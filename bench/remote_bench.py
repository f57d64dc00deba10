"""rungo's remote build cache (Remote Execution API over gRPC), measured side by side in one invocation.

Usage: python3 bench/remote_bench.py [--cold-runs N] [--runs N] [--program NAME] [--goflags FLAGS]
                                     [--no-cold] [--update-readme]

On a real program of tests/realworld/corpus.toml with about 50 non-standard packages (by default the
one whose `go list -deps` count of packages outside the standard library is closest to 50 within
40..60, else the smallest above 50; --program to choose), from a copy of its module, with the test
module cache and no network (GOPROXY=off), against a local BuildGrid server (tests/remote/buildgrid.py,
the venv in .cache/buildgrid-venv):

  cold        empty rungo cache (a fresh RUNGO_CACHE) and empty GOCACHE before every run,
              (a) without a remote, (b) with a warm remote: BuildGrid filled beforehand by one run of
              the same program from other empty caches, then `rungo cache wait`. Alternating a, b.
              After each (b) run, `rungo cache wait` (not timed) lets background uploads end before
              the next run, and the run's cache counts (stats.log, what `rungo cache stats` adds up)
              are kept. Goal: (b) / (a) <= 0.15x.
  unchanged   the same program again with a warm local cache, RUNGO_REMOTE_CACHE set and unset
              alternately (same RUNGO_CACHE and GOCACHE). Goal: with / without <= 1.05x.

rungo runs from a bare virtual environment (bench/run_bench.py's make_venv), and everything uses one
go (RUNGO_GO, else the go on PATH, a wrapper script resolved to the real binary) with
GOTOOLCHAIN=local. GOFLAGS is "" as in bench/realworld_bench.py unless --goflags says otherwise
(-modcacherw makes rungo watch the module cache's files too). Results go to bench/results/remote.json
and bench/results/remote.md; --update-readme only prints the markdown between
`remote-bench:begin` / `remote-bench:end` markers for pasting (README.md is not edited).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run_bench import make_venv, measured_with, publish, real_go  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "remote"))
from buildgrid import NOT_INSTALLED, BuildGrid, installed  # noqa: E402

MODCACHE = ROOT / ".cache" / "realworld" / "gomodcache"
CORPUS = ROOT / "tests" / "realworld" / "corpus.toml"
GOALS = {"cold": 0.15, "unchanged": 1.05}
GRAPH_GOALS = {"cold": 0.05, "unchanged": 1.05}    # the whole graph: only the program is downloaded
TARGET_PACKAGES = 50


def stats(xs: list[float]) -> dict[str, float]:
    return {"min": min(xs), "median": statistics.median(xs), "n": len(xs)}


def base_env(go: str, work: Path, goflags: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("GOFLAGS", "RUNGO_", "PYTHONDONTWRITEBYTECODE", "GOPROXY", "GOMODCACHE",
                                "GOCACHE", "GOCACHEPROG"))}
    env.update(GOMODCACHE=str(MODCACHE), GOPROXY="off", GOFLAGS=goflags, GOSUMDB="off", GOTOOLCHAIN="local",
               PYTHONPYCACHEPREFIX=str(work / "pycache"),
               PATH=str(Path(go).parent) + os.pathsep + os.environ.get("PATH", ""))
    return env


def module_copy(spec: dict[str, Any], go: str, env: dict[str, str], dest: Path) -> Path:
    """A writable copy of the program's module, from the test module cache."""
    info = json.loads(subprocess.run([go, "mod", "download", "-json", f"{spec['module']}@{spec['version']}"],
                                     env=env, capture_output=True, text=True, check=True, cwd=dest.parent).stdout)
    shutil.copytree(info["Dir"], dest)
    for d, _dirs, files in os.walk(dest):
        os.chmod(d, 0o755)
        for f in files:
            os.chmod(os.path.join(d, f), 0o644)
    return dest


def count_packages(spec: dict[str, Any], go: str, env: dict[str, str], scratch: Path) -> tuple[int, int]:
    """(packages outside the standard library, all packages) of `go list -deps` of the program."""
    info = json.loads(subprocess.run([go, "mod", "download", "-json", f"{spec['module']}@{spec['version']}"],
                                     env=env, capture_output=True, text=True, check=True, cwd=scratch).stdout)
    p = subprocess.run([go, "list", "-deps", "-f", "{{.Standard}}", spec["package"]], cwd=info["Dir"],
                       env={**env, "GOCACHE": str(scratch / "list-gocache")}, capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit(f"go list -deps {spec['package']} in {info['Dir']} failed:\n{p.stderr[-2000:]}")
    kinds = p.stdout.split()
    return kinds.count("false"), len(kinds)


def choose(programs: list[dict[str, Any]], wanted: str, go: str, env: dict[str, str],
           scratch: Path) -> tuple[dict[str, Any], int, int, str]:
    """The program to measure, its package counts, and why it was chosen."""
    candidates = [p for p in programs if not p.get("at_version") and (not wanted or p["name"] == wanted)]
    if not candidates:
        raise SystemExit(f"no program {wanted!r} (that is a module, not pkg@version) in {CORPUS}")
    counts: dict[str, tuple[int, int]] = {}
    for p in candidates:
        counts[p["name"]] = count_packages(p, go, env, scratch)
        print(f"remote-bench: {p['name']}: {counts[p['name']][0]} non-std packages, {counts[p['name']][1]} in all",
              file=sys.stderr, flush=True)
    if wanted:
        spec = candidates[0]
        why = "chosen with --program"
    else:
        near = [p for p in candidates if abs(counts[p["name"]][0] - TARGET_PACKAGES) <= 10]
        above = [p for p in candidates if counts[p["name"]][0] >= TARGET_PACKAGES]
        if near:
            spec = min(near, key=lambda p: abs(counts[p["name"]][0] - TARGET_PACKAGES))
            why = f"the corpus program closest to {TARGET_PACKAGES} non-std packages"
        elif above:
            spec = min(above, key=lambda p: counts[p["name"]][0])
            others = ", ".join(f"{n} {c[0]}" for n, c in sorted(counts.items(), key=lambda kv: kv[1][0]))
            why = (f"no corpus program has about {TARGET_PACKAGES} non-std packages ({others}): "
                   f"the closest above {TARGET_PACKAGES}")
        else:
            raise SystemExit(f"no corpus program has {TARGET_PACKAGES} or more non-std packages")
    nonstd, total = counts[spec["name"]]
    return spec, nonstd, total, why


def read_log(cache: Path) -> list[dict[str, int]]:
    """The lines of the cache's stats.log: one per process that used the cache (rungo itself, each
    GOCACHEPROG child of a go command), in the order they finished."""
    out: list[dict[str, int]] = []
    try:
        lines = (cache / "stats.log").read_text(errors="replace").splitlines()
    except OSError:
        return out
    for line in lines:
        try:
            d = json.loads(line)
        except ValueError:
            continue
        if isinstance(d, dict):
            out.append({k: v for k, v in d.items() if isinstance(v, int)})
    return out


def read_counts(cache: Path) -> dict[str, int]:
    """The sums of the cache's stats.log (what `rungo cache stats` shows as hits and transfers)."""
    sums: dict[str, int] = {}
    for d in read_log(cache):
        for k, v in d.items():
            sums[k] = sums.get(k, 0) + v
    return sums


class Runner:
    def __init__(self, cmd: list[str], cwd: Path, stdin: bytes) -> None:
        self.cmd, self.cwd, self.stdin = cmd, cwd, stdin
        self.expect: int | None = None
        self.notes: list[str] = []     # lines rungo wrote about itself (remote trouble, ...)

    def timed(self, env: dict[str, str]) -> float:
        t0 = time.perf_counter()
        p = subprocess.run(self.cmd, cwd=self.cwd, env=env, input=self.stdin, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE)
        dt = (time.perf_counter() - t0) * 1000.0
        err = p.stderr.decode(errors="replace")
        if self.expect is None:
            self.expect = p.returncode
        if p.returncode != self.expect:
            raise SystemExit(f"{' '.join(self.cmd)}: exit {p.returncode}, expected {self.expect}:\n{err[-2000:]}")
        for line in err.splitlines():
            if line.startswith("rungo") and line not in self.notes:
                self.notes.append(line)
                print(f"remote-bench: rungo said: {line}", file=sys.stderr, flush=True)
        return dt


def cache_cmd(rungo: Path, env: dict[str, str], *args: str) -> tuple[float, str]:
    t0 = time.perf_counter()
    p = subprocess.run([str(rungo), "cache", *args], env=env, capture_output=True, text=True)
    dt = (time.perf_counter() - t0) * 1000.0
    if p.returncode != 0:
        raise SystemExit(f"rungo cache {' '.join(args)} failed ({p.returncode}):\n{p.stdout}{p.stderr}")
    return dt, p.stdout


def fresh(env: dict[str, str], work: Path, name: str, remote: str | None) -> dict[str, str]:
    """env with empty RUNGO_CACHE and GOCACHE under work/name, and the remote set or not."""
    for sub in ("rungo-cache", "gocache"):
        shutil.rmtree(work / name / sub, ignore_errors=True)
    (work / name).mkdir(parents=True, exist_ok=True)
    out = dict(env, RUNGO_CACHE=str(work / name / "rungo-cache"), GOCACHE=str(work / name / "gocache"))
    if remote:
        out["RUNGO_REMOTE_CACHE"] = remote
    return out


def log(text: str) -> None:
    print(f"remote-bench: {text}", file=sys.stderr, flush=True)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cold-runs", type=int, default=3)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--program", default="")
    ap.add_argument("--goflags", default="")
    ap.add_argument("--no-cold", action="store_true")
    ap.add_argument("--graph", default="", help="RUNGO_GRAPH for rungo (native: rungo compiles the whole "
                    "graph and fetches only what a step reads); results go to bench/results/remote-graph.*")
    ap.add_argument("--update-readme", action="store_true",
                    help="print the markdown between remote-bench markers (README.md is not edited)")
    opts = ap.parse_args()
    if not (MODCACHE.parent / "complete.txt").is_file():
        raise SystemExit("the corpus is not downloaded: run python3 tools/setup_test_tools.py")
    if not installed():
        raise SystemExit(NOT_INSTALLED)
    go = os.environ.get("RUNGO_GO") or shutil.which("go")
    if not go:
        raise SystemExit("no go on PATH")
    go = real_go(go)
    version = subprocess.run([go, "version"], capture_output=True, text=True).stdout.strip()
    programs = tomllib.loads(CORPUS.read_text())["program"]

    load_before = os.getloadavg()
    top = Path(tempfile.mkdtemp(prefix="rungo-remotebench"))
    server: BuildGrid | None = None
    results: dict[str, Any] = {}
    try:
        env = base_env(go, top, opts.goflags)
        if opts.graph:
            env["RUNGO_GRAPH"] = opts.graph
        spec, nonstd, total, why = choose(programs, opts.program, go, env, top)
        log(f"program {spec['name']} ({spec['module']} {spec['package']}): {nonstd} non-std packages, "
            f"{total} in all; {why}")
        rungo = make_venv(top / "venv")
        src = module_copy(spec, go, env, top / "src")
        run = spec.get("bench") or spec["runs"][0]
        if any("{url}" in a or "{port}" in a for a in run.get("args", [])):
            raise SystemExit(f"{spec['name']}'s run needs a server; choose another --program")
        args = [a.replace("{dir}", str(top)) for a in run.get("args", [])]
        for name, text in (run.get("files") or {}).items():
            (top / name).write_text(text)
        runner = Runner([str(rungo), "run", *run.get("flags", []), spec["package"], *args], src,
                        run.get("stdin", "").encode())

        server = BuildGrid(top / "bgd").start()
        url = server.url
        log(f"BuildGrid at {url} (started in {server.start_seconds:.1f}s)")

        if not opts.no_cold:
            # Fill the remote: one run from other empty caches, then wait for its uploads.
            fill_env = fresh(env, top, "fill", url)
            fill_ms = runner.timed(fill_env)
            wait_ms, _ = cache_cmd(rungo, fill_env, "wait")
            fill_counts = read_counts(Path(fill_env["RUNGO_CACHE"]))
            _, fill_stats = cache_cmd(rungo, fill_env, "stats")
            log(f"filled the remote: run {fill_ms:.0f} ms, then rungo cache wait {wait_ms:.0f} ms; {fill_counts}")
            results["fill"] = {"run_ms": fill_ms, "wait_ms": wait_ms, "counts": fill_counts,
                               "per_process": read_log(Path(fill_env["RUNGO_CACHE"])), "stats": fill_stats}

            cold: dict[str, list[float]] = {"without remote": [], "warm remote": []}
            per_run: list[dict[str, Any]] = []
            for i in range(opts.cold_runs):
                a_env = fresh(env, top, "cold", None)
                cold["without remote"].append(runner.timed(a_env))
                b_env = fresh(env, top, "cold", url)
                ms = runner.timed(b_env)
                cold["warm remote"].append(ms)
                counts = read_counts(Path(b_env["RUNGO_CACHE"]))
                per_process = read_log(Path(b_env["RUNGO_CACHE"]))
                wait_ms, _ = cache_cmd(rungo, b_env, "wait")
                _, st = cache_cmd(rungo, b_env, "stats")
                per_run.append({"ms": ms, "counts": counts, "per_process": per_process, "wait_after_ms": wait_ms,
                                "stats": st})
                log(f"cold {i + 1}/{opts.cold_runs}: without remote {cold['without remote'][-1]:.0f} ms, "
                    f"warm remote {ms:.0f} ms ({counts}; wait after {wait_ms:.0f} ms)")
            results["cold"] = {k: stats(v) for k, v in cold.items()}
            results["cold"]["samples"] = cold
            results["cold"]["warm remote runs"] = per_run

        # unchanged: one cache directory, warmed through the remote when it has the program (else
        # built), then the same run with the remote set and unset alternately.
        on = fresh(env, top, "unchanged", url)
        off = {k: v for k, v in on.items() if k != "RUNGO_REMOTE_CACHE"}
        runner.timed(on)
        cache_cmd(rungo, on, "wait")
        runner.timed(off)
        time.sleep(1.2)     # let the files age past rungo's one-second mtime window
        runner.timed(on)
        runner.timed(off)
        before = read_counts(Path(on["RUNGO_CACHE"]))
        unchanged: dict[str, list[float]] = {"without remote": [], "with remote": []}
        for _ in range(opts.runs):
            unchanged["without remote"].append(runner.timed(off))
            unchanged["with remote"].append(runner.timed(on))
        after = read_counts(Path(on["RUNGO_CACHE"]))
        delta = {k: after.get(k, 0) - before.get(k, 0) for k in after if after.get(k, 0) != before.get(k, 0)}
        results["unchanged"] = {k: stats(v) for k, v in unchanged.items()}
        results["unchanged"]["samples"] = unchanged
        results["unchanged"]["counts during runs"] = delta
        log(f"unchanged: without remote {results['unchanged']['without remote']}, "
            f"with remote {results['unchanged']['with remote']}; cache counts during the runs {delta}")
        results["notes"] = runner.notes
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(top, ignore_errors=True)

    rows: list[dict[str, Any]] = []
    for scen, base, other in (("cold", "without remote", "warm remote"),
                              ("unchanged", "without remote", "with remote")):
        if scen not in results:
            continue
        a, b = results[scen][base], results[scen][other]
        rows.append({"scenario": scen, "runs": int(a["n"]), "base": base, "other": other,
                     "base_min": a["min"], "base_median": a["median"],
                     "other_min": b["min"], "other_median": b["median"],
                     "ratio_min": b["min"] / a["min"], "ratio_median": b["median"] / a["median"],
                     "goal": GRAPH_GOALS[scen] if opts.graph else GOALS[scen]})
    if "fill" in results and "cold" in results:
        a = results["cold"]["without remote"]
        f = results["fill"]["run_ms"]
        rows.append({"scenario": "cold, empty remote", "runs": 1, "base": "without remote", "other": "empty remote",
                     "base_min": a["min"], "base_median": a["median"], "other_min": f, "other_median": f,
                     "ratio_min": f / a["min"], "ratio_median": f / a["median"], "goal": None})
    meta = measured_with(version, "bench/remote_bench.py")
    meta["command"] = meta["command"].rstrip()
    meta.update(program=spec["name"], module=f"{spec['module']} {spec['version']}", package=spec["package"],
                args=" ".join(args), nonstd_packages=str(nonstd), total_packages=str(total), chosen=why,
                goflags=opts.goflags, remote="BuildGrid (bgd) on 127.0.0.1, disk CAS, in-memory action cache",
                load=f"load average {load_before[0]:.1f} at the start, {os.getloadavg()[0]:.1f} at the end")
    if opts.graph:
        meta["graph"] = opts.graph
    table = render(meta, rows, results)
    publish("remote-graph" if opts.graph else "remote", "remote-graph-bench" if opts.graph else None, {"meta": meta, "rows": rows, "details": results}, table)
    if opts.update_readme:
        marker = "remote-graph-bench" if opts.graph else "remote-bench"
        print(f"<!-- {marker}:begin -->\n" + table + f"<!-- {marker}:end -->")
    return 0


def render(meta: dict[str, str], rows: list[dict[str, Any]], results: dict[str, Any]) -> str:
    out = [f"Measured {meta['date']} with {meta['go']}, Python {meta['python']}, {meta['machine']}; "
           f"`{meta['command']}`.", "",
           f"Program: {meta['program']} (`{meta['module']}`, `{meta['package']}`), "
           f"{meta['nonstd_packages']} packages outside the standard library, {meta['total_packages']} in all "
           f"(`go list -deps`); {meta['chosen']}. Remote: {meta['remote']}. `GOFLAGS=\"{meta['goflags']}\"`.", "",
           "| scenario | runs | without remote min / median | with remote min / median | ratio min / median | goal |",
           "| --- | ---: | ---: | ---: | ---: | ---: |"]
    labels = {"cold": "cold, warm remote", "unchanged": "unchanged", "cold, empty remote": "cold, empty remote (the fill)"}
    for r in rows:
        if r["goal"] is None:
            goal = "—"
        else:
            goal = f"≤ {r['goal']}x" + ("" if r["ratio_median"] <= r["goal"] else " (missed)")
        out.append(f"| {labels[r['scenario']]} | {r['runs']} | {r['base_min']:.0f} / {r['base_median']:.0f} ms | "
                   f"{r['other_min']:.0f} / {r['other_median']:.0f} ms | "
                   f"{r['ratio_min']:.2f}x / {r['ratio_median']:.2f}x | {goal} |")
    out += ["", f"Measured with the {meta['load']} (the machine is shared)."]
    if meta.get("graph"):
        out += ["", f"rungo ran with `RUNGO_GRAPH={meta['graph']}`: it compiles the standard library and the "
                "required modules itself, and a package's key takes its imports' output IDs from the remote's "
                "action cache without fetching them."]
    runs = results.get("cold", {}).get("warm remote runs") or []
    if runs:
        c = runs[-1]["counts"]
        procs = "; ".join(f"{d.get('remote_hits', 0)} hits, {d.get('bytes_down', 0) / (1 << 20):.1f} MiB"
                          for d in runs[-1]["per_process"])
        f = results["fill"]["counts"]
        out += ["", f"Cold with a warm remote, the last run's cache counts: {c.get('local_hits', 0)} local hits, "
                    f"{c.get('remote_hits', 0)} remote hits, {c.get('remote_misses', 0)} remote misses, "
                    f"{c.get('bytes_down', 0) / (1 << 20):.1f} MiB down, {c.get('uploads', 0)} uploads "
                    f"(by process, in the order they ended: {procs}). The fill: "
                    f"{f.get('uploads', 0)} uploads, {f.get('bytes_up', 0) / (1 << 20):.1f} MiB up, then "
                    f"`rungo cache wait` {results['fill']['wait_ms']:.0f} ms."]
    delta = results.get("unchanged", {}).get("counts during runs")
    if delta is not None:
        out += ["", "Unchanged: " + ("no cache lookups during the timed runs (the rerun shortcut)." if not delta
                                     else f"cache counts during the timed runs: {delta}.")]
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
