"""Walk one new case through every state of the workflow, over real HTTP, against a demo server.

The people of the SYNTHETIC demo city each do their own step, signed in as themselves: a
citizen reports with a photo (SMS sign-in), the command centre asks for verification, the grid
inspector verifies on site, the desk registers (立案) and dispatches (派遣), the department
accepts, returns it (回退), gets it again, handles it (处置), the inspector's check (核查) fails
(返工), the department handles it again, the check passes (结案) and the citizen rates it
(评价). On the way a second citizen reports the same problem and joins it ("same problem?",
合并), and a third report is rejected (不予立案). Each step prints the state it led to; the
citizen's public timeline is printed at the end. Any unexpected answer stops the walk with
exit status 1.

Run it against a server whose SMS codes are fixed (development only)::

    CGT_OTP_FIXED_CODE=123456 make run                     # migrate, load-demo, serve
    .venv/bin/python bench/walkthrough.py --base http://127.0.0.1:5000 --otp-code 123456

The same phone may ask for a code once a minute; a quick second run signs in with the next
demo phone instead.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
if __name__ == "__main__":  # run as a file: bench/ itself must not shadow the stdlib (queue)
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]

import argparse  # noqa: E402
import io  # noqa: E402
import random  # noqa: E402
import uuid  # noqa: E402
from typing import Any  # noqa: E402

import requests  # noqa: E402
from PIL import Image, ImageDraw  # noqa: E402

# The demo city's people and a point in 新华区 光明路一社区 (server/services/demo.py; the
# integration test checks these still match).
DEMO_PASSWORD = "cgt-demo-2026"
PHONES = ("13800000001", "13800000002", "13800000003", "13900000001", "13900000002")
DISPATCHER, INSPECTOR = "dispatcher1", "inspector1"
POINT = (33.758125, 113.1575)  # centre of grid cell 410402001001001, patrolled by inspector1
CATEGORY = "SJ0101"  # 暴露垃圾 exposed rubbish


class WalkError(Exception):
    """The server answered something the workflow does not expect."""


class Walk:
    """One walkthrough: an HTTP session, the signed-in people, and the step counter."""

    def __init__(self, base: str, otp_code: str, timeout: float = 10.0) -> None:
        self.base = base.rstrip("/")
        self.otp_code = otp_code
        self.timeout = timeout
        self.http = requests.Session()
        self.headers: dict[str, dict[str, str]] = {}
        self.steps = 0
        self.phones = list(PHONES)

    def call(self, who: str, method: str, path: str, expect: tuple[int, ...], **kw: Any) -> Any:
        headers = self.headers.get(who, {})
        resp = self.http.request(
            method, f"{self.base}{path}", headers=headers, timeout=self.timeout, **kw
        )
        if resp.status_code not in expect:
            raise WalkError(f"{method} {path} as {who}: {resp.status_code} {resp.text[:500]}")
        return resp.json() if resp.content else None

    def _signed_in(self, who: str, tokens: dict[str, Any]) -> None:
        self.headers[who] = {"Authorization": f"Bearer {tokens['access_token']}"}

    def login(self, username: str) -> None:
        body = {"username": username, "password": DEMO_PASSWORD, "device_id": _device()}
        self._signed_in(username, self.call("-", "POST", "/api/auth/login", (200,), json=body))

    def login_phone(self, who: str) -> str:
        """Sign ``who`` in with the first demo phone that may get a code now."""
        while self.phones:
            phone = self.phones.pop(0)
            sent = self.http.post(
                f"{self.base}/api/auth/otp", json={"phone": phone}, timeout=self.timeout
            )
            if sent.status_code == 429:  # asked within the last minute: try the next phone
                continue
            if sent.status_code != 202:
                raise WalkError(f"SMS code for {phone}: {sent.status_code} {sent.text[:300]}")
            body = {"phone": phone, "code": self.otp_code, "device_id": _device()}
            self._signed_in(who, self.call("-", "POST", "/api/auth/otp/verify", (200,), json=body))
            return phone
        raise WalkError("no demo phone may ask for an SMS code now; wait a minute")

    def photo(self, who: str, label: str) -> str:
        data = _synthetic_jpeg(label)
        headers = {**self.headers[who], "Content-Type": "image/jpeg"}
        resp = self.http.post(
            f"{self.base}/api/photos", data=data, headers=headers, timeout=self.timeout
        )
        if resp.status_code not in (200, 201):
            raise WalkError(f"photo upload as {who}: {resp.status_code} {resp.text[:300]}")
        return str(resp.json()["sha256"])

    def report(self, who: str, **fields: Any) -> dict[str, Any]:
        lat, lon = POINT
        body = {"id": str(uuid.uuid4()), "category_code": CATEGORY, "lat": lat, "lon": lon}
        body.update(fields)
        out = self.call(who, "POST", "/api/cases", (201,), json=body)
        self.show(who, "report", out["case"])
        return dict(out)

    def act(
        self, who: str, case: dict[str, Any], action: str, expect_state: str, **args: Any
    ) -> dict[str, Any]:
        body = {"version": case["version"], **args}
        path = f"/api/cases/{case['id']}/actions/{action}"
        out: dict[str, Any] = self.call(who, "POST", path, (200,), json=body)
        self.show(who, action, out)
        if out["state"] != expect_state:
            raise WalkError(f"{action} led to {out['state']}, expected {expect_state}")
        return out

    def show(self, who: str, action: str, case: dict[str, Any]) -> None:
        self.steps += 1
        light = case.get("light") or "-"
        print(f"{self.steps:>3}. {who:<18} {action:<15} → {case['state']:<11} light {light}")


def _device() -> str:
    return f"walkthrough-{uuid.uuid4().hex[:12]}"


def _synthetic_jpeg(label: str) -> bytes:
    """A unique, clearly synthetic photo: a coloured card saying what it is."""
    rng = random.Random(uuid.uuid4().int)
    im = Image.new("RGB", (240, 180), tuple(rng.randrange(40, 200) for _ in range(3)))
    draw = ImageDraw.Draw(im)
    draw.text((16, 16), "SYNTHETIC WALKTHROUGH PHOTO", fill=(255, 255, 255))
    draw.text((16, 40), label, fill=(255, 255, 255))
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=80)
    return buf.getvalue()


def walk_case(w: Walk) -> dict[str, Any]:
    """The main case: every state of the workflow, by the people who do each step."""
    out = w.report(
        "citizen",
        photos=[w.photo("citizen", "report")],
        address="光明路12号门口（演示地址）",
        description="路边一堆垃圾没人清（演示）",
    )
    case = out["case"]
    case = w.act(DISPATCHER, case, "request_verify", "verifying")
    tasks = w.call(INSPECTOR, "GET", "/api/tasks", (200,))["items"]
    if case["id"] not in [t["id"] for t in tasks]:
        raise WalkError(f"{INSPECTOR} was not given the verification task")
    case = w.act(INSPECTOR, case, "verify", "reported",
                 confirmed=True, photos=[w.photo(INSPECTOR, "verify")])  # fmt: skip
    case = w.act(DISPATCHER, case, "register", "registered")
    case = w.act(DISPATCHER, case, "dispatch", "dispatched")  # to the routed department
    department = case["department"]["code"]
    handler = f"handler_{department.lower()}"
    w.login(handler)
    case = w.act(handler, case, "accept", "handling")
    walk_duplicate(w, case)
    # The merge touched the case (its version moved on): reload before the next action.
    case = w.call(handler, "GET", f"/api/cases/{case['id']}", (200,))
    case = w.act(handler, case, "return", "returned", reason="疑为燃气设施，非本单位职责（演示）")
    case = w.act(DISPATCHER, case, "dispatch", "dispatched", department=department)
    case = w.act(handler, case, "accept", "handling")
    case = w.act(handler, case, "handle", "handled", note="已清理",
                 photos=[w.photo(handler, "after")])  # fmt: skip
    case = w.act(DISPATCHER, case, "request_check", "checking")
    case = w.act(INSPECTOR, case, "check", "rework", passed=False, reason="仍有残留",
                 photos=[w.photo(INSPECTOR, "check failed")])  # fmt: skip
    case = w.act(handler, case, "accept", "handling")
    case = w.act(handler, case, "handle", "handled", note="已彻底清理并冲洗",
                 photos=[w.photo(handler, "after again")])  # fmt: skip
    case = w.act(DISPATCHER, case, "request_check", "checking")
    case = w.act(INSPECTOR, case, "check", "closed", passed=True,
                 photos=[w.photo(INSPECTOR, "check passed")])  # fmt: skip
    rated = w.call("citizen", "POST", f"/api/cases/{case['id']}/rating", (200,),
                   json={"stars": 5, "comment": "处理及时（演示）"})  # fmt: skip
    w.show("citizen", "rate", rated)
    if rated["rating"] != 5 or not rated["closed_at"]:
        raise WalkError(f"rating not recorded: {rated}")
    return dict(rated)


def walk_duplicate(w: Walk, first: dict[str, Any]) -> None:
    """A second citizen reports the same problem and joins the open case."""
    out = w.report("citizen2", description="这里有垃圾堆（演示）")
    if first["id"] not in [c["id"] for c in out["same_problem"]]:
        raise WalkError("the open case was not offered as the same problem")
    w.act("citizen2", out["case"], "merge", "merged", target=first["id"])
    mine = w.call("citizen2", "GET", "/api/my/cases", (200,))["items"]
    if first["id"] not in [c["id"] for c in mine]:
        raise WalkError("the second reporter does not follow the surviving case")


def walk_rejected(w: Walk) -> None:
    """A report that is not the city-management office's business is rejected with a reason."""
    case = w.report("citizen", category_code="SJ0501", description="楼上邻居装修太吵（演示）")
    w.act(DISPATCHER, case["case"], "reject", "rejected",
          reason="不属于城管职责范围，请联系物业（演示）")  # fmt: skip


def print_timeline(w: Walk, case_id: str) -> None:
    items = w.call("citizen", "GET", f"/api/cases/{case_id}/timeline", (200,))
    print(f"\nPublic timeline of case {case_id} (as its reporter sees it):")
    for t in items:
        note = f"  {t['note']}" if t.get("note") else ""
        print(f"  {t['at'][:19]}  {t['by_zh']:<10} {t['action']:<15} → {t['state']}{note}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--base", default="http://127.0.0.1:5000", help="server base URL")
    parser.add_argument("--otp-code", default="123456", help="the server's CGT_OTP_FIXED_CODE")
    args = parser.parse_args(argv)
    w = Walk(args.base, args.otp_code)
    try:
        w.login_phone("citizen")
        w.login_phone("citizen2")
        w.login(DISPATCHER)
        w.login(INSPECTOR)
        case = walk_case(w)
        walk_rejected(w)
        print_timeline(w, case["id"])
    except (WalkError, requests.RequestException) as err:
        print(f"walkthrough FAILED at step {w.steps + 1}: {err}", file=sys.stderr)
        return 1
    finally:
        w.http.close()
    print(f"\nwalkthrough OK: {w.steps} steps")
    return 0


if __name__ == "__main__":
    sys.exit(main())
