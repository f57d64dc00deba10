"""JSON-RPC 2.0 to the letter: every request answered (-32602, -32600, -32700), no error as a popup."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Generator

import cattrs
from lsprotocol import types as lsp
from pygls.exceptions import JsonRpcException, JsonRpcInvalidParams, JsonRpcInvalidRequest
from pygls.protocol import LanguageServerProtocol
from pygls.protocol.language_server import lsp_method

log = logging.getLogger("rungo.lsp")


@dataclass(frozen=True, slots=True)
class _Rejected:
    """A message that could not be read as what its method expects."""

    msg_id: int | str | None
    method: str
    code: int
    message: str


def _validation_text(exc: BaseException) -> str:
    cause = exc.__cause__
    if isinstance(cause, (cattrs.ClassValidationError, cattrs.IterableValidationError)):
        try:
            return "; ".join(cattrs.transform_error(cause, path="params"))
        except Exception:
            pass
    return str(cause or exc) or type(exc).__name__


class RungoProtocol(LanguageServerProtocol):
    """pygls' protocol, with every request answered: invalid params get -32602, malformed requests
    -32600, requests after shutdown -32600; nothing of this pops up in the editor (it is logged)."""

    @lsp_method(lsp.INITIALIZE)
    def lsp_initialize(self, params: lsp.InitializeParams) -> Generator[Any, Any, lsp.InitializeResult]:
        # Positions are UTF-16, which every client must support: a client that prefers UTF-8
        # (Neovim) would otherwise read UTF-16 columns as bytes.
        general = params.capabilities.general
        if general is not None and general.position_encodings is not None:
            general.position_encodings = None
        result: lsp.InitializeResult = yield from super().lsp_initialize(params)
        return result

    def structure_message(self, data: dict[str, Any]) -> Any:
        try:
            return super().structure_message(data)
        except JsonRpcException as e:
            method = str(data.get("method", ""))
            msg_id = data.get("id") if isinstance(data.get("id"), (int, str)) else None
            if "method" in data:
                return _Rejected(msg_id, method, JsonRpcInvalidParams.CODE,
                                 f"invalid params for {method}: {_validation_text(e)}")
            return _Rejected(msg_id, method, JsonRpcInvalidRequest.CODE, f"invalid message: {_validation_text(e)}")

    def _reply_error(self, msg_id: int | str | None, code: int, message: str) -> None:
        self._send_data({"jsonrpc": "2.0", "id": msg_id, "error": {"code": code, "message": message}})

    def _log(self, message: str) -> None:
        log.warning("%s", message)
        try:
            self.notify(lsp.WINDOW_LOG_MESSAGE, lsp.LogMessageParams(lsp.MessageType.Error, "rungo: " + message))
        except Exception:
            pass

    def handle_message(self, message: Any) -> None:
        if isinstance(message, _Rejected):
            self._log(message.message)
            if message.msg_id is not None or message.code == JsonRpcInvalidRequest.CODE:
                self._reply_error(message.msg_id, message.code, message.message)
            return
        if isinstance(message, list):
            self._log("batch messages are not part of the language server protocol")
            self._reply_error(None, JsonRpcInvalidRequest.CODE, "batch messages are not supported")
            return
        if not hasattr(message, "jsonrpc"):
            msg_id = message.get("id") if isinstance(message, dict) else None
            self._log(f"not a JSON-RPC 2.0 message: {str(message)[:200]}")
            self._reply_error(msg_id if isinstance(msg_id, (int, str)) else None, JsonRpcInvalidRequest.CODE,
                              'not a JSON-RPC 2.0 message (it needs "jsonrpc": "2.0")')
            return
        method = getattr(message, "method", None)
        msg_id = getattr(message, "id", None)
        if message.jsonrpc != "2.0":
            self._log(f"unknown JSON-RPC version {message.jsonrpc!r}")
            if method is not None:
                self._reply_error(msg_id, JsonRpcInvalidRequest.CODE, 'only "jsonrpc": "2.0" is understood')
            return
        if self._shutdown and method is not None and msg_id is not None and method != lsp.EXIT:
            self._reply_error(msg_id, JsonRpcInvalidRequest.CODE, f"{method}: the server is shutting down")
            return
        super().handle_message(message)
