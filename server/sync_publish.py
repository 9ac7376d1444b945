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
writes its rows' views directly (``publish_views``). The REST intake's cheap path queues its
new case instead (``queue_new``): ``drain`` publishes the queue behind the answers, many cases
a transaction (rule L-2a).
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import date, datetime
from typing import Any

from sqlalchemy import bindparam, delete, event, insert, inspect, select
from sqlalchemy.orm import Session, SessionTransaction, sessionmaker

from shared_models.enums import Role
from sync.server import Writer

from .models import Case, CasePhoto, CaseReporter, Category, Department
from .models.sync import SyncPublishQueue
from .prepared import Prepared
from .services import city_cache
from .services.actor import Actor
from .sync_store import PENDING, SqlServerTx  # PENDING: {(collection, id)} not yet published

log = logging.getLogger(__name__)
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
) -> None:
    """Write a case's two device-facing records from the case as given (a ``Case``, or the
    row the sync's bulk report path inserted), its photo links and its reporters' user ids."""
    from .api.case_views import case_view

    if isinstance(w.tx, SqlServerTx):  # both views' records in one read (none if known)
        w.tx.prefetch_records([(CASES, case.id), (MY_REPORTS, case.id)])
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


# ---------------------------------------------------------------- the intake's queue
# The REST intake answers the reporter once the case is committed with one small row in
# ``sync_publish_queue`` (rule L-2a); the case's two views, their scope tags and change-log
# rows are written by ``drain``, many cases a transaction: by the sync applier behind the
# reports (``InboxApplier``, woken by them), by every pull before it reads the change log
# (``PublishQueue.before_pull``) and by ``cgt sync-publish``.

DRAIN_BATCH = 200  # cases per publishing transaction
# ... for the applier while reports keep arriving: each report's commit may wait for the
# write lock behind one of these (~10 ms), not behind 200 (~30–80 ms with SQLite's busy
# handler's sleeps).
STREAM_BATCH = 50
_QUEUE = SyncPublishQueue.__table__
_QUEUE_NEW = Prepared(insert(_QUEUE))
_ANY_QUEUED = Prepared(select(_QUEUE.c.case_id).limit(1))


def _claim(wait: bool) -> Any:
    """Take up to ``n`` queued cases off the queue, in the transaction that publishes them.
    On PostgreSQL ``wait=False`` skips rows another transaction is publishing; ``wait=True``
    waits for it (a pull must not read the log before they are in it). On SQLite the write
    lock serialises drains either way."""
    chosen = select(_QUEUE.c.case_id).order_by(_QUEUE.c.case_id).limit(bindparam("n"))
    chosen = chosen.with_for_update(skip_locked=not wait)
    return delete(_QUEUE).where(_QUEUE.c.case_id.in_(chosen)).returning(_QUEUE.c.case_id)


_CLAIM = {wait: _claim(wait) for wait in (False, True)}


def queue_new(s: Session, case_id: str) -> None:
    """Queue a case the REST intake inserted (``case_intake.file_new``), in its transaction:
    one small row instead of its records, their tags and change-log rows."""
    _QUEUE_NEW.executemany(s.connection(), [{"case_id": case_id}])


def any_queued(s: Session) -> bool:
    return bool(_ANY_QUEUED.execute(s.connection()))


def drain(
    factory: sessionmaker[Session],
    now: datetime,
    wait: bool = True,
    pause: Callable[[], bool] | None = None,
    batch: int | None = None,
) -> int:
    """Publish the queued cases, ``batch`` (default ``DRAIN_BATCH``) per transaction; how
    many were published.
    A case leaves the queue in the transaction that writes its records: a failure leaves it
    queued for the next drain. A case changed since it was queued is published as it is now
    (the change published it already: nothing new is written then). ``pause``: asked before
    each batch after the first, True stops for now (the applier lets requests go first)."""
    total = 0
    while total == 0 or pause is None or not pause():
        with factory() as s:
            ids = list(s.scalars(_CLAIM[wait], {"n": batch or DRAIN_BATCH}))
            if not ids:
                return total
            w = Writer(SqlServerTx(s), None, now)
            publish_cases(w, s, ids)
            w.flush()  # numbers from the counter, last before the commit (rule C-3)
            s.commit()
        total += len(ids)
    return total


def publish_cases(w: Writer, s: Session, ids: list[str]) -> None:
    """``publish_case`` for many cases, each table read once for all of them."""
    from .api.case_views import photo_refs

    # Rows, not ORM objects (the views read only columns; loading objects was a sixth of a
    # drain). Locked on PostgreSQL: a workflow step on one of them publishes it before or
    # after, never beside.
    table = Case.__table__
    chosen = select(table).where(table.c.id.in_(ids)).order_by(table.c.id).with_for_update()
    cases = list(s.execute(chosen))
    if isinstance(w.tx, SqlServerTx):
        w.tx.prefetch_records([(c, case.id) for case in cases for c in (CASES, MY_REPORTS)])
    photos: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for case_id, sha, kind in s.execute(
        select(CasePhoto.case_id, CasePhoto.photo_sha256, CasePhoto.kind)
        .where(CasePhoto.case_id.in_(ids))
        .order_by(CasePhoto.added_at)
    ):
        photos[case_id].append((sha, kind))
    reporters: dict[str, list[int]] = defaultdict(list)
    for case_id, user_id in s.execute(
        select(CaseReporter.case_id, CaseReporter.user_id).where(CaseReporter.case_id.in_(ids))
    ):
        reporters[case_id].append(user_id)
    for case in cases:
        publish_views(w, s, case, photo_refs(photos[case.id]), reporters[case.id])
    _done(s, [(CASES, i) for i in ids])


class PublishQueue:
    """An app's publisher of the intake's queue: ``drain`` with the app's sessions and
    clock, one thread of the process at a time."""

    def __init__(self, factory: sessionmaker[Session], clock: Callable[[], datetime]) -> None:
        self.factory, self.clock = factory, clock
        self.lock = threading.Lock()

    def before_pull(self, s: Session) -> None:
        """Before a pull reads the change log: publish whatever is queued, waiting for a
        drain in progress elsewhere, so a report answered before the pull is in it. A
        failure is logged and the pull goes on: the cases stay queued, and a later pull
        gets them (they are logged under new cursors when they are published)."""
        if any_queued(s):  # the pull's next statements see the drain's commit (they take
            self.drain(wait=True, quiet=True)  # a snapshot each: SQLite autocommit, PG RC)

    def drain(
        self,
        wait: bool = True,
        pause: Callable[[], bool] | None = None,
        quiet: bool = False,
        batch: int | None = None,
    ) -> int:
        """``drain``. ``wait=False``: nothing if another thread of this process is at it.
        ``quiet``: a failure is logged, not raised (the cases stay queued)."""
        if not self.lock.acquire(blocking=wait):
            return 0
        try:
            return drain(self.factory, self.clock(), wait, pause, batch)
        except Exception:
            if not quiet:
                raise
            log.exception("publishing the intake's queue failed (the cases stay queued)")
            return 0
        finally:
            self.lock.release()


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
