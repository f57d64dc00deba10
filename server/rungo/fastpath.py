"""The rerun shortcut: a remembered run whose every input file still has the same stat goes straight to exec.

This module is on the hot path of `rungo run`: it imports only os, zlib and rungo.cache.records, parses nothing it
parsed before, and either execs the cached binary or returns so the full pipeline can run.
"""

from __future__ import annotations

import os
import stat as _stat
import zlib

from rungo.cache import records as _records

MAGIC = "rungo-fast-v3"
SEP = "\0"

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
    when a remembered run still holds."""
    for k in range(min(len(argv), 64), 0, -1):
        prefix = argv[:k]
        key = run_key(prefix, cwd, env)
        data = _records.read(_records.path_for(cache_dir, key))
        if data is None:
            continue
        rec = _parse_record(data)
        if rec is None or rec[0] != key:
            continue
        _, exec_argv, goroot_bin, watched = rec
        for j in range(0, len(watched), 2):
            if not holds(watched[j], watched[j + 1]):
                return None
        return exec_argv, k, goroot_bin
    return None


def _parse_record(data: str) -> "tuple[str, list[str], str, list[str]] | None":
    """A record's (key, exec argv, toolchain bin directory, [path, stamp, path, stamp, ...])."""
    fields = data.split(SEP)
    try:
        if fields[0] != MAGIC:
            return None
        n_exec = int(fields[2])
        i = 4 + n_exec
        n_watch = int(fields[i])
        watched = fields[i + 1:i + 1 + 2 * n_watch]
        if len(watched) != 2 * n_watch:
            return None
        return fields[1], fields[3:3 + n_exec], fields[3 + n_exec], watched
    except (IndexError, ValueError):
        return None


def write_record(
    cache_dir: str,
    prefix: "list[str]",
    cwd: str,
    env: "dict[str, str] | os._Environ[str]",
    exec_argv: "list[str]",
    goroot_bin: str,
    watched: "list[tuple[str, str]]",
    now_ns: int,
    written_by_us: "frozenset[str]" = frozenset(),
) -> bool:
    """Remember a run. Refuses (False) when an input changed too recently to trust its mtime
    (`now_ns` is when the inputs were read); files rungo itself wrote into its cache are exempt.
    A package directory that changed recently (a program writing beside its sources) is kept by its
    names alone: its stat part is dropped, so every lookup compares the names."""
    kept: "list[tuple[str, str]]" = []
    for path, st in watched:
        kept.append((path, st))
        if st == "absent" or path in written_by_us:
            continue
        _, mark, names = st.partition(SRC_MARK)
        changed = last_change_ns(st)
        if changed is None:
            return False
        if now_ns - changed < RACY_NS:
            if not mark:
                return False
            kept[-1] = (path, "unsettled" + SRC_MARK + names)
    watched = kept
    key = run_key(prefix, cwd, env)
    fields = [MAGIC, key, str(len(exec_argv)), *exec_argv, goroot_bin, str(len(watched))]
    for p, st in watched:
        fields.extend((p, st))
    return _records.write(cache_dir, key, SEP.join(fields))


def _record_holds(data: str) -> bool:
    """Whether a record's watched files all still have their recorded stamps (it can still hit)."""
    rec = _parse_record(data)
    if rec is None:
        return False
    watched = rec[3]
    return all(holds(watched[j], watched[j + 1]) for j in range(0, len(watched), 2))


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
