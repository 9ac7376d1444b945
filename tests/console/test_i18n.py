"""The console speaks Chinese and English with one set of keys: nothing shown in one language
is missing in the other, and every key a page asks for exists."""

from __future__ import annotations

import re
import string
from pathlib import Path

from server.console import i18n
from server.console.lists import VIEWS
from server.domain.workflow import ACTIONS
from shared_models.enums import CaseSource, CaseState, Light, PhotoKind, Role, Step
from shared_models.errors import STATE_ZH

CONSOLE = Path(i18n.__file__).parent
LITERAL = re.compile(r"""\b(?:t|both)\(\s*['"]([a-z_.]+)['"]\s*[,)]""")


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_both_languages_have_the_same_keys_and_no_empty_text():
    zh, en = i18n.catalogue("zh"), i18n.catalogue("en")
    assert set(zh) == set(en)
    assert all(v.strip() for v in zh.values()) and all(v.strip() for v in en.values())


def test_placeholders_are_the_same_in_both_languages():
    zh, en = i18n.catalogue("zh"), i18n.catalogue("en")
    assert {k: _fields(v) for k, v in zh.items()} == {k: _fields(v) for k, v in en.items()}


def test_every_literal_key_in_templates_and_views_exists():
    used = set()
    for path in [*CONSOLE.glob("templates/console/*.html"), *CONSOLE.glob("*.py")]:
        used |= set(LITERAL.findall(path.read_text(encoding="utf-8")))
    assert len(used) > 100  # the pattern really finds the keys
    missing = used - set(i18n.catalogue("zh"))
    assert not missing


def test_every_composed_key_exists():
    """Keys built from values (``'state.' ~ case.state``) exist for every value."""
    keys = set(i18n.catalogue("zh"))
    composed = (
        [f"state.{s.value}" for s in CaseState]
        + [f"source.{s.value}" for s in CaseSource]
        + [f"light.{x.value}" for x in Light]
        + [f"step.{x.value}" for x in Step]
        + [f"role.{r.value}" for r in Role]
        + [f"photo.{p.value}" for p in PhotoKind]
        + [f"action.{a}" for a in (*ACTIONS, "report", "merge_in", "supervise", "rate")]
        + ["action.answer_supervision"]
        + [f"view.{v}" for v in VIEWS]
        + [f"viewhelp.{v}" for v in VIEWS]
        + [f"lang.{code}" for code in i18n.LANGS]
        + ["form.reason_hint_reject", "form.reason_hint_return"]
    )
    assert not set(composed) - keys


def test_chinese_state_names_are_the_ones_the_api_uses():
    zh = i18n.catalogue("zh")
    assert {s: zh[f"state.{s}"] for s in STATE_ZH} == STATE_ZH
