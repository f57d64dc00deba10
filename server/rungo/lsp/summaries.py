"""Tree-sitter summaries of open documents, computed off the event loop and remembered per document version.

A small document is summarized in a thread; a large one in a worker process (tree-sitter holds the
interpreter while it parses), and the result is remembered for the loader of the next check.
"""

from __future__ import annotations

import asyncio
import pickle
import sys

from rungo.syntax import FileSummary, remember, summarize

BIG_DOCUMENT_BYTES = 1 << 18          # summarized in the worker process, never on the server's threads
NO_SUMMARY = FileSummary("", None, (), False, (), (), None, ())


class SummaryWorker:
    """One `python -m rungo.syntax.worker` child, started on first use, one request at a time."""

    def __init__(self) -> None:
        self.proc: asyncio.subprocess.Process | None = None
        self.lock = asyncio.Lock()

    async def summarize(self, data: bytes) -> FileSummary | None:
        async with self.lock:
            try:
                if self.proc is None or self.proc.returncode is not None:
                    self.proc = await asyncio.create_subprocess_exec(
                        sys.executable, "-m", "rungo.syntax.worker", stdin=asyncio.subprocess.PIPE,
                        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
                proc = self.proc
                assert proc.stdin is not None and proc.stdout is not None
                proc.stdin.write(len(data).to_bytes(8, "big") + data)
                await proc.stdin.drain()
                head = await proc.stdout.readexactly(8)
                body = await proc.stdout.readexactly(int.from_bytes(head, "big"))
                summary = pickle.loads(body)    # from our own child process
            except asyncio.CancelledError:
                self.kill()      # a half-read answer would confuse the next request
                raise
            except (OSError, EOFError, asyncio.IncompleteReadError, pickle.UnpicklingError, AssertionError):
                self.kill()
                return None
        return summary if isinstance(summary, FileSummary) else None

    def kill(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None and proc.returncode is None:
            try:
                proc.kill()
            except ProcessLookupError:
                pass


class Summaries:
    """The summary of any source, and of each open document at its current version."""

    def __init__(self) -> None:
        self.worker = SummaryWorker()
        self.by_uri: dict[str, tuple[int, FileSummary]] = {}

    async def summarize(self, data: bytes) -> FileSummary:
        if len(data) < BIG_DOCUMENT_BYTES:
            return await asyncio.to_thread(summarize, data)
        s = await self.worker.summarize(data)
        if s is None:     # the worker is gone (shutdown, out of memory): no fast answer for this one
            return NO_SUMMARY
        await asyncio.to_thread(remember, data, s)
        return s

    async def of_document(self, uri: str, version: int | None, data: bytes) -> FileSummary:
        """The summary of an open document's data at version (None: not open, not remembered)."""
        hit = self.by_uri.get(uri)
        if hit is not None and version is not None and hit[0] == version:
            return hit[1]
        s = await self.summarize(data)
        if version is not None:
            self.by_uri[uri] = (version, s)
        return s

    def forget(self, uri: str) -> None:
        self.by_uri.pop(uri, None)

    def close(self) -> None:
        self.worker.kill()
