"""The flags a cgo package is built with, decided as cmd/go decides them.

- `cgo_environment(env, goenv)`: CC, CXX, FC, PKG_CONFIG, the CGO_*FLAGS defaults and the
  CGO_*_ALLOW / _DISALLOW overrides, as cmd/go's cfg.Getenv and `go env` resolve them.
- `pkg_config_flags(...)`: cmd/go's getPkgConfigFlags, through rungo's Runner.
- `package_flags(...)`: cmd/go's CFlags plus what runCgo adds (pkg-config, -lobjc, -lgfortran,
  the internal-linking verdict), with the security checks of `cgosecurity`.
- `resolve_flags(...)`: all of it for one `CgoPackage`, from its `#cgo` lines (`cgodirectives`).

The preambles themselves are read by `rungo.syntax.preamble`, the go/env files by `rungo.goenv`,
and Go's quoting rules live in `rungo.quoting`. Errors are values: `CgoError` (from
`cgodirectives`) carries go's text and how go prints it; `Unsupported` says why the go command has
to build instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final, Mapping, Sequence

from rungo.goenv import go_getenv
from rungo.load.cgodirectives import CgoDirectives, CgoError, parse_directives
from rungo.load.constraints import BuildContext
from rungo.process import Runner
from rungo.quoting import quote_rune, quoted_join, quoted_split_or_error
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
        fields = quoted_split_or_error(value)
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
            return f"unexpected shell character {quote_rune(chr(c))} in pkgconf output"
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
