"""Photos on the phone: taken or chosen pictures copied into the app's folder under their
sha256, ready for the upload queue and readable in chunks by it.

Large camera pictures are scaled to at most ``MAX_SIDE`` pixels and saved as JPEG first: a
report needs a clear picture, not 12 megapixels over a weak network. What is not an image is
refused here (``report.photo_not_image``) rather than by the server an hour later.
"""

from __future__ import annotations

import hashlib
import io
import os
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import AppError

MAX_SIDE = 2048
KEEP_AS_IS_BYTES = 1_500_000
MIME_OF_FORMAT = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}


@dataclass(frozen=True)
class StoredPhoto:
    sha256: str
    size: int
    mime: str
    path: str


class PhotoLibrary:
    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)

    def path_of(self, sha256: str) -> Path:
        return self.folder / sha256

    def add_file(self, path: str | Path) -> StoredPhoto:
        try:
            data = Path(path).read_bytes()
        except OSError as error:
            raise AppError("report.photo_unreadable") from error
        return self.add_bytes(data)

    def add_bytes(self, data: bytes) -> StoredPhoto:
        try:
            with Image.open(io.BytesIO(data)) as img:
                img.load()
                fmt = img.format or ""
                big = max(img.size) > MAX_SIDE or len(data) > KEEP_AS_IS_BYTES
                if fmt not in MIME_OF_FORMAT or big:
                    data, fmt = self._shrink(img), "JPEG"
        except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as error:
            raise AppError("report.photo_not_image") from error
        sha = hashlib.sha256(data).hexdigest()
        target = self.path_of(sha)
        if not target.exists():
            tmp = target.with_suffix(".tmp")
            tmp.write_bytes(data)
            os.replace(tmp, target)
        return StoredPhoto(sha, len(data), MIME_OF_FORMAT[fmt], str(target))

    @staticmethod
    def _shrink(img: Image.Image) -> bytes:
        img = ImageOps.exif_transpose(img) or img
        img = img.convert("RGB")
        img.thumbnail((MAX_SIDE, MAX_SIDE))
        out = io.BytesIO()
        img.save(out, "JPEG", quality=85, optimize=True)
        return out.getvalue()

    def read(self, sha256: str, offset: int, length: int) -> bytes:
        """The upload queue's source: ``length`` bytes at ``offset`` (b"" if the file is gone)."""
        try:
            with self.path_of(sha256).open("rb") as f:
                f.seek(offset)
                return f.read(length)
        except OSError:
            return b""
