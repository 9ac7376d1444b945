"""Content-addressed file store for photos: ``<root>/ab/cd/<sha256>.<variant>``.

Every file appears whole or not at all: bytes go to a temporary file under ``<root>/tmp``
(same filesystem), are fsynced, then moved into place with :func:`os.replace`. Because a name
is derived from the content, writing a name twice is harmless, and a file left behind by a
failed request is simply an unreferenced blob. A resumable upload appends its chunks to a
file of its own, ``<root>/partial/<uploader id>/<sha256>`` (:meth:`PhotoStore.partial`),
until the last byte arrives and the photo is stored like any other.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import BinaryIO

SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
VARIANT_RE = re.compile(r"^[a-z]{1,16}$")


class PhotoStore:
    """Photo files keyed by the sha256 of the original upload and a variant name."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.tmp_dir = self.root / "tmp"
        self.partial_dir = self.root / "partial"

    def path(self, sha256: str, variant: str) -> Path:
        """Where a variant lives; two directory levels keep directories small."""
        if not SHA256_RE.match(sha256):
            raise ValueError(f"not a lowercase hex sha256: {sha256!r}")
        if not VARIANT_RE.match(variant):
            raise ValueError(f"bad variant name: {variant!r}")
        return self.root / sha256[:2] / sha256[2:4] / f"{sha256}.{variant}"

    def exists(self, sha256: str, variant: str) -> bool:
        return self.path(sha256, variant).is_file()

    def open(self, sha256: str, variant: str) -> BinaryIO:
        """Open a stored variant for reading; raises FileNotFoundError when absent."""
        return self.path(sha256, variant).open("rb")

    def put(self, sha256: str, variant: str, data: bytes) -> Path:
        """Store ``data`` atomically and durably; returns the final path."""
        tmp = self.new_temp()
        try:
            with tmp.open("wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            return self.adopt(tmp, sha256, variant)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def partial(self, owner: int, sha256: str) -> Path:
        """The file an unfinished upload of ``owner`` appends to."""
        if not SHA256_RE.match(sha256):
            raise ValueError(f"not a lowercase hex sha256: {sha256!r}")
        return self.partial_dir / str(int(owner)) / sha256

    def append(self, path: Path, at: int, data: bytes) -> None:
        """Write ``data`` at byte ``at`` of ``path`` (created if missing), cutting off anything
        after it first, and make it durable before returning."""
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("r+b" if path.exists() else "w+b") as fh:
            fh.truncate(at)
            fh.seek(at)
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())

    def partial_files(self) -> list[tuple[int, str, Path]]:
        """Every unfinished upload's file as ``(owner, sha256, path)``."""
        found = []
        for path in self.partial_dir.glob("*/*"):
            if path.parent.name.isdigit() and SHA256_RE.match(path.name):
                found.append((int(path.parent.name), path.name, path))
        return found

    def new_temp(self) -> Path:
        """A fresh, empty temporary file on the store's filesystem (for staged writes)."""
        self.tmp_dir.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=self.tmp_dir, prefix="part-")
        os.close(fd)
        return Path(name)

    def adopt(self, tmp: Path, sha256: str, variant: str) -> Path:
        """Move a complete, fsynced temporary file into its content-addressed place."""
        final = self.path(sha256, variant)
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp, final)
        _fsync_dir(final.parent)
        return final


def _fsync_dir(directory: Path) -> None:
    """Make the rename itself durable (POSIX); a no-op where directories cannot be opened."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
