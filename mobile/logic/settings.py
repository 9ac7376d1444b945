"""The app's settings behind one small typed class, kept in a JSON file in the app's folder.

What the user sets (server address, language) and what identifies this installation
(``install_id``, sent as the sign-in ``device_id`` so tokens are per device). Writes are atomic
(a temp file renamed over the old one), so a killed app never leaves half a file.
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .errors import FormInvalid
from .i18n import DEFAULT_LANGUAGE, LANGUAGES

DEFAULT_SERVER = os.environ.get("CGT_SERVER", "http://127.0.0.1:5000")
# Where the manual pin starts before any GPS fix: the demo city's centre (WGS-84).
DEFAULT_MAP_CENTRE = (33.758125, 113.1575)


@dataclass(frozen=True)
class Settings:
    server_url: str = DEFAULT_SERVER
    language: str = DEFAULT_LANGUAGE
    install_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    map_centre: tuple[float, float] = DEFAULT_MAP_CENTRE


def clean_server_url(text: str) -> str:
    """A server address the app can use, or FormInvalid: http(s)://host[:port][/path]."""
    url = text.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise FormInvalid({"server_url": "settings.bad_server"})
    try:
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        raise FormInvalid({"server_url": "settings.bad_server"}) from None
    return url


def write_json_atomic(path: Path, doc: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(doc, ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(tmp, path)


def read_json(path: Path) -> dict[str, Any] | None:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None


class SettingsStore:
    """Loads and saves :class:`Settings` in ``<folder>/settings.json``."""

    def __init__(self, folder: str | Path) -> None:
        self.path = Path(folder) / "settings.json"
        self.current = self._load()

    def _load(self) -> Settings:
        doc = read_json(self.path) or {}
        defaults = Settings()
        centre = doc.get("map_centre")
        settings = Settings(
            server_url=str(doc.get("server_url") or defaults.server_url),
            language=doc.get("language") if doc.get("language") in LANGUAGES else defaults.language,
            install_id=str(doc.get("install_id") or defaults.install_id),
            map_centre=(
                (float(centre[0]), float(centre[1]))
                if isinstance(centre, list) and len(centre) == 2
                else defaults.map_centre
            ),
        )
        if doc.get("install_id") != settings.install_id:
            self._save(settings)  # the installation's identity must not change next start
        return settings

    def _save(self, settings: Settings) -> None:
        write_json_atomic(self.path, asdict(settings))
        self.current = settings

    def set_server(self, text: str) -> Settings:
        self._save(replace(self.current, server_url=clean_server_url(text)))
        return self.current

    def set_language(self, language: str) -> Settings:
        if language not in LANGUAGES:
            raise FormInvalid({"language": "settings.bad_language"})
        self._save(replace(self.current, language=language))
        return self.current

    def set_map_centre(self, lat: float, lon: float) -> None:
        self._save(replace(self.current, map_centre=(lat, lon)))
