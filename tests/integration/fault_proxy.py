"""A fault-injecting HTTP proxy on loopback, between a ``requests`` device and a real server.

It speaks just enough HTTP/1.1 to find where each request and response ends (``Content-Length``
or chunked bodies) and forwards the bytes unchanged, each request on a fresh connection to the
upstream server. On the paths it is told to disturb it picks, at random from a seeded rng, one
of the faults below, or passes the request through untouched:

- ``lose_request``: the request never reaches the server; the client's connection is closed.
- ``lose_response``: the server handles the request; its answer is thrown away.
- ``duplicate``: the request reaches the server twice, the copies concurrently; the client
  gets one of the answers.
- ``delay``: the client's connection is closed at once (it looks like a timeout); the request
  reaches the server later, after requests sent behind it (reordering).
- ``cut_request``: the headers and a part of the body reach the server, then the connection
  is cut.
- ``cut_response``: the server handles the request; the client gets part of the answer, then
  the connection is cut.
- ``restart``: the request reaches the server, which is killed (SIGKILL) a moment later, with
  the request possibly in flight, and started again; the client's connection is closed.

Faults are what a phone network does; the test on top of it checks that nothing is lost or
doubled. mitmproxy or Toxiproxy could host such faults, but neither duplicates or delays whole
HTTP requests out of the box, and the proxy also has to run the server restart itself, so this
small stdlib proxy (``socketserver``) is used instead.
"""

from __future__ import annotations

import random
import socket
import socketserver
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import BinaryIO


class Fault(StrEnum):
    LOSE_REQUEST = "lose_request"
    LOSE_RESPONSE = "lose_response"
    DUPLICATE = "duplicate"
    DELAY = "delay"
    CUT_REQUEST = "cut_request"
    CUT_RESPONSE = "cut_response"
    RESTART = "restart"


@dataclass(frozen=True)
class Message:
    """One HTTP message as it travelled: the raw bytes, and what the proxy needs to know."""

    raw: bytes
    head_len: int
    first_line: str
    close: bool  # the sender will close the connection after it

    @property
    def path(self) -> str:
        parts = self.first_line.split(" ")
        return parts[1] if len(parts) > 1 else ""


def _read_head(f: BinaryIO) -> list[bytes] | None:
    lines: list[bytes] = []
    while True:
        line = f.readline(65537)
        if not line:
            if lines:
                raise ConnectionError("connection closed inside the headers")
            return None  # a clean end between messages
        if line in (b"\r\n", b"\n"):
            if not lines:
                continue  # stray empty line between messages
            return lines + [line]
        lines.append(line)


def _read_chunked(f: BinaryIO) -> bytes:
    out = bytearray()
    while True:
        size_line = f.readline(65537)
        if not size_line:
            raise ConnectionError("connection closed inside a chunked body")
        out += size_line
        size = int(size_line.split(b";")[0].strip() or b"0", 16)
        if size == 0:
            while True:  # trailers, then the empty line
                trailer = f.readline(65537)
                if not trailer:
                    raise ConnectionError("connection closed inside the trailers")
                out += trailer
                if trailer in (b"\r\n", b"\n"):
                    return bytes(out)
        data = f.read(size + 2)
        if len(data) < size + 2:
            raise ConnectionError("connection closed inside a chunk")
        out += data


def read_message(f: BinaryIO, *, response_to: str | None = None) -> Message | None:
    """The next whole request (or, with ``response_to`` = the request's method, response).

    None when the peer closed the connection cleanly before a new message began.
    """
    lines = _read_head(f)
    if lines is None:
        return None
    head = b"".join(lines)
    first = lines[0].decode("latin-1").strip()
    headers: dict[str, str] = {}
    for line in lines[1:-1]:
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    connection = headers.get("connection", "").lower()
    close = connection == "close" or (first.endswith("HTTP/1.0") and connection != "keep-alive")
    if response_to is not None:
        status = int(first.split(" ")[1])
        close = close or first.startswith("HTTP/1.0") and connection != "keep-alive"
        if response_to == "HEAD" or status in (204, 304) or 100 <= status < 200:
            return Message(head, len(head), first, close)
    if "chunked" in headers.get("transfer-encoding", "").lower():
        body = _read_chunked(f)
    elif "content-length" in headers:
        n = int(headers["content-length"])
        body = f.read(n)
        if len(body) < n:
            raise ConnectionError("connection closed inside the body")
    elif response_to is not None:
        body, close = f.read(), True  # the body runs until the server closes
    else:
        body = b""
    return Message(head + body, len(head), first, close)


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    proxy: FaultProxy


class _Handler(socketserver.StreamRequestHandler):
    server: _Server

    def handle(self) -> None:
        proxy = self.server.proxy
        while True:
            try:
                request = read_message(self.rfile)
            except (OSError, ValueError):
                return
            if request is None:
                return
            answer = proxy.handle(request)
            if answer is None:
                return  # the fault closes the client's connection
            response, keep = answer
            try:
                self.wfile.write(response)
                self.wfile.flush()
            except OSError:
                return
            if not keep or request.close:
                return


class FaultProxy:
    """Listens on a free loopback port and forwards to ``upstream`` with faults.

    ``rate``: the share of disturbed requests among those whose path starts with one of
    ``paths``; ``restart``: called (from a proxy thread) to kill and start the server again,
    at most ``max_restarts`` times, at least ``restart_gap`` seconds apart. ``counts`` tells
    which faults happened how often.
    """

    def __init__(
        self,
        upstream_port: int,
        rng: random.Random,
        *,
        rate: float = 0.2,
        faults: Sequence[Fault] = tuple(Fault),
        paths: Sequence[str] = ("/api/sync/",),
        restart: Callable[[], None] | None = None,
        max_restarts: int = 2,
        restart_gap: float = 20.0,
        max_delay: float = 1.0,
    ) -> None:
        self.upstream_port = upstream_port
        self.rng = rng
        self.rate = rate
        self.faults = [f for f in faults if f is not Fault.RESTART or restart is not None]
        self.paths = tuple(paths)
        self.restart = restart
        self.max_restarts = max_restarts
        # The first disturbed request is a restart, then one at most every ``restart_gap``
        # seconds: a few restarts spread over the run instead of a server always booting.
        self.restart_gap = restart_gap
        self._last_restart = -restart_gap
        self.max_delay = max_delay
        self.counts: Counter[Fault] = Counter()
        self.forwarded = 0
        self._lock = threading.Lock()
        self._restarting = threading.Lock()
        self._late: list[threading.Thread] = []
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.proxy = self
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self.drain()

    def drain(self) -> None:
        """Wait until every delayed or duplicated copy has reached the server."""
        while True:
            with self._lock:
                late, self._late = self._late, []
            if not late:
                return
            for t in late:
                t.join(30)

    # ------------------------------------------------------------ choosing

    def _choose(self, request: Message) -> Fault | None:
        if not request.path.startswith(self.paths) or not self.faults:
            return None
        with self._lock:
            if self.rng.random() >= self.rate:
                return None
            now = time.monotonic()
            if (
                Fault.RESTART in self.faults
                and self.counts[Fault.RESTART] < self.max_restarts
                and now - self._last_restart >= self.restart_gap
                and not self._restarting.locked()
            ):
                self._last_restart = now
                fault = Fault.RESTART
            else:
                fault = self.rng.choice([f for f in self.faults if f is not Fault.RESTART])
            self.counts[fault] += 1
            return fault

    # ------------------------------------------------------------ forwarding

    def forward(self, request: Message, *, cut_at: int | None = None) -> bytes | None:
        """Send the request upstream on a new connection; the raw answer, None if none came."""
        try:
            with socket.create_connection(("127.0.0.1", self.upstream_port), timeout=60) as up:
                with self._lock:
                    self.forwarded += 1
                if cut_at is not None:
                    up.sendall(request.raw[:cut_at])
                    up.shutdown(socket.SHUT_RDWR)
                    return None
                up.sendall(request.raw)
                method = request.first_line.split(" ")[0]
                with up.makefile("rb") as f:
                    response = read_message(f, response_to=method)
                return None if response is None else response.raw
        except (OSError, ValueError):
            return None  # the server is down or restarting: no answer

    def _later(self, request: Message, delay: float) -> None:
        def run() -> None:
            time.sleep(delay)
            self.forward(request)

        t = threading.Thread(target=run, daemon=True)
        with self._lock:
            self._late.append(t)
        t.start()

    def _restart_during(self, request: Message) -> None:
        with self._restarting:
            done = threading.Event()

            def send() -> None:
                self.forward(request)
                done.set()

            threading.Thread(target=send, daemon=True).start()
            done.wait(self.rng.uniform(0.0, 0.05))  # kill it while it may be mid-transaction
            assert self.restart is not None
            self.restart()

    def handle(self, request: Message) -> tuple[bytes, bool] | None:
        """What the client gets for ``request``: (bytes, keep the connection) or None (closed)."""
        fault = self._choose(request)
        if fault is Fault.LOSE_REQUEST:
            return None
        if fault is Fault.CUT_REQUEST:
            body = len(request.raw) - request.head_len
            self.forward(request, cut_at=request.head_len + self.rng.randrange(max(body, 1)))
            return None
        if fault is Fault.DELAY:
            self._later(request, self.rng.uniform(0.05, self.max_delay))
            return None
        if fault is Fault.RESTART:
            self._restart_during(request)
            return None
        if fault is Fault.DUPLICATE:
            self._later(request, 0.0)
        response = self.forward(request)
        if response is None or fault is Fault.LOSE_RESPONSE:
            return None
        if fault is Fault.CUT_RESPONSE:
            return response[: self.rng.randrange(len(response))], False
        return response, True
