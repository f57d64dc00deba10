"""The open documents: their text kept as the client edits it, found under the URIs the client used.

pygls rebuilds a document line by line on every incremental change (a tenth of a second for 5 MB,
on the event loop); EditableDocument finds the edited offsets with C-speed string operations instead.
pygls keys documents by unquoted URI; OpenDocuments answers under the client's own spelling.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Mapping
from urllib.parse import unquote

from lsprotocol import types as lsp
from pygls.workspace import TextDocument, Workspace

from rungo.lsp.convert import uri_to_path

MAX_DOCUMENT_BYTES = 16 << 20


def _index_in_line(line: str, units: int, encoding: Any) -> int:
    """The code point index in line of a position counted in the client's units."""
    if units <= 0:
        return 0
    if encoding == lsp.PositionEncodingKind.Utf32:
        return min(units, len(line))
    if line.isascii():
        return min(units, len(line))
    seen = 0
    for i, c in enumerate(line):
        if seen >= units:
            return i
        if encoding == lsp.PositionEncodingKind.Utf8:
            seen += len(c.encode("utf-8", "surrogatepass"))
        else:
            seen += 2 if ord(c) > 0xFFFF else 1
    return len(line)


def line_start(text: str, line: int) -> int:
    """The offset where line (0-based, lines end at \\n) starts; len(text) past the end."""
    if line <= 0:
        return 0
    parts = text.split("\n", line)
    if len(parts) <= line:
        return len(text)
    return len(text) - len(parts[-1])


def offset_of(text: str, position: lsp.Position, encoding: Any, start: int | None = None) -> int:
    base = start if start is not None else line_start(text, position.line)
    if base >= len(text):
        return len(text)
    end = text.find("\n", base)
    line = text[base:end if end >= 0 else len(text)]
    if line.endswith("\r"):
        line = line[:-1]
    return base + _index_in_line(line, position.character, encoding)


def apply_edit(text: str, rng: lsp.Range, new: str, encoding: Any) -> str:
    start_base = line_start(text, rng.start.line)
    start = offset_of(text, rng.start, encoding, start_base)
    end_base = start_base
    for _ in range(max(0, rng.end.line - rng.start.line)):
        nl = text.find("\n", end_base)
        if nl < 0:
            end_base = len(text)
            break
        end_base = nl + 1
    end = max(start, offset_of(text, rng.end, encoding, end_base))
    return text[:start] + new + text[end:]


class EditableDocument(TextDocument):
    def _apply_incremental_change(self, change: lsp.TextDocumentContentChangePartial) -> None:
        self._source = apply_edit(self.source, change.range, change.text, self._position_codec.encoding)


class EditableWorkspace(Workspace):
    def _create_text_document(self, doc_uri: str, source: str | None = None, version: int | None = None,
                              language_id: str | None = None) -> TextDocument:
        return EditableDocument(doc_uri, source=source, version=version, language_id=language_id,
                                sync_kind=self._sync_kind, position_codec=self._position_codec)


class OpenDocuments:
    """The workspace's open documents under the client's URIs, and the open file at each path."""

    def __init__(self, workspace: Callable[[], Workspace]) -> None:
        self._workspace = workspace
        self._client_uris: dict[str, str] = {}      # pygls' (unquoted) key -> the client's URI
        self._path_uris: dict[Path, str] = {}       # an open file -> the client's URI for it

    def opened(self, uri: str) -> None:
        self._client_uris[unquote(uri)] = uri
        path = uri_to_path(uri)
        if path is not None:
            self._path_uris[path] = uri

    def closed(self, uri: str) -> None:
        self._client_uris.pop(unquote(uri), None)
        path = uri_to_path(uri)
        if path is not None:
            self._path_uris.pop(path, None)

    def get(self, uri: str) -> TextDocument | None:
        """The open document of a URI as the client spells it."""
        doc: TextDocument | None = self._workspace().text_documents.get(unquote(uri))
        return doc

    def items(self) -> list[tuple[str, TextDocument]]:
        return [(self._client_uris.get(k, k), d) for k, d in list(self._workspace().text_documents.items())]

    def uri_for(self, path: Path) -> str:
        """The URI under which the client knows a file (the one it opened it with, when open)."""
        return self._path_uris.get(path) or path.as_uri()

    def data(self, uri: str) -> bytes | None:
        doc = self.get(uri)
        return doc.source.encode("utf-8", "replace") if doc is not None else None

    def version(self, uri: str) -> int | None:
        doc = self.get(uri)
        return doc.version if doc is not None else None

    def language_of(self, uri: str) -> str:
        doc = self.get(uri)
        return (doc.language_id or "") if doc is not None else ""

    def versions(self) -> dict[str, int | None]:
        return {uri: doc.version for uri, doc in self.items()}

    def texts(self) -> dict[str, str]:
        return {uri: doc.source for uri, doc in self.items()}

    def open_in(self, pkg_dir: Path) -> dict[str, int | None]:
        """The open .go files of a directory, with their versions."""
        out: dict[str, int | None] = {}
        for uri, doc in self.items():
            p = uri_to_path(uri)
            if p is not None and p.parent == pkg_dir and p.suffix == ".go":
                out[uri] = doc.version
        return out


def overlays(texts: Mapping[str, str]) -> dict[Path, bytes]:
    """The open .go files' texts, by path, for a check or build of what the editor shows."""
    out: dict[Path, bytes] = {}
    for uri, text in texts.items():
        p = uri_to_path(uri)
        if p is None or p.suffix != ".go" or len(text) > MAX_DOCUMENT_BYTES:
            continue
        out[p] = text.encode("utf-8", "replace")
    return out


def read_disk(path: Path) -> bytes | None:
    try:
        with open(path, "rb") as f:
            return f.read(MAX_DOCUMENT_BYTES)
    except OSError:
        return None
