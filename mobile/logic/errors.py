"""The app's one error family: what went wrong, in words the user can read.

An :class:`AppError` carries either an i18n key of the app's own catalogue (with parameters)
or the server's bilingual message (``code``, ``message``, ``message_zh``), so a refusal is
shown exactly as the server worded it.
"""

from __future__ import annotations

from typing import Any, Protocol


class Tr(Protocol):
    language: str

    def __call__(self, key: str, **params: Any) -> str: ...


class AppError(Exception):
    """Root of every error the app shows the user."""

    key = "error.generic"

    def __init__(
        self,
        key: str | None = None,
        *,
        code: str | None = None,
        message: str | None = None,
        message_zh: str | None = None,
        errors: dict[str, Any] | None = None,
        **params: Any,
    ) -> None:
        self.key = key or self.key
        self.code = code
        self.message = message
        self.message_zh = message_zh
        self.errors = errors or {}
        self.params = params
        super().__init__(message or self.key)

    def text(self, tr: Tr) -> str:
        """The message in the user's language: the server's words when it gave them."""
        if self.message_zh and tr.language == "zh":
            return self.message_zh
        if self.message:
            return self.message
        return tr(self.key, **self.params)


class Offline(AppError):
    """The server could not be reached (no network, server down, timeout)."""

    key = "error.offline"


class ServerRefused(AppError):
    """The server answered with its error shape ``{code, message, message_zh, errors}``."""

    key = "error.server"

    def __init__(self, status: int, doc: dict[str, Any]) -> None:
        self.status = status
        errors = doc.get("errors") if isinstance(doc.get("errors"), dict) else {}
        super().__init__(
            code=str(doc.get("code") or "bad_request"),
            message=str(doc["message"]) if doc.get("message") else None,
            message_zh=str(doc["message_zh"]) if doc.get("message_zh") else None,
            errors=errors,
        )


class FormInvalid(AppError):
    """A form failed validation; ``fields`` maps each field to the i18n key of its problem."""

    key = "form.fix_fields"

    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__()
        self.fields = fields


class NotSignedIn(AppError):
    key = "error.not_signed_in"
