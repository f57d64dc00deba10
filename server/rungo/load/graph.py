"""The packages outside the main module(s) as rungo compiles them itself.

go list's description of the standard library and the required modules (rungo.load.external, a
snapshot without export data) becomes LocalPackage values, in dependency order, that the plan
compiles with the flags cmd/go gives them (rungo.work.plan.graph_step). What rungo does not
compile itself yet is a reason, and the caller builds those packages with the go command instead.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping

from rungo.load.embed import resolve
from rungo.load.model import EmbedFile, ExternalPackage, LocalPackage, SourceFile
from rungo.syntax import FileSummary


# Standard packages cmd/go compiles without -complete although they may have only Go files:
# package runtime supplies some of their functions' bodies (cmd/go/internal/work/gc.go).
INCOMPLETE_STD = frozenset({"bytes", "internal/poll", "net", "os", "runtime/metrics", "runtime/pprof",
                            "runtime/trace", "sync", "syscall", "time"})


@dataclass(frozen=True, slots=True)
class NotInGraph:
    """Why the external packages are not compiled by rungo: the go command builds them."""

    reason: str


def dependency_order(roots: Iterable[str], external: Mapping[str, ExternalPackage]) -> list[str]:
    """Every external package reachable from roots, each after the packages it needs (its imports,
    and the implicit imports of a cgo package, which go list's Deps hold)."""
    order: list[str] = []
    done: set[str] = set()
    edges: dict[str, list[str]] = {}

    def needs(path: str) -> list[str]:
        got = edges.get(path)
        if got is None:
            ep = external[path]
            deps = set(ep.deps)
            got = sorted(i for i in {*ep.imports, *(i for i in _IMPLICIT if i in deps)}
                         if i in external and i not in ("unsafe", "C"))
            edges[path] = got
        return got

    for root in sorted(set(roots)):
        if root in done or root not in external or root in ("unsafe", "C"):
            continue
        stack: list[tuple[str, int]] = [(root, 0)]
        on_path = {root}
        while stack:
            path, i = stack[-1]
            nxt = needs(path)
            while i < len(nxt) and (nxt[i] in done or nxt[i] in on_path):
                i += 1
            if i < len(nxt):
                stack[-1] = (path, i + 1)
                stack.append((nxt[i], 0))
                on_path.add(nxt[i])
                continue
            stack.pop()
            on_path.discard(path)
            done.add(path)
            order.append(path)
    return order


# What the go command adds to a cgo package's imports (rungo.load.cgoflags.implicit_imports).
_IMPLICIT = ("runtime/cgo", "syscall")


def _summary(name: str, imports_c: bool) -> FileSummary:
    """What the build stage reads of an external file: its package name and whether it uses cgo
    (go list checked the rest)."""
    return FileSummary(package=name, package_position=None, imports=(), imports_c=imports_c, embeds=(),
                       go_debug=(), main_func=None, syntax_errors=())


def _digest(path: Path) -> bytes:
    return hashlib.sha256(path.read_bytes()).digest()


def graph_package(ep: ExternalPackage) -> LocalPackage | NotInGraph:
    """One external package as a LocalPackage of the build (its files read and hashed)."""
    src = ep.sources
    if ep.error:
        return NotInGraph(f"package {ep.import_path}: {ep.error}")
    if src is None:
        return NotInGraph(f"package {ep.import_path} has no description of its files")
    swig = [f for f in src.foreign if f.endswith((".swig", ".swigcxx"))]
    if swig:
        return NotInGraph(f"package {ep.import_path} uses SWIG")
    if src.foreign and not src.cgo_files:
        return NotInGraph(f"package {ep.import_path} has non-Go files ({', '.join(src.foreign)})")
    d = Path(ep.dir)
    cgo = set(src.cgo_files)
    try:
        known = src.digests if len(src.digests) == len(ep.files) else None
        files = tuple(SourceFile(d / n, bytes.fromhex(known[i]) if known else _digest(d / n), _summary(ep.name, n in cgo))
                      for i, n in enumerate(ep.files))
        patterns: list[tuple[str, tuple[str, ...]]] = []
        embeds: dict[str, EmbedFile] = {}
        for pattern in src.embed_patterns:
            matched, err = resolve(d, pattern)
            if err is not None:
                return NotInGraph(f"package {ep.import_path}: {err}")
            patterns.append((pattern, matched))
            for rel in matched:
                if rel not in embeds:
                    embeds[rel] = EmbedFile(rel, d / rel, _digest(d / rel))
    except OSError as e:
        return NotInGraph(f"package {ep.import_path}: {e.strerror or e}")
    return LocalPackage(
        import_path=ep.import_path,
        name=ep.name,
        dir=d,
        files=files,
        excluded=(),
        other_files=tuple(d / n for n in (*src.asm, *src.headers, *src.syso, *src.foreign)),
        imports=tuple(sorted(i for i in ep.imports if i not in ("C", "unsafe"))),
        embed_patterns=tuple(patterns),
        embed_files=tuple(embeds[k] for k in sorted(embeds)),
        go_debug=(),
        module=None,
        cmdline=False,
        uses_cgo=bool(src.cgo_files),
        origin=ep,
    )


def graph_packages(roots: Iterable[str], external: Mapping[str, ExternalPackage]
                   ) -> tuple[LocalPackage, ...] | NotInGraph:
    """Every external package the roots need, in dependency order, or why rungo does not compile
    them itself."""
    out: list[LocalPackage] = []
    for path in dependency_order(roots, external):
        got = graph_package(external[path])
        if isinstance(got, NotInGraph):
            return got
        out.append(got)
    return tuple(out)
