"""Sign-in: one-time codes for phones, argon2 passwords for staff, per-device tokens."""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.orm import Session

from shared_models.enums import PHONE_ROLES, Role
from shared_models.errors import Forbidden, InvalidInput, NotAuthenticated, TooMany

from ..models import DeviceToken, LoginFailure, OtpCode, User
from ..prepared import Prepared
from . import city_cache

log = logging.getLogger("cgt.sms")
PHONE_RE = re.compile(r"^1[3-9]\d{9}$")


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class SmsProvider(Protocol):
    def send_code(self, phone: str, code: str) -> None: ...


class LogSmsProvider:
    """Development provider: writes the code to the log instead of sending an SMS."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def send_code(self, phone: str, code: str) -> None:
        self.sent.append((phone, code))
        log.info("SMS to %s: 城管通验证码 %s", phone, code)


@dataclass
class AuthSettings:
    access_seconds: int
    refresh_days: int
    otp_ttl: int
    otp_max_attempts: int
    otp_resend: int


def hasher(config: dict[str, Any]) -> PasswordHasher:
    return PasswordHasher(
        time_cost=config["ARGON2_TIME_COST"], memory_cost=config["ARGON2_MEMORY_COST"]
    )


def check_phone(phone: str) -> str:
    phone = phone.strip().removeprefix("+86")
    if not PHONE_RE.match(phone):
        raise InvalidInput(errors={"phone": ["Not a mainland mobile number. 手机号格式不正确。"]})
    return phone


def request_otp(
    s: Session,
    phone: str,
    sms: SmsProvider,
    cfg: AuthSettings,
    now: datetime,
    fixed_code: str | None = None,
) -> None:
    phone = check_phone(phone)
    last = s.scalar(
        select(OtpCode).where(OtpCode.phone == phone).order_by(OtpCode.created_at.desc()).limit(1)
    )
    if last is not None:
        wait = cfg.otp_resend - (now - last.created_at).total_seconds()
        if wait > 0:
            raise TooMany("otp_too_soon", seconds=int(wait) + 1)
    code = fixed_code or f"{secrets.randbelow(1_000_000):06d}"
    s.execute(
        update(OtpCode)
        .where(OtpCode.phone == phone, OtpCode.consumed_at.is_(None))
        .values(consumed_at=now)
    )
    s.add(
        OtpCode(
            phone=phone,
            code_hash=digest(f"{phone}:{code}"),
            created_at=now,
            expires_at=now + timedelta(seconds=cfg.otp_ttl),
            attempts=0,
        )
    )
    s.flush()
    sms.send_code(phone, code)


def verify_otp(s: Session, phone: str, code: str, cfg: AuthSettings, now: datetime) -> User:
    """Check the code; a wrong code counts an attempt (committed by the caller even on error)."""
    phone = check_phone(phone)
    otp = s.scalar(
        select(OtpCode)
        .where(OtpCode.phone == phone, OtpCode.consumed_at.is_(None))
        .order_by(OtpCode.created_at.desc())
        .limit(1)
    )
    if otp is None or otp.expires_at <= now:
        raise NotAuthenticated("otp_invalid")
    if otp.attempts >= cfg.otp_max_attempts:
        raise TooMany("otp_too_many_attempts")
    if not hmac.compare_digest(otp.code_hash, digest(f"{phone}:{code.strip()}")):
        otp.attempts += 1
        if otp.attempts >= cfg.otp_max_attempts:
            otp.consumed_at = now
        raise NotAuthenticated("otp_invalid")
    otp.consumed_at = now
    user = s.scalar(select(User).where(User.phone == phone))
    if user is None:
        user = User(
            role=Role.CITIZEN.value,
            phone=phone,
            display_name=f"市民{phone[-4:]}",
            active=True,
            created_at=now,
        )
        s.add(user)
        s.flush()
    elif Role(user.role) not in PHONE_ROLES:
        raise Forbidden()
    if not user.active:
        raise Forbidden("account_disabled")
    return user


def password_login(s: Session, username: str, password: str, ph: PasswordHasher) -> User:
    user = s.scalar(select(User).where(User.username == username.strip()))
    if user is None or not user.password_hash:
        ph.hash("timing-equaliser")  # same cost whether or not the user exists
        raise NotAuthenticated("bad_credentials")
    try:
        ph.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        raise NotAuthenticated("bad_credentials") from None
    if not user.active:
        raise Forbidden("account_disabled")
    if ph.check_needs_rehash(user.password_hash):
        user.password_hash = ph.hash(password)
    return user


@dataclass(frozen=True)
class LoginLimits:
    """How many wrong passwords a user name or an address may have within ``window``."""

    per_username: int
    per_address: int
    window: timedelta

    @classmethod
    def from_config(cls, config: Any) -> LoginLimits:
        return cls(
            config["LOGIN_MAX_FAILURES"],
            config["LOGIN_MAX_FAILURES_PER_ADDRESS"],
            timedelta(seconds=config["LOGIN_FAILURE_WINDOW_SECONDS"]),
        )


def _locked_until(s: Session, column: Any, value: str, limit: int, since: datetime) -> Any:
    """When the ``limit``-th most recent failure of ``value`` inside the window was, if any."""
    return s.scalar(
        select(LoginFailure.at)
        .where(column == value, LoginFailure.at > since)
        .order_by(LoginFailure.at.desc())
        .offset(max(limit - 1, 0))
        .limit(1)
    )


def limited_password_login(
    s: Session,
    username: str,
    password: str,
    ph: PasswordHasher,
    address: str,
    limits: LoginLimits,
    now: datetime,
) -> User:
    """``password_login`` behind the attempt limits — the API's and the console's one rule.

    A user name or an address with ``limits.per_username`` / ``per_address`` failures inside
    the window is refused (429 ``login_too_many_attempts``, the minutes left) before the
    password is checked, right or wrong. A wrong user name or password is recorded (the
    caller commits even when this raises); a success clears its user name's failures.
    """
    username, address = username.strip()[:64], (address or "?")[:64]
    since = now - limits.window
    ends = [
        at + limits.window
        for at in (
            _locked_until(s, LoginFailure.username, username, limits.per_username, since),
            _locked_until(s, LoginFailure.address, address, limits.per_address, since),
        )
        if at is not None
    ]
    if ends:
        seconds = (max(ends) - now).total_seconds()
        raise TooMany("login_too_many_attempts", minutes=max(1, -int(-seconds // 60)))
    try:
        user = password_login(s, username, password, ph)
    except NotAuthenticated:
        s.execute(delete(LoginFailure).where(LoginFailure.at <= since))
        s.add(LoginFailure(username=username, address=address, at=now))
        raise
    s.execute(delete(LoginFailure).where(LoginFailure.username == username))
    return user


def issue_tokens(
    s: Session, user: User, device_id: str, device_name: str, cfg: AuthSettings, now: datetime
) -> dict[str, Any]:
    """One token pair per device: signing in again on a device replaces its old pair."""
    s.execute(
        update(DeviceToken)
        .where(
            DeviceToken.user_id == user.id,
            DeviceToken.device_id == device_id,
            DeviceToken.revoked_at.is_(None),
        )
        .values(revoked_at=now)
    )
    access, refresh = "cgta_" + secrets.token_urlsafe(32), "cgtr_" + secrets.token_urlsafe(32)
    tok = DeviceToken(
        user_id=user.id,
        device_id=device_id,
        device_name=device_name,
        access_hash=digest(access),
        access_expires_at=now + timedelta(seconds=cfg.access_seconds),
        refresh_hash=digest(refresh),
        refresh_expires_at=now + timedelta(days=cfg.refresh_days),
        created_at=now,
    )
    s.add(tok)
    s.flush()
    return {
        "access_token": access,
        "refresh_token": refresh,
        "token_type": "Bearer",
        "expires_in": cfg.access_seconds,
        "device_token_id": tok.id,
        "user": user,
    }


def refresh_tokens(s: Session, refresh: str, cfg: AuthSettings, now: datetime) -> dict[str, Any]:
    tok = s.scalar(select(DeviceToken).where(DeviceToken.refresh_hash == digest(refresh)))
    if tok is None or tok.revoked_at is not None or tok.refresh_expires_at <= now:
        raise NotAuthenticated("token_expired")
    user = s.get(User, tok.user_id)
    if user is None or not user.active:
        raise Forbidden("account_disabled")
    return issue_tokens(s, user, tok.device_id, tok.device_name, cfg, now)


@dataclass(frozen=True)
class Signed:
    """Who an access token belongs to (the fields every request needs, no ORM objects)."""

    user_id: int
    role: str
    department_id: int | None
    display_name: str
    token_id: int


_T, _U = DeviceToken.__table__, User.__table__
# Built once: it runs on every request.
_BY_ACCESS = Prepared(
    select(
        _T.c.id,
        _T.c.revoked_at,
        _T.c.access_expires_at,
        _U.c.id.label("user_id"),
        _U.c.role,
        _U.c.department_id,
        _U.c.display_name,
        _U.c.active,
        city_cache.TOKEN,  # read along: most requests look at the city next
    )  # fmt: skip
    .join(_U, _U.c.id == _T.c.user_id)
    .where(_T.c.access_hash == bindparam("access_hash"))
)


def authenticate(s: Session, access: str, now: datetime) -> Signed:
    """The user and device behind an access token; one query, as it runs on every request."""
    rows = _BY_ACCESS.execute(s.connection(), {"access_hash": digest(access)})
    if not rows:
        raise NotAuthenticated()
    token_id, revoked_at, expires_at, user_id, role, department_id, name, active, city = rows[0]
    city_cache.seen_token(s, city)
    if revoked_at is not None:
        raise NotAuthenticated()
    if expires_at <= now:
        raise NotAuthenticated("token_expired")
    if not active:
        raise NotAuthenticated("account_disabled")
    return Signed(user_id, role, department_id, name, token_id)


def revoke(s: Session, user_id: int, token_id: int, now: datetime) -> bool:
    tok = s.get(DeviceToken, token_id)
    if tok is None or tok.user_id != user_id:
        return False
    if tok.revoked_at is None:
        tok.revoked_at = now
    return True
