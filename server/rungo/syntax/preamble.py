"""The comment attached to each `import "C"` of a Go file: cgo's preamble, read as go/build reads it.

`cgo_preambles(source)` is go/parser's lead comment of each such import spec (or of its one-spec
declaration), rendered as go/ast's CommentGroup.Text(); `comment_text` is that rendering. A small
hand-written tokenizer (go/scanner's comments and line counting, no tree-sitter) stops at the first
declaration after the imports, as go/build's header reader does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Sequence

from rungo.quoting import unquote_lenient


@dataclass(frozen=True, slots=True)
class _Comment:
    text: str
    start: int      # line of its first character
    end: int        # line of its last character


@dataclass(frozen=True, slots=True)
class _Token:
    text: str
    line: int
    comments: tuple[_Comment, ...]   # the comments between the previous token and this one
    prev_line: int                   # line of the previous token (0 before the first)


def _tokens(src: str) -> Iterator[_Token]:
    """Go tokens (identifiers, literals, single punctuation characters) with the comments before each."""
    i, n, line = 0, len(src), 1
    comments: list[_Comment] = []
    prev = 0
    while i < n:
        c = src[i]
        if c == "\n":
            line += 1
            i += 1
            continue
        if c in " \t\r":
            i += 1
            continue
        if src.startswith("//", i):
            j = src.find("\n", i)
            j = n if j < 0 else j
            text = src[i:j]
            if text.endswith("\r"):
                text = text[:-1]
            comments.append(_Comment(text.replace("\r", ""), line, line))
            i = j
            continue
        if src.startswith("/*", i):
            j = src.find("*/", i + 2)
            if j < 0:
                return
            text = src[i:j + 2]
            nl = text.count("\n")
            comments.append(_Comment(_strip_cr_block(text), line, line + nl))
            line += nl
            i = j + 2
            continue
        start_line = line
        if c == '"' or c == "'":
            j = i + 1
            while j < n and src[j] != c and src[j] != "\n":
                j += 2 if src[j] == "\\" else 1
            j = min(j + 1, n)
        elif c == "`":
            j = src.find("`", i + 1)
            j = n if j < 0 else j + 1
            line += src.count("\n", i, j)
        elif c.isalnum() or c == "_" or ord(c) >= 0x80:
            j = i + 1
            while j < n and (src[j].isalnum() or src[j] == "_" or ord(src[j]) >= 0x80):
                j += 1
        else:
            j = i + 1
        yield _Token(src[i:j], start_line, tuple(comments), prev)
        comments = []
        prev = line
        i = j


def _strip_cr_block(text: str) -> str:
    """go/scanner's stripCR for a /* */ comment: drop \\r except inside a "*\\r.../"."""
    out: list[str] = []
    for j, ch in enumerate(text):
        if ch != "\r" or (len(out) > 2 and out[-1] == "*" and j + 1 < len(text) and text[j + 1] == "/"):
            out.append(ch)
    return "".join(out)


def _lead_comment(tok: _Token) -> tuple[_Comment, ...] | None:
    """go/parser's leadComment for the token: the last comment group, if it ends on the line before it."""
    cs = list(tok.comments)
    if not cs:
        return None
    k = 0
    if cs[0].start == tok.prev_line:         # a line comment group (n=0) on the previous token's line
        endline = cs[0].start
        while k < len(cs) and cs[k].start <= endline:
            endline = cs[k].end
            k += 1
    group: list[_Comment] = []
    endline = -1
    while k < len(cs):
        group = []
        endline = cs[k].start
        while k < len(cs) and cs[k].start <= endline + 1:
            group.append(cs[k])
            endline = cs[k].end
            k += 1
    if group and endline + 1 == tok.line:
        return tuple(group)
    return None


def _is_directive(c: str) -> bool:
    """go/ast's isDirective (the text after "//")."""
    if c.startswith(("line ", "extern ", "export ")):
        return True
    colon = c.find(":")
    if colon <= 0 or colon + 1 >= len(c):
        return False
    for k in range(colon + 2):
        if k == colon:
            continue
        b = c[k]
        if not ("a" <= b <= "z" or "0" <= b <= "9"):
            return False
    return True


def comment_text(group: Sequence[str]) -> str:
    """go/ast's CommentGroup.Text() of comments given with their markers."""
    lines: list[str] = []
    for c in group:
        if c[1] == "/":
            c = c[2:]
            if c.startswith(" "):
                c = c[1:]
            elif c and _is_directive(c):
                continue
        else:
            c = c[2:-2]
        for ln in c.split("\n"):
            lines.append(ln.rstrip(" \t\n\r"))
    kept: list[str] = []
    for ln in lines:
        if ln != "" or (kept and kept[-1] != ""):
            kept.append(ln)
    if kept and kept[-1] != "":
        kept.append("")
    return "\n".join(kept)


def cgo_preambles(source: bytes) -> tuple[str, ...]:
    """The text of the doc comment of every `import "C"` in a Go file, in order (go/build's imp.doc).

    The doc is the import spec's lead comment, or the declaration's when the declaration has one
    spec; a spec without one gives "". Parsing stops at the first declaration after the imports.
    """
    src = source.decode("utf-8", "surrogateescape")
    toks = _tokens(src)
    texts: list[str] = []

    def nxt() -> _Token | None:
        return next(toks, None)

    def read_spec(t: _Token, doc: tuple[_Comment, ...] | None) -> tuple[
            tuple[str | None, tuple[_Comment, ...] | None] | None, _Token | None]:
        """One import spec from `t` (an optional name, then the path), and the token after it."""
        if t.text == "." or (t.text[:1].isalpha() or t.text[:1] == "_"):
            named = nxt()
            if named is None:
                return None, None
            t = named
        return (unquote_lenient(t.text), doc), nxt()

    t = nxt()
    if t is None or t.text != "package":
        return ()
    t = nxt()                                   # the package name
    t = nxt()
    while t is not None and t.text == ";":
        t = nxt()
    while t is not None and t.text == "import":
        decl_doc = _lead_comment(t)
        t = nxt()
        specs: list[tuple[str | None, tuple[_Comment, ...] | None]] = []
        if t is not None and t.text == "(":
            t = nxt()
            while t is not None and t.text != ")":
                if t.text == ";":
                    t = nxt()
                    continue
                spec, t = read_spec(t, _lead_comment(t))
                if spec is None:
                    break
                specs.append(spec)
            t = nxt()
        elif t is not None:
            spec, t = read_spec(t, None)
            if spec is None:
                break
            specs.append(spec)
        for path, doc in specs:
            if path != "C":
                continue
            if doc is None and len(specs) == 1:
                doc = decl_doc
            texts.append(comment_text([c.text for c in doc]) if doc else "")
        while t is not None and t.text == ";":
            t = nxt()
    return tuple(texts)
