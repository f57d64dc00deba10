"""The `#cgo` lines of a package's preambles, as go/build's saveCgo reads them: build constraints,
go/build's quoting, ${SRCDIR}, safe names, relative -I/-L made absolute.

`CgoError` is a cgo build failure in go's words, for this stage and the later ones (`cgoflags`,
`work.cgo`).
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from typing import Final, Literal, Sequence

from rungo.load.constraints import BuildContext, ConstraintSyntaxError, parse_expr, parse_plus_build_expr
from rungo.quoting import GO_SPACES, fields, split_quoted
from rungo.syntax.preamble import cgo_preambles


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
                line = orig.strip(GO_SPACES)
                if len(line) < 5 or line[:4] != "#cgo" or line[4] not in " \t":
                    continue
                f = fields(line)
                if len(f) == 3 and f[1] in ("nocallback", "noescape"):
                    continue
                head, sep, argstr = line[4:].strip(GO_SPACES).partition(":")
                if not sep:
                    return CgoError("load", f"{filename}: invalid #cgo line: {orig}")
                words = fields(head)
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
