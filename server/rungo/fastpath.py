"""The rerun shortcut: a remembered run whose every input file still has the same stat goes straight to exec.

This module is on the hot path of `rungo run`: it imports only os, zlib and rungo.cache.records, parses nothing it
parsed before, and either execs the cached binary or returns so the full pipeline can run.
"""

from __future__ import annotations

import os
import stat as _stat
import zlib

from rungo.cache import records as _records

MYPY = False       # typing.TYPE_CHECKING without importing typing on the hot path
if MYPY:
    from typing import Sequence

MAGIC = "rungo-fast-v4"
SEP = "\0"
ALTERNATES = "\x1falternates"     # the key's earlier builds, filed under the key and this suffix
KEEP_ALTERNATES = 4

# Environment that can change what a run builds; everything else is the program's business.
ENV_PREFIXES = ("GO", "CGO_", "RUNGO_")
ENV_NAMES = ("PATH", "HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "CC", "CXX", "FC", "AR", "PKG_CONFIG", "GCCGO")

# A file changed this recently might change again within the same mtime tick: do not remember it.
RACY_NS = 1_000_000_000


def cache_dir_from(env: "dict[str, str] | os._Environ[str]") -> str:
    """RUNGO_CACHE, else $XDG_CACHE_HOME/rungo, else ~/.cache/rungo."""
    explicit = env.get("RUNGO_CACHE")
    if explicit:
        return explicit
    xdg = env.get("XDG_CACHE_HOME")
    if xdg and os.path.isabs(xdg):
        return os.path.join(xdg, "rungo")
    home = env.get("HOME") or os.path.expanduser("~")
    return os.path.join(home, ".cache", "rungo")


def working_dir(env: "dict[str, str] | os._Environ[str]") -> str:
    """The current directory as the go command sees it (Go's os.Getwd): $PWD when it is absolute and
    names this very directory (a path through a symlink stays as the user wrote it), else getcwd."""
    pwd = env.get("PWD", "")
    if pwd.startswith("/"):
        try:
            a, b = os.stat(pwd), os.stat(".")
            if (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino):
                return pwd
        except OSError:
            pass
    return os.getcwd()


def stamp(path: "str | os.PathLike[str]") -> str:
    """"size:mtime_ns:ino:ctime_ns" for files, "dir:mtime_ns:ino:ctime_ns" for directories, "absent"
    when missing (rungo.load.stamps uses this one; it lives here so the hot path imports nothing else).

    The ctime is what makes the stamp trustworthy: size and mtime survive an in-place edit followed by
    `touch -r`, but every write, chmod, link or utime moves the ctime, and nothing can set it back.
    """
    try:
        st = os.stat(path)
    except OSError:
        return "absent"
    if _stat.S_ISDIR(st.st_mode):
        return f"dir:{st.st_mtime_ns}:{st.st_ino}:{st.st_ctime_ns}"
    return f"{st.st_size}:{st.st_mtime_ns}:{st.st_ino}:{st.st_ctime_ns}"


# Names in a package directory whose coming or going can change a build: sources of every kind the
# go command compiles or packs, a go.mod (another module), a vendor directory. Anything else (a
# database or log the program writes next to its sources) cannot. A package directory's stamp
# (rungo.load.stamps.package_dir_stamp) ends in SRC_MARK and a digest of those names.
SOURCE_SUFFIXES = (".go", ".c", ".cc", ".cpp", ".cxx", ".h", ".hh", ".hpp", ".hxx", ".m", ".s", ".S",
                   ".sx", ".f", ".F", ".for", ".f90", ".syso", ".swig", ".swigcxx")
SOURCE_NAMES = ("go.mod", "go.sum", "go.work", "vendor")
SRC_MARK = "/src:"


def holds(path: str, recorded: str) -> bool:
    """Whether a recorded stamp still holds (rungo.load.stamps.holds, without its imports)."""
    live = stamp(path)
    if live == recorded:
        return True
    base, mark, names = recorded.partition(SRC_MARK)
    if not mark:
        return False
    if live == base:
        return True
    return live.startswith("dir:") and source_names(path) == names


def last_change_ns(st: str) -> "int | None":
    """When the stamped file last changed (the later of its mtime and ctime), None for "absent" or a
    malformed stamp. A result remembered within a second of that could miss a later change."""
    parts = st.partition(SRC_MARK)[0].split(":")
    if len(parts) != 4:
        return None
    try:
        return max(int(parts[1]), int(parts[3]))
    except ValueError:
        return None


def is_source_name(name: str) -> bool:
    """Whether a name in a package directory can change a build: a source of a kind the go command
    reads, go.mod, vendor; never a name the go command ignores (starting with "." or "_": an editor's
    lock or swap file such as .#main.go)."""
    return (name.endswith(SOURCE_SUFFIXES) or name in SOURCE_NAMES) and not name.startswith((".", "_"))


def source_names(path: str) -> str:
    """A digest of the build-relevant names in a directory ("none" when it cannot be listed)."""
    try:
        found = sorted(n for n in os.listdir(path) if is_source_name(n))
    except OSError:
        return "none"
    return format(zlib.crc32("\0".join(found).encode("utf-8", "surrogateescape")), "08x")


def selecting_env(env: "dict[str, str] | os._Environ[str]") -> "dict[str, str]":
    """The part of the environment that can change what a run builds, sorted by name."""
    return {k: env[k] for k in sorted(env) if k.startswith(ENV_PREFIXES) or k in ENV_NAMES}


# The key of a rerun record (made here, not in rungo.keys: the hot path imports nothing else). Any
# new influence on which remembered run a command line selects must be added here: the build part of
# argv, the working directory and the environment that selects a build.
def run_key(prefix: "list[str]", cwd: str, env: "dict[str, str] | os._Environ[str]") -> str:
    parts = [MAGIC, cwd, str(len(prefix)), *prefix]
    for k, v in selecting_env(env).items():
        parts.append(k + "=" + v)
    return "\x1f".join(parts)


# Set by the command line for libraries of its own process before they load, never passed on: gRPC
# reads these only from its own process's environment, and a process that talks to the remote cache
# forks compilers while gRPC's threads run (its fork handlers would only log about it on the user's
# terminal; the children exec at once).
LIBRARY_ENV = {"GRPC_ENABLE_FORK_SUPPORT": "false", "GRPC_VERBOSITY": "ERROR"}


def initial_environ() -> "dict[str, str]":
    """The environment this process was started with, in its order, a repeated name keeping its last
    value at its last place (as os/exec dedups it). Read from /proc/self/environ where there is one:
    Python's start-up may add to os.environ (LC_CTYPE when it coerces the C locale)."""
    try:
        with open("/proc/self/environ", "rb") as f:
            data = f.read()
    except OSError:
        return dict(os.environ)
    out: "dict[str, str]" = {}
    for item in data.split(b"\0"):
        name, sep, value = item.partition(b"=")
        if not sep or not name:
            continue
        key = os.fsdecode(name)
        out.pop(key, None)
        out[key] = os.fsdecode(value)
    env = os.environ
    if len(out) > len(env) or any(env.get(k) != v for k, v in out.items()) \
            or any(k not in out and k != "LC_CTYPE" and k not in LIBRARY_ENV for k in env):
        # changed since start-up by this process: that is the environment to pass on
        return {k: v for k, v in env.items() if k in out or k not in LIBRARY_ENV}
    return out


def program_env(env: "dict[str, str] | os._Environ[str]", goroot_bin: str) -> "dict[str, str]":
    """The program's environment as go run builds it (base.AppendPATH): the user's environment with
    PATH=$GOROOT/bin:$PATH moved to the end."""
    out = dict(env)
    if goroot_bin:
        path = out.pop("PATH", "")
        out["PATH"] = goroot_bin + os.pathsep + path if path else goroot_bin
    return out


def lookup(argv: "list[str]", cwd: str, env: "dict[str, str] | os._Environ[str]", cache_dir: str) -> "tuple[list[str], int, str] | None":
    """(exec argv without the program arguments, number of build arguments, the toolchain's bin directory)
    when a remembered run still holds: every input has its recorded stamp, or, for the last build and
    the few before it (an edit undone, a branch checked out again), the files that changed have
    exactly the content that build compiled."""
    for k in range(min(len(argv), 64), 0, -1):
        prefix = argv[:k]
        key = run_key(prefix, cwd, env)
        entries = _read_entries(cache_dir, key)
        if not entries:
            continue
        exec_argv, goroot_bin, watched = entries[0]
        program = exec_argv[-1] if exec_argv else ""
        changed = []
        for j in range(0, len(watched), 3):
            if not holds(watched[j], watched[j + 1]):
                if not watched[j + 2] and watched[j] != program:
                    return None          # an input kept by its stamp alone changed: no build holds
                changed.append(j)
        if not changed:
            return exec_argv, k, goroot_bin
        digests: "dict[str, str | None]" = {}
        if _content_holds(watched, changed, digests, program):
            return exec_argv, k, goroot_bin          # the rest held by their stamps just now
        first = [watched[j] for j in changed]
        for exec_argv, goroot_bin, watched in _read_entries(cache_dir, key + ALTERNATES) or ():
            if _same_content(watched, first, digests, exec_argv[-1] if exec_argv else ""):
                return exec_argv, k, goroot_bin
        return None
    return None


def _same_content(watched: "list[str]", first: "list[str]", digests: "dict[str, str | None]",
                  program: str = "") -> bool:
    """Whether every input of a build holds by its stamp or has the content it had (its digest was
    recorded: rungo compiled exactly those bytes). The paths in `first` (what changed since the last
    build) are looked at before the rest. The build's `program` is rungo's own cache entry, named by
    its content: it holds while it is there with its size (a later build of the same program stores
    it again, which moves its stamp)."""
    by_path = {watched[j]: j for j in range(0, len(watched), 3)}
    order = [by_path[p] for p in first if p in by_path]
    ahead = set(first)
    order += [j for j in range(0, len(watched), 3) if watched[j] not in ahead]
    return _content_holds(watched, order, digests, program)


def _content_holds(watched: "list[str]", indices: "list[int]", digests: "dict[str, str | None]",
                   program: str) -> bool:
    """_same_content for the inputs at `indices` of [path, stamp, digest, ...] only."""
    for j in indices:
        path, recorded, digest = watched[j], watched[j + 1], watched[j + 2]
        if not digest:
            if holds(path, recorded) or (path == program and _same_size(path, recorded)):
                continue
            return False
        if path not in digests:
            digests[path] = None if holds(path, recorded) else _content_digest(path)
        live = digests[path]
        if live is not None and live != digest:
            return False
    return True


def _same_size(path: str, recorded: str) -> bool:
    live = stamp(path)
    return live != "absent" and not live.startswith("dir:") and live.split(":")[0] == recorded.split(":")[0]


def _content_digest(path: str) -> "str | None":
    """The sha256 of a file's content, hex ("" when it cannot be read)."""
    try:
        from _sha256 import sha256  # type: ignore[import-not-found]   # CPython 3.11: no OpenSSL to load
    except ImportError:
        from hashlib import sha256
    try:
        with open(path, "rb") as f:
            return str(sha256(f.read()).hexdigest())
    except OSError:
        return ""


def _parse_entries(fields: "list[str]", i: int, count: int) -> "list[tuple[list[str], str, list[str]]] | None":
    """`count` builds from fields[i:]: (exec argv, toolchain bin directory, [path, stamp, digest, ...])."""
    out = []
    try:
        for _ in range(count):
            n_exec = int(fields[i])
            exec_argv = fields[i + 1:i + 1 + n_exec]
            goroot_bin = fields[i + 1 + n_exec]
            n_watch = int(fields[i + 2 + n_exec])
            start = i + 3 + n_exec
            watched = fields[start:start + 3 * n_watch]
            if len(exec_argv) != n_exec or len(watched) != 3 * n_watch:
                return None
            out.append((exec_argv, goroot_bin, watched))
            i = start + 3 * n_watch
    except (IndexError, ValueError):
        return None
    return out if i == len(fields) else None


def _entries(data: str, key: "str | None" = None) -> "list[tuple[list[str], str, list[str]]] | None":
    """The builds a record's text holds, the latest first (None when it is not intact, or, given a
    key, is another key's)."""
    fields = data.split(SEP)
    if len(fields) < 3 or fields[0] != MAGIC or (key is not None and fields[1] != key) or not fields[2].isdigit():
        return None
    return _parse_entries(fields, 3, int(fields[2]))


def _read_entries(cache_dir: str, key: str) -> "list[tuple[list[str], str, list[str]]] | None":
    """The builds filed under `key`, the latest first (None when there is no intact record)."""
    data = _records.read(_records.path_for(cache_dir, key))
    return None if data is None else _entries(data, key)


def _contents(watched: "list[str]") -> "frozenset[tuple[str, str]]":
    """The (path, digest) pairs of the inputs a build recorded by content."""
    return frozenset((watched[j], watched[j + 2]) for j in range(0, len(watched), 3) if watched[j + 2])


def _entry_fields(exec_argv: "list[str]", goroot_bin: str, watched: "list[str]") -> "list[str]":
    return [str(len(exec_argv)), *exec_argv, goroot_bin, str(len(watched) // 3), *watched]


def settle(watched: "Sequence[tuple[str, str] | tuple[str, str, str]]", now_ns: int,
           written_by_us: "frozenset[str]" = frozenset()) -> "list[str] | None":
    """[path, stamp, digest, ...] as a record keeps them, for inputs read at `now_ns`: a stamp taken
    within RACY_NS of the input's last change cannot be trusted, so a file with a digest is kept by its
    digest alone and a package directory by its names alone; None when such an input has neither
    (files rungo itself wrote into its cache are exempt)."""
    kept: "list[str]" = []
    for item in watched:
        path, st = item[0], item[1]
        digest = item[2] if len(item) > 2 else ""
        kept += (path, st, digest)
        if st == "absent" or path in written_by_us:
            continue
        _, mark, names = st.partition(SRC_MARK)
        changed = last_change_ns(st)
        if changed is None:
            return None
        if now_ns - changed < RACY_NS:
            if mark:
                kept[-2] = "unsettled" + SRC_MARK + names
            elif digest:
                kept[-2] = "unsettled"
            else:
                return None
    return kept


def still_holds(watched: "Sequence[tuple[str, str] | tuple[str, str, str]]", read_ns: int,
                written_by_us: "frozenset[str]" = frozenset()) -> bool:
    """Whether inputs read at `read_ns` are all as they were then (by their stamps, or where a stamp
    cannot be trusted, by their content)."""
    kept = settle(watched, read_ns, written_by_us)
    return kept is not None and _same_content(kept, [], {})


def write_record(
    cache_dir: str,
    prefix: "list[str]",
    cwd: str,
    env: "dict[str, str] | os._Environ[str]",
    exec_argv: "list[str]",
    goroot_bin: str,
    watched: "list[tuple[str, str]] | list[tuple[str, str, str]]",
    now_ns: int,
    written_by_us: "frozenset[str]" = frozenset(),
) -> bool:
    """Remember a run: (path, stamp) or (path, stamp, content digest) for every input. Refuses (False)
    when an input without a digest changed too recently to trust its mtime (`now_ns` is when the
    inputs were read); files rungo itself wrote into its cache are exempt. A file with a digest that
    changed recently is kept by its digest alone, and a package directory by its names alone: their
    stat part is dropped, so every lookup compares the content. The build remembered before under
    the same key stays as one of the alternates (an edit undone finds it)."""
    kept = settle(watched, now_ns, written_by_us)
    if kept is None:
        return False
    key = run_key(prefix, cwd, env)
    own = exec_argv[-1] if exec_argv else ""
    # An earlier build is kept unless it is this one again: the same program from the same content
    # (an edit the linker drops, such as a new unused function, gives the same program from other
    # content: that content finds it too).
    sources = _contents(kept)
    earlier = [e for e in [*(_read_entries(cache_dir, key) or ()), *(_read_entries(cache_dir, key + ALTERNATES) or ())]
               if e[0] and _contents(e[2]) and (e[0][-1] != own or _contents(e[2]) != sources)]
    if earlier:
        alt: "list[str]" = [MAGIC, key + ALTERNATES, str(min(len(earlier), KEEP_ALTERNATES))]
        for e in earlier[:KEEP_ALTERNATES]:
            alt += _entry_fields(*e)
        _records.write(cache_dir, key + ALTERNATES, SEP.join(alt))
    fields = [MAGIC, key, "1", *_entry_fields(exec_argv, goroot_bin, kept)]
    return _records.write(cache_dir, key, SEP.join(fields))


def _record_holds(data: str) -> bool:
    """Whether a record can hit now: a build whose inputs all have their stamps, or their content where
    a stamp was too young to keep. (One kept for an edit undone is dropped by a trim: it costs one
    build if that content comes back.)"""
    return any(_same_content(watched, [], {}, exec_argv[-1] if exec_argv else "")
               for exec_argv, _, watched in _entries(data) or ())


def records(cache_dir: str) -> "list[tuple[str, int, float]]":
    """The rerun records (and leftover temporary files) under the cache: path, size, mtime."""
    return _records.listing(cache_dir)


def trim_records(cache_dir: str, max_age_seconds: float, now: float) -> "tuple[int, int]":
    """Removes rerun records written more than `max_age_seconds` ago, records that can no longer hit
    (an input changed since), and temporary files of writers that died; (files, bytes) removed.

    A hit does not rewrite its record (the shortcut never writes), so the age is the time since the
    run was last built; a removed record costs one run through the full pipeline, which writes it again.
    """
    files = size = 0
    for path, n, mtime in records(cache_dir):
        if now - mtime < 60:
            continue  # just written: leave it to its writer
        drop = path.endswith(".tmp") or now - mtime > max_age_seconds
        if not drop:
            data = _records.read(path)
            if data is None:
                continue
            drop = not _record_holds(data)
        if drop and _records.remove(path):
            files += 1
            size += n
    return files, size
