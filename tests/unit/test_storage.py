"""The content-addressed photo store: layout, atomic writes, nothing half-written."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from server.storage import PhotoStore

SHA = hashlib.sha256(b"photo").hexdigest()


def test_layout_is_two_levels_of_hash_prefix(tmp_path: Path) -> None:
    store = PhotoStore(tmp_path)
    assert store.path(SHA, "thumb") == tmp_path / SHA[:2] / SHA[2:4] / f"{SHA}.thumb"


@pytest.mark.parametrize("sha", ["../etc/passwd", SHA.upper(), SHA[:-1], ""])
def test_refuses_names_that_are_not_a_sha256(tmp_path: Path, sha: str) -> None:
    with pytest.raises(ValueError):
        PhotoStore(tmp_path).path(sha, "original")


def test_refuses_odd_variant_names(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        PhotoStore(tmp_path).path(SHA, "../x")


def test_put_then_read_back_and_leave_no_temp_files(tmp_path: Path) -> None:
    store = PhotoStore(tmp_path)
    final = store.put(SHA, "original", b"photo")
    assert final.read_bytes() == b"photo"
    assert store.exists(SHA, "original") and not store.exists(SHA, "public")
    with store.open(SHA, "original") as fh:
        assert fh.read() == b"photo"
    assert list(store.tmp_dir.iterdir()) == []


def test_writing_the_same_name_twice_is_harmless(tmp_path: Path) -> None:
    store = PhotoStore(tmp_path)
    store.put(SHA, "public", b"one")
    store.put(SHA, "public", b"two")
    assert store.path(SHA, "public").read_bytes() == b"two"


def test_failed_move_leaves_neither_file_nor_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = PhotoStore(tmp_path)

    def broken_replace(src: object, dst: object) -> None:
        raise OSError("disk gone")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError):
        store.put(SHA, "original", b"photo")
    assert not store.exists(SHA, "original")
    assert list(store.tmp_dir.iterdir()) == []


def test_staged_file_can_be_appended_then_adopted(tmp_path: Path) -> None:
    """The hook a resumable upload will use: append chunks, then move into place."""
    store = PhotoStore(tmp_path)
    staged = store.new_temp()
    with staged.open("ab") as fh:
        fh.write(b"pho")
    with staged.open("ab") as fh:
        fh.write(b"to")
    store.adopt(staged, SHA, "original")
    assert store.path(SHA, "original").read_bytes() == b"photo"
    assert not staged.exists()


def test_open_missing_raises(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        PhotoStore(tmp_path).open(SHA, "thumb")
