"""Where the remote cache is and how it may be used, from the environment or an editor's settings.

    RUNGO_REMOTE_CACHE              grpc://host:port (plain) or grpcs://host:port (TLS); an optional
                                    path is the instance name: grpc://host:port/main
    RUNGO_REMOTE_CACHE_MODE         readwrite (the default) or read (never writes)
    RUNGO_REMOTE_CACHE_INSTANCE     the instance name (overrides the URL's path)
    RUNGO_REMOTE_CACHE_TOKEN        a bearer token, sent as `authorization: Bearer <token>`
    RUNGO_REMOTE_CACHE_TOKEN_FILE   a file holding the token (read when the remote is first used)
    RUNGO_REMOTE_CACHE_CA           PEM file of the certificate authorities to trust for grpcs://

The token never appears in a message, a key or `repr`.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Mapping

MODES = ("readwrite", "read")

ENV_NAMES = ("RUNGO_REMOTE_CACHE", "RUNGO_REMOTE_CACHE_MODE", "RUNGO_REMOTE_CACHE_INSTANCE",
             "RUNGO_REMOTE_CACHE_TOKEN", "RUNGO_REMOTE_CACHE_TOKEN_FILE", "RUNGO_REMOTE_CACHE_CA")


class SettingsError(ValueError):
    """The remote cache is configured wrongly; the message names the setting."""


@dataclass(frozen=True, slots=True)
class RemoteSettings:
    """A parsed remote cache configuration."""

    target: str                 # host:port, as gRPC takes it
    tls: bool
    instance: str = ""
    mode: str = "readwrite"
    token: str = field(default="", repr=False)
    token_file: str = ""
    ca_file: str = ""

    @property
    def writes(self) -> bool:
        return self.mode == "readwrite"

    @property
    def url(self) -> str:
        """The address as the user wrote it (with the instance), for messages."""
        scheme = "grpcs" if self.tls else "grpc"
        return f"{scheme}://{self.target}" + (f"/{self.instance}" if self.instance else "")

    def bearer(self) -> str:
        """The token to send, read from the file when one is named; "" for none."""
        if self.token_file:
            try:
                with open(self.token_file, encoding="utf-8") as f:
                    return f.read().strip()
            except (OSError, UnicodeDecodeError) as e:
                reason = getattr(e, "strerror", None) or str(e)
                raise SettingsError(f"RUNGO_REMOTE_CACHE_TOKEN_FILE: reading {self.token_file}: {reason}") from e
        return self.token

    def to_env(self) -> dict[str, str]:
        """These settings as the environment variables that give them (for child processes)."""
        env = {"RUNGO_REMOTE_CACHE": f"{'grpcs' if self.tls else 'grpc'}://{self.target}",
               "RUNGO_REMOTE_CACHE_MODE": self.mode, "RUNGO_REMOTE_CACHE_INSTANCE": self.instance}
        if self.token:
            env["RUNGO_REMOTE_CACHE_TOKEN"] = self.token
        if self.token_file:
            env["RUNGO_REMOTE_CACHE_TOKEN_FILE"] = self.token_file
        if self.ca_file:
            env["RUNGO_REMOTE_CACHE_CA"] = self.ca_file
        return env


_URL = re.compile(r"(grpcs?)://([^/\s]+?)(?::([0-9]{1,5}))?(?:/(.*))?")
_HOST = re.compile(r"\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+")


def parse(url: str, *, mode: str = "", instance: str | None = None, token: str = "", token_file: str = "",
          ca_file: str = "", source: str = "RUNGO_REMOTE_CACHE") -> RemoteSettings:
    """Settings from a URL and its companions; raises SettingsError naming `source` when malformed."""
    m = _URL.fullmatch(url.strip())
    if m is None:
        raise SettingsError(f"{source}: {url!r} is not a remote cache address (want grpc://host:port or "
                            f"grpcs://host:port)")
    scheme, host, port, path = m.group(1), m.group(2), m.group(3), m.group(4) or ""
    if not _HOST.fullmatch(host):
        raise SettingsError(f"{source}: invalid host {host!r} in {url!r}")
    if port is None:
        port = "443" if scheme == "grpcs" else ""
        if not port:
            raise SettingsError(f"{source}: {url!r} has no port (want grpc://host:port)")
    if not 0 < int(port) < 65536:
        raise SettingsError(f"{source}: invalid port {port} in {url!r}")
    mode = mode.strip() or "readwrite"
    if mode not in MODES:
        raise SettingsError(f"{source}_MODE: unknown mode {mode!r} (want read or readwrite)")
    name = path.strip("/") if instance is None or instance == "" else instance
    if token and token_file:
        raise SettingsError(f"{source}_TOKEN and {source}_TOKEN_FILE are both set; set one")
    if "\n" in token or "\r" in token:
        raise SettingsError(f"{source}_TOKEN: the token holds a line break")
    if ca_file and scheme != "grpcs":
        raise SettingsError(f"{source}_CA is set but {url!r} does not use TLS (grpcs://)")
    return RemoteSettings(target=f"{host}:{port}", tls=scheme == "grpcs", instance=name, mode=mode,
                          token=token, token_file=os.path.abspath(token_file) if token_file else "",
                          ca_file=os.path.abspath(ca_file) if ca_file else "")


def from_env(env: Mapping[str, str]) -> RemoteSettings | None:
    """The remote cache the environment names, or None; raises SettingsError when malformed."""
    url = env.get("RUNGO_REMOTE_CACHE", "").strip()
    if not url:
        return None
    return parse(url, mode=env.get("RUNGO_REMOTE_CACHE_MODE", ""), instance=env.get("RUNGO_REMOTE_CACHE_INSTANCE"),
                 token=env.get("RUNGO_REMOTE_CACHE_TOKEN", ""), token_file=env.get("RUNGO_REMOTE_CACHE_TOKEN_FILE", ""),
                 ca_file=env.get("RUNGO_REMOTE_CACHE_CA", ""))
