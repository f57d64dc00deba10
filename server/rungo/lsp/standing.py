"""Diagnostics between a keystroke and the compiler's answer: the compiler's last word, carried along with edits.

The compiler is the truth for a file it compiled. Until it answers again, its diagnostics of the lines
nobody touched stay where they were (shifted when lines are inserted or removed above them), and
the fast parser only speaks about the lines that were edited since. All functions here are pure;
Standing is the record of one open document they are applied to.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

from lsprotocol import types as lsp

_BLOCK = 1 << 14


@dataclass(eq=False)
class Standing:
    """What is published for one open document, and what it stands on."""

    text: str                                                       # the text `compiler` is positioned in
    compiler: list[lsp.Diagnostic] = field(default_factory=list)   # the compiler's (or Go parser's) last answer
    edited: list[tuple[int, int]] = field(default_factory=list)    # lines edited since that answer
    answered: bool = False
    generation: int = 0                                             # bumped whenever `text` moves
    refreshing: bool = False
    again: bool = False

    def answer(self, text: str, diagnostics: list[lsp.Diagnostic]) -> None:
        """The compiler (or the Go parser) answered for text: its word replaces everything before."""
        self.compiler, self.edited, self.answered = diagnostics, [], True
        self.text = text
        self.generation += 1

    def forget(self) -> None:
        self.compiler, self.edited, self.answered = [], [], False


@dataclass(frozen=True, slots=True)
class LineEdit:
    """Lines [first, old_stop) of the old text became lines [first, new_stop) of the new text."""

    first: int
    old_stop: int
    new_stop: int

    @property
    def delta(self) -> int:
        return self.new_stop - self.old_stop


def common_prefix(a: str, b: str) -> int:
    """The length of the longest common prefix of a and b (block-wise, at C speed)."""
    n = min(len(a), len(b))
    i = 0
    while i < n:
        j = min(i + _BLOCK, n)
        if a[i:j] == b[i:j]:
            i = j
            continue
        while i < j and a[i] == b[i]:
            i += 1
        return i
    return n


def common_suffix(a: str, b: str, limit: int) -> int:
    """The length of the longest common suffix of a and b, at most limit."""
    n = min(len(a), len(b), limit)
    i = 0
    while i < n:
        j = min(i + _BLOCK, n)
        if a[len(a) - j:len(a) - i] == b[len(b) - j:len(b) - i]:
            i = j
            continue
        while i < j and a[len(a) - 1 - i] == b[len(b) - 1 - i]:
            i += 1
        return i
    return n


def line_edit(old: str, new: str) -> LineEdit | None:
    """The lines that differ between old and new (one contiguous region), None when they are equal."""
    if old == new:
        return None
    p = common_prefix(old, new)
    s = common_suffix(old, new, min(len(old), len(new)) - p)
    first = old.count("\n", 0, p)
    old_stop = old.count("\n", 0, len(old) - s) + 1
    new_stop = new.count("\n", 0, len(new) - s) + 1
    return LineEdit(first, old_stop, new_stop)


def _shift_range(r: lsp.Range, delta: int) -> lsp.Range:
    return lsp.Range(lsp.Position(r.start.line + delta, r.start.character),
                     lsp.Position(r.end.line + delta, r.end.character))


def shift_diagnostics(diags: Sequence[lsp.Diagnostic], edit: LineEdit) -> list[lsp.Diagnostic]:
    """The diagnostics that do not touch the edited lines, moved to their lines in the new text."""
    out: list[lsp.Diagnostic] = []
    for d in diags:
        start, end = d.range.start.line, max(d.range.end.line, d.range.start.line)
        if d.range.end.line > start and d.range.end.character == 0:
            end -= 1     # a whole-line range ends at the start of the next line
        if end < edit.first:
            out.append(d)
        elif start >= edit.old_stop:
            out.append(lsp.Diagnostic(range=_shift_range(d.range, edit.delta), message=d.message,
                                      severity=d.severity, code=d.code, source=d.source,
                                      related_information=d.related_information, tags=d.tags))
    return out


def shift_lines(spans: Sequence[tuple[int, int]], edit: LineEdit) -> list[tuple[int, int]]:
    """Line spans [a, b) moved through an edit, with the edited lines added as one more span, merged."""
    moved: list[tuple[int, int]] = [(edit.first, edit.new_stop)]
    for a, b in spans:
        if b <= edit.first:
            moved.append((a, b))
        elif a >= edit.old_stop:
            moved.append((a + edit.delta, b + edit.delta))
        else:   # overlaps the edit: what is left of it on either side joins the edited span
            moved.append((min(a, edit.first), max(b + edit.delta, edit.new_stop) if b > edit.old_stop
                          else edit.new_stop))
    moved.sort()
    merged: list[tuple[int, int]] = []
    for a, b in moved:
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged


def in_spans(line: int, spans: Sequence[tuple[int, int]]) -> bool:
    return any(a <= line < b for a, b in spans)


def between_answers(compiler: Sequence[lsp.Diagnostic], fast: Sequence[lsp.Diagnostic],
                    edited: Sequence[tuple[int, int]], answered: bool) -> list[lsp.Diagnostic]:
    """What to show after a keystroke: the compiler's standing diagnostics, and the fast parser's only
    on the lines edited since the compiler's answer and the line after each (everywhere when the
    compiler has not answered)."""
    if not answered:
        return list(fast)
    out = [d for d in compiler if not in_spans(d.range.start.line, edited)]
    # A parser reports an unfinished line at the next token: the line after an edit is the edit's too.
    near = [(a, b + 1) for a, b in edited]
    out.extend(d for d in fast if in_spans(d.range.start.line, near))
    out.sort(key=lambda d: (d.range.start.line, d.range.start.character))
    return out
