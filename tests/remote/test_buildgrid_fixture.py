"""The BuildGrid fixture itself: it serves, keeps its blobs on disk across a restart, and corrupt()
damages a stored blob so that only its digest tells."""

from __future__ import annotations

import hashlib
import socket
import subprocess
from pathlib import Path
from typing import Callable

import pytest

from buildgrid import BGD, BuildGrid


def upload(server: BuildGrid, path: Path) -> str:
    got = server.cli("cas", "upload-file", str(path))
    assert got.returncode == 0, got.stdout + got.stderr
    digest = f"{hashlib.sha256(path.read_bytes()).hexdigest()}/{path.stat().st_size}"
    assert digest in got.stdout, got.stdout
    return digest


def download(server: BuildGrid, digest: str, dest: Path) -> bytes:
    got = server.cli("cas", "download-file", digest, str(dest))
    assert got.returncode == 0, got.stdout + got.stderr
    return dest.read_bytes()


def test_serves_restarts_and_corrupts(buildgrid: BuildGrid, tmp_path: Path) -> None:
    assert buildgrid.url == f"grpc://127.0.0.1:{buildgrid.port}"
    assert buildgrid.storage_dir.is_relative_to(tmp_path)
    lint = subprocess.run([str(BGD), "server", "lint", str(buildgrid.config_path)], capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    caps = buildgrid.cli("capabilities")
    assert caps.returncode == 0 and '"updateEnabled": true' in caps.stdout, caps.stdout + caps.stderr

    src = tmp_path / "blob.txt"
    src.write_bytes(b"a blob for the remote cache\n")
    digest = upload(buildgrid, src)
    hash_hex, size = digest.split("/")
    stored = buildgrid.blob_path(hash_hex)
    assert stored.read_bytes() == src.read_bytes()

    port = buildgrid.port
    buildgrid.stop()
    assert not buildgrid.running
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
    buildgrid.restart()
    assert buildgrid.running and buildgrid.port == port
    assert download(buildgrid, digest, tmp_path / "again.txt") == src.read_bytes()

    buildgrid.corrupt(hash_hex)
    damaged = stored.read_bytes()
    assert damaged != src.read_bytes() and len(damaged) == int(size)
    assert hashlib.sha256(damaged).hexdigest() != hash_hex
    assert download(buildgrid, digest, tmp_path / "damaged.txt") == damaged      # served as it is
    assert "Starting BuildGrid server" in buildgrid.log


@pytest.mark.parametrize("buildgrid", ["main"], indirect=True)
def test_named_instance(buildgrid: BuildGrid, make_buildgrid: Callable[..., BuildGrid]) -> None:
    assert buildgrid.instance_name == "main"
    assert buildgrid.cli("capabilities").returncode == 0
    other = make_buildgrid()
    assert other.port != buildgrid.port and other.instance_name == ""
    assert other.cli("capabilities").returncode == 0
