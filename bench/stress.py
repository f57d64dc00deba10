"""A bounded stress run of `rungo run`: concurrency with a concurrent editor (in-process, then
through the warm engine), kill -9 at random moments, damage to the cache, and many runs of
programs that exit, panic or die of a signal.

    python bench/stress.py            # the full run: 16 runners x 50 runs, 100 kills, 200 damage rounds,
                                      # 1,000 program runs
    python bench/stress.py --scale 0.1

Every phase counts what must be zero (wrong outputs, poisoned entries, failed reruns, leftover work
directories and processes, damaged entries served, files left behind) and prints one Markdown table.
It uses the `rungo` next to this Python and the `go` on PATH, with a private cache, TMPDIR and
module tree; GOCACHE is $RUNGO_TEST_GOCACHE when set (a warm one saves minutes), else private.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

RUNGO = [str(Path(sys.executable).parent / "rungo")]
if not Path(RUNGO[0]).exists():
    RUNGO = [sys.executable, "-m", "rungo"]

LIB = 'package lib\n\nconst V = "{value}"\n'
MAIN = ('package main\n\nimport (\n\t"fmt"\n\n\t"example.com/stress/lib"\n)\n\n'
        'func main() {{ fmt.Println(lib.V, "{tag}") }}\n')
PROGRAM = '''package main

import (
	"fmt"
	"os"
	"strconv"
	"syscall"
)

func main() {
	switch os.Args[1] {
	case "exit":
		n, _ := strconv.Atoi(os.Args[2])
		fmt.Println("exiting", n)
		os.Exit(n)
	case "panic":
		panic("on purpose")
	case "signal":
		n, _ := strconv.Atoi(os.Args[2])
		syscall.Kill(os.Getpid(), syscall.Signal(n))
		select {}
	}
	fmt.Println("ok")
}
'''


@dataclass
class Figures:
    rows: list[tuple[str, str, str]] = field(default_factory=list)

    def add(self, phase: str, done: str, bad: str) -> None:
        self.rows.append((phase, done, bad))
        print(f"  {phase}: {done}; {bad}", flush=True)

    def table(self) -> str:
        out = ["| phase | done | must be 0 |", "| --- | --- | --- |"]
        out += [f"| {a} | {b} | {c} |" for a, b, c in self.rows]
        return "\n".join(out)


def write_module(d: Path, value: str, tag: str = "a") -> None:
    (d / "lib").mkdir(parents=True, exist_ok=True)
    (d / "go.mod").write_text("module example.com/stress\n\ngo 1.22\n")
    (d / "main.go").write_text(MAIN.format(tag=tag))
    (d / "lib" / "lib.go").write_text(LIB.format(value=value))


def run(cmd: list[str], cwd: Path, env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def leftover_processes(root: Path) -> list[str]:
    """Processes whose command line or working directory is inside the stress tree."""
    found = []
    me = os.getpid()
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) == me:
            continue
        try:
            cmd = Path(f"/proc/{d}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            cwd = os.readlink(f"/proc/{d}/cwd")
        except OSError:
            continue
        if str(root) in cmd or cwd.startswith(str(root)):
            found.append(f"{d}: {cmd.strip()[:120]}")
    return found


def tmp_leftovers(tmp: Path) -> list[Path]:
    return sorted(tmp.iterdir())


# ----- phase 1: concurrent runners and an editor -----------------------------------------------------------


def phase_concurrency(root: Path, env: dict[str, str], runners: int, runs: int, figs: Figures,
                      name: str = "concurrency") -> None:
    mod = root / name.replace(" ", "-")
    write_module(mod, "v000000")
    lib = mod / "lib" / "lib.go"
    history: list[tuple[float, str]] = [(0.0, "v000000")]  # (time the value was on disk from, value)
    lock = threading.Lock()
    stop = threading.Event()
    edits = 0

    def editor() -> None:
        nonlocal edits
        rnd = random.Random(1)
        n = 0
        while not stop.is_set():
            n += 1
            value = f"v{n:06d}"
            data = LIB.format(value=value).encode()
            st = lib.stat()
            how = rnd.choice(["in-place", "in-place-keep-mtime", "rename"])
            with lock:
                if how == "rename":
                    tmp = lib.with_name(".lib.go.tmp")
                    tmp.write_bytes(data)
                    os.replace(tmp, lib)
                else:
                    fd = os.open(lib, os.O_WRONLY)
                    try:
                        os.pwrite(fd, data, 0)  # same size: only the digits change
                    finally:
                        os.close(fd)
                    if how == "in-place-keep-mtime":
                        os.utime(lib, ns=(st.st_atime_ns, st.st_mtime_ns))
                history.append((time.monotonic(), value))
                edits += 1
            time.sleep(rnd.uniform(0.02, 0.4))

    wrong: list[str] = []
    failed: list[str] = []
    done = 0

    def runner(i: int) -> None:
        nonlocal done
        for _ in range(runs):
            start = time.monotonic()
            p = run([*RUNGO, "run", "."], mod, env)
            end = time.monotonic()
            with lock:
                done += 1
                if p.returncode != 0:
                    failed.append(p.stderr.strip()[:200])
                    continue
                got = p.stdout.split()[0] if p.stdout.split() else ""
                # Right: a value that was on disk at some moment while the run ran.
                ok = set()
                for j, (t, v) in enumerate(history):
                    until = history[j + 1][0] if j + 1 < len(history) else float("inf")
                    if t <= end and until >= start:
                        ok.add(v)
                if got not in ok:
                    wrong.append(f"got {got}, on disk meanwhile: {sorted(ok)}")

    ed = threading.Thread(target=editor)
    ed.start()
    threads = [threading.Thread(target=runner, args=(i,)) for i in range(runners)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stop.set()
    ed.join()
    # Poisoned entries: every version the editor wrote must build to itself from the cache now.
    values = [v for _, v in history]
    sample = values if len(values) <= 60 else random.Random(2).sample(values, 60)
    poisoned = []
    for v in sample:
        lib.write_text(LIB.format(value=v))
        p = run([*RUNGO, "run", "."], mod, env)
        if p.returncode != 0 or not p.stdout.startswith(v + " "):
            poisoned.append(f"{v}: {p.stdout.strip()} {p.stderr.strip()[:100]}")
    figs.add(name, f"{runners} runners x {runs} runs = {done} runs, {edits} concurrent edits",
             f"{len(wrong)} wrong outputs, {len(poisoned)} poisoned entries (of {len(sample)} versions "
             f"rebuilt from the cache), {len(failed)} failed runs")
    for w in (wrong + poisoned + failed)[:5]:
        print("    ", w)


def phase_engine(root: Path, env: dict[str, str], runners: int, runs: int, figs: Figures) -> None:
    """The concurrency phase again, every run through the warm engine (which the first run starts)."""
    run_dir = root / "run"
    run_dir.mkdir(mode=0o700, exist_ok=True)
    env = {k: v for k, v in env.items() if k != "RUNGO_ENGINE"} | {"XDG_RUNTIME_DIR": str(run_dir)}
    try:
        phase_concurrency(root, env, runners, runs, figs, "through the engine")
        got = run([*RUNGO, "engine", "status"], root, env)
        words = dict(w.split("=", 1) for w in got.stdout.split() if "=" in w)
        served = words.get("runs", "0")
        print(f"    the engine served {served} runs; it built {words.get('built-ahead', '0')} ahead, "
              f"{words.get('joined', '0')} runs joined one", flush=True)
        if served == "0":
            figs.add("through the engine", "the engine served no run", "1 engine that never served")
    finally:
        run([*RUNGO, "engine", "stop"], root, env)


# ----- phase 2: kill -9 at random moments -------------------------------------------------------------------


def phase_kills(root: Path, env: dict[str, str], tmp: Path, kills: int, figs: Figures) -> None:
    mod = root / "kill"
    write_module(mod, "k000")
    t0 = time.monotonic()
    run([*RUNGO, "run", "."], mod, env)
    build_time = time.monotonic() - t0
    rnd = random.Random(3)
    failed_reruns: list[str] = []
    for i in range(1, kills + 1):
        value = f"k{i:03d}"
        (mod / "lib" / "lib.go").write_text(LIB.format(value=value))
        if i % 3 == 0:
            (mod / "main.go").write_text(MAIN.format(tag=f"t{i}"))
        proc = subprocess.Popen([*RUNGO, "run", "."], cwd=mod, env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        time.sleep(rnd.uniform(0, build_time * 1.5))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        p = run([*RUNGO, "run", "."], mod, env)
        if p.returncode != 0 or not p.stdout.startswith(value + " "):
            failed_reruns.append(f"{value}: rc={p.returncode} {p.stdout.strip()} {p.stderr.strip()[:160]}")
    # Tools killed with rungo die at once; the go command's own children finish what they do.
    deadline = time.monotonic() + 30
    while leftover_processes(root) and time.monotonic() < deadline:
        time.sleep(0.2)
    procs = leftover_processes(root)
    # The next run that builds removes the work dirs of killed runs.
    (mod / "lib" / "lib.go").write_text(LIB.format(value="final"))
    run([*RUNGO, "run", "."], mod, env)
    dirs = [p for p in tmp_leftovers(tmp) if p.name.startswith(("rungo-build", "go-build"))]
    figs.add("kill -9", f"{kills} kills at random moments (0-{build_time * 1.5 * 1000:.0f} ms into a build)",
             f"{len(failed_reruns)} failed reruns, {len(dirs)} leftover work dirs, {len(procs)} leftover processes")
    for w in (failed_reruns + [str(d) for d in dirs] + procs)[:5]:
        print("    ", w)


# ----- phase 3: damage ----------------------------------------------------------------------------------------


def phase_damage(root: Path, env: dict[str, str], rounds: int, figs: Figures) -> None:
    """Each round builds a new version of main, garbles (same size) either the program it linked or
    the archive of lib that every compile of main reads, and runs what reads it next."""
    mod = root / "damage"
    write_module(mod, "d0")
    cache = Path(env["RUNGO_CACHE"])
    rnd = random.Random(4)
    served: list[str] = []
    garbled = 0

    def stored() -> list[Path]:
        return [p for p in cache.rglob("*") if p.is_file() and "fast" not in p.parts
                and (p.name.endswith("-d") or p.parent.name.endswith("-x"))]

    for i in range(rounds):
        tag = f"t{i}"
        (mod / "main.go").write_text(MAIN.format(tag=tag))
        first = run([*RUNGO, "run", "."], mod, env)
        if first.returncode != 0 or first.stdout.split() != ["d0", tag]:
            served.append(f"round {i} (before damage): {first.stdout.strip()} {first.stderr.strip()[:160]}")
            continue
        files = stored()
        if i % 2 == 0:
            victim = max((p for p in files if p.parent.name.endswith("-x")), key=lambda p: p.stat().st_mtime_ns)
            reader = tag          # running this version again serves the program
        else:
            victim = next(p for p in files if p.name.endswith("-d") and p.read_bytes().startswith(b"!<arch>")
                          and b"example.com/stress/lib" in p.read_bytes()[:4096])
            reader = f"t{i}b"     # compiling a new main reads lib's archive
        data = bytearray(victim.read_bytes())
        st = victim.stat()
        at = len(data) // 3 + rnd.randrange(max(1, len(data) // 3))
        for j in range(at, min(at + 64, len(data))):
            data[j] ^= 0xA5
        os.chmod(victim, st.st_mode | 0o200)
        victim.write_bytes(bytes(data))
        os.chmod(victim, st.st_mode)
        if rnd.random() < 0.5:
            os.utime(victim, ns=(st.st_atime_ns, st.st_mtime_ns))  # keep the times too
        garbled += 1
        (mod / "main.go").write_text(MAIN.format(tag=reader))
        for _ in range(2):
            p = run([*RUNGO, "run", "."], mod, env)
            if p.returncode != 0 or p.stdout.split() != ["d0", reader]:
                what = "program" if i % 2 == 0 else "archive"
                served.append(f"round {i} ({what}): rc={p.returncode} {p.stdout.strip()} {p.stderr.strip()[:160]}")
                break
    figs.add("damage", f"{rounds} rounds, {garbled} stored programs and archives garbled (64 bytes, same size) "
             "and read again", f"{len(served)} damaged entries served")
    for w in served[:5]:
        print("    ", w)


# ----- phase 4: programs that exit, panic, die ------------------------------------------------------------------


def phase_programs(root: Path, env: dict[str, str], tmp: Path, count: int, figs: Figures) -> None:
    mod = root / "prog"
    mod.mkdir()
    (mod / "go.mod").write_text("module example.com/prog\n\ngo 1.22\n")
    (mod / "main.go").write_text(PROGRAM)
    ws = root / "progws"  # the same program in a workspace: built by the go command, run as a child
    ws.mkdir()
    shutil.copy(mod / "go.mod", ws / "go.mod")
    shutil.copy(mod / "main.go", ws / "main.go")
    (ws / "go.work").write_text("go 1.22\n\nuse .\n")
    # The status each case must end with is the one the program has when run directly.
    reference = root / "prog-bin"
    built = run(["go", "build", "-o", str(reference), "."], mod, env)
    if built.returncode != 0:
        raise SystemExit(built.stderr)
    wants: dict[tuple[str, ...], int] = {}
    before = {d: sorted(p.name for p in d.iterdir()) for d in (mod, ws)}
    rnd = random.Random(5)
    wrong: list[str] = []
    for i in range(count):
        kind = rnd.choice(["exit", "panic", "signal", "ok"])
        where = ws if i % 10 == 9 else mod
        if kind == "exit":
            args = ["exit", str(rnd.randrange(0, 126))]
        elif kind == "signal":
            s = rnd.choice([signal.SIGTERM, signal.SIGINT, signal.SIGKILL, signal.SIGSEGV, signal.SIGUSR1])
            args = ["signal", str(int(s))]
        elif kind == "panic":
            args = ["panic"]
        else:
            args = ["go"]
        if tuple(args) not in wants:
            wants[tuple(args)] = run([str(reference), *args], root, env).returncode
        want = wants[tuple(args)]
        p = run([*RUNGO, "run", ".", *args], where, env)
        if p.returncode != want:
            wrong.append(f"{where.name} {args}: rc {p.returncode}, want {want}: {p.stderr.strip()[:120]}")
    reference.unlink()
    left_tmp = tmp_leftovers(tmp)
    left_proj = [f"{d.name}: {sorted(set(p.name for p in d.iterdir()) - set(before[d]))}"
                 for d in (mod, ws) if sorted(p.name for p in d.iterdir()) != before[d]]
    figs.add("programs", f"{count} runs of programs that exit 0-125, panic, or die of SIGTERM/SIGINT/SIGKILL/"
             "SIGSEGV/SIGUSR1 (1 in 10 through the go command)",
             f"{len(wrong)} wrong exit statuses, {len(left_tmp)} files left in TMPDIR, "
             f"{len(left_proj)} project dirs changed")
    for w in (wrong + [str(p) for p in left_tmp] + left_proj)[:5]:
        print("    ", w)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", type=float, default=1.0, help="multiply every count (0.1 for a quick look)")
    ap.add_argument("--runners", type=int, default=16)
    ap.add_argument("--phases", default="concurrency,engine,kills,damage,programs")
    ap.add_argument("--keep", action="store_true", help="keep the stress tree")
    a = ap.parse_args()
    phases = set(a.phases.split(","))
    root = Path(tempfile.mkdtemp(prefix="rungo-stress-")).resolve()
    tmp = root / "tmp"
    tmp.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GO", "RUNGO_", "CGO_"))}
    env.update({
        "RUNGO_CACHE": str(root / "rungo-cache"),
        "GOCACHE": os.environ.get("RUNGO_TEST_GOCACHE") or str(root / "gocache"),
        "GOMODCACHE": str(root / "gomodcache"),
        "GOPROXY": "off", "GOFLAGS": "", "GOENV": "off", "GOTOOLCHAIN": "local", "GOTELEMETRY": "off",
        "TMPDIR": str(tmp), "HOME": str(root / "home"),
        "RUNGO_ENGINE": "off",      # each phase builds in-process, but the engine's own
    })
    (root / "home").mkdir()
    figs = Figures()
    print(f"stress tree: {root}", flush=True)
    started = time.monotonic()
    try:
        if "concurrency" in phases:
            phase_concurrency(root, env, a.runners, max(1, int(50 * a.scale)), figs)
        if "engine" in phases:
            phase_engine(root, env, a.runners, max(1, int(50 * a.scale)), figs)
        if "kills" in phases:
            phase_kills(root, env, tmp, max(1, int(100 * a.scale)), figs)
        if "damage" in phases:
            phase_damage(root, env, max(1, int(200 * a.scale)), figs)
        if "programs" in phases:
            phase_programs(root, env, tmp, max(1, int(1000 * a.scale)), figs)
    finally:
        if not a.keep:
            shutil.rmtree(root, ignore_errors=True)
    print()
    print(figs.table())
    print(f"\n{time.monotonic() - started:.0f} s; {os.cpu_count()} CPUs; "
          f"{subprocess.run(['go', 'version'], capture_output=True, text=True).stdout.strip()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
