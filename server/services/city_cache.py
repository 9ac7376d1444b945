"""The category catalogue and the grid in memory: one copy per process and database.

Every report needs its category (time limits, time unit) and the grid cell under its point.
Read from the database that is two ORM queries per report; here it is a dictionary and a
bucketed point look-up. The copy is checked against ``city_revision`` — one row whose token
every transaction that changes a category or a grid cell replaces (``install``) — with one
primary-key read per transaction (in a signed-in request, a subquery of the sign-in's own
statement: ``TOKEN``, ``seen_token``), so an import in any process (CLI, admin endpoint,
another gunicorn worker) is seen by the next transaction of every other. A transaction that has
itself changed the city reads it from the database instead, uncached, so an uncommitted or
rolled-back import is never remembered. Changes made outside the app's sessions (hand-written
SQL) must replace the token too, or restart the server.
"""

from __future__ import annotations

import math
import threading
import uuid
import weakref
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, SessionTransaction, sessionmaker

from shared_models.errors import InvalidInput
from shared_models.geo import point_in_polygon, valid_lat_lon

from ..db import dialect_insert
from ..models import Category, CityRevision, GridCell
from ..prepared import Prepared

BUCKET_DEG = 0.01  # ~1 km: a 万米 cell (~100 m) falls in one bucket, rarely in four
_ONE = 1
_CHANGED = "cgt_city_changed"  # session.info: this transaction changed categories or cells
_SNAPSHOT = "cgt_city_snapshot"  # session.info: the copy checked in this transaction
_SEEN = "cgt_city_token_seen"  # session.info: the token, read along with the sign-in


@dataclass(frozen=True)
class CategoryInfo:
    """What a case needs of its category (read-only copy of a ``Category`` row)."""

    code: str
    kind: str
    name: str
    name_en: str
    limits: dict[str, float]
    time_unit: str
    active: bool


@dataclass(frozen=True)
class CellInfo:
    """A grid cell's identity, outline and inspector (read-only copy of a ``GridCell`` row)."""

    code: str
    name: str
    community_code: str
    district_code: str
    min_lat: float
    min_lon: float
    max_lat: float
    max_lon: float
    polygon: tuple[tuple[float, float], ...] | None
    inspector_id: int | None

    def contains(self, lat: float, lon: float) -> bool:
        if not (self.min_lat <= lat <= self.max_lat and self.min_lon <= lon <= self.max_lon):
            return False
        return not self.polygon or point_in_polygon(lat, lon, list(self.polygon))


def _bucket(lat: float, lon: float) -> tuple[int, int]:
    return math.floor(lat / BUCKET_DEG), math.floor(lon / BUCKET_DEG)


class CitySnapshot:
    """The catalogue and the grid as of one ``city_revision`` token."""

    def __init__(
        self, token: str | None, categories: Iterable[CategoryInfo], cells: Iterable[CellInfo]
    ) -> None:
        self.token = token
        self.categories = {c.code: c for c in categories}
        by_code = sorted(cells, key=lambda c: c.code)  # a bucket lists its cells by code
        self.grid_codes = frozenset(c.code for c in by_code)  # text that quotes them keeps them
        self._buckets: dict[tuple[int, int], list[CellInfo]] = defaultdict(list)
        for cell in by_code:
            (la0, lo0), (la1, lo1) = (
                _bucket(cell.min_lat, cell.min_lon),
                _bucket(cell.max_lat, cell.max_lon),
            )
            for la in range(la0, la1 + 1):
                for lo in range(lo0, lo1 + 1):
                    self._buckets[(la, lo)].append(cell)

    def category(self, code: str) -> CategoryInfo | None:
        return self.categories.get(code)

    def locate(self, lat: float, lon: float) -> CellInfo | None:
        """The cell containing the point: of the cells whose box holds it, the first by code
        whose outline (if any) does — as the database query ordered by code did."""
        for cell in self._buckets.get(_bucket(lat, lon), ()):
            if cell.contains(lat, lon):
                return cell
        return None


def _load(s: Session, token: str | None) -> CitySnapshot:
    categories = [
        CategoryInfo(r.code, r.kind, r.name, r.name_en, dict(r.limits), r.time_unit, r.active)
        for r in s.execute(select(Category.__table__))
    ]
    cells = [
        CellInfo(
            r.code,
            r.name,
            r.community_code,
            r.district_code,
            r.min_lat,
            r.min_lon,
            r.max_lat,
            r.max_lon,
            tuple((float(p[0]), float(p[1])) for p in r.polygon) if r.polygon else None,
            r.inspector_id,
        )
        for r in s.execute(select(GridCell.__table__))
    ]
    return CitySnapshot(token, categories, cells)


_REVISION = CityRevision.__table__
_TOKEN_OF_CITY = select(_REVISION.c.token).where(_REVISION.c.id == _ONE)
_TOKEN = Prepared(_TOKEN_OF_CITY)
# For a statement every request runs anyway (the sign-in's), to read the token along: one
# statement less per request that looks at the city (``seen_token``).
TOKEN = _TOKEN_OF_CITY.scalar_subquery().label("city_token")


def seen_token(s: Session, token: str | None) -> None:
    """The city's token as another statement of this transaction read it (``TOKEN``):
    ``snapshot`` then checks its copy against it instead of reading it again."""
    s.info[_SEEN] = token


_copies: weakref.WeakKeyDictionary[Engine, CitySnapshot] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def snapshot(s: Session) -> CitySnapshot:
    """The city as this transaction sees it: the process's copy if still current."""
    snap: CitySnapshot | None = s.info.get(_SNAPSHOT)
    if snap is not None:
        return snap
    token = None
    if not s.info.get(_CHANGED):
        # the token first: a copy loaded after it is at least as new as the token says (the
        # flush first, as the session's execute would: a change still unflushed is noted by
        # then; the Core read on the connection skips the ORM's execute)
        s.flush()
        # (a flush that notes a change forgets the token the sign-in read)
        token = s.info[_SEEN] if _SEEN in s.info else _TOKEN.scalar(s.connection())
    if s.info.get(_CHANGED):  # this transaction's own view, never kept beyond it
        snap = _load(s, None)
    else:
        engine = s.get_bind()
        assert isinstance(engine, Engine)
        snap = _copies.get(engine)
        if snap is None or snap.token != token or token is None:
            snap = _load(s, token)
            if token is not None:
                with _lock:
                    _copies[engine] = snap
    s.info[_SNAPSHOT] = snap
    return snap


def category(s: Session, code: str) -> CategoryInfo:
    """An active category, or the structured 4xx every entry point gives for an unknown one."""
    cat = snapshot(s).category(code)
    if cat is None or not cat.active:
        raise InvalidInput(
            "unknown_category", errors={"category_code": ["Unknown. 未知类别。"]}, category=code
        )
    return cat


def locate(s: Session, lat: float, lon: float) -> CellInfo | None:
    """The grid cell containing a WGS-84 point, or None outside the city's grid."""
    if not valid_lat_lon(lat, lon):
        raise InvalidInput(errors={"lat": ["Out of range. 坐标超出范围。"]})
    return snapshot(s).locate(lat, lon)


def bump(s: Session) -> None:
    """Replace the revision token in this transaction (its row lock orders concurrent imports)."""
    token = uuid.uuid4().hex
    t = CityRevision.__table__
    done = s.execute(update(t).where(t.c.id == _ONE).values(token=token)).rowcount
    if not done:
        s.execute(
            dialect_insert(s, t)
            .values(id=_ONE, token=token)
            .on_conflict_do_nothing(index_elements=["id"])
        )
        s.execute(update(t).where(t.c.id == _ONE).values(token=token))


def install(factory: sessionmaker[Session]) -> None:
    """Note transactions of ``factory``'s sessions that change the city; replace the token
    before they commit; forget the per-transaction copy when they end."""

    def after_flush(s: Session, _ctx: Any) -> None:
        if any(isinstance(o, Category | GridCell) for o in (*s.new, *s.dirty, *s.deleted)):
            s.info[_CHANGED] = True
            s.info.pop(_SNAPSHOT, None)  # read again, with this flush's changes
            s.info.pop(_SEEN, None)

    def before_commit(s: Session) -> None:
        s.flush()
        if s.info.get(_CHANGED):
            bump(s)

    def forget(s: Session) -> None:
        s.info.pop(_CHANGED, None)
        s.info.pop(_SNAPSHOT, None)
        s.info.pop(_SEEN, None)

    def after_soft_rollback(s: Session, rolled_back: SessionTransaction) -> None:
        if rolled_back.nested:  # a savepoint: read again; a change before it still counts
            s.info.pop(_SNAPSHOT, None)
            s.info.pop(_SEEN, None)
        else:
            forget(s)

    event.listen(factory, "after_flush", after_flush)
    event.listen(factory, "before_commit", before_commit)
    event.listen(factory, "after_commit", forget)
    event.listen(factory, "after_soft_rollback", after_soft_rollback)
