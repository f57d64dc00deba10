"""Watch mode's loop (`rungo run -watch`): build in this warm process, run the program in its own
process group, rebuild on every change to the build's own inputs (each build says which) while the
old program runs, and swap programs once the new binary is ready.

Nothing here prints: what to show goes to `tell` (the command line writes it to stderr).
"""

from __future__ import annotations

import queue
import signal
import time
from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

from rungo.filewatch import FileEvents, WatchSet, watch_set
from rungo.invocation import Invocation, WatchFlags
from rungo.load.model import Watched
from rungo.orchestrate import Prepared, RunError, Session, build
from rungo.run.execute import command_line, resolve_program
from rungo.run.group import GroupProcess, Terminal, format_ms

CLEAR_SCREEN = "\x1b[H\x1b[2J\x1b[3J"
ENDING_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


@dataclass(frozen=True, slots=True)
class WatchOptions:
    """rungo run -watch's own settings."""

    stop_signal: int = signal.SIGINT
    grace_s: float = 2.0
    debounce_s: float = 0.05
    stop_on_error: bool = False
    clear: bool = False
    poll: bool = False

    @classmethod
    def of(cls, flags: WatchFlags) -> WatchOptions:
        """The options the -watch-* flags give (the command line's and the editors' watches alike)."""
        return cls(stop_signal=signal.Signals[flags.signal], grace_s=flags.grace_s, debounce_s=flags.debounce_s,
                   stop_on_error=flags.stop_on_error, clear=flags.clear, poll=flags.poll)


class _Interrupted(BaseException):
    """A signal that ends the watch arrived during a build."""


class Watch:
    """One `rungo run -watch`: `run()` returns when a signal ends it (the signal's number)."""

    def __init__(self, new_session: Callable[[], Session], inv: Invocation,
                 program_env: Mapping[str, str], search_path: str, options: WatchOptions,
                 tell: Callable[[str], None]) -> None:
        self._new_session = new_session
        self._inv = inv
        self._env = dict(program_env)
        self._search_path = search_path
        self._opts = options
        self._tell = tell
        self._queue: queue.SimpleQueue[tuple[str, object]] = queue.SimpleQueue()
        self._files = FileEvents(lambda paths: self._queue.put(("files", paths)), poll=options.poll)
        self._terminal = Terminal()
        self._ws: WatchSet | None = None
        self._program: GroupProcess | None = None
        self._program_session: Session | None = None
        self._ending: int | None = None
        self._building = False
        self._due: float | None = None        # when the debounced check of the inputs is due

    # -- the loop ------------------------------------------------------------------------

    def run(self) -> int:
        old = {sig: signal.signal(sig, self._on_signal) for sig in ENDING_SIGNALS}
        try:
            self._cycle()
            while self._ending is None:
                now = time.monotonic()
                if self._due is not None and now >= self._due:
                    self._due = None
                    if self._ws is None or self._ws.changed():
                        self._cycle()
                    continue
                wait = 0.2 if self._due is None else max(0.0, self._due - now)
                try:
                    kind, data = self._queue.get(timeout=wait)
                except queue.Empty:
                    continue
                if kind == "files":
                    self._files_changed(data)  # type: ignore[arg-type]
                elif kind == "exit":
                    self._exited(data)  # type: ignore[arg-type]
        except _Interrupted:
            pass
        finally:
            self._building = False
            self._stop_program()
            self._files.close()
            self._terminal.take_back()
            for sig, handler in old.items():
                signal.signal(sig, handler)
        return self._ending or signal.SIGINT

    def _on_signal(self, signum: int, _frame: object) -> None:
        if self._ending is None:
            self._ending = signum
        if self._building:
            self._building = False
            raise _Interrupted()

    def _files_changed(self, paths: set[str] | None) -> None:
        ws = self._ws
        if ws is None or paths is None or any(ws.concerns(p) for p in paths):
            self._due = time.monotonic() + self._opts.debounce_s   # quiet for debounce_s, then look

    def _exited(self, proc: GroupProcess) -> None:
        if proc is not self._program or proc.stopped_by_us or proc.ended is None:
            return
        self._terminal.take_back()
        if proc.ended.signal == signal.SIGINT and self._terminal.owned:
            self._ending = signal.SIGINT      # the terminal's Ctrl-C, which went to the program
            return
        self._tell(proc.ended.line() + "\n")

    # -- one build, and the swap ---------------------------------------------------------------

    def _cycle(self) -> None:
        before = self._ws.restamped() if self._ws is not None else ()
        started = time.monotonic()
        session = self._new_session()
        self._building = True
        try:
            try:
                prepared: Prepared | RunError = build(session, self._inv)
            except RunError as e:
                prepared = e
            finally:
                self._building = False
        except _Interrupted:
            session.work.close()
            raise
        if isinstance(prepared, RunError):
            session.work.close()
            self._failed(prepared, before)
            return
        if prepared.messages:
            self._tell(prepared.messages)
        self._arm(watch_set(prepared.watched))
        restarting = self._program is not None
        self._stop_program()
        if self._opts.clear:
            self._tell(CLEAR_SCREEN)
        if restarting:
            self._tell(f"[rebuilt in {format_ms(int((time.monotonic() - started) * 1000))} · restarted]\n")
        self._start(prepared, session)

    def _failed(self, e: RunError, before: tuple[Watched, ...]) -> None:
        self._tell(e.text.rstrip("\n") + "\n")
        running = self._program is not None and self._program.running
        if running and self._opts.stop_on_error:
            self._stop_program()
            self._tell("[build failed · program stopped]\n")
        elif running:
            self._tell("[build failed · the program keeps running]\n")
        else:
            self._tell("[build failed · waiting for a change]\n")
        # What the failed build read, else (the go command built it) what the last build read.
        self._arm(watch_set((*before, *e.watched)))

    def _arm(self, ws: WatchSet) -> None:
        self._ws = ws
        self._files.arm(ws)
        if ws.changed():                  # changed while building: build again
            self._due = time.monotonic() + self._opts.debounce_s

    def _start(self, prepared: Prepared, session: Session) -> None:
        argv = command_line(prepared.binary, self._inv.args, prepared.exec_argv)
        prog = resolve_program(argv[0], self._search_path) or argv[0]
        try:
            self._program = GroupProcess.start(argv, self._env, self._terminal,
                                               lambda p: self._queue.put(("exit", p)), executable=prog)
        except OSError as e:
            reason = e.strerror.lower() if e.strerror else str(e)
            self._tell(f"fork/exec {prog}: {reason}\n")
            session.work.close()
            return
        self._program_session = session

    def _stop_program(self) -> None:
        if self._program is not None:
            self._program.stop(self._opts.stop_signal, self._opts.grace_s)
            self._program = None
        if self._program_session is not None:
            self._program_session.work.close()
            self._program_session = None
