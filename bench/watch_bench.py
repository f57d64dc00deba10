"""Watch mode, save -> first output byte of the restarted program: `rungo run -watch` against air and
against a plain `go run` re-invoked by a minimal watcher, in one invocation.

Usage: python3 bench/watch_bench.py [--runs N] [--update-readme]

Modules: the small two-package program of bench/run_bench.py and the 50-package web server of
bench/lsp_bench.py (its main package, cmd/server, is what runs). Each watcher gets a copy of its
own; every sample saves a new content of the main package's main.go (a constant the program prints
first) and times until that line arrives on the watcher's output. Rounds interleave the watchers.

- rungo: `rungo run -watch <package>` with its defaults (50 ms debounce).
- air (github.com/air-verse/air, `go install`ed by tools/setup_test_tools.py): the `.air.toml`
  that `air init` writes, defaults kept (among them `delay = 1000`), the build command's package
  set to the module's main package.
- go run: a minimal watcher (watchfiles, recursive, .go files, the same 50 ms debounce) that stops
  `go run <package>`'s process group and starts it again.

Results go to bench/results/watch.json and watch.md, and with --update-readme into README.md
between the `watch-bench:begin` / `watch-bench:end` markers.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from lsp_bench import web_module  # noqa: E402
from run_bench import MODULE, ROOT, measured_with, publish, real_go, summary  # noqa: E402

GOAL = 0.5          # rungo's time as a fraction of air's
SETTLE = 0.4        # seconds of quiet before each save

MINIMAL_WATCHER = r"""
import os, signal, subprocess, sys
from watchfiles import watch

go, pkg = sys.argv[1], sys.argv[2]

def start():
    return subprocess.Popen([go, "run", pkg], start_new_session=True)

proc = start()
for changes in watch(".", debounce=50, step=5, watch_filter=lambda _c, p: p.endswith(".go")):
    try:
        os.killpg(proc.pid, signal.SIGINT)
    except OSError:
        pass
    proc.wait()
    proc = start()
"""


def small_module() -> tuple[dict[str, str], str, str]:
    """(files, the main package's main.go, the package to run)."""
    files = dict(MODULE)
    files["main.go"] = files["main.go"].replace(
        "func main() {\n", 'func main() {\n\tfmt.Println("ready", edit)\n')
    return files, "main.go", "."


def big_module() -> tuple[dict[str, str], str, str]:
    files = web_module()
    main = files["cmd/server/main.go"]
    main = main.replace('import (\n', 'import (\n\t"fmt"\n', 1)
    main = main.replace("func main() {\n", 'const edit = 0\n\nfunc main() {\n\tfmt.Println("ready", edit)\n', 1)
    files["cmd/server/main.go"] = main
    return files, "cmd/server/main.go", "./cmd/server"


class Watcher:
    """One watcher process over one copy of the module; its output lines are timestamped as they come."""

    def __init__(self, name: str, cmd: list[str], cwd: Path, env: dict[str, str]) -> None:
        self.name = name
        self.cwd = cwd
        self.lines: list[tuple[float, str]] = []
        self._cond = threading.Condition()
        self.proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in iter(self.proc.stdout.readline, b""):
            t = time.perf_counter()
            with self._cond:
                self.lines.append((t, raw.decode(errors="replace")))
                self._cond.notify_all()

    def wait_for(self, marker: str, since: int, timeout: float) -> float:
        """When a line containing marker arrived (among the lines from index `since`)."""
        pattern = re.compile(re.escape(marker) + r"\b")
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for t, line in self.lines[since:]:
                    if pattern.search(line):
                        return t
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None:
                    tail = "".join(line for _, line in self.lines[-30:])
                    raise SystemExit(f"{self.name}: no {marker!r} within {timeout:.0f} s:\n{tail}")
                self._cond.wait(min(left, 0.2))

    def stop(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGINT)
            self.proc.wait(10)
        except (OSError, subprocess.TimeoutExpired):
            pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except OSError:
            pass


def find_air(go: str, env: dict[str, str]) -> str | None:
    found = shutil.which("air", path=env.get("PATH"))
    if found:
        return found
    gopath = subprocess.run([go, "env", "GOPATH"], capture_output=True, text=True, env=env).stdout.strip()
    cand = Path(gopath.split(os.pathsep)[0]) / "bin" / "air" if gopath else None
    return str(cand) if cand is not None and cand.is_file() else None


def write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)


def air_config(air: str, root: Path, pkg: str, env: dict[str, str]) -> None:
    """`air init`'s configuration, with the build command naming the module's main package."""
    subprocess.run([air, "init"], cwd=root, env=env, check=True, capture_output=True)
    conf = root / ".air.toml"
    conf.write_text(conf.read_text().replace('cmd = "go build -o ./tmp/main ."',
                                             f'cmd = "go build -o ./tmp/main {pkg}"'))


def bench_module(label: str, spec: tuple[dict[str, str], str, str], runs: int, base: Path, go: str,
                 air: str | None, env: dict[str, str]) -> dict[str, Any]:
    files, main_rel, pkg = spec
    go_dir = str(Path(go).parent)
    cmds: dict[str, list[str]] = {
        "rungo": [sys.executable, "-m", "rungo", "run", "-watch", pkg],
        "go run": [sys.executable, "-c", MINIMAL_WATCHER, go, pkg],
    }
    if air is not None:
        cmds["air"] = [air]
    watchers: dict[str, Watcher] = {}
    try:
        for name, cmd in cmds.items():
            root = base / re.sub(r"\W+", "-", label) / name.replace(" ", "")
            write(root, files)
            if name == "air":
                air_config(air or "", root, pkg, env)
            wenv = dict(env, PATH=go_dir + os.pathsep + env.get("PATH", ""))
            watchers[name] = Watcher(name, cmd, root, wenv)
        for w in watchers.values():
            w.wait_for("ready 0", 0, 600)
        samples: dict[str, list[float]] = {name: [] for name in watchers}
        for n in range(1, runs + 2):            # the first round warms up and is not counted
            for name, w in watchers.items():
                time.sleep(SETTLE)
                main = w.cwd / main_rel
                text = files[main_rel].replace("const edit = 0", f"const edit = {n}")
                since = len(w.lines)
                t0 = time.perf_counter()
                main.write_text(text)
                t1 = w.wait_for(f"ready {n}", since, 300)
                if n > 1:
                    samples[name].append((t1 - t0) * 1000.0)
        return {"module": label, "runs": runs, **{name: summary(s) for name, s in samples.items()}}
    finally:
        for w in watchers.values():
            w.stop()


def render(meta: dict[str, str], rows: list[dict[str, Any]]) -> str:
    out = [
        f"Measured {meta['date']} with {meta['go']}, Python {meta['python']}, {meta['machine']}; "
        f"`{meta['command']}`. Save -> first output line of the restarted program.\n",
        "",
        "| module | runs | `rungo run -watch` min / median | air min / median | `go run` + watcher min / median "
        "| rungo / air min / median | rungo / go run min / median | goal |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]

    def cell(r: dict[str, Any], name: str) -> str:
        s = r.get(name)
        return f"{s['min']:.0f} / {s['median']:.0f} ms" if s else "n/a"

    def ratio(r: dict[str, Any], name: str) -> str:
        s = r.get(name)
        if not s:
            return "n/a"
        return f"{r['rungo']['min'] / s['min']:.2f}x / {r['rungo']['median'] / s['median']:.2f}x"

    for r in rows:
        out.append(f"| {r['module']} | {r['runs']} | {cell(r, 'rungo')} | {cell(r, 'air')} | {cell(r, 'go run')} "
                   f"| {ratio(r, 'air')} | {ratio(r, 'go run')} | ≤ {GOAL}x of air |")
    return "\n".join(out) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--update-readme", action="store_true")
    opts = ap.parse_args()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RUNGO_", "GOFLAGS"))}
    env["GOTOOLCHAIN"] = "local"
    env["PYTHONPATH"] = str(ROOT / "server") + os.pathsep + env.get("PYTHONPATH", "")
    go = real_go(os.environ.get("RUNGO_GO") or shutil.which("go") or "go")
    version = subprocess.run([go, "env", "GOVERSION"], capture_output=True, text=True, env=env).stdout.strip()
    air = find_air(go, env)
    if air is None:
        print("air is not installed (tools/setup_test_tools.py installs it); its column is left out", file=sys.stderr)
    rows = []
    with tempfile.TemporaryDirectory(prefix="rungo-watch-bench-") as tmp:
        env["RUNGO_CACHE"] = str(Path(tmp) / "rungo-cache")
        for label, spec in (("small (2 packages)", small_module()), ("web (50 packages)", big_module())):
            rows.append(bench_module(label, spec, opts.runs, Path(tmp), go, air, env))
    meta = measured_with(version, "bench/watch_bench.py")
    publish("watch", "watch-bench" if opts.update_readme else None, {"meta": meta, "rows": rows}, render(meta, rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
