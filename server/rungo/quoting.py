"""Go's quoting rules, in one place: how Go writes a string, reads one back, and splits and joins argument lists.

- Spaces: `GO_SPACES` is unicode.IsSpace (which differs from Python's str.isspace); `trim_space`
  and `fields` are strings.TrimSpace and strings.Fields.
- Go string literals: `quote` and `quote_rune` are strconv.Quote and strconv.QuoteRune on text
  decoded with "surrogateescape"; `quote_bytes` writes every byte outside printable ASCII as
  \\xNN; `unquote` is strconv.Unquote; `unquote_lenient` is the cgo preamble reader's looser one.
- Argument lists: `quoted_split` and `quoted_join` are cmd/internal/quoted's Split and Join (the
  go command's CC, GOFLAGS, -gcflags values); `quoted_word` is how rungo writes one per-package flag
  argument back for the go command; `split_quoted` is go/build's splitQuoted (the `#cgo` lines),
  which also unescapes backslashes.

Importing this module is cheap: it imports nothing and compiles no regular expression.
"""

from __future__ import annotations

from typing import Final, Sequence

# unicode.IsSpace: the Latin-1 spaces plus the White_Space property (Python's str.isspace differs).
GO_SPACES: Final = "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a" \
                   "\u2028\u2029\u202f\u205f\u3000"
_SPACE_SET: Final = frozenset(GO_SPACES)


def is_space(c: str) -> bool:
    """unicode.IsSpace."""
    return c in _SPACE_SET


def trim_space(s: str) -> str:
    """strings.TrimSpace (unicode.IsSpace)."""
    return s.strip(GO_SPACES)


def fields(s: str) -> list[str]:
    """strings.Fields: the runs of non-space characters (unicode.IsSpace)."""
    out: list[str] = []
    cur: list[str] = []
    for ch in s:
        if ch in _SPACE_SET:
            if cur:
                out.append("".join(cur))
                cur = []
        else:
            cur.append(ch)
    if cur:
        out.append("".join(cur))
    return out


# -- strconv ----------------------------------------------------------------------------------------
# Text is decoded with "surrogateescape": each undecodable byte is one lone surrogate U+DC80..U+DCFF.

_C_ESCAPES: Final = {
    "\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v"
}


def _is_escaped_byte(c: str) -> bool:
    return "\udc80" <= c <= "\udcff"


def _rune_body(c: str, quote: str) -> str:
    """One rune as strconv writes it between `quote` characters; an escaped byte reads as U+FFFD."""
    if c == quote or c == "\\":
        return "\\" + c
    if _is_escaped_byte(c):
        return "\ufffd"
    if c.isprintable():
        return c
    if c in _C_ESCAPES:
        return _C_ESCAPES[c]
    r = ord(c)
    if r < 0x20 or r == 0x7F:
        return f"\\x{r:02x}"
    if 0xD800 <= r <= 0xDFFF:
        r = 0xFFFD
    return f"\\u{r:04x}" if r < 0x10000 else f"\\U{r:08x}"


def quote(s: str) -> str:
    """strconv.Quote (fmt's %q): a double-quoted Go string literal; surrogate-escaped bytes as \\xNN,
    as Go prints invalid UTF-8."""
    body = [f"\\x{ord(c) - 0xDC00:02x}" if _is_escaped_byte(c) else _rune_body(c, '"') for c in s]
    return '"' + "".join(body) + '"'


def quote_rune(c: str) -> str:
    """strconv.QuoteRune, as fmt's %q prints a rune."""
    return "'" + _rune_body(c, "'") + "'"


def quote_bytes(s: str | bytes) -> str:
    """A double-quoted Go string literal that strconv.Unquote reads back to these bytes (text as
    UTF-8): every byte outside printable ASCII as \\xNN, not only invalid UTF-8 as `quote` does."""
    data = s.encode() if isinstance(s, str) else s
    out = ['"']
    named = {7: "\\a", 8: "\\b", 12: "\\f", 10: "\\n", 13: "\\r", 9: "\\t", 11: "\\v", 34: '\\"', 92: "\\\\"}
    for b in data:
        if b in named:
            out.append(named[b])
        elif 0x20 <= b < 0x7F:
            out.append(chr(b))
        else:
            out.append(f"\\x{b:02x}")
    out.append('"')
    return "".join(out)


_SIMPLE_ESCAPES: Final = {"a": 7, "b": 8, "f": 12, "n": 10, "r": 13, "t": 9, "v": 11, "\\": 92, '"': 34}
_HEX: Final = frozenset("0123456789abcdefABCDEF")
_OCT: Final = frozenset("01234567")


def unquote(literal: str) -> str | None:
    """strconv.Unquote of one Go string literal ("interpreted" or `raw`), or None when it is not
    exactly one valid literal.

    Bytes written as \\x or octal escapes that do not form UTF-8 become U+FFFD.
    """
    if len(literal) < 2:
        return None
    quote = literal[0]
    body = literal[1:-1]
    if quote == "`":
        if literal[-1] != "`" or "`" in body:
            return None
        return body.replace("\r", "")
    if quote != '"' or literal[-1] != '"':
        return None
    if "\\" not in body:
        if '"' in body or "\n" in body:
            return None
        return body
    out = bytearray()
    i, n = 0, len(body)
    while i < n:
        c = body[i]
        if c == '"' or c == "\n":
            return None
        if c != "\\":
            out += c.encode("utf-8", "replace")
            i += 1
            continue
        if i + 1 >= n:
            return None
        e = body[i + 1]
        if e in _SIMPLE_ESCAPES:
            out.append(_SIMPLE_ESCAPES[e])
            i += 2
        elif e in _OCT:
            digits = body[i + 1:i + 4]
            if len(digits) != 3 or not set(digits) <= _OCT or int(digits, 8) > 255:
                return None
            out.append(int(digits, 8))
            i += 4
        elif e in "xuU":
            width = {"x": 2, "u": 4, "U": 8}[e]
            digits = body[i + 2:i + 2 + width]
            if len(digits) != width or not set(digits) <= _HEX:
                return None
            value = int(digits, 16)
            if e == "x":
                out.append(value)
            elif value > 0x10FFFF or 0xD800 <= value <= 0xDFFF:
                return None
            else:
                out += chr(value).encode("utf-8")
            i += 2 + width
        else:
            return None
    return out.decode("utf-8", "replace")


def unquote_lenient(lit: str) -> str | None:
    """A `raw` or "interpreted" literal's value as the cgo preamble reader has always read it: the
    escapes of an interpreted one through Python's unicode_escape, which accepts all that
    strconv.Unquote does and a little more (\\N{...}); None for what it cannot read."""
    if len(lit) >= 2 and lit[0] == lit[-1] == "`":
        return lit[1:-1].replace("\r", "")
    if len(lit) >= 2 and lit[0] == lit[-1] == '"':
        body = lit[1:-1]
        if "\\" not in body:
            return body
        try:
            return body.encode("latin-1", "backslashreplace").decode("unicode_escape")
        except (UnicodeDecodeError, UnicodeEncodeError):
            return None
    return None


# -- argument lists ---------------------------------------------------------------------------------

def quoted_split(s: str) -> tuple[str, ...]:
    """cmd/internal/quoted.Split: fields separated by spaces, a field may be '…' or "…".

    Only a quote at the start of a field counts; nothing is unescaped.  Raises ``ValueError``
    with go's text (``unterminated ' string``) for an unclosed quote.
    """
    fields: list[str] = []
    i, end = 0, len(s)
    while i < end:
        while i < end and s[i] in " \t\n\r":
            i += 1
        if i == end:
            break
        if s[i] in "'\"":
            quote = s[i]
            close = s.find(quote, i + 1)
            if close < 0:
                raise ValueError(f"unterminated {quote} string")
            fields.append(s[i + 1 : close])
            i = close + 1
            continue
        start = i
        while i < end and s[i] not in " \t\n\r":
            i += 1
        fields.append(s[start:i])
    return tuple(fields)


def quoted_split_or_error(s: str) -> list[str] | str:
    """cmd/internal/quoted.Split as a value: the fields, or the error text ("unterminated ' string")."""
    try:
        return list(quoted_split(s))
    except ValueError as e:
        return str(e)


def quoted_join(args: Sequence[str]) -> str | None:
    """cmd/internal/quoted.Join; None when an argument holds both quote characters."""
    parts: list[str] = []
    for a in args:
        ascii_part = "".join(c for c in a if ord(c) < 0x80)
        space = any(c in " \t\n\r" for c in ascii_part)
        single, double = "'" in ascii_part, '"' in ascii_part
        if not (space or single or double):
            parts.append(a)
        elif not single:
            parts.append(f"'{a}'")
        elif not double:
            parts.append(f'"{a}"')
        else:
            return None
    return " ".join(parts)


def quoted_word(a: str) -> str:
    """One argument of a per-package flag value (`-gcflags=pattern=args`) as rungo writes it for
    the go command: unlike `quoted_join`, an empty argument is kept as '' and one holding both
    quote characters is written "…" rather than refused; \\r does not count as a space."""
    if a == "" or any(c in a for c in " \t\n'\""):
        return "'" + a.replace("'", "'\\''") + "'" if "'" not in a else '"' + a + '"'
    return a


def split_quoted(s: str) -> tuple[list[str], str | None]:
    """go/build's splitQuoted: white-space separated, '' and "" quoting, backslash escapes.

    Returns the arguments and the error ("unclosed quote", "unfinished escaping") or None.
    """
    args: list[str] = []
    arg: list[str] = []
    escaped = quoted = False
    quote = ""
    for ch in s:
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
            continue
        elif quote:
            if ch == quote:
                quote = ""
                continue
        elif ch in "\"'":
            quoted = True
            quote = ch
            continue
        elif ch in _SPACE_SET:
            if quoted or arg:
                quoted = False
                args.append("".join(arg))
                arg = []
            continue
        arg.append(ch)
    if quoted or arg:
        args.append("".join(arg))
    if quote:
        return args, "unclosed quote"
    if escaped:
        return args, "unfinished escaping"
    return args, None
