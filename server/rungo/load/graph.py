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


@dataclass(frozen=True, slots=True)
class NotInGraph:
    """Why the external packages are not compiled by rungo: the go command builds them."""

    reason: str


def dependency_order(roots: Iterable[str], external: Mapping[str, ExternalPackage]) -> list[str]:
    """Every external package reachable from roots, each after the packages it imports."""
    order: list[str] = []
    state: dict[str, int] = {}            # 1: on the path, 2: done
    for root in sorted(set(roots)):
        stack: list[tuple[str, int]] = [(root, 0)]
        while stack:
            path, i = stack.pop()
            ep = external.get(path)
            if ep is None or path == "unsafe" or path == "C" or (i == 0 and state.get(path)):
                continue
            edges = sorted(set(ep.imports) | set(ep.deps))
            if i == 0:
                state[path] = 1
            if i < len(edges):
                stack.append((path, i + 1))
                nxt = edges[i]
                if not state.get(nxt):
                    stack.append((nxt, 0))
                continue
            state[path] = 2
            order.append(path)
    return order


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
        files = tuple(SourceFile(d / n, _digest(d / n), _summary(ep.name, n in cgo)) for n in ep.files)
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
