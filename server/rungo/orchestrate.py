"""`go run`'s orchestration, for the command line and the language server alike: load, plan, execute
against the cache, or hand the program to the go command when the native pipeline does not build
it (the one fallback rule). Nothing here prints; errors come back as RunError values to show.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Mapping, TextIO

from rungo.cache import Cache
from rungo.config import Config, open_store
from rungo.invocation import BuildFlags, Invocation
from rungo.load.model import LoadError, LocalPackage, Watched
from rungo.load.program import LoadProblem, LoadRequest, Program, load_program
from rungo.load.stamps import stamp
from rungo.process import Runner
from rungo.run.execute import find_exec_cmd
from rungo.toolchain import Toolchain
from rungo.work.execute import BuildOutcome, Builder, TypeCheckInputs
from rungo.keys import TARGET_ENV
from rungo.work.plan import compile_args, plan_program, trimpath_rewrite
from rungo.work.workdir import WorkDir

if TYPE_CHECKING:
    from rungo.work.gocommand import GoCommand


class RunError(Exception):
    """The build cannot go ahead; the text is what to print (go's wording), the stage says where.

    `errors` holds the load errors with their positions and `outcome` the failed build, when known.
    """

    def __init__(self, text: str, stage: str = "load", *, errors: tuple[LoadError, ...] = (),
                 outcome: BuildOutcome | None = None, package: LocalPackage | None = None,
                 watched: tuple[Watched, ...] = ()) -> None:
        super().__init__(text)
        self.text = text
        self.stage = stage
        self.errors = errors
        self.outcome = outcome
        self.package = package
        self.watched = watched        # the inputs the failed build read, as far as known


@dataclass(frozen=True, slots=True)
class Prepared:
    """A built program, ready to execute."""

    binary: Path
    exec_argv: tuple[str, ...]         # the argv prefix (with -exec) before the program's arguments
    temporary: bool                    # the binary is inside the work dir
    watched: tuple[Watched, ...]       # inputs whose stats decide whether this build still holds
    main: LocalPackage | None          # None when the go command built it
    messages: str = ""                 # what the build printed while succeeding (C compiler warnings, go's -x)
    inputs_since_ns: int = 0           # when the inputs were read, if before the build finished (0: now)
    go_command: str = ""               # why the go command built it ("" when built natively)
    rememberable: bool = True          # an unchanged rerun may exec it (no pkg-config answer in it)


@dataclass(slots=True)
class Session:
    """One build's context: configuration, toolchain, runner, cache and work directory."""

    config: Config
    toolchain: Toolchain
    runner: Runner
    store: Cache
    work: WorkDir
    verbose: TextIO | None = None
    overlays: dict[Path, bytes] = field(default_factory=dict)   # unsaved contents by file

    def go_command(self) -> GoCommand:
        from rungo.work.gocommand import GoCommand

        return GoCommand(self.toolchain, self.runner, self.store, self.config.cwd, self.config.env, self.work)


@dataclass(frozen=True, slots=True)
class PackageCheck:
    """The type check of one package (and the local packages it imports) as the compiler sees it.

    `load_errors` carry positions where the go command gives one (an editor's `anchor` where it
    gives none); when all of them are `beside`, the package was compiled all the same, without
    the imports they are about, and `compile_outputs` hold the compiler's word on the rest of it.
    `compile_outputs` are the compiler's reports per failed package, with paths relative to `cwd`;
    `message` is any other failure (a toolchain problem, a malformed go.mod...).
    """

    package: LocalPackage | None
    cwd: Path
    load_errors: tuple[LoadError, ...]
    compile_outputs: tuple[tuple[str, str], ...]   # (import path, compiler output)
    message: str
    typecheck: TypeCheckInputs | None = None       # to compile the package again by itself, when it was compiled
    watched: tuple[Watched, ...] = ()              # what the load read (the typecheck inputs hold while it holds)
    types_only: bool = False                       # the compiler stopped after type checking (a keystroke's check)
    codegen_errors: bool | None = None             # its errors are code generation's, not type errors (None: unknown)
    stands: bool = False                           # a clean types-only answer that does not replace the last
                                                   # full answer (whose errors were code generation's)
    in_memory: bool = False                        # types-only, by the long-lived type checker (go/types):
                                                   # the compiler's own word follows after a pause
    source: Program | None = None                  # loaded, not compiled: its imports are not built yet
                                                   # (a check that builds nothing: see check)
    unbuilt: bool = False                          # answered from source, nothing compiled: the full
                                                   # compile waits for a save or a run


def open_session(config: Config, toolchain: Toolchain, work: WorkDir, *, flags: BuildFlags | None = None,
                 out: TextIO | None = None, runner: Runner | None = None, store: Cache | None = None,
                 overlays: Mapping[Path, bytes] | None = None) -> Session:
    """The one place a build session is opened, for every face (a run and a watch's rebuilds on the
    command line, the language server's checks and runs). Without a runner of the caller's, the
    session's runner echoes each command to `out` under -x and -n (with the work directory shown as
    $WORK), and -n runs nothing; `out` also hears -v's notes. Without a store, the configuration's
    cache (with its remote tier) is opened."""
    if runner is None:
        def rewrite(line: str) -> str:
            w = work.created
            return line.replace(str(w), "$WORK") if w is not None else line

        show = flags is not None and (flags.x or flags.n)
        runner = Runner(env=config.child_env(), echo=out if show else None,
                        dry_run=flags is not None and flags.n, rewrite=rewrite)
    return Session(config=config, toolchain=toolchain, runner=runner,
                   store=store if store is not None else open_store(config), work=work,
                   verbose=out if flags is not None and flags.v else None, overlays=dict(overlays or {}))


class Troubles:
    """The remote cache's trouble at the end of each session, each message told once."""

    def __init__(self, tell: Callable[[str], None]) -> None:
        self._tell = tell
        self._told: set[str] = set()
        self._lock = threading.Lock()

    def finish(self, store: Cache, *, detach: bool) -> None:
        """Record the session's cache counts and hand its pending uploads on (`detach`: to a detached
        process); tell the remote's trouble unless it was told before."""
        from rungo.cache.tiered import TieredCache

        if not isinstance(store, TieredCache):
            return
        trouble = store.finish(detach=detach)
        with self._lock:
            if not trouble or trouble in self._told:
                return
            self._told.add(trouble)
        self._tell(trouble)


def remembers(inv: Invocation) -> bool:
    """Whether a build of this invocation may be remembered for an unchanged rerun: not when the
    user asked to see or keep what a build does (-x, -n, -v, -work) or to force it (-a)."""
    f = inv.flags
    return not (f.x or f.n or f.a or f.work or f.v)


def build(session: Session, inv: Invocation) -> Prepared:
    """Builds the program `inv` names: natively, or through the go command when the native
    pipeline does not build it. Raises RunError with go's wording on failure."""
    exec_argv = _exec_argv(session, inv)
    loaded = _load(session, inv, link=True, require_main=True)
    if isinstance(loaded, LoadProblem):
        from rungo.work.gocommand import GoCommandError, build_with_go, go_build_args

        if session.verbose is not None:
            session.verbose.write(f"rungo: building with the go command: {loaded.go_command}\n")
            session.verbose.flush()
        try:
            got = build_with_go(session.go_command(), inv, go_build_args(inv), remember=remembers(inv))
        except GoCommandError as e:
            raise RunError(e.text, e.stage) from None
        return Prepared(binary=got.binary, exec_argv=exec_argv, temporary=got.temporary, watched=got.watched,
                        main=None, messages=got.messages, inputs_since_ns=got.inputs_since_ns,
                        go_command=loaded.go_command)
    program, outcome = loaded
    assert outcome is not None      # a link builds its external packages
    if outcome.binary is None:
        raise RunError("rungo: the build produced no binary", "link", outcome=outcome, package=program.main)
    watched = program.watched if outcome.exact else tuple(Watched(w.path, w.stamp) for w in program.watched)
    watched = (*watched, Watched(str(outcome.binary), stamp(outcome.binary)))
    return Prepared(binary=outcome.binary, exec_argv=exec_argv, temporary=outcome.temporary, watched=watched,
                    main=program.main, messages=outcome.warnings,
                    rememberable=program.cgo is None or not any(b.pkg_config for b in program.cgo.packages.values()))


def check(session: Session, inv: Invocation, *, build: bool = True) -> PackageCheck:
    """Loads and compiles the package `inv` names (any package, main or not), linking nothing.
    Without `build`, nothing is compiled when its external imports are not built yet: the check then
    holds the loaded program (`source`) for a type check from source."""
    cwd = session.config.cwd
    try:
        loaded = _load(session, inv, link=False, require_main=False, build=build)
    except RunError as e:
        if e.outcome is not None:
            outputs = tuple((c.import_path, c.output) for c in e.outcome.compiles if c.failed)
            return PackageCheck(e.package, cwd, e.errors, outputs, "" if outputs else e.text, e.outcome.kept,
                                e.watched)
        if e.errors:
            return PackageCheck(e.package, cwd, e.errors, (), "")
        return PackageCheck(e.package, cwd, (), (), e.text)
    if isinstance(loaded, LoadProblem):
        from rungo.work.gocommand import check_with_go, go_build_args

        output = check_with_go(session.go_command(), inv, go_build_args(inv), session.overlays)
        return PackageCheck(None, cwd, (), (("", output),) if output else (), "")
    program, outcome = loaded
    if outcome is None:
        tc = session.toolchain
        inputs = TypeCheckInputs(tc.tool("compile"), program.main, compile_args(program.main, program, inv.flags, cwd),
                                 trimpath_rewrite(program.main, inv.flags), "", (), "")
        return PackageCheck(program.main, cwd, program.load_errors, (), "", inputs, program.watched, source=program)
    return PackageCheck(program.main, cwd, program.load_errors, (), "", outcome.kept, program.watched)


def _load(session: Session, inv: Invocation, *, link: bool, require_main: bool,
          build: bool = True) -> tuple[Program, BuildOutcome | None] | LoadProblem:
    """Load, plan and execute natively: (program, outcome), or the LoadProblem that sends the build
    to the go command. Raises RunError for everything else. Without `build` (a check), the outcome
    is None when the external packages are not built yet: nothing is compiled."""
    tc, config = session.toolchain, session.config
    req = LoadRequest(inv, tc, config.cwd, config.env, session.overlays, link=link, require_main=require_main,
                      build_externals=build)
    program = load_program(req, runner=session.runner, store=session.store, tmpdir=session.work.go_tmpdir)
    if isinstance(program, LoadProblem):
        if program.go_command:
            return program
        raise RunError(program.text, program.stage, errors=program.errors, package=program.package,
                       watched=program.watched)
    if program.graph_fallback and session.verbose is not None:
        session.verbose.write(f"rungo: go list -export builds the external packages: {program.graph_fallback}\n")
        session.verbose.flush()
    if not program.externals_built and not program.graph:
        return program, None
    plan = plan_program(program, inv.flags, tc, cwd=config.cwd, env=config.env)
    builder = Builder(
        runner=session.runner,
        store=session.store,
        compile_tool=tc.tool("compile"),
        link_tool=tc.tool("link"),
        asm_tool=tc.tool("asm"),
        cgo_tool=tc.tool("cgo"),
        cgo=program.cgo,
        tool_version=tc.version,
        target_env={k: tc.env.get(k, "") for k in TARGET_ENV},
        external=program.external,
        cwd=config.cwd,
        work=session.work,
        parallel=inv.flags.p or os.cpu_count() or 1,
        force=inv.flags.a,
        verbose=session.verbose,
        overlays=program.overlays,
        keep="" if link else program.main.import_path,
    )
    outcome = builder.run(plan)
    if outcome.failed_stage is not None:
        raise RunError(outcome.errors.rstrip("\n"), outcome.failed_stage, outcome=outcome, package=program.main,
                       watched=program.watched, errors=program.load_errors)
    return program, outcome


def _exec_argv(session: Session, inv: Invocation) -> tuple[str, ...]:
    """The argv prefix that runs the program: -exec's program, or go_$GOOS_$GOARCH_exec when
    cross-compiling, else nothing."""
    env = session.toolchain.env
    return find_exec_cmd(inv.flags.exec_cmd, env.get("GOOS", ""), env.get("GOARCH", ""), env.get("GOHOSTOS", ""),
                         env.get("GOHOSTARCH", ""), session.config.env.get("PATH", os.defpath))
