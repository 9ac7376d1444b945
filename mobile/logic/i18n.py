"""Translations: every string the app shows lives in ``mobile/locales/<lang>.json``.

Chinese (``zh``) is the default and English (``en``) selectable; both catalogues hold the same
keys (a test keeps them equal, and checks every key the screens use exists). A missing key
shows the key itself, never a crash, so a slip is visible rather than silent.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

LOCALES = Path(__file__).resolve().parent.parent / "locales"
LANGUAGES = ("zh", "en")
DEFAULT_LANGUAGE = "zh"


@cache
def catalog(language: str) -> dict[str, str]:
    data = json.loads((LOCALES / f"{language}.json").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return {str(k): str(v) for k, v in data.items()}


class Translator:
    """``tr("key", n=3)`` → the text in the current language, ``{n}`` filled in."""

    def __init__(self, language: str = DEFAULT_LANGUAGE) -> None:
        self.language = DEFAULT_LANGUAGE
        self.set_language(language)

    def set_language(self, language: str) -> None:
        self.language = language if language in LANGUAGES else DEFAULT_LANGUAGE

    def __call__(self, key: str, **params: Any) -> str:
        text = catalog(self.language).get(key)
        if text is None:
            return key
        try:
            return text.format(**params) if params else text
        except (KeyError, IndexError, ValueError):
            return text

    def has(self, key: str) -> bool:
        return key in catalog(self.language)

    def pick(self, zh: str | None, en: str | None) -> str:
        """One of a record's two names (``name``/``name_en``) for the current language."""
        if self.language == "zh":
            return zh or en or ""
        return en or zh or ""
