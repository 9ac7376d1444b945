"""The server's handlers of the case mutations (``sync.case_mutations``).

Each calls the same case use case as the REST API (``server.services.cases``) on the
engine's transaction, so the receipt, the case and its published records commit together or
not at all, and an offline action that is no longer valid is refused with the use case's own
CgtError (code and zh/en message). Handlers then publish what they touched through their
``MutationContext``: those changes carry the device's origin and are echoed to it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, cast

from marshmallow import Schema, ValidationError, fields, validate
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from shared_models.enums import PhotoKind, Role
from shared_models.errors import CgtError, Forbidden, InvalidInput
from shared_models.schemas import CaseActionSchema, CaseReportSchema, RatingSchema
from sync import case_mutations as names
from sync.errors import SyncError
from sync.mutations import Handler, Registry
from sync.protocol import Json
from sync.server import MutationContext

from .domain.workflow import ACTIONS, DISPATCH_DESK
from .models import Case
from .services import case_intake
from .services import cases as svc
from .services import photos as photo_svc
from .services.actor import Actor
from .services.context import CaseContext
from .services.visibility import load_visible
from .sync_publish import CASES, MY_REPORTS, publish_pending, publish_views
from .sync_store import SqlServerTx


@dataclass(frozen=True)
class Caller:
    """What the web edge hands the engine as ``Peer.actor``: who, and the case settings."""

    actor: Actor
    settings: CaseContext


class AttachSchema(Schema):
    photos = fields.List(fields.String(), required=True, validate=validate.Length(min=1, max=9))
    kind = fields.String(
        load_default=PhotoKind.REPORT.value, validate=validate.OneOf([k.value for k in PhotoKind])
    )


def _load(schema: Schema, args: Json, **kwargs: Any) -> dict[str, Any]:
    try:
        return cast(dict[str, Any], schema.load(args, **kwargs))
    except ValidationError as error:
        messages = error.messages
        raise InvalidInput(
            errors=messages if isinstance(messages, dict) else {"_": messages}
        ) from None


def _parts(ctx: MutationContext) -> tuple[Session, Actor, CaseContext]:
    caller = cast(Caller, ctx.actor)
    session = cast(SqlServerTx, ctx.tx).session
    return session, caller.actor, replace(caller.settings, now=ctx.now)


def _case_id(args: Json) -> str:
    case_id = args.pop("case_id", None)
    if not isinstance(case_id, str) or not case_id:
        raise InvalidInput(errors={"case_id": ["Required. 必填。"]})
    return case_id


def _check_base(ctx: MutationContext, case_id: str) -> None:
    """Rule P-12 against the copy this user holds (staff view, else their report's view)."""
    if ctx.base_version is None:
        return
    for collection in (CASES, MY_REPORTS):
        record = ctx.get(collection, case_id)
        if record is not None and record.audience & ctx.peer.audiences:
            ctx.check_base(record)
            return


def _done(ctx: MutationContext, s: Session, case: Case) -> Json:
    publish_pending(ctx, s)
    return {"case_id": case.id, "state": case.state, "version": case.version}


def report_case(ctx: MutationContext, args: Json) -> Json:
    s, actor, settings = _parts(ctx)
    data = _load(CaseReportSchema(), args)
    data["id"] = str(data["id"])
    out = svc.report(s, actor, data, settings)
    result = _done(ctx, s, out.case)
    result.update(created=out.created, same_problem=[c.id for c, _ in out.candidates])
    return result


def report_cases(
    contexts: Sequence[MutationContext], args: Sequence[Json]
) -> list[Json | CgtError]:
    """A run of reports from one push, filed together (``case_intake.report_many``): the
    same answers as ``report_case`` one by one, with bulk statements."""
    s, actor, settings = _parts(contexts[0])
    schema = CaseReportSchema()
    items: list[dict[str, Any] | CgtError] = []
    for a in args:
        try:
            data = _load(schema, a)
        except CgtError as error:
            items.append(error)
            continue
        data["id"] = str(data["id"])
        items.append(data)
    filed = case_intake.report_many(
        s, actor, items, [replace(settings, now=ctx.now) for ctx in contexts]
    )
    tx = cast(SqlServerTx, contexts[0].tx)  # new cases: no records of theirs to read
    tx.known_absent(
        [
            (c, o[0].case.id)
            for o in filed
            if not isinstance(o, CgtError)
            for c in (CASES, MY_REPORTS)
        ]
    )
    results: list[Json | CgtError] = []
    for ctx, outcome in zip(contexts, filed, strict=False):
        if isinstance(outcome, CgtError):
            results.append(outcome)
            continue
        new, same_problem = outcome
        case = new.case
        reporters = [new.reporter["user_id"]] if new.reporter else []
        publish_views(ctx, s, case, [], reporters)
        results.append(
            {
                "case_id": case.id,
                "state": case.state,
                "version": case.version,
                "created": True,
                "same_problem": same_problem,
            }
        )
    return results


# The role whose step each kind of evidence belongs to.
ATTACH_ROLES = {
    PhotoKind.VERIFY: Role.INSPECTOR,
    PhotoKind.CHECK: Role.INSPECTOR,
    PhotoKind.BEFORE: Role.HANDLER,
    PhotoKind.AFTER: Role.HANDLER,
}


def _may_attach(s: Session, actor: Actor, case_id: str, kind: PhotoKind) -> bool:
    """A report photo is a reporter's to add; verify/check an inspector's; before/after a
    department's; the desk may add any."""
    if actor.role in DISPATCH_DESK:
        return True
    if kind in ATTACH_ROLES:
        return actor.role is ATTACH_ROLES[kind]
    return svc.is_reporter(s, case_id, actor.id)


def attach_photo(ctx: MutationContext, args: Json) -> Json:
    s, actor, settings = _parts(ctx)
    case = load_visible(s, actor, _case_id(args))
    data = _load(AttachSchema(), args)
    kind = PhotoKind(data["kind"])
    if not _may_attach(s, actor, case.id, kind):
        raise Forbidden()
    added = photo_svc.attach_photos(s, case.id, data["photos"], kind, None, settings.now)
    if added:
        case.updated_at = settings.now
    return _done(ctx, s, case)


def action_handler(action: str | None) -> Handler:
    """A handler for one workflow action (``None``: the action named in the arguments)."""

    def handle(ctx: MutationContext, args: Json) -> Json:
        s, actor, settings = _parts(ctx)
        case_id = _case_id(args)
        name = action or args.pop("action", None)
        if name not in ACTIONS:
            raise InvalidInput(errors={"action": [f"Unknown action '{name}'. 未知操作。"]})
        _check_base(ctx, case_id)
        body = _load(CaseActionSchema(), args, partial=("version",))
        case = svc.act(s, actor, case_id, str(name), body, settings)
        return _done(ctx, s, case)

    return handle


def rate_case(ctx: MutationContext, args: Json) -> Json:
    s, actor, settings = _parts(ctx)
    case_id = _case_id(args)
    _check_base(ctx, case_id)
    data = _load(RatingSchema(), args)
    case = svc.rate(s, actor, case_id, data["stars"], data["comment"], settings)
    return _done(ctx, s, case)


def _store_failures_retry(handler: Handler) -> Handler:
    """A database failure inside a handler is the store's, never the mutation's (rule P-8)."""

    def run(ctx: MutationContext, args: Json) -> Json | None:
        try:
            return handler(ctx, args)
        except DBAPIError as error:
            raise SyncError(f"database: {error.orig!r}") from error

    return run


HANDLERS: dict[str, Callable[[MutationContext, Json], Json | None]] = {
    names.REPORT: report_case,
    names.ATTACH_PHOTO: attach_photo,
    names.VERIFY: action_handler("verify"),
    names.CHECK: action_handler("check"),
    names.RATE: rate_case,
    names.REOPEN: action_handler("reopen"),
    names.ACTION: action_handler(None),
}


def registry() -> Registry:
    return names.registry(
        {n: _store_failures_retry(h) for n, h in HANDLERS.items()}, {names.REPORT: report_cases}
    )
