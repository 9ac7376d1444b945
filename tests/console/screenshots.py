"""Screenshots of the main console pages, in Chinese, from a real server over the demo city:
``python -m tests.console.screenshots [out-dir]`` (what ``make screenshots-console`` runs).

The server (``tests.console.serve --demo-cases``) loads the SYNTHETIC demo city and its case
queue; one extra hotline report is filed next to an open case so that the merge comparison
has something to show, and the office enters and publishes last month's assessment through
the API (made-up scores for the parts entered by hand, marked as demo items). Headless
Chromium saves each page whole (up to a height cap).
"""

from __future__ import annotations

import sys
import tempfile
import uuid
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from server.models import Case, CasePhoto
from tests.console.browser import (
    Api,
    ConsoleServer,
    chromium,
    click_and_wait,
    require_chromium,
    sign_in,
)
from tests.factories import ADMIN, DISPATCHER, HANDLER

WIDTH, MAX_HEIGHT = 1440, 2200
ROOT = Path(__file__).resolve().parents[2]


def _save(driver: WebDriver, path: Path) -> None:
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(WIDTH, min(max(int(height), 900), MAX_HEIGHT))
    driver.save_screenshot(str(path))
    driver.set_window_size(WIDTH, 900)
    print(f"  {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")


def _pick_cases(url: str) -> dict[str, str]:
    """A new report with a photo, and a handled case with photos before and after."""
    engine = create_engine(url)
    with Session(engine) as s:
        with_photo = select(CasePhoto.case_id).where(CasePhoto.kind == "after")
        handled = s.scalar(
            select(Case.id).where(Case.state == "handled", Case.id.in_(with_photo)).limit(1)
        )
        new = s.scalar(
            select(Case)
            .where(Case.state == "reported", Case.category_code == "SJ0101")
            .order_by(Case.created_at)
            .limit(1)
        )
        assert handled and new, "the demo queue lacks a handled or a new case"
        picked = {
            "handled": handled,
            "new": new.id,
            "lat": str(new.lat),
            "lon": str(new.lon),
            "category": new.category_code,
        }
    engine.dispose()
    return picked


def _publish_last_month(api: Api, now_month: str) -> str:
    """Enter demo parts and items for last month and publish it, as the office would."""
    year, month = int(now_month[:4]), int(now_month[5:])
    last = f"{year}-{month - 1:02d}" if month > 1 else f"{year - 1}-12"
    office = api.login(ADMIN)
    listed = api.http.get(f"{api.base}/api/departments").json()
    codes = [d["code"] for d in (listed["items"] if isinstance(listed, dict) else listed)]
    units = [
        {"department": code, "special": 80 + (i * 7) % 20, "zongzhi": 95, "wenming": 90,
         "chengguan": 88 + i % 10, "chuangyuan": 92}
        for i, code in enumerate(codes)
    ]  # fmt: skip
    base = f"{api.base}/api/assessments/{last}"
    assert api.http.put(f"{base}/scores", json={"units": units}, headers=office).ok
    for code, rule, reason in (
        (codes[0], "award_city", "市级文明单位表彰（演示数据）"),
        (codes[1], "media_city", "市级媒体曝光占道经营（演示数据）"),
    ):
        body = {"department": code, "rule": rule, "count": 1, "reason": reason}
        assert api.http.post(f"{base}/adjustments", json=body, headers=office).status_code == 201
    resp = api.http.post(f"{base}/publish", headers=office)
    assert resp.ok, resp.text
    return last


def main(out: Path) -> int:
    require_chromium()
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="cgt-screens-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'screens.sqlite3'}"
        server = ConsoleServer(url, Path(tmp), demo_cases=True)
        try:
            picked = _pick_cases(url)
            api = Api(server.base)
            desk_api = api.login(DISPATCHER)
            dup = api.report(
                desk_api,
                {
                    "id": str(uuid.uuid4()),
                    "category_code": picked["category"],
                    "lat": float(picked["lat"]) + 0.0001,
                    "lon": float(picked["lon"]),
                    "address": "市民来电：同一处垃圾（演示数据）",
                    "description": "12345热线转来，与已上报问题相同（演示数据）",
                    "source": "hotline",
                },
            )["case"]["id"]
            local_now = datetime.now(ZoneInfo("Asia/Shanghai"))  # the demo server's zone
            month = _publish_last_month(api, f"{local_now:%Y-%m}")
            base = server.base
            with chromium(WIDTH, 900) as b:
                b.get(f"{base}/console/login")
                _save(b, out / "console-login.png")
                sign_in(b, base, DISPATCHER)
                for name, path in (
                    ("console-queue-new", "/console/queue/new"),
                    ("console-overdue", "/console/queue/overdue"),
                    ("console-merge", f"/console/cases/{dup}"),
                    ("console-case", f"/console/cases/{picked['handled']}"),
                    ("console-supervision", "/console/supervision"),
                    ("console-map", "/console/map"),
                    ("console-indicators", "/console/indicators?dimension=department"),
                    ("console-assessment", f"/console/assessment/{month}"),
                    ("console-assessment-print", f"/console/assessment/{month}/print"),
                ):
                    b.get(base + path)
                    _save(b, out / f"{name}.png")
                b.get(f"{base}/console/")  # the printable page has no top bar
                click_and_wait(b, b.find_element(By.ID, "sign-out"))
                sign_in(b, base, HANDLER)
                _save(b, out / "console-handler.png")
        finally:
            log = server.stop()
    if "Traceback" in log:
        print(log, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "screenshots"))
