"""Small helpers over tree-sitter nodes: their Positions (1-based line, byte column), text and children."""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterator

from rungo.syntax.model import Position

if TYPE_CHECKING:
    from tree_sitter import Node


def node_position(node: Node) -> Position:
    """Where node starts (tree-sitter points are 0-based rows and byte columns)."""
    point = node.start_point
    return Position(point.row + 1, point.column + 1)


def offset_position(source: bytes, offset: int) -> Position:
    """The position of the byte at offset (len(source) is the end of the file, as the Go compiler places EOF)."""
    offset = max(0, min(offset, len(source)))
    line_start = source.rfind(b"\n", 0, offset) + 1
    return Position(source.count(b"\n", 0, offset) + 1, offset - line_start + 1)


def node_text(node: Node, source: bytes) -> str:
    """The node's source text, decoded leniently."""
    return source[node.start_byte:node.end_byte].decode("utf-8", "replace")


def children(node: Node) -> Iterator[Node]:
    """The node's children in order, without building a list (a garbage file's root can have millions)."""
    cursor = node.walk()
    if not cursor.goto_first_child():
        return
    while True:
        child = cursor.node
        if child is not None:
            yield child
        if not cursor.goto_next_sibling():
            return
