"""The `rungo` command line: argv in, messages and an exit status out. The only module that prints and exits.

`rungo run` first tries the rerun shortcut (rungo.fastpath) with nothing else imported; everything else
is imported only when a build may be needed.
"""

from __future__ import annotations

import os
import sys
MYPY = False       # typing.TYPE_CHECKING without importing typing on the rerun shortcut's path
if MYPY:
    from rungo.config import Config
    from rungo.invocation import Invocation, WatchFlags
    from rungo.orchestrate import Prepared, Session
    from rungo.toolchain import Toolchain

USAGE = """usage: rungo <command> [arguments]

commands:
  run [build flags] [-exec xprog] package [arguments...]
                      compile and run a Go program (as `go run`, with a build cache)
  run -watch [watch flags] [build flags] package [arguments...]
                      run it, and rebuild and restart it on every change to the build's inputs
  env [-json]         show the Go toolchain rungo uses and why
  cache stats|trim|clean|path|wait
                      inspect or trim rungo's build cache; wait for uploads to the remote cache
  cacheprog           serve rungo's cache (and its remote tier) to the go command:
                      GOCACHEPROG="rungo cacheprog" go build ./...
  lsp [--tcp HOST:PORT]
                      start the language server (stdio by default)
  engine status|stop  show or end the warm engine that builds for `run` (RUNGO_ENGINE=off: none)
  version             print rungo's version

rungo's own flags of `run` (not go's; accepted anywhere among the build flags):
"""


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["run"]:
        if not any(a.startswith(("-watch", "--watch")) for a in args[1:]):  # -watch never takes the shortcut
            from rungo import fastpath

            env = os.environ
            try:
                cwd = fastpath.working_dir(env)
            except OSError:
                cwd = ""
            cache_dir = fastpath.cache_dir_from(env)
            if cwd and os.path.isabs(cache_dir):
                hit = fastpath.lookup(args[1:], cwd, env, cache_dir)
                if hit is not None:
                    exec_argv, k, goroot_bin = hit
                    full = exec_argv + args[1 + k:]
                    prog = full[0]
                    if len(exec_argv) > 1 and os.sep not in prog:
                        for d in os.get_exec_path(env):
                            cand = os.path.join(d, prog)
                            if os.path.isfile(cand) and os.access(cand, os.X_OK):
                                prog = cand
                                break
                    try:
                        os.execve(prog, full, fastpath.program_env(fastpath.initial_environ(), goroot_bin))
                    except OSError:
                        pass  # fall through: the full pipeline will report it properly
            if cwd:
                from rungo.daemon.client import run_via_engine

                status = run_via_engine(args[1:], cwd, env)
                if status is not None:
                    return status
        return _run(args[1:])
    if not args or args[0] in ("help", "-h", "--help", "-help"):
        from rungo.invocation import WATCH_USAGE

        sys.stdout.write(USAGE + WATCH_USAGE)
        return 0 if args else 125
    cmd, rest = args[0], args[1:]
    if cmd == "version":
        from rungo import __version__

        print(f"rungo {__version__}")
        return 0
    if cmd == "env":
        return _env(rest)
    if cmd == "cache":
        return _cache(rest)
    if cmd == "lsp":
        return _lsp(rest)
    if cmd == "cacheprog":
        return _cacheprog(rest)
    if cmd == "engine":
        return _engine(rest)
    sys.stderr.write(f"rungo {cmd}: unknown command\nRun 'rungo help' for usage.\n")
    return 125


def _fail(message: str, status: int = 125) -> int:
    sys.stderr.write(message.rstrip("\n") + "\n")
    return status


def _run(argv: list[str]) -> int:
    """The full pipeline: toolchain, flags, load, build, then exec in place."""
    import tempfile

    from rungo.orchestrate import RunError, Troubles, build, open_session
    from rungo.run.execute import EXIT_BUILD_FAILED
    from rungo.work.workdir import WorkDir, remove_abandoned

    started = _start_run(argv)
    if isinstance(started, int):
        return started
    config, tc, inv, watching = started
    tmp_parent = config.env.get("GOTMPDIR") or None
    if watching.on:
        return _watch(watching, inv, config, tc, tmp_parent)

    def announce(line: str) -> None:
        sys.stderr.write(line + "\n")
        sys.stderr.flush()

    flags = inv.flags
    work = WorkDir(tmp_parent, keep=flags.work, announce=announce)
    remove_abandoned(tmp_parent or tempfile.gettempdir())  # work dirs of runs killed earlier
    if flags.work:
        _ = work.path
    session = open_session(config, tc, work, flags=flags, out=sys.stderr)
    troubles = Troubles(_tell_trouble)
    try:
        prepared = build(session, inv)
        if prepared.messages:
            sys.stderr.write(prepared.messages)
    except RunError as e:
        troubles.finish(session.store, detach=True)
        work.close()
        return _fail(e.text, EXIT_BUILD_FAILED)
    except KeyboardInterrupt:
        work.close()
        return 130
    troubles.finish(session.store, detach=True)
    return _exec_program(session, inv, prepared)


def _tell_trouble(text: str) -> None:
    sys.stderr.write(f"rungo: {text}\n")
    sys.stderr.flush()


def _start_run(argv: list[str]) -> "tuple[Config, Toolchain, Invocation, WatchFlags] | int":
    """A run's configuration, toolchain and parsed command line (in the directory -C names), or
    the exit status of the failure already told."""
    from pathlib import Path

    from rungo import fastpath
    from rungo.config import make_config
    from rungo.start import Refused, start_run

    env = dict(os.environ)
    _quiet_libraries()
    try:
        cwd = Path(fastpath.working_dir(env))
    except OSError as e:
        return _fail(f"go: cannot determine current directory: {e.strerror}")
    started = start_run(argv, env, cwd)
    if isinstance(started, Refused):
        return _fail(started.message, started.status)
    config, inv = started.config, started.invocation
    if inv.flags.chdir:
        try:
            os.chdir(inv.flags.chdir)
        except OSError as e:
            reason = e.strerror or str(e)
            return _fail(f"go: chdir {inv.flags.chdir}: {reason[:1].lower() + reason[1:]}")
        config = make_config(env, Path(os.getcwd()))
    return config, started.toolchain, inv, started.watching


def _exec_program(session: "Session", inv: "Invocation", prepared: "Prepared") -> int:
    """Runs the built program as go run does (exec in place, or as a child when it lives in the work
    dir), after remembering it for an unchanged rerun."""
    from rungo import fastpath
    from rungo.orchestrate import remembers
    from rungo.run.execute import EXIT_BUILD_FAILED, command_line, exec_in_place, run_child
    from rungo.start import exec_trouble, maybe_trim, noexec, remember_run

    config, work, flags = session.config, session.work, inv.flags
    argv_run = command_line(prepared.binary, inv.args, prepared.exec_argv)
    if flags.n or flags.x:
        session.runner.show(" ".join(argv_run))
    if flags.n:
        work.close()
        return 0
    goroot_bin = str(session.toolchain.goroot / "bin")
    binary = prepared.binary
    runs_from_copy = not prepared.temporary and noexec(binary)
    if runs_from_copy:
        # The cache is on a noexec file system: run a copy from the work dir, as go run would.
        import shutil

        exe_dir = work.path / "exe"
        exe_dir.mkdir(exist_ok=True)
        copy = exe_dir / binary.name
        try:
            shutil.copy2(binary, copy)
        except OSError as e:
            work.close()
            return _fail(f"rungo: copying {binary} to {copy}: {e.strerror}", EXIT_BUILD_FAILED)
        argv_run = command_line(copy, inv.args, prepared.exec_argv)
    if remembers(inv) and prepared.rememberable and not (prepared.temporary or runs_from_copy):
        remember_run(session, inv, prepared, session.config.env)
    maybe_trim(config.cache_dir)
    prog_env = fastpath.program_env(fastpath.initial_environ(), goroot_bin)
    search_path = config.env.get("PATH", os.defpath)
    if prepared.temporary or runs_from_copy:
        return run_child(argv_run, prog_env, work.close, search_path=search_path,
                         report=lambda text: _fail(exec_trouble(text, argv_run[len(prepared.exec_argv)])))
    work.close()
    failure = exec_in_place(argv_run, prog_env, via_exec=bool(prepared.exec_argv), search_path=search_path)
    return _fail(exec_trouble(failure.message, binary), failure.status)


def _watch(watching: "WatchFlags", inv: "Invocation", config: "Config", tc: "Toolchain",
           tmp_parent: str | None) -> int:
    """rungo run -watch: the loop in rungo.watch, with this command line's sessions and messages."""
    import signal
    import tempfile

    from rungo import fastpath
    from rungo.config import open_store
    from rungo.orchestrate import Session, Troubles, open_session
    from rungo.start import maybe_trim
    from rungo.watch import Watch, WatchOptions
    from rungo.work.workdir import WorkDir, remove_abandoned

    store = open_store(config)
    remove_abandoned(tmp_parent or tempfile.gettempdir())
    troubles = Troubles(_tell_trouble)

    def tell(text: str) -> None:
        sys.stderr.write(text)
        sys.stderr.flush()

    def new_session() -> Session:
        troubles.finish(store, detach=False)     # the last build's counts and remote trouble
        work = WorkDir(tmp_parent, keep=inv.flags.work, announce=lambda line: tell(line + "\n"))
        return open_session(config, tc, work, flags=inv.flags, out=sys.stderr, store=store)

    options = WatchOptions.of(watching)
    watch = Watch(new_session, inv, fastpath.program_env(fastpath.initial_environ(), str(tc.goroot / "bin")),
                  config.env.get("PATH", os.defpath), options, tell)
    ended = watch.run()
    troubles.finish(store, detach=True)
    maybe_trim(config.cache_dir)
    signal.signal(ended, signal.SIG_DFL)
    os.kill(os.getpid(), ended)          # end as the signal that ended the watch would have
    return 128 + ended


def _env(argv: list[str]) -> int:
    import json
    from pathlib import Path

    from rungo.config import make_config
    from rungo.process import Runner
    from rungo.toolchain import ToolchainError, load_toolchain

    from rungo.cache.remote.settings import SettingsError

    as_json = "-json" in argv or "--json" in argv
    try:
        config = make_config(dict(os.environ), Path(os.getcwd()))
    except SettingsError as e:
        return _fail(f"rungo: {e}")
    try:
        tc = load_toolchain(config, Runner(env=config.child_env()))
    except ToolchainError as e:
        return _fail(f"rungo: {e}")
    info = {
        "RUNGO_GO": str(tc.go),
        "RUNGO_GO_ORIGIN": tc.origin,
        "RUNGO_GO_REASON": tc.reason,
        "RUNGO_CACHE": str(config.cache_dir),
        "GOVERSION": tc.version,
        "GOROOT": str(tc.goroot),
        "GOTOOLDIR": str(tc.tooldir),
        "GOOS": tc.goos,
        "GOARCH": tc.goarch,
        "GOCACHE": tc.env.get("GOCACHE", ""),
        "GOFLAGS": tc.env.get("GOFLAGS", ""),
        "CGO_ENABLED": tc.env.get("CGO_ENABLED", ""),
        "GOTOOLCHAIN": "local",
        "RUNGO_REMOTE_CACHE": config.remote.url if config.remote else "",
        "RUNGO_REMOTE_CACHE_MODE": config.remote.mode if config.remote else "",
    }
    if as_json:
        print(json.dumps(info, indent="\t"))
    else:
        for k, v in info.items():
            print(f"{k}={json.dumps(v)}")
    return 0


def _parse_size(text: str) -> int:
    units = {"": 1, "b": 1, "k": 1 << 10, "kb": 1 << 10, "m": 1 << 20, "mb": 1 << 20,
             "g": 1 << 30, "gb": 1 << 30, "t": 1 << 40, "tb": 1 << 40}
    t = text.strip().lower()
    num = t.rstrip("kmgtb")
    unit = t[len(num):]
    try:
        value = float(num)
    except ValueError:
        value = -1.0
    if unit not in units or value < 0:
        raise ValueError(f"invalid size {text!r} (use e.g. 500M or 10G)")
    return int(value * units[unit])


def _parse_age(text: str) -> float:
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    t = text.strip().lower()
    try:
        value = float(t[:-1]) if t and t[-1] in units else -1.0
    except ValueError:
        value = -1.0
    if value < 0:
        raise ValueError(f"invalid age {text!r} (use e.g. 12h or 5d)")
    return value * units[t[-1]]


def _cache(argv: list[str]) -> int:
    from rungo.cache import Cache, CacheWriteError
    from rungo.config import RELATIVE_CACHE, cache_dir_from

    root = cache_dir_from(os.environ)
    if not root.is_absolute():
        return _fail(RELATIVE_CACHE)
    store = Cache(root)
    sub = argv[0] if argv else ""
    if sub == "path":
        print(root)
        return 0
    from rungo import fastpath

    if sub == "stats":
        st = store.stats()
        recs = fastpath.records(str(root))
        from rungo.cache import counters

        total = st.total_bytes + sum(n for _, n, _ in recs) + counters.size(str(root))
        print(f"location: {root}")
        print(f"entries:  {st.entries}")
        print(f"blobs:    {st.blobs}")
        print(f"reruns:   {len(recs)}")
        print(f"size:     {total / (1 << 20):.1f} MiB ({total} bytes)")
        _remote_stats(str(root))
        return 0
    if sub == "wait":
        return _cache_wait(str(root), argv[1:])
    if sub == "trim":
        max_age = 5 * 86400.0
        max_size: int | None = None
        try:
            for a in argv[1:]:
                if a.startswith(("--max-age=", "-max-age=")):
                    max_age = _parse_age(a.split("=", 1)[1])
                elif a.startswith(("--max-size=", "-max-size=")):
                    max_size = _parse_size(a.split("=", 1)[1])
                else:
                    return _fail(f"rungo cache trim: unknown argument {a}\nusage: rungo cache trim [--max-age=5d] [--max-size=10G]")
        except ValueError as e:
            return _fail(f"rungo cache trim: {e}")
        import time

        try:
            r = store.trim(max_age_seconds=max_age, max_bytes=max_size)
        except (OSError, CacheWriteError) as e:
            return _fail(f"rungo cache trim: {e}")
        rec_files, rec_bytes = fastpath.trim_records(str(root), max_age, time.time())
        kept = r.kept_bytes + sum(n for _, n, _ in fastpath.records(str(root)))
        print(f"removed {r.removed_files + rec_files} files ({r.removed_bytes + rec_bytes} bytes); "
              f"{kept} bytes kept")
        return 0
    if sub == "clean":
        try:
            r = store.clean()
        except (OSError, CacheWriteError) as e:
            return _fail(f"rungo cache clean: {e}")
        from rungo.cache import records

        records.clean(str(root))
        from rungo.cache import counters

        counters.reset(str(root))
        print(f"removed {r.removed_files} files ({r.removed_bytes} bytes)")
        return 0
    return _fail("usage: rungo cache stats|trim|clean|path|wait")


def _cache_wait(root: str, argv: list[str]) -> int:
    """`rungo cache wait [--timeout=10m] [JOBFILE]`: send the uploads still pending (abandoned ones
    too), or the one job a detached process was started to send."""
    from rungo.cache.remote.upload import run_job, wait

    timeout = 600.0
    jobs: list[str] = []
    for a in argv:
        if a.startswith(("--timeout=", "-timeout=")):
            try:
                timeout = _parse_age(a.split("=", 1)[1])
            except ValueError as e:
                return _fail(f"rungo cache wait: {e}")
        elif a.startswith("-") or jobs:
            return _fail(f"rungo cache wait: unknown argument {a}\nusage: rungo cache wait [--timeout=10m]")
        else:
            jobs.append(a)
    env = dict(os.environ)
    _quiet_libraries()
    if jobs:
        job = os.path.abspath(jobs[0])
        run_job(os.path.dirname(os.path.dirname(job)), job, env, block=True)
        return 0
    left = wait(root, env, timeout)
    if left:
        return _fail(f"rungo cache wait: {left} upload job(s) still pending after {timeout:g}s", 1)
    return 0


def _quiet_libraries() -> None:
    """Set up this process's own environment for the libraries a build may load (fastpath.LIBRARY_ENV:
    what the user set wins). The one place that writes it; call it after the environment to pass on
    was taken."""
    from rungo.fastpath import LIBRARY_ENV

    for k, v in LIBRARY_ENV.items():
        os.environ.setdefault(k, v)


def _remote_stats(root: str) -> None:
    """The hit and transfer counts of `rungo cache stats`, and the remote cache's state."""
    import time

    from rungo.cache import counters
    from rungo.cache.remote.client import skipped, state_path
    from rungo.cache.remote.settings import SettingsError, from_env
    from rungo.cache.remote.upload import jobs

    c = counters.totals(root)
    print(f"local:    {c['local_hits']} hits, {c['local_misses']} misses, {c['stored']} outputs stored ({_size(c['stored_bytes'])})")
    try:
        settings = from_env(os.environ)
    except SettingsError as e:
        print(f"remote:   misconfigured: {e}")
        settings = None
    if settings is not None:
        print(f"remote:   {settings.url} ({settings.mode})")
    elif not any(c[k] for k in ("remote_hits", "remote_misses", "bytes_down", "bytes_up")):
        print("remote:   none (set RUNGO_REMOTE_CACHE=grpc://host:port)")
        return
    print(f"          {c['remote_hits']} hits, {c['remote_misses']} misses, {c['corrupt']} corrupt blobs refused")
    print(f"          {_size(c['bytes_down'])} down, {_size(c['bytes_up'])} up in {c['uploads']} uploads")
    pending = jobs(root)
    if pending:
        print(f"          {len(pending)} upload job(s) pending (rungo cache wait finishes them)")
    now = time.time()
    recorded = skipped(state_path(root), settings.url, now) if settings is not None else None
    if recorded is not None:
        print(f"          unavailable: {recorded[0]} (not used for another {recorded[1] - now:.0f}s)")


def _size(n: int) -> str:
    for unit, div in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= div:
            return f"{n / div:.1f} {unit}"
    return f"{n} B"


def _cacheprog(argv: list[str]) -> int:
    from rungo.cache import prog
    from rungo.config import RELATIVE_CACHE, cache_dir_from

    if argv:
        return _fail("usage: GOCACHEPROG=\"rungo cacheprog\" go build ...")
    root = cache_dir_from(os.environ)
    if not root.is_absolute():
        return _fail(RELATIVE_CACHE)
    env = dict(os.environ)
    _quiet_libraries()
    return prog.main(str(root), env)


ENGINE_USAGE = "usage: rungo engine status | stop | serve"


def _engine(argv: list[str]) -> int:
    """`rungo engine status|stop|serve`: show, end or be this user's warm engine (for this toolchain)."""
    from rungo.daemon import engine

    sub = argv[0] if len(argv) == 1 else ""
    if sub == "serve":
        env = dict(os.environ)
        _quiet_libraries()
        return engine.serve(env)
    if sub not in ("status", "stop"):
        return _fail(ENGINE_USAGE, 2)
    answer, why = engine.ask(os.environ, sub.upper())
    if answer is None:
        print(f"rungo engine: not running ({why})")
        return 0 if sub == "stop" else 1
    print("rungo engine: " + " ".join(answer[1:]))
    return 0


def _lsp(argv: list[str]) -> int:
    from rungo.lsp.quickstart import serve

    env = dict(os.environ)
    _quiet_libraries()
    return serve(argv, env)


if __name__ == "__main__":
    raise SystemExit(main())
