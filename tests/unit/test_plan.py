"""The pure planning rules: which packages every link needs (cmd/go's load.LinkerDeps)."""

from __future__ import annotations

import pytest

from rungo.work.plan import LinkDepsError, external_closure, external_linking_reason, linker_deps
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
    from rungo.load.external import _decode, _encode
    from rungo.load.model import Watched

    pkgs = {
        "net": ExternalPackage("net", "net", "/x/net.a", True, ("C", "os"), "/goroot/src/net", deps=("os", "runtime/cgo")),
        "example.com/dep": ExternalPackage("example.com/dep", "dep", "/x/dep.a", False, ("fmt",), "/m/dep",
                                           "example.com/dep", "v1.0.0", "h1:x", "../dep", None, None,
                                           ("/m/dep/d.go",), ("fmt", "os")),
    }
    watched = (Watched("/m/dep/d.go", "1:2:3"), Watched("/m/dep", "dir:4:5"))
    assert _decode(_encode(pkgs, watched)) == (pkgs, watched)
