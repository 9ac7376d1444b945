"""JSON on the sync engine's hot paths: orjson when it is installed, the standard library
otherwise, with the same values (the text may differ in spacing).

A first pull parses every record of a page and stores each one's text: with the standard
library that is ~14 µs to parse and ~8 µs to encode a 1 KB record here; orjson does it in
~6 and ~1.5 µs (docs/PERFORMANCE.md, "Offline sync"). orjson is installed with the project
(server, desktop app, benchmarks); python-for-android has no recipe for it (a Rust
extension), so the Android build runs without it, slower, on ``json`` alone.

Where the two would disagree, the standard library decides: text orjson refuses (NaN, a
number out of a double's range …) is handed to ``json``, and a value orjson cannot encode
(a key that is not a string …) too. One difference stays: orjson reads an integer beyond 64
bits as a float; nothing the server publishes holds one. ``CGT_SYNC_JSON=stdlib`` turns
orjson off (to measure the Android path, or to rule it out).
"""

from __future__ import annotations

import json
import os
from types import ModuleType
from typing import Any

_orjson: ModuleType | None
try:
    import orjson as _orjson
except ImportError:  # the Android build: no orjson recipe
    _orjson = None
if os.environ.get("CGT_SYNC_JSON") == "stdlib":
    _orjson = None

_ENCODE = json.JSONEncoder(ensure_ascii=False, sort_keys=True).encode


def fast() -> bool:
    """True when orjson does the work."""
    return _orjson is not None


def loads(data: bytes | str) -> Any:
    """Parse JSON text (bytes: UTF-8, -16 or -32, as ``json.loads`` detects them)."""
    if _orjson is not None:
        try:
            return _orjson.loads(data)
        except ValueError:
            pass  # what orjson refuses, json may accept (NaN, huge numbers) or refuse too
    return json.loads(data)


def dumps(value: Any) -> str:
    """A value's JSON text with its keys sorted and non-ASCII characters kept."""
    if _orjson is not None:
        try:
            return str(_orjson.dumps(value, option=_orjson.OPT_SORT_KEYS).decode())
        except TypeError:
            pass  # not encodable by orjson (a non-string key, an int beyond 64 bits …)
    return _ENCODE(value)
