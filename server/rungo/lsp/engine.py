"""The pipeline as the language server uses it: checks and builds with unsaved buffers, cancellable. Thread-safe.

Its subprocesses run through rungo/scheduling.py: each in a session of its own, so cancelling its
CancelToken kills the compiler (and whatever it started) at once; `go list -export` runs once per
configuration at a time, and identical calls in flight share one answer.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

from rungo.cache.remote.settings import SettingsError
from rungo.config import Config, cache_dir_from, hand_off_uploads
from rungo.config import make_config as _make_config
from rungo.invocation import Invocation, UsageError, parse_run_args
from rungo.load.constraints import file_included
from rungo.load.model import Watched
from rungo.load.program import build_context
from rungo.load.stamps import last_change_ns, still_valid
from rungo.orchestrate import PackageCheck, Prepared, RunError, Troubles, build, check, open_session
from rungo.process import Runner
from rungo.scheduling import Activity, CancelToken, EngineRunner, ListGate
from rungo.toolchain import Toolchain, ToolchainError, load_toolchain
from rungo.work.workdir import WorkDir
from rungo.lsp.typecheck import TypeChecks
from rungo.lsp.typeserver import TypeServer, TypeServers, build_env

# Diagnostics never fetch anything: no module downloads, no toolchain switch.
CHECK_ENV: Mapping[str, str] = {"GOPROXY": "off", "GOTOOLCHAIN": "local"}


@dataclass(frozen=True, slots=True)
class BuildResult:
    """A build for a run: the binary, or the stage that failed and what it printed."""

    prepared: Prepared | None
    stage: str                    # "" on success, else "load", "build", "link", "usage"
    text: str                     # the error text, go-style (`file:line:col: message`)
    check: PackageCheck | None    # the failed compile as a check, for diagnostics
    watched: tuple[Watched, ...] = ()   # a failed build's inputs, as far as it read them (a watch waits on them)


def make_config(env: Mapping[str, str], cwd: Path) -> Config:
    """The configuration for a check or build; a malformed remote cache setting is a ToolchainError,
    reported as any other problem with the toolchain's settings."""
    try:
        return _make_config(env, cwd)
    except SettingsError as e:
        raise ToolchainError(str(e)) from e


@dataclass(frozen=True, slots=True)
class ParseProblem:
    """One error of the Go toolchain's own parser (gofmt -e): 1-based line, 1-based byte column."""

    line: int
    column: int
    message: str


# How long a check whose imports are not built waits for its type checker's build (about fifteen
# seconds on two cores) rather than compile every import: the first session with a toolchain. A build
# held back longer (behind other background work) is not waited for: the check compiles.
TYPESERVER_WAIT = 30.0

_GOFMT_LINE = re.compile(r"^<standard input>:(\d+):(\d+): (.*)$")


def parse_gofmt_errors(text: str) -> list[ParseProblem]:
    out: list[ParseProblem] = []
    for line in text.splitlines():
        m = _GOFMT_LINE.match(line)
        if m:
            out.append(ParseProblem(int(m.group(1)), int(m.group(2)), m.group(3)))
    return out


_POSITIONED = re.compile(r"^(.+?):\d+(?::\d+)?: ")


def not_about_go_files(output: str) -> str:
    """A compiler report without its messages about .go files (and their continuation lines): what
    stays is about C files, headers and the tools themselves."""
    out: list[str] = []
    dropping = False
    for line in output.splitlines(keepends=True):
        if line.startswith(("\t", "    ")):
            if not dropping:
                out.append(line)
            continue
        m = _POSITIONED.match(line)
        dropping = m is not None and m.group(1).endswith(".go")
        if not dropping:
            out.append(line)
    return "".join(out)


def _check_key(pkg_dir: Path, flags: Sequence[str], go_path: str, env: Mapping[str, str]) -> tuple[Any, ...]:
    """What a check's kept inputs are kept under: the package, the settings' flags, go and environment."""
    return (str(pkg_dir), tuple(flags), go_path, tuple(sorted(env.items())))


def overlay_digest(overlays: Mapping[Path, bytes]) -> str:
    h = hashlib.sha256()
    for p in sorted(overlays):
        h.update(str(p).encode() + b"\0" + hashlib.sha256(overlays[p]).digest())
    return h.hexdigest()


def _settled(items: Sequence[Watched], now_ns: int) -> bool:
    """No input changed within the last second (a later edit could keep size and mtime tick)."""
    for w in items:
        changed = last_change_ns(w.stamp)
        if changed is not None and now_ns - changed < 1_000_000_000:
            return False
    return True


class Engine:
    def __init__(self, base_env: Mapping[str, str]) -> None:
        self.base_env = dict(base_env)
        self._lock = threading.Lock()
        self._toolchains: dict[tuple[str, tuple[tuple[str, str], ...]], Toolchain] = {}
        self._built: dict[tuple[Any, ...], Prepared] = {}
        self.gate = ListGate()
        self.activity = Activity()
        self.typechecks = TypeChecks()
        self._background = True
        self.typeservers = TypeServers(cache_dir_from(self.base_env), self._build_typeserver, lambda: self._background)
        self._typeserver_token = CancelToken(background=True)
        self._parsed: dict[tuple[str, bytes], tuple[ParseProblem, ...]] = {}   # gofmt -e answers by content
        self._troubles: list[str] = []      # the remote cache's trouble not yet told, each once
        self.troubles = Troubles(self._keep_trouble)

    def _keep_trouble(self, text: str) -> None:
        with self._lock:
            self._troubles.append(text)

    def take_troubles(self) -> list[str]:
        """What the remote cache had trouble with since the last call, each message once."""
        with self._lock:
            out, self._troubles = self._troubles, []
        return out

    def shutdown(self) -> None:
        """Leave uploads still pending to detached processes (the server is exiting); end the type checkers."""
        self._typeserver_token.cancel()
        self.typeservers.close()
        hand_off_uploads()

    def allow_background(self, allowed: bool) -> None:
        """Whether the engine's own background builds (the type checker's) may run; turned off,
        one in progress ends now."""
        with self._lock:
            self._background = allowed
            if allowed:
                return
            token, self._typeserver_token = self._typeserver_token, CancelToken(background=True)
        token.cancel()

    def _build_typeserver(self, tc: Toolchain, src: Path) -> bytes | None:
        """The long-lived type checker built from src with tc by rungo's own pipeline, in the
        background (lowest priority, paused while interactive work runs)."""
        work = WorkDir(None, keep=False, announce=lambda _: None)
        try:
            with self._lock:
                token = self._typeserver_token
            got = self.build(src, env_extra=build_env(tc), flags=(), go_path=str(tc.go), work=work, token=token)
            if got.prepared is None:
                return None
            try:
                return got.prepared.binary.read_bytes()
            except OSError:
                return None
        finally:
            work.close()

    def _typeserver(self, env: Mapping[str, str], pkg_dir: Path, go_path: str) -> tuple[TypeServer | None, str]:
        """The running type checker of the check's toolchain (started, or built in the background,
        when there is none yet), and the target GOARCH."""
        try:
            tc = self.toolchain(env, pkg_dir, go_path)
        except ToolchainError:
            return None, ""
        return self.typeservers.get(tc), tc.env.get("GOARCH", "")

    def _typeserver_coming(self, env: Mapping[str, str], pkg_dir: Path, go_path: str) -> bool:
        """Whether the check's type checker is being built now."""
        try:
            return self.typeservers.building(self.toolchain(env, pkg_dir, go_path))
        except ToolchainError:
            return False

    def _await_typeserver(self, env: Mapping[str, str], pkg_dir: Path, go_path: str,
                          token: CancelToken | None) -> tuple[TypeServer | None, str]:
        """The check's type checker once its build ends (at most TYPESERVER_WAIT seconds): a check whose
        imports are not built waits for it rather than compile them all. Meanwhile the check does not
        count as interactive work, so that the build it waits for is not held back for it."""
        try:
            tc = self.toolchain(env, pkg_dir, go_path)
        except ToolchainError:
            return None, ""
        active = token is None or not token.deferred
        interactive = token is None or not token.background
        if interactive:
            self.activity.end(active=active)
        try:
            server = self.typeservers.wait(tc, TYPESERVER_WAIT, lambda: token is not None and token.cancelled)
        finally:
            if interactive:
                self.activity.begin(active=active)
        return server, tc.env.get("GOARCH", "")

    def env_for(self, extra: Mapping[str, str], *, check: bool) -> dict[str, str]:
        env = dict(self.base_env)
        env.update(extra)
        if check:
            env.update(CHECK_ENV)
            flags = env.get("GOFLAGS", "")
            env["GOFLAGS"] = " ".join(f for f in flags.split() if not f.startswith("-mod=mod"))
        return env

    def toolchain(self, env: Mapping[str, str], cwd: Path, go_path: str) -> Toolchain:
        key = (go_path, tuple(sorted(env.items())))
        with self._lock:
            tc = self._toolchains.get(key)
        if tc is None:
            config = make_config(env, cwd)
            tc = load_toolchain(config, Runner(env=config.child_env()), go_path or None)
            with self._lock:
                self._toolchains[key] = tc
        return tc

    def _invocation(self, flags: Sequence[str], targets: Sequence[str], tc: Toolchain) -> Invocation:
        return parse_run_args([*flags, *targets], tc.env.get("GOFLAGS", ""))

    def runner(self, env: Mapping[str, str], token: CancelToken | None) -> EngineRunner:
        if token is not None and token.background:
            self.activity.adopt(token)
        return EngineRunner(env=env, token=token, gate=self.gate, activity=self.activity)

    def check(self, pkg_dir: Path, overlays: Mapping[Path, bytes], *, env_extra: Mapping[str, str],
              flags: Sequence[str], go_path: str, token: CancelToken | None = None,
              quick: bool = False, beside: bool = False, build: bool = True) -> PackageCheck:
        """The compile stage of the package in pkg_dir, with unsaved buffers as overlays; interactive
        unless the token is a background one (background work pauses meanwhile). `quick`: a
        keystroke's check, which stops after type checking when a full check's inputs still hold
        (lsp/typecheck.py), and is a full check otherwise. `beside`: gopls shows the type errors,
        so the compiler's are left out (see beside_gopls). Without `build`, a package whose imports
        are not built yet is type-checked from source (when the type checker is at hand), compiling
        nothing: the answer is `unbuilt`."""
        result = self._checked(pkg_dir, overlays, env_extra=env_extra, flags=flags, go_path=go_path, token=token,
                               quick=quick and not beside, build=build)
        if not beside or not result.compile_outputs:
            return result
        return self._beside_gopls(result)

    @staticmethod
    def _beside_gopls(result: PackageCheck) -> PackageCheck:
        """What only the compiler sees of a check's errors: code generation's errors stay, type
        errors go (gopls shows them); when that is unknown (cgo, assembly, a failed import), what is
        not about a .go file stays."""
        if result.unbuilt:
            return replace(result, compile_outputs=())
        if result.codegen_errors is True:
            return result
        if result.codegen_errors is False:
            return replace(result, compile_outputs=())
        return replace(result, compile_outputs=tuple(
            (ip, text) for ip, out in result.compile_outputs if (text := not_about_go_files(out)).strip()))

    def _checked(self, pkg_dir: Path, overlays: Mapping[Path, bytes], *, env_extra: Mapping[str, str],
                 flags: Sequence[str], go_path: str, token: CancelToken | None, quick: bool,
                 build: bool) -> PackageCheck:
        with self.interactive(token):
            env = self.env_for(env_extra, check=True)
            key = _check_key(pkg_dir, flags, go_path, env)
            if quick:
                got = self._quick(key, pkg_dir, overlays, env, go_path, token)
                if got is not None:
                    return got
                if token is not None and token.cancelled:
                    return PackageCheck(None, pkg_dir, (), (), "rungo: cancelled")
            server, goarch = (None, "") if build else self._typeserver(env, pkg_dir, go_path)
            coming = server is None and not build and self._typeserver_coming(env, pkg_dir, go_path)
            result = self._check(pkg_dir, overlays, env_extra=env_extra, flags=flags, go_path=go_path, token=token,
                                 build=server is None and not coming)
            if result.source is not None and not (token is not None and token.cancelled):
                if coming:
                    server, goarch = self._await_typeserver(env, pkg_dir, go_path, token)
                got = self._from_source(key, result, pkg_dir, overlays, env, server, goarch, token)
                if got is not None:
                    return got
                result = self._check(pkg_dir, overlays, env_extra=env_extra, flags=flags, go_path=go_path,
                                     token=token, build=True)
            if token is not None and token.cancelled:
                return result
            self.typechecks.keep(key, result, overlays)
            if result.typecheck is not None:
                self._typeserver(env, pkg_dir, go_path)     # the next keystroke's checker, ready or on its way
            if result.compile_outputs and result.typecheck is not None:
                kept = self.typechecks.holding(key, pkg_dir, overlays)
                types = None if kept is None else self.typechecks.compile(
                    kept, pkg_dir, overlays, self.runner(env, token), env.get("GOTMPDIR") or None)
                if types is not None:
                    # Stopped after type checking, the compiler finds nothing: the errors are code generation's.
                    result = replace(result, codegen_errors=not types.compile_outputs)
                    self.typechecks.note_codegen_errors(key, not types.compile_outputs)
            else:
                self.typechecks.note_codegen_errors(key, False)
            return result

    def _quick(self, key: tuple[Any, ...], pkg_dir: Path, overlays: Mapping[Path, bytes], env: Mapping[str, str],
               go_path: str, token: CancelToken | None) -> PackageCheck | None:
        """A keystroke's check over the kept inputs of the last full check, when they still hold."""
        kept = self.typechecks.holding(key, pkg_dir, overlays)
        if kept is None:
            return None
        server, goarch = self._typeserver(env, pkg_dir, go_path)
        runner = self.runner(env, token)
        got = None if server is None else self.typechecks.types(kept, pkg_dir, overlays, server, goarch, runner)
        if got is None and kept.source is None:
            got = self.typechecks.compile(kept, pkg_dir, overlays, runner, env.get("GOTMPDIR") or None)
        if got is not None and not got.compile_outputs and self.typechecks.codegen_errors(key):
            return replace(got, stands=True)
        return got

    def _from_source(self, key: tuple[Any, ...], result: PackageCheck, pkg_dir: Path, overlays: Mapping[Path, bytes],
                     env: Mapping[str, str], server: TypeServer | None, goarch: str,
                     token: CancelToken | None) -> PackageCheck | None:
        """The type checker's word on a loaded package whose imports are not built: checked against
        them from source (None when it cannot answer so: a cgo package, no checker)."""
        if server is None or result.source is None or result.source.main.uses_cgo:
            return None
        self.typechecks.keep(key, result, overlays)
        kept = self.typechecks.holding(key, pkg_dir, overlays)
        got = None if kept is None or kept.source is None else self.typechecks.types(
            kept, pkg_dir, overlays, server, goarch, self.runner(env, token))
        if got is None:
            self.typechecks.forget(key)
        return got

    @contextlib.contextmanager
    def interactive(self, token: CancelToken | None) -> Iterator[None]:
        """Marks the work of a non-background token as interactive while it runs (active unless deferred)."""
        if token is not None and token.background:
            yield
            return
        active = token is None or not token.deferred
        self.activity.begin(active=active)
        try:
            yield
        finally:
            self.activity.end(active=active)

    def _check(self, pkg_dir: Path, overlays: Mapping[Path, bytes], *, env_extra: Mapping[str, str],
               flags: Sequence[str], go_path: str, token: CancelToken | None = None,
               build: bool = True) -> PackageCheck:
        env = self.env_for(env_extra, check=True)
        try:
            tc = self.toolchain(env, pkg_dir, go_path)
            inv = self._invocation(flags, [str(pkg_dir)], tc)
        except ToolchainError as e:
            return PackageCheck(None, pkg_dir, (), (), f"rungo: {e}")
        except UsageError as e:
            return PackageCheck(None, pkg_dir, (), (), f"rungo: build flags setting: {e.message}")
        config = make_config(env, pkg_dir)
        work = WorkDir(env.get("GOTMPDIR") or None, keep=False, announce=lambda _: None)
        session = open_session(config, tc, work, runner=self.runner(config.child_env(), token), overlays=overlays)
        try:
            return check(session, inv, build=build)
        finally:
            if token is not None and token.background:
                self.activity.release(token)
            self.troubles.finish(session.store, detach=False)
            # Removing the scratch files is not part of the answer: a thread of its own does it
            # (not a daemon, so the process still waits for it before exiting).
            threading.Thread(target=work.close, name="rungo-workdir-close").start()

    def build(self, pkg_dir: Path, *, env_extra: Mapping[str, str], flags: Sequence[str],
              go_path: str, work: WorkDir, overlays: Mapping[Path, bytes] | None = None,
              files: Sequence[str] = (), token: CancelToken | None = None) -> BuildResult:
        """Builds the main package in pkg_dir as `rungo run` would (or the named files in it, as
        `go run a.go b.go`), with unsaved buffers as overlays; interactive unless the token is a
        background one."""
        with self.interactive(token):
            return self._build(pkg_dir, env_extra=env_extra, flags=flags, go_path=go_path, work=work,
                               overlays=overlays, files=files, token=token)

    def _build(self, pkg_dir: Path, *, env_extra: Mapping[str, str], flags: Sequence[str],
               go_path: str, work: WorkDir, overlays: Mapping[Path, bytes] | None = None,
               files: Sequence[str] = (), token: CancelToken | None = None) -> BuildResult:
        env = self.env_for(env_extra, check=False)
        overlays = dict(overlays or {})
        memo_key = (str(pkg_dir), tuple(files), tuple(flags), go_path, tuple(sorted(env.items())),
                    overlay_digest(overlays))
        with self._lock:
            known = self._built.get(memo_key)
        if known is not None and still_valid(known.watched):
            return BuildResult(known, "", "", None)
        try:
            tc = self.toolchain(env, pkg_dir, go_path)
            inv = self._invocation(flags, list(files) or [str(pkg_dir)], tc)
        except ToolchainError as e:
            return BuildResult(None, "load", f"rungo: {e}", None)
        except UsageError as e:
            return BuildResult(None, "usage", e.message or "invalid build flags", None)
        config = make_config(env, pkg_dir)
        session = open_session(config, tc, work, runner=self.runner(config.child_env(), token), overlays=overlays)
        try:
            prepared = build(session, inv)
        except RunError as e:
            if token is not None and token.background:
                self.activity.release(token)
            self.troubles.finish(session.store, detach=False)
            check = None
            if e.outcome is not None or e.errors:
                outputs = tuple((c.import_path, c.output) for c in e.outcome.compiles if c.failed) if e.outcome else ()
                check = PackageCheck(e.package, pkg_dir, e.errors, outputs, "")
            return BuildResult(None, e.stage, e.text, check, e.watched)
        if token is not None and token.background:
            self.activity.release(token)
        self.troubles.finish(session.store, detach=False)
        if not prepared.temporary and _settled(prepared.watched, time.time_ns()):
            with self._lock:
                self._built[memo_key] = prepared
        return BuildResult(prepared, "", "", None)

    def parse_errors(self, data: bytes, *, env_extra: Mapping[str, str], go_path: str, cwd: Path,
                     token: CancelToken | None = None) -> list[ParseProblem] | None:
        """The Go toolchain's own parser on one file's content (`gofmt -l -e`); None when it cannot run."""
        env = self.env_for(env_extra, check=True)
        try:
            tc = self.toolchain(env, cwd, go_path)
        except ToolchainError:
            return None
        gofmt = tc.goroot / "bin" / "gofmt"
        if not gofmt.is_file():
            return None
        key = (str(gofmt), hashlib.sha256(data).digest())
        with self._lock:
            known = self._parsed.get(key)
        if known is not None:
            return list(known)
        res = self.runner(make_config(env, cwd).child_env(), token).run([str(gofmt), "-l", "-e"], stdin=data,
                                                                      quiet=True)
        if res.returncode < 0:
            return None
        problems = parse_gofmt_errors(res.stderr.decode(errors="replace"))
        with self._lock:
            self._parsed[key] = tuple(problems)
            while len(self._parsed) > 1024:
                self._parsed.pop(next(iter(self._parsed)))
        return problems

    def included(self, path: Path, data: bytes, *, env_extra: Mapping[str, str], flags: Sequence[str],
                 go_path: str) -> bool | None:
        """Whether the package build of path's directory takes the file (constraints, file name);
        None when that cannot be known (no toolchain, bad flags)."""
        if path.name.endswith("_test.go") or path.name.startswith((".", "_")):
            return False
        env = self.env_for(env_extra, check=True)
        try:
            tc = self.toolchain(env, path.parent, go_path)
            inv = self._invocation(flags, [str(path.parent)], tc)
        except (ToolchainError, UsageError):
            return None
        ctx = build_context(tc, inv.flags, env.get("CGO_ENABLED") or None)
        return file_included(path.name, data, ctx)

    def program_env(self, env_extra: Mapping[str, str]) -> dict[str, str]:
        env = dict(self.base_env)
        env.update(env_extra)
        env.setdefault("TERM", "xterm-256color")
        return env

