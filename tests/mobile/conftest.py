"""Fixtures for the app's logic tests: a real server (thread) per module, a cable, a core."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from mobile.logic.core import Core
from sync.schedule import Backoff

from .helpers import Cable, Desk, thread_server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with thread_server(tmp_path_factory.mktemp("server")) as base:
        yield base


@pytest.fixture
def cable(server: str) -> Iterator[Cable]:
    c = Cable(server)
    yield c
    c.cut()


@pytest.fixture
def desk(server: str) -> Desk:
    return Desk(server)


def make_core(folder: Path, url: str) -> Core:
    ms = timedelta(milliseconds=1)
    core = Core(
        folder,
        backoff=Backoff(100 * ms, timedelta(seconds=1), 50 * ms),
        probe_every=200 * ms,
        min_gap=100 * ms,
        outcome_delay=100 * ms,  # deferred pushes: ask for the outcomes again soon
    )
    core.set_server(url)
    return core


@pytest.fixture
def core(tmp_path: Path, cable: Cable) -> Iterator[Core]:
    c = make_core(tmp_path / "phone", cable.url)
    yield c
    c.close()
