"""Photos: resumable by sha256, verified on arrival, one bad photo never stalls the others."""

from __future__ import annotations

import hashlib
import random
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared_models.errors import CgtError
from sync.errors import ProtocolError, TransportError
from sync.photos import PhotoQueue, PhotoStatus, accept_chunk
from sync.testkit import FixedClock, MemoryClientStore, MemoryPhotoServer
from tests.sync.conftest import SYNC_SETTINGS


def photo(seed: int, size: int) -> tuple[str, bytes]:
    data = random.Random(seed).randbytes(size)
    return hashlib.sha256(data).hexdigest(), data


class Phone:
    def __init__(self, server: MemoryPhotoServer, **options: int) -> None:
        self.files: dict[str, bytes] = {}
        self.clock = FixedClock(datetime(2026, 11, 16, tzinfo=UTC))
        self.queue = PhotoQueue(
            MemoryClientStore(),
            server,
            self.read,
            self.clock,
            random.Random(1),
            chunk_bytes=1000,
            **options,
        )

    def read(self, sha: str, offset: int, length: int) -> bytes:
        return self.files[sha][offset : offset + length]

    def take(self, seed: int, size: int, mime: str = "image/jpeg") -> str:
        sha, data = photo(seed, size)
        self.files[sha] = data
        self.queue.add(sha, size, mime)
        return sha


def test_upload_resumes_where_the_server_stopped() -> None:
    server = MemoryPhotoServer()
    phone = Phone(server)
    sha = phone.take(1, 3500)
    server.broken.add(sha)
    server.partial[sha] = phone.files[sha][:2000]  # two chunks arrived before the cut
    phone.queue.run()
    assert phone.queue.status_of([sha]) == {sha: PhotoStatus.WAITING}
    server.broken.clear()
    phone.clock.advance(hours=1)
    sent: list[int] = []
    original = server.put_chunk

    def spy(s: str, offset: int, chunk: bytes) -> int:
        sent.append(offset)
        return original(s, offset, chunk)

    server.put_chunk = spy  # type: ignore[method-assign]
    phone.queue.run()
    assert sent == [2000, 3000] and server.complete[sha] == phone.files[sha]
    assert phone.queue.status_of([sha]) == {sha: PhotoStatus.UPLOADED}


def test_one_bad_photo_does_not_stall_the_others_nor_loop_forever() -> None:
    server = MemoryPhotoServer()
    phone = Phone(server, max_failures=3)
    bad = phone.take(1, 2500)
    good = phone.take(2, 2500)
    server.broken.add(bad)
    for _ in range(5):
        phone.queue.run()
        phone.clock.advance(hours=1)
    status = phone.queue.status_of([bad, good])
    assert status == {bad: PhotoStatus.ATTENTION, good: PhotoStatus.UPLOADED}
    (item,) = [i for i in phone.queue.items() if i.sha256 == bad]
    assert item.code == "upload_failed" and "3" in (item.message_zh or "")
    server.broken.clear()
    phone.queue.retry(bad)
    phone.queue.run()
    assert phone.queue.status_of([bad]) == {bad: PhotoStatus.UPLOADED}


def test_too_large_or_wrong_type_needs_attention_at_once() -> None:
    server = MemoryPhotoServer()
    phone = Phone(server, max_bytes=2000)
    big = phone.take(1, 5000)
    gif = phone.take(2, 100, mime="image/gif")
    phone.queue.run()
    items = {i.sha256: i for i in phone.queue.items()}
    assert items[big].code == "payload_too_large" and items[gif].code == "unsupported_media"
    assert server.partial == {} and server.complete == {}


def test_a_corrupted_upload_is_refused_not_retried() -> None:
    server = MemoryPhotoServer()
    phone = Phone(server)
    sha = phone.take(1, 1500)
    phone.files[sha] = b"z" * 1500  # the file changed under us
    phone.queue.run()
    (item,) = phone.queue.items()
    assert item.status is PhotoStatus.ATTENTION and item.code == "hash_mismatch"
    assert sha not in server.partial


def test_offline_costs_no_attempts() -> None:
    server = MemoryPhotoServer()
    phone = Phone(server, max_failures=1)
    sha = phone.take(1, 1500)
    server.unreachable = True
    for _ in range(5):
        phone.queue.run()
    assert phone.queue.status_of([sha]) == {sha: PhotoStatus.WAITING}
    server.unreachable = False
    phone.queue.run()
    assert phone.queue.status_of([sha]) == {sha: PhotoStatus.UPLOADED}


@SYNC_SETTINGS
@given(st.binary(min_size=1, max_size=3000), st.lists(st.integers(1, 700), min_size=1))
def test_chunks_in_any_sizes_and_with_stale_offsets_assemble_the_photo(
    data: bytes, sizes: list[int]
) -> None:
    sha = hashlib.sha256(data).hexdigest()
    have, i = b"", 0
    while True:
        size = sizes[i % len(sizes)]
        i += 1
        stale = i % 3 == 0 and len(have) > 0
        offset = len(have) - 1 if stale else len(have)
        out = accept_chunk(have, offset, data[offset : offset + size], sha256=sha, size=len(data))
        if stale:
            assert out.data == have
        have = out.data
        if out.complete:
            break
    assert have == data


def test_bytes_past_the_declared_size_are_refused() -> None:
    with pytest.raises(CgtError) as caught:
        accept_chunk(b"ab", 2, b"cde", sha256="0" * 64, size=4)
    assert caught.value.code == "payload_too_large"


def test_transport_error_is_a_sync_error() -> None:
    assert issubclass(TransportError, Exception)


def test_a_mutation_waits_for_its_photo_and_the_app_can_show_which() -> None:
    from . import domain
    from .conftest import World

    world = World()
    server = MemoryPhotoServer()
    phone_photos = Phone(server, max_failures=2)
    phone, _ = world.device(
        "p", domain.inspector("i", "A"), store=phone_photos.queue.store, photos=phone_photos.queue
    )
    sha = phone_photos.take(1, 2500)
    server.broken.add(sha)
    entry = phone.record("open_case.v1", {"id": "c1", "title": "t", "grid": "A", "photos": [sha]})
    phone.record("open_case.v1", {"id": "c2", "title": "t", "grid": "A"})
    phone.sync()
    assert phone.photos_of(entry) == {sha: PhotoStatus.WAITING}
    assert phone.counts().waiting == 2  # the second keeps its place behind the first
    phone_photos.clock.advance(hours=1)
    phone.sync()  # the photo gives up: the mutations go, nothing stalls for ever
    assert phone.photos_of(entry) == {sha: PhotoStatus.ATTENTION}
    assert phone.counts().waiting == 0


class AnswersBadly(MemoryPhotoServer):
    """A server that is up but fails the start of one photo every time (an HTTP 500)."""

    def __init__(self, bad: str) -> None:
        super().__init__()
        self.bad = bad

    def offset(self, sha256: str, size: int, mime: str) -> int:
        if sha256 == self.bad:
            raise TransportError("HTTP 500")
        return super().offset(sha256, size, mime)


def test_a_photo_the_server_keeps_failing_stalls_nothing_and_ends_in_attention() -> None:
    server = AnswersBadly("")
    phone = Phone(server, max_failures=3)
    bad = phone.take(1, 2500)
    good = phone.take(2, 2500)
    server.bad = bad
    for _ in range(4):
        phone.queue.run()
        phone.clock.advance(hours=1)
    assert phone.queue.status_of([bad, good]) == {
        bad: PhotoStatus.ATTENTION,
        good: PhotoStatus.UPLOADED,
    }
    assert phone.queue.counts()[PhotoStatus.ATTENTION] == 1


class TooOld(MemoryPhotoServer):
    def offset(self, sha256: str, size: int, mime: str) -> int:
        raise ProtocolError("unsupported_protocol", version=1, supported=2)


def test_a_refused_app_is_no_photos_fault() -> None:
    from . import domain
    from .conftest import World

    photos = Phone(TooOld())
    photos.take(1, 1500)
    with pytest.raises(ProtocolError):
        photos.queue.run()
    (item,) = photos.queue.items()
    assert item.status is PhotoStatus.WAITING and item.failures == 0
    phone, _ = World().device(
        "p", domain.inspector("i", "A"), store=photos.queue.store, photos=photos.queue
    )
    report = phone.sync()  # the attempt says why, and the app asks for an update
    assert report.error == "unsupported_protocol" and phone.counts().update_required


def test_the_app_can_show_which_mutations_wait_for_their_photos() -> None:
    from . import domain
    from .conftest import World

    world = World()
    server = MemoryPhotoServer()
    photos = Phone(server)
    phone, _ = world.device(
        "p", domain.inspector("i", "A"), store=photos.queue.store, photos=photos.queue
    )
    sha = photos.take(1, 2500)
    server.unreachable = True
    with_photo = phone.record(
        "open_case.v1", {"id": "c1", "title": "t", "grid": "A", "photos": [sha]}
    )
    phone.record("open_case.v1", {"id": "c2", "title": "t", "grid": "A"})
    phone.sync()
    assert phone.counts().waiting == 2
    assert [e.seq for e in phone.waiting_for_photos()] == [with_photo.seq]
    assert photos.queue.counts()[PhotoStatus.WAITING] == 1
    server.unreachable = False
    assert phone.sync().ok and phone.waiting_for_photos() == []
    assert phone.counts().waiting == 0 and phone.photos_of(with_photo) == {
        sha: PhotoStatus.UPLOADED
    }
