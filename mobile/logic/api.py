"""The REST calls the app makes besides sync: sign-in, tokens, a case's timeline.

Every failure to reach the server is :class:`Offline`; every answer in the server's error
shape is :class:`ServerRefused` carrying its code and both messages. Only this module (and
``sync.http``) talks HTTP.
"""

from __future__ import annotations

from typing import Any

import requests

from .errors import Offline, ServerRefused

TIMEOUT = (5.0, 20.0)


class Api:
    def __init__(self, base: str, token: str | None = None, *, timeout: Any = TIMEOUT) -> None:
        self.base = base.rstrip("/")
        self.token = token
        self.timeout = timeout
        self.http = requests.Session()

    def call(self, method: str, path: str, body: Any = None, *, auth: bool = True) -> Any:
        headers = {"Authorization": f"Bearer {self.token}"} if auth and self.token else {}
        try:
            resp = self.http.request(
                method, self.base + path, json=body, headers=headers, timeout=self.timeout
            )
        except requests.RequestException as error:
            raise Offline() from error
        if resp.status_code >= 500:
            raise Offline()
        if resp.status_code == 204:
            return None
        try:
            doc = resp.json()
        except ValueError:
            raise Offline() from None
        if resp.status_code >= 400:
            raise ServerRefused(resp.status_code, doc if isinstance(doc, dict) else {})
        return doc

    # -------------------------------------------------------------- sign-in

    def request_code(self, phone: str) -> dict[str, Any]:
        return dict(self.call("POST", "/api/auth/otp", {"phone": phone}, auth=False))

    def verify_code(self, phone: str, code: str, device_id: str) -> dict[str, Any]:
        body = {"phone": phone, "code": code, "device_id": device_id, "device_name": "城管通 app"}
        return dict(self.call("POST", "/api/auth/otp/verify", body, auth=False))

    def login(self, username: str, password: str, device_id: str) -> dict[str, Any]:
        body = {"username": username, "password": password, "device_id": device_id,
                "device_name": "城管通 app"}  # fmt: skip
        return dict(self.call("POST", "/api/auth/login", body, auth=False))

    def refresh(self, refresh_token: str) -> dict[str, Any]:
        body = {"refresh_token": refresh_token}
        return dict(self.call("POST", "/api/auth/refresh", body, auth=False))

    def logout(self) -> None:
        self.call("POST", "/api/auth/logout")

    # -------------------------------------------------------------- reads

    def timeline(self, case_id: str) -> list[dict[str, Any]]:
        return list(self.call("GET", f"/api/cases/{case_id}/timeline"))

    def reachable(self) -> bool:
        """A cheap look whether the server answers at all (used while offline)."""
        try:
            resp = self.http.get(self.base + "/api/categories?limit=1", timeout=(2.0, 5.0))
        except requests.RequestException:
            return False
        return resp.status_code < 500
