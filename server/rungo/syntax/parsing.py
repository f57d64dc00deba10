"""Running tree-sitter-go: one lazily built language per process, one parser per thread, and a time budget.

tree_sitter is imported on the first parse, not when rungo.syntax is imported. Error recovery on
hostile input (megabytes of random bytes) can take tens of seconds, so a parse that runs past its budget
is abandoned and None is returned.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tree_sitter import Language, Parser, Point, Tree

_CHUNK = 1 << 16  # bytes handed to tree-sitter per read


class _PerThread(threading.local):
    parser: Parser | None = None


_language: Language | None = None
_per_thread = _PerThread()


def _go() -> Language:
    """The tree-sitter-go language, loaded once per process."""
    global _language
    if _language is None:
        import tree_sitter
        import tree_sitter_go
        _language = tree_sitter.Language(tree_sitter_go.language())
    return _language


def _parser() -> Parser:
    """This thread's parser (tree-sitter parsers must not be shared between threads)."""
    parser = _per_thread.parser
    if parser is None:
        import tree_sitter
        parser = tree_sitter.Parser(_go())
        _per_thread.parser = parser
    return parser


def parse(source: bytes, budget: float) -> Tree | None:
    """The syntax tree of source, or None when parsing takes longer than budget seconds."""
    parser = _parser()
    view = memoryview(source)
    start = time.monotonic()

    def read(offset: int, _point: Point) -> memoryview:
        return view[offset:offset + _CHUNK]

    def progress(_offset: int, _has_error: bool) -> bool:
        return time.monotonic() - start > budget

    try:
        return parser.parse(read, progress_callback=progress)
    except ValueError:  # cancelled by progress(): the parser keeps its state unless reset
        parser.reset()
        return None

