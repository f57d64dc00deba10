"""Building through the go command, for what the native pipeline does not build: `go build -o`
(`go install` for pkg@version), the binary remembered when its inputs can be watched, and the
compile check of the language server as `go list -e -export -overlay` (it compiles, it never links)."""

from __future__ import annotations

import os
import re
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

from rungo.cache import Cache, CacheWriteError
from rungo.fastpath import selecting_env
from rungo.invocation import BuildFlags, Invocation
from rungo.load.golist import json_stream
from rungo.load.inputs import BuildInputs, list_build_inputs
from rungo.load.model import Watched
from rungo.load.overlay import OverlayError, read_overlay
from rungo.load.program import check_flags
from rungo.load.stamps import package_dir_stamp, stamp
from rungo.process import Runner
from rungo.goenv import goenv_file
from rungo.toolchain import Toolchain
from rungo.keys import TARGET_ENV, go_built_program_key, tool_id, versioned_program_key
from rungo.work.plan import executable_name_of
from rungo.work.workdir import WorkDir


class GoCommandError(Exception):
    """The go command failed; `text` is what it printed (go's wording), `stage` where it failed."""

    def __init__(self, text: str, stage: str) -> None:
        super().__init__(text)
        self.text = text
        self.stage = stage


@dataclass(frozen=True, slots=True)
class GoBuilt:
    """A program the go command built."""

    binary: Path
    temporary: bool                  # in the work dir (not remembered): run it as a child
    watched: tuple[Watched, ...]     # the inputs whose stats decide whether it still holds
    built: bool                      # the go command ran (False: a remembered pkg@version)
    messages: str = ""               # what the go command printed (under -x, warnings)
    inputs_since_ns: int = 0         # when the inputs were listed (0: not listed)


@dataclass(frozen=True, slots=True)
class GoCommand:
    """The go command of one build: which toolchain, through which runner, from where."""

    toolchain: Toolchain
    runner: Runner
    store: Cache
    cwd: Path
    env: Mapping[str, str]
    work: WorkDir



def go_build_args(inv: Invocation) -> list[str]:
    """A `run` command line's build flags as `go build` takes them: without -exec (rungo runs the
    program) and -C (rungo has already changed directory)."""
    out: list[str] = []
    skip = False
    for t in inv.flag_tokens:
        if skip:
            skip = False
            continue
        name = t.lstrip("-").split("=", 1)[0]
        if t.startswith("-") and name in ("exec", "C"):
            skip = "=" not in t
            continue
        out.append(t)
    return out


_EXACT_VERSION = re.compile(r"^v(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z.-]+)?(\+incompatible)?$")
_LIST_QUIET = {"x", "n", "v", "work", "a"}


def _program_watch(binary: Path, go: GoCommand) -> tuple[Watched, ...]:
    items = [binary, go.toolchain.go]
    cfg_file = goenv_file(go.env)
    if cfg_file is not None:
        items.append(cfg_file)
    return tuple(Watched(str(p), stamp(p)) for p in items)


def build_with_go(go: GoCommand, inv: Invocation, build_args: Sequence[str], *, remember: bool) -> GoBuilt:
    """Builds the program with `go build -o <work dir>/exe/` (`go install` for pkg@version). With
    `remember`, the inputs `go list -deps` names are stamped (listed while go builds) and the binary
    goes into the cache, so an unchanged rerun can exec it; otherwise the binary is temporary."""
    tc, runner = go.toolchain, go.runner
    inputs_job: Future[BuildInputs] | None = None
    started_ns = 0
    targets: list[str] = []
    exe_dir = go.work.path / "exe"
    exe_dir.mkdir(exist_ok=True)
    env_extra: dict[str, str] = {"GOTMPDIR": str(go.work.go_tmpdir())}
    key = None
    name = ""
    target_env = {k: tc.env.get(k, "") for k in TARGET_ENV}
    if inv.package is not None and "@" in inv.package and not inv.package.startswith(("./", "../", "/")):
        if tc.env.get("GO111MODULE") == "off" or go.env.get("GO111MODULE") == "off":
            raise GoCommandError("go: modules disabled by GO111MODULE=off; see 'go help modules'", "usage")
        path, _, version = inv.package.partition("@")
        if _EXACT_VERSION.match(version) and not runner.dry_run and not inv.flags.a:
            name = executable_name_of(path)
            key = versioned_program_key(go_tool=tool_id(str(tc.go), tc.version), target_env=target_env,
                                        package_at_version=inv.package, build_args=build_args,
                                        env=selecting_env(dict(tc.env)))
            hit = go.store.get_executable(key, name)
            if hit is not None:
                return GoBuilt(hit[1], False, _program_watch(hit[1], go), built=False)
        argv = [str(tc.go), "install", *build_args, inv.package]
        env_extra["GOBIN"] = str(exe_dir)
    else:
        pattern = inv.package or "."
        if inv.files:
            targets = list(inv.files)
        elif "..." in pattern:
            targets = [main_package_with_go(go, pattern, build_args)]
        else:
            targets = [pattern]    # `go list` only when the build finds no main package (for go run's message)
        argv = [str(tc.go), "build", "-o", str(exe_dir) + os.sep, *build_args, *targets]
        if remember and not runner.dry_run:
            started_ns = time.time_ns()
            list_args = [a for a in build_args if a.lstrip("-").split("=", 1)[0] not in _LIST_QUIET]
            lister = ThreadPoolExecutor(max_workers=1)      # go list runs while go builds
            inputs_job = lister.submit(list_build_inputs, runner, str(tc.go), list_args, targets, go.cwd,
                                       tc.env, go.env.get("PATH", os.defpath), env_extra)
            lister.shutdown(wait=False)
    if runner.dry_run:
        runner.show(" ".join(argv))
        res = runner.run(argv, cwd=go.cwd, env_extra=env_extra, quiet=True)
    else:
        res = runner.run(argv, cwd=go.cwd, env_extra=env_extra)
    output = (res.stdout + res.stderr).decode(errors="replace")
    inputs = inputs_job.result() if inputs_job is not None else None
    if res.returncode != 0:
        if output.endswith("go: no main packages to build\n") and inv.package is not None and "@" not in argv[-1]:
            main_package_with_go(go, inv.package, build_args)
        raise GoCommandError(output.rstrip("\n") or f"go build exited with status {res.returncode}", "build")
    if runner.dry_run:
        return GoBuilt(exe_dir / "a.out", True, (), built=True, messages=output)
    built = sorted(p for p in exe_dir.iterdir() if p.is_file())
    if len(built) != 1:
        raise GoCommandError(f"rungo: go build left {len(built)} files in {exe_dir}, expected one program", "build")
    binary = built[0]
    watched: list[Watched] = []
    if key is None and inputs is not None and not inputs.unsure:
        unsure, extra = _unsure(go, inv.flags)
        if not unsure:
            loose = set(inputs.package_dirs)
            watched = [Watched(p, package_dir_stamp(p) if p in loose else stamp(p)) for p in (*inputs.paths, *extra)]
            key = go_built_program_key(
                go_tool=tool_id(str(tc.go), tc.version), target_env=target_env,
                build_args=build_args, targets=targets, cwd=str(go.cwd),
                env=selecting_env(dict(go.env)), inputs=[(w.path, w.stamp) for w in watched])
    if key is not None and (not name or binary.name == name):
        try:
            kept = go.store.put_executable(key, binary, binary.name)[1]
        except (CacheWriteError, OSError):
            pass
        else:
            # The cache may hold it as a hard link: remove the work dir's name now, so the
            # entry's ctime (which the rerun shortcut stamps) does not change when the work dir goes.
            binary.unlink(missing_ok=True)
            return GoBuilt(kept, False, (*watched, *_program_watch(kept, go)), built=True, messages=output,
                           inputs_since_ns=started_ns)
    return GoBuilt(binary, True, (), built=True, messages=output)


def _unsure(go: GoCommand, flags: BuildFlags) -> tuple[str, list[str]]:
    """What the flags add to the files a go-command build reads (the -overlay file and its
    replacements, -modfile and its go.sum, a -pgo profile), or why its binary cannot be remembered
    by stats at all (VCS stamping reads the repository; a -toolexec program decides anything)."""
    if flags.buildvcs == "true":
        return "-buildvcs=true stamps the repository's state", []
    if flags.toolexec:
        return "-toolexec", []
    extra: list[str] = []
    if flags.overlay:
        try:
            _, files = read_overlay(go.cwd, flags.overlay)
        except OverlayError as e:
            return str(e), []
        extra.extend(str(f) for f in files)
    if flags.modfile:
        mf = go.cwd / flags.modfile
        extra += [str(mf), str(mf.with_suffix(".sum"))]
    if flags.pgo and flags.pgo not in ("auto", "off"):
        extra.append(str(go.cwd / flags.pgo))
    return "", extra


def main_package_with_go(go: GoCommand, pattern: str, build_args: Sequence[str]) -> str:
    """Resolves a package argument with `go list` as `go run` does (main packages only, exactly one)."""
    args = [a for a in build_args if a.lstrip("-").split("=", 1)[0] not in _LIST_QUIET]
    argv = [str(go.toolchain.go), "list", "-e", *args, "-json=ImportPath,Name,Error,InvalidGoFiles", pattern]
    res = go.runner.run(argv, cwd=go.cwd, quiet=True, env_extra={"GOTMPDIR": str(go.work.go_tmpdir())})
    warnings = res.stderr.decode(errors="replace")
    if res.returncode != 0:
        raise GoCommandError(warnings.rstrip("\n") or f"go list exited with status {res.returncode}", "load")
    rows = [(str(d.get("ImportPath", "")), str(d.get("Name", "")), _package_error(d.get("Error")),
             bool(d.get("InvalidGoFiles"))) for d in _objects(res.stdout.decode(errors="replace"))]
    literal = "..." not in pattern
    mains = [(ip, name, err) for ip, name, err, invalid in rows
             if name == "main" or (not name and err) or invalid or literal]
    if not mains:
        if rows:
            warnings += f'go: warning: "{pattern}" matched only non-main packages\n'
        raise GoCommandError(warnings + f"go: no packages loaded from {pattern}", "load")
    if len(mains) > 1:
        names = "".join("\n\t" + r[0] for r in mains)
        raise GoCommandError(warnings + f"go: pattern {pattern} matches multiple packages:{names}", "load")
    ip, name, err = mains[0]
    if err:
        raise GoCommandError(err, "load")
    if name != "main":
        raise GoCommandError(f"package {ip} is not a main package", "load")
    return pattern if literal else ip


def _objects(text: str) -> list[dict[str, Any]]:
    """The objects of a `go list -json` stream, up to the first text that is not one."""
    out: list[dict[str, Any]] = []
    try:
        for obj in json_stream(text):
            out.append(obj)
    except ValueError:
        pass
    return out


def _package_error(err: object) -> str:
    """go list's Error object, worded as the go command prints a PackageError."""
    if not isinstance(err, dict):
        return ""
    msg = str(err.get("Err", ""))
    pos = str(err.get("Pos", "") or "")
    stack = [str(s) for s in err.get("ImportStack") or []]
    if pos:
        return f"{pos}: {msg}"
    if not stack:
        return msg
    return "package " + "\n\timports ".join(stack) + ": " + msg


def check_with_go(go: GoCommand, inv: Invocation, build_args: Sequence[str], overlays: Mapping[Path, bytes]) -> str:
    """The compile check through the go command, which compiles the package (and what it imports)
    and links nothing: `go list -e -export -overlay` with the build flags that matter to type
    checking and -pgo=off. Returns the errors as `go build` prints them ("" when the package
    compiles), with the unsaved buffers' stand-ins named as the files they stand for."""
    import json

    replace: dict[str, str] = {}
    given: dict[str, str] = {}
    if inv.flags.overlay:
        try:
            given = {str(k): str(v) for k, v in json.loads((go.cwd / inv.flags.overlay).read_bytes())["Replace"].items()}
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            given = {}
    root = go.work.path / "overlay-go"
    for i, (path, data) in enumerate(sorted(overlays.items())):
        alt = root / str(i) / path.name
        alt.parent.mkdir(parents=True)
        alt.write_bytes(data)
        replace[str(path)] = str(alt)
    overlay = go.work.path / "overlay.json"
    overlay.write_text(json.dumps({"Replace": {**given, **replace}}))
    targets = list(inv.files) if inv.files else [inv.package or "."]
    argv = [str(go.toolchain.go), "list", "-e", "-export", "-json=ImportPath,Error,DepsErrors",
            "-overlay", str(overlay), *check_flags(build_args), "-pgo=off", *targets]
    # $GOFLAGS (or the go env file's) is filtered the same way: a check never runs a -toolexec program.
    goflags = go.env.get("GOFLAGS", go.toolchain.env.get("GOFLAGS", ""))
    res = go.runner.run(argv, cwd=go.cwd, env_extra={"GOTMPDIR": str(go.work.go_tmpdir()),
                                                     "GOFLAGS": " ".join(check_flags(goflags.split()))})
    reports: list[str] = []
    for obj in _objects(res.stdout.decode(errors="replace")):
        for err in [*(obj.get("DepsErrors") or []), obj.get("Error")]:
            text = _package_error(err).rstrip("\n")
            if text and text not in reports:
                reports.append(text)
    output = "".join(r + "\n" for r in reports)
    if res.returncode != 0:
        output += res.stderr.decode(errors="replace") or f"go list exited with status {res.returncode}\n"
    # The go command names an overlaid file by its replacement, absolute or relative to cwd.
    for real_name, alt_name in replace.items():
        rel_alt = os.path.relpath(alt_name, go.cwd)
        for shown in sorted({alt_name, rel_alt, "./" + rel_alt}, key=len, reverse=True):
            output = re.sub(r"(^|\s)" + re.escape(shown) + r"(?=:\d)", lambda m: m.group(1) + real_name, output,
                            flags=re.MULTILINE)
    return output
