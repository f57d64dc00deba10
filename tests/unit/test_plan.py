"""The pure planning rules: which packages every link needs (cmd/go's load.LinkerDeps)."""

from __future__ import annotations

import pytest

from rungo.load.linkdeps import LinkDepsError, external_linking_reason, linker_deps
from rungo.work.plan import external_closure
from rungo.load.model import ExternalPackage


def deps(**kw: object) -> list[str]:
    args: dict[str, object] = dict(goos="linux", goarch="amd64", cgo_enabled=True, race=False, msan=False,
                                   asan=False, main_ldflags=[])
    args.update(kw)
    return linker_deps(**args)  # type: ignore[arg-type]


def test_everything_links_runtime() -> None:
    assert deps() == ["runtime"]
    assert deps(cgo_enabled=False) == ["runtime"]


def test_race_msan_asan_and_arm() -> None:
    assert deps(race=True) == ["runtime", "runtime/race"]
    assert deps(msan=True, asan=True) == ["runtime", "runtime/msan", "runtime/asan"]
    assert deps(goarch="arm") == ["runtime", "math"]


@pytest.mark.parametrize("ldflags,want", [
    (["-linkmode=external"], "-linkmode=external"),
    (["-linkmode", "external"], "-linkmode"),
    (["-linkmode=external", "-linkmode=internal"], ""),
    (["-linkmode=internal", "-linkmode", "external"], "-linkmode"),
    (["-s", "-w"], ""),
])
def test_last_linkmode_wins(ldflags: list[str], want: str) -> None:
    assert external_linking_reason("linux", "amd64", ldflags) == want


def test_external_linking_needs_runtime_cgo_and_cgo() -> None:
    assert deps(main_ldflags=["-linkmode=external"]) == ["runtime", "runtime/cgo"]
    assert deps(goos="android", goarch="arm") == ["runtime", "runtime/cgo", "math"]
    with pytest.raises(LinkDepsError, match="^ios/arm64 requires external"):
        deps(goos="ios", goarch="arm64", cgo_enabled=False)


def test_closure_follows_implicit_deps() -> None:
    ext = {
        "net": ExternalPackage("net", "net", "/x/net.a", True, ("C", "os"), "", deps=("os", "runtime/cgo")),
        "os": ExternalPackage("os", "os", "/x/os.a", True, (), ""),
        "runtime/cgo": ExternalPackage("runtime/cgo", "cgo", "/x/cgo.a", True, ("unsafe",), ""),
    }
    assert external_closure(["net"], ext) == ["net", "os", "runtime/cgo"]


def test_go_list_snapshot_round_trips() -> None:
    from rungo.load.external import _FORMAT, _UNBUILT, _decode, _encode
    from rungo.load.model import ExternalSources
    from rungo.load.model import Watched

    pkgs = {
        "net": ExternalPackage("net", "net", "/x/net.a", True, ("C", "os"), "/goroot/src/net", deps=("os", "runtime/cgo")),
        "example.com/dep": ExternalPackage("example.com/dep", "dep", "/x/dep.a", False, ("fmt",), "/m/dep",
                                           "example.com/dep", "v1.0.0", "h1:x", "../dep", None, None,
                                           ("/m/dep/d.go",), ("fmt", "os")),
        "runtime/cgo": ExternalPackage("runtime/cgo", "cgo", "", True, ("C",), "/goroot/src/runtime/cgo",
                                       files=("cgo.go",), sources=ExternalSources(
                                           ("cgo.go",), ("asm_amd64.s",), ("libcgo.h",), (), ("gcc_util.c",),
                                           ("x/*",), (("a", "vendor/a"),), "1.22", ("00" * 32,), "/m")),
    }
    watched = (Watched("/m/dep/d.go", "1:2:3"), Watched("/m/dep", "dir:4:5"))
    for fmt in (_FORMAT, _FORMAT + _UNBUILT):
        assert _decode(_encode(pkgs, watched, fmt), fmt) == (pkgs, watched)
    assert _decode(_encode(pkgs, watched, _FORMAT + _UNBUILT), _FORMAT) is None
    assert _decode(_encode(pkgs, watched, _FORMAT), _FORMAT + _UNBUILT) is None


# -- plans of representative programs, without subprocesses ---------------------------------------

from pathlib import Path  # noqa: E402
from typing import cast  # noqa: E402

from rungo.invocation import parse_run_args  # noqa: E402
from rungo.load.cgoload import CgoBuild, CgoSetup, cgo_package  # noqa: E402
from rungo.load.constraints import BuildContext  # noqa: E402
from rungo.load.cgoflags import CgoPackage  # noqa: E402
from rungo.load.cgoflags import CgoEnvironment, PackageFlags  # noqa: E402
from rungo.load.cgosecurity import SecurityRules  # noqa: E402
from rungo.load.model import LocalPackage, Module, SourceFile  # noqa: E402
from rungo.load.program import Program  # noqa: E402
from rungo.syntax.model import FileSummary  # noqa: E402
from rungo.toolchain import Toolchain  # noqa: E402
from rungo.work.plan import Plan, plan_program  # noqa: E402

MOD = Module(path="example.com/m", dir=Path("/m"), gomod=Path("/m/go.mod"), go_version="1.22")
TC = Toolchain(go=Path("/go/bin/go"), origin="PATH", reason="", goroot=Path("/go"), tooldir=Path("/go/pkg/tool/linux_amd64"),
               version="go1.26.8", env={"GOOS": "linux", "GOARCH": "amd64", "GOAMD64": "v3", "CC": "cc"})
CTX = BuildContext(goos="linux", goarch="amd64", tags=frozenset(), cgo_enabled=True, go_minor=26)
STD = {name: ExternalPackage(name, name.rsplit("/", 1)[-1], f"/cache/{name}.a", True, imports, f"/go/src/{name}")
       for name, imports in [("fmt", ("os",)), ("os", ("runtime",)), ("runtime", ()), ("runtime/race", ("runtime",)),
                             ("example.com/dep", ("fmt",))]}
STD["example.com/dep"] = ExternalPackage("example.com/dep", "dep", "/cache/dep.a", False, ("fmt",), "/mc/dep",
                                         "example.com/dep", "v1.2.3")


def _file(path: str) -> SourceFile:
    return SourceFile(Path(path), b"\0" * 32, FileSummary("main", None, (), False, (), (), None, ()))


def _pkg(ip: str, name: str, d: str, imports: tuple[str, ...], *, other: tuple[str, ...] = (),
         files: tuple[str, ...] = ("x.go",), module: Module | None = MOD, cmdline: bool = False) -> LocalPackage:
    return LocalPackage(ip, name, Path(d), tuple(_file(f"{d}/{f}") for f in files), (), tuple(Path(f"{d}/{o}") for o in other),
                        imports, (), (), (), module, cmdline)


LIB = _pkg("example.com/m/lib", "lib", "/m/lib", ("fmt",))
MAIN = _pkg("example.com/m", "main", "/m", ("example.com/dep", "example.com/m/lib", "os"), cmdline=True)


def plan_of(args: list[str], local: tuple[LocalPackage, ...] = (LIB, MAIN), *, link: bool = True,
            roots: tuple[str, ...] = ("runtime",), module: Module | None = MOD, cgo: CgoSetup | None = None) -> Plan:
    inv = parse_run_args([*args, "."], "")
    program = Program(module=module, main=local[-1], local=local, external=STD, context=CTX, link=link,
                      link_roots=roots, godebug="panicnil=1", go_sum={("example.com/dep", "v1.2.3"): "h1:abc"},
                      overlays={}, watched=(), cgo=cgo)
    return plan_program(program, inv.flags, TC, cwd=Path("/m"), env={"CGO_CFLAGS": "-O2"})


def test_plan_of_a_main_package_with_a_local_and_a_module_dependency() -> None:
    plan = plan_of([])
    lib, main = plan.compiles
    assert lib.args == ("-p", "example.com/m/lib", "-lang=go1.22", "-complete", "-e")
    assert main.args == ("-p", "main", "-lang=go1.22", "-complete", "-dwarf=false", "-e")
    assert main.local_deps == ("example.com/m/lib",) and main.ext_deps == ("example.com/dep", "os")
    assert lib.trimpath == "" and main.asm_files == () and main.objects == ()
    link = plan.link
    assert link is not None
    assert link.args == ("-s", "-w", "-X=runtime.godebugDefault=panicnil=1", "-buildmode=exe", "-extld=cc")
    assert link.name == "m" and link.local == ("example.com/m/lib", "example.com/m")
    assert link.external == ("example.com/dep", "fmt", "os", "runtime")
    assert link.env == (("GOROOT", "/go"),)
    info = link.modinfo
    assert "dep\\texample.com/dep\\tv1.2.3\\th1:abc" in info and "build\\tCGO_CFLAGS=-O2" in info
    assert "build\\tGOAMD64=v3" in info and "DefaultGODEBUG=panicnil=1" in info


def test_race_reaches_every_compile_and_the_link() -> None:
    plan = plan_of(["-race"], roots=("runtime", "runtime/race"))
    lib, main = plan.compiles
    assert lib.args[-4:] == ("-installsuffix", "race", "-race", "-e")
    assert main.args[-5:] == ("-installsuffix", "race", "-dwarf=false", "-race", "-e")
    assert plan.link is not None
    assert plan.link.args[:2] == ("-installsuffix", "race") and "-race" in plan.link.args
    assert "runtime/race" in plan.link.external
    assert "build\\t-race=true" in plan.link.modinfo


def test_per_package_flags_reach_only_their_packages() -> None:
    plan = plan_of(["-gcflags=example.com/m/lib=-N -l", "-ldflags=-extld=clang -X main.v=1"])
    lib, main = plan.compiles
    assert lib.args[-3:] == ("-N", "-l", "-e") and "-N" not in main.args
    assert plan.link is not None
    assert plan.link.args[-3:] == ("-extld=clang", "-X", "main.v=1")
    assert not any(a == "-extld=cc" for a in plan.link.args)


def test_assembly_and_syso() -> None:
    asm = _pkg("example.com/m/asm", "asm", "/m/asm", (), other=("a_amd64.s", "x.h", "b.syso"))
    main = _pkg("example.com/m", "main", "/m", ("example.com/m/asm",))
    plan = plan_of(["-asmflags=-D=EXTRA"], (asm, main))
    step = plan.compiles[0]
    assert "-complete" not in step.args
    assert step.asm_files == (Path("/m/asm/a_amd64.s"),) and step.headers == (Path("/m/asm/x.h"),)
    assert step.objects == (Path("/m/asm/b.syso"),)
    assert step.asm_args[:2] == ("-I", "/go/pkg/include")
    assert ("-D", "GOOS_linux") == step.asm_args[2:4] and "GOAMD64_v3" in step.asm_args
    syso_only = _pkg("example.com/m/s", "s", "/m/s", (), other=("b.syso",))
    step = plan_of([], (syso_only, main))
    assert "-complete" not in step.compiles[0].args and step.compiles[0].asm_args == ()


def test_trimpath() -> None:
    plan = plan_of(["-trimpath"])
    assert plan.compiles[0].trimpath == "/m=>example.com/m"
    assert plan.link is not None and plan.link.env == (("GOROOT", ""),)
    assert "build\\t-trimpath=true" in plan.link.modinfo and "CGO_CFLAGS" not in plan.link.modinfo


def test_named_files_compile_at_the_toolchain_language_version() -> None:
    files = _pkg("command-line-arguments", "main", "/m", ("fmt",), files=("gen.go", "util.go"), cmdline=True)
    plan = plan_of([], (files,))
    assert plan.compiles[0].args[:3] == ("-p", "main", "-lang=go1.26")
    assert plan.link is not None and plan.link.name == "gen"


def test_a_check_plans_no_link() -> None:
    assert plan_of([], link=False).link is None


def test_a_cgo_package_compiles_with_its_cgo_part() -> None:
    """No -complete, the implicit imports of a cgo package, its C files as cgo's (not asm's), and
    -extld as the load stage decided it (CXX when a package has C++ files)."""
    sq = _pkg("example.com/m/sq", "sq", "/m/sq", ("fmt",), files=("sq.go",),
              other=("sq.c", "sq.h", "lib.cc", "x.S", "b.syso"))
    main = _pkg("example.com/m", "main", "/m", ("example.com/m/sq",))
    cpkg = cgo_package(sq, trimpath=False)
    assert isinstance(cpkg, CgoPackage)
    assert cpkg.c_files == ("sq.c",) and cpkg.cxx_files == ("lib.cc",) and cpkg.s_files == ("x.S",)
    assert cpkg.h_files == ("sq.h",) and cpkg.syso_files == ("b.syso",) and cpkg.cgo_files == ()
    flags = PackageFlags(("-DA",), ("-O2", "-g"), ("-O2", "-g"), (), ("-lm",), False)
    cenv = CgoEnvironment(cc=("gcc",), cxx=("g++",), fc=("gfortran",), fc_setting="", pkg_config="pkg-config",
                          cppflags=(), cflags=("-O2", "-g"), cxxflags=("-O2", "-g"), fflags=(), ldflags=(),
                          overrides=(), goos="linux", goarch="amd64", gomips="", gomips64="", child_env=(),
                          cgo_enabled=True)
    build = CgoBuild(cpkg, flags)
    setup = CgoSetup(cenv, cast(SecurityRules, None), {"example.com/m/sq": build}, True, "-extld=g++")
    plan = plan_of([], (sq, main), cgo=setup)
    step = plan.compiles[0]
    assert "-complete" not in step.args and step.cgo == build
    assert step.ext_deps == ("fmt", "runtime/cgo", "syscall")
    assert step.asm_files == () and step.objects == () and step.headers == ()
    assert plan.compiles[1].cgo is None and "-complete" in plan.compiles[1].args
    assert plan.link is not None and plan.link.args[-1] == "-extld=g++"


# -- the whole graph (RUNGO_GRAPH=native) -----------------------------------------------------------

from dataclasses import replace  # noqa: E402

from rungo.load.graph import NotInGraph, dependency_order, graph_packages  # noqa: E402
from rungo.load.model import ExternalSources  # noqa: E402
from rungo.work.buildinfo import ModuleInfo, build_info_text  # noqa: E402


def _ext(ip: str, imports: tuple[str, ...], d: str, *, standard: bool = True, go_version: str = "",
         asm: tuple[str, ...] = (), cgo: tuple[str, ...] = (), import_map: tuple[tuple[str, str], ...] = (),
         module: tuple[str, str] | None = None) -> ExternalPackage:
    return ExternalPackage(ip, ip.rsplit("/", 1)[-1], "", standard, imports, d,
                           module[0] if module else None, module[1] if module else None,
                           watched=(d,), files=(), sources=ExternalSources(
                               cgo_files=cgo, asm=asm, import_map=import_map, go_version=go_version))


GRAPH = {
    "runtime": _ext("runtime", ("internal/abi", "unsafe"), "/go/src/runtime", asm=("asm_amd64.s",)),
    "internal/abi": _ext("internal/abi", (), "/go/src/internal/abi"),
    "sync": _ext("sync", ("runtime",), "/go/src/sync"),
    "net/http": _ext("net/http", ("sync", "vendor/golang.org/x/net/http/httpguts"), "/go/src/net/http",
                     import_map=(("golang.org/x/net/http/httpguts", "vendor/golang.org/x/net/http/httpguts"),)),
    "vendor/golang.org/x/net/http/httpguts": _ext("vendor/golang.org/x/net/http/httpguts", ("sync",),
                                                  "/go/src/vendor/golang.org/x/net/http/httpguts"),
    "example.com/dep/sub": _ext("example.com/dep/sub", ("net/http",), "/mc/example.com/dep@v1.2.3/sub",
                                standard=False, go_version="1.18.2", module=("example.com/dep", "v1.2.3")),
    "unsafe": _ext("unsafe", (), "/go/src/unsafe"),
}


def test_the_graph_is_in_dependency_order() -> None:
    order = dependency_order(["example.com/dep/sub", "runtime"], GRAPH)
    assert "unsafe" not in order and len(order) == 6
    for path in order:
        for imp in GRAPH[path].imports:
            if imp != "unsafe":
                assert order.index(imp) < order.index(path), (imp, path)


def test_cgo_packages_join_the_graph_after_their_implicit_imports() -> None:
    rcgo = _ext("runtime/cgo", (), "/go/src/runtime/cgo", cgo=("cgo.go",))
    net = ExternalPackage("net", "net", "", True, ("C", "sync"), "/go/src/net", deps=("runtime", "runtime/cgo", "sync"),
                          sources=ExternalSources(cgo_files=("cgo_unix.go",)))
    graph = graph_packages(["net"], {**GRAPH, "runtime/cgo": rcgo, "net": net})
    assert not isinstance(graph, NotInGraph)
    paths = [p.import_path for p in graph]
    assert paths.index("runtime/cgo") < paths.index("net") and paths.index("sync") < paths.index("net")
    assert [p.uses_cgo for p in graph if p.import_path in ("net", "runtime/cgo")] == [True, True]


def test_swig_keeps_the_graph_with_go_list() -> None:
    swig = ExternalPackage("example.com/s", "s", "", False, (), "/mc/s",
                           sources=ExternalSources(cgo_files=("s.go",), foreign=("s.swig",)))
    got = graph_packages(["example.com/s"], {"example.com/s": swig})
    assert isinstance(got, NotInGraph) and got.reason == "package example.com/s uses SWIG"


def graph_plan(args: list[str], ctx: BuildContext = CTX) -> Plan:
    graph = graph_packages(["example.com/dep/sub", "runtime"], GRAPH)
    assert not isinstance(graph, NotInGraph)
    main = _pkg("example.com/m", "main", "/m", ("example.com/dep/sub",), cmdline=True)
    inv = parse_run_args([*args, "."], "")
    program = Program(module=MOD, main=main, local=(main,), external=GRAPH, context=ctx, link=True,
                      link_roots=("runtime",), godebug="", go_sum={}, overlays={}, watched=(), graph=graph)
    return plan_program(program, inv.flags, TC, cwd=Path("/m"), env={})


def test_the_standard_library_and_modules_get_cmd_gos_flags() -> None:
    plan = graph_plan(["-gcflags=std=-l", "-trimpath"])
    steps = {s.pkg.import_path: s for s in plan.compiles}
    assert steps["runtime"].args == ("-p", "runtime", "-lang=go1.26", "-std", "-l")
    assert "-std" not in steps["runtime"].asm_args and steps["runtime"].asm_files == (Path("/go/src/runtime/asm_amd64.s"),)
    assert steps["internal/abi"].args == ("-p", "internal/abi", "-lang=go1.26", "-std", "-complete", "-l")
    assert steps["sync"].args == ("-p", "sync", "-lang=go1.26", "-std", "-l")      # runtime supplies bodies
    assert steps["example.com/dep/sub"].args == ("-p", "example.com/dep/sub", "-lang=go1.18", "-complete")
    assert steps["example.com/dep/sub"].trimpath == "/mc/example.com/dep@v1.2.3/sub=>example.com/dep@v1.2.3/sub"
    assert steps["net/http"].trimpath == "/go/src/net/http=>net/http"
    assert steps["net/http"].import_map == (("golang.org/x/net/http/httpguts", "vendor/golang.org/x/net/http/httpguts"),)
    assert all(s.in_place for p, s in steps.items() if p != "example.com/m")
    main = steps["example.com/m"]
    assert main.local_deps == ("example.com/dep/sub", "runtime") and main.ext_deps == ()
    assert plan.link is not None and plan.link.external == ()
    assert plan.link.local[-1] == "example.com/m" and set(plan.link.local) == set(steps)


def test_the_assembler_takes_std_from_go_1_27() -> None:
    from dataclasses import replace

    runtime = next(s for s in graph_plan([], replace(CTX, go_minor=27)).compiles if s.pkg.import_path == "runtime")
    assert runtime.asm_args[-1] == "-std" and runtime.args[:3] == ("-p", "runtime", "-lang=go1.27")


def test_a_newer_go_line_than_the_toolchain_compiles_at_the_toolchains() -> None:
    newer = {**GRAPH, "example.com/dep/sub": _ext("example.com/dep/sub", (), "/mc/d", standard=False,
                                                  go_version="1.99", module=("example.com/dep", "v1.0.0"))}
    graph = graph_packages(["example.com/dep/sub"], newer)
    assert not isinstance(graph, NotInGraph)
    from rungo.work.plan import graph_compile_args

    main = _pkg("example.com/m", "main", "/m", (), cmdline=True)
    program = Program(module=MOD, main=main, local=(main,), external=newer, context=CTX, link=True,
                      link_roots=(), godebug="", go_sum={}, overlays={}, watched=(), graph=graph)
    assert "-lang=go1.26" in graph_compile_args(graph[0], program, parse_run_args(["."], "").flags, Path("/m"))


def test_build_info_has_a_blank_line_after_a_replacement() -> None:
    text = build_info_text("example.com/m", ModuleInfo("example.com/m", "(devel)"),
                           [ModuleInfo("example.com/dep", "v1.0.0", "", ModuleInfo("../dep", "(devel)"))],
                           [("-asmflags", "all=-D=X"), ("-buildmode", "exe")])
    assert "dep\texample.com/dep\tv1.0.0\n=>\t../dep\t(devel)\t\n\nbuild\t-asmflags=all=-D=X\nbuild\t-buildmode=exe\n" in text


def test_race_instruments_the_graph_and_pgo_reaches_every_compile() -> None:
    graph = graph_packages(["example.com/dep/sub", "runtime"], GRAPH)
    assert not isinstance(graph, NotInGraph)
    main = _pkg("example.com/m", "main", "/m", ("example.com/dep/sub",), cmdline=True)
    inv = parse_run_args(["-race", "-trimpath", "."], "")
    program = Program(module=MOD, main=main, local=(main,), external=GRAPH, context=CTX, link=True,
                      link_roots=("runtime",), godebug="", go_sum={}, overlays={}, watched=(), graph=graph,
                      pgo=Path("/m/default.pgo"))
    plan = plan_program(program, inv.flags, TC, cwd=Path("/m"), env={})
    steps = {s.pkg.import_path: s for s in plan.compiles}
    assert steps["runtime"].args[-3:] == ("-installsuffix", "race", "-race")
    assert all(s.pgo == Path("/m/default.pgo") for s in plan.compiles)
    from rungo.work.plan import build_settings

    settings = build_settings(program, inv.flags, TC, {})
    keys = [k for k, _ in settings]
    assert keys == sorted(keys) and ("-pgo", "default.pgo") in settings     # base name under -trimpath


def test_the_ready_queue_ranks_the_longest_chain_first() -> None:
    from rungo.work.execute import _critical_path

    plan = graph_plan([])
    rank = _critical_path(plan.compiles)
    # runtime is waited on by everything above it; net/http by less; the main package by nothing
    assert rank["runtime"] > rank["sync"] > rank["net/http"] > rank["example.com/dep/sub"] > rank["example.com/m"]
    assert rank["example.com/m"] == 1 + len(plan.compiles[-1].pkg.files)


def test_a_cgo_package_gets_the_syso_files_of_what_it_depends_on() -> None:
    from rungo.work.plan import _with_dep_objects

    race = _ext("runtime/race/internal/amd64v1", (), "/go/src/runtime/race/internal/amd64v1")
    race = ExternalPackage(race.import_path, "amd64v1", "", True, (), race.dir, watched=(race.dir,), files=(),
                           sources=ExternalSources(syso=("race_linux.syso",)))
    rrace = _ext("runtime/race", (race.import_path,), "/go/src/runtime/race", cgo=("race.go",))
    ext = {**GRAPH, race.import_path: race, "runtime/race": rrace}
    graph = graph_packages(["runtime/race", "runtime"], ext)
    assert not isinstance(graph, NotInGraph)
    main = _pkg("example.com/m", "main", "/m", (), cmdline=True)
    program = Program(module=MOD, main=main, local=(main,), external=ext, context=CTX, link=True,
                      link_roots=("runtime", "runtime/race"), godebug="", go_sum={}, overlays={}, watched=(),
                      graph=graph)
    inv = parse_run_args(["."], "")
    plan = plan_program(program, inv.flags, TC, cwd=Path("/m"), env={})
    steps = {s.pkg.import_path: s for s in plan.compiles}
    fake = CgoBuild(cast(CgoPackage, None), cast(PackageFlags, None))
    marked = _with_dep_objects([s if s.pkg.import_path not in ("runtime/race", "example.com/m")
                                else replace(s, cgo=fake) for s in plan.compiles], program)
    got = {s.pkg.import_path: s.dep_objects for s in marked}
    want = (Path("/go/src/runtime/race/internal/amd64v1/race_linux.syso"),)
    assert got["runtime/race"] == want and got["example.com/m"] == want     # the main's: through the link roots
    assert steps["runtime"].dep_objects == () and got["runtime"] == ()
