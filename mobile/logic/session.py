"""Signing in and out: phone + SMS code for citizens and merchants, username + password for
staff; the signed-in account (with its device tokens) kept in ``<folder>/session.json``.

The role decides the home screen (:func:`home_for`). Tokens are refreshed when the server says
they expired (:meth:`SessionManager.refresh`); the outbox never depends on being signed in.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shared_models.enums import Role

from .errors import FormInvalid, NotSignedIn
from .settings import read_json, write_json_atomic

if TYPE_CHECKING:
    from .api import Api

PHONE_RE = re.compile(r"^1[3-9]\d{9}$")  # a mainland mobile number
CODE_RE = re.compile(r"^\d{4,8}$")

HOME_OF_ROLE = {
    Role.CITIZEN: "citizen_home",
    Role.MERCHANT: "citizen_home",
    Role.INSPECTOR: "patrol",
}


@dataclass(frozen=True)
class Account:
    user_id: int
    role: str
    display_name: str
    access_token: str
    refresh_token: str
    username: str | None = None
    phone: str | None = None
    department_id: int | None = None

    @classmethod
    def from_tokens(cls, doc: dict[str, Any]) -> Account:
        user = doc["user"]
        return cls(
            user_id=int(user["id"]),
            role=str(user["role"]),
            display_name=str(user.get("display_name") or ""),
            access_token=str(doc["access_token"]),
            refresh_token=str(doc["refresh_token"]),
            username=user.get("username"),
            phone=user.get("phone"),
            department_id=user.get("department_id"),
        )

    @property
    def is_inspector(self) -> bool:
        return self.role == Role.INSPECTOR

    @property
    def is_staff(self) -> bool:
        """Not a citizen or merchant: rates and reopens nobody's case (the server's rule)."""
        return self.role not in (Role.CITIZEN, Role.MERCHANT)


def home_for(role: str) -> str:
    """The first screen after sign-in: patrol for inspectors, reporting for everyone else."""
    try:
        return HOME_OF_ROLE.get(Role(role), "citizen_home")
    except ValueError:
        return "citizen_home"


def clean_phone(text: str) -> str:
    phone = re.sub(r"[\s-]", "", text or "")
    if phone.startswith("+86"):
        phone = phone[3:]
    if not PHONE_RE.match(phone):
        raise FormInvalid({"phone": "signin.bad_phone"})
    return phone


class SessionManager:
    """Who is signed in on this device; ``api_for(base, token)`` makes the REST client."""

    def __init__(
        self,
        folder: str | Path,
        server_url: Callable[[], str],
        device_id: str,
        api_for: Callable[[str, str | None], Api] | None = None,
    ) -> None:
        self.path = Path(folder) / "session.json"
        self.server_url = server_url
        self.device_id = device_id
        self._api_for = api_for
        doc = read_json(self.path)
        self.account: Account | None = None
        if doc is not None:
            try:
                self.account = Account(**doc)
            except TypeError:
                self.account = None  # an older file shape: sign in again

    def api_for(self, base: str, token: str | None) -> Api:
        if self._api_for is not None:
            return self._api_for(base, token)
        from .api import Api  # requests: not needed to draw the first screen

        return Api(base, token)

    def api(self) -> Api:
        token = self.account.access_token if self.account else None
        return self.api_for(self.server_url(), token)

    def require(self) -> Account:
        if self.account is None:
            raise NotSignedIn()
        return self.account

    def _keep(self, doc: dict[str, Any]) -> Account:
        self.account = Account.from_tokens(doc)
        write_json_atomic(self.path, asdict(self.account))
        return self.account

    # -------------------------------------------------------------- sign-in

    def request_code(self, phone_text: str) -> int:
        """Send the SMS code; returns seconds until another may be asked for."""
        answer = self.api_for(self.server_url(), None).request_code(clean_phone(phone_text))
        return int(answer.get("resend_in") or 60)

    def sign_in_phone(self, phone_text: str, code_text: str) -> Account:
        errors: dict[str, str] = {}
        try:
            phone = clean_phone(phone_text)
        except FormInvalid as bad:
            errors.update(bad.fields)
        code = (code_text or "").strip()
        if not CODE_RE.match(code):
            errors["code"] = "signin.bad_code"
        if errors:
            raise FormInvalid(errors)
        api = self.api_for(self.server_url(), None)
        return self._keep(api.verify_code(phone, code, self.device_id))

    def sign_in_staff(self, username: str, password: str) -> Account:
        errors = {}
        if not (username or "").strip():
            errors["username"] = "signin.need_username"
        if not password:
            errors["password"] = "signin.need_password"
        if errors:
            raise FormInvalid(errors)
        api = self.api_for(self.server_url(), None)
        return self._keep(api.login(username.strip(), password, self.device_id))

    def refresh(self) -> Account:
        """A new token pair for an expired one (the server rotates both)."""
        account = self.require()
        doc = self.api_for(self.server_url(), None).refresh(account.refresh_token)
        fresh = Account.from_tokens(doc)
        self.account = replace(fresh)
        write_json_atomic(self.path, asdict(self.account))
        return self.account

    def sign_out(self) -> None:
        """Forget the tokens here, and tell the server when it can be reached. What the user
        recorded stays in their device store and is sent after they sign in again."""
        if self.account is None:
            return
        try:
            self.api().logout()
        except Exception:  # noqa: BLE001 - offline or already revoked: sign out locally anyway
            pass
        self.account = None
        self.path.unlink(missing_ok=True)
