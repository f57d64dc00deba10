"""The committed REAPI classes are what tools/gen_reapi.py makes from tools/reapi/ today, and they
load with the installed protobuf and grpcio."""

from __future__ import annotations

import subprocess
import sys

from conftest import ROOT


def test_generated_modules_are_up_to_date() -> None:
    p = subprocess.run([sys.executable, str(ROOT / "tools" / "gen_reapi.py"), "--check"], capture_output=True,
                       text=True, timeout=300)
    assert p.returncode == 0, p.stderr


def test_generated_modules_load_and_round_trip() -> None:
    from rungo.cache.remote.reapi import bytestream_pb2, remote_execution_pb2 as pb

    result = pb.ActionResult(output_files=[pb.OutputFile(path="out", digest=pb.Digest(hash="ab" * 32, size_bytes=3),
                                                         is_executable=True)])
    again = pb.ActionResult.FromString(result.SerializeToString())
    assert again.output_files[0].digest.size_bytes == 3 and again.output_files[0].is_executable
    assert bytestream_pb2.ReadRequest(resource_name="blobs/x/1").resource_name == "blobs/x/1"
