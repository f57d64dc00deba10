"""A process that summarizes Go sources for another one, so that a large file's parse never holds the
caller's interpreter: an 8-byte big-endian length and the source in, the same framing around the pickled
FileSummary out, until end of input. Started as `python -m rungo.syntax.worker`."""

from __future__ import annotations

import pickle
import sys

from rungo.syntax.summary import summarize


def serve(stdin: object, stdout: object) -> None:
    read = getattr(stdin, "read")
    write = getattr(stdout, "write")
    flush = getattr(stdout, "flush")
    while True:
        head = read(8)
        if len(head) < 8:
            return
        n = int.from_bytes(head, "big")
        data = read(n)
        if len(data) < n:
            return
        out = pickle.dumps(summarize(data), protocol=pickle.HIGHEST_PROTOCOL)
        write(len(out).to_bytes(8, "big") + out)
        flush()


if __name__ == "__main__":
    serve(sys.stdin.buffer, sys.stdout.buffer)
