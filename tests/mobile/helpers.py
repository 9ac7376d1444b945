"""Helpers for the app's tests: a real server in a thread, a network cable that can be cut,
photos, and the dispatcher/handler side of a case driven over the REST API."""

from __future__ import annotations

import io
import itertools
import select
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests
from PIL import Image
from werkzeug.serving import make_server

from server import create_app, shutdown
from server.db import database
from server.models import Base
from server.services.auth import hasher
from server.services.demo import DEMO_PASSWORD, load_demo_city
from tests.integration.servers import free_port

OTP = "123456"
_phones = itertools.count(1)


def new_phone() -> str:
    """A phone number nobody used yet in this process: a new citizen on first sign-in."""
    return f"137{int(time.time()) % 10000:04d}{next(_phones):04d}"


def photo_bytes(seed: int = 0, size: int = 64) -> bytes:
    img = Image.new("RGB", (size, size), ((seed * 37) % 256, (seed * 91) % 256, 120))
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


def photo_file(folder: Path, seed: int = 0) -> Path:
    path = folder / f"photo-{seed}.png"
    path.write_bytes(photo_bytes(seed))
    return path


def demo_app(tmp: Path) -> Any:
    """The real Flask app on a new SQLite database with the demo city loaded."""
    app = create_app({
        "DATABASE_URL": f"sqlite:///{tmp / 'server.sqlite3'}",
        "PHOTO_DIR": str(tmp / "server-photos"),
        "ARGON2_TIME_COST": 1, "ARGON2_MEMORY_COST": 1024,
        "OTP_FIXED_CODE": OTP, "OTP_RESEND_SECONDS": 0,
    })  # fmt: skip
    db = database(app)
    Base.metadata.create_all(db.engine)
    with db.session() as s:
        load_demo_city(s, hasher(app.config))
    return app


@contextmanager
def thread_server(tmp: Path) -> Iterator[str]:
    """The real Flask app with the demo city, served by werkzeug in a thread."""
    app = demo_app(tmp)
    port = free_port()
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()
        thread.join(10)
        shutdown(app)  # the applier's thread too, if a deferred push started it


@contextmanager
def process_server(tmp: Path) -> Iterator[str]:
    """The same server in a process of its own (benchmarks: no GIL shared with the app)."""
    import subprocess
    import sys

    from tests.integration.servers import wait_until_serving

    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "tests.mobile.serve", str(tmp), str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(base, proc, time.monotonic() + 60)
        yield base
    finally:
        proc.terminate()
        proc.wait(10)


class Cable:
    """A TCP relay between the app and the server that can be unplugged: ``cut()`` drops
    every open connection and refuses new ones, ``plug()`` serves again on the same port."""

    def __init__(self, target: str) -> None:
        host, port = target.removeprefix("http://").split(":")
        self.target = (host, int(port))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._listener: socket.socket | None = None
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()
        self.plug()

    def plug(self) -> None:
        if self._listener is not None:
            return
        ls = socket.socket()
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind(("127.0.0.1", self.port))
        ls.listen(16)
        self._listener = ls
        threading.Thread(target=self._accept, args=(ls,), daemon=True).start()

    def cut(self) -> None:
        ls, self._listener = self._listener, None
        if ls is not None:
            try:
                ls.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            ls.close()
        with self._lock:
            conns, self._conns = self._conns, []
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            c.close()

    @property
    def plugged(self) -> bool:
        return self._listener is not None

    def _accept(self, ls: socket.socket) -> None:
        while True:
            try:
                client, _ = ls.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._conns += [client, upstream]
            threading.Thread(target=self._pipe, args=(client, upstream), daemon=True).start()

    @staticmethod
    def _pipe(a: socket.socket, b: socket.socket) -> None:
        try:
            while True:
                ready, _, _ = select.select([a, b], [], [], 1.0)
                for s in ready:
                    data = s.recv(65536)
                    if not data:
                        return
                    (b if s is a else a).sendall(data)
        except (OSError, ValueError):
            return
        finally:
            for s in (a, b):
                try:
                    s.close()
                except OSError:
                    pass


class Desk:
    """The command centre and a department over the REST API (the other side of a case)."""

    def __init__(self, base: str) -> None:
        self.base = base

    def token(self, username: str) -> str:
        r = requests.post(f"{self.base}/api/auth/login", json={
            "username": username, "password": DEMO_PASSWORD, "device_id": f"desk-{username}"},
            timeout=20)  # fmt: skip
        r.raise_for_status()
        return str(r.json()["access_token"])

    def call(self, user: str, method: str, path: str, body: Any = None, **kw: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.token(user)}"}
        r = requests.request(method, self.base + path, json=body, headers=headers, timeout=20,
                             **kw)  # fmt: skip
        assert r.status_code < 300, (path, r.status_code, r.text)
        return r.json() if r.content else None

    def case(self, user: str, case_id: str) -> dict[str, Any]:
        return dict(self.call(user, "GET", f"/api/cases/{case_id}"))

    def act(self, user: str, case_id: str, action: str, **args: Any) -> dict[str, Any]:
        version = self.case(user, case_id)["version"]
        return dict(self.call(user, "POST", f"/api/cases/{case_id}/actions/{action}",
                              {"version": version, **args}))  # fmt: skip

    def upload_photo(self, user: str, data: bytes) -> str:
        import hashlib

        sha = hashlib.sha256(data).hexdigest()
        headers = {"Authorization": f"Bearer {self.token(user)}", "Content-Type": "image/png"}
        r = requests.put(f"{self.base}/api/photos/{sha}", data=data, headers=headers, timeout=20)
        assert r.status_code in (200, 201), r.text
        return sha

    def report(self, user: str, point: tuple[float, float], category: str = "SJ0101",
               photo_seed: int = 99) -> str:  # fmt: skip
        import uuid

        sha = self.upload_photo(user, photo_bytes(photo_seed))
        case_id = str(uuid.uuid4())
        self.call(user, "POST", "/api/cases", {"id": case_id, "category_code": category,
                  "lat": point[0], "lon": point[1], "photos": [sha],
                  "address": "测试地址", "description": "desk"})  # fmt: skip
        return case_id


def wait_for(check: Callable[[], Any], timeout: float = 60.0, every: float = 0.05) -> Any:
    """Poll until ``check()`` is truthy; returns it, or fails after ``timeout`` seconds."""
    end = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(every)
