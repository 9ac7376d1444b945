"""The app's clock: real time in production, a fixed or advancing clock in tests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from flask import Flask, current_app


def utcnow() -> datetime:
    return datetime.now(UTC)


class FixedClock:
    """A clock tests can set and advance."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        from datetime import timedelta

        self.now = self.now + timedelta(**delta)
        return self.now


def init_app(app: Flask) -> None:
    app.config.setdefault("CLOCK", utcnow)


def now() -> datetime:
    clock: Callable[[], datetime] = current_app.config["CLOCK"]
    return clock()
