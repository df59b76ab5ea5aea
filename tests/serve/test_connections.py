"""The service's connections, over real loopback sockets: a connection that sends nothing, a head
that never ends or a body that stops halfway is cut off after its timeout, and connections over
``max_connections`` are answered 503 while the server keeps answering the rest.

The server is uvicorn in a thread with the settings ``pinhan serve`` gives it
(:func:`~pinhan.serve.server.uvicorn_settings`), the tiny model and timeouts of a fraction of a
second.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from contextlib import contextmanager

import pytest

uvicorn = pytest.importorskip("uvicorn", reason="the serve extra (fastapi, uvicorn) is not installed")

from pinhan.serve import ServeConfig, create_app  # noqa: E402
from pinhan.serve.server import uvicorn_settings  # noqa: E402

FAST = dict(header_timeout_s=0.5, body_timeout_s=0.5)


@contextmanager
def serving(api, config: ServeConfig):
    """(host, port) of uvicorn serving ``api`` with ``config``'s connection settings, in a thread."""
    server = uvicorn.Server(uvicorn.Config(create_app(api, config), host="127.0.0.1", port=0, log_level="critical",
                                           access_log=False, **uvicorn_settings(config)))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert server.started, "uvicorn did not start"
    try:
        yield server.servers[0].sockets[0].getsockname()[:2]
    finally:
        server.should_exit = True
        thread.join(10)


def connect(address, timeout: float = 5.0) -> socket.socket:
    sock = socket.create_connection(address, timeout=timeout)
    sock.settimeout(timeout)
    return sock


def read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """One whole response (status, lower-cased headers, body); needs a Content-Length."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"closed before a response head: {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict((k.strip().lower(), v.strip()) for k, _, v in (line.partition(":") for line in lines[1:]))
    while len(body) < int(headers.get("content-length", 0)):
        chunk = sock.recv(65536)
        assert chunk, "closed in the middle of a response body"
        body += chunk
    return int(lines[0].split()[1]), headers, body


def closed_within(sock: socket.socket, seconds: float) -> float:
    """Seconds until the server closed ``sock`` (reads and drops anything it sends first); fails
    if it is still open after ``seconds``."""
    started = time.monotonic()
    sock.settimeout(seconds)
    try:
        while sock.recv(65536):
            pass
    except ConnectionResetError:
        pass
    except socket.timeout:
        pytest.fail(f"the connection was still open after {seconds} s")
    return time.monotonic() - started


def get(address, path: str = "/healthz", method: str = "GET") -> tuple[int, dict[str, str], bytes]:
    with connect(address) as sock:
        sock.sendall(f"{method} {path} HTTP/1.1\r\nHost: test\r\n\r\n".encode())
        return read_response(sock)


def test_a_connection_that_sends_nothing_is_closed(api):
    with serving(api, ServeConfig(**FAST)) as address:
        with connect(address) as silent:
            assert 0.3 < closed_within(silent, 4.0) < 3.0
        assert get(address)[0] == 200


def test_a_request_head_that_never_ends_is_closed_even_if_it_trickles(api):
    with serving(api, ServeConfig(**FAST)) as address:
        with connect(address) as partial, connect(address) as trickle:
            partial.sendall(b"POST /v1/convert HTTP/1.1\r\nHost: test\r\n")
            trickle.sendall(b"GET /healthz HTTP/1.1\r\n")
            started = time.monotonic()
            try:  # a header byte every 0.1 s: the deadline counts from the start of the head, not the last byte
                while time.monotonic() - started < 3.0:
                    trickle.sendall(b"X")
                    time.sleep(0.1)
            except OSError:
                pass
            assert time.monotonic() - started < 2.5, "the trickling head was not cut off"
            assert closed_within(partial, 3.0) < 3.0
        assert get(address)[0] == 200


def test_a_request_head_over_the_size_limit_is_answered_431_and_closed(api):
    from pinhan.serve.protocol import MAX_HEAD_BYTES

    with serving(api, ServeConfig(header_timeout_s=5.0)) as address:
        with connect(address) as sock:
            started, answer = time.monotonic(), b""
            try:
                sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: test\r\n")
                for _ in range(MAX_HEAD_BYTES // 1000 + 2):
                    sock.sendall(b"X-Pad: " + b"a" * 1000 + b"\r\n")
                while chunk := sock.recv(65536):  # until the server closes
                    answer += chunk
            except (ConnectionResetError, BrokenPipeError):
                pass  # closed with the head unread: the answer may be lost to the reset (or the next send fails)
            assert time.monotonic() - started < 2.0  # long before header_timeout_s
            # 431 from GuardedHTTP over httptools; h11 (without httptools) stops at 16 KiB with its own 400
            assert not answer or answer.startswith((b"HTTP/1.1 431 ", b"HTTP/1.1 400 ")), answer[:80]
        assert get(address)[0] == 200


def test_an_idle_keep_alive_connection_is_closed_after_its_answer(api):
    with serving(api, ServeConfig(**FAST)) as address:
        with connect(address) as sock:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n")
            assert read_response(sock)[0] == 200
            assert closed_within(sock, 4.0) < 3.0


def test_a_body_that_stops_halfway_is_answered_408_and_closed(api):
    body = json.dumps({"pinyin": "nihao"}).encode()
    with serving(api, ServeConfig(**FAST)) as address:
        with connect(address) as sock:
            sock.sendall(b"POST /v1/convert HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
                         + f"Content-Length: {len(body) + 50}\r\n\r\n".encode() + body)
            status, headers, answer = read_response(sock)
            assert status == 408 and headers.get("connection") == "close"
            error = json.loads(answer)
            assert error["error"] == "request_timeout" and "body_timeout_s" in error["message"]
            assert closed_within(sock, 3.0) < 3.0
        with connect(address) as sock:  # a whole body in time is answered as usual
            sock.sendall(b"POST /v1/convert HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
                         + f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
            assert read_response(sock)[0] == 200


def test_connections_over_the_limit_get_503_and_the_server_recovers(api):
    with serving(api, ServeConfig(max_connections=3, header_timeout_s=1.5)) as address:
        idle = [connect(address) for _ in range(3)]
        try:
            for sock in idle:  # answered, so the server has surely counted them; then they wait
                sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n")
                assert read_response(sock)[0] == 200
            with connect(address) as extra:
                extra.sendall(b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n")
                status, headers, answer = read_response(extra)
                assert status == 503 and headers.get("connection") == "close" and headers.get("retry-after")
                error = json.loads(answer)
                assert error["error"] == "overloaded" and "max_connections" in error["message"]
                assert closed_within(extra, 3.0) < 3.0
            for sock in idle:  # the idle ones are closed by the server (header_timeout_s) ...
                closed_within(sock, 5.0)
        finally:
            for sock in idle:
                sock.close()
        time.sleep(0.1)
        assert get(address)[0] == 200  # ... and a new connection is served again


def test_serve_config_validates_the_connection_settings():
    from pinhan.errors import ConfigError

    for bad in ({"header_timeout_s": 0}, {"body_timeout_s": -1}, {"max_connections": 0}, {"max_connections": 2.5}):
        with pytest.raises(ConfigError):
            ServeConfig(**bad)


def test_the_open_file_limit_is_raised_to_fit_max_connections_or_the_server_says_why(monkeypatch):
    """300 idle sockets under a low ``ulimit -n`` made /healthz fail: the cap must fit the limit."""
    from pinhan.errors import ConfigError
    from pinhan.serve import server

    limits = {"soft": 256, "hard": 4096}
    monkeypatch.setattr(server.resource, "getrlimit", lambda _: (limits["soft"], limits["hard"]))
    monkeypatch.setattr(server.resource, "setrlimit", lambda _, pair: limits.update(soft=pair[0], hard=pair[1]))
    server.ensure_open_files(ServeConfig().max_connections + server.SPARE_FILES)
    assert limits == {"soft": 256 + server.SPARE_FILES, "hard": 4096}
    limits.update(soft=100, hard=200)
    with pytest.raises(ConfigError, match=r"max_connections needs 320 open files.*limit is 200"):
        server.ensure_open_files(320)
