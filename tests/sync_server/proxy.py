"""A TCP proxy on loopback that damages chosen HTTP requests on their way to the server.

Every request goes over a connection of its own (the client sends ``Connection: close``),
so a fault armed for "the n-th PATCH" hits exactly one request: the proxy reads the method
from the first bytes of each connection and counts.
"""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass
from enum import StrEnum


class Cut(StrEnum):
    REQUEST = "request"  # forward `at` bytes of the request, then close both sides
    RESPONSE = "response"  # forward the whole request, drop the answer, close
    FLIP = "flip"  # flip one bit of request byte `at`, forward the rest


@dataclass
class Fault:
    method: bytes
    nth: int  # 1 = the next request with this method
    kind: Cut
    at: int = 0


class FaultyProxy:
    def __init__(self, upstream_port: int) -> None:
        self.upstream = upstream_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        self.faults: list[Fault] = []
        self.seen: dict[bytes, int] = {}
        self.hit: list[Fault] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def arm(self, method: str, nth: int, kind: Cut, at: int = 0) -> None:
        with self.lock:
            count = self.seen.get(method.encode(), 0)
            self.faults.append(Fault(method.encode(), count + nth, kind, at))

    def close(self) -> None:
        self.listener.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _fault_for(self, head: bytes) -> Fault | None:
        method = head.split(b" ", 1)[0]
        with self.lock:
            self.seen[method] = self.seen.get(method, 0) + 1
            for fault in self.faults:
                if fault.method == method and fault.nth == self.seen[method]:
                    self.faults.remove(fault)
                    self.hit.append(fault)
                    return fault
        return None

    def _serve(self, client: socket.socket) -> None:
        upstream = socket.create_connection(("127.0.0.1", self.upstream))
        data = first = client.recv(65536)
        fault = self._fault_for(first) if first else None
        sent = [0]

        def forward(data: bytes) -> bool:
            """Send a piece of the request upstream; False once the fault has cut it."""
            if fault is not None and fault.kind is Cut.REQUEST and sent[0] + len(data) > fault.at:
                upstream.sendall(data[: fault.at - sent[0]])
                return False
            if (
                fault is not None
                and fault.kind is Cut.FLIP
                and sent[0] <= fault.at < sent[0] + len(data)
            ):
                i = fault.at - sent[0]
                data = data[:i] + bytes([data[i] ^ 0x01]) + data[i + 1 :]
            upstream.sendall(data)
            sent[0] += len(data)
            return True

        def answer() -> None:
            try:
                while chunk := upstream.recv(65536):
                    if fault is None or fault.kind is not Cut.RESPONSE:
                        client.sendall(chunk)
            except OSError:
                pass
            finally:
                _close(client)
                _close(upstream)

        try:
            threading.Thread(target=answer, daemon=True).start()
            data = first
            while data and forward(data):
                data = client.recv(65536)
        except OSError:
            pass
        # the request is over (or cut mid-body: both sides go away, as when a phone loses
        # signal); closing twice is harmless
        if data or fault is not None and fault.kind is Cut.REQUEST:
            _close(client)
            _close(upstream)


def _close(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()
