"""A Remote Execution API client for a cache: look up action results, read and write CAS blobs.

Every local action ID becomes a REAPI action: a `Command` whose arguments name the action ID, an
`Action` over that command and the empty input root. The action's digest is the ActionCache key,
so the entries are ordinary REAPI actions any server keeps. An `ActionResult` names one output
file, "out", by its digest (the local output ID is the same sha256).

Faults cost a bounded time: the first contact waits at most CONNECT_TIMEOUT, every call has a
deadline, and after a failure the remote is not used again by any process sharing the local
cache for BACKOFF_SECONDS (a state file in the cache directory says until when, and why). Content
read from the remote is re-hashed: a blob that does not match its digest is a miss.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any, Iterator, Mapping, Sequence

from rungo.cache.atomic import write_file
from rungo.cache.remote.settings import RemoteSettings, SettingsError

CONNECT_TIMEOUT = 2.0
"""Seconds the first call (GetCapabilities) may take, connecting included."""

CALL_TIMEOUT = 10.0
"""Seconds any other call may take, plus STREAM_TIMEOUT_PER_MB for each MiB it moves."""

STREAM_TIMEOUT_PER_MB = 0.5

BACKOFF_SECONDS = 60.0
"""After a failure, how long the remote is left alone by every process using this local cache."""

CHUNK = 1 << 20
"""ByteStream chunk size."""

DEFAULT_BATCH_LIMIT = 4 << 20
"""The batch size limit when the server states none."""

_BATCH_OVERHEAD = 1 << 12
_STATE = "remote-state"
_OUTPUT = "out"


class RemoteError(Exception):
    """The remote could not be used; the message says why in one line."""


@dataclass(frozen=True, slots=True)
class Output:
    """What the remote holds for an action: one output's digest, and its bytes when inlined."""

    output_id: bytes
    size: int
    executable: bool
    contents: bytes | None = None


@dataclass(frozen=True, slots=True)
class Upload:
    """A local output to put on the remote under its action ID."""

    action_id: bytes          # the key the remote's action cache keeps it under
    path: str                 # the local file with its bytes
    output_id: bytes          # their digest: the blob's name in the remote's CAS
    size: int
    executable: bool
    force: bool = False       # write the blob even if the remote says it has it (it held a bad copy)


def _reapi(*names: str) -> tuple[Any, ...]:
    """The generated REAPI modules (typed Any: protoc's classes are made at run time)."""
    import importlib

    return tuple(importlib.import_module(f"rungo.cache.remote.reapi.{n}") for n in names)


def _digest(pb: Any, data: bytes) -> Any:
    return pb.Digest(hash=hashlib.sha256(data).hexdigest(), size_bytes=len(data))


def _describe(e: BaseException) -> str:
    """One line for a failed call, without anything the client sent."""
    import grpc

    if isinstance(e, grpc.RpcError) and hasattr(e, "code"):
        code = e.code()
        details = (e.details() or "").strip() if hasattr(e, "details") else ""
        name = code.name.lower().replace("_", " ") if code is not None else "error"
        if code == grpc.StatusCode.DEADLINE_EXCEEDED:
            details = "no answer in time"
        elif "Connection refused" in details:
            details = "connection refused"
        text = f"{name}: {details}" if details else name
    else:
        text = str(e) or type(e).__name__
    text = " ".join(text.split())
    return text[:300]


class RemoteCache:
    """One remote cache, shared by the threads of a process. Calls never raise for remote faults:
    lookups miss, writes give up, and `problem` says what went wrong."""

    def __init__(self, settings: RemoteSettings, state_dir: str, env: Mapping[str, str]) -> None:
        self.settings = settings
        self.env = env     # the environment of the processes it starts (uploads sent after it exits)
        self._state_path = state_path(state_dir)
        self._lock = threading.Lock()
        self._connected = threading.RLock()
        self._channel: Any = None
        self._ac: Any = None
        self._cas: Any = None
        self._bs: Any = None
        self._pb: Any = None
        self._metadata: tuple[tuple[str, str], ...] = ()
        self._batch_limit = DEFAULT_BATCH_LIMIT
        self._update_enabled = True
        self._problem: str | None = None
        self._problem_until = 0.0
        self._next_state_check = 0.0
        self._write_problem: str | None = None
        self.uploader: Any = None      # the process's background uploads to this remote (tiered.py)
        self.counts = {"remote_hits": 0, "remote_misses": 0, "bytes_down": 0, "bytes_up": 0,
                       "uploads": 0, "corrupt": 0}

    # ----- state ---------------------------------------------------------------------------------

    @property
    def problem(self) -> str | None:
        """Why the remote is not being used, or None."""
        self.usable()
        return self._problem

    @property
    def write_problem(self) -> str | None:
        return self._write_problem

    def take_counts(self) -> dict[str, int]:
        """The counts so far, which start again from zero."""
        with self._lock:
            counts = dict(self.counts)
            self.counts = dict.fromkeys(self.counts, 0)
        return counts

    def count(self, name: str, n: int = 1) -> None:
        with self._lock:
            self.counts[name] += n

    def usable(self) -> bool:
        """Whether to use the remote now: not while a failure (this process's, or one recorded in
        the state file by another) is less than BACKOFF_SECONDS old."""
        now = time.time()
        if self._problem is not None:
            if now < self._problem_until:
                return False
            with self._connected:
                self._problem = None
                if self._channel is not None:
                    self._channel.close()
                self._channel = self._ac = None
        if now >= self._next_state_check:
            self._next_state_check = now + 1.0
            recorded = skipped(self._state_path, self.settings.url, now)
            if recorded is not None:
                with self._lock:
                    self._problem, self._problem_until = recorded
                return False
        return True

    def writable(self) -> bool:
        return self.settings.writes and self._write_problem is None and self.usable()

    def _fail(self, e: BaseException) -> None:
        message = f"{self.settings.url}: {_describe(e)}"
        until = time.time() + BACKOFF_SECONDS
        with self._lock:
            if self._problem is not None:
                return
            self._problem = message
            self._problem_until = until
        write_file(self._state_path, json.dumps({"url": self.settings.url, "until": until, "message": message,
                                                 "at": time.time()}).encode())

    def _refuse_writes(self, e: BaseException | str) -> None:
        with self._lock:
            if self._write_problem is None:
                text = e if isinstance(e, str) else _describe(e)
                self._write_problem = f"{self.settings.url}: writes refused: {text}"

    # ----- connection ----------------------------------------------------------------------------

    def _connect(self) -> bool:
        """Open the channel and ask the server what it can do; False (with `problem` set) on failure."""
        if self._ac is not None:
            return True
        with self._connected:
            if self._ac is not None:
                return True
            if not self.usable():
                return False
            try:
                import grpc

                pb, pb_grpc, bytestream_pb2_grpc = _reapi("remote_execution_pb2", "remote_execution_pb2_grpc",
                                                          "bytestream_pb2_grpc")
            except ImportError as e:  # pragma: no cover - the dependencies are installed with rungo
                self._fail(RemoteError(f"the gRPC libraries cannot be loaded: {e}"))
                return False
            s = self.settings
            try:
                token = s.bearer()
            except SettingsError as e:
                self._fail(RemoteError(str(e)))
                return False
            options = [("grpc.max_receive_message_length", 64 << 20), ("grpc.max_send_message_length", 64 << 20),
                       ("grpc.enable_retries", 0), ("grpc.initial_reconnect_backoff_ms", 200),
                       ("grpc.max_reconnect_backoff_ms", 1000)]
            try:
                if s.tls:
                    roots = None
                    if s.ca_file:
                        with open(s.ca_file, "rb") as f:
                            roots = f.read()
                    channel = grpc.secure_channel(s.target, grpc.ssl_channel_credentials(root_certificates=roots),
                                                  options)
                else:
                    channel = grpc.insecure_channel(s.target, options)
            except (OSError, ValueError) as e:
                self._fail(RemoteError(getattr(e, "strerror", None) or str(e)))
                return False
            self._metadata = (("authorization", f"Bearer {token}"),) if token else ()
            caps_stub = pb_grpc.CapabilitiesStub(channel)
            try:
                caps = caps_stub.GetCapabilities(pb.GetCapabilitiesRequest(instance_name=s.instance),
                                                 timeout=CONNECT_TIMEOUT, metadata=self._metadata)
            except Exception as e:  # grpc.RpcError and anything the channel raises
                channel.close()
                self._fail(e)
                return False
            cc = caps.cache_capabilities
            if cc.digest_functions and pb.DigestFunction.SHA256 not in cc.digest_functions:
                channel.close()
                self._fail(RemoteError("the server does not use SHA-256 digests"))
                return False
            if cc.max_batch_total_size_bytes > 0:
                self._batch_limit = cc.max_batch_total_size_bytes
            if cc.HasField("action_cache_update_capabilities") and not cc.action_cache_update_capabilities.update_enabled:
                self._update_enabled = False
            self._pb = pb
            self._channel = channel
            self._cas = pb_grpc.ContentAddressableStorageStub(channel)
            self._bs = bytestream_pb2_grpc.ByteStreamStub(channel)
            self._ac = pb_grpc.ActionCacheStub(channel)
            return True

    def close(self) -> None:
        if self._channel is not None:
            self._channel.close()

    # ----- keys ----------------------------------------------------------------------------------

    def _action(self, action_id: bytes) -> tuple[Any, list[tuple[Any, bytes]]]:
        """The action digest for a local action ID, and the Command and Action blobs behind it."""
        pb = self._pb
        command = pb.Command(arguments=["rungo-cache", action_id.hex()]).SerializeToString(deterministic=True)
        action = pb.Action(command_digest=_digest(pb, command),
                           input_root_digest=_digest(pb, b"")).SerializeToString(deterministic=True)
        return _digest(pb, action), [(_digest(pb, command), command), (_digest(pb, action), action)]

    def _resource(self, kind: str, hexhash: str, size: int) -> str:
        prefix = f"{self.settings.instance}/" if self.settings.instance else ""
        if kind == "uploads":
            return f"{prefix}uploads/{uuid.uuid4()}/blobs/{hexhash}/{size}"
        return f"{prefix}blobs/{hexhash}/{size}"

    @staticmethod
    def _deadline(size: int = 0) -> float:
        return CALL_TIMEOUT + STREAM_TIMEOUT_PER_MB * (size / (1 << 20))

    # ----- reading -------------------------------------------------------------------------------

    def lookup(self, action_id: bytes, *, inline: bool = True) -> Output | None:
        """The output the remote holds for `action_id`, or None (a miss, or the remote failed).
        With `inline`, the server may send a small output's content with the answer."""
        if not self._connect():
            return None
        import grpc

        pb = self._pb
        digest, _ = self._action(action_id)
        try:
            result = self._ac.GetActionResult(
                pb.GetActionResultRequest(instance_name=self.settings.instance, action_digest=digest,
                                          inline_output_files=[_OUTPUT] if inline else []),
                timeout=self._deadline(), metadata=self._metadata)
        except grpc.RpcError as e:
            if e.code() == grpc.StatusCode.NOT_FOUND:
                self.count("remote_misses")
                return None
            self._fail(e)
            return None
        except Exception as e:
            self._fail(e)
            return None
        files = [f for f in result.output_files if f.path == _OUTPUT]
        if result.exit_code != 0 or len(files) != 1 or len(files[0].digest.hash) != 64:
            self.count("remote_misses")
            return None
        f = files[0]
        try:
            output_id = bytes.fromhex(f.digest.hash)
        except ValueError:
            self.count("remote_misses")
            return None
        contents = f.contents if f.contents or f.digest.size_bytes == 0 else None
        return Output(output_id, f.digest.size_bytes, f.is_executable, contents)

    def fetch(self, out: Output, path: str) -> bool:
        """Write the output's content to a new file at `path`, verified against its digest.

        False when the remote no longer has it, failed, or sent content that does not match (the
        file is then removed).
        """
        h = hashlib.sha256()
        n = 0
        try:
            with open(path, "wb") as f:
                for chunk in self._chunks(out):
                    h.update(chunk)
                    n += len(chunk)
                    f.write(chunk)
        except _Missing:
            _unlink(path)
            self.count("remote_misses")
            return False
        except OSError:
            _unlink(path)
            return False
        except Exception as e:
            _unlink(path)
            self._fail(e)
            return False
        self.count("bytes_down", n)
        if h.digest() != out.output_id or n != out.size:
            _unlink(path)
            self.count("corrupt")
            return False
        self.count("remote_hits")
        return True

    def _chunks(self, out: Output) -> Iterator[bytes]:
        import grpc

        pb = self._pb
        if out.contents is not None:
            yield out.contents
            return
        hexhash = out.output_id.hex()
        digest = pb.Digest(hash=hexhash, size_bytes=out.size)
        if out.size + _BATCH_OVERHEAD <= self._batch_limit:
            try:
                res = self._cas.BatchReadBlobs(
                    pb.BatchReadBlobsRequest(instance_name=self.settings.instance, digests=[digest]),
                    timeout=self._deadline(out.size), metadata=self._metadata)
            except grpc.RpcError as e:
                if e.code() == grpc.StatusCode.NOT_FOUND:
                    raise _Missing() from e
                raise
            for r in res.responses:
                if r.digest.hash == hexhash:
                    if r.status.code != 0:
                        raise _Missing()
                    yield r.data
                    return
            raise _Missing()
        bytestream_pb2, = _reapi("bytestream_pb2")
        try:
            for resp in self._bs.Read(bytestream_pb2.ReadRequest(resource_name=self._resource("blobs", hexhash, out.size)),
                                      timeout=self._deadline(out.size), metadata=self._metadata):
                yield resp.data
        except grpc.RpcError as e:
            if e.code() == grpc.StatusCode.NOT_FOUND:
                raise _Missing() from e
            raise

    # ----- writing -------------------------------------------------------------------------------

    def upload(self, items: Sequence[Upload]) -> int:
        """Put the outputs and their action results on the remote; the number written (0 when the
        remote is read-only for us, failed, or refused)."""
        if not items or not self.settings.writes or not self._connect() or self._write_problem is not None:
            return 0
        if not self._update_enabled:
            self._refuse_writes("the server does not accept action results")
            return 0
        import grpc

        pb = self._pb
        blobs: dict[str, tuple[Any, bytes | None, str | None]] = {}   # hash -> (digest, data, path)
        actions = []
        forced: set[str] = set()
        for item in items:
            try:
                st = os.stat(item.path)
            except OSError:
                continue
            if st.st_size != item.size:
                continue
            digest, made = self._action(item.action_id)
            for d, data in made:
                blobs[d.hash] = (d, data, None)
            out = pb.Digest(hash=item.output_id.hex(), size_bytes=item.size)
            blobs.setdefault(out.hash, (out, None, item.path))
            if item.force:
                forced.add(out.hash)
            actions.append((digest, out, item.executable))
        if not actions:
            return 0
        try:
            found = self._cas.FindMissingBlobs(
                pb.FindMissingBlobsRequest(instance_name=self.settings.instance, blob_digests=[b[0] for b in blobs.values()]),
                timeout=self._deadline(), metadata=self._metadata)
            missing = {d.hash for d in found.missing_blob_digests} | forced
            batch: list[Any] = []
            batch_size = 0
            for h in missing:
                if h not in blobs:
                    continue
                dg, content, path = blobs[h]
                if dg.size_bytes + _BATCH_OVERHEAD > self._batch_limit:
                    self._write_stream(dg, path)
                    continue
                if content is None:
                    content = _read_exact(path, dg)
                if content is None:
                    continue
                if batch and batch_size + dg.size_bytes + _BATCH_OVERHEAD > self._batch_limit:
                    self._write_batch(batch)
                    batch, batch_size = [], 0
                batch.append(pb.BatchUpdateBlobsRequest.Request(digest=dg, data=content))
                batch_size += dg.size_bytes + 128
            if batch:
                self._write_batch(batch)
            written = 0
            for digest, out, exe in actions:
                result = pb.ActionResult(exit_code=0, output_files=[pb.OutputFile(path=_OUTPUT, digest=out,
                                                                                  is_executable=exe)])
                self._ac.UpdateActionResult(
                    pb.UpdateActionResultRequest(instance_name=self.settings.instance, action_digest=digest,
                                                 action_result=result),
                    timeout=self._deadline(), metadata=self._metadata)
                written += 1
            self.count("uploads", written)
            return written
        except grpc.RpcError as e:
            if e.code() in (grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.UNIMPLEMENTED,
                            grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.UNAUTHENTICATED):
                self._refuse_writes(e)
            else:
                self._fail(e)
            return 0
        except _Changed:
            return 0
        except Exception as e:
            self._fail(e)
            return 0

    def _write_batch(self, requests: list[Any]) -> None:
        pb = self._pb
        total = sum(r.digest.size_bytes for r in requests)
        res = self._cas.BatchUpdateBlobs(
            pb.BatchUpdateBlobsRequest(instance_name=self.settings.instance, requests=requests),
            timeout=self._deadline(total), metadata=self._metadata)
        for r in res.responses:
            if r.status.code != 0:
                raise RemoteError(f"storing blob {r.digest.hash[:12]}: {r.status.message or r.status.code}")
        self.count("bytes_up", total)

    def _write_stream(self, digest: Any, path: str | None) -> None:
        bytestream_pb2, = _reapi("bytestream_pb2")
        assert path is not None
        name = self._resource("uploads", digest.hash, digest.size_bytes)
        h = hashlib.sha256()

        def requests() -> Iterator[Any]:
            offset = 0
            with open(path, "rb") as f:
                while True:
                    data = f.read(CHUNK)
                    h.update(data)
                    last = offset + len(data) >= digest.size_bytes
                    yield bytestream_pb2.WriteRequest(resource_name=name if offset == 0 else "", write_offset=offset,
                                                      finish_write=last, data=data)
                    offset += len(data)
                    if last or not data:
                        return

        self._bs.Write(requests(), timeout=self._deadline(digest.size_bytes), metadata=self._metadata)
        if h.hexdigest() != digest.hash:
            raise _Changed()
        self.count("bytes_up", digest.size_bytes)


class _Missing(Exception):
    """The remote does not have a blob its action result names."""


class _Changed(Exception):
    """A local file changed while it was being uploaded."""


def _read_exact(path: str | None, digest: Any) -> bytes | None:
    if path is None:
        return None
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return None
    if len(data) != digest.size_bytes or hashlib.sha256(data).hexdigest() != digest.hash:
        return None
    return data


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def state_path(state_dir: str) -> str:
    """The file in which processes sharing a local cache record the remote's last failure."""
    return os.path.join(state_dir, _STATE)


def skipped(path: str, url: str, now: float) -> tuple[str, float] | None:
    """Why, and until when, the remote at `url` is left alone after a recorded failure; None
    when no failure of it is recorded, or its time is up."""
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("url") != url:
        return None
    until = data.get("until")
    if not isinstance(until, (int, float)) or until <= now:
        return None
    return str(data.get("message", "unavailable")), float(until)
