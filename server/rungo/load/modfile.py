"""Parse go.mod and go.work files: golang.org/x/mod/modfile's syntax, checks and error wording, plus a Go version's language version.

The lexer and parser follow modfile/read.go; the directive checks follow modfile/rule.go
and modfile/work.go as the go command runs them (cmd/go/internal/modload: go.mod is
parsed with a version fixer, go.work without one).  Go versions are read as
cmd/go/internal/gover reads them.  Everything here is pure: bytes in, values out, errors as values.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Final, Iterable, Iterator, NamedTuple, Sequence

from rungo.quoting import quote as go_quote, quote_rune

# -- results ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ModError:
    """One problem in a go.mod/go.work file; column is 1-based and only shown by Go when > 1."""

    line: int
    column: int
    message: str


@dataclass(frozen=True, slots=True)
class Require:
    """A require line."""

    path: str
    version: str           # canonical semver, e.g. "v1.2.0" for "v1.2"
    indirect: bool          # has a "// indirect" comment
    line: int


@dataclass(frozen=True, slots=True)
class Replace:
    """A replace line."""

    old_path: str
    old_version: str | None     # None: every version of old_path
    new_path: str
    new_version: str | None     # None: new_path is a directory
    line: int


@dataclass(frozen=True, slots=True)
class ModFile:
    """What a go.mod file says, and its errors."""

    module: str | None
    module_line: int | None
    go: str | None                               # as written: "1.22", "1.22.3", "1.21rc1"
    toolchain: str | None
    requires: tuple[Require, ...]
    replaces: tuple[Replace, ...]
    excludes: tuple[tuple[str, str], ...]        # (path, version)
    godebug: tuple[tuple[str, str], ...]         # (key, value)
    errors: tuple[ModError, ...]
    retracts: tuple[tuple[str, str], ...] = ()   # (low, high); equal for a single version
    tools: tuple[str, ...] = ()
    ignores: tuple[str, ...] = ()
    needs_fix: bool = False                      # a version is not canonical ("v1.2"): the go command would
                                                 # resolve it online, then under -mod=readonly stop with
                                                 # "updates to go.mod needed"


@dataclass(frozen=True, slots=True)
class WorkFile:
    """What a go.work file says, and its errors."""

    go: str | None
    toolchain: str | None
    uses: tuple[tuple[str, int], ...]            # (dir, line)
    replaces: tuple[Replace, ...]
    godebug: tuple[tuple[str, str], ...]
    errors: tuple[ModError, ...]


def format_errors(path_for_display: str, errors: Iterable[ModError]) -> str:
    """Go's rendering of a file's error list, one per line: "go.mod:2: unknown directive: foo".

    The go command prints this after "go: errors parsing go.mod:\\n" (its relative path
    when shorter than the absolute one, e.g. "../go.mod"); for go.work the header is
    always "go: errors parsing go.work:\\n" while the lines carry the short path.
    """
    out = []
    for e in errors:
        if e.column > 1:
            out.append(f"{path_for_display}:{e.line}:{e.column}: {e.message}")
        elif e.line > 0:
            out.append(f"{path_for_display}:{e.line}: {e.message}")
        else:
            out.append(f"{path_for_display}: {e.message}")
    return "\n".join(out)


# -- text helpers -----------------------------------------------------------------------------------
# Input is decoded with "surrogateescape": each undecodable byte becomes one lone surrogate,
# which is exactly how Go's utf8.DecodeRune steps over it (one RuneError per byte).

_SURROGATE: Final = "[\ud800-\udfff]"


def _is_escaped_byte(c: str) -> bool:
    return "\udc80" <= c <= "\udcff"


def _clean(s: str) -> str:
    """A result string without surrogate escapes (each bad byte shown as U+FFFD, as Go would decode it)."""
    return re.sub(_SURROGATE, "\ufffd", s)


def _is_print(c: str) -> bool:
    # unicode.IsPrint: letters, marks, numbers, punctuation, symbols and ASCII space.
    return c.isprintable() or _is_escaped_byte(c)      # a bad byte decodes to U+FFFD, which is printable


# -- lexer (modfile/read.go) ------------------------------------------------------------------------

_EOF: Final = "EOF"
_EOLCOMMENT: Final = "EOLCOMMENT"
_COMMENT: Final = "COMMENT"
_IDENT: Final = "IDENT"
_STRING: Final = "STRING"
_PUNCT: Final = "\n()[]{},"


def _is_eol(kind: str) -> bool:
    return kind in (_EOF, _EOLCOMMENT, "\n")


def _is_ident(c: str) -> bool:
    return c != "" and c not in " ()[]{}," and _is_print(c)


class _SyntaxError(Exception):
    def __init__(self, line: int, column: int, message: str) -> None:
        super().__init__(message)
        self.error = ModError(line, column, message)


class _Token(NamedTuple):
    kind: str            # one of the _KIND constants or a punctuation character
    text: str
    line: int
    column: int


class _Lexer:
    __slots__ = ("s", "i", "line", "column", "tok")

    def __init__(self, text: str) -> None:
        self.s = text
        self.i = 0
        self.line = 1
        self.column = 1
        self.tok = _Token(_EOF, "", 1, 1)
        self._read_token()

    def fail(self, message: str, line: int | None = None, column: int | None = None) -> _SyntaxError:
        return _SyntaxError(self.line if line is None else line, self.column if column is None else column, message)

    def _peek_char(self) -> str:
        return self.s[self.i] if self.i < len(self.s) else ""

    def _read_char(self) -> str:
        c = self.s[self.i]
        self.i += 1
        if c == "\n":
            self.line += 1
            self.column = 1
        else:
            self.column += 1
        return c

    def peek(self) -> str:
        return self.tok.kind

    def lex(self) -> _Token:
        tok = self.tok
        self._read_token()
        return tok

    def _read_token(self) -> None:
        s = self.s
        while self.i < len(s):
            c = s[self.i]
            if c in " \t\r":
                self._read_char()
                continue
            if s.startswith("//", self.i):
                start, line, column = self.i, self.line, self.column
                line_start = s.rfind("\n", 0, self.i) + 1
                suffix = s[line_start:self.i].strip(" \t\r\v\f\x85\xa0") != ""
                self._read_char()
                self._read_char()
                while self.i < len(s) and self._read_char() != "\n":
                    pass
                text = s[start:self.i]
                text = text[:-2] if text.endswith("\r\n") else text.removesuffix("\n")
                self.tok = _Token(_EOLCOMMENT if suffix else _COMMENT, text, line, column)
                return
            if s.startswith("/*", self.i):
                raise self.fail("mod files must use // comments (not /* */ comments)")
            break

        start, line, column = self.i, self.line, self.column
        if self.i >= len(s):
            self.tok = _Token(_EOF, "", line, column)
            return
        c = s[self.i]
        if c in _PUNCT:
            self._read_char()
            self.tok = _Token(c, c, line, column)
            return
        if c in "\"`":
            quote = c
            self._read_char()
            while True:
                if self.i >= len(s):
                    raise self.fail("unexpected EOF in string", line, column)
                if s[self.i] == "\n":
                    raise self.fail("unexpected newline in string")
                c = self._read_char()
                if c == quote:
                    break
                if c == "\\" and quote != "`":
                    if self.i >= len(s):
                        raise self.fail("unexpected EOF in string", line, column)
                    self._read_char()
            self.tok = _Token(_STRING, s[start:self.i], line, column)
            return
        if not _is_ident(c):
            raise self.fail(f"unexpected input character {quote_rune(c)}")
        while _is_ident(self._peek_char()):
            if s.startswith("//", self.i):
                break
            if s.startswith("/*", self.i):
                raise self.fail("mod files must use // comments (not /* */ comments)")
            self._read_char()
        self.tok = _Token(_IDENT, s[start:self.i], line, column)


# -- parser (modfile/read.go) -----------------------------------------------------------------------

class _Line(NamedTuple):
    line: int
    column: int
    tokens: tuple[str, ...]
    comment: str | None       # the end-of-line comment, "// indirect" for instance


class _Block(NamedTuple):
    line: int
    column: int
    tokens: tuple[str, ...]   # the words before "("
    lines: tuple[_Line, ...]


def _parse_syntax(text: str, filename: str) -> list[_Line | _Block]:
    """The statements of a file; raises _SyntaxError for the first lexical or block error, as Go stops there."""
    lx = _Lexer(text)
    stmts: list[_Line | _Block] = []

    def parse_block(first: _Token, tokens: list[str]) -> _Block:
        lines: list[_Line] = []
        while True:
            kind = lx.peek()
            if kind in (_EOLCOMMENT, "\n", _COMMENT):
                lx.lex()
            elif kind == _EOF:
                raise lx.fail(
                    f"syntax error (unterminated block started at {filename}:{first.line}:{first.column})")
            elif kind == ")":
                lx.lex()
                if not _is_eol(lx.peek()):
                    raise lx.fail("syntax error (expected newline after closing paren)")
                lx.lex()
                return _Block(first.line, first.column, tuple(tokens), tuple(lines))
            else:
                line = parse_stmt(in_block=True)
                assert isinstance(line, _Line)
                lines.append(line)

    def parse_stmt(in_block: bool = False) -> _Line | _Block:
        """A line up to its end; outside a block, a line ending in "(" opens one (in "()", an empty one)."""
        first = lx.lex()
        tokens = [first.text]
        while True:
            tok = lx.lex()
            if _is_eol(tok.kind):
                comment = tok.text if tok.kind == _EOLCOMMENT else None
                return _Line(first.line, first.column, tuple(tokens), comment)
            if tok.kind == "(" and not in_block:
                nxt = lx.peek()
                if _is_eol(nxt):
                    return parse_block(first, tokens)
                if nxt == ")":
                    lx.lex()
                    if _is_eol(lx.peek()):
                        lx.lex()
                        return _Block(first.line, first.column, tuple(tokens), ())
                    tokens += ["(", ")"]
                else:
                    tokens.append("(")
            else:
                tokens.append(tok.text)

    while True:
        kind = lx.peek()
        if kind in ("\n", _COMMENT):
            lx.lex()
        elif kind == _EOF:
            return stmts
        else:
            stmts.append(parse_stmt())


# -- semver and module paths (golang.org/x/mod/semver, module) --------------------------------------

_SEMVER: Final = (r"v(0|[1-9][0-9]*)(?:\.(0|[1-9][0-9]*)(?:\.(0|[1-9][0-9]*)"
                   r"(-(?:[0-9A-Za-z-]+)(?:\.[0-9A-Za-z-]+)*)?(\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?)?)?")
_BAD_NUM: Final = r"0[0-9]+"


def _semver(v: str) -> tuple[str, str, str, str, str] | None:
    """(major, minor, patch, prerelease, build) of a semantic version "vX[.Y[.Z[-pre][+build]]]"."""
    m = re.fullmatch(_SEMVER, v)
    if m is None:
        return None
    major, minor, patch, pre, build = m.group(1), m.group(2), m.group(3), m.group(4) or "", m.group(5) or ""
    if pre and any(re.fullmatch(_BAD_NUM, part) for part in pre[1:].split(".")):
        return None
    return major, minor or "0", patch or "0", pre, build


def _canonical_version(v: str) -> str:
    """module.CanonicalVersion: "v1.2" -> "v1.2.0"; the build suffix dropped except "+incompatible"; "" if invalid."""
    p = _semver(v)
    if p is None:
        return ""
    major, minor, patch, pre, build = p
    cv = f"v{major}.{minor}.{patch}{pre}"
    return cv + "+incompatible" if build == "+incompatible" else cv


def _semver_major(v: str) -> str:
    p = _semver(v)
    return "" if p is None else "v" + p[0]


def _split_path_version(path: str) -> tuple[str, str, bool]:
    """module.SplitPathVersion: (prefix, "/vN" or "", ok)."""
    if path.startswith("gopkg.in/"):
        return _split_gopkg_in(path)
    i = len(path)
    dot = False
    while i > 0 and (path[i - 1].isascii() and path[i - 1].isdigit() or path[i - 1] == "."):
        dot = dot or path[i - 1] == "."
        i -= 1
    if i <= 1 or i == len(path) or path[i - 1] != "v" or path[i - 2] != "/":
        return path, "", True
    prefix, major = path[: i - 2], path[i - 2:]
    if dot or len(major) <= 2 or major[2] == "0" or major == "/v1":
        return path, "", False
    return prefix, major, True


def _split_gopkg_in(path: str) -> tuple[str, str, bool]:
    i = len(path)
    if path.endswith("-unstable"):
        i -= len("-unstable")
    while i > 0 and path[i - 1].isascii() and path[i - 1].isdigit():
        i -= 1
    if i <= 1 or path[i - 1] != "v" or path[i - 2] != ".":
        return path, "", False
    prefix, major = path[: i - 2], path[i - 2:]
    if len(major) <= 2 or major[2] == "0" and major != ".v0":
        return path, "", False
    return prefix, major, True


def _check_path_major(v: str, path_major: str) -> str | None:
    """module.CheckPathMajor: None, or the reason v does not fit the path's major version."""
    if path_major.startswith(".v") and path_major.endswith("-unstable"):
        path_major = path_major.removesuffix("-unstable")
    if v.startswith("v0.0.0-") and path_major == ".v1":
        return None
    m = _semver_major(v)
    if path_major == "":
        p = _semver(v)
        if m in ("v0", "v1") or (p is not None and p[4] == "+incompatible"):
            return None
        path_major = "v0 or v1"
    elif path_major[0] in "/.":
        if m == path_major[1:]:
            return None
        path_major = path_major[1:]
    return f"should be {path_major}, not {m}"


def _is_directory_path(ns: str) -> bool:
    return (ns in (".", "..") or ns.startswith(("./", ".\\", "../", "..\\", "/", "\\"))
            or len(ns) >= 2 and ns[0].isascii() and ns[0].isalpha() and ns[1] == ":")


# -- directive checks (modfile/rule.go, work.go) ----------------------------------------------------

_GO_VERSION: Final = r"([1-9][0-9]*)\.(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))?([a-z]+[0-9]+)?"
_LAX_GO_VERSION: Final = r"v?(([1-9][0-9]*)\.(0|[1-9][0-9]*))([^0-9].*)"


def _toolchain_ok(name: str) -> bool:
    return name in ("default", "go1") or name.startswith("go1.")


class _Problem(Exception):
    """A directive's error message (positioned by the caller at the directive's line)."""


def _unquote(t: str) -> str:
    """strconv.Unquote of a double-quoted literal (the whole token)."""
    if len(t) < 2 or t[0] != '"' or t[-1] != '"':
        raise _Problem("invalid syntax")
    body = t[1:-1]
    out = bytearray()
    i = 0
    simple = {"a": 7, "b": 8, "f": 12, "n": 10, "r": 13, "t": 9, "v": 11, "\\": 92, '"': 34}
    while i < len(body):
        c = body[i]
        if c == "\n" or c == '"':
            raise _Problem("invalid syntax")
        if c != "\\":
            out += ("\ufffd" if _is_escaped_byte(c) else c).encode("utf-8", "surrogatepass")
            i += 1
            continue
        if i + 1 >= len(body):
            raise _Problem("invalid syntax")
        e = body[i + 1]
        i += 2
        if e in simple:
            out.append(simple[e])
        elif e in "xuU":
            n = {"x": 2, "u": 4, "U": 8}[e]
            digits = body[i:i + n]
            if len(digits) < n or any(d not in "0123456789abcdefABCDEF" for d in digits):
                raise _Problem("invalid syntax")
            i += n
            v = int(digits, 16)
            if e == "x":
                out.append(v)
            elif v > 0x10FFFF or 0xD800 <= v <= 0xDFFF:
                raise _Problem("invalid syntax")
            else:
                out += chr(v).encode("utf-8")
        elif e in "01234567":
            digits = e + body[i:i + 2]
            if len(digits) < 3 or any(d not in "01234567" for d in digits):
                raise _Problem("invalid syntax")
            i += 2
            v = int(digits, 8)
            if v > 255:
                raise _Problem("invalid syntax")
            out.append(v)
        else:
            raise _Problem("invalid syntax")
    return out.decode("utf-8", "surrogateescape")


def _parse_string(t: str) -> str:
    """modfile's parseString: unquote "..." tokens; other quote characters are not allowed."""
    if t.startswith('"'):
        return _unquote(t)
    if any(q in t for q in "\"'`"):
        raise _Problem("unquoted string cannot contain quote")
    return t


def _string_arg(t: str) -> str:
    try:
        return _parse_string(t)
    except _Problem as e:
        raise _Problem(f"invalid quoted string: {e}") from None


def _version_problem(verb: str, path: str, version: str, reason: str) -> _Problem:
    where = f"{verb} {path}: " if path else (f"{verb}: " if verb else "")
    return _Problem(f"{where}version {go_quote(version)} invalid: {reason}")


class _Fixer:
    """Offline stand-in for the go command's VersionFixer (modload.fixVersion).

    It checks what needs no network; where the go command would query a proxy (a
    version that is not canonical, like "v1.2" or "master") it falls back to modfile's
    no-fixer rule (canonicalize, or "must be of the form v1.2.3") and notes the query.
    """

    __slots__ = ("queried",)

    def __init__(self) -> None:
        self.queried = False


def _parse_version(verb: str, path: str, token: str, fixer: _Fixer | None) -> str:
    """modfile's parseVersion, with the go command's fixer (go.mod) or none (go.work)."""
    try:
        t = _parse_string(token)
    except _Problem as e:
        raise _version_problem(verb, path, token, str(e)) from None
    if fixer is not None:
        if path.startswith("gopkg.in/") and "-gopkgin-" in t:
            t = t[t.index("-gopkgin-") + len("-gopkgin-"):]
        _, path_major, ok = _split_path_version(path)
        if not ok:
            raise _version_problem(verb, path, t, f"malformed module path {go_quote(path)}")
        if t and _canonical_version(t) == t:
            why = _check_path_major(t, path_major)
            if why is not None:
                raise _version_problem(verb, path, t, why)
            return t
        fixer.queried = True
    cv = _canonical_version(t)
    if cv == "":
        raise _version_problem(verb, path, t, "must be of the form v1.2.3")
    return cv


def _path_major(path: str) -> str:
    _, major, ok = _split_path_version(path)
    if not ok:
        raise _Problem("invalid module path")
    return major


def _parse_replace(verb: str, args: tuple[str, ...], line: int, fixer: _Fixer | None) -> Replace:
    arrow = 1 if len(args) >= 2 and args[1] == "=>" else 2
    if len(args) < arrow + 2 or len(args) > arrow + 3 or args[arrow] != "=>":
        raise _Problem(f"usage: {verb} module/path [v1.2.3] => other/module v1.4\n"
                       f"\t or {verb} module/path [v1.2.3] => ../local/directory")
    old = _string_arg(args[0])
    try:
        major = _path_major(old)
    except _Problem as e:
        raise _Problem(f"{verb} {old}: {e}") from None
    old_version: str | None = None
    if arrow == 2:
        old_version = _parse_version(verb, old, args[1], fixer)
        why = _check_path_major(old_version, major)
        if why is not None:
            raise _version_problem(verb, old, old_version, why)
    new = _string_arg(args[arrow + 1])
    new_version: str | None = None
    if len(args) == arrow + 2:
        if not _is_directory_path(new):
            if "@" in new:
                raise _Problem("replacement module must match format 'path version', not 'path@version'")
            raise _Problem("replacement module without version must be directory path (rooted or starting with . or ..)")
        if os.sep == "/" and "\\" in new:
            raise _Problem("replacement directory appears to be Windows path (on a non-windows system)")
    else:
        new_version = _parse_version(verb, new, args[arrow + 2], fixer)
        if _is_directory_path(new):
            raise _Problem(f"replacement module directory path {go_quote(new)} cannot have version")
    return Replace(_clean(old), None if old_version is None else _clean(old_version),
                   _clean(new), None if new_version is None else _clean(new_version), line)


def _parse_version_interval(verb: str, path: str, args: list[str],
                            fixer: _Fixer | None, keep: bool = False) -> tuple[str, str, list[str]]:
    """modfile's parseVersionInterval; keep=True leaves versions as written (dontFixRetract)."""

    def version(tok: str) -> str:
        if keep:
            try:
                return _parse_string(tok)
            except _Problem as e:
                raise _version_problem(verb, path, tok, str(e)) from None
        return _parse_version(verb, path, tok, fixer)

    if not args or args[0] == "(":
        raise _Problem("expected '[' or version")
    if args[0] != "[":
        v = version(args[0])
        return v, v, args[1:]

    def bound(rest: list[str], before: str, after: str) -> str:
        if not rest:
            raise _Problem(f"expected version after '{before}'")
        v = version(rest[0])
        if len(rest) < 2 or rest[1] != after:
            raise _Problem(f"expected '{after}' after version")
        return v

    low = bound(args[1:], "[", ",")
    high = bound(args[3:], ",", "]")
    return low, high, args[5:]


def _go_directive(go: str | None, args: tuple[str, ...], lax: bool) -> str:
    """The version of a `go` line (lax: modfile.ParseLax's reading of a dependency's go.mod)."""
    if go is not None:
        raise _Problem("repeated go statement")
    if len(args) != 1:
        raise _Problem("go directive expects exactly one argument")
    v = args[0]
    if not re.fullmatch(_GO_VERSION, v):
        m = re.fullmatch(_LAX_GO_VERSION, v) if lax else None
        if m is None:
            raise _Problem(f"invalid go version '{_clean(v)}': must match format 1.23.0")
        v = m.group(1)
    return v


def _toolchain_directive(toolchain: str | None, args: tuple[str, ...]) -> str:
    if toolchain is not None:
        raise _Problem("repeated toolchain statement")
    if len(args) != 1:
        raise _Problem("toolchain directive expects exactly one argument")
    if not _toolchain_ok(args[0]):
        raise _Problem(f"invalid toolchain version '{_clean(args[0])}': must match format go1.23.0 or default")
    return _clean(args[0])


def _godebug(args: tuple[str, ...]) -> tuple[str, str]:
    if len(args) != 1 or any(q in args[0] for q in "\"`',"):
        raise _Problem("usage: godebug key=value")
    key, eq, value = args[0].partition("=")
    if not eq:
        raise _Problem("usage: godebug key=value")
    return _clean(key), _clean(value)


def _is_indirect(comment: str | None) -> bool:
    if comment is None:
        return False
    f = comment.removeprefix("//").split()
    return f == ["indirect"] or (len(f) > 1 and f[0] == "indirect;")


def _decode(data: bytes) -> str:
    return data.decode("utf-8", "surrogateescape")


def _statements(stmts: list[_Line | _Block], allowed_blocks: tuple[str, ...], strict: bool,
                errors: list[ModError]) -> Iterator[tuple[str, _Line, tuple[str, ...]]]:
    """Flatten into (verb, line, args) in file order; a block of an unknown kind adds an error to errors
    when strict (in file order too: the caller's errors come from the statements before it)."""
    for st in stmts:
        if isinstance(st, _Line):
            yield st.tokens[0], st, st.tokens[1:]
        elif len(st.tokens) == 1 and st.tokens[0] in allowed_blocks:
            for ln in st.lines:
                yield st.tokens[0], ln, ln.tokens
        elif strict:
            errors.append(ModError(st.line, st.column, f"unknown block type: {_clean(' '.join(st.tokens))}"))


# -- go.mod -----------------------------------------------------------------------------------------

_MOD_BLOCKS: Final = ("module", "godebug", "require", "exclude", "replace", "retract", "tool", "ignore")


def parse_mod(data: bytes, filename: str = "go.mod", *, lax: bool = False) -> ModFile:
    """Parse a go.mod file as the go command does for the main module; never raises.

    filename only appears inside the "unterminated block" message (the go command passes
    the absolute path there).  A lexical or block syntax error stops the parse, leaving
    that one error (as in Go); directive errors are all collected.  Versions are checked
    as the go command's version fixer would, offline (see needs_fix).  lax=True is
    modfile.ParseLax with no fixer, as the go command reads dependencies' go.mod files:
    unknown and main-module-only directives are ignored.
    """
    errors: list[ModError] = []
    try:
        stmts = _parse_syntax(_decode(data), filename)
    except _SyntaxError as e:
        return ModFile(None, None, None, None, (), (), (), (), (_clean_error(e.error),))

    module: str | None = None
    module_line: int | None = None
    seen_module = False
    go: str | None = None
    toolchain: str | None = None
    requires: list[Require] = []
    replaces: list[Replace] = []
    excludes: list[tuple[str, str]] = []
    godebug: list[tuple[str, str]] = []
    retract_lines: list[tuple[_Line, str, str]] = []
    tools: list[str] = []
    ignores: list[str] = []
    strict = not lax
    # The go command parses its main module's go.mod with a version fixer, dependencies' without.
    fixer = _Fixer() if strict else None

    for verb, line, args in _statements(stmts, _MOD_BLOCKS, strict, errors):
        if lax and verb not in ("go", "module", "retract", "require", "ignore"):
            continue
        try:
            if verb == "go":
                go = _go_directive(go, args, lax)
            elif verb == "toolchain":
                toolchain = _toolchain_directive(toolchain, args)
            elif verb == "module":
                if seen_module:
                    raise _Problem("repeated module statement")
                seen_module = True
                if len(args) != 1:
                    raise _Problem("usage: module module/path")
                path = _string_arg(args[0])
                module, module_line = _clean(path), line.line
                if _clean(path) != path:
                    raise _Problem(f"malformed module path {go_quote(path)}: invalid UTF-8")
            elif verb == "godebug":
                godebug.append(_godebug(args))
            elif verb in ("require", "exclude"):
                path, version = _module_version(verb, args, fixer)
                if verb == "require":
                    requires.append(Require(path, version, _is_indirect(line.comment), line.line))
                else:
                    excludes.append((path, version))
            elif verb == "replace":
                replaces.append(_parse_replace(verb, args, line.line, fixer))
            elif verb == "retract":
                try:
                    low, high, rest = _parse_version_interval(verb, "", list(args), None, keep=True)
                except _Problem:
                    if lax:
                        continue
                    raise
                if rest and strict:
                    raise _Problem(f"unexpected token after version: {go_quote(rest[0])}")
                retract_lines.append((line, low, high))
            elif verb in ("tool", "ignore"):
                if len(args) != 1:
                    raise _Problem(f"{verb} directive expects exactly one argument")
                (tools if verb == "tool" else ignores).append(_clean(_string_arg(args[0])))
            else:
                raise _Problem(f"unknown directive: {_clean(verb)}")
        except _Problem as e:
            errors.append(ModError(line.line, line.column, _clean(str(e))))

    retracts = _retracts(retract_lines, module, fixer, errors)
    return ModFile(
        module=module, module_line=module_line, go=None if go is None else _clean(go), toolchain=toolchain,
        requires=tuple(requires), replaces=tuple(replaces), excludes=tuple(excludes),
        godebug=tuple(godebug), errors=tuple(errors), retracts=tuple(retracts),
        tools=tuple(tools), ignores=tuple(ignores), needs_fix=fixer is not None and fixer.queried,
    )


def _module_version(verb: str, args: Sequence[str], fixer: _Fixer | None) -> tuple[str, str]:
    """A require or exclude line's module path and version, checked as the go command checks them."""
    if len(args) != 2:
        raise _Problem(f"usage: {verb} module/path v1.2.3")
    path = _string_arg(args[0])
    version = _parse_version(verb, path, args[1], fixer)
    why = _check_path_major(version, _path_major(path))
    if why is not None:
        raise _version_problem(verb, path, version, why)
    return _clean(path), _clean(version)


def _retracts(lines: Sequence[tuple[_Line, str, str]], module: str | None, fixer: _Fixer | None,
              errors: list[ModError]) -> list[tuple[str, str]]:
    """The retracted version intervals; the fixer revisits their versions once the module path is known."""
    retracts: list[tuple[str, str]] = []
    for line, low, high in lines:
        if fixer is None:
            retracts.append((_clean(low), _clean(high)))
            continue
        if not module:
            errors.append(ModError(line.line, line.column, "no module directive found, so retract cannot be used"))
            break
        words = list(line.tokens)
        if words[0] == "retract":
            words = words[1:]
        try:
            low, high, _ = _parse_version_interval("retract", module, words, fixer)
            retracts.append((_clean(low), _clean(high)))
        except _Problem as e:
            errors.append(ModError(line.line, line.column, _clean(str(e))))
    return retracts


def _clean_error(e: ModError) -> ModError:
    return ModError(e.line, e.column, _clean(e.message))


# -- go.work ----------------------------------------------------------------------------------------

_WORK_BLOCKS: Final = ("godebug", "use", "replace")


def parse_work(data: bytes, filename: str = "go.work") -> WorkFile:
    """Parse a go.work file as the go command does (no version fixer); never raises.

    filename only appears inside the "unterminated block" message (the go command passes
    its short path there).
    """
    errors: list[ModError] = []
    try:
        stmts = _parse_syntax(_decode(data), filename)
    except _SyntaxError as e:
        return WorkFile(None, None, (), (), (), (_clean_error(e.error),))
    go: str | None = None
    toolchain: str | None = None
    uses: list[tuple[str, int]] = []
    replaces: list[Replace] = []
    godebug: list[tuple[str, str]] = []
    for verb, line, args in _statements(stmts, _WORK_BLOCKS, True, errors):
        try:
            if verb == "go":
                go = _go_directive(go, args, lax=False)
            elif verb == "toolchain":
                toolchain = _toolchain_directive(toolchain, args)
            elif verb == "godebug":
                godebug.append(_godebug(args))
            elif verb == "use":
                if len(args) != 1:
                    raise _Problem(f"usage: {verb} local/dir")
                uses.append((_clean(_string_arg(args[0])), line.line))
            elif verb == "replace":
                replaces.append(_parse_replace(verb, args, line.line, None))
            else:
                raise _Problem(f"unknown directive: {_clean(verb)}")
        except _Problem as e:
            errors.append(ModError(line.line, line.column, _clean(str(e))))
    return WorkFile(go=go, toolchain=toolchain, uses=tuple(uses), replaces=tuple(replaces),
                    godebug=tuple(godebug), errors=tuple(errors))


# -- Go versions (cmd/go/internal/gover) ------------------------------------------------------------

_GOVER: Final = r"(0|[1-9][0-9]*)(?:\.(0|[1-9][0-9]*)(?:\.(0|[1-9][0-9]*)|([a-z]+)(0|[1-9][0-9]*)?)?)?"


def lang_version(v: str) -> str:
    """The language version of a Go version: "1.22.3" -> "go1.22", "1.21rc1" -> "go1.21"; "" if invalid."""
    m = re.fullmatch(_GOVER, v.removeprefix("go"))
    if m is None:
        return ""
    major, minor = m.group(1), m.group(2) or "0"
    if major == "1" and minor == "0":
        return "go1"
    return f"go{major}.{minor}"
