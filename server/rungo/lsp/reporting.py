"""A run as the client hears it: rungo/* notifications and $/progress, or log and show messages for plain clients."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from lsprotocol import types as lsp

from rungo.lsp import convert, publishing
from rungo.lsp.engine import BuildResult
from rungo.lsp.runs import Run

if TYPE_CHECKING:
    from rungo.lsp.state import RungoServer


def result_key(run: Run) -> Path:
    """Where a run's result shows: its package's lens, or its file's for a file-scoped program."""
    return run.key


class RunReporter:
    """The server's RunEvents: each event of a run told to the client."""

    def __init__(self, server: RungoServer) -> None:
        self.server = server
        self.progress: dict[str, str] = {}     # run id -> its build's progress token

    def built(self) -> None:
        self.server.tell_troubles()

    def started(self, run: Run) -> None:
        s = self.server
        if s.output_support:
            s.protocol.notify("rungo/runStarted", {"runId": run.run_id, "package": str(run.pkg_dir),
                                                   "name": run.name, "args": list(run.args), "watch": run.watch})
        caps = s.client_capabilities.window
        if caps is not None and caps.work_done_progress:
            token = f"rungo-build-{uuid.uuid4().hex[:8]}"
            self.progress[run.run_id] = token
            asyncio.ensure_future(self._begin(token, run))
        if run.watch and not s.closing:
            s.refresh_lenses()

    def restarted(self, run: Run) -> None:
        """A watch's new program starts in the same terminal: runStarted again, same runId, `restart: true`
        (no runExited comes between)."""
        s = self.server
        try:
            if s.output_support:
                s.protocol.notify("rungo/runStarted", {"runId": run.run_id, "package": str(run.pkg_dir),
                                                       "name": run.name, "args": list(run.args), "restart": True,
                                                       "watch": True})
            else:
                s.window_log_message(lsp.LogMessageParams(lsp.MessageType.Log, f"{run.name}: restarted"))
        except Exception:
            pass

    async def _begin(self, token: str, run: Run) -> None:
        s = self.server
        try:
            await s.work_done_progress.create_async(token)
            s.work_done_progress.begin(token, lsp.WorkDoneProgressBegin(title=f"Building {run.name}",
                                                                        cancellable=False))
        except Exception:
            self.progress.pop(run.run_id, None)

    def _end(self, run: Run, message: str) -> None:
        token = self.progress.pop(run.run_id, None)
        if token is not None:
            try:
                self.server.work_done_progress.end(token, lsp.WorkDoneProgressEnd(message=message))
            except Exception:
                pass

    def output(self, run: Run, data: str) -> None:
        self._end(run, "built")
        s = self.server
        try:
            if s.output_support:
                s.protocol.notify("rungo/output", {"runId": run.run_id, "data": data})
            else:
                s.window_log_message(lsp.LogMessageParams(lsp.MessageType.Log, data))
        except Exception:
            pass

    def build_failed(self, run: Run, result: BuildResult) -> None:
        self._end(run, "failed")
        text = result.text.rstrip("\n") + "\n"
        self.output(run, text.replace("\n", "\r\n"))
        # The diagnostics come from a check of what the editor shows now, never from the build's view.
        publishing.schedule_check(self.server, run.pkg_dir, 0, build=True)

    def exited(self, run: Run, exit_code: int | None, signal_name: str | None, stage: str) -> None:
        self._end(run, "done")
        s = self.server
        duration = run.duration_ms
        result = convert.format_result(exit_code, signal_name, duration, stage)
        s.results[result_key(run)] = result
        try:
            if s.output_support:
                s.protocol.notify("rungo/runExited", {"runId": run.run_id, "exitCode": exit_code,
                                                      "signal": signal_name, "durationMs": duration, "stage": stage})
            else:
                kind = lsp.MessageType.Info if stage == "run" and exit_code == 0 else lsp.MessageType.Warning
                s.window_show_message(lsp.ShowMessageParams(kind, f"{run.name}: {result}"))
        except Exception:
            return
        if not s.closing:
            s.refresh_lenses()
