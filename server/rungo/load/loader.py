"""Loading a run target natively: the main module, its packages under build constraints, and their imports."""

from __future__ import annotations

import os
import posixpath
import stat as statmod
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Mapping

from rungo.load import embed as embedmod
from rungo.load.constraints import BuildContext, file_included, good_os_arch_file, should_build
from rungo.load.filechecks import header_utf8_error, invalid_import, invalid_imports, irregular_file
from rungo.quoting import quote as go_quote
from rungo.load.model import (
    Anchor,
    EmbedFile,
    LoadError,
    LocalPackage,
    Module,
    RelPath,
    SourceFile,
    Watched,
)
from rungo.load.modfile import format_errors, lang_version, parse_mod
from rungo.load.stamps import package_dir_stamp, read_digest, watched
from rungo.syntax import FileSummary, GoDebugDirective, summarize

if TYPE_CHECKING:
    from rungo.load.summaries import SummaryCache

CMDLINE_PATH = "command-line-arguments"

# File kinds go/build sorts into a package besides .go files; rungo does not build them natively yet.
_OTHER_EXTS = {
    ".s", ".S", ".sx", ".c", ".cc", ".cpp", ".cxx", ".h", ".hh", ".hpp", ".hxx",
    ".m", ".f", ".F", ".for", ".f90", ".swig", ".swigcxx", ".syso",
}


class LoadFailure(Exception):
    """A load problem that stops the run; its text is exactly what to print."""


class NotNative(LoadFailure):
    """Something the native loader does not handle (the go command builds it instead)."""


@dataclass(frozen=True, slots=True)
class Target:
    """What the command line asked to run."""

    files: tuple[str, ...]
    package: str | None


def _strerror(e: OSError) -> str:
    """An OS error's text as the go command prints it ("permission denied")."""
    text = e.strerror or str(e)
    return text[:1].lower() + text[1:]


def find_module_root(start: Path) -> Path | None:
    d = start
    while True:
        if (d / "go.mod").is_file():
            return d
        if d.parent == d:
            return None
        d = d.parent


def find_go_work(start: Path) -> Path | None:
    d = start
    while True:
        if (d / "go.work").is_file():
            return d / "go.work"
        if d.parent == d:
            return None
        d = d.parent


_ALT_CONFIGS = (
    "Gopkg.lock", "GLOCKFILE", "Godeps/Godeps.json", "dependencies.tsv", "glide.lock",
    "vendor.conf", "vendor.yml", "vendor/manifest", "vendor/vendor.json", ".git/config",
)


def no_module_message(cwd: Path) -> str:
    """go's message when there is no go.mod: it points at a likely module root when it sees one."""
    d = cwd
    while True:
        for name in _ALT_CONFIGS:
            if (d / name).is_file():
                hint = "go mod init" if d == cwd else f"cd {os.path.relpath(d, cwd)} && go mod init"
                return (f"go: cannot find main module, but found {name} in {d}\n"
                        f"\tto create a module there, run:\n\t{hint}")
        if d.parent == d:
            break
        d = d.parent
    return "go: go.mod file not found in current directory or any parent directory; see 'go help modules'"


class Loader:
    """Loads the packages of one run. Watches every file it reads so results can be remembered."""

    def __init__(
        self,
        cwd: Path,
        ctx: BuildContext,
        toolchain_minor: int,
        env: Mapping[str, str],
        modfile: str | None = None,
        overlays: Mapping[Path, bytes] | None = None,
        hidden: Iterable[Path] = (),
        summary_cache: SummaryCache | None = None,
        tolerant: bool = False,
    ) -> None:
        self.cwd = cwd
        # A check's load: a file whose import paths the go command rejects stays in its package
        # (without them), so the compiler still reports the rest of the package.
        self.tolerant = tolerant
        self.ctx = ctx
        self.toolchain_minor = toolchain_minor
        self.env = env
        self.modfile = modfile
        self.overlays = dict(overlays or {})
        self.hidden = frozenset(hidden)          # files an -overlay deletes
        self.rel = RelPath(cwd)
        self.watch: dict[str, Watched] = {}
        self._summaries: dict[bytes, FileSummary] = {}
        self._summary_cache = summary_cache

    # -- files -------------------------------------------------------------------

    def _watch(self, p: Path) -> None:
        key = str(p)
        if key not in self.watch:
            self.watch[key] = watched(p)

    def _watch_strictly(self, d: Path) -> None:
        """Watches a directory an embed pattern reads: any name coming or going there counts (a
        package directory is otherwise watched only for names that can change a build)."""
        self.watch[str(d)] = watched(d)

    def watch_file(self, p: Path) -> None:
        """Adds a file that decides this load (an -overlay file) to what is watched."""
        self._watch(p)

    def read(self, p: Path) -> tuple[bytes, bytes]:
        if p in self.hidden:
            raise FileNotFoundError(2, "no such file or directory", str(p))
        if p in self.overlays:
            import hashlib

            data = self.overlays[p]
            return data, hashlib.sha256(data).digest()
        self._watch(p)
        data, digest = read_digest(p)
        w = self.watch[str(p)]
        if not w.digest:
            self.watch[str(p)] = Watched(w.path, w.stamp, digest.hex())
        return data, digest

    def summary(self, data: bytes, digest: bytes) -> FileSummary:
        s = self._summaries.get(digest)
        if s is None and self._summary_cache is not None:
            s = self._summary_cache.get(digest)
        if s is None:
            s = summarize(data)
            if self._summary_cache is not None:
                self._summary_cache.put(digest, s)
        self._summaries[digest] = s
        return s

    def listdir(self, d: Path) -> list[str]:
        key = str(d)
        if key not in self.watch:
            self.watch[key] = Watched(key, package_dir_stamp(d))
        names = set(os.listdir(d)) if d.is_dir() else set()
        for p in self.hidden:
            if p.parent == d:
                names.discard(p.name)
        for p in self.overlays:
            if p.parent == d:
                names.add(p.name)
        return sorted(names)

    # -- modules -----------------------------------------------------------------

    def main_module(self) -> Module | None:
        root = find_module_root(self.cwd)
        # Remember the absence of go.mod up to the module root and of go.work up to the file system
        # root (the go command looks for go.work above the module too), so creating one invalidates
        # a remembered load.
        d = self.cwd
        below_root = True
        while True:
            self._watch(d / "go.work")
            if root is not None and d == root:
                below_root = False
            if below_root:
                self._watch(d / "go.mod")
            if d.parent == d:
                break
            d = d.parent
        if self.env.get("GOWORK", "") not in ("", "off"):
            self._watch(Path(self.env["GOWORK"]))
        if self.env.get("GOWORK", "") != "off":
            gowork = Path(self.env["GOWORK"]) if self.env.get("GOWORK") else find_go_work(self.cwd)
            if gowork is not None:
                raise NotNative(f"the go.work workspace {gowork}")
        if self.env.get("GO111MODULE", "") == "off":
            raise NotNative("GOPATH mode (GO111MODULE=off)")
        if root is None:
            return None
        gomod = root / "go.mod"
        modpath = Path(self.modfile) if self.modfile else gomod
        if self.modfile and not modpath.is_absolute():
            modpath = self.cwd / modpath
        try:
            data, digest = self.read(modpath)
        except OSError as e:
            raise LoadFailure(f"go: reading {modpath}: {e.strerror}") from None
        mf = parse_mod(data, str(modpath))
        if mf.errors:
            raise LoadFailure("go: errors parsing " + self.rel(modpath) + ":\n"
                              + format_errors(self.rel(modpath), mf.errors))
        if not mf.module:
            raise LoadFailure(f"go: error reading {self.rel(modpath)}: missing module declaration. To specify the module path:\n\tgo mod edit -module=example/mod")
        for name in ("go.sum",):
            self._watch(root / name)
        self._watch(root / "vendor" / "modules.txt")
        return Module(
            path=mf.module,
            dir=root,
            gomod=modpath,
            go_version=mf.go or "1.16",
            godebug=tuple(mf.godebug),
            gomod_digest=digest,
        )

    # -- packages ----------------------------------------------------------------

    def _classify(self, d: Path, names: Iterable[str], named: bool) -> tuple[list[SourceFile], list[Path], list[Path], list[LoadError]]:
        files: list[SourceFile] = []
        excluded: list[Path] = []
        other: list[Path] = []
        errors: list[LoadError] = []
        for name in names:
            p = d / name
            if name.startswith((".", "_")) and not named:
                continue
            ext = os.path.splitext(name)[1]
            if ext == ".go":
                if not named and p in self.hidden:
                    continue
                if p not in self.overlays:
                    try:
                        st = os.stat(p)
                    except FileNotFoundError:
                        if named:
                            errors.append(LoadError(f"open {p}: no such file or directory"))
                        continue
                    except OSError as e:
                        errors.append(LoadError(f"open {p}: {_strerror(e)}"))
                        continue
                    if statmod.S_ISDIR(st.st_mode) and not named:
                        continue
                    if not statmod.S_ISREG(st.st_mode):
                        errors.append(LoadError(irregular_file(p, st)))
                        continue
                try:
                    data, digest = self.read(p)
                except OSError as e:
                    errors.append(LoadError(f"open {p}: {_strerror(e)}"))
                    continue
                if not named:
                    if name.endswith("_test.go"):
                        excluded.append(p)
                        continue
                    if not good_os_arch_file(name, self.ctx):
                        excluded.append(p)
                        continue
                    ok, why = should_build(data, self.ctx)
                    if why is not None and why.startswith("parsing //go:build line"):
                        errors.append(LoadError(f"{name}: {why}",
                                                anchor=Anchor(p, _go_build_line(data), 1, why)))
                        continue
                    if not ok:
                        excluded.append(p)
                        continue
                bad = header_utf8_error(data)
                if bad is not None:
                    errors.append(LoadError(f"{self.rel(p)}:{bad[0]}:{bad[1]}: illegal UTF-8 encoding"))
                    continue
                summ = self.summary(data, digest)
                if self.tolerant:
                    errors.extend(LoadError(f"{p}:{line}:{col}: {msg}", anchor=Anchor(p, line, col, msg))
                                  for line, col, msg in invalid_imports(data, summ))
                else:
                    bad_import = invalid_import(p, data, summ)
                    if bad_import is not None:
                        errors.append(LoadError(bad_import))
                        continue
                if summ.imports_c and not self.ctx.cgo_enabled and not named:
                    excluded.append(p)
                    continue
                files.append(SourceFile(p, digest, summ))
            elif ext in _OTHER_EXTS and not named:
                try:
                    data = p.read_bytes() if ext != ".syso" else b""
                except OSError:
                    continue
                self._watch(p)
                if file_included(name, data, self.ctx):
                    other.append(p)
        return files, excluded, other, errors

    def load_dir(self, d: Path, import_path: str, module: Module | None, cmdline: bool,
                 names: list[str] | None = None) -> LocalPackage:
        named = names is not None
        if names is None:
            try:
                names = self.listdir(d)
            except FileNotFoundError:
                raise LoadFailure(f"stat {d}: directory not found") from None
            except OSError as e:
                return LocalPackage(import_path, "", d, (), (), (), (), (), (), (), module, cmdline,
                                    (LoadError(f"open {d}: {_strerror(e)}"),))
        files, excluded, other, errors = self._classify(d, names, named)
        if not files and errors:
            return LocalPackage(import_path, "", d, (), tuple(excluded), tuple(other), (), (), (), (),
                                module, cmdline, tuple(errors[:1]))
        if not files:
            if not excluded and not other:
                msg = f"no Go files in {d}"
            else:
                msg = f"package {import_path}: build constraints exclude all Go files in {d}"
            return LocalPackage(import_path, "", d, (), tuple(excluded), tuple(other), (), (), (), (),
                                module, cmdline, (LoadError(msg),))
        pkgname = ""
        first = ""
        for f in files:
            name = f.summary.package
            if not name:
                if f.summary.syntax_errors:
                    se = f.summary.syntax_errors[0]
                    errors.append(LoadError(se.message, f.path, se.position.line, se.position.column))
                else:
                    errors.append(LoadError("expected 'package', found 'EOF'", f.path, 1, 1))
                continue
            if not pkgname:
                pkgname, first = name, f.name
            elif name != pkgname:
                errors.append(LoadError(
                    f"found packages {pkgname} ({first}) and {name} ({f.name}) in {d}"))
                break
        imports: set[str] = set()
        uses_cgo = False
        go_debug: list[GoDebugDirective] = []
        for f in files:
            for spec in f.summary.imports:
                if spec.path == "C":
                    uses_cgo = True
                    continue
                imports.add(spec.path)
            go_debug.extend(f.summary.go_debug)
        patterns: list[tuple[str, tuple[str, ...]]] = []
        efiles: dict[str, EmbedFile] = {}
        for f in files:
            for ed in f.summary.embeds:
                for pat in ed.patterns:
                    if any(p == pat for p, _ in patterns):
                        continue
                    listed: list[Path] = []
                    matched, err = embedmod.resolve(d, pat, listed)
                    for ld in listed:
                        self._watch_strictly(ld)
                    if err:
                        errors.append(LoadError(err, f.path, ed.position.line, ed.position.column + len("//go:embed ")))
                        continue
                    patterns.append((pat, matched))
                    for rel in matched:
                        if rel not in efiles:
                            ep = d / rel
                            try:
                                _, digest = self.read(ep)
                            except OSError as e:
                                errors.append(LoadError(f"pattern {pat}: {e.strerror}", f.path, ed.position.line))
                                continue
                            efiles[rel] = EmbedFile(rel, ep, digest)
                            self._watch_strictly(ep.parent)
        if not errors or self.tolerant:
            problem, named_file = input_problem(d, import_path, [*(f.name for f in files), *(p.name for p in excluded),
                                                                 *(p.name for p in other)])
            if problem and (not errors or self.tolerant):
                pos = next((f.summary.package_position for f in files if f.name == named_file), None)
                at = Anchor(d / named_file, pos.line, pos.column, problem) if pos is not None else None
                errors.append(LoadError(f"package {import_path}: {problem}", anchor=at))
        return LocalPackage(
            import_path=import_path,
            name=pkgname,
            dir=d,
            files=tuple(files),
            excluded=tuple(excluded),
            other_files=tuple(other),
            imports=tuple(sorted(imports)),
            embed_patterns=tuple(patterns),
            embed_files=tuple(efiles[k] for k in sorted(efiles)),
            go_debug=tuple(go_debug),
            module=module,
            cmdline=cmdline,
            errors=tuple(errors),
            uses_cgo=uses_cgo,
        )

    # -- the target ----------------------------------------------------------------

    def resolve_target(self, target: Target, module: Module | None) -> LocalPackage:
        if target.files:
            return self._files_target(target.files, module)
        pkg = clean_pattern(target.package or ".")
        if "@" in pkg:
            raise NotNative(f"a package at a version ({pkg})")
        if pkg.startswith(("./", "../", "/")) or pkg in (".", ".."):
            d = Path(os.path.normpath(self.cwd / pkg))     # filepath.Abs: lexical, symlinks kept
            if "..." in pkg:
                return self._pattern_target(pkg, module)
            if module is None:
                raise LoadFailure(no_module_message(self.cwd))
            if not d.is_dir():
                raise LoadFailure(f"stat {d}: directory not found")
            try:
                rel = d.relative_to(module.dir)
            except ValueError:
                raise LoadFailure(f"directory {self.rel(d)} outside main module or its selected dependencies") from None
            ip = module.path if str(rel) == "." else f"{module.path}/{rel.as_posix()}"
            return self.load_dir(d, ip, module, True)
        if "..." in pkg:
            return self._pattern_target(pkg, module)
        local = self.local_dir(pkg, module) if module is not None else None
        if local is not None:
            if not local.is_dir():
                raise LoadFailure(f"no required module provides package {pkg}; to add it:\n\tgo get {pkg}")
            return self.load_dir(local, pkg, module, True)
        # The standard library's commands, other modules' packages, and whatever is malformed: the
        # go command resolves them (and words their errors).
        raise NotNative(f"a package outside the main module ({pkg})")

    def local_dir(self, import_path: str, module: Module) -> Path | None:
        if import_path == module.path:
            return module.dir
        if import_path.startswith(module.path + "/"):
            return module.dir / import_path[len(module.path) + 1:]
        return None

    def _files_target(self, files: tuple[str, ...], module: Module | None) -> LocalPackage:
        for f in files:
            if f.endswith("_test.go"):
                raise LoadFailure(f"go: cannot run *_test.go files ({f})")
        first_dir: str | None = None
        names: list[str] = []
        for f in files:
            p = self.cwd / f
            if not p.exists() and p.resolve() not in self.overlays:
                raise LoadFailure(f"stat {f}: no such file or directory")
            if p.is_dir():
                raise LoadFailure(f"{f} is a directory, should be a Go file")
            dname = os.path.normpath(os.path.dirname(f) or ".")
            if first_dir is None:
                first_dir = dname
            elif dname != first_dir:
                raise LoadFailure(f"named files must all be in one directory; have {first_dir} and {dname}")
            names.append(os.path.basename(f))
        assert first_dir is not None
        # The directory as named (made absolute, symlinks kept), as the go command takes it.
        d = Path(os.path.normpath(self.cwd / first_dir))
        if module is not None and not (d.is_relative_to(module.dir) or d.resolve().is_relative_to(module.dir)):
            module = None
        return self.load_dir(d, CMDLINE_PATH, module, True, names=names)

    def _pattern_target(self, pattern: str, module: Module | None) -> LocalPackage:
        if module is None:
            raise LoadFailure(no_module_message(self.cwd))
        if pattern.startswith((".", "/")):
            prefix = pattern.split("...", 1)[0]
            root = Path(os.path.normpath(self.cwd / prefix)) if prefix not in ("", "./") else self.cwd
            if prefix.endswith("/") or prefix in (".", "./"):
                base = self.cwd / prefix
                if not base.exists():
                    raise LoadFailure(f"pattern {pattern}: lstat {prefix}: no such file or directory")
            dirs = self._walk(root if root.is_dir() else root.parent, module)
            matched: list[tuple[Path, str]] = []
            import fnmatch as _fn
            for d in dirs:
                rel = d.relative_to(module.dir)
                ip = module.path if str(rel) == "." else f"{module.path}/{rel.as_posix()}"
                dstr = str(d)
                pstr = str(self.cwd / pattern.replace("...", "\x00"))
                pstr = os.path.normpath(pstr).replace("\x00", "*")
                if _fn.fnmatchcase(dstr, pstr) or (pstr.endswith("/*") and dstr == pstr[:-2]):
                    matched.append((d, ip))
        else:
            import fnmatch as _fn
            dirs = self._walk(module.dir, module)
            matched = []
            for d in dirs:
                rel = d.relative_to(module.dir)
                ip = module.path if str(rel) == "." else f"{module.path}/{rel.as_posix()}"
                pat = pattern.replace("...", "*")
                if _fn.fnmatchcase(ip, pat) or (pat.endswith("/*") and ip == pat[:-2]):
                    matched.append((d, ip))
        found = []
        for d, ip in matched:
            p = self.load_dir(d, ip, module, True)
            if p.files or (p.errors and "build constraints" not in p.errors[0].message and "no Go files" not in p.errors[0].message):
                found.append(p)
        if not found:
            raise LoadFailure(f'go: warning: "{pattern}" matched no packages\ngo: no packages loaded from {pattern}')
        # As `go run` loads with MainOnly: a wildcard keeps its main packages (and broken ones).
        pkgs = [p for p in found if p.name == "main" or p.errors]
        if not pkgs:
            raise LoadFailure(f'go: warning: "{pattern}" matched only non-main packages\n'
                              f"go: no packages loaded from {pattern}")
        if len(pkgs) > 1:
            lines = "".join(f"\n\t{p.import_path}" for p in pkgs)
            raise LoadFailure(f"go: pattern {pattern} matches multiple packages:{lines}")
        return pkgs[0]

    def _walk(self, root: Path, module: Module) -> list[Path]:
        out: list[Path] = []
        for dirpath, dirnames, filenames in os.walk(root):
            dp = Path(dirpath)
            self._watch_strictly(dp)       # a directory appearing below changes what a wildcard matches
            keep = []
            for dn in sorted(dirnames):
                if dn.startswith((".", "_")) or dn in ("testdata", "vendor"):
                    continue
                if (dp / dn / "go.mod").is_file():
                    continue
                keep.append(dn)
            dirnames[:] = keep
            if any(f.endswith(".go") for f in filenames):
                out.append(dp)
        return sorted(out)

    # -- the package graph -----------------------------------------------------------

    def load_graph(self, main: LocalPackage, module: Module | None,
                   broken: dict[str, set[str]] | None = None,
                   importers: dict[str, LocalPackage] | None = None) -> tuple[list[LocalPackage], set[str], list[LoadError]]:
        """Every main-module package the target needs (dependency order) and the external imports.
        `broken`, when given, gets for each package the imports its load errors are about;
        `importers` the package through which each dependency was first reached."""
        order: list[LocalPackage] = []
        external: set[str] = set()
        errors: list[LoadError] = []
        state: dict[str, int] = {}
        loaded: dict[str, LocalPackage] = {main.import_path: main}

        def fail(pkg: LocalPackage, imp: str, error: LoadError) -> None:
            errors.append(error)
            if broken is not None:
                broken.setdefault(pkg.import_path, set()).add(imp)

        def visit(pkg: LocalPackage, stack: list[str]) -> None:
            state[pkg.import_path] = 1
            for imp in pkg.imports:
                if imp in (".", "..") or imp.startswith(("./", "../")):
                    f, line, col = import_position(pkg, imp)
                    fail(pkg, imp, LoadError(f'"{imp}" is relative, but relative import paths are not supported '
                                             "in module mode", f, line, col, package=pkg.import_path))
                    continue
                if not internal_ok(pkg.import_path, imp):
                    f, line, col = import_position(pkg, imp)
                    fail(pkg, imp, LoadError(f"use of internal package {imp} not allowed", f, line, col,
                                             package=pkg.import_path))
                    continue
                d = self.local_dir(imp, module) if module is not None else None
                if d is None:
                    external.add(imp)
                    continue
                if state.get(imp) == 1:
                    # go prints the whole import stack from the main package, each step with the
                    # file that has the import.
                    chain = stack + [pkg.import_path, imp]
                    lines = ["package " + chain[0]]
                    for i in range(1, len(chain)):
                        importer = loaded.get(chain[i - 1])
                        where = import_position(importer, chain[i])[0] if importer is not None else None
                        lines.append(f"\timports {chain[i]}" + (f" from {where.name}" if where else ""))
                    text = "\n".join(lines) + ": import cycle not allowed"
                    # An editor shows it at the import that leads the package into the cycle.
                    f, line, col = import_position(main, chain[1])
                    fail(pkg, imp, LoadError(text, anchor=Anchor(f, line, col, text) if f is not None else None))
                    continue
                if state.get(imp) == 2:
                    continue
                dep = loaded.get(imp)
                if dep is None:
                    if not d.is_dir():
                        f, line, col = import_position(pkg, imp)
                        assert module is not None
                        fail(pkg, imp, LoadError(
                            f"no required module provides package {imp}; to add it:\n\tgo get {imp}", f, line, col))
                        continue
                    dep = self.load_dir(d, imp, module, False)
                    loaded[imp] = dep
                    if importers is not None:
                        importers[imp] = pkg
                if dep.errors and not dep.files:
                    f, line, col = import_position(pkg, imp)
                    for e in dep.errors:
                        fail(pkg, imp, LoadError(e.message, f, line, col))
                    continue
                if dep.name == "main":
                    f, line, col = import_position(pkg, imp)
                    fail(pkg, imp, LoadError(f"import \"{imp}\" is a program, not an importable package", f, line, col))
                    continue
                visit(dep, stack + [pkg.import_path])
            state[pkg.import_path] = 2
            order.append(pkg)

        def internal_ok(importer: str, imported: str) -> bool:
            parts = imported.split("/")
            for i, part in enumerate(parts):
                if part != "internal":
                    continue
                parent = "/".join(parts[:i])
                if parent == "":
                    return False  # std internal packages, from user code
                if importer == parent or importer.startswith(parent + "/"):
                    continue
                if importer == CMDLINE_PATH and module is not None and parent == module.path:
                    continue
                return False
            return True

        visit(main, [])
        return order, external, errors


def _safe_arg(name: str) -> bool:
    """cmd/go's SafeArg: a name that cannot turn into a flag of the tools it is passed to."""
    if not name:
        return False
    c = name[0]
    return c.isascii() and (c.isalnum() or c in "._/") or not c.isascii()


def input_problem(d: Path, import_path: str, names: Iterable[str]) -> tuple[str, str]:
    """The go command's checks of a package's inputs before it builds anything ("" when they pass):
    no two file names equal but for case, no file name that could pass for a flag (or be cgo's own),
    no import path whose last element could, no directory with a line break in its name. Second,
    the file the problem names ("" for none)."""
    seen: dict[str, str] = {}
    listed = list(names)
    for name in listed:
        fold = name.casefold()
        other = seen.get(fold)
        if other is not None:
            a, b = sorted((name, other))
            return f"case-insensitive file name collision: {go_quote(a)} and {go_quote(b)}", name
        seen[fold] = name
    for name in listed:
        if not _safe_arg(name) or name.startswith("_cgo_"):
            return f"invalid input file name {go_quote(name)}", name
    base = import_path.rsplit("/", 1)[-1]
    if not _safe_arg(base):
        return f"invalid input directory name {go_quote(base)}", ""
    if "\r" in str(d) or "\n" in str(d):
        return f"invalid package directory {go_quote(str(d))}", ""
    return "", ""


def _go_build_line(data: bytes) -> int:
    """The line of a file's //go:build comment (1 when there is none)."""
    for i, line in enumerate(data.split(b"\n")):
        if line.strip().startswith(b"//go:build"):
            return i + 1
    return 1


def import_position(pkg: LocalPackage, path: str) -> tuple[Path | None, int, int]:
    """Where a package imports `path`: the file and the import spec's line and column."""
    for f in pkg.files:
        for spec in f.summary.imports:
            if spec.path == path:
                return f.path, spec.spec_position.line, spec.spec_position.column
    return None, 0, 0


def clean_pattern(p: str) -> str:
    """The canonical form of a package argument, as the go command's search.CleanPatterns gives it."""
    local = p in (".", "..") or p.startswith(("./", "../"))
    version = ""
    if not local and not os.path.isabs(p) and "@" in p:
        p, version = p[:p.index("@")], p[p.index("@"):]
    if os.path.isabs(p):
        return os.path.normpath(p) + version
    if p.startswith("./"):
        cleaned = "./" + posixpath.normpath(p)
        return ("." if cleaned == "./." else cleaned) + version
    return posixpath.normpath(p) + version


def lang_for(module: Module | None, toolchain_minor: int) -> str:
    if module is None:
        return f"go1.{toolchain_minor}"
    return lang_version(module.go_version)
