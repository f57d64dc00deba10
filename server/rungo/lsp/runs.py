"""Runs started from the editor: build (in a thread, cancellable), then the program under a pty, streamed as events.

A run builds what the editor shows (the unsaved buffers as overlays) and reports exactly one exit.
"""

from __future__ import annotations

import asyncio
import codecs
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Awaitable, Callable, Mapping, Protocol, Sequence

from rungo.work.workdir import WorkDir
from rungo.lsp.engine import BuildResult, CancelToken, Engine
from rungo.run.pty import PtyProcess

STOP_GRACE_SECONDS = 1.0
BUILD_STOP_SECONDS = 0.4     # a stopped build reports its exit within this, whether or not its thread is done


class RunEvents(Protocol):
    """Where a run reports: the server turns these into notifications."""

    def started(self, run: "Run") -> None: ...
    def output(self, run: "Run", data: str) -> None: ...
    def build_failed(self, run: "Run", result: BuildResult) -> None: ...
    def exited(self, run: "Run", exit_code: int | None, signal_name: str | None, stage: str) -> None: ...


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

    @property
    def duration_ms(self) -> int:
        return (time.monotonic_ns() - self.started_ns) // 1_000_000


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
              cwd: Path | None = None) -> Run:
        self._next += 1
        name = " ".join(files) if files else pkg_dir.name
        run = Run(run_id=f"run-{self._next}", pkg_dir=pkg_dir, name=name, args=tuple(args), size=size,
                  files=tuple(files), overlays=dict(overlays or {}), versions=dict(versions or {}), cwd=cwd)
        self.runs[run.run_id] = run
        run.task = asyncio.ensure_future(self._go(run, list(flags), dict(env), go_path))
        return run

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
                return result
            finally:
                # In the build's own thread: nothing is left behind when the run stops here, even if
                # the server stopped waiting for it. A temporary binary stays until the program exits.
                if result is None or result.prepared is None or run.token.cancelled or run.stopping:
                    work.close()

        try:
            try:
                result = await self.in_thread(build)
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
            argv = [*prepared.exec_argv, str(prepared.binary), *run.args]
            decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")

            def on_output(chunk: bytes) -> None:
                text = decoder.decode(chunk)
                if text:
                    self.events.output(run, text)

            try:
                run.proc = await PtyProcess.start(argv, cwd=str(run.cwd or run.pkg_dir), env=self.engine.program_env(env),
                                                  cols=run.size[0], rows=run.size[1], on_output=on_output)
            except OSError as e:
                self.events.output(run, f"rungo: cannot run {prepared.binary}: {e.strerror or e}\r\n")
                self._exited(run, 126, None, "run")
                return
            if run.stopping:     # stopped while the program was starting
                run.proc.kill()
            for data in run.pending_input:
                run.proc.write(data)
            run.pending_input.clear()
            info = await run.proc.wait()
            tail = decoder.decode(b"", final=True)
            if tail:
                self.events.output(run, tail)
            sig = signal.Signals(info.signal).name if info.signal else None
            self._exited(run, info.exit_code, sig, "run")
        except asyncio.CancelledError:   # the server is going away: nothing of the run may stay
            run.token.cancel()
            if run.proc is not None:
                run.proc.kill()
            self._exited(run, None, "SIGKILL", "run" if run.proc is not None else "build")
            raise
        finally:
            work.close()
            self.runs.pop(run.run_id, None)

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
