"""uvicorn's HTTP protocol with a deadline for each request head and a cap on open connections.

uvicorn closes an idle keep-alive connection only after it has answered on it, and any byte
received stops that timer: a connection that sends nothing, or a head that trickles in a byte at
a time, stays open for ever, and enough of them use up the process's file descriptors. Here every
connection must send a whole request head within ``timeout_keep_alive`` seconds of opening or of
its last answer (one deadline, not reset by each byte), in at most ``MAX_HEAD_BYTES`` (httptools
sets no limit: a head of 13 MB was read whole); a request being read or answered is
watched instead by ``ServeConfig.body_timeout_s`` (the ASGI guard in :mod:`pinhan.serve.app`)
and ``timeout_s``.

A connection beyond ``limit_concurrency`` open ones is answered 503 (JSON, like every error of the
service) and closed. uvicorn's own check would answer in plain text, so this class takes the limit
over from it. Both numbers come from uvicorn's Config (:func:`pinhan.serve.server.uvicorn_settings`
sets them from :class:`~pinhan.serve.schemas.ServeConfig`), so worker processes, which import this
class by name, get them too.
"""

from __future__ import annotations

import asyncio
import json

from uvicorn.protocols.http.auto import AutoHTTPProtocol

MAX_HEAD_BYTES = 64 * 1024  # a request line and headers; browsers send under 8 KiB


class GuardedHTTP(AutoHTTPProtocol):  # httptools' protocol where installed, else h11's
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.max_connections, self.limit_concurrency = self.limit_concurrency, None
        self.head_deadline: asyncio.TimerHandle | None = None
        self.head_bytes = 0

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        if self.max_connections is not None and len(self.connections) > self.max_connections:
            self.app = OverCapacity(self.max_connections)  # this connection's requests only
        self._arm()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm()

    def data_received(self, data: bytes) -> None:
        waiting = self._waiting_for_head()
        super().data_received(data)
        if waiting and self._waiting_for_head() and not self.transport.is_closing():
            self.head_bytes += len(data)
            if self.head_bytes > MAX_HEAD_BYTES:
                body = json.dumps({"error": "too_large", "message": f"the request head is larger than {MAX_HEAD_BYTES} "
                                   "bytes"}).encode()
                self.transport.write(b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: application/json"
                                     b"\r\nconnection: close\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body))
                self.transport.close()

    def connection_lost(self, exc) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _waiting_for_head(self) -> bool:
        return self.cycle is None or self.cycle.response_complete

    def _arm(self) -> None:
        self._disarm()
        self.head_bytes = 0
        self.head_deadline = self.loop.call_later(self.timeout_keep_alive, self._head_expired)

    def _disarm(self) -> None:
        if self.head_deadline is not None:
            self.head_deadline.cancel()
            self.head_deadline = None

    def _head_expired(self) -> None:
        self.head_deadline = None
        if not self._waiting_for_head():
            return  # a whole head arrived: its request is being read or answered
        if not self.transport.is_closing():
            self.transport.close()


class OverCapacity:
    """The ASGI app of a connection over the cap: 503 JSON, then the connection closes."""

    def __init__(self, limit: int) -> None:
        self.body = json.dumps({"error": "overloaded", "message": f"too many open connections (max_connections="
                                f"{limit}); retry shortly"}).encode()

    async def __call__(self, scope, receive, send) -> None:
        await send({"type": "http.response.start", "status": 503, "headers": [
            (b"content-type", b"application/json"), (b"content-length", str(len(self.body)).encode()),
            (b"retry-after", b"1"), (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": self.body})
