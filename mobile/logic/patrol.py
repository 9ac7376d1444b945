"""The inspector's patrol day (巡查): quick collection and the task list.

Quick collection (巡查快采) is three taps for the common kinds: take the photo, tap the kind,
tap send (a note is optional); the place is the last GPS fix or pin. The task list holds the
inspector's verify (核实: is the citizen's problem really there?) and check (核查: is the
handled case really fixed?) tasks from the synced ``cases``, each with its traffic light,
sorted by distance (then deadline) or by deadline (then distance). Each task is done with a
photo, offline; until the server has it the task shows as done and waiting to be sent.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared_models.schemas import NOTE_MAX, REASON_MAX
from sync.case_mutations import CHECK, REPORT, VERIFY
from sync.client import SyncClient

from .errors import FormInvalid
from .location import Location
from .my_reports import _time
from .report_form import ReportForm

TASK_OF_STATE = {"verifying": "verify", "checking": "check"}
LIGHT_ORDER = {"red": 0, "yellow": 1, "green": 2, None: 3}


@dataclass(frozen=True)
class Task:
    case_id: str
    kind: str  # verify | check
    category_code: str
    category_name: str
    category_name_en: str
    address: str
    description: str
    lat: float
    lon: float
    deadline: datetime | None
    light: str | None
    version: int
    distance_m: float | None
    photos: tuple[str, ...] = ()
    done_offline: bool = False  # recorded on this phone, not yet accepted by the server


def _task(data: dict[str, Any], version: int, here: Location | None, done: bool) -> Task | None:
    kind = TASK_OF_STATE.get(str(data.get("state")))
    if kind is None:
        return None
    category = data.get("category") or {}
    lat, lon = float(data.get("lat") or 0.0), float(data.get("lon") or 0.0)
    photos = data.get("photos") or []
    return Task(
        case_id=str(data["id"]),
        kind=kind,
        category_code=str(category.get("code") or ""),
        category_name=str(category.get("name") or ""),
        category_name_en=str(category.get("name_en") or ""),
        address=str(data.get("address") or ""),
        description=str(data.get("description") or ""),
        lat=lat,
        lon=lon,
        deadline=_time(data.get("step_deadline")),
        light=data.get("light"),
        version=int(data.get("version") or version),
        distance_m=None if here is None else here.distance_to(lat, lon),
        photos=tuple(p["sha256"] for p in photos if isinstance(p, dict) and "sha256" in p),
        done_offline=done,
    )


class Patrol:
    def __init__(self, client: SyncClient, inspector_id: int, clock: Callable[[], datetime]):
        self.client = client
        self.inspector_id = inspector_id
        self.clock = clock

    # -------------------------------------------------------------- quick collection

    def quick_collect(
        self, photo: str | None, category_code: str | None, here: Location | None, note: str = ""
    ) -> str:
        """Record a case found on patrol; returns its id. Photo, kind and place are required."""
        form = ReportForm(
            photos=[photo] if photo else [],
            location=here,
            category_code=category_code,
            description=note,
            photo_required=True,
        )
        args = form.validated_args()
        self.client.record(REPORT, args)
        return str(args["id"])

    # -------------------------------------------------------------- tasks

    def _done_offline(self) -> set[str]:
        entries = [*self.client.waiting(), *self.client.sent(), *self.client.needs_attention()]
        return {str(e.args.get("case_id")) for e in entries if e.name in (VERIFY, CHECK)}

    def tasks(self, here: Location | None, order: str = "distance") -> list[Task]:
        """My verify and check tasks; ``order`` is "distance" or "deadline"."""
        done = self._done_offline()
        # only this inspector's cases in a task state are read and decoded: after a sync the
        # store may hold thousands of cases, and this runs on a thread beside the UI's
        where = {"inspector_id": [self.inspector_id], "state": list(TASK_OF_STATE)}
        with self.client.store.transaction() as tx:
            records = tx.records_matching("cases", where)
        found = []
        for r in records:
            data = r.data or {}
            task = _task(data, r.version, here, r.id in done)
            if task is not None:
                found.append(task)
        far = float("inf")
        never = datetime.max

        def deadline(t: Task) -> float:
            return t.deadline.timestamp() if t.deadline else never.timestamp()

        def distance(t: Task) -> float:
            return far if t.distance_m is None else t.distance_m

        if order == "deadline":
            key = lambda t: (t.done_offline, deadline(t), distance(t))  # noqa: E731
        else:
            key = lambda t: (t.done_offline, distance(t), deadline(t))  # noqa: E731
        return sorted(found, key=key)

    def verify(self, task: Task, confirmed: bool, photos: list[str], note: str = "") -> None:
        """核实: the problem is there (photo required) or not (a note says what was found)."""
        problems = {}
        if confirmed and not photos:
            problems["photos"] = "patrol.need_photo"
        if not confirmed and not note.strip():
            problems["note"] = "patrol.need_note"
        if len(note) > NOTE_MAX:
            problems["note"] = "patrol.note_too_long"
        if problems:
            raise FormInvalid(problems)
        args = {"case_id": task.case_id, "confirmed": confirmed, "photos": list(photos),
                "note": note.strip()}  # fmt: skip
        self.client.record(VERIFY, args, task.version)

    def check(self, task: Task, passed: bool, photos: list[str], note: str = "") -> None:
        """核查: the fix holds (closes the case) or not (back to the department, with a reason)."""
        problems = {}
        if not photos:
            problems["photos"] = "patrol.need_photo"
        if not passed and not note.strip():
            problems["note"] = "patrol.need_reason"
        if len(note) > min(NOTE_MAX, REASON_MAX):
            problems["note"] = "patrol.note_too_long"
        if problems:
            raise FormInvalid(problems)
        args: dict[str, Any] = {"case_id": task.case_id, "passed": passed,
                                "photos": list(photos), "note": note.strip()}  # fmt: skip
        if not passed:
            args["reason"] = note.strip()
        self.client.record(CHECK, args, task.version)
