"""Syntax problems of a Go file: encoding errors found in the bytes, and ERROR/MISSING nodes of its tree.

One problem per ERROR node (tree-sitter's recovery region), worded after the Go compiler's messages:
"invalid character U+0040 '@'", "newline in string", "syntax error: unexpected }",
"syntax error: unexpected newline, expected )".
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Iterator

from rungo.syntax.model import Position, SyntaxProblem
from rungo.syntax.positions import children, node_position, node_text, offset_position

if TYPE_CHECKING:
    from tree_sitter import Node

IDENT_TYPES = frozenset({
    "identifier", "field_identifier", "type_identifier", "package_identifier", "label_name",
    "blank_identifier", "true", "false", "nil", "iota",
})
LITERAL_TYPES = frozenset({
    "int_literal", "float_literal", "imaginary_literal", "rune_literal",
    "interpreted_string_literal", "raw_string_literal",
})
KEYWORDS = frozenset({
    "break", "case", "chan", "const", "continue", "default", "defer", "else", "fallthrough", "for", "func",
    "go", "goto", "if", "import", "interface", "map", "package", "range", "return", "select", "struct",
    "switch", "type", "var",
})
_VALID_ASCII = frozenset(
    b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_"
    b"+-*/%&|^<>=!()[]{},;.:~\"'` \t\r\n")
_LEAF_LIMIT = 256
_BLANKS = re.compile(rb"[ \t\r]*")
_WHITESPACE = re.compile(rb"[ \t\r\n]*")
_WHITESPACE_AND_COMMENTS = re.compile(rb"(?:[ \t\r\n]+|//[^\n]*|/\*.*?\*/)*", re.DOTALL)


def encoding_problems(source: bytes) -> list[SyntaxProblem]:
    """The first invalid UTF-8 sequence, NUL byte and misplaced byte order mark, as the Go compiler reports them."""
    found: list[SyntaxProblem] = []
    try:
        source.decode("utf-8")
    except UnicodeDecodeError as e:
        found.append(SyntaxProblem(offset_position(source, e.start), "invalid UTF-8 encoding"))
    nul = source.find(b"\x00")
    if nul >= 0:
        found.append(SyntaxProblem(offset_position(source, nul), "invalid NUL character"))
    bom = source.find(b"\xef\xbb\xbf", 1)
    if bom >= 0:
        found.append(SyntaxProblem(offset_position(source, bom), "invalid BOM in the middle of the file"))
    return found


def tree_problems(root: Node, source: bytes, limit: int) -> list[SyntaxProblem]:
    """One problem per outermost ERROR node and per MISSING node outside ERROR nodes, in tree order, at most limit."""
    found: list[SyntaxProblem] = []
    if not root.has_error:
        return found
    cursor = root.walk()
    previous: list[Node | None] = [None]  # per depth: the last named sibling seen, for ERROR nodes
    while len(found) < limit:
        node = cursor.node
        descend = False
        if node is not None:
            if node.is_error:
                found.append(_error_problem(node, source, root, previous[-1]))
            elif node.is_missing:
                found.append(_missing_problem(node, source, root))
            else:
                descend = node.has_error
            if node.is_named and node.type != "comment":
                previous[-1] = node
        if descend and cursor.goto_first_child():
            previous.append(None)
            continue
        while not cursor.goto_next_sibling():
            if len(previous) == 1 or not cursor.goto_parent():
                return found
            previous.pop()
    return found


def leaves(node: Node, limit: int = _LEAF_LIMIT) -> Iterator[Node]:
    """The tokens under node in order (literals count as one token), at most limit of them."""
    cursor = node.walk()
    depth = 0
    count = 0
    while True:
        current = cursor.node
        if current is not None and (current.child_count == 0 or current.type in LITERAL_TYPES):
            yield current
            count += 1
            if count >= limit:
                return
        elif cursor.goto_first_child():
            depth += 1
            continue
        while True:
            if depth == 0:
                return
            if cursor.goto_next_sibling():
                break
            cursor.goto_parent()
            depth -= 1


def describe_token(node: Node, source: bytes) -> str:
    """A token as the Go compiler names it in "unexpected ..." messages."""
    kind = node.type
    text = node_text(node, source)
    if kind in LITERAL_TYPES:
        return "literal " + _shorten(text)
    if kind in IDENT_TYPES:
        return "name " + text
    if kind in KEYWORDS:
        return "keyword " + kind
    if kind == "\n":
        return "newline"
    if kind == ";":
        return "semicolon" if text == ";" else "newline"
    if kind == ",":
        return "comma"
    return _shorten(text) if text else kind


def _shorten(text: str, width: int = 40) -> str:
    text = text.split("\n", 1)[0]
    return text if len(text) <= width else text[:width - 3] + "..."


_DECLARATIONS = frozenset({
    "package_clause", "import_declaration", "function_declaration", "method_declaration",
    "const_declaration", "type_declaration", "var_declaration",
})
_DECLARATION_KEYWORDS = frozenset({"package", "import", "func", "const", "type", "var"})
_CLOSERS = {"(": ")", "[": "]", "{": "}"}
_SEMICOLON_KEYWORDS = frozenset({"break", "continue", "fallthrough", "return"})
_COMPLETE_KEYWORDS = frozenset({"break", "continue", "fallthrough", "else", "case", "default"})
NON_DECLARATION = "syntax error: non-declaration statement outside function body"


def _error_problem(error: Node, source: bytes, root: Node, previous: Node | None) -> SyntaxProblem:
    """One problem for an ERROR node, placed where the Go compiler would most likely complain.

    tree-sitter's ERROR node is the region its recovery skipped; the offending token is usually its first
    token, or the token after it when the region is an incomplete construct (a keyword, an operator at the
    end of a line, an unclosed bracket).
    """
    tokens: list[Node] = []
    for leaf in leaves(error):
        if leaf.is_missing or leaf.type == "comment" or leaf.start_byte == leaf.end_byte:
            continue
        special = _special_token(leaf, source)
        if special is not None:
            return special
        tokens.append(leaf)
    if not tokens:
        return _unexpected_after(error, tokens, source, root)

    parent = error.parent
    if parent is None or parent.type == "source_file":
        # A top-level region: skip the complete declarations error recovery swept into it.
        previous_end = previous.end_byte if previous is not None and previous.type in _DECLARATIONS else None
        previous_bodiless = (previous is not None and previous.type in ("function_declaration", "method_declaration")
                             and previous.child_by_field_name("body") is None)
        for child in children(error):
            if child.type in _DECLARATIONS and not child.has_error:
                previous_end, previous_bodiless = child.end_byte, False
            elif child.type != "comment":
                break
        rest = [t for t in tokens if previous_end is None or t.start_byte >= previous_end]
        if not rest:
            return _unexpected_after(error, tokens, source, root)
        first = rest[0]
        same_line = previous_end is not None and b"\n" not in source[previous_end:first.start_byte]
        if not (same_line and previous_bodiless and first.type == "{"):  # else: the body of a func
            if same_line:
                found = describe_token(first, source) + " after top level declaration"
                return SyntaxProblem(node_position(first), "syntax error: unexpected " + found)
            if first.type not in _DECLARATION_KEYWORDS:
                return SyntaxProblem(node_position(first), NON_DECLARATION)
            if len(rest) > 1 and not _reaches_eof(error, source):
                return _unexpected(rest[1], source)
            return _unexpected_after(error, tokens, source, root)

    first = tokens[0]
    if first.type in (")", "]", "}"):
        return _unexpected(first, source)
    only_keywords = first.type not in _COMPLETE_KEYWORDS and all(t.type in KEYWORDS for t in tokens)
    if only_keywords or _ends_line(error, source):
        return _unexpected_after(error, tokens, source, root)
    return _unexpected(first, source)


def _special_token(leaf: Node, source: bytes) -> SyntaxProblem | None:
    """A scanner-level error at leaf: an invalid character, an unterminated string or comment."""
    kind = leaf.type
    parent = leaf.parent
    if kind == "ERROR":
        message = _bad_token(source, leaf.start_byte)
        return SyntaxProblem(node_position(leaf), message) if message else None
    if kind == "/" and source[leaf.end_byte:leaf.end_byte + 1] == b"*":
        return SyntaxProblem(node_position(leaf), "comment not terminated")
    if kind == '"' and (parent is None or parent.type != "interpreted_string_literal"):
        newline = source.find(b"\n", leaf.end_byte)
        if newline >= 0:
            return SyntaxProblem(offset_position(source, newline), "newline in string")
        return SyntaxProblem(node_position(leaf), "string not terminated")
    if kind == "`" and (parent is None or parent.type != "raw_string_literal"):
        return SyntaxProblem(node_position(leaf), "string not terminated")
    return None


def _unexpected(token: Node, source: bytes) -> SyntaxProblem:
    return SyntaxProblem(node_position(token), "syntax error: unexpected " + describe_token(token, source))


def _unexpected_after(error: Node, tokens: list[Node], source: bytes, root: Node) -> SyntaxProblem:
    """The token after error is the unexpected one; at EOF, name the bracket left open."""
    semicolon = bool(tokens) and inserts_semicolon(tokens[-1])
    position, found = next_token(error.end_byte, source, root, semicolon)
    message = "syntax error: unexpected " + found
    if found == "EOF":
        stack: list[str] = []
        for token in tokens:
            if token.type in _CLOSERS:
                stack.append(_CLOSERS[token.type])
            elif stack and token.type == stack[-1]:
                stack.pop()
        if stack:
            message += ", expected " + stack[-1]
    return SyntaxProblem(position, message)


def _ends_line(node: Node, source: bytes) -> bool:
    """Only spaces or a line comment follow node on its last line."""
    i = _skip(_BLANKS, source, node.end_byte)
    return i >= len(source) or source[i] == 0x0A or source.startswith(b"//", i)


def _reaches_eof(node: Node, source: bytes) -> bool:
    return _skip(_WHITESPACE, source, node.end_byte) == len(source)


def _skip(pattern: re.Pattern[bytes], source: bytes, offset: int) -> int:
    """The offset after what pattern (which can match nothing) matches at offset."""
    match = pattern.match(source, offset)
    return offset if match is None else match.end()


def inserts_semicolon(token: Node) -> bool:
    """Whether a newline after token ends a statement (the Go spec's automatic semicolon rule)."""
    kind = token.type
    parent = token.parent
    if parent is not None and parent.type in LITERAL_TYPES:
        return True
    return kind in IDENT_TYPES or kind in LITERAL_TYPES or kind in _SEMICOLON_KEYWORDS \
        or kind in (")", "]", "}", "++", "--")


def _bad_token(source: bytes, offset: int) -> str:
    """The Go scanner's complaint about the character at offset, or "" when it is a character Go accepts."""
    head = source[offset:offset + 4]
    if not head:
        return ""
    if head[0] < 0x80:
        ch = chr(head[0])
        if ch == "'":
            return "rune literal not terminated"
        if head[0] in _VALID_ASCII:
            return ""
    else:
        ch = head.decode("utf-8", "replace")[0]
        if ch == "\ufffd" and not head.startswith("\ufffd".encode()):
            return "invalid UTF-8 encoding"
        if ch == "\ufeff":
            return "invalid BOM in the middle of the file"
        if ch.isalpha() or ch.isdigit():
            return ""
    if ch == "\x00":
        return "invalid NUL character"
    code = f"U+{ord(ch):04X}"
    return f"invalid character {code} '{ch}'" if ch.isprintable() else f"invalid character {code}"


def _missing_problem(missing: Node, source: bytes, root: Node) -> SyntaxProblem:
    kind = missing.type
    if kind in ("identifier", "field_identifier", "package_identifier", "label_name"):
        expected = "name"
    elif kind == "type_identifier":
        expected = "type"
    elif kind in ("\n", ";"):
        expected = "semicolon or newline"
    else:
        expected = kind
    before = _token_before(missing.start_byte, source, root)
    semicolon = before is None or inserts_semicolon(before)
    position, found = next_token(missing.end_byte, source, root, semicolon)
    return SyntaxProblem(position, f"syntax error: unexpected {found}, expected {expected}")


def _token_before(offset: int, source: bytes, root: Node) -> Node | None:
    """The token ending just before offset, past whitespace (looking back a few kilobytes at most)."""
    window = max(0, offset - 4096)
    i = window + len(source[window:offset].rstrip(b" \t\r\n"))
    if i == window:
        return None
    return root.descendant_for_byte_range(i - 1, i)


def next_token(offset: int, source: bytes, root: Node, semicolon: bool) -> tuple[Position, str]:
    """The position and compiler-style name of the first token at or after offset.

    With semicolon set, a newline (or a line comment's end) is a token, as after an identifier or `)`.
    """
    n = len(source)
    i = _skip(_BLANKS, source, offset)
    if i < n and (source[i] == 0x0A or source.startswith(b"//", i)) and semicolon:
        newline = source.find(b"\n", i)
        return offset_position(source, n if newline < 0 else newline), "newline"
    i = _skip(_WHITESPACE_AND_COMMENTS, source, i)
    if i >= n:
        return offset_position(source, n), "EOF"
    token = root.descendant_for_byte_range(i, i + 1)
    if token is not None and token.start_byte == i:
        parent = token.parent
        if parent is not None and parent.type in LITERAL_TYPES:
            token = parent
        return offset_position(source, i), describe_token(token, source)
    word = source[i:i + 16].split()
    return offset_position(source, i), _shorten(word[0].decode("utf-8", "replace") if word else "EOF")
