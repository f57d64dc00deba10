"""Converting compiler byte columns (1-based) to LSP UTF-16 character offsets (0-based)."""

from __future__ import annotations


def _units(text: str) -> int:
    return sum(2 if ord(c) > 0xFFFF else 1 for c in text)


def _decode(data: bytes) -> str:
    # Each invalid byte becomes one U+FFFD, as Go's decoder and editors show it.
    return data.decode("utf-8", "replace")


def byte_col_to_utf16(line: bytes, byte_col: int) -> int:
    """The UTF-16 offset of the 1-based byte column byte_col in line (clamped to the line)."""
    if line.endswith(b"\r"):
        line = line[:-1]
    n = max(0, min(byte_col - 1, len(line)))
    return _units(_decode(line[:n]))


class LineIndex:
    """Line starts of a document, for position conversions. Lines end at \\n only, as Go counts them."""

    def __init__(self, data: bytes | str) -> None:
        self.data = data.encode("utf-8", "surrogateescape") if isinstance(data, str) else data
        starts = [0]
        find = self.data.find
        i = find(b"\n")
        while i >= 0:
            starts.append(i + 1)
            i = find(b"\n", i + 1)
        self.starts = starts

    def line_bytes(self, line0: int) -> bytes:
        if line0 < 0 or line0 >= len(self.starts):
            return b""
        start = self.starts[line0]
        end = self.starts[line0 + 1] - 1 if line0 + 1 < len(self.starts) else len(self.data)
        return self.data[start:end]

    def position(self, line1: int, byte_col1: int) -> tuple[int, int]:
        """(0-based line, UTF-16 character) of a compiler position; past the end clamps to the end."""
        line0 = max(0, line1 - 1)
        if line0 >= len(self.starts):
            last = len(self.starts) - 1
            return last, byte_col_to_utf16(self.line_bytes(last), 1 << 30)
        return line0, byte_col_to_utf16(self.line_bytes(line0), byte_col1)
