"""The app's plain pieces without a server: translations, fonts, settings, places, categories,
photos, the worker, the sync bar's words."""

from __future__ import annotations

import json
import re
import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mobile.logic import fonts, i18n
from mobile.logic.categories import Catalogue
from mobile.logic.errors import AppError, FormInvalid
from mobile.logic.location import PinMap, amap_link, from_gps
from mobile.logic.photo_library import PhotoLibrary
from mobile.logic.report_form import ReportForm
from mobile.logic.settings import SettingsStore
from mobile.logic.sync_state import SyncState, bar_text
from mobile.logic.worker import Worker
from shared_models.enums import CoordSystem
from shared_models.geo import distance_m, wgs84_to_gcj02

from .helpers import photo_bytes

MOBILE = Path(__file__).resolve().parents[2] / "mobile"
NOW = datetime(2026, 11, 16, 2, 0, tzinfo=UTC)


# ------------------------------------------------------------------ translations


def test_both_languages_have_the_same_keys_and_placeholders() -> None:
    zh, en = i18n.catalog("zh"), i18n.catalog("en")
    assert set(zh) == set(en)
    field = re.compile(r"\{(\w+)")
    for key in zh:
        assert set(field.findall(zh[key])) == set(field.findall(en[key])), key
        assert zh[key].strip() and en[key].strip(), key


def _keys_used_in_sources() -> set[str]:
    used: set[str] = set()
    call = re.compile(r"""\btr\(\s*["']([a-z_]+\.[a-z_.]+)["']""")
    key_literal = re.compile(r"""["']((?:[a-z_]+)\.(?:[a-z_]+\.)*[a-z_]+)["']""")
    prefixes = {k.split(".")[0] for k in i18n.catalog("zh")}
    for path in [*MOBILE.rglob("*.py"), *MOBILE.rglob("*.kv")]:
        text = path.read_text(encoding="utf-8")
        used.update(call.findall(text))
        for literal in key_literal.findall(text):
            if literal.split(".")[0] in prefixes and not literal.endswith((".json", ".kv")):
                used.add(literal)
    return used


def test_every_key_the_app_uses_is_translated() -> None:
    used = _keys_used_in_sources()
    assert len(used) > 50  # the scan found the screens' strings, not nothing
    missing = sorted(k for k in used if k not in i18n.catalog("zh"))
    assert not missing, missing


def test_chinese_is_the_default_and_english_selectable() -> None:
    tr = i18n.Translator()
    assert tr.language == "zh" and tr("report.submit") == "提交上报"
    tr.set_language("en")
    assert tr("sync.waiting", n=3) == "3 waiting"
    tr.set_language("fr")
    assert tr.language == "zh"
    assert tr("no.such.key") == "no.such.key"


def test_server_messages_are_shown_in_the_users_language() -> None:
    error = AppError(code="wrong_state", message="Not now.", message_zh="现在不行。")
    assert error.text(i18n.Translator("zh")) == "现在不行。"
    assert error.text(i18n.Translator("en")) == "Not now."
    assert AppError("error.offline").text(i18n.Translator("en")).startswith("Cannot reach")


# ------------------------------------------------------------------ fonts


@pytest.mark.parametrize(
    ("platform", "path"),
    [
        ("android", "/system/fonts/NotoSansCJK-Regular.ttc"),
        ("linux", "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
        ("macosx", "/System/Library/Fonts/PingFang.ttc"),
        ("win", "C:/Windows/Fonts/msyh.ttc"),
    ],
)
def test_a_cjk_font_is_found_on_every_platform(platform: str, path: str) -> None:
    assert fonts.find_cjk_font(platform, env={}, exists={path}.__contains__, scan=False) == path


def test_the_font_override_and_the_missing_font() -> None:
    assert fonts.find_cjk_font("linux", env={"CGT_CJK_FONT": "/x.ttf"}, exists=lambda p: True) \
        == "/x.ttf"  # fmt: skip
    assert fonts.find_cjk_font("linux", env={}, exists=lambda p: False) is None
    assert "fonts-wqy-microhei" in fonts.NO_FONT_MESSAGE
    assert "未找到中文字体" in fonts.NO_FONT_MESSAGE


def test_the_font_scan_finds_a_cjk_file_by_name(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "NotoSansCJKsc-Regular.otf").write_bytes(b"x")
    (tmp_path / "DejaVuSans.ttf").write_bytes(b"x")
    found = fonts._scan([str(tmp_path)], lambda p: Path(p).exists())
    assert found is not None and found.endswith("NotoSansCJKsc-Regular.otf")


def test_this_machine_has_a_cjk_font() -> None:
    assert fonts.find_cjk_font("linux") is not None  # fonts-wqy-microhei from .ci/test-env.sh


# ------------------------------------------------------------------ settings


def test_settings_persist_and_refuse_bad_values(tmp_path: Path) -> None:
    store = SettingsStore(tmp_path)
    install = store.current.install_id
    assert store.current.language == "zh"
    store.set_server(" https://cgt.example.cn:8443/ ")
    store.set_language("en")
    again = SettingsStore(tmp_path)
    assert again.current.server_url == "https://cgt.example.cn:8443"
    assert again.current.language == "en" and again.current.install_id == install
    for bad in ("cgt.example.cn", "ftp://x", "http://", "http://host:99999"):
        with pytest.raises(FormInvalid) as info:
            again.set_server(bad)
        assert info.value.fields == {"server_url": "settings.bad_server"}
    with pytest.raises(FormInvalid):
        again.set_language("fr")
    assert json.loads((tmp_path / "settings.json").read_text())["language"] == "en"


# ------------------------------------------------------------------ places


def test_a_pin_is_placed_in_metres_and_found_again() -> None:
    pins = PinMap(33.758125, 113.1575, metres_per_px=2.0)
    lat, lon = pins.point_at(100, -50)  # 200 m east, 100 m south
    assert distance_m(33.758125, 113.1575, lat, lon) == pytest.approx(223.6, abs=0.5)
    assert pins.offset_of(lat, lon) == pytest.approx((100, -50), abs=1e-6)
    assert pins.pin(0, 0).source == "pin" and pins.pin(0, 0).system is CoordSystem.WGS84


def test_coordinates_keep_their_system_and_convert_for_chinese_maps() -> None:
    gps = from_gps(33.758125, 113.1575, 8.0)
    glat, glon = gps.gcj02()
    assert (glat, glon) == pytest.approx(wgs84_to_gcj02(33.758125, 113.1575))
    assert distance_m(gps.lat, gps.lon, glat, glon) > 100  # the offset is real
    link = amap_link(33.758125, 113.1575, "井盖")
    assert f"{glon:.6f},{glat:.6f}" in link and "coordinate=gaode" in link
    form = ReportForm(location=gps.__class__(glat, glon, CoordSystem.GCJ02, "pin"))
    assert form.args()["coord_system"] == "gcj02"
    assert form.location is not None and form.location.wgs84() == pytest.approx(
        (33.758125, 113.1575), abs=1e-6
    )


# ------------------------------------------------------------------ categories


def test_categories_are_found_by_the_words_people_use() -> None:
    cat = Catalogue()
    assert cat.find("摆摊")[0].code == "SJ0501"
    assert cat.find("井盖坏了")[0].code == "BJ0101"
    assert cat.find("manhole")[0].code == "BJ0101"
    assert cat.find("zzzz") == []
    assert [c.code for c in cat.find("")[:2]] == ["SJ0101", "SJ0501"]  # common kinds first


def test_synced_categories_replace_the_bundled_ones() -> None:
    record = {"code": "SJ0999", "kind": "event", "class_code": "SJ09", "class_name": "测试",
              "name": "新类别", "name_en": "New kind", "keywords": ["特别词"]}  # fmt: skip
    stored_form = {**record, "code": "SJ0998", "keywords": "甲词|乙词"}  # how the server sends it
    cat = Catalogue([record, stored_form, {"code": "broken"}])
    assert [c.code for c in cat.find("特别词")] == ["SJ0999"]
    assert [c.code for c in cat.find("乙词")] == ["SJ0998"]
    assert cat.get("SJ0101") is None


# ------------------------------------------------------------------ the report form


def test_the_report_form_says_what_is_missing() -> None:
    form = ReportForm(photo_required=True)
    assert form.problems() == {
        "photos": "report.need_photo",
        "category_code": "report.need_category",
        "location": "report.need_location",
    }
    form.add_photo("a" * 64)
    form.category_code = "SJ0101"
    form.location = from_gps(33.7, 113.1)
    form.description = "x" * 2001
    assert form.problems() == {"description": "report.description_too_long"}
    form.description = "路边垃圾"
    args = form.validated_args("6d1f1a3e-8a8b-4d0c-9a6e-2b1f1c1d1e1f")
    assert args["coord_system"] == "wgs84" and args["photos"] == ["a" * 64]
    for i in range(8):
        form.add_photo(f"{i:064x}")
    with pytest.raises(FormInvalid):
        form.add_photo("f" * 64)


# ------------------------------------------------------------------ photos


def test_photos_are_kept_by_content_and_checked(tmp_path: Path) -> None:
    lib = PhotoLibrary(tmp_path)
    stored = lib.add_bytes(photo_bytes(3))
    assert stored.mime == "image/png" and Path(stored.path).name == stored.sha256
    assert lib.read(stored.sha256, 0, 8) == photo_bytes(3)[:8]
    assert lib.read("0" * 64, 0, 8) == b""
    with pytest.raises(AppError) as info:
        lib.add_bytes(b"not a picture")
    assert info.value.key == "report.photo_not_image"


def test_a_big_camera_picture_is_scaled_down(tmp_path: Path) -> None:
    import io

    from PIL import Image

    raw = io.BytesIO()
    Image.new("RGB", (4000, 3000), (10, 200, 30)).save(raw, "PNG")
    stored = PhotoLibrary(tmp_path).add_bytes(raw.getvalue())
    with Image.open(stored.path) as img:
        assert max(img.size) == 2048 and img.format == "JPEG"
    assert stored.mime == "image/jpeg"


# ------------------------------------------------------------------ worker and bar


def test_the_worker_runs_off_the_calling_thread_and_posts_results() -> None:
    posted: list[object] = []
    worker = Worker("test", post=lambda fn: posted.append(fn))
    caller = threading.get_ident()
    results: list[object] = []
    worker.submit(threading.get_ident, results.append)
    worker.submit(lambda: 1 / 0, results.append, lambda e: results.append(type(e)))
    worker.drain()
    assert len(posted) == 2 and not results  # nothing ran on the caller until it was posted
    for fn in posted:
        fn()  # type: ignore[operator]
    assert results[0] != caller and results[1] is ZeroDivisionError
    worker.stop()


def test_the_sync_bar_says_what_waits_and_when_it_last_worked() -> None:
    zh, en = i18n.Translator("zh"), i18n.Translator("en")
    offline = SyncState(online=False, waiting=2, last_success_at=NOW - timedelta(minutes=5))
    assert bar_text(zh, offline, NOW) == "离线 · 2条待发送 · 上次同步5分钟前"
    assert bar_text(en, SyncState(online=True), NOW) == "Online · All sent · last sync never"
    assert bar_text(zh, SyncState(update_required=True), NOW).startswith("当前版本")
    sent = SyncState(online=True, sent=3, last_success_at=NOW)  # received, not decided yet
    assert bar_text(zh, sent, NOW) == "在线 · 3条已发送 · 上次同步刚刚"
    assert bar_text(en, replace(sent, waiting=1), NOW) == (
        "Online · 1 waiting · 3 sent · last sync just now"
    )


def test_keys_built_from_server_values_exist_in_both_languages() -> None:
    """Screens build some keys from what the server sends: states, roles, timeline actions,
    lights, task kinds; every value the server can send has its words."""
    from shared_models.enums import CaseState, Light, Role
    from shared_models.errors import ACTION_ZH

    keys = [f"state.{s.value}" for s in CaseState] + ["state.waiting"]
    keys += [f"role.{r.value}" for r in Role]
    keys += [f"action.{a}" for a in ACTION_ZH if a not in ("supervise", "answer_supervision")]
    keys += ["action.merge_in"] + [f"light.{x.value}" for x in Light]
    keys += ["patrol.kind_verify", "patrol.kind_check"]
    for lang in i18n.LANGUAGES:
        missing = [k for k in keys if k not in i18n.catalog(lang)]
        assert not missing, (lang, missing)


def test_only_a_reporting_citizen_or_merchant_is_offered_rating_and_reopening() -> None:
    """An inspector's own collected cases list in "my reports" too, but the server refuses
    their rating and reopening: the app must not offer them (found by the access audit)."""
    from datetime import UTC, datetime, timedelta

    from mobile.logic.my_reports import _row
    from mobile.logic.session import Account

    now = datetime(2026, 11, 21, 12, tzinfo=UTC)
    closed = {"id": "c1", "state": "closed", "closed_at": (now - timedelta(days=1)).isoformat()}
    citizen, inspector = _row(closed, (), (), rater=True), _row(closed, (), (), rater=False)
    assert citizen.can_rate(now) and citizen.can_reopen(now)
    assert not inspector.can_rate(now) and not inspector.can_reopen(now)
    roles = {r: Account(1, r, "x", "t", "r").is_staff
             for r in ("citizen", "merchant", "inspector", "handler", "dispatcher")}  # fmt: skip
    assert roles == {"citizen": False, "merchant": False, "inspector": True, "handler": True,
                     "dispatcher": True}  # fmt: skip
