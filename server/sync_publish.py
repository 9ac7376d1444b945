"""Publishing to devices: every write of a case or a category reaches the sync change log.

Devices pull *device-facing records* (docs/sync-protocol.md, rule L-1). This module decides
what they are and who may see them:

- ``cases``: the staff view of a case, for ``role:dispatcher``, the grid's inspector
  (``grid:<code>``), the inspector the task is assigned to (``user:<id>``) and the handling
  department (``dept:<id>``); a case dispatched elsewhere leaves the old department's phones
  as a removal (rule L-4);
- ``my_reports``: the reporter's view (no staff fields) for every reporter (``user:<id>``);
- ``categories``: the public catalogue, for everyone (``public``).

It publishes from ONE place for every write path (REST views, Open311, the demo loader, the
console): a session hook notes which cases and categories a flush touched and publishes them
just before the transaction commits; the intake, which inserts a new case with Core
statements no flush sees, notes it with ``note_born``. Sync mutation handlers publish
through their own ``MutationContext`` instead (so the changes carry the device's origin and
are echoed to it), which takes those records off the hook's list; the bulk report path
writes its rows' views directly (``publish_views``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session, SessionTransaction, sessionmaker

from shared_models.enums import Role
from sync.server import Writer

from .models import Case, CasePhoto, CaseReporter, Category, Department
from .services import city_cache
from .services.actor import Actor
from .sync_store import PENDING, SqlServerTx  # PENDING: {(collection, id)} not yet published

if TYPE_CHECKING:
    from .services.case_intake import NewCase

CASES, MY_REPORTS, CATEGORIES = "cases", "my_reports", "categories"
DISPATCHERS, PUBLIC = "role:dispatcher", "public"
_BUSY = "cgt_sync_publishing"
# session.info key: {case id: ([CasePhoto], [CaseReporter], [reporter id inserted by Core])}
# for cases inserted by this transaction, so publishing them needs no query for what the
# transaction itself wrote.
_BORN = "cgt_sync_born"
_INSERTED = "cgt_sync_inserted"  # session.info key: [(case, transaction)] from note_born
_STAFF_VIEWER = Actor(None, Role.INSPECTOR)  # staff fields, no reporter contact
_REPORTER_VIEWER = Actor(None, Role.CITIZEN)


_SCALARS = (str, int, float, bool, type(None))


def json_ready(value: Any) -> Any:
    """JSON-ready: datetimes as ISO 8601 text, containers walked."""
    if isinstance(value, _SCALARS):  # most values of a view: no call per value for them
        return value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: v if isinstance(v, _SCALARS) else json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [v if isinstance(v, _SCALARS) else json_ready(v) for v in value]
    return value


def staff_audience(case: Case) -> set[str]:
    tags = {DISPATCHERS}
    if case.grid_code:
        tags.add(f"grid:{case.grid_code}")
    if case.department_id is not None:
        tags.add(f"dept:{case.department_id}")
    if case.inspector_id is not None:
        tags.add(f"user:{case.inspector_id}")
    return tags


def _write_if_changed(w: Writer, collection: str, id: str, data: Any, audience: set[str]) -> None:
    old = w.get(collection, id)
    if old is not None and old.data == data and old.audience == frozenset(audience):
        return  # nothing a device would notice: no new version
    w.write(collection, id, data, audience)


def publish_case(w: Writer, s: Session, case_id: str) -> None:
    """Write the device-facing copies of one case (staff view, reporters' view)."""
    from .api.case_views import photo_refs, photos_of

    s.flush()
    case = s.get(Case, case_id)
    if case is None:
        return
    born = s.info.get(_BORN, {}).get(case.id)
    if born is not None:  # created in this transaction: its photos and reporters are all here
        # (persistent: a row whose savepoint rolled back is no longer the case's)
        kept = sorted((p for p in born[0] if inspect(p).persistent), key=lambda p: p.added_at)
        photos = photo_refs((p.photo_sha256, p.kind) for p in kept)
        reporters: Iterable[int] = [
            *born[2],
            *(r.user_id for r in born[1] if inspect(r).persistent),
        ]
    else:
        photos = photos_of(s, case.id)
        reporters = s.scalars(select(CaseReporter.user_id).where(CaseReporter.case_id == case.id))
    publish_views(w, s, case, photos, reporters)
    _done(s, [(CASES, case.id)])


def publish_views(
    w: Writer,
    s: Session,
    case: Any,
    photos: list[dict[str, str]],
    reporters: Iterable[int],
    new: bool = False,
) -> None:
    """Write a case's two device-facing records from the case as given (a ``Case``, or the
    row the intake's bulk path inserted), its photo links and its reporters' user ids.
    ``new``: the case was inserted in this transaction, so it has no records to read."""
    from .api.case_views import case_view

    if isinstance(w.tx, SqlServerTx):  # both views' records in one read (or none)
        keys = [(CASES, case.id), (MY_REPORTS, case.id)]
        if new:
            w.tx.known_absent(keys)
        else:
            w.tx.prefetch_records(keys)
    dept = s.get(Department, case.department_id) if case.department_id is not None else None
    names: dict[str, dict[Any, Any]] = {
        "categories": {case.category_code: city_cache.snapshot(s).category(case.category_code)},
        "departments": {case.department_id: dept},
    }
    staff_view = case_view(s, case, _STAFF_VIEWER, w.now, detail=False, names=names)
    staff = json_ready({**staff_view, "photos": photos})
    _write_if_changed(w, CASES, case.id, staff, staff_audience(case))
    tags = {f"user:{u}" for u in reporters}
    if tags:
        mine = case_view(s, case, _REPORTER_VIEWER, w.now, detail=False, names=names)
        _write_if_changed(w, MY_REPORTS, case.id, json_ready({**mine, "photos": photos}), tags)


def publish_new(s: Session, new: NewCase, now: datetime) -> None:
    """Publish a case the intake inserted without an ORM object (``case_intake.file_new``)
    and log its changes: called last in the transaction, just before the commit (rule C-3).
    No flush saw the case, so the commit hook has nothing of it to publish again."""
    w = Writer(SqlServerTx(s), None, now)
    reporters = [new.reporter["user_id"]] if new.reporter else []
    publish_views(w, s, new.case, [], reporters, new=True)
    w.flush()


def publish_category(w: Writer, s: Session, code: str) -> None:
    cat = s.get(Category, code)
    if cat is None or not cat.active:
        w.remove(CATEGORIES, code)
    else:
        data = {
            "code": cat.code,
            "kind": cat.kind,
            "class_code": cat.class_code,
            "class_name": cat.class_name,
            "class_name_en": cat.class_name_en,
            "name": cat.name,
            "name_en": cat.name_en,
            "keywords": cat.keywords,
            "needs_verify": cat.needs_verify,
        }
        _write_if_changed(w, CATEGORIES, code, data, {PUBLIC})
    _done(s, [(CATEGORIES, code)])


def publish(w: Writer, s: Session, keys: Iterable[tuple[str, str]]) -> None:
    for collection, id in sorted(set(keys)):
        if collection == CASES:
            publish_case(w, s, id)
        else:
            publish_category(w, s, id)


def publish_pending(w: Writer, s: Session) -> None:
    """Publish what this transaction touched so far through ``w`` (a mutation's context)."""
    s.flush()
    publish(w, s, set(s.info.get(PENDING, set())))


def publish_all(s: Session, now: datetime) -> int:
    """Publish every case and category (a database made before sync existed); returns how many."""
    keys = [(CASES, i) for i in s.scalars(select(Case.id))]
    keys += [(CATEGORIES, c) for c in s.scalars(select(Category.code))]
    w = Writer(SqlServerTx(s), None, now)
    publish(w, s, keys)
    w.flush()
    return len(keys)


# ---------------------------------------------------------------- the one hook


def _done(s: Session, keys: Iterable[tuple[str, str]]) -> None:
    pending: set[tuple[str, str]] = s.info.get(PENDING, set())
    pending.difference_update(keys)


def note_born(s: Session, case: Case, reporter_ids: list[int]) -> None:
    """A case the intake inserted with Core statements (no flush saw it): publish it like
    one, with the reporters inserted beside it."""
    if s.info.get(_BUSY):
        return
    s.info.setdefault(_BORN, {})[case.id] = ([], [], reporter_ids)
    s.info.setdefault(PENDING, set()).add((CASES, case.id))
    inner = s.get_nested_transaction() or s.get_transaction()
    s.info.setdefault(_INSERTED, []).append((case, inner))


def _forget_rolled_back(s: Session, rolled_back: SessionTransaction) -> None:
    """Cases made persistent by ``note_born`` inside a rolled-back savepoint leave the
    session: their rows are gone, and a later look-up of the id must not find them."""
    kept = []
    for case, inner in s.info.get(_INSERTED, ()):
        t = inner
        while t is not None and t is not rolled_back:
            t = t.parent
        if t is None:
            kept.append((case, inner))
        elif case in s:
            s.expunge(case)
    s.info[_INSERTED] = kept


def _note_born(s: Session, new: Iterable[object]) -> None:
    born: dict[str, tuple[list[CasePhoto], list[CaseReporter], list[int]]] = s.info.setdefault(
        _BORN, {}
    )
    for obj in new:
        if isinstance(obj, Case):
            born.setdefault(obj.id, ([], [], []))
    for obj in new:
        if isinstance(obj, CasePhoto | CaseReporter) and obj.case_id in born:
            born[obj.case_id][isinstance(obj, CaseReporter)].append(obj)  # type: ignore[arg-type]


def _touched(objects: Iterable[object]) -> set[tuple[str, str]]:
    keys: set[tuple[str, str]] = set()
    for obj in objects:
        if isinstance(obj, Case):
            keys.add((CASES, obj.id))
        elif isinstance(obj, CaseReporter | CasePhoto):
            keys.add((CASES, obj.case_id))
        elif isinstance(obj, Category):
            keys.add((CATEGORIES, obj.code))
    return keys


def install(factory: sessionmaker[Session], clock: Callable[[], datetime]) -> None:
    """Publish what each transaction of ``factory``'s sessions changed, before it commits."""

    def after_flush(s: Session, _ctx: Any) -> None:
        if not s.info.get(_BUSY):
            _note_born(s, s.new)
            keys = _touched([*s.new, *s.dirty, *s.deleted])
            if keys:
                s.info.setdefault(PENDING, set()).update(keys)

    def before_commit(s: Session) -> None:
        if s.info.get(_BUSY) or not s.info.get(PENDING):
            return
        s.flush()  # what is still unflushed joins the list now, not after this hook
        s.info[_BUSY] = True
        try:
            w = Writer(SqlServerTx(s), None, clock())
            publish(w, s, set(s.info.pop(PENDING, set())))
            w.flush()  # the change-log numbers last, just before commit (rule C-3)
        finally:
            s.info.pop(_BUSY, None)

    def forget(s: Session) -> None:
        s.info.pop(PENDING, None)
        s.info.pop(_BORN, None)
        s.info.pop(_INSERTED, None)

    def after_soft_rollback(s: Session, rolled_back: SessionTransaction) -> None:
        if not rolled_back.nested:
            forget(s)
        elif s.info.get(_INSERTED):  # a savepoint (its pending keys are restored by its owner)
            _forget_rolled_back(s, rolled_back)

    event.listen(factory, "after_flush", after_flush)
    event.listen(factory, "before_commit", before_commit)
    event.listen(factory, "after_commit", forget)
    event.listen(factory, "after_soft_rollback", after_soft_rollback)
