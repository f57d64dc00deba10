"""The remote cache's transport against real BuildGrid servers: TLS, a bearer token the server checks,
an instance name, blobs too big for one batch (ByteStream), a server that refuses writes, and one that
accepts connections but never answers."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path
from typing import Iterator

import pytest

from buildgrid import BGD_VENV, BuildGrid, installed, NOT_INSTALLED
from conftest import rungo, write_tree
from test_team_cache import PROGRAM, machine, stats, tools_run, wait_uploads


@pytest.fixture
def program(tmp_path: Path) -> Path:
    return write_tree(tmp_path / "src", PROGRAM)


@pytest.fixture
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BuildGrid]:
    if not installed():
        pytest.skip(NOT_INSTALLED)
    kw = dict(getattr(request, "param", {}))
    grid = BuildGrid(tmp_path / "buildgrid", **kw)
    try:
        yield grid.start()
    finally:
        grid.stop()


def _certificate(d: Path) -> tuple[Path, Path]:
    d.mkdir(parents=True, exist_ok=True)
    cert, key = d / "cert.pem", d / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "2", "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                   check=True, capture_output=True, timeout=60)
    return cert, key


def _jwt(secret: bytes, tmp: Path) -> Path:
    """A bearer token signed with the server's secret (made with the PyJWT BuildGrid itself uses)."""
    out = tmp / "token"
    code = ("import jwt,sys,time; sys.stdout.write(jwt.encode({'sub': 'ci', 'exp': int(time.time()) + 3600}, "
            f"{secret!r}, algorithm='HS256'))")
    token = subprocess.run([str(BGD_VENV / "bin" / "python"), "-c", code], capture_output=True, text=True,
                           check=True, timeout=60).stdout
    out.write_text(token + "\n")
    return out


def test_tls_with_the_servers_certificate(tmp_path: Path, base_env: dict[str, str], program: Path) -> None:
    if not installed():
        pytest.skip(NOT_INSTALLED)
    cert, key = _certificate(tmp_path / "tls")
    with BuildGrid(tmp_path / "buildgrid", tls=(cert, key)) as grid:
        assert grid.url.startswith("grpcs://")
        a = machine(base_env, tmp_path, "a", grid, RUNGO_REMOTE_CACHE_CA=str(cert))
        first = rungo(["run", ".", "Ida"], program, a)
        assert (first.returncode, first.stdout, first.stderr) == (0, "hello, Ida\n", "")
        wait_uploads(a, program)
        b = machine(base_env, tmp_path, "b", grid, mode="read", RUNGO_REMOTE_CACHE_CA=str(cert))
        second = rungo(["run", "-x", ".", "Ida"], program, b)
        assert second.stdout == "hello, Ida\n" and tools_run(second) == [], second.stderr
        # Without the certificate the server is not trusted: one warning, a local build.
        c = machine(base_env, tmp_path, "c", grid)
        third = rungo(["run", ".", "Ida"], program, c)
        assert third.stdout == "hello, Ida\n"
        assert third.stderr.startswith(f"rungo: remote cache unavailable: {grid.url}: ") and third.stderr.count("\n") == 1


def test_a_bearer_token_from_a_file(tmp_path: Path, base_env: dict[str, str], program: Path) -> None:
    if not installed():
        pytest.skip(NOT_INSTALLED)
    secret = tmp_path / "secret"
    secret.write_bytes(b"team-cache-secret-0123456789abcdef")
    token = _jwt(secret.read_bytes(), tmp_path)
    with BuildGrid(tmp_path / "buildgrid", jwt_secret=secret, client_token=token) as grid:
        a = machine(base_env, tmp_path, "a", grid, RUNGO_REMOTE_CACHE_TOKEN_FILE=str(token))
        first = rungo(["run", ".", "Jo"], program, a)
        assert (first.returncode, first.stdout, first.stderr) == (0, "hello, Jo\n", "")
        wait_uploads(a, program)
        assert stats(a)["uploads"] > 20
        b = machine(base_env, tmp_path, "b", grid, RUNGO_REMOTE_CACHE_TOKEN=token.read_text().strip())
        second = rungo(["run", "-x", ".", "Jo"], program, b)
        assert second.stdout == "hello, Jo\n" and tools_run(second) == [], second.stderr
        # No token: the server says no; the run goes on locally and says so once.
        c = machine(base_env, tmp_path, "c", grid)
        third = rungo(["run", ".", "Jo"], program, c)
        assert third.stdout == "hello, Jo\n"
        assert third.stderr.count("\n") == 1 and "unauthenticated" in third.stderr, third.stderr


@pytest.mark.parametrize("server", [{"instance_name": "team/main"}], indirect=True)
def test_an_instance_name_and_blobs_bigger_than_a_batch(server: BuildGrid, tmp_path: Path,
                                                        base_env: dict[str, str]) -> None:
    """A 6 MiB embedded file makes the package's archive and the program bigger than BuildGrid's
    4 MiB batch limit: they go up and come down by ByteStream."""
    import os

    src = write_tree(tmp_path / "big", {
        "go.mod": "module example.com/big\n\ngo 1.22\n",
        "main.go": """\
            package main

            import (
            \t_ "embed"
            \t"crypto/sha256"
            \t"fmt"
            )

            //go:embed blob.bin
            var blob []byte

            func main() { fmt.Printf("%d %x\\n", len(blob), sha256.Sum256(blob)) }
            """,
    })
    data = os.urandom(6 << 20)
    (src / "blob.bin").write_bytes(data)
    import hashlib

    want = f"{len(data)} {hashlib.sha256(data).hexdigest()}\n"
    a = machine(base_env, tmp_path, "a", server)
    a["RUNGO_REMOTE_CACHE"] = server.url + "/team/main"
    first = rungo(["run", ".", ], src, a)
    assert (first.returncode, first.stdout, first.stderr) == (0, want, "")
    wait_uploads(a, src)
    b = machine(base_env, tmp_path, "b", server, mode="read", RUNGO_REMOTE_CACHE_INSTANCE="team/main")
    second = rungo(["run", "-x", "."], src, b)
    assert second.stdout == want and tools_run(second) == [], second.stderr
    assert stats(b)["bytes_down"] > 12 << 20
    # The instance is part of the address: another instance of the same server has nothing.
    c = machine(base_env, tmp_path, "c", server, mode="read", RUNGO_REMOTE_CACHE_INSTANCE="other")
    third = rungo(["run", "-x", "."], src, c)
    assert third.stdout == want and tools_run(third) == ["compile", "link"]


@pytest.mark.parametrize("server", [{"allow_updates": False}], indirect=True)
def test_a_server_that_refuses_writes(server: BuildGrid, tmp_path: Path, base_env: dict[str, str],
                                      program: Path) -> None:
    a = machine(base_env, tmp_path, "a", server)
    got = rungo(["run", ".", "Kim"], program, a)
    assert (got.returncode, got.stdout) == (0, "hello, Kim\n"), got.stderr
    lines = got.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"rungo: remote cache: {server.url}: writes refused"), got.stderr
    assert rungo(["cache", "wait"], program, a).returncode == 0
    assert stats(a)["uploads"] == 0


def test_a_server_that_never_answers(tmp_path: Path, base_env: dict[str, str], program: Path) -> None:
    """Connections are accepted (the kernel's backlog) but nothing is ever said: the connect
    deadline ends it, once for the whole run."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(64)
        port = s.getsockname()[1]
        env = machine(base_env, tmp_path, "a", None, RUNGO_REMOTE_CACHE=f"grpc://127.0.0.1:{port}")
        t0 = time.monotonic()
        got = rungo(["run", ".", "Lu"], program, env)
        took = time.monotonic() - t0
    assert (got.returncode, got.stdout) == (0, "hello, Lu\n"), got.stderr
    assert got.stderr.count("\n") == 1 and "remote cache unavailable" in got.stderr, got.stderr
    assert "no answer in time" in got.stderr or "unavailable" in got.stderr
    assert took < 240, took
