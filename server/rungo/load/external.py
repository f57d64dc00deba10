"""Packages outside the main module: one `go list -e -export -deps -json` call, remembered while its inputs hold.

Without `build`, go list is not asked to build them: a remembered snapshot with export data is used when
it still holds, and otherwise `go list -e -deps -json` describes them (their files, no export data).
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

from rungo.cache import Cache, CacheWriteError
from rungo.keys import golist_snapshot_key
from rungo.load.golist import json_stream, under
from rungo.load.model import ExternalPackage, ExternalSources, Watched
from rungo.load.stamps import stamp, still_valid
from rungo.process import Runner

_FIELDS = ("ImportPath,Name,Export,Standard,Imports,ImportMap,Deps,Dir,GoFiles,CgoFiles,SFiles,HFiles,SysoFiles,"
           "CFiles,CXXFiles,MFiles,FFiles,SwigFiles,SwigCXXFiles,EmbedPatterns,EmbedFiles,Module,Error,DepsErrors,"
           "Incomplete")
_FORMAT = "rungo-golist-v7"
_UNBUILT = "-unbuilt"      # the format of a snapshot without export data


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The external packages of one build configuration and the files that must not change under it."""

    packages: Mapping[str, ExternalPackage]
    watched: tuple[Watched, ...]
    built: bool = True        # the packages' export data are there (go list -export)


class ExternalLoadError(Exception):
    """`go list` itself failed (not a package error): its message, ready to print."""


def _writable(directory: str) -> bool:
    """Whether a directory in the module cache can be written, so its files may change in place
    (-modcacherw, or made writable by hand); the go command makes it read-only otherwise."""
    try:
        return bool(os.stat(directory).st_mode & 0o222)
    except OSError:
        return True


def _pkg_from_json(d: Mapping[str, Any], read_only_roots: Sequence[str]) -> ExternalPackage:
    """One package of go list's output. Its directory is watched, and its files unless it is a
    standard package or sits in a read-only module-cache directory (to keep the rerun shortcut
    cheap: the toolchain's own binaries are watched too)."""
    mod = d.get("Module") or {}
    rep = mod.get("Replace") or {}
    err = d.get("Error") or None
    err_text = None
    if err:
        err_text = str(err.get("Err", ""))
        pos = err.get("Pos") or ""
        if pos:
            err_text = f"{pos}: {err_text}"
    directory = str(d.get("Dir", ""))
    watched: list[str] = []
    if directory:
        # Always the directory: a file added, removed or replaced by rename, and (through its
        # ctime) a module-cache directory made writable, which brings its files under watch.
        watched.append(directory)
        if not d.get("Standard") and (not any(under(directory, r) for r in read_only_roots)
                                      or _writable(directory)):
            for f in list(d.get("GoFiles") or []) + list(d.get("EmbedFiles") or []):
                watched.append(os.path.join(directory, f))
    return ExternalPackage(
        import_path=str(d["ImportPath"]),
        name=str(d.get("Name", "")),
        export=str(d.get("Export", "")),
        standard=bool(d.get("Standard", False)),
        imports=tuple(str(i) for i in d.get("Imports") or ()),
        deps=tuple(str(i) for i in d.get("Deps") or ()),
        dir=directory,
        module_path=mod.get("Path"),
        module_version=mod.get("Version"),
        module_sum=mod.get("Sum"),
        replace_path=rep.get("Path"),
        replace_version=rep.get("Version"),
        error=err_text,
        watched=tuple(watched),
        files=tuple(str(f) for f in [*(d.get("GoFiles") or ()), *(d.get("CgoFiles") or ())]),
        sources=ExternalSources(
            cgo_files=_names(d, "CgoFiles"),
            asm=_names(d, "SFiles"),
            headers=_names(d, "HFiles"),
            syso=_names(d, "SysoFiles"),
            foreign=tuple(f for k in ("CFiles", "CXXFiles", "MFiles", "FFiles", "SwigFiles", "SwigCXXFiles")
                          for f in _names(d, k)),
            embed_patterns=_names(d, "EmbedPatterns"),
            import_map=tuple(sorted((str(k), str(v)) for k, v in (d.get("ImportMap") or {}).items())),
            go_version=str(mod.get("GoVersion") or ""),
            module_dir=str(mod.get("Dir") or ""),
        ),
    )


def _with_digests(p: ExternalPackage) -> ExternalPackage:
    """The package with the sha256 of each of its Go files, for a build from source (rungo.load.graph),
    which then reads none of them while this snapshot holds. A file that cannot be read gets none."""
    if p.sources is None or not p.files:
        return p
    digests: list[str] = []
    for name in p.files:
        try:
            with open(os.path.join(p.dir, name), "rb") as f:
                digests.append(hashlib.sha256(f.read()).hexdigest())
        except OSError:
            return p
    return replace(p, sources=replace(p.sources, digests=tuple(digests)))


def _names(d: Mapping[str, Any], field: str) -> tuple[str, ...]:
    return tuple(str(f) for f in d.get(field) or ())


def _encode(pkgs: Mapping[str, ExternalPackage], watched: Iterable[Watched], fmt: str) -> bytes:
    rows = []
    for p in pkgs.values():
        rows.append([p.import_path, p.name, p.export, p.standard, list(p.imports), p.dir,
                     p.module_path, p.module_version, p.module_sum, p.replace_path,
                     p.replace_version, p.error, list(p.watched), list(p.deps), list(p.files),
                     _encode_sources(p.sources)])
    return json.dumps({"format": fmt, "packages": rows,
                       "watched": [[w.path, w.stamp] for w in watched]}).encode()


def _encode_sources(s: ExternalSources | None) -> list[Any] | None:
    if s is None:
        return None
    return [list(s.cgo_files), list(s.asm), list(s.headers), list(s.syso), list(s.foreign),
            list(s.embed_patterns), [list(kv) for kv in s.import_map], s.go_version, list(s.digests),
            s.module_dir]


def _decode_sources(r: Any) -> ExternalSources | None:
    if r is None:
        return None
    return ExternalSources(tuple(map(str, r[0])), tuple(map(str, r[1])), tuple(map(str, r[2])),
                           tuple(map(str, r[3])), tuple(map(str, r[4])), tuple(map(str, r[5])),
                           tuple((str(k), str(v)) for k, v in r[6]), str(r[7]), tuple(map(str, r[8])),
                           str(r[9]))


DECODED = 8      # snapshots a long-lived process keeps decoded (by their bytes)
_DECODED: OrderedDict[tuple[str, bytes], tuple[dict[str, ExternalPackage], tuple[Watched, ...]]] = OrderedDict()
_DECODED_LOCK = threading.Lock()


def _decode(data: bytes, fmt: str) -> tuple[dict[str, ExternalPackage], tuple[Watched, ...]] | None:
    """A snapshot's packages and watched inputs. A long-lived process (the warm engine, the language
    server) keeps the last DECODED snapshots decoded: the next build reads the same bytes. A snapshot
    is only ever read as the format asked for."""
    with _DECODED_LOCK:
        known = _DECODED.get((fmt, data))
        if known is not None:
            _DECODED.move_to_end((fmt, data))
            return dict(known[0]), known[1]
    got = _decode_json(data, fmt)
    if got is not None:
        with _DECODED_LOCK:
            _DECODED[(fmt, data)] = (dict(got[0]), got[1])
            while len(_DECODED) > DECODED:
                _DECODED.popitem(last=False)
    return got


def _decode_json(data: bytes, fmt: str) -> tuple[dict[str, ExternalPackage], tuple[Watched, ...]] | None:
    try:
        obj = json.loads(data)
        if obj.get("format") != fmt:
            return None
        pkgs: dict[str, ExternalPackage] = {}
        for r in obj["packages"]:
            p = ExternalPackage(str(r[0]), str(r[1]), str(r[2]), bool(r[3]), tuple(r[4]), str(r[5]),
                                r[6], r[7], r[8], r[9], r[10], r[11], tuple(r[12]), tuple(r[13]), tuple(r[14]),
                                _decode_sources(r[15]))
            pkgs[p.import_path] = p
        watched = tuple(Watched(str(a), str(b)) for a, b in obj["watched"])
        return pkgs, watched
    except (ValueError, KeyError, TypeError, IndexError, AttributeError):
        return None


def load_external(
    *,
    runner: Runner,
    store: Cache,
    go: str,
    goenv: Mapping[str, str],
    list_flags: Sequence[str],
    cwd: Path,
    module_dir: Path | None,
    inputs: Mapping[str, bytes],
    imports: Iterable[str],
    always: Sequence[str],
    force: bool = False,
    tmpdir: Callable[[], Path] | None = None,
    goflags: str | None = None,
    build: bool = True,
    digests: bool = False,
    own_cache: str | None = None,
) -> Snapshot:
    """The snapshot for these imports (plus `always`, e.g. runtime), from the cache when still valid.
    `goflags`, when given, replaces $GOFLAGS for go list (a check's leaves out what it ignores).
    Without `build`, the snapshot has export data only when a remembered one still holds; with
    `digests` too (a build of the whole graph), a new one keeps the sha256 of every Go file.
    `own_cache` is the user's own GOCACHEPROG ("" for none): a query that builds nothing runs with
    it instead of rungo's (the go command's module index then stays in its own cache, not rungo's
    and its remote)."""
    wanted = sorted(set(imports) | set(always))

    def key(fmt: str) -> bytes:
        return golist_snapshot_key(format=fmt, go=go, goenv=goenv, list_flags=list_flags,
                                   module_dir=str(module_dir) if module_dir else None, inputs=inputs, imports=wanted)

    formats = (_FORMAT,) if build else (_FORMAT, _FORMAT + _UNBUILT)
    if not force:
        for fmt in formats:
            data = store.get_bytes(key(fmt))
            decoded = _decode(data, fmt) if data is not None else None
            if decoded is not None:
                pkgs, watched = decoded
                if still_valid(watched) and all((not p.export) or os.path.exists(p.export) for p in pkgs.values()):
                    return Snapshot(pkgs, watched, built=fmt == _FORMAT)
    fmt = formats[-1]
    argv = [go, "list", "-e", *(("-export",) if build else ()), "-deps", "-json=" + _FIELDS, *list_flags,
            "--", *wanted]
    # go list builds what is missing in a go-build* directory of its own: under rungo's work
    # directory, so that it goes with it even when both are killed.
    extra = {"GOTMPDIR": str(tmpdir())} if tmpdir is not None else {}
    if goflags is not None:
        extra["GOFLAGS"] = goflags
    if own_cache is not None and not build:
        extra["GOCACHEPROG"] = own_cache
    # Without -export it is a query that builds nothing: it runs under -n too, and -x does not show it.
    res = runner.run(argv, cwd=module_dir or cwd, quiet=not (force and build), env_extra=extra)
    if res.returncode != 0:
        msg = res.stderr.decode(errors="replace").rstrip()
        raise ExternalLoadError(msg or f"go list exited with status {res.returncode}")
    read_only_roots = [r for r in (goenv.get("GOROOT", ""), goenv.get("GOMODCACHE", "")) if r]
    pkgs = {}
    try:
        for obj in json_stream(res.stdout.decode()):
            p = _pkg_from_json(obj, read_only_roots)
            pkgs[p.import_path] = _with_digests(p) if digests and not build else p
    except (ValueError, KeyError, UnicodeDecodeError) as e:
        raise ExternalLoadError(f"go list printed output rungo cannot read: {e}") from None
    watched_paths: list[str] = []
    for p in pkgs.values():
        watched_paths.extend(p.watched)
    watched = tuple(Watched(w, stamp(w)) for w in sorted(set(watched_paths)))
    complete = all(p.error is None for p in pkgs.values())
    if complete and not force:
        try:
            store.put_bytes(key(fmt), _encode(pkgs, watched, fmt))
        except CacheWriteError:
            pass
    return Snapshot(pkgs, watched, built=build)
