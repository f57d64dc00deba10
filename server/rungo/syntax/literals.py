"""Go's lexical rules on decoded text: string literal prefixes and the arguments of //go: directives.

The rules follow the Go standard library (strconv.QuotedPrefix, go/ast.ParseDirective
and Directive.ParseArgs, cmd/go's ParseGoDebug); nothing here knows about tree-sitter.
Go's quoting itself (strconv.Unquote, unicode.IsSpace) lives in rungo.quoting.
"""

from __future__ import annotations

from rungo.quoting import GO_SPACES, is_space, unquote


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
            if rest and not is_space(rest[0]):
                return None
        else:
            end = 0
            while end < len(rest) and not is_space(rest[end]):
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
    if rest and not is_space(rest[0]):
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
