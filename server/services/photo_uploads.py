"""Resumable, chunked photo upload (docs/photos.md, "Resumable upload"; sync rules F-1…F-8).

A phone on a poor network sends a photo in chunks and, after a cut connection, asks how many
bytes the server holds and goes on from there. The rules:

- an upload belongs to one uploader and one sha256; nobody else can see or extend it;
- a chunk is taken only at the server's current offset (else ``offset_mismatch`` with that
  offset, nothing changed), only whole (a cut-off body adds nothing) and, when the phone sends
  its digest, only undamaged (``chunk_corrupt``);
- a chunk counts once its bytes are fsynced *and* the ``photo_uploads`` row saying so has
  committed; bytes a crash left beyond the row's count are cut off by the next chunk;
- when the last byte arrives the whole is checked (size, sha256, then :func:`store_photo`,
  the same code as a whole-file upload: format, pixels, variants, row) and the upload is
  dropped whether it was accepted or refused;
- unfinished uploads expire ``PHOTO_UPLOAD_TTL_HOURS`` after their last chunk
  (:func:`prune` removes them), and a user may have ``PHOTO_UPLOADS_PER_USER`` at once.

Nothing here commits: the caller does, except that an :class:`UploadDropped` asks it to
commit the removal before answering with the refusal.
"""

from __future__ import annotations

import hashlib
import io
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from PIL import Image
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from shared_models.errors import CgtError, Conflict, InvalidInput, NotFound, TooMany

from ..db import dialect_insert
from ..models import Photo, PhotoUpload
from ..storage import SHA256_RE, PhotoStore
from .actor import Actor
from .photos import (
    _BOMB,
    _BROKEN,
    FORMATS,
    PayloadTooLarge,
    PhotoSettings,
    UnsupportedMedia,
    Variant,
    can_view_photo,
    store_photo,
)

ORPHAN_AGE_SECONDS = 3600  # a partial file without its row (a crash mid-begin) is kept this long


class UploadNotFound(NotFound):
    default_code = "upload_not_found"


class OffsetMismatch(Conflict):
    default_code = "offset_mismatch"

    def __init__(self, offset: int) -> None:
        super().__init__(errors={"offset": offset}, offset=offset)
        self.offset = offset


class ChunkCorrupt(InvalidInput):
    default_code = "chunk_corrupt"


class ChunkTooLarge(PayloadTooLarge):
    default_code = "chunk_too_large"


class TooManyUploads(TooMany):
    default_code = "too_many_uploads"


class UploadDropped(Exception):
    """The upload was given up for good (refused content): commit, then answer ``error``."""

    def __init__(self, error: CgtError) -> None:
        super().__init__(error.message)
        self.error = error


@dataclass(frozen=True)
class UploadSettings:
    photos: PhotoSettings
    chunk_max: int
    ttl: timedelta
    per_user: int

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> UploadSettings:
        return cls(
            photos=PhotoSettings.from_config(config),
            chunk_max=int(config["PHOTO_CHUNK_MAX_BYTES"]),
            ttl=timedelta(hours=float(config["PHOTO_UPLOAD_TTL_HOURS"])),
            per_user=int(config["PHOTO_UPLOADS_PER_USER"]),
        )


@dataclass(frozen=True)
class UploadState:
    """What the server holds of one upload; ``photo`` is set once it is complete."""

    sha256: str
    size: int
    offset: int
    expires_at: datetime | None
    photo: Photo | None = None
    created: bool = False  # this call made the upload (begin) or stored the photo (append)

    @property
    def complete(self) -> bool:
        return self.photo is not None


def _check_sha(sha256: str) -> str:
    if not SHA256_RE.match(sha256):
        raise InvalidInput(errors={"sha256": ["must be 64 lowercase hexadecimal digits"]})
    return sha256


def _stored(s: Session, actor: Actor, sha256: str, store: PhotoStore) -> Photo | None:
    """The stored photo if this user may know of it (else they upload the bytes to prove it)."""
    if not can_view_photo(s, actor, sha256, Variant.PUBLIC):
        return None
    photo = s.get(Photo, sha256)
    if photo is None or not all(store.exists(sha256, v) for v in Variant):
        return None  # files gone missing: an upload of the bytes restores them
    return photo


def _done(photo: Photo, created: bool = False) -> UploadState:
    return UploadState(photo.sha256, photo.size, photo.size, None, photo, created)


def _received(row: PhotoUpload, path: Path) -> int:
    """The committed offset, or 0 when the file lost bytes the row counts (a restored disk)."""
    try:
        on_disk = path.stat().st_size
    except FileNotFoundError:
        on_disk = -1
    return row.received if on_disk >= row.received else 0


def _state(row: PhotoUpload, store: PhotoStore, created: bool = False) -> UploadState:
    path = store.partial(row.uploader_id, row.sha256)
    return UploadState(row.sha256, row.size, _received(row, path), row.expires_at, None, created)


def begin(
    s: Session,
    actor: Actor,
    sha256: str,
    size: int,
    mime: str | None,
    cfg: UploadSettings,
    now: datetime,
) -> UploadState:
    """Start an upload, or resume this user's unfinished one (its offset says from where)."""
    _check_sha(sha256)
    if size > cfg.photos.max_bytes:
        raise PayloadTooLarge(max_bytes=cfg.photos.max_bytes)
    if mime is not None and mime not in FORMATS.values():
        raise UnsupportedMedia()
    store = PhotoStore(cfg.photos.photo_dir)
    photo = _stored(s, actor, sha256, store)
    if photo is not None:
        return _done(photo)
    assert actor.id is not None
    path = store.partial(actor.id, sha256)
    key = (actor.id, sha256)
    row = s.get(PhotoUpload, key, with_for_update=True)
    if row is None:
        open_uploads = s.scalar(
            select(func.count())
            .select_from(PhotoUpload)
            .where(PhotoUpload.uploader_id == actor.id, PhotoUpload.expires_at > now)
        )
        if (open_uploads or 0) >= cfg.per_user:
            raise TooManyUploads(limit=cfg.per_user)
        values = {"uploader_id": actor.id, "sha256": sha256, "size": size, "received": 0}
        values |= {"mime": mime, "created_at": now, "expires_at": now + cfg.ttl}
        # a second begin racing this one waits here, then resumes what the first one made
        insert = dialect_insert(s, PhotoUpload).values(**values).on_conflict_do_nothing()
        made = s.execute(insert.returning(PhotoUpload.sha256)).scalar_one_or_none()
        row = s.get(PhotoUpload, key, with_for_update=True, populate_existing=True)
        assert row is not None
        if made is not None:
            store.append(path, 0, b"")
            return _state(row, store, created=True)
    if row.expires_at > now and row.size == size:
        row.expires_at = now + cfg.ttl
        return _state(row, store)
    # new, expired, or begun again with another size (a confused phone): from the start
    row.size, row.received, row.mime = size, 0, mime
    row.created_at, row.expires_at = now, now + cfg.ttl
    s.flush()
    store.append(path, 0, b"")
    return _state(row, store, created=True)


def state(s: Session, actor: Actor, sha256: str, cfg: UploadSettings, now: datetime) -> UploadState:
    """How far this user's upload of ``sha256`` got: 404 when there is none (or it expired)."""
    _check_sha(sha256)
    store = PhotoStore(cfg.photos.photo_dir)
    row = s.get(PhotoUpload, (actor.id, sha256))
    if row is not None and row.expires_at > now:
        return _state(row, store)
    photo = _stored(s, actor, sha256, store)
    if photo is not None:
        return _done(photo)
    raise UploadNotFound()


def append(
    s: Session,
    actor: Actor,
    sha256: str,
    offset: int,
    data: bytes,
    cfg: UploadSettings,
    now: datetime,
    *,
    total: int | None = None,
    digest: bytes | None = None,
) -> UploadState:
    """Add one chunk at ``offset``; the last one stores the photo (or drops the upload).

    ``total`` is the size the phone believes in (Content-Range), ``digest`` the sha256 of
    the chunk as it sent it (Content-Digest); both optional.
    """
    _check_sha(sha256)
    if not data:
        raise InvalidInput(errors={"body": ["a chunk must not be empty"]})
    if len(data) > cfg.chunk_max:
        raise ChunkTooLarge(max_bytes=cfg.chunk_max)
    if digest is not None and hashlib.sha256(data).digest() != digest:
        raise ChunkCorrupt(errors={"Content-Digest": ["the chunk does not match its digest"]})
    store = PhotoStore(cfg.photos.photo_dir)
    key = (PhotoUpload.uploader_id == actor.id, PhotoUpload.sha256 == sha256)
    # Takes the row's write lock first: two copies of one chunk (a retry racing the original)
    # are applied one after the other, and the second finds the offset moved on.
    touched = s.execute(
        update(PhotoUpload)
        .where(*key, PhotoUpload.expires_at > now)
        .values(expires_at=now + cfg.ttl)
        .execution_options(synchronize_session=False)
    )
    if touched.rowcount == 0:  # type: ignore[attr-defined]
        photo = _stored(s, actor, sha256, store)
        if photo is not None:
            return _done(photo)  # the last chunk again, its answer having been lost
        raise UploadNotFound()
    row = s.scalars(select(PhotoUpload).where(*key).execution_options(populate_existing=True)).one()
    if total is not None and total != row.size:
        raise InvalidInput(errors={"Content-Range": [f"this upload has {row.size} bytes"]})
    assert actor.id is not None
    path = store.partial(actor.id, sha256)
    have = _received(row, path)
    if offset != have:
        raise OffsetMismatch(have)
    if have + len(data) > row.size:
        raise PayloadTooLarge(
            errors={"Content-Range": [f"bytes past the upload's {row.size}"]}, max_bytes=row.size
        )
    if have == 0:
        refusal = _refused_from_the_start(data, cfg.photos.max_pixels)
        if refusal is not None:
            _drop(s, row, path)
            raise UploadDropped(refusal)
    store.append(path, have, data)
    row.received = have + len(data)
    if row.received < row.size:
        return _state(row, store)
    return _finish(s, actor, row, path, cfg, now)


def _finish(
    s: Session, actor: Actor, row: PhotoUpload, path: Path, cfg: UploadSettings, now: datetime
) -> UploadState:
    whole = path.read_bytes()
    try:
        if len(whole) != row.size:  # pragma: no cover - append keeps them equal
            raise InvalidInput(errors={"size": [f"{len(whole)} bytes, {row.size} declared"]})
        photo, created = store_photo(s, whole, actor, cfg.photos, now, row.sha256)
    except CgtError as refusal:  # hash_mismatch, unsupported_media, too_many_pixels …
        _drop(s, row, path)
        raise UploadDropped(refusal) from None
    s.delete(row)
    s.flush()
    path.unlink(missing_ok=True)
    return _done(photo, created)


def _refused_from_the_start(head: bytes, max_pixels: int) -> CgtError | None:
    """Refuse at the first chunk what can never become a photo: not JPEG, PNG or WebP by its
    signature, or a header announcing too many pixels (the final check decides the rest)."""
    Image.init()  # registers every format's signature check in Image.OPEN
    if len(head) >= 16 and not any(Image.OPEN[fmt][1](head[:16]) for fmt in FORMATS):
        return UnsupportedMedia()
    try:
        with Image.open(io.BytesIO(head), formats=list(FORMATS)) as im:
            too_many = im.width * im.height > max_pixels
    except _BOMB:
        too_many = True
    except _BROKEN:
        return None  # the header is not complete yet
    return PayloadTooLarge("too_many_pixels", max_pixels=max_pixels) if too_many else None


def _drop(s: Session, row: PhotoUpload, path: Path) -> None:
    s.delete(row)
    s.flush()
    path.unlink(missing_ok=True)


def cancel(s: Session, actor: Actor, sha256: str, cfg: UploadSettings) -> None:
    """The phone gives up an upload (the user discarded the photo)."""
    _check_sha(sha256)
    row = s.get(PhotoUpload, (actor.id, sha256))
    if row is None:
        raise UploadNotFound()
    _drop(s, row, PhotoStore(cfg.photos.photo_dir).partial(row.uploader_id, sha256))


def prune(s: Session, cfg: UploadSettings, now: datetime) -> int:
    """Remove expired uploads and their files, and files no upload row owns; returns how
    many uploads were removed. Commit afterwards."""
    store = PhotoStore(cfg.photos.photo_dir)
    expired = s.execute(
        select(PhotoUpload.uploader_id, PhotoUpload.sha256).where(PhotoUpload.expires_at <= now)
    ).all()
    s.execute(delete(PhotoUpload).where(PhotoUpload.expires_at <= now))
    for owner, sha in expired:
        store.partial(owner, sha).unlink(missing_ok=True)
    live = {(o, h) for o, h in s.execute(select(PhotoUpload.uploader_id, PhotoUpload.sha256))}
    old = time.time() - ORPHAN_AGE_SECONDS
    for owner, sha, path in store.partial_files():
        if (owner, sha) not in live and path.stat().st_mtime < old:
            path.unlink(missing_ok=True)
    return len(expired)
