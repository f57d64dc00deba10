"""Go's lexical rules on decoded text: string literals, Unicode spaces, and the arguments of //go: directives.

The rules follow the Go standard library (strconv.Unquote and strconv.QuotedPrefix, go/ast.ParseDirective
and Directive.ParseArgs, cmd/go's ParseGoDebug); nothing here knows about tree-sitter.
"""

from __future__ import annotations

# unicode.IsSpace: the Latin-1 spaces plus the White_Space property (Python's str.isspace differs).
GO_SPACES = "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a" \
            "\u2028\u2029\u202f\u205f\u3000"
_SPACE_SET = frozenset(GO_SPACES)

_SIMPLE_ESCAPES = {"a": 7, "b": 8, "f": 12, "n": 10, "r": 13, "t": 9, "v": 11, "\\": 92, '"': 34}
_HEX = frozenset("0123456789abcdefABCDEF")
_OCT = frozenset("01234567")


def unquote(literal: str) -> str | None:
    """The value of one Go string literal ("interpreted" or `raw`), or None when it is not exactly one valid literal.

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


def quoted_prefix(text: str) -> str | None:
    """The Go string literal at the start of text (strconv.QuotedPrefix), or None when there is no valid one."""
    if not text:
        return None
    if text[0] == "`":
        end = text.find("`", 1)
        return text[:end + 1] if end > 0 else None
    if text[0] != '"':
        return None
    i = 1
    while i < len(text):
        c = text[i]
        if c == "\\":
            i += 2
            continue
        if c == "\n":
            return None
        if c == '"':
            candidate = text[:i + 1]
            return candidate if unquote(candidate) is not None else None
        i += 1
    return None


def directive_args(args: str) -> tuple[str, ...] | None:
    """Split directive arguments Go's way: bare words, "quoted" or `raw` strings, separated by Unicode spaces.

    None when a quoted argument is malformed or not followed by a space (go/ast Directive.ParseArgs).
    """
    out: list[str] = []
    rest = args.lstrip(GO_SPACES)
    while rest:
        if rest[0] in "`\"":
            quoted = quoted_prefix(rest)
            if quoted is None:
                return None
            value = unquote(quoted)
            if value is None:
                return None
            out.append(value)
            rest = rest[len(quoted):]
            if rest and rest[0] not in _SPACE_SET:
                return None
        else:
            end = 0
            while end < len(rest) and rest[end] not in _SPACE_SET:
                end += 1
            out.append(rest[:end])
            rest = rest[end:]
        rest = rest.lstrip(GO_SPACES)
    return tuple(out)


def embed_patterns(comment: str) -> tuple[str, ...] | None:
    """The patterns of a `//go:embed` comment, or None when the comment is not a well-formed one.

    The comment's text is as Go's scanner gives it (no trailing carriage return).
    """
    prefix = "//go:embed"
    if not comment.startswith(prefix):
        return None
    rest = comment[len(prefix):]
    if rest and rest[0] not in _SPACE_SET:
        return None  # another directive, such as //go:embedded
    patterns = directive_args(rest.strip(GO_SPACES))
    return patterns or None


def go_debug_setting(comment: str) -> tuple[str, str] | None:
    """The key and value of a `//go:debug key=value` comment (cmd/go's ParseGoDebug); None when it is not one.

    Raises ValueError("missing key=value") for a go:debug line without a key=value setting.
    """
    if not comment.startswith("//go:debug"):
        return None
    cut = min((i for i in (comment.find(" "), comment.find("\t")) if i >= 0), default=-1)
    if cut < 0:
        if comment.strip(GO_SPACES) == "//go:debug":
            raise ValueError("missing key=value")
        return None
    key, sep, value = comment[cut:].strip(GO_SPACES).partition("=")
    if not sep:
        raise ValueError("missing key=value")
    return key, value


_ILLEGAL_IMPORT_CHARS = frozenset('!"#$%&\'()*,:;<=>?[\\]^{|}`\ufffd')


def is_valid_import_path(path: str) -> bool:
    """Go's implementation restriction on import paths (go/build isValidImport)."""
    return path != "" and all(
        c.isprintable() and not c.isspace() and c not in _ILLEGAL_IMPORT_CHARS for c in path)
