"""Decide whether a source file belongs to a build, as go/build does: GOOS/GOARCH file-name suffixes and build constraints.

The rules follow Go's src/go/build/build.go (goodOSArchFile, shouldBuild, parseFileHeader,
matchTag), src/go/build/constraint/expr.go (the ``//go:build`` grammar and ``// +build``
lines) and src/internal/syslist/syslist.go (the known GOOS/GOARCH lists).  Everything here
is pure: no file system, no environment.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Final, Iterator, Union

from rungo.quoting import fields, trim_space

# -- the name lists (internal/syslist) -------------------------------------------------------------

#: Past, present and future GOOS values; used for file-name matching.
KNOWN_OS: Final[frozenset[str]] = frozenset({
    "aix", "android", "darwin", "dragonfly", "freebsd", "hurd", "illumos", "ios", "js",
    "linux", "nacl", "netbsd", "openbsd", "plan9", "solaris", "wasip1", "windows", "zos",
})

#: The GOOS values the "unix" build tag matches (not used for file names).
UNIX_OS: Final[frozenset[str]] = frozenset({
    "aix", "android", "darwin", "dragonfly", "freebsd", "hurd", "illumos", "ios", "linux",
    "netbsd", "openbsd", "solaris",
})

#: Past, present and future GOARCH values; used for file-name matching.
KNOWN_ARCH: Final[frozenset[str]] = frozenset({
    "386", "amd64", "amd64p32", "arm", "armbe", "arm64", "arm64be", "loong64", "mips",
    "mipsle", "mips64", "mips64le", "mips64p32", "mips64p32le", "ppc", "ppc64", "ppc64le",
    "riscv", "riscv64", "s390", "s390x", "sparc", "sparc64", "wasm",
})


# -- the build context ------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class BuildContext:
    """What a build targets; the inputs of match_tag."""

    goos: str
    goarch: str
    tags: frozenset[str]                               # user -tags
    cgo_enabled: bool
    go_minor: int                                      # toolchain release 1.N: satisfies go1.1 ... go1.N
    goarch_features: frozenset[str] = frozenset()      # e.g. {"amd64.v1", "amd64.v2"}, as the toolchain reports them
    experiments: frozenset[str] = frozenset()          # experiment names ("arenas") or tags ("goexperiment.arenas")
    compiler: str = "gc"


def release_tags(go_minor: int) -> tuple[str, ...]:
    """The release tags of toolchain go1.N: ("go1.1", ..., "go1.N")."""
    return tuple(f"go1.{i}" for i in range(1, go_minor + 1))


_RELEASE_TAG: Final = r"go1\.([1-9][0-9]*)"


def match_tag(tag: str, ctx: BuildContext) -> bool:
    """Report whether one build tag is satisfied in ctx (go/build's Context.matchTag)."""
    if tag == "cgo" and ctx.cgo_enabled:
        return True
    if tag in (ctx.goos, ctx.goarch, ctx.compiler):
        return True
    if (ctx.goos, tag) in (("android", "linux"), ("illumos", "solaris"), ("ios", "darwin")):
        return True
    if tag == "unix" and ctx.goos in UNIX_OS:
        return True
    if tag == "boringcrypto":                      # old name of goexperiment.boringcrypto
        tag = "goexperiment.boringcrypto"
    if tag in ctx.tags or tag in ctx.goarch_features:
        return True
    if tag.startswith("goexperiment."):
        if tag in ctx.experiments or tag[len("goexperiment."):] in ctx.experiments:
            return True
    m = re.fullmatch(_RELEASE_TAG, tag)
    return m is not None and int(m.group(1)) <= ctx.go_minor


# -- file names -------------------------------------------------------------------------------------

def good_os_arch_file(name: str, ctx: BuildContext) -> bool:
    """Report whether a file's base name is compatible with ctx's GOOS/GOARCH (go/build's goodOSArchFile).

    Recognized forms: name_GOOS.*, name_GOARCH.*, name_GOOS_GOARCH.*, each optionally
    followed by _test.  Only the text after the first "_" counts, so "linux.go" carries no
    constraint.  Suffixes that are not known GOOS/GOARCH values carry none either.
    """
    stem = name.split(".", 1)[0]
    i = stem.find("_")
    if i < 0:
        return True
    parts = stem[i:].split("_")
    if parts[-1] == "test":
        parts.pop()
    n = len(parts)
    if n >= 2 and parts[-2] in KNOWN_OS and parts[-1] in KNOWN_ARCH:
        return match_tag(parts[-1], ctx) and match_tag(parts[-2], ctx)
    if n >= 1 and (parts[-1] in KNOWN_OS or parts[-1] in KNOWN_ARCH):
        return match_tag(parts[-1], ctx)
    return True


# -- expressions ------------------------------------------------------------------------------------

class ConstraintSyntaxError(ValueError):
    """A malformed build expression; str() is Go's message, offset the character index where it was found."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset


class _ExprBase:
    __slots__ = ()

    def eval(self, ctx: BuildContext) -> bool:
        """Report whether the expression holds in ctx."""
        return self.eval_with(lambda tag: match_tag(tag, ctx))

    def eval_with(self, ok: Callable[[str], bool]) -> bool:
        """Evaluate with ok(tag) deciding each tag; like Go, every tag is consulted (no short cut)."""
        return _evaluate(self, ok)

    def __str__(self) -> str:
        return _render(self)


@dataclass(frozen=True, slots=True)
class Tag(_ExprBase):
    """A build tag: holds when match_tag says so."""

    name: str


@dataclass(frozen=True, slots=True)
class Not(_ExprBase):
    """!x"""

    x: Expr


@dataclass(frozen=True, slots=True)
class And(_ExprBase):
    """x && y"""

    x: Expr
    y: Expr


@dataclass(frozen=True, slots=True)
class Or(_ExprBase):
    """x || y"""

    x: Expr
    y: Expr


Expr = Union[Tag, Not, And, Or]


def _evaluate(root: _ExprBase, ok: Callable[[str], bool]) -> bool:
    # Iterative post-order walk, so deeply nested expressions cannot exhaust the stack.
    todo: list[tuple[_ExprBase, bool]] = [(root, False)]
    values: list[bool] = []
    while todo:
        node, done = todo.pop()
        if isinstance(node, Tag):
            values.append(ok(node.name))
        elif isinstance(node, Not):
            if done:
                values.append(not values.pop())
            else:
                todo += [(node, True), (node.x, False)]
        elif isinstance(node, (And, Or)):
            if done:
                y, x = values.pop(), values.pop()
                values.append((x and y) if isinstance(node, And) else (x or y))
            else:
                todo += [(node, True), (node.y, False), (node.x, False)]
    return values[0]


def _render(root: _ExprBase) -> str:
    # Go's String(): "!" binds tightest, an Or inside an And (and vice versa) gets parentheses.
    todo: list[tuple[_ExprBase, bool]] = [(root, False)]
    out: list[str] = []
    while todo:
        node, done = todo.pop()
        if isinstance(node, Tag):
            out.append(node.name)
        elif isinstance(node, Not):
            if done:
                s = out.pop()
                out.append(f"!({s})" if isinstance(node.x, (And, Or)) else "!" + s)
            else:
                todo += [(node, True), (node.x, False)]
        elif isinstance(node, (And, Or)):
            if done:
                y, x = out.pop(), out.pop()
                other = Or if isinstance(node, And) else And
                if isinstance(node.x, other):
                    x = f"({x})"
                if isinstance(node.y, other):
                    y = f"({y})"
                out.append(f"{x} {'&&' if isinstance(node, And) else '||'} {y}")
            else:
                todo += [(node, True), (node.y, False), (node.x, False)]
    return out[0]


def _is_tag_char(c: str) -> bool:
    # unicode.IsLetter || unicode.IsDigit || '_' || '.'; lone surrogates (undecodable bytes) are neither.
    return c.isalpha() or c.isdecimal() or c in "_."


def _shown(c: str) -> str:
    return "\ufffd" if "\ud800" <= c <= "\udfff" else c


_MAX_SIZE: Final = 1000
_MAX_OLD_SIZE: Final = 100


class _Level:
    """One parenthesized level of a //go:build expression being parsed."""

    __slots__ = ("open_pos", "negated", "or_acc", "and_acc")

    def __init__(self, open_pos: int, negated: bool) -> None:
        self.open_pos = open_pos            # offset of "(", or -1 at top level
        self.negated = negated
        self.or_acc: Expr | None = None
        self.and_acc: Expr | None = None


class _Lexer:
    __slots__ = ("s", "i", "tok", "is_tag", "pos")

    def __init__(self, s: str) -> None:
        self.s = s
        self.i = 0
        self.tok = ""
        self.is_tag = False
        self.pos = 0

    def lex(self) -> None:
        s = self.s
        self.is_tag = False
        while self.i < len(s) and s[self.i] in " \t":
            self.i += 1
        if self.i >= len(s):
            self.tok, self.pos = "", self.i
            return
        c = s[self.i]
        if c in "()!":
            self.pos, self.tok = self.i, c
            self.i += 1
            return
        if c in "&|":
            if self.i + 1 >= len(s) or s[self.i + 1] != c:
                raise ConstraintSyntaxError(f"invalid syntax at {c}", self.i)
            self.pos, self.tok = self.i, c + c
            self.i += 2
            return
        j = self.i
        while j < len(s) and _is_tag_char(s[j]):
            j += 1
        if j == self.i:
            raise ConstraintSyntaxError(f"invalid syntax at {_shown(c)}", self.i)
        self.pos, self.tok, self.is_tag = self.i, s[self.i:j], True
        self.i = j


def parse_expr(text: str) -> Expr:
    """Parse a //go:build expression (the text after the "//go:build" prefix).

    Grammar: or := and {"||" and}; and := not {"&&" not}; not := ["!"] atom;
    atom := tag | "(" or ")".  Raises ConstraintSyntaxError with Go's messages:
    "unexpected token X", "unexpected end of expression", "missing close paren",
    "double negation not allowed", "invalid syntax at X", "build expression too large".
    """
    p = _Lexer(text)
    levels = [_Level(open_pos=-1, negated=False)]
    size = 0
    while True:
        # not: ["!"] atom
        size += 1
        if size > _MAX_SIZE:
            raise ConstraintSyntaxError("build expression too large", p.pos)
        p.lex()
        negated = False
        if p.tok == "!":
            p.lex()
            if p.tok == "!":
                raise ConstraintSyntaxError("double negation not allowed", p.pos)
            negated = True
        if p.tok == "(":
            levels.append(_Level(open_pos=p.pos, negated=negated))
            continue
        if not p.is_tag:
            if p.tok == "":
                # Inside parentheses Go reports running out of input as the missing ")".
                msg = "missing close paren" if len(levels) > 1 else "unexpected end of expression"
                raise ConstraintSyntaxError(msg, p.pos)
            raise ConstraintSyntaxError(f"unexpected token {p.tok}", p.pos)
        x: Expr = Tag(p.tok)
        p.lex()
        if negated:
            x = Not(x)
        # Fold the operand into the enclosing levels until more input is wanted.
        while True:
            lvl = levels[-1]
            lvl.and_acc = x if lvl.and_acc is None else And(lvl.and_acc, x)
            if p.tok == "&&":
                break
            done: Expr = lvl.and_acc if lvl.or_acc is None else Or(lvl.or_acc, lvl.and_acc)
            lvl.or_acc, lvl.and_acc = done, None
            if p.tok == "||":
                break
            if len(levels) == 1:
                if p.tok != "":
                    raise ConstraintSyntaxError(f"unexpected token {p.tok}", p.pos)
                return done
            if p.tok != ")":
                raise ConstraintSyntaxError("missing close paren", lvl.open_pos)
            p.lex()
            levels.pop()
            x = Not(done) if lvl.negated else done


def _is_valid_tag(word: str) -> bool:
    return word != "" and all(_is_tag_char(c) for c in word)


def parse_plus_build_expr(text: str) -> Expr:
    """Parse the text after "// +build": spaces separate OR'ed clauses, commas AND'ed terms, "!" negates.

    A malformed term becomes the tag "ignore" (as in Go); more than 100 operators raises
    ConstraintSyntaxError("expression too complex for // +build lines").
    """
    size = 0

    def join(x: Expr | None, y: Expr, op: type[And] | type[Or]) -> Expr:
        nonlocal size
        if x is None:
            return y
        size += 1
        if size > _MAX_OLD_SIZE:
            raise ConstraintSyntaxError("expression too complex for // +build lines", 0)
        return op(x, y)

    x: Expr | None = None
    for clause in fields(text):
        y: Expr | None = None
        for lit in clause.split(","):
            z: Expr
            if lit.startswith("!!") or lit == "!":
                z = Tag("ignore")
            else:
                neg = lit.startswith("!")
                if neg:
                    lit = lit[1:]
                z = Tag(lit) if _is_valid_tag(lit) else Tag("ignore")
                if neg:
                    z = Not(z)
            y = join(y, z, And)
        assert y is not None
        x = join(x, y, Or)
    return x if x is not None else Tag("ignore")


def _split_go_build(line: str) -> str | None:
    """The expression of a //go:build line, or None if line is not one."""
    if not line.startswith("//go:build"):
        return None
    rest = trim_space(line)[len("//go:build"):]
    trimmed = trim_space(rest)
    if rest and len(trimmed) == len(rest):         # "//go:buildx" is some other directive
        return None
    return trimmed


def _split_plus_build(line: str) -> str | None:
    """The expression of a // +build line ("//+build" too), or None if line is not one."""
    if not line.startswith("//"):
        return None
    rest = trim_space(line[2:])
    if not rest.startswith("+build"):
        return None
    rest = rest[len("+build"):]
    trimmed = trim_space(rest)
    if rest and len(trimmed) == len(rest):
        return None
    return trimmed


# -- the file header --------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Header:
    """The build constraints of a file's leading comment block.

    go_build: the expression of the //go:build line ("" for a bare "//go:build"), or None.
    plus_build: the expressions of the // +build lines that count (those followed by a blank
    line before the first non-comment text).  go_build_line: 1-based line of //go:build.
    binary_only: a //go:binary-only-package line was seen.  error: "multiple //go:build
    comments" or "unexpected NUL in input", else None.
    """

    go_build: str | None
    plus_build: tuple[str, ...]
    go_build_line: int | None
    binary_only: bool
    error: str | None


_BOM: Final = b"\xef\xbb\xbf"


def _split_lines(source: bytes) -> Iterator[str]:
    """The lines of source, decoded one by one (undecodable bytes as surrogate escapes).

    Text after the last newline is a line only when non-empty, as in Go's loop.
    """
    start = 0
    while start < len(source):
        nl = source.find(b"\n", start)
        stop = len(source) if nl < 0 else nl
        yield source[start:stop].decode("utf-8", "surrogateescape")
        start = stop + 1


def read_header(source: bytes) -> Header:
    """Read the constraint lines of a file's leading comment block (go/build's parseFileHeader).

    The block is the run of blank lines, // comments and /* */ comments before the first
    other text.  //go:build lines anywhere in it count (not inside /* */); // +build lines
    count only before the last blank line that precedes the first non-// line, so a
    package doc comment is never taken for constraints.  A leading UTF-8 BOM is skipped.
    """
    if source.startswith(_BOM):
        source = source[len(_BOM):]
    lines: list[str] = []    # the lines looked at, decoded; a UTF-8 sequence never spans a newline
    end = 0                  # lines[:end] may hold // +build lines
    ended = False            # saw a line that is neither blank nor //
    in_comment = False       # inside /* */
    go_build: str | None = None
    go_build_line: int | None = None
    binary_only = False
    error: str | None = None
    for n, raw in enumerate(_split_lines(source)):
        lines.append(raw)
        line = trim_space(raw)
        if not line and not ended:
            end = n + 1
            continue
        if not line.startswith("//"):
            ended = True
        if not in_comment and _split_go_build(line) is not None:
            if go_build is not None:
                error = error or "multiple //go:build comments"
            else:
                go_build, go_build_line = _split_go_build(line), n + 1
        if not in_comment and line == "//go:binary-only-package":
            binary_only = True
        rest = line
        stop = False
        while rest:
            if in_comment:
                i = rest.find("*/")
                if i < 0:
                    break
                in_comment = False
                rest = trim_space(rest[i + 2:])
            elif rest.startswith("//"):
                break
            elif rest.startswith("/*"):
                in_comment = True
                rest = trim_space(rest[2:])
            else:
                stop = True          # non-comment text
                break
        if stop:
            break
    if any("\x00" in raw for raw in lines):
        error = "unexpected NUL in input"          # a read error comes before any parse error
    plus: list[str] = []
    for raw in lines[:end]:
        line = trim_space(raw)
        if line.startswith("//") and "+build" in line:
            text = _split_plus_build(line)
            if text is not None:
                plus.append(text)
    if error is not None:
        return Header(None, (), None, False, error)
    return Header(go_build, tuple(plus), go_build_line, binary_only, None)


def should_build(source: bytes, ctx: BuildContext) -> tuple[bool, str | None]:
    """Report whether a file's constraints admit it in ctx, and the error of a malformed header.

    A //go:build line, when present, decides alone; a malformed one gives
    (False, "parsing //go:build line: <reason>").  Otherwise every // +build line must
    hold; malformed // +build lines are ignored, as in Go.
    """
    h = read_header(source)
    if h.error is not None:
        return False, h.error
    if h.go_build is not None:
        try:
            x = parse_expr(h.go_build)
        except ConstraintSyntaxError as e:
            return False, f"parsing //go:build line: {e.message}"
        return x.eval(ctx), None
    ok = True
    for text in h.plus_build:
        try:
            y = parse_plus_build_expr(text)
        except ConstraintSyntaxError:
            continue
        if not y.eval(ctx):
            ok = False
    return ok, None


def file_included(name: str, source: bytes, ctx: BuildContext) -> bool:
    """good_os_arch_file and should_build together; a malformed constraint excludes the file.

    name is the file's base name.  It does not judge _test.go files or names starting
    with "_" or "." (the caller does), nor the file's extension.
    """
    return good_os_arch_file(name, ctx) and should_build(source, ctx)[0]
