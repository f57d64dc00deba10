"""cmd/go's cgo flag security checks, with the allow-lists read at run time from the toolchain's own security.go.

The rules live in `$GOROOT/src/cmd/go/internal/work/security.go` (checkCompilerFlags,
checkLinkerFlags, checkPkgConfigFlags, checkFlags and the two *ForInternalLink helpers); every
toolchain ships that file. `load_rules(goroot)` parses its tables (the regular expressions, the
flags that take the next argument, which table each check uses, whether it honours
CGO_<NAME>_ALLOW / _DISALLOW) and caches them by the file's stat. When the file is missing, or
reads in a way this module does not recognise (a table of another shape, a checkFlags whose
algorithm changed), the answer is an `Unsupported` reason: the caller then lets the go command
build, it never guesses. Go's RE2 syntax is translated to Python's `re` (`go_regexp`), again
refusing whatever it cannot translate faithfully.

Matching follows Go exactly: a flag passes a pattern when `FindString(flag) == flag`
(leftmost-first match equal to the whole flag, so an empty flag passes), not when the pattern
merely matches a prefix.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Mapping, Sequence

SECURITY_GO: Final = Path("src/cmd/go/internal/work/security.go")

#: Digests (`checkflags_digest`) of the checkFlags bodies whose algorithm `check_flags` implements:
#: the one of go1.26 and go1.27. Any other body means the rules changed in a way not followed here.
KNOWN_CHECKFLAGS: Final = frozenset({
    "b4e33444c377a907b0dee80d4ddc8662dbd87c81050c4602b05597202e4c69e0",
})


@dataclass(frozen=True, slots=True)
class Unsupported:
    """Something rungo does not do natively; `reason` says what (the go command then builds)."""

    reason: str


@dataclass(frozen=True, slots=True)
class FlagCheck:
    """One of security.go's check functions: the tables it passes to checkFlags."""

    invalid: tuple[re.Pattern[str], ...]
    valid: tuple[re.Pattern[str], ...]
    valid_next: tuple[str, ...]
    overrides: bool                          # consults CGO_<NAME>_ALLOW / _DISALLOW


@dataclass(frozen=True, slots=True)
class InternalLinkCheck:
    """A check*ForInternalLink function: a checkFlags call plus the flags that force external linking."""

    check: FlagCheck
    prefixes: tuple[str, ...]                # strings.HasPrefix(fl, P)
    exact: tuple[str, ...]                   # fl == E


@dataclass(frozen=True, slots=True)
class SecurityRules:
    """The parsed security.go of one toolchain."""

    source: Path
    compiler: FlagCheck
    linker: FlagCheck
    pkg_config: FlagCheck
    compiler_internal_link: InternalLinkCheck
    linker_internal_link: InternalLinkCheck | None   # go1.27+: checkLinkerFlagsForInternalLink


# -- Go's RE2 syntax in Python's re ---------------------------------------------------------------

class _Untranslatable(Exception):
    pass


_POSIX_CLASSES: Final[Mapping[str, str]] = {
    "alnum": "0-9A-Za-z", "alpha": "A-Za-z", "ascii": "\\x00-\\x7f", "blank": "\\t ",
    "cntrl": "\\x00-\\x1f\\x7f", "digit": "0-9", "graph": "!-~", "lower": "a-z",
    "print": " -~", "punct": "!-/:-@\\[-`{-~", "space": "\\t\\n\\v\\f\\r ", "upper": "A-Z",
    "word": "0-9A-Za-z_", "xdigit": "0-9A-Fa-f",
}
_PERL_CLASSES: Final[Mapping[str, str]] = {"d": "0-9", "s": "\\t\\n\\f\\r ", "w": "0-9A-Za-z_"}
_SIMPLE_ESCAPES: Final = frozenset("afnrtv")
_REPEAT = re.compile(r"\{(\d+)(,(\d*))?\}")
_FLAGS = re.compile(r"\(\?([imsU]*)(?:-([imsU]*))?([:)])")
_NAMED = re.compile(r"\(\?P?<([A-Za-z0-9_]+)>")


def _escape(p: str, i: int, in_class: bool) -> tuple[str, int]:
    """Translate the escape at p[i] == '\\'; returns the Python text and the next index."""
    if i + 1 >= len(p):
        raise _Untranslatable("trailing backslash")
    c = p[i + 1]
    if c in _PERL_CLASSES:
        body = _PERL_CLASSES[c]
        return (body if in_class else f"[{body}]"), i + 2
    if c.lower() in _PERL_CLASSES and not in_class:
        return f"[^{_PERL_CLASSES[c.lower()]}]", i + 2
    if c in _SIMPLE_ESCAPES:
        return "\\" + c, i + 2
    if c == "x":
        if i + 2 < len(p) and p[i + 2] == "{":
            end = p.find("}", i + 3)
            digits = p[i + 3:end] if end > 0 else ""
            if not digits or not all(ch in "0123456789abcdefABCDEF" for ch in digits) or int(digits, 16) > 0x10FFFF:
                raise _Untranslatable("bad \\x{...}")
            return f"\\U{int(digits, 16):08x}", end + 1
        digits = p[i + 2:i + 4]
        if len(digits) != 2 or not all(ch in "0123456789abcdefABCDEF" for ch in digits):
            raise _Untranslatable("bad \\x")
        return "\\x" + digits, i + 4
    if not in_class and c in "AbB":
        return ("\\A" if c == "A" else f"(?a:\\{c})"), i + 2
    if not in_class and c == "z":
        return "\\Z", i + 2
    if c.isascii() and not c.isalnum():
        return "\\" + c, i + 2                      # escaped punctuation
    raise _Untranslatable(f"escape \\{c}")


def _class(p: str, i: int) -> tuple[str, int]:
    """Translate the character class starting at p[i] == '['."""
    out = ["["]
    i += 1
    if i < len(p) and p[i] == "^":
        out.append("^")
        i += 1
    first = True
    while True:
        if i >= len(p):
            raise _Untranslatable("missing ]")
        c = p[i]
        if c == "]" and not first:
            out.append("]")
            return "".join(out), i + 1
        first = False
        if p.startswith("[:", i):
            end = p.find(":]", i + 2)
            name = p[i + 2:end] if end > 0 else ""
            if name not in _POSIX_CLASSES:
                raise _Untranslatable(f"class [:{name}:]")
            out.append(_POSIX_CLASSES[name])
            i = end + 2
            continue
        if c == "\\":
            text, i = _escape(p, i, in_class=True)
            out.append(text)
            continue
        out.append("\\" + c if c in "[&~|" else c)
        i += 1


def go_regexp(pattern: str) -> re.Pattern[str] | Unsupported:
    """Go's regexp.Compile(pattern) as a Python pattern with the same matches, or why not.

    Translates Perl classes to their ASCII sets, `$` (end of text unless (?m)) to `\\Z`, `\\z`,
    POSIX classes, scoped and unscoped flag groups, `(?<name>`; refuses \\p, \\Q, back references,
    look-around, the U flag, nested repetition and counts above 1000 (errors in Go, something else
    in Python). A pattern Python cannot compile is refused too: Go's own error text is then the
    go command's to print.
    """
    try:
        text = _translate(pattern)
        return re.compile(text)
    except _Untranslatable as e:
        return Unsupported(f"cannot translate Go regexp {pattern!r}: {e}")
    except (re.error, OverflowError, RecursionError) as e:
        return Unsupported(f"cannot translate Go regexp {pattern!r}: {e}")


@dataclass(slots=True)
class _Frame:
    """An open group while translating: the unscoped flag groups opened in it, and whether (?m) holds."""

    pending: list[str]
    multiline: bool


def _translate(p: str) -> str:
    out: list[str] = []
    frames = [_Frame([], False)]
    i = 0
    repeated = False          # the previous item was a repetition operator
    while i < len(p):
        c = p[i]
        if c in "*+?" or (c == "{" and _REPEAT.match(p, i)):
            if repeated:
                raise _Untranslatable("nested repetition")
            if c == "{":
                m = _REPEAT.match(p, i)
                assert m is not None
                lo, hi = int(m.group(1)), m.group(3)
                if lo > 1000 or (hi and int(hi) > 1000) or (hi and int(hi) < lo):
                    raise _Untranslatable("bad repetition count")
                out.append(m.group(0))
                i = m.end()
            else:
                out.append(c)
                i += 1
            if i < len(p) and p[i] == "?":
                out.append("?")
                i += 1
            repeated = True
            continue
        repeated = False
        top = frames[-1]
        if c == "\\":
            text, i = _escape(p, i, in_class=False)
            out.append(text)
        elif c == "[":
            text, i = _class(p, i)
            out.append(text)
        elif c == "(":
            if p.startswith("(?", i):
                named = _NAMED.match(p, i)
                flags = _FLAGS.match(p, i)
                if named:
                    out.append(f"(?P<{named.group(1)}>")
                    frames.append(_Frame([], top.multiline))
                    i = named.end()
                elif flags and (flags.group(1) or flags.group(2) or flags.group(3) == ":"):
                    on, off, end = flags.group(1), flags.group(2) or "", flags.group(3)
                    if "U" in on + off:
                        raise _Untranslatable("flag U")
                    multiline = top.multiline
                    if "m" in on:
                        multiline = True
                    if "m" in off:
                        multiline = False
                    spec = on + (("-" + off) if off else "")
                    if end == ":":
                        out.append(f"(?{spec}:" if spec else "(?:")
                        frames.append(_Frame([], multiline))
                    else:
                        # Go's (?flags) holds to the end of the enclosing group, across its
                        # alternatives: a scoped group closed and reopened around each "|".
                        out.append(f"(?{spec}:")
                        top.pending.append(spec)
                        top.multiline = multiline
                    i = flags.end()
                else:
                    raise _Untranslatable("unsupported group")
            else:
                out.append("(")
                frames.append(_Frame([], top.multiline))
                i += 1
        elif c == ")":
            if len(frames) == 1:
                raise _Untranslatable("unexpected )")
            out.append(")" * len(frames.pop().pending) + ")")
            i += 1
        elif c == "|":
            out.append(")" * len(top.pending) + "|" + "".join(f"(?{s}:" for s in top.pending))
            i += 1
        elif c == "$":
            out.append("(?m:$)" if top.multiline else "\\Z")
            i += 1
        elif c == "^":
            out.append("(?m:^)" if top.multiline else "^")
            i += 1
        elif c == "{":
            out.append("\\{")
            i += 1
        else:
            out.append(c)
            i += 1
    if len(frames) != 1:
        raise _Untranslatable("missing )")
    out.append(")" * len(frames[0].pending))
    return "".join(out)


def go_find_equals(rx: re.Pattern[str], s: str) -> bool:
    """Go's `rx.FindString(s) == s`: the leftmost-first match (or "" when none) is all of s."""
    m = rx.search(s)
    return (m.group(0) if m is not None else "") == s


# -- reading security.go --------------------------------------------------------------------------

_VAR_BLOCK = re.compile(r"^var (\w+) = \[\](\*lazyregexp\.Regexp|string)\{\n(.*?)^\}", re.S | re.M)
_RE_ITEM = re.compile(r"re\(`([^`]*)`\),")
_STR_ITEM = re.compile(r'"((?:[^"\\]|\\["\\])*)",')
_CHECK_FUNC = re.compile(
    r"func (\w+)\(name, source string, list \[\]string\) error \{\s*"
    r"checkOverrides := (true|false)\s*"
    r"return checkFlags\(name, source, list, (\w+), (\w+), (\w+), checkOverrides\)\s*\}"
)
_INTERNAL_HEAD = re.compile(
    r"^\{\s*checkOverrides := (true|false)\s*"
    r"if err := checkFlags\(name, source, list, (\w+), (\w+), (\w+), checkOverrides\); err != nil \{\s*return err\s*\}\s*"
    r"for _, fl := range list \{(.*)\}\s*return nil\s*\}$",
    re.S,
)
_INTERNAL_IF = re.compile(
    r'\s*if ((?:(?:strings\.HasPrefix\(fl, "[^"\\]*"\)|fl == "[^"\\]*")\s*(?:\|\|\s*)?)+) \{\s*'
    r'return fmt\.Errorf\("flag %q triggers external linking", fl\)\s*\}',
)
_INTERNAL_TERM = re.compile(r'strings\.HasPrefix\(fl, "([^"\\]*)"\)|fl == "([^"\\]*)"')


def _strip_comments(src: str) -> str:
    """Go source without // and /* */ comments (strings and raw strings kept intact)."""
    out: list[str] = []
    i, n = 0, len(src)
    while i < n:
        c = src[i]
        if c == "/" and src.startswith("//", i):
            j = src.find("\n", i)
            i = n if j < 0 else j
        elif c == "/" and src.startswith("/*", i):
            j = src.find("*/", i + 2)
            i = n if j < 0 else j + 2
            out.append(" ")
        elif c in "\"`'":
            j = i + 1
            while j < n and src[j] != c:
                if src[j] == "\\" and c != "`":
                    j += 1
                j += 1
            out.append(src[i:j + 1])
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def _func_body(src: str, name: str) -> str | None:
    """The `{...}` body of top-level func `name` in comment-free source."""
    m = re.search(r"^func " + re.escape(name) + r"\([^)]*\)[^{]*", src, re.M)
    if m is None:
        return None
    depth = 0
    i = m.end()
    start = i
    while i < len(src):
        c = src[i]
        if c in "\"`'":
            j = i + 1
            while j < len(src) and src[j] != c:
                if src[j] == "\\" and c != "`":
                    j += 1
                j += 1
            i = j + 1
            continue
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return src[start:i + 1]
        i += 1
    return None


def checkflags_digest(body: str) -> str:
    """The digest of a function body with comments removed and white space collapsed."""
    return hashlib.sha256(" ".join(body.split()).encode()).hexdigest()


def _parse(src: str, path: Path) -> SecurityRules | Unsupported:
    def bad(what: str) -> Unsupported:
        return Unsupported(f"{path}: {what} has a shape rungo does not know; the go command builds cgo packages")

    code = _strip_comments(src)
    regex_tables: dict[str, tuple[re.Pattern[str], ...]] = {}
    string_tables: dict[str, tuple[str, ...]] = {}
    for m in _VAR_BLOCK.finditer(code):
        name, kind, body = m.group(1), m.group(2), m.group(3)
        item = _RE_ITEM if kind != "string" else _STR_ITEM
        items: list[str] = []
        pos = 0
        rest = body
        while True:
            while pos < len(rest) and rest[pos] in " \t\n":
                pos += 1
            if pos >= len(rest):
                break
            im = item.match(rest, pos)
            if im is None:
                return bad(f"var {name}")
            items.append(im.group(1))
            pos = im.end()
        if kind == "string":
            string_tables[name] = tuple(s.replace('\\"', '"').replace("\\\\", "\\") for s in items)
        else:
            compiled: list[re.Pattern[str]] = []
            for text in items:
                rx = go_regexp(text)
                if isinstance(rx, Unsupported):
                    return Unsupported(f"{path}: {rx.reason}")
                compiled.append(rx)
            regex_tables[name] = tuple(compiled)

    def table_check(overrides: str, invalid: str, valid: str, valid_next: str, where: str) -> FlagCheck | Unsupported:
        def regexes(n: str) -> tuple[re.Pattern[str], ...] | None:
            return () if n == "nil" else regex_tables.get(n)

        inv, val = regexes(invalid), regexes(valid)
        nxt = () if valid_next == "nil" else string_tables.get(valid_next)
        if inv is None or val is None or nxt is None:
            return bad(where)
        return FlagCheck(inv, val, nxt, overrides == "true")

    checks: dict[str, FlagCheck] = {}
    for m in _CHECK_FUNC.finditer(code):
        fc = table_check(m.group(2), m.group(3), m.group(4), m.group(5), m.group(1))
        if isinstance(fc, Unsupported):
            return fc
        checks[m.group(1)] = fc
    for needed in ("checkCompilerFlags", "checkLinkerFlags", "checkPkgConfigFlags"):
        if needed not in checks:
            return bad(needed)

    def internal(name: str) -> InternalLinkCheck | Unsupported | None:
        body = _func_body(code, name)
        if body is None:
            return None
        m = _INTERNAL_HEAD.match(body)
        if m is None:
            return bad(name)
        fc = table_check(m.group(1), m.group(2), m.group(3), m.group(4), name)
        if isinstance(fc, Unsupported):
            return fc
        loop = m.group(5)
        prefixes: list[str] = []
        exact: list[str] = []
        pos = 0
        while pos < len(loop):
            im = _INTERNAL_IF.match(loop, pos)
            if im is None:
                if loop[pos:].strip():
                    return bad(name)
                break
            for tm in _INTERNAL_TERM.finditer(im.group(1)):
                if tm.group(1) is not None:
                    prefixes.append(tm.group(1))
                else:
                    exact.append(tm.group(2))
            pos = im.end()
        return InternalLinkCheck(fc, tuple(prefixes), tuple(exact))

    cil = internal("checkCompilerFlagsForInternalLink")
    if cil is None:
        return bad("checkCompilerFlagsForInternalLink")
    if isinstance(cil, Unsupported):
        return cil
    lil = internal("checkLinkerFlagsForInternalLink")
    if isinstance(lil, Unsupported):
        return lil

    body = _func_body(code, "checkFlags")
    if body is None or checkflags_digest(body) not in KNOWN_CHECKFLAGS:
        return bad("checkFlags")
    return SecurityRules(path, checks["checkCompilerFlags"], checks["checkLinkerFlags"],
                         checks["checkPkgConfigFlags"], cil, lil)


_rules_lock = threading.Lock()
_rules_memo: dict[str, tuple[tuple[int, int, int], SecurityRules | Unsupported]] = {}


def load_rules(goroot: Path) -> SecurityRules | Unsupported:
    """The security rules of the toolchain at `goroot`, parsed once per version of the file."""
    path = goroot / SECURITY_GO
    try:
        st = os.stat(path)
    except OSError as e:
        return Unsupported(f"cannot read {path}: {e.strerror}; the go command builds cgo packages")
    stamp = (st.st_size, st.st_mtime_ns, st.st_ino)
    with _rules_lock:
        hit = _rules_memo.get(str(path))
        if hit is not None and hit[0] == stamp:
            return hit[1]
    try:
        src = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        return Unsupported(f"cannot read {path}: {e}; the go command builds cgo packages")
    parsed = _parse(src, path)
    with _rules_lock:
        _rules_memo[str(path)] = (stamp, parsed)
    return parsed


# -- the checks -----------------------------------------------------------------------------------

def safe_arg(name: str) -> bool:
    """cmd/go's load.SafeArg: not empty, and not starting with '-', '@' or other ASCII punctuation."""
    if not name:
        return False
    c = name.encode("utf-8", "surrogateescape")[0]
    return (ord("0") <= c <= ord("9") or ord("A") <= c <= ord("Z") or ord("a") <= c <= ord("z")
            or c in b"._/" or c >= 0x80)


def _matches_any(rxs: Sequence[re.Pattern[str]], arg: str) -> bool:
    return any(go_find_equals(rx, arg) for rx in rxs)


def check_flags(check: FlagCheck, name: str, source: str, flags: Sequence[str],
                overrides: Mapping[str, str]) -> str | Unsupported | None:
    """security.go's checkFlags: None when every flag is allowed, else go's error text.

    `overrides` maps "CGO_<NAME>_ALLOW" / "_DISALLOW" to their values (as cmd/go's cfg.Getenv
    reads them); consulted only when the check honours them. An override that cannot be
    translated from Go's regexp syntax is Unsupported (the go command then reports it).
    """
    allow: re.Pattern[str] | None = None
    disallow: re.Pattern[str] | None = None
    if check.overrides:
        for suffix in ("ALLOW", "DISALLOW"):
            var = f"CGO_{name}_{suffix}"
            value = overrides.get(var, "")
            if value:
                rx = go_regexp(value)
                if isinstance(rx, Unsupported):
                    return Unsupported(f"${var}: {rx.reason}")
                if suffix == "ALLOW":
                    allow = rx
                else:
                    disallow = rx
    i = 0
    while i < len(flags):
        arg = flags[i]
        verdict = _check_one(check, flags, i, allow, disallow)
        if verdict is None:
            return f"invalid flag in {source}: {arg} (see https://go.dev/s/invalidflag)"
        if isinstance(verdict, str):
            return verdict.format(source=source)
        i = verdict
    return None


def _check_one(check: FlagCheck, flags: Sequence[str], i: int, allow: re.Pattern[str] | None,
               disallow: re.Pattern[str] | None) -> int | str | None:
    """The index of the next flag to look at when flags[i] is fine; None for "Bad"; a message template."""
    arg = flags[i]
    if disallow is not None and go_find_equals(disallow, arg):
        return None
    if allow is not None and go_find_equals(allow, arg):
        return i + 1
    if _matches_any(check.invalid, arg):
        return None
    for rx in check.valid:
        if go_find_equals(rx, arg):
            return i + 1
        if arg.startswith("-Wl,--push-state,"):
            for part in arg.split(",")[1:]:
                a = "-Wl," + part
                if not _matches_any(check.valid, a) or _matches_any(check.invalid, a):
                    return None
            return i + 1
    for x in check.valid_next:
        if arg != x:
            continue
        nxt = flags[i + 1] if i + 1 < len(flags) else None
        if nxt is not None and safe_arg(nxt):
            return i + 2
        if nxt is not None and arg.startswith("-Wl,") and nxt.startswith("-Wl,") and safe_arg(nxt[4:]) and "," not in nxt[4:]:
            return i + 2
        if nxt is not None and arg == "-I" and (nxt.startswith("=") or nxt.startswith("$SYSROOT")) and safe_arg(nxt[1:]):
            return i + 2
        if nxt is not None:
            return ("invalid flag in {source}: " + _brace(arg) + " " + _brace(nxt)
                    + " (see https://go.dev/s/invalidflag)")
        return "invalid flag in {source}: " + _brace(arg) + " without argument (see https://go.dev/s/invalidflag)"
    return None


def _brace(s: str) -> str:
    return s.replace("{", "{{").replace("}", "}}")


def check_compiler_flags(rules: SecurityRules, name: str, source: str, flags: Sequence[str],
                         overrides: Mapping[str, str]) -> str | Unsupported | None:
    """checkCompilerFlags(name, source, flags)."""
    return check_flags(rules.compiler, name, source, flags, overrides)


def check_linker_flags(rules: SecurityRules, name: str, source: str, flags: Sequence[str],
                       overrides: Mapping[str, str]) -> str | Unsupported | None:
    """checkLinkerFlags(name, source, flags)."""
    return check_flags(rules.linker, name, source, flags, overrides)


def check_pkg_config_flags(rules: SecurityRules, flags: Sequence[str]) -> str | Unsupported | None:
    """checkPkgConfigFlags("", "pkg-config", flags)."""
    return check_flags(rules.pkg_config, "", "pkg-config", flags, {})


def _internal(check: InternalLinkCheck, name: str, flags: Sequence[str]) -> bool:
    if check_flags(check.check, name, name, flags, {}) is not None:
        return True
    return any(any(fl.startswith(p) for p in check.prefixes) or fl in check.exact for fl in flags)


def prefers_external_link(rules: SecurityRules, cflags: Sequence[str], cxxflags: Sequence[str],
                          fflags: Sequence[str], ldflags: Sequence[str]) -> bool:
    """runCgo's notCompatibleWithInternalLinking: flags that make cmd/go drop a `preferlinkext` token.

    `cflags` ... `ldflags` are the package's full lists (CGO_* environment then #cgo directives,
    before pkg-config); the LDFLAGS check exists from the toolchain whose security.go has
    checkLinkerFlagsForInternalLink.
    """
    for name, flags in (("CGO_CFLAGS", cflags), ("CGO_CXXFLAGS", cxxflags), ("CGO_FFLAGS", fflags)):
        if _internal(rules.compiler_internal_link, name, flags):
            return True
    if rules.linker_internal_link is not None and _internal(rules.linker_internal_link, "CGO_LDFLAGS", ldflags):
        return True
    return False
