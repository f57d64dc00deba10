"""Converting between compiler byte columns (1-based) and LSP UTF-16 character offsets (0-based)."""

from __future__ import annotations

import bisect


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


def utf16_to_byte_col(line: bytes, utf16_char: int) -> int:
    """The 1-based byte column of the UTF-16 offset utf16_char in line (clamped to the line)."""
    if line.endswith(b"\r"):
        line = line[:-1]
    units = 0
    pos = 0
    text = line
    while pos < len(text) and units < utf16_char:
        ch, size = _next_char(text, pos)
        units += 2 if ord(ch) > 0xFFFF else 1
        pos += size
    return pos + 1


def _next_char(data: bytes, pos: int) -> tuple[str, int]:
    b = data[pos]
    if b < 0x80:
        return chr(b), 1
    size = 2 if b >> 5 == 0b110 else 3 if b >> 4 == 0b1110 else 4 if b >> 3 == 0b11110 else 0
    if size:
        try:
            return data[pos:pos + size].decode("utf-8"), size
        except UnicodeDecodeError:
            pass
    return "\ufffd", 1


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

    def offset_of(self, lsp_line: int, utf16_char: int) -> int:
        """Byte offset in the document of an LSP position."""
        if lsp_line >= len(self.starts):
            return len(self.data)
        line0 = max(0, lsp_line)
        return self.starts[line0] + utf16_to_byte_col(self.line_bytes(line0), utf16_char) - 1

    def line_of_offset(self, offset: int) -> int:
        return bisect.bisect_right(self.starts, offset) - 1
