"""Filing a case (信息采集) and the "same problem?" search, on the cheap path.

Intake is the busiest write of the system (every citizen report, every offline report a phone
pushes), so its rows go in as Core ``INSERT`` statements built once, not through the ORM's
unit of work: the case, its audit event and its reporter. The case object handed back is made
persistent in the session without a second write, so the caller (the intake answer, the sync
publisher, a later action in the same transaction) reads it from memory. ``sync_publish`` is
told about the new case, as its flush hook would have been.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Float, Integer, String, bindparam, column, insert, select, text
from sqlalchemy.orm import Session, make_transient_to_detached

from shared_models.enums import CaseSource, CaseState, PhotoKind, Role, Step
from shared_models.errors import CgtError, Conflict, Forbidden, InvalidInput
from shared_models.geo import bbox_around, distance_m, to_wgs84

from ..db import UTCDateTime
from ..domain.calendar import step_times
from ..domain.workflow import DISPATCH_DESK
from ..models import Case, CaseEvent, CaseReporter
from ..prepared import Prepared
from ..sync_publish import note_born
from . import city_cache, photos
from .actor import Actor
from .city_cache import CategoryInfo
from .context import CaseContext

SOURCE_OF_ROLE = {
    Role.CITIZEN: CaseSource.CITIZEN,
    Role.MERCHANT: CaseSource.CITIZEN,
    Role.INSPECTOR: CaseSource.INSPECTOR,
}
STAFF_SOURCES = {CaseSource.HOTLINE, CaseSource.FRONTAGE, CaseSource.TOILET, CaseSource.OPEN311}
MAX_SCANNED = 50  # open cases of the category read around a point, before measuring distance
MAX_CANDIDATES = 5

_cases, _events, _reporters = Case.__table__, CaseEvent.__table__, CaseReporter.__table__
INSERT_CASE = Prepared(insert(_cases))
INSERT_EVENT = insert(_events)  # through the Connection where its new id is wanted
INSERT_EVENTS = Prepared(INSERT_EVENT)
INSERT_REPORTER = Prepared(insert(_reporters))
# Open cases of one category in a box: ``ix_cases_open_cat_lat_lon`` answers it alone.
NEAR_OPEN = Prepared(
    select(_cases.c.id, _cases.c.lat, _cases.c.lon, _cases.c.created_at)
    .where(
        _cases.c.category_code == bindparam("category"),
        _cases.c.lat.between(bindparam("min_lat"), bindparam("max_lat")),
        _cases.c.lon.between(bindparam("min_lon"), bindparam("max_lon")),
        _cases.c.step_deadline.is_not(None),
        _cases.c.id != bindparam("case_id"),
    )
    .limit(MAX_SCANNED)
)


@dataclass
class ReportOutcome:
    case: Case
    created: bool
    candidates: list[tuple[Case, float]] = field(default_factory=list)
    category: CategoryInfo | None = None  # held here so presenting the case needs no re-read


def start_step(case: Case | CaseRow, step: Step, cat: CategoryInfo, ctx: CaseContext) -> None:
    hours = float(cat.limits[step.value])
    warn_at, deadline = step_times(ctx.calendar, ctx.now, hours, cat.time_unit, ctx.warn_share)
    case.step, case.step_started_at = step.value, ctx.now
    case.step_warn_at, case.step_deadline = warn_at, deadline


def _same_report(case: Case, actor: Actor, data: dict[str, Any], lat: float, lon: float) -> bool:
    return (
        case.reporter_id == actor.id
        and case.category_code == data["category_code"]
        and abs(case.lat - lat) < 1e-7
        and abs(case.lon - lon) < 1e-7
        and case.description == data.get("description", "")
    )


class CaseRow(SimpleNamespace):
    """A new case's column values as attributes (read like a ``Case``; no ORM state)."""

    id: str
    category_code: str
    lat: float
    lon: float
    created_at: datetime


@dataclass
class NewCase:
    """A validated report, ready to insert: the case and what goes with it."""

    case: CaseRow
    category: CategoryInfo
    event: dict[str, Any]
    reporter: dict[str, Any] | None
    photos: list[str]


def prepare(s: Session, actor: Actor, data: dict[str, Any], ctx: CaseContext) -> NewCase:
    """Check a new report (category, place, channel, evidence) and build its rows; writes
    nothing, so a refusal here leaves the transaction as it was."""
    lat, lon = to_wgs84(data["lat"], data["lon"], data.get("coord_system", "wgs84"))
    cat = city_cache.category(s, data["category_code"])
    cell = city_cache.locate(s, lat, lon)
    if cell is None:
        raise InvalidInput("outside_city", errors={"lat": ["Outside the city. 不在本市范围内。"]})
    source = SOURCE_OF_ROLE.get(actor.role)
    if source is None:
        if actor.role not in DISPATCH_DESK:  # a department handles cases; it does not file them
            raise Forbidden()
        # the command centre files hotline and other channels' cases
        source = CaseSource(data.get("source") or CaseSource.HOTLINE)
        if source not in STAFF_SOURCES:
            raise InvalidInput(errors={"source": ["Not a staff channel. 非受理渠道。"]})
    shas = list(dict.fromkeys(data.get("photos") or []))
    if source is CaseSource.INSPECTOR and not shas:
        raise InvalidInput("evidence_required", errors={"photos": ["Required. 必须上传照片。"]})
    case = CaseRow(
        id=data["id"],
        version=1,
        state=CaseState.REPORTED.value,
        source=source.value,
        category_code=cat.code,
        lat=lat,
        lon=lon,
        coord_system="wgs84",
        address=data.get("address", ""),
        grid_code=cell.code,
        district_code=cell.district_code,
        description=data.get("description", ""),
        reporter_id=actor.id if actor.role in SOURCE_OF_ROLE else None,
        department_id=None,
        inspector_id=None,
        verified=True if source is CaseSource.INSPECTOR else None,
        created_at=ctx.now,
        updated_at=ctx.now,
        closed_at=None,
        reject_reason=None,
        merged_into_id=None,
        rating=None,
        rating_comment=None,
        rated_at=None,
        rework_count=0,
        reopen_count=0,
        return_count=0,
    )
    start_step(case, Step.REGISTER, cat, ctx)
    event = {
        "case_id": case.id,
        "action": "report",
        "from_state": None,
        "to_state": case.state,
        "actor_id": actor.id,
        "actor_role": actor.role.value,
        "department_id": actor.department_id,
        "at": ctx.now,
        "note": "",
        "step": None,
        "step_deadline": None,
        "on_time": None,
        "data": {"source": source.value},
        "public": True,
    }
    reporter = None
    if case.reporter_id is not None:
        reporter = {
            "case_id": case.id,
            "user_id": case.reporter_id,
            "reported_at": ctx.now,
            "via_case_id": None,
        }
    return NewCase(case, cat, event, reporter, shas)


def insert_new(
    s: Session, new: list[NewCase], ctx: CaseContext, persist: bool = True
) -> list[Case]:
    """Insert prepared reports, one ``executemany`` per table.

    ``persist``: hand back each case as a ``Case`` made persistent in the session without a
    second write, and tell the sync publisher about it as its flush hook would have been
    told. Without it (the bulk path, which publishes its rows itself) no ORM object is made.
    """
    if not new:
        return []
    conn = s.connection()
    INSERT_CASE.executemany(conn, [vars(n.case) for n in new])
    cases = []
    if persist:
        for n in new:
            case = Case(**vars(n.case))
            make_transient_to_detached(case)
            s.add(case)
            note_born(s, case, [n.reporter["user_id"]] if n.reporter else [])
            cases.append(case)
    plain = [n for n in new if not n.photos]
    if plain:
        INSERT_EVENTS.executemany(conn, [n.event for n in plain])
    for n in new:
        if n.photos:  # the photos name their event: insert it alone to learn its id
            assert persist, "the bulk path leaves reports with photos to report()"
            event_id = conn.execute(INSERT_EVENT, n.event).inserted_primary_key[0]
            photos.attach_photos(s, n.case.id, n.photos, PhotoKind.REPORT, event_id, ctx.now)
    reporters = [n.reporter for n in new if n.reporter is not None]
    if reporters:
        INSERT_REPORTER.executemany(conn, reporters)
    return cases


def report(
    s: Session, actor: Actor, data: dict[str, Any], ctx: CaseContext, fresh: bool = False
) -> ReportOutcome:
    """File a new case (信息采集); repeating the same report with the same id is harmless.

    ``fresh`` skips the look-up for an earlier copy: for callers that retry on the primary
    key's IntegrityError with ``fresh=False``, saving a query on every new report.
    """
    existing = None if fresh else s.get(Case, data["id"])
    if existing is not None:
        lat, lon = to_wgs84(data["lat"], data["lon"], data.get("coord_system", "wgs84"))
        if _same_report(existing, actor, data, lat, lon):
            return ReportOutcome(existing, False, find_candidates(s, existing, ctx))
        raise Conflict("duplicate_id")
    new = prepare(s, actor, data, ctx)
    (case,) = insert_new(s, [new], ctx)
    return ReportOutcome(case, True, find_candidates(s, case, ctx), new.category)


def file_new(
    s: Session, actor: Actor, data: dict[str, Any], ctx: CaseContext
) -> tuple[NewCase, list[tuple[Case, float]]]:
    """File a new report without photos and make no ORM object of it: the REST intake's
    path. The caller answers from the row (``NewCase.case``) and queues it for devices
    (``sync_publish.queue_new``) before committing. An id already taken raises the primary
    key's IntegrityError (the caller then answers through ``report``: replay or clash)."""
    assert not data.get("photos"), "reports with photos go through report()"
    new = prepare(s, actor, data, ctx)
    insert_new(s, [new], ctx, persist=False)
    return new, find_candidates(s, new.case, ctx)


def find_candidates(s: Session, case: Case | CaseRow, ctx: CaseContext) -> list[tuple[Case, float]]:
    """Open cases of the same category within the duplicate radius ("same problem?")."""
    near = near_open_cases(s, case.id, case.category_code, case.lat, case.lon, ctx)
    if not near:
        return []
    by_id = {c.id: c for c in s.scalars(select(Case).where(Case.id.in_([i for i, _ in near])))}
    return [(by_id[i], d) for i, d in near]


def near_open_cases(
    s: Session, case_id: str, category_code: str, lat: float, lon: float, ctx: CaseContext
) -> list[tuple[str, float]]:
    """Ids and distances of the nearest (at most 5) open cases of a category around a point."""
    s.flush()  # as the session's execute would; the Core read on the connection is cheaper
    rows = NEAR_OPEN.execute(s.connection(), box(case_id, category_code, lat, lon, ctx))
    return nearest(lat, lon, rows, ctx)


def box(
    case_id: str, category_code: str, lat: float, lon: float, ctx: CaseContext
) -> dict[str, Any]:
    """``NEAR_OPEN``'s parameters: the box around the duplicate radius."""
    min_lat, min_lon, max_lat, max_lon = bbox_around(lat, lon, ctx.duplicate_radius_m)
    return {
        "category": category_code,
        "min_lat": min_lat,
        "max_lat": max_lat,
        "min_lon": min_lon,
        "max_lon": max_lon,
        "case_id": case_id,
    }


def nearest(
    lat: float, lon: float, rows: Iterable[Any], ctx: CaseContext
) -> list[tuple[str, float]]:
    """Of rows ``(id, lat, lon, created_at)``, the (at most 5) within the duplicate radius,
    nearest first, the earlier reported first at equal distance, then by id (so the answer
    does not depend on the order the database returned them in)."""
    found = [(r[0], distance_m(lat, lon, r[1], r[2]), r[3]) for r in rows]
    near = sorted(
        (f for f in found if f[1] <= ctx.duplicate_radius_m), key=lambda f: (f[1], f[2], f[0])
    )
    return [(i, d) for i, d, _ in near[:MAX_CANDIDATES]]


TAKEN = select(_cases.c.id).where(_cases.c.id.in_(bindparam("ids", expanding=True)))


def report_many(
    s: Session,
    actor: Actor,
    items: list[dict[str, Any] | CgtError],
    contexts: list[CaseContext],
) -> list[tuple[NewCase, list[str]] | CgtError]:
    """File a run of new reports by one actor together (a phone's offline reports).

    Returns, for a prefix of ``items``, each filed case with its "same problem?" ids, or the
    error that refuses it (an item that is already an error stays one); nothing is written
    for a refused report. The prefix stops before a report this path does not take — an id
    that exists already (a replay or a clash, which ``report`` answers) or one with photos —
    so the caller files that one alone and goes on. The answers are ``report``'s: each
    report's candidates include the earlier reports of the run, not the later ones.
    """
    ids = [it["id"] for it in items if isinstance(it, dict)]
    taken = set(s.connection().execute(TAKEN, {"ids": ids}).scalars()) if ids else set()
    checked: list[tuple[NewCase, CaseContext] | CgtError] = []
    for item, ctx in zip(items, contexts, strict=True):
        if isinstance(item, CgtError):
            checked.append(item)
            continue
        if item["id"] in taken or item.get("photos"):
            break
        try:
            checked.append((prepare(s, actor, item, ctx), ctx))
        except CgtError as error:
            checked.append(error)
            continue
        taken.add(item["id"])
    new = [c for c in checked if not isinstance(c, CgtError)]
    boxes = [box(n.case.id, n.case.category_code, n.case.lat, n.case.lon, ctx) for n, ctx in new]
    found = iter(zip(boxes, near_open_many(s, boxes), strict=True))
    earlier: dict[str, list[CaseRow]] = {}  # this run's new cases by category
    out: list[tuple[NewCase, list[str]] | CgtError] = []
    for c in checked:
        if isinstance(c, CgtError):
            out.append(c)
            continue
        (n, ctx), (where, rows) = c, next(found)
        case = n.case
        rows += [  # this run's earlier reports are open cases too (not yet in the table)
            (p.id, p.lat, p.lon, p.created_at)
            for p in earlier.get(case.category_code, ())
            if where["min_lat"] <= p.lat <= where["max_lat"]
            and where["min_lon"] <= p.lon <= where["max_lon"]
        ]
        near = nearest(case.lat, case.lon, rows, ctx)
        earlier.setdefault(case.category_code, []).append(case)
        out.append((n, [i for i, _ in near]))
    insert_new(s, [n for n, _ in new], contexts[0], persist=False)
    return out


_NEAR_ARM = (
    "SELECT * FROM (SELECT {i} AS k, id, lat, lon, created_at FROM cases"
    " WHERE category_code = :c{i} AND lat BETWEEN :a{i} AND :b{i}"
    " AND lon BETWEEN :d{i} AND :e{i} AND step_deadline IS NOT NULL LIMIT {limit}) AS n{i}"
)
_near_many: dict[int, Any] = {}


def near_open_many(s: Session, boxes: list[dict[str, Any]]) -> list[list[tuple[Any, ...]]]:
    """``NEAR_OPEN`` for many boxes in one statement (a ``UNION ALL`` of the same index
    look-up per box): the rows ``(id, lat, lon, created_at)`` of each box, in order."""
    found: list[list[tuple[Any, ...]]] = [[] for _ in boxes]
    if not boxes:
        return found
    stmt = _near_many.get(len(boxes))
    if stmt is None:
        arms = (_NEAR_ARM.format(i=i, limit=MAX_SCANNED) for i in range(len(boxes)))
        stmt = text(" UNION ALL ".join(arms)).columns(
            column("k", Integer),
            column("id", String),
            column("lat", Float),
            column("lon", Float),
            column("created_at", UTCDateTime),
        )
        _near_many[len(boxes)] = stmt
    params: dict[str, Any] = {}
    for i, b in enumerate(boxes):
        params.update(
            {f"c{i}": b["category"], f"a{i}": b["min_lat"], f"b{i}": b["max_lat"],
             f"d{i}": b["min_lon"], f"e{i}": b["max_lon"]}
        )  # fmt: skip
    for k, *row in s.connection().execute(stmt, params):
        found[k].append(tuple(row))
    return found
