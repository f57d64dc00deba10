"""The flags a cgo package is built with, decided as cmd/go decides them.

- `cgo_preambles(source)`: the comment attached to each `import "C"` (go/parser's lead comment,
  as go/ast's CommentGroup.Text() renders it).
- `parse_directives(files, pkg_dir, ctx)`: the `#cgo` lines of those preambles, as go/build's
  saveCgo reads them (constraints, quoting, ${SRCDIR}, safe names, relative -I/-L made absolute).
- `cgo_environment(env, goenv)`: CC, CXX, FC, PKG_CONFIG, the CGO_*FLAGS defaults and the
  CGO_*_ALLOW / _DISALLOW overrides, as cmd/go's cfg.Getenv and `go env` resolve them.
- `pkg_config_flags(...)`: cmd/go's getPkgConfigFlags, through rungo's Runner.
- `package_flags(...)`: cmd/go's CFlags plus what runCgo adds (pkg-config, -lobjc, -lgfortran,
  the internal-linking verdict), with the security checks of `cgosecurity`.

Errors are values: `CgoError` carries go's text and how go prints it; `Unsupported` says why the
go command has to build instead.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Iterator, Literal, Mapping, Sequence

from rungo.load.constraints import BuildContext, ConstraintSyntaxError, parse_expr, parse_plus_build_expr
from rungo.invocation import split_quoted as split_fields
from rungo.process import Runner
from rungo.load.cgosecurity import (
    SecurityRules,
    Unsupported,
    check_compiler_flags,
    check_linker_flags,
    check_pkg_config_flags,
    prefers_external_link,
    safe_arg,
)

DEFAULT_CFLAGS: Final = "-O2 -g"          # cmd/go's work.DefaultCFlags


@dataclass(frozen=True, slots=True)
class CgoError:
    """A cgo build failure in go's words.

    kind "load": a package-loading error, printed as is (`/abs/x.go: invalid #cgo line: ...`).
    kind "action": an error of the build step, printed as `<import path>: <message>`.
    kind "command": a command's output, printed under `# <import path>` (and `# [<desc>]` when
    the failing command is not the package's own step, as for pkg-config).
    """

    kind: Literal["load", "action", "command"]
    message: str
    desc: str = ""

    def render(self, import_path: str) -> str:
        """The text go prints for this error, ending in a newline."""
        if self.kind == "load":
            text = self.message
        elif self.kind == "action":
            text = f"{import_path}: {self.message}"
        elif self.desc:
            text = f"# {import_path}\n# [{self.desc}]\n{self.message}"
        else:
            text = f"# {import_path}\n{self.message}"
        return text if text.endswith("\n") else text + "\n"


# -- quoting --------------------------------------------------------------------------------------

def quoted_split(s: str) -> list[str] | str:
    """cmd/internal/quoted.Split: the fields, or the error text ("unterminated ' string")."""
    try:
        return list(split_fields(s))
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


_GO_SPACE: Final = "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"


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
        elif ch in _GO_SPACE:
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


# -- the preamble ---------------------------------------------------------------------------------

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


def _unquote(lit: str) -> str | None:
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
        return (_unquote(t.text), doc), nxt()

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


# -- #cgo directives (go/build's saveCgo) ---------------------------------------------------------

@dataclass(frozen=True, slots=True)
class CgoDirectives:
    """The package's #cgo flags, in file order (go/build's CgoCFLAGS, ..., CgoPkgConfig)."""

    cflags: tuple[str, ...] = ()
    cppflags: tuple[str, ...] = ()
    cxxflags: tuple[str, ...] = ()
    fflags: tuple[str, ...] = ()
    ldflags: tuple[str, ...] = ()
    pkg_config: tuple[str, ...] = ()


_SAFE: Final = frozenset("+-.,/0123456789=ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz:$@%! ~^")


def safe_cgo_name(s: str) -> bool:
    """go/build's safeCgoName: non-empty, every ASCII byte from the safe set."""
    return bool(s) and all(c in _SAFE or ord(c) >= 0x80 for c in s)


def expand_srcdir(s: str, srcdir: str) -> tuple[str, bool]:
    """go/build's expandSrcDir: ${SRCDIR} replaced by the package directory, and whether all is safe."""
    chunks = s.split("${SRCDIR}")
    if len(chunks) < 2:
        return s, safe_cgo_name(s)
    ok = all(chunk == "" or safe_cgo_name(chunk) for chunk in chunks)
    ok = ok and (srcdir == "" or safe_cgo_name(srcdir))
    res = srcdir.join(chunks)
    return res, ok and res != ""


def go_clean_join(a: str, b: str) -> str:
    """path/filepath.Join on Unix: joined and cleaned."""
    if not a:
        return go_clean(b) if b else ""
    return go_clean(a + "/" + b)


def go_clean(p: str) -> str:
    """path.Clean."""
    c = posixpath.normpath(p)
    return "/" + c.lstrip("/") if c.startswith("//") else c


def make_paths_absolute(args: list[str], srcdir: str) -> None:
    """go/build's makePathsAbsolute: relative -I and -L paths (attached or next) joined to srcdir."""
    next_path = False
    for i, arg in enumerate(args):
        if next_path:
            if not arg.startswith("/"):
                args[i] = go_clean_join(srcdir, arg)
            next_path = False
        elif arg.startswith(("-I", "-L")):
            if len(arg) == 2:
                next_path = True
            elif not arg[2:].startswith("/"):
                args[i] = arg[:2] + go_clean_join(srcdir, arg[2:])


def _match_auto(text: str, ctx: BuildContext) -> bool:
    try:
        return (parse_expr(text) if any(c in text for c in "&|()") else parse_plus_build_expr(text)).eval(ctx)
    except ConstraintSyntaxError:
        return False


def _fields(s: str) -> list[str]:
    out: list[str] = []
    cur: list[str] = []
    for ch in s:
        if ch in _GO_SPACE:
            if cur:
                out.append("".join(cur))
                cur = []
        else:
            cur.append(ch)
    if cur:
        out.append("".join(cur))
    return out


def parse_directives(files: Sequence[tuple[str, bytes]], pkg_dir: str, ctx: BuildContext) -> CgoDirectives | CgoError:
    """The #cgo directives of a package's cgo files, as go/build's saveCgo collects them.

    `files` holds (absolute file name, content) for every Go file that imports "C", in the
    order go/build reads them (sorted by name). The first bad line is go's error, for example
    `/abs/x.go: invalid #cgo line: #cgo CFLAGS -DX`.
    """
    lists: dict[str, list[str]] = {v: [] for v in ("CFLAGS", "CPPFLAGS", "CXXFLAGS", "FFLAGS", "LDFLAGS", "pkg-config")}
    for filename, source in files:
        for text in cgo_preambles(source):
            for orig in text.split("\n"):
                line = orig.strip(_GO_SPACE)
                if len(line) < 5 or line[:4] != "#cgo" or line[4] not in " \t":
                    continue
                f = _fields(line)
                if len(f) == 3 and f[1] in ("nocallback", "noescape"):
                    continue
                head, sep, argstr = line[4:].strip(_GO_SPACE).partition(":")
                if not sep:
                    return CgoError("load", f"{filename}: invalid #cgo line: {orig}")
                words = _fields(head)
                if not words:
                    return CgoError("load", f"{filename}: invalid #cgo line: {orig}")
                cond, verb = words[:-1], words[-1]
                if cond and not any(_match_auto(c, ctx) for c in cond):
                    continue
                args, err = split_quoted(argstr)
                if err is not None:
                    return CgoError("load", f"{filename}: invalid #cgo line: {orig}")
                for i, arg in enumerate(args):
                    arg, ok = expand_srcdir(arg, pkg_dir)
                    if not ok:
                        return CgoError("load", f"{filename}: malformed #cgo argument: {arg}")
                    args[i] = arg
                if verb in ("CFLAGS", "CPPFLAGS", "CXXFLAGS", "FFLAGS", "LDFLAGS"):
                    make_paths_absolute(args, pkg_dir)
                if verb not in lists:
                    return CgoError("load", f"{filename}: invalid #cgo verb: {orig}")
                lists[verb].extend(args)
    return CgoDirectives(
        cflags=tuple(lists["CFLAGS"]), cppflags=tuple(lists["CPPFLAGS"]), cxxflags=tuple(lists["CXXFLAGS"]),
        fflags=tuple(lists["FFLAGS"]), ldflags=tuple(lists["LDFLAGS"]), pkg_config=tuple(lists["pkg-config"]),
    )


# -- the environment ------------------------------------------------------------------------------

OVERRIDE_VARS: Final = tuple(
    f"CGO_{n}_{s}" for n in ("CPPFLAGS", "CFLAGS", "CXXFLAGS", "FFLAGS", "LDFLAGS") for s in ("ALLOW", "DISALLOW")
)

#: What cmd/go puts in its own environment (envcmd.MkEnv) that cgo and the C compiler read.
CHILD_ENV_VARS: Final = ("CC", "CXX", "CGO_ENABLED", "GOOS", "GOARCH", "GOROOT")


@dataclass(frozen=True, slots=True)
class CgoEnvironment:
    """The C toolchain settings of a build, resolved like `go env` (environment, go/env file, defaults)."""

    cc: tuple[str, ...]                 # `go env CC` split as cmd/go's envList does
    cxx: tuple[str, ...]
    fc: tuple[str, ...]                 # $FC or gfortran
    fc_setting: str                     # $FC as set ("" when not): decides -lgfortran
    pkg_config: str                     # first field of $PKG_CONFIG, or pkg-config
    cppflags: tuple[str, ...]           # $CGO_CPPFLAGS (default none)
    cflags: tuple[str, ...]             # $CGO_CFLAGS (default -O2 -g)
    cxxflags: tuple[str, ...]
    fflags: tuple[str, ...]
    ldflags: tuple[str, ...]
    overrides: tuple[tuple[str, str], ...]   # CGO_*_ALLOW / _DISALLOW that are set
    goos: str
    goarch: str
    gomips: str
    gomips64: str
    child_env: tuple[tuple[str, str], ...]   # CC, CXX, GOOS, ... as cmd/go's children see them
    cgo_enabled: bool
    hostos: str = ""
    hostarch: str = ""

    @property
    def override_map(self) -> dict[str, str]:
        return dict(self.overrides)


def _read_env_file(path: Path) -> dict[str, str]:
    """cmd/go's readEnvFile: KEY=VALUE lines; others ignored."""
    out: dict[str, str] = {}
    try:
        data = path.read_bytes()
    except OSError:
        return out
    for raw in data.split(b"\n"):
        i = raw.find(b"=")
        if i < 0 or not raw or not (ord("A") <= raw[0] <= ord("Z")):
            continue
        out[raw[:i].decode("utf-8", "surrogateescape")] = raw[i + 1:].decode("utf-8", "surrogateescape")
    return out


def go_getenv(env: Mapping[str, str], goroot: str) -> dict[str, str]:
    """cmd/go's cfg.Getenv table below the environment: the user's go/env file over $GOROOT/go.env."""
    from rungo.toolchain import goenv_file

    table = _read_env_file(Path(goroot) / "go.env") if goroot else {}
    user = goenv_file(env)
    if user is not None:
        table.update(_read_env_file(user))
    return table


def cgo_environment(env: Mapping[str, str], goenv: Mapping[str, str]) -> CgoEnvironment | Unsupported:
    """The C toolchain settings from the process environment and `go env -json` (`goenv`).

    CC, CXX, CGO_*FLAGS and PKG_CONFIG come from `go env`, which resolves them exactly as a build
    does; FC and the CGO_*_ALLOW/_DISALLOW overrides, which `go env -json` does not list, are read
    like cfg.Getenv: the environment, then the go/env file, then $GOROOT/go.env.
    """
    goroot = goenv.get("GOROOT", "")
    table = go_getenv(env, goroot)

    def getenv(key: str) -> str:
        return env.get(key) or table.get(key, "")

    def env_list(key: str, default: str) -> tuple[str, ...] | Unsupported:
        value = goenv.get(key) if key in goenv else getenv(key)
        value = value or default
        fields = quoted_split(value)
        if isinstance(fields, str):
            return Unsupported(f"could not parse environment variable {key} with value {value!r}: {fields}")
        return tuple(fields)

    values: dict[str, tuple[str, ...]] = {}
    for key, default in (("CC", "gcc"), ("CXX", "g++"), ("FC", "gfortran"), ("PKG_CONFIG", "pkg-config"),
                         ("CGO_CPPFLAGS", ""), ("CGO_CFLAGS", DEFAULT_CFLAGS), ("CGO_CXXFLAGS", DEFAULT_CFLAGS),
                         ("CGO_FFLAGS", DEFAULT_CFLAGS), ("CGO_LDFLAGS", DEFAULT_CFLAGS)):
        got = env_list(key, default)
        if isinstance(got, Unsupported):
            return got
        values[key] = got
    for key in ("CC", "CXX", "FC", "PKG_CONFIG"):
        if not values[key]:
            return Unsupported(f"{key} names no program")
    overrides = tuple((k, getenv(k)) for k in OVERRIDE_VARS if getenv(k))
    child = tuple((k, goenv[k]) for k in CHILD_ENV_VARS if goenv.get(k))
    return CgoEnvironment(
        cc=values["CC"], cxx=values["CXX"], fc=values["FC"], fc_setting=getenv("FC"),
        pkg_config=values["PKG_CONFIG"][0],
        cppflags=values["CGO_CPPFLAGS"], cflags=values["CGO_CFLAGS"], cxxflags=values["CGO_CXXFLAGS"],
        fflags=values["CGO_FFLAGS"], ldflags=values["CGO_LDFLAGS"], overrides=overrides,
        goos=goenv.get("GOOS", ""), goarch=goenv.get("GOARCH", ""),
        gomips=goenv.get("GOMIPS", "") or getenv("GOMIPS") or "hardfloat",
        gomips64=goenv.get("GOMIPS64", "") or getenv("GOMIPS64") or "hardfloat",
        child_env=child, cgo_enabled=goenv.get("CGO_ENABLED", "") == "1",
        hostos=goenv.get("GOHOSTOS", ""), hostarch=goenv.get("GOHOSTARCH", ""),
    )


# -- pkg-config -----------------------------------------------------------------------------------

def split_pkg_config_output(out: bytes) -> list[str] | str:
    """cmd/go's splitPkgConfigOutput: POSIX shell word splitting without expansions; the error text on failure."""
    if not out:
        return []
    flags: list[str] = []
    flag = bytearray()
    did_quote = escaped = False
    quote = 0
    for c in out:
        if escaped:
            if quote == ord('"') and c not in b'$`"\\\n':
                flag += b"\\" + bytes([c])
                escaped = False
                continue
            if c != ord("\n"):
                flag.append(c)
            escaped = False
            continue
        if quote and c == quote:
            quote = 0
            continue
        if quote == ord("'"):
            flag.append(c)
            continue
        if quote == ord('"') and c not in b"`$\\":
            flag.append(c)
            continue
        if c in b"|&;<>()$`":
            return f"unexpected shell character {_go_quote_rune(c)} in pkgconf output"
        if c == ord("\\"):
            escaped = True
            continue
        if c in b"\"'":
            quote = c
            did_quote = True
            continue
        if c in b" \t\n":
            if flag or did_quote:
                flags.append(flag.decode("utf-8", "surrogateescape"))
            flag = bytearray()
            did_quote = False
            continue
        flag.append(c)
    if quote:
        return "unterminated quoted string in pkgconf output"
    if escaped:
        return "broken character escaping in pkgconf output"
    if flag or did_quote:
        flags.append(flag.decode("utf-8", "surrogateescape"))
    return flags


def _go_quote_rune(c: int) -> str:
    return "'\\''" if c == ord("'") else f"'{chr(c)}'"


def _trim_space(b: bytes) -> bytes:
    return b.strip(b" \t\n\v\f\r")


@dataclass(frozen=True, slots=True)
class PkgConfigFlags:
    """What `pkg-config --cflags` and `--libs` added."""

    cflags: tuple[str, ...] = ()
    ldflags: tuple[str, ...] = ()


def pkg_config_flags(args: Sequence[str], pkg_dir: Path, cgo_env: CgoEnvironment, rules: SecurityRules,
                     runner: Runner) -> PkgConfigFlags | CgoError | Unsupported:
    """cmd/go's getPkgConfigFlags for the package's `#cgo pkg-config:` arguments.

    Runs `$PKG_CONFIG --cflags <flags> -- <packages>` and `--libs` in the package directory
    through `runner` (so -x shows them and -n only prints them), and checks the output.
    """
    if not args:
        return PkgConfigFlags()
    pcflags = [a for a in args if a != "--" and a.startswith("--")]
    pkgs = [a for a in args if not a.startswith("--")]
    for pkg in pkgs:
        if not safe_arg(pkg):
            return CgoError("action", f"invalid pkg-config package name: {pkg}")
    bad = check_pkg_config_flags(rules, pcflags)
    if isinstance(bad, Unsupported):
        return bad
    if bad is not None:
        return CgoError("action", bad)
    results: list[tuple[str, ...]] = []
    for mode in ("--cflags", "--libs"):
        res = runner.run([cgo_env.pkg_config, mode, *pcflags, "--", *pkgs], cwd=pkg_dir)
        if res.returncode != 0:
            out = res.stdout + res.stderr
            if not out:
                why = "exit status %d" % res.returncode if res.returncode > 0 else "signal: killed"
                if res.returncode == 127:
                    why = res.stderr.decode(errors="replace").strip() or why
                return CgoError("action", why)
            desc = f"{cgo_env.pkg_config} {mode} {' '.join(pcflags)} -- {' '.join(pkgs)}"
            return CgoError("command", out.decode("utf-8", "replace"), desc)
        flags: list[str] = []
        if res.stdout:
            split = split_pkg_config_output(_trim_space(res.stdout))
            if isinstance(split, str):
                return CgoError("action", split)
            flags = split
            if mode == "--cflags":
                bad = check_compiler_flags(rules, "CFLAGS", "pkg-config --cflags", flags, cgo_env.override_map)
            else:
                bad = check_linker_flags(rules, "LDFLAGS", "pkg-config --libs", flags, cgo_env.override_map)
            if isinstance(bad, Unsupported):
                return bad
            if bad is not None:
                return CgoError("action", bad)
        results.append(tuple(flags))
    return PkgConfigFlags(results[0], results[1])


# -- the package's flags --------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class PackageFlags:
    """The flags of one cgo package, as runCgo hands them to cgo and the compilers.

    cppflags: $CGO_CPPFLAGS, #cgo CPPFLAGS, pkg-config --cflags (the objdir's -I is added by the
    step, which knows the directory). cflags/cxxflags/fflags: $CGO_<X>FLAGS then #cgo <X>FLAGS.
    ldflags: $CGO_LDFLAGS, #cgo LDFLAGS, pkg-config --libs, -lobjc / -lgfortran as cmd/go adds
    them. prefer_external_link: cmd/go would add the `preferlinkext` token to the archive.
    """

    cppflags: tuple[str, ...]
    cflags: tuple[str, ...]
    cxxflags: tuple[str, ...]
    fflags: tuple[str, ...]
    ldflags: tuple[str, ...]
    prefer_external_link: bool


def package_flags(directives: CgoDirectives, cgo_env: CgoEnvironment, rules: SecurityRules,
                  pkg_config: PkgConfigFlags, *, has_m_files: bool = False,
                  has_f_files: bool = False) -> PackageFlags | CgoError | Unsupported:
    """cmd/go's CFlags (check each #cgo list, then put the environment's flags first) and runCgo's additions."""
    ov = cgo_env.override_map
    checks = (
        ("CPPFLAGS", directives.cppflags, cgo_env.cppflags, False),
        ("CFLAGS", directives.cflags, cgo_env.cflags, False),
        ("CXXFLAGS", directives.cxxflags, cgo_env.cxxflags, False),
        ("FFLAGS", directives.fflags, cgo_env.fflags, False),
        ("LDFLAGS", directives.ldflags, cgo_env.ldflags, True),
    )
    lists: dict[str, tuple[str, ...]] = {}
    for name, from_pkg, from_env, linker in checks:
        check = check_linker_flags if linker else check_compiler_flags
        bad = check(rules, name, "#cgo " + name, from_pkg, ov)
        if isinstance(bad, Unsupported):
            return bad
        if bad is not None:
            return CgoError("action", bad)
        lists[name] = from_env + from_pkg
    cppflags = lists["CPPFLAGS"] + pkg_config.cflags
    ldflags = lists["LDFLAGS"] + pkg_config.ldflags
    if has_m_files:
        ldflags += ("-lobjc",)
    if has_f_files and "gfortran" in (cgo_env.fc_setting or "gfortran"):
        ldflags += ("-lgfortran",)
    external = prefers_external_link(rules, lists["CFLAGS"], lists["CXXFLAGS"], lists["FFLAGS"], ldflags)
    return PackageFlags(cppflags, lists["CFLAGS"], lists["CXXFLAGS"], lists["FFLAGS"], ldflags, external)


# -- a cgo package: its files, its flags, what it imports ------------------------------------------

@dataclass(frozen=True, slots=True)
class CgoPackage:
    """One package that uses cgo; file lists are base names in the package directory, sorted."""

    import_path: str
    name: str                                 # package clause name (cgo -dynpackage)
    dir: Path
    cgo_files: tuple[str, ...]                # Go files that import "C"
    go_files: tuple[str, ...] = ()            # the other Go files
    c_files: tuple[str, ...] = ()
    cxx_files: tuple[str, ...] = ()           # .cc .cpp .cxx
    m_files: tuple[str, ...] = ()             # Objective-C
    s_files: tuple[str, ...] = ()             # .S .sx (only built in a cgo package)
    f_files: tuple[str, ...] = ()             # .f .F .for .f90
    h_files: tuple[str, ...] = ()             # .h .hh .hpp .hxx (inputs of the key only)
    syso_files: tuple[str, ...] = ()
    standard: bool = False
    trimpath_to: str | None = None            # -trimpath: the package's module dir maps to /_/<this>
    trimpath_from: str | None = None          # ... from this directory (the module root)


def resolve_flags(pkg: CgoPackage, sources: Mapping[str, bytes], ctx: BuildContext, cenv: CgoEnvironment,
                  rules: SecurityRules, runner: Runner) -> PackageFlags | CgoError | Unsupported:
    """The package's flags: #cgo directives (go/build), then pkg-config and the checks (runCgo's order).

    `sources` maps each cgo file's base name to its content.
    """
    files = [(str(pkg.dir / n), sources[n]) for n in sorted(pkg.cgo_files)]
    directives = parse_directives(files, str(pkg.dir), ctx)
    if isinstance(directives, CgoError):
        return directives
    pc = pkg_config_flags(directives.pkg_config, pkg.dir, cenv, rules, runner)
    if not isinstance(pc, PkgConfigFlags):
        return pc
    return package_flags(directives, cenv, rules, pc, has_m_files=bool(pkg.m_files), has_f_files=bool(pkg.f_files))


_CGO_EXCLUDE: Final = frozenset({"runtime/cgo"})
_CGO_SYSCALL_EXCLUDE: Final = frozenset({"runtime/cgo", "runtime/race", "runtime/msan", "runtime/asan"})


def implicit_imports(import_path: str, standard: bool) -> tuple[str, ...]:
    """What load.PackagesAndErrors adds to a cgo package's imports (gc toolchain), in its order."""
    out = ["unsafe"]
    if not standard or import_path not in _CGO_EXCLUDE:
        out.append("runtime/cgo")
    if not standard or import_path not in _CGO_SYSCALL_EXCLUDE:
        out.append("syscall")
    return tuple(out)


def extld_flag(cenv: CgoEnvironment, uses_cxx: bool) -> str | Unsupported:
    """cmd/go's setextld: `-extld=` + CXX when any linked package has C++ files, else CC (quoted.Join)."""
    joined = quoted_join(cenv.cxx if uses_cxx else cenv.cc)
    if joined is None:
        return Unsupported("CC/CXX has an argument with both quote characters")
    return "-extld=" + joined
