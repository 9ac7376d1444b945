"""A small case history played through the real use cases at chosen Beijing times.

Every case is a manhole cover (井盖 BJ0101): calendar hours, so a deadline is simply the
step's start plus its limit — register 15 min, verify 30 min, dispatch 15 min, handle 2 h,
check 1 h. The tests work every figure out by hand from this timeline.

    A  Oct 10  report 10:00, register 10:10, dispatch 10:20, accept 10:30, handle 11:00,
               check passed 11:30 (closed); rated 5 stars Oct 11            — all on time
    B  Oct 31  report 20:00, register 20:05, dispatch 20:10 (handle due Oct 31 22:10);
       Nov 1   accept 08:00, handle 09:00 (LATE), check passed 09:30 (closed)
    C  Nov 2   report 09:00, register 09:05, dispatch 09:10, handle 10:00, check FAILED
               10:30 (rework, due 12:30), handle 11:30, check passed 12:00 (closed);
       Nov 3   reopened 09:00 (rework, due 11:00), handle 10:00, check passed 10:30
               (closed); rated 2 stars 12:00
    D  Nov 2   a second citizen's report 09:02 of the same cover, merged into C 09:03
    E  Nov 4   report 09:00, rejected 09:30 (LATE: due 09:15)
    F  Nov 5   report 09:00, register 09:10, dispatch 09:15 — never handled (due 11:15)
    G  Nov 20  report 11:50 — not registered yet, due 12:05 (after "now")
    H  Nov 6   report 09:00, sent to verify 09:05, verified 09:20, register 09:40 (LATE:
               due 09:35), dispatch 09:45, handle 10:00, check passed 11:30 (LATE: due 11:00)
    I  Nov 7   report 09:00, register 09:05, dispatch 09:10 to SANITATION (wrong unit),
               returned 12:00 (LATE: due 11:10), dispatch 12:10 to MUNICIPAL, handle 13:00,
               check passed 13:30 (closed)
    J  Nov 8   inspector1 reports 09:00 in another district (卫东区), rejected 09:10

"Now" is Nov 20 12:00. The desk is dispatcher1, checks and verifications are inspector1's
(the grid's inspector), handling is MUNICIPAL's (I's return: SANITATION's).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from server.db import database
from server.domain.calendar import WorkCalendar
from server.models import User
from server.services import cases as svc
from server.services import context
from server.services.actor import Actor
from server.services.demo import CITIZEN_PHONES
from shared_models.enums import Role
from tests.factories import INSPECTOR_POINT, OTHER_POINT

BEIJING = ZoneInfo("Asia/Shanghai")
NOW = "2026-11-20 12:00"


def bj(text: str) -> datetime:
    """A Beijing wall-clock time as an aware datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=BEIJING)


@dataclass
class Cast:
    desk: Actor
    inspector: Actor
    municipal: Actor
    sanitation: Actor
    citizen: Actor
    citizen2: Actor


class Story:
    """Plays actions through ``server.services.cases`` with the clock set per action."""

    def __init__(self, app: Flask, s: Session, photo: str) -> None:
        self.app, self.s, self.photo = app, s, photo
        cfg = app.config
        self.calendar = WorkCalendar.from_config(cfg["WORK_CALENDAR"], cfg["TIMEZONE"])
        users = {(u.username or u.phone): u for u in s.scalars(select(User))}

        def actor(login: str) -> Actor:
            u = users[login]
            return Actor(u.id, Role(u.role), u.department_id, u.display_name)

        self.cast = Cast(
            desk=actor("dispatcher1"),
            inspector=actor("inspector1"),
            municipal=actor("handler_municipal"),
            sanitation=actor("handler_sanitation"),
            citizen=actor(CITIZEN_PHONES[0]),
            citizen2=actor(CITIZEN_PHONES[1]),
        )
        self.ids: dict[str, str] = {}

    def ctx(self, when: str) -> context.CaseContext:
        return context.build(self.app.config, bj(when), self.calendar)

    def report(self, name: str, when: str, who: Actor | None = None, point: Any = None) -> str:
        who = who or self.cast.citizen
        lat, lon = point or INSPECTOR_POINT
        data = {
            "id": str(uuid.uuid4()),
            "category_code": "BJ0101",
            "lat": lat,
            "lon": lon,
            "description": f"井盖 {name}",
        }
        if who.role is Role.INSPECTOR:
            data["photos"] = [self.photo]
        out = svc.report(self.s, who, data, self.ctx(when))
        self.ids[name] = out.case.id
        return out.case.id

    def act(self, name: str, when: str, who: Actor, action: str, **args: Any) -> None:
        if action in ("handle", "check", "verify"):
            args.setdefault("photos", [self.photo])
        if action == "check" and not args.get("passed", True):
            args.setdefault("reason", "井盖仍然松动")
        svc.act(self.s, who, self.ids[name], action, args, self.ctx(when))

    def through(self, name: str, day: str, steps: list[tuple[str, str, dict[str, Any]]]) -> None:
        """Play ``(time, action, args)`` steps on one day; the actor follows the action."""
        c = self.cast
        who = {
            "register": c.desk, "reject": c.desk, "dispatch": c.desk, "merge": c.desk,
            "request_verify": c.desk, "request_check": c.desk, "verify": c.inspector,
            "check": c.inspector, "accept": c.municipal, "handle": c.municipal,
            "return": c.municipal,
        }  # fmt: skip
        for hm, action, args in steps:
            actor = args.pop("by", None) or who[action]
            self.act(name, f"{day} {hm}", actor, action, **args)


def fixed_pass() -> dict[str, Any]:
    return {"passed": True}


def play(app: Flask, photo: str) -> dict[str, str]:
    """Play the whole story (see the module docstring); returns case ids by letter."""
    with database(app).session() as s:
        st = Story(app, s, photo)
        c = st.cast
        munic = {"department": "MUNICIPAL"}

        st.report("A", "2026-10-10 10:00")
        st.through("A", "2026-10-10", [
            ("10:10", "register", {}), ("10:20", "dispatch", dict(munic)),
            ("10:30", "accept", {}), ("11:00", "handle", {}),
            ("11:05", "request_check", {}), ("11:30", "check", fixed_pass()),
        ])  # fmt: skip
        svc.rate(s, c.citizen, st.ids["A"], 5, "很快", st.ctx("2026-10-11 09:00"))

        st.report("B", "2026-10-31 20:00")
        st.through("B", "2026-10-31", [
            ("20:05", "register", {}), ("20:10", "dispatch", dict(munic)),
        ])  # fmt: skip
        st.through("B", "2026-11-01", [
            ("08:00", "accept", {}), ("09:00", "handle", {}),
            ("09:10", "request_check", {}), ("09:30", "check", fixed_pass()),
        ])  # fmt: skip

        st.report("C", "2026-11-02 09:00")
        st.report("D", "2026-11-02 09:02", who=c.citizen2)
        st.act("D", "2026-11-02 09:03", c.desk, "merge", target=st.ids["C"])
        st.through("C", "2026-11-02", [
            ("09:05", "register", {}), ("09:10", "dispatch", dict(munic)),
            ("09:20", "accept", {}), ("10:00", "handle", {}),
            ("10:05", "request_check", {}), ("10:30", "check", {"passed": False}),
            ("10:40", "accept", {}), ("11:30", "handle", {}),
            ("11:35", "request_check", {}), ("12:00", "check", fixed_pass()),
        ])  # fmt: skip
        st.through("C", "2026-11-03", [
            ("09:00", "reopen", {"by": c.citizen, "reason": "井盖又松了"}),
            ("09:10", "accept", {}), ("10:00", "handle", {}),
            ("10:05", "request_check", {}), ("10:30", "check", fixed_pass()),
        ])  # fmt: skip
        svc.rate(s, c.citizen, st.ids["C"], 2, "反复", st.ctx("2026-11-03 12:00"))

        st.report("E", "2026-11-04 09:00")
        st.act("E", "2026-11-04 09:30", c.desk, "reject", reason="重复上报")

        st.report("F", "2026-11-05 09:00")
        st.through("F", "2026-11-05", [
            ("09:10", "register", {}), ("09:15", "dispatch", dict(munic)),
        ])  # fmt: skip

        st.report("H", "2026-11-06 09:00")
        st.through("H", "2026-11-06", [
            ("09:05", "request_verify", {}), ("09:20", "verify", {"confirmed": True}),
            ("09:40", "register", {}), ("09:45", "dispatch", dict(munic)),
            ("09:50", "accept", {}), ("10:00", "handle", {}),
            ("10:05", "request_check", {}), ("11:30", "check", fixed_pass()),
        ])  # fmt: skip

        st.report("I", "2026-11-07 09:00")
        st.through("I", "2026-11-07", [
            ("09:05", "register", {}), ("09:10", "dispatch", {"department": "SANITATION"}),
            ("12:00", "return", {"by": c.sanitation, "reason": "不是环卫的井盖"}),
            ("12:10", "dispatch", dict(munic)), ("12:20", "accept", {}),
            ("13:00", "handle", {}), ("13:05", "request_check", {}),
            ("13:30", "check", fixed_pass()),
        ])  # fmt: skip

        st.report("J", "2026-11-08 09:00", who=c.inspector, point=OTHER_POINT)
        st.act("J", "2026-11-08 09:10", c.desk, "reject", reason="已由执法队处理")

        st.report("G", "2026-11-20 11:50")
        return dict(st.ids)
