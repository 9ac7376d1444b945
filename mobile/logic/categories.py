"""The category picker: the synced catalogue (or the bundled one before the first sync),
searched by name, English name, code and the everyday words people use (keywords such as
"垃圾", "井盖坏了", "摆摊") with ``shared_models.catalogue.search``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from shared_models.catalogue import Category, default_catalogue, make_category, search

from .errors import Tr

# The kinds an inspector meets most on patrol: one tap each in quick collection (巡查快采).
COMMON_CODES = ("SJ0101", "SJ0501", "SJ0502", "SJ0202", "BJ0101", "BJ0109")


@dataclass(frozen=True)
class Choice:
    code: str
    name: str
    name_en: str
    class_name: str
    class_name_en: str
    kind: str

    def label(self, tr: Tr) -> str:
        return tr.pick(self.name, self.name_en)

    def group(self, tr: Tr) -> str:
        return tr.pick(self.class_name, self.class_name_en)


def _choice(c: Category) -> Choice:
    return Choice(c.code, c.name, c.name_en, c.class_name, c.class_name_en, c.kind.value)


def _keywords(value: Any) -> list[str]:
    """Keywords arrive as a list, or as the server's stored form "a|b|c"."""
    if isinstance(value, str):
        return [k for k in value.split("|") if k.strip()]
    return [str(k) for k in value or [] if str(k).strip()]


def _from_record(data: Mapping[str, Any]) -> Category | None:
    try:
        return make_category(
            code=data["code"], kind=data["kind"], class_code=data["class_code"],
            class_name=data["class_name"], class_name_en=data.get("class_name_en", ""),
            name=data["name"], name_en=data.get("name_en", ""),
            keywords=_keywords(data.get("keywords")), limits={},
            needs_verify=data.get("needs_verify", True),
        )  # fmt: skip
    except (KeyError, ValueError, TypeError):
        return None  # a record this version of the app does not understand: leave it out


class Catalogue:
    """Categories as the device knows them; rebuilt when a sync brings new ones."""

    def __init__(self, records: Iterable[Mapping[str, Any]] = ()) -> None:
        parsed = [c for c in (_from_record(r) for r in records) if c is not None]
        self.categories: tuple[Category, ...] = tuple(
            sorted(parsed, key=lambda c: c.code)
        ) or default_catalogue()
        self.by_code = {c.code: c for c in self.categories}

    def find(self, query: str, limit: int = 30) -> list[Choice]:
        """Best matches first; an empty query lists the common kinds, then the rest."""
        if not query.strip():
            common = [self.by_code[c] for c in COMMON_CODES if c in self.by_code]
            rest = [c for c in self.categories if c.code not in COMMON_CODES]
            return [_choice(c) for c in [*common, *rest][:limit]]
        return [_choice(c) for c in search(self.categories, query)[:limit]]

    def get(self, code: str) -> Choice | None:
        c = self.by_code.get(code)
        return None if c is None else _choice(c)

    def common(self) -> list[Choice]:
        return [_choice(self.by_code[c]) for c in COMMON_CODES if c in self.by_code]

    def name_of(self, tr: Tr, code: str | None) -> str:
        c = self.get(code or "")
        return c.label(tr) if c else (code or "")
