"""Runs started from the editor: build (in a thread, cancellable), then the program under a pty, streamed as events.

A run builds what the editor shows (the unsaved buffers as overlays) and reports exactly one exit.
A watching run stays until it is stopped: a save of one of its build's inputs rebuilds (cancelling a build
in flight) and, when the new binary is ready, swaps the program under the same run id; a failed rebuild
prints its errors and keeps the old program.
"""

from __future__ import annotations

import asyncio
import codecs
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Awaitable, Callable, Mapping, Protocol, Sequence

from rungo.filewatch import WatchSet, watch_set
from rungo.invocation import UsageError, split_watch_flags
from rungo.load.model import Watched
from rungo.orchestrate import Prepared
from rungo.work.workdir import WorkDir
from rungo.lsp.convert import format_result
from rungo.lsp.engine import BuildResult, Engine
from rungo.scheduling import CancelToken
from rungo.lsp.ran import remember_run
from rungo.run.pty import PtyProcess
from rungo.watch import CLEAR_SCREEN, WatchOptions

STOP_GRACE_SECONDS = 1.0
BUILD_STOP_SECONDS = 0.4     # a stopped build reports its exit within this, whether or not its thread is done


def watch_flags(flags: Sequence[str]) -> tuple[WatchOptions, list[str]]:
    """The -watch-* flags among an editor run's build flags, read as the command line reads them (a
    watch stops, restarts and waits by them; a plain run has no use for them), and the build flags
    without them. Raises UsageError for a malformed one, in the command line's words."""
    watching, rest = split_watch_flags(["-watch", *flags])
    return WatchOptions.of(watching), rest


class RunEvents(Protocol):
    """Where a run reports: the server turns these into notifications."""

    def started(self, run: "Run") -> None: ...
    def restarted(self, run: "Run") -> None: ...
    def output(self, run: "Run", data: str) -> None: ...
    def build_failed(self, run: "Run", result: BuildResult) -> None: ...
    def exited(self, run: "Run", exit_code: int | None, signal_name: str | None, stage: str) -> None: ...
    def built(self) -> None: ...


@dataclass(eq=False)
class Run:
    run_id: str
    pkg_dir: Path
    name: str
    args: tuple[str, ...]
    started_ns: int = field(default_factory=time.monotonic_ns)
    proc: PtyProcess | None = None
    stopping: bool = False
    task: asyncio.Task[None] | None = None
    pending_input: list[bytes] = field(default_factory=list)
    size: tuple[int, int] = (80, 24)
    files: tuple[str, ...] = ()               # a file list run (`go run a.go`), names relative to pkg_dir
    cwd: Path | None = None                   # the program's directory (None: pkg_dir)
    overlays: dict[Path, bytes] = field(default_factory=dict)
    versions: dict[str, int | None] = field(default_factory=dict)   # open documents' versions it built
    token: CancelToken = field(default_factory=CancelToken)
    reported: bool = False
    watch: bool = False                       # rebuild and restart on a save of an input, until stopped
    current_overlays: Callable[[], Mapping[Path, bytes]] | None = None   # a watch's rebuilds: the buffers now
    inputs: WatchSet | None = None            # a watch: what its last build read
    wake: asyncio.Event = field(default_factory=asyncio.Event)           # a watch: an input was saved
    restarts: int = 0
    swapping: bool = False                    # the program is being stopped for a new one
    last_exit: tuple[int | None, str | None] | None = None   # a watch: how its last program ended
    options: WatchOptions = field(default_factory=WatchOptions)   # a watch: its -watch-* flags

    @property
    def key(self) -> Path:
        """Its package directory, or its file for a file-scoped program (where its lens is)."""
        return self.pkg_dir / self.files[0] if self.files else self.pkg_dir

    def concerns(self, path: Path) -> bool:
        """Whether a save of path may change this watch's build: a .go file of its directory (always, so a
        build that failed before recording anything still restarts), or one of its recorded inputs."""
        if path.parent == self.pkg_dir and path.suffix == ".go":
            return True
        return self.inputs is not None and self.inputs.concerns(str(path))

    @property
    def duration_ms(self) -> int:
        return (time.monotonic_ns() - self.started_ns) // 1_000_000


def _discard(work: WorkDir) -> Callable[[asyncio.Future[BuildResult]], None]:
    """For a build a watch gave up on: when its thread is done, its work dir goes and its outcome is dropped."""
    def done(future: asyncio.Future[BuildResult]) -> None:
        work.close()
        if not future.cancelled():
            future.exception()
    return done


class RunManager:
    def __init__(self, engine: Engine, events: RunEvents,
                 in_thread: Callable[[Callable[[], BuildResult]], Awaitable[BuildResult]]) -> None:
        self.engine = engine
        self.events = events
        self.in_thread = in_thread
        self.runs: dict[str, Run] = {}
        self._next = 0

    def start(self, pkg_dir: Path, args: Sequence[str], *, flags: Sequence[str], env: Mapping[str, str],
              go_path: str, size: tuple[int, int] = (80, 24), files: Sequence[str] = (),
              overlays: Mapping[Path, bytes] | None = None, versions: Mapping[str, int | None] | None = None,
              cwd: Path | None = None, watch: bool = False,
              current_overlays: Callable[[], Mapping[Path, bytes]] | None = None) -> Run:
        self._next += 1
        name = " ".join(files) if files else pkg_dir.name
        run = Run(run_id=f"run-{self._next}", pkg_dir=pkg_dir, name=name, args=tuple(args), size=size,
                  files=tuple(files), overlays=dict(overlays or {}), versions=dict(versions or {}), cwd=cwd,
                  watch=watch, current_overlays=current_overlays)
        self.runs[run.run_id] = run
        try:
            run.options, build_flags = watch_flags(flags)
        except UsageError as e:
            run.task = asyncio.ensure_future(self._refuse(run, e.message))
            return run
        go = self._watch if watch else self._go
        run.task = asyncio.ensure_future(go(run, build_flags, dict(env), go_path))
        return run

    async def _refuse(self, run: Run, message: str) -> None:
        """A run whose flags the command line would refuse: the message in its terminal, exit 2."""
        self.events.started(run)
        self.events.output(run, message.rstrip("\n").replace("\n", "\r\n") + "\r\n")
        self._exited(run, 2, None, "build")
        self.runs.pop(run.run_id, None)

    def watching(self, key: Path) -> Run | None:
        """The watch on a package (or file-scoped program), if one is on."""
        return next((r for r in self.runs.values() if r.watch and not r.stopping and r.key == key), None)

    def saved(self, path: Path) -> None:
        """A file was saved: each watch whose build it may change rebuilds."""
        for r in self.runs.values():
            if r.watch and not r.stopping and r.concerns(path):
                r.wake.set()

    def changed_on_disk(self, path: Path) -> None:
        """A file the editor does not have open changed on disk (a checkout, a tool): each watch whose
        recorded inputs it concerns, and whose recorded stamps no longer hold, rebuilds."""
        for r in self.runs.values():
            if r.watch and not r.stopping and r.inputs is not None and r.concerns(path) and r.inputs.changed():
                r.wake.set()

    def _remember(self, run: Run, result: BuildResult, flags: list[str], env: dict[str, str], go_path: str) -> None:
        """A run's program built: a later session's warm start prepares it again (lsp/ran.py, lsp/warm.py)."""
        if result.prepared is not None and result.prepared.binary is not None:
            remember_run(self.engine, run.pkg_dir, run.files, flags=flags, env=env, go_path=go_path)

    def _exited(self, run: Run, exit_code: int | None, signal_name: str | None, stage: str) -> None:
        if not run.reported:
            run.reported = True
            self.events.exited(run, exit_code, signal_name, stage)

    async def _go(self, run: Run, flags: list[str], env: dict[str, str], go_path: str) -> None:
        self.events.started(run)
        work = WorkDir(env.get("GOTMPDIR") or None, keep=False, announce=lambda _: None)

        def build() -> BuildResult:
            result: BuildResult | None = None
            try:
                result = self.engine.build(run.pkg_dir, env_extra=env, flags=flags, go_path=go_path, work=work,
                                           overlays=run.overlays, files=run.files, token=run.token)
                self._remember(run, result, flags, env, go_path)
                return result
            finally:
                # In the build's own thread: nothing is left behind when the run stops here, even if
                # the server stopped waiting for it. A temporary binary stays until the program exits.
                if result is None or result.prepared is None or run.token.cancelled or run.stopping:
                    work.close()

        try:
            try:
                result = await self.in_thread(build)
                self.events.built()
            except asyncio.CancelledError:
                run.token.cancel()
                self._exited(run, None, "SIGKILL", "build")
                raise
            if run.stopping or run.token.cancelled:
                self._exited(run, None, "SIGINT", "build")
                return
            if result.prepared is None or result.prepared.binary is None:
                self.events.build_failed(run, result)
                self._exited(run, None, None, result.stage or "build")
                return
            prepared = result.prepared
            started = await self._start_program(run, prepared, env)
            if started is None:
                self._exited(run, 126, None, "run")
                return
            run.proc, flush = started
            if run.stopping:     # stopped while the program was starting
                run.proc.kill()
            for data in run.pending_input:
                run.proc.write(data)
            run.pending_input.clear()
            info = await run.proc.wait()
            flush()
            sig = signal.Signals(info.signal).name if info.signal else None
            self._exited(run, info.exit_code, sig, "run")
        except asyncio.CancelledError:   # the server is going away
            self._abandon(run)
            raise
        finally:
            work.close()
            self.runs.pop(run.run_id, None)

    async def _watch(self, run: Run, flags: list[str], env: dict[str, str], go_path: str) -> None:
        """A watching run: build, run, and on each save of an input build again and swap the program."""
        self.events.started(run)
        running_work: WorkDir | None = None      # where the running program's binary is
        waiter: asyncio.Task[None] | None = None
        inputs: tuple[Watched, ...] = ()
        cycle = 0
        try:
            opts = run.options
            while not run.stopping:
                if cycle:
                    await asyncio.sleep(opts.debounce_s)     # -watch-debounce: let a burst of saves end
                run.wake.clear()
                run.token = token = CancelToken()
                cycle += 1
                if cycle > 1:
                    run.overlays = dict(run.current_overlays()) if run.current_overlays else run.overlays
                work = WorkDir(env.get("GOTMPDIR") or None, keep=False, announce=lambda _: None)
                building = asyncio.ensure_future(self.in_thread(self._builder(run, token, flags, env, go_path, work)))
                woken = asyncio.ensure_future(run.wake.wait())
                await asyncio.wait({building, woken}, return_when=asyncio.FIRST_COMPLETED)
                if not building.done():       # saved again (or stopped) while building: start over
                    token.cancel()
                    building.add_done_callback(_discard(work))
                    continue
                woken.cancel()
                result = building.result()
                if run.stopping or token.cancelled:
                    work.close()
                    break
                if result.prepared is None or result.prepared.binary is None:
                    self.events.build_failed(run, result)
                    inputs = (*inputs, *result.watched)
                    if opts.stop_on_error and run.proc is not None:       # -watch-on-error=stop
                        run.swapping = True
                        await run.proc.stop(opts.grace_s, opts.stop_signal)
                        if waiter is not None:
                            await waiter
                        run.swapping = False
                        self.events.output(run, "[build failed · program stopped]\r\n")
                else:
                    if run.proc is not None:
                        run.swapping = True
                        await run.proc.stop(opts.grace_s, opts.stop_signal)
                        if waiter is not None:
                            await waiter
                        run.swapping = False
                    if running_work is not None:
                        running_work.close()
                    running_work = work
                    if run.stopping:
                        break
                    if cycle > 1:
                        run.restarts += 1
                        run.started_ns = time.monotonic_ns()
                        self.events.restarted(run)
                        if opts.clear:                                  # -watch-clear
                            self.events.output(run, CLEAR_SCREEN)
                    waiter = await self._spawn(run, result.prepared, env)
                    inputs = result.prepared.watched
                run.inputs = watch_set(inputs)
                if not run.wake.is_set():
                    await run.wake.wait()
            if run.proc is not None:
                await run.proc.stop(opts.grace_s, opts.stop_signal)
            if waiter is not None:
                await waiter
            info = run.last_exit
            if info is None:
                self._exited(run, None, "SIGINT", "build")
            else:
                self._exited(run, info[0], info[1], "run")
        except asyncio.CancelledError:   # the server is going away
            self._abandon(run)
            raise
        finally:
            if running_work is not None:
                running_work.close()
            self.runs.pop(run.run_id, None)

    def _builder(self, run: Run, token: CancelToken, flags: list[str], env: dict[str, str], go_path: str,
                 work: WorkDir) -> Callable[[], BuildResult]:
        def build() -> BuildResult:
            result: BuildResult | None = None
            try:
                result = self.engine.build(run.pkg_dir, env_extra=env, flags=flags, go_path=go_path, work=work,
                                           overlays=run.overlays, files=run.files, token=token)
                self._remember(run, result, flags, env, go_path)
                return result
            finally:
                if result is None or result.prepared is None or token.cancelled or run.stopping:
                    work.close()
        return build

    async def _start_program(self, run: Run, prepared: Prepared,
                             env: dict[str, str]) -> tuple[PtyProcess, Callable[[], None]] | None:
        """Starts the built program under a pty, its output streamed to the client, and gives the
        function that sends the output's last partial character once it has exited; None (with the
        reason written to the terminal) when it cannot be started."""
        argv = [*prepared.exec_argv, str(prepared.binary), *run.args]
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")

        def on_output(chunk: bytes) -> None:
            text = decoder.decode(chunk)
            if text:
                self.events.output(run, text)

        def flush() -> None:
            tail = decoder.decode(b"", final=True)
            if tail:
                self.events.output(run, tail)

        try:
            proc = await PtyProcess.start(argv, cwd=str(run.cwd or run.pkg_dir), env=self.engine.program_env(env),
                                          cols=run.size[0], rows=run.size[1], on_output=on_output)
        except OSError as e:
            self.events.output(run, f"rungo: cannot run {prepared.binary}: {e.strerror or e}\r\n")
            return None
        return proc, flush

    def _abandon(self, run: Run) -> None:
        """The server is going away: nothing of the run may stay; the client hears it was killed."""
        run.token.cancel()
        if run.proc is not None:
            run.proc.kill()
        self._exited(run, None, "SIGKILL", "run" if run.proc is not None else "build")

    async def _spawn(self, run: Run, prepared: Prepared, env: dict[str, str]) -> asyncio.Task[None] | None:
        """Starts a watch's program; the task it returns ends when the program has exited and its output
        is read, after telling a program that ended by itself as `[exit 3 · 84 ms]`."""
        started = await self._start_program(run, prepared, env)
        if started is None:
            run.proc = None
            return None
        proc, flush = started
        run.proc = proc
        if run.stopping:
            proc.kill()
        for data in run.pending_input:
            proc.write(data)
        run.pending_input.clear()

        async def wait() -> None:
            info = await proc.wait()
            flush()
            sig = signal.Signals(info.signal).name if info.signal else None
            run.last_exit = (info.exit_code, sig)
            if not run.swapping and not run.stopping:
                self.events.output(run, f"\r\n[{format_result(info.exit_code, sig, run.duration_ms, 'run')}]\r\n")
            if run.proc is proc:
                run.proc = None

        return asyncio.ensure_future(wait())

    def get(self, run_id: str | None) -> list[Run]:
        if run_id is None:
            return list(self.runs.values())
        r = self.runs.get(run_id)
        return [r] if r is not None else []

    async def stop(self, run_id: str | None, grace: float = STOP_GRACE_SECONDS) -> int:
        runs = self.get(run_id)
        for r in runs:
            r.stopping = True
        await asyncio.gather(*(self._stop_one(r, grace) for r in runs))
        return len(runs)

    async def _stop_one(self, run: Run, grace: float) -> None:
        if run.watch:
            run.token.cancel()
            run.wake.set()
            grace = run.options.grace_s
            if run.proc is not None:
                await run.proc.stop(grace, run.options.stop_signal)
            if run.task is not None:
                try:
                    await asyncio.wait_for(asyncio.shield(run.task), grace + BUILD_STOP_SECONDS + 1)
                except (asyncio.TimeoutError, asyncio.CancelledError):
                    pass
                except Exception:
                    pass
            self._exited(run, None, "SIGINT", "run" if run.last_exit else "build")
            return
        if run.proc is not None:
            await run.proc.stop(grace)
            return
        run.token.cancel()     # kills the compiler's process group; the build thread then fails at once
        if run.task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(run.task), BUILD_STOP_SECONDS)
            except (asyncio.TimeoutError, asyncio.CancelledError):
                pass
            except Exception:
                pass
        if run.proc is not None:
            await run.proc.stop(grace)
        else:
            self._exited(run, None, "SIGINT", "build")

    def input(self, run_id: str | None, data: bytes) -> bool:
        runs = self.get(run_id)
        for r in runs:
            if r.proc is not None:
                r.proc.write(data)
            else:
                r.pending_input.append(data)
        return bool(runs)

    def resize(self, run_id: str | None, cols: int, rows: int) -> bool:
        runs = self.get(run_id)
        for r in runs:
            r.size = (cols, rows)
            if r.proc is not None:
                r.proc.resize(cols, rows)
        return bool(runs)

    def kill_all(self) -> None:
        """Ends every run at once (shutdown, a lost client): builds cancelled, programs' sessions killed,
        each run's exit reported."""
        for r in list(self.runs.values()):
            r.stopping = True
            r.token.cancel()
            if r.proc is not None:
                r.proc.kill()
                self._exited(r, None, "SIGKILL", "run")
            else:
                self._exited(r, None, "SIGKILL", "build")
            if r.task is not None:
                r.task.cancel()
