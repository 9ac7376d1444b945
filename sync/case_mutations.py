"""The case mutations of 城管通 as both configurations share them: names, photos, local apply.

The device registers them without handlers (it only records, shows and sends them); the
server passes its handlers (``server/sync_handlers.py``), which call the case use cases.

- ``report_case.v1`` {id, category_code, lat, lon, coord_system?, address?, description?,
  photos?}: report a problem (信息采集); shown at once in ``my_reports`` as *waiting*;
- ``attach_photo.v1`` {case_id, photos, kind?}: add uploaded photos to a case;
- ``verify_case.v1`` {case_id, confirmed, photos, note?}: an inspector's on-site verification;
- ``check_case.v1`` {case_id, passed, photos, note?}: an inspector's check of a handled case;
- ``rate_case.v1`` {case_id, stars, comment?}: a reporter's rating of a closed case;
- ``reopen_case.v1`` {case_id, reason, photos?}: a reporter reopens a closed case;
- ``case_action.v1`` {case_id, action, ...}: any other workflow action (accept, handle …).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from .mutations import BatchHandler, Handler, LocalView, LocalWrite, Registry
from .protocol import Json

REPORT = "report_case.v1"
ATTACH_PHOTO = "attach_photo.v1"
VERIFY = "verify_case.v1"
CHECK = "check_case.v1"
RATE = "rate_case.v1"
REOPEN = "reopen_case.v1"
ACTION = "case_action.v1"
NAMES = (REPORT, ATTACH_PHOTO, VERIFY, CHECK, RATE, REOPEN, ACTION)


def photos_in(args: Json) -> Iterable[str]:
    photos = args.get("photos")
    return [p for p in photos if isinstance(p, str)] if isinstance(photos, list) else []


def local_report(view: LocalView, args: Json) -> Sequence[LocalWrite]:
    """The new report as the reporter sees it until the server answers."""
    fields = ("id", "category_code", "lat", "lon", "address", "description", "photos")
    data = {k: args[k] for k in fields if k in args}
    data.update(state="waiting")
    return [LocalWrite("my_reports", str(args.get("id", "")), data)]


def registry(
    handlers: Mapping[str, Handler] | None = None,
    batches: Mapping[str, BatchHandler] | None = None,
) -> Registry:
    """The registry of the case mutations; the server passes a handler for each name (and a
    batch handler for those it can apply in bulk)."""
    handlers, batches = handlers or {}, batches or {}
    reg = Registry()
    for name in NAMES:
        reg.register(
            name,
            handlers.get(name),
            local=local_report if name == REPORT else None,
            photos=None if name == RATE else photos_in,
            batch=batches.get(name),
        )
    return reg
