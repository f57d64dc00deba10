"""The go command's configuration files below the environment: where `go env -w` writes (the user's
go/env file), reading one (cmd/go's readEnvFile), and cfg.Getenv's table of both ($GOROOT/go.env
under the user's file). `toolchain` asks `go env -json` for the rest."""

from __future__ import annotations

from pathlib import Path
from typing import Mapping


def goenv_file(env: Mapping[str, str]) -> Path | None:
    """The `go env -w` settings file the toolchain reads."""
    if "GOENV" in env:
        return Path(env["GOENV"]) if env["GOENV"] not in ("", "off") else None
    xdg = env.get("XDG_CONFIG_HOME")
    if xdg:
        return Path(xdg) / "go" / "env"
    home = env.get("HOME")
    return Path(home) / ".config" / "go" / "env" if home else None


def read_env_file(path: Path) -> dict[str, str]:
    """cmd/go's readEnvFile: KEY=VALUE lines; others ignored."""
    out: dict[str, str] = {}
    try:
        data = path.read_bytes()
    except OSError:
        return out
    for raw in data.split(b"\n"):
        i = raw.find(b"=")
        if i < 0 or not raw or not (ord("A") <= raw[0] <= ord("Z")):
            continue
        out[raw[:i].decode("utf-8", "surrogateescape")] = raw[i + 1:].decode("utf-8", "surrogateescape")
    return out


def go_getenv(env: Mapping[str, str], goroot: str) -> dict[str, str]:
    """cmd/go's cfg.Getenv table below the environment: the user's go/env file over $GOROOT/go.env."""
    table = read_env_file(Path(goroot) / "go.env") if goroot else {}
    user = goenv_file(env)
    if user is not None:
        table.update(read_env_file(user))
    return table
