"""Photos (照片): check an upload, store its variants, and decide who may see which.

A photo is identified by the sha256 of the bytes the phone sent. Three variants are kept:
``original`` (private: the command centre and the uploader), ``public`` (upright, re-encoded
with every piece of metadata dropped — EXIF with GPS, XMP, comments, colour profile) and
``thumb`` (a small JPEG made from ``public``).
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from PIL import ExifTags, Image, ImageCms, ImageOps, UnidentifiedImageError
from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from shared_models.enums import PhotoKind
from shared_models.errors import CgtError, InvalidInput

from ..db import dialect_insert
from ..domain.workflow import DISPATCH_DESK
from ..models import Case, CasePhoto, Photo
from ..storage import PhotoStore
from .actor import Actor
from .visibility import scope_clause

FORMATS: dict[str, str] = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
THUMB_MIME = "image/jpeg"
# Pillow raises these (and more) on files that are cut off or not what they claim to be.
_BROKEN = (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError, IndexError)
_BOMB = (Image.DecompressionBombError, Image.DecompressionBombWarning)
_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


class Variant(StrEnum):
    ORIGINAL = "original"
    PUBLIC = "public"
    THUMB = "thumb"


class PayloadTooLarge(CgtError):
    status = 413
    default_code = "payload_too_large"


class UnsupportedMedia(CgtError):
    status = 415
    default_code = "unsupported_media"


@dataclass(frozen=True)
class PhotoSettings:
    photo_dir: str
    max_bytes: int
    max_pixels: int
    thumb_size: int

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> PhotoSettings:
        return cls(
            photo_dir=str(config["PHOTO_DIR"]),
            max_bytes=int(config["PHOTO_MAX_BYTES"]),
            max_pixels=int(config["PHOTO_MAX_PIXELS"]),
            thumb_size=int(config["THUMB_SIZE"]),
        )


@dataclass(frozen=True)
class Rendered:
    """What an accepted upload turns into, before anything touches the disk."""

    mime: str
    width: int  # upright, as shown
    height: int
    had_gps: bool
    public: bytes
    thumb: bytes


def variant_mime(photo: Photo, variant: Variant) -> str:
    return THUMB_MIME if variant is Variant.THUMB else photo.mime


def render(data: bytes, max_pixels: int, thumb_size: int) -> Rendered:
    """Decode the real content (never the declared type) and build the shown variants."""
    too_many = PayloadTooLarge("too_many_pixels", max_pixels=max_pixels)
    try:
        im = Image.open(io.BytesIO(data), formats=list(FORMATS))
    except _BOMB:
        raise too_many from None
    except _BROKEN:
        raise UnsupportedMedia() from None
    with im:
        if im.width * im.height > max_pixels:
            raise too_many
        fmt = str(im.format)
        try:
            im.load()
            had_gps = _has_gps(im)
            upright = ImageOps.exif_transpose(im)
            clean = _without_metadata(upright, fmt)
            public = _encode(clean, fmt)
            thumb = _thumbnail(clean, thumb_size)
        except _BOMB:
            raise too_many from None
        except _BROKEN:
            raise UnsupportedMedia() from None
    return Rendered(FORMATS[fmt], clean.width, clean.height, had_gps, public, thumb)


def _has_gps(im: Image.Image) -> bool:
    if im.getexif().get_ifd(ExifTags.IFD.GPSInfo):
        return True
    xmp = im.info.get("xmp") or im.info.get("XML:com.adobe.xmp") or b""
    return b"GPSLatitude" in (xmp.encode() if isinstance(xmp, str) else xmp)


def _without_metadata(im: Image.Image, fmt: str) -> Image.Image:
    """Pixels only, in sRGB: a fresh image carries no EXIF, XMP, comment or ICC profile."""
    alpha = im.mode in ("RGBA", "LA", "PA") or "transparency" in im.info
    target = "RGB" if fmt == "JPEG" or not alpha else "RGBA"
    if im.mode == "L" and target == "RGB":
        target = "L"
    icc = im.info.get("icc_profile")
    if icc and im.mode in ("RGB", "RGBA", "CMYK"):
        try:
            src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            mode = target if target != "L" else "RGB"
            converted = ImageCms.profileToProfile(im, src, _SRGB, outputMode=mode)
            if converted is not None:
                im = converted
        except ImageCms.PyCMSError:
            pass  # an unreadable profile: fall back to the raw values
    if im.mode != target:
        im = im.convert(target)
    clean = Image.new(im.mode, im.size)
    clean.paste(im)
    return clean


def _encode(im: Image.Image, fmt: str) -> bytes:
    buf = io.BytesIO()
    if fmt == "JPEG":
        im.save(buf, "JPEG", quality=90, optimize=True)
    elif fmt == "WEBP":
        im.save(buf, "WEBP", quality=90)
    else:
        im.save(buf, "PNG", optimize=True)
    return buf.getvalue()


def _thumbnail(im: Image.Image, size: int) -> bytes:
    thumb = im.copy()
    thumb.thumbnail((size, size), Image.Resampling.LANCZOS)
    if thumb.mode == "RGBA":  # JPEG has no transparency: lay it on white
        flat = Image.new("RGB", thumb.size, "white")
        flat.paste(thumb, mask=thumb.getchannel("A"))
        thumb = flat
    buf = io.BytesIO()
    thumb.save(buf, "JPEG", quality=82, optimize=True)
    return buf.getvalue()


def store_photo(
    s: Session,
    data: bytes,
    uploader: Actor,
    cfg: PhotoSettings,
    now: datetime,
    declared_sha256: str | None = None,
) -> tuple[Photo, bool]:
    """Accept an upload; the same bytes again give back the stored photo with ``False``.

    Files are written (atomically) before the row is added, so a row never lacks its files;
    the caller commits.
    """
    if len(data) > cfg.max_bytes:
        raise PayloadTooLarge(max_bytes=cfg.max_bytes)
    sha = hashlib.sha256(data).hexdigest()
    if declared_sha256 is not None and declared_sha256.strip().lower() != sha:
        raise InvalidInput("hash_mismatch", errors={"sha256": [f"content hashes to {sha}"]})
    store = PhotoStore(cfg.photo_dir)
    existing = s.get(Photo, sha)
    if existing is not None and all(store.exists(sha, v) for v in Variant):
        return existing, False
    out = render(data, cfg.max_pixels, cfg.thumb_size)
    store.put(sha, Variant.ORIGINAL, data)
    store.put(sha, Variant.PUBLIC, out.public)
    store.put(sha, Variant.THUMB, out.thumb)
    if existing is not None:  # its files had gone missing and are now restored
        return existing, False
    values = {
        "sha256": sha,
        "mime": out.mime,
        "size": len(data),
        "width": out.width,
        "height": out.height,
        "had_gps": out.had_gps,
        "uploaded_by": uploader.id,
        "created_at": now,
    }
    created = _insert_if_absent(s, values)
    photo = s.get(Photo, sha)
    assert photo is not None
    return photo, created


def _insert_if_absent(s: Session, values: dict[str, Any]) -> bool:
    """Insert the row unless a concurrent upload of the same bytes got there first."""
    stmt = dialect_insert(s, Photo).on_conflict_do_nothing(index_elements=["sha256"])
    # RETURNING says whether this statement inserted; rowcount is not reliable on every driver.
    inserted = s.execute(stmt.values(**values).returning(Photo.sha256)).scalar_one_or_none()
    return inserted is not None


def can_view_photo(s: Session, actor: Actor, sha256: str, variant: Variant | str) -> bool:
    """Whether ``actor`` may see this variant; callers answer 404 when not (hide existence).

    The uploader and the desk see every variant; anyone else the shown ones (``public``,
    ``thumb``) of photos attached to a case they may see (``visibility.scope_clause``).
    """
    photo = s.get(Photo, sha256)
    if photo is None:
        return False
    if actor.id is not None and photo.uploaded_by == actor.id:
        return True
    if actor.role in DISPATCH_DESK:
        return True
    if Variant(variant) is Variant.ORIGINAL or actor.id is None:
        return False
    with_case = (
        select(CasePhoto.case_id)
        .join(Case, Case.id == CasePhoto.case_id)
        .where(CasePhoto.photo_sha256 == sha256, scope_clause(actor))
    )
    return bool(s.scalar(select(exists(with_case))))


def attach_photos(
    s: Session,
    case_id: str,
    shas: Iterable[str],
    kind: PhotoKind,
    event_id: int | None,
    now: datetime,
) -> list[CasePhoto]:
    """Attach uploaded photos to a case as evidence of ``kind``; repeats are ignored.

    Raises ``InvalidInput("unknown_photo")`` listing every sha256 not uploaded yet, so a
    phone can upload those and retry.
    """
    wanted = list(dict.fromkeys(sha.strip().lower() for sha in shas))
    if not wanted:
        return []
    known = set(s.scalars(select(Photo.sha256).where(Photo.sha256.in_(wanted))))
    unknown = [sha for sha in wanted if sha not in known]
    if unknown:
        raise InvalidInput("unknown_photo", errors={"photos": unknown}, sha256=", ".join(unknown))
    attached = set(
        s.scalars(
            select(CasePhoto.photo_sha256).where(
                CasePhoto.case_id == case_id,
                CasePhoto.kind == kind.value,
                CasePhoto.photo_sha256.in_(wanted),
            )
        )
    )
    rows = [
        CasePhoto(
            case_id=case_id, photo_sha256=sha, kind=kind.value, event_id=event_id, added_at=now
        )
        for sha in wanted
        if sha not in attached
    ]
    s.add_all(rows)
    return rows
