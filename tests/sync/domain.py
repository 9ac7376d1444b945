"""A toy case domain registered only in the tests: enough workflow to be refused.

``open_case.v1`` creates a case in a grid (visible to that grid's inspectors and to
dispatchers); ``note_case.v1`` appends a note (commutes, never conflicts);
``close_case.v1`` needs the version it was based on and an open case; ``move_case.v1``
moves a case to another grid, so inspectors of the old grid lose access to it. Each record
lists the mutations that touched it (``applied``), so tests can count effects.
"""

from __future__ import annotations

from collections.abc import Sequence

from shared_models.errors import CgtError, InvalidInput
from sync.mutations import LocalView, LocalWrite, Registry
from sync.protocol import Json
from sync.server import MutationContext
from sync.server_store import Peer, Record

DISPATCHERS = "role:dispatcher"


def audience(grid: str) -> set[str]:
    return {f"grid:{grid}", DISPATCHERS}


def inspector(key: str, grid: str) -> Peer:
    return Peer(key, frozenset({f"grid:{grid}", f"user:{key}"}))


def dispatcher(key: str) -> Peer:
    return Peer(key, frozenset({DISPATCHERS, f"user:{key}"}))


def _tag(ctx: MutationContext) -> str:
    return f"{ctx.client_id}#{ctx.seq}"


def _visible(ctx: MutationContext, id: str) -> Record:
    record = ctx.get("cases", id)
    if record is None or not record.audience & ctx.peer.audiences:
        raise CgtError("case_not_found")
    return record


def open_case(ctx: MutationContext, args: Json) -> Json:
    if not str(args.get("title", "")).strip():
        raise InvalidInput(errors={"title": "required"})
    if ctx.get("cases", args["id"]) is not None:
        raise CgtError("duplicate_id")
    data = {
        "title": args["title"],
        "grid": args["grid"],
        "state": "open",
        "notes": [],
        "applied": [_tag(ctx)],
    }
    ctx.write("cases", args["id"], data, audience(args["grid"]))
    return {"state": "open"}


def note_case(ctx: MutationContext, args: Json) -> Json:
    record = _visible(ctx, args["id"])
    data = dict(record.data)
    data["notes"] = [*data["notes"], args["note_id"]]
    data["applied"] = [*data["applied"], _tag(ctx)]
    ctx.write("cases", record.id, data, record.audience)
    return {}


def close_case(ctx: MutationContext, args: Json) -> Json:
    record = _visible(ctx, args["id"])
    ctx.check_base(record)
    if record.data["state"] != "open":
        raise CgtError("wrong_state", state=record.data["state"], action="close")
    data = {**record.data, "state": "closed", "applied": [*record.data["applied"], _tag(ctx)]}
    ctx.write("cases", record.id, data, record.audience)
    return {"state": "closed"}


def move_case(ctx: MutationContext, args: Json) -> Json:
    record = _visible(ctx, args["id"])
    data = {**record.data, "grid": args["grid"], "applied": [*record.data["applied"], _tag(ctx)]}
    ctx.write("cases", record.id, data, audience(args["grid"]))
    return {}


def explode(ctx: MutationContext, args: Json) -> Json:
    ctx.write("cases", "half-written", {"title": "x"}, {DISPATCHERS})
    raise RuntimeError("a bug in a handler")


def local_open(view: LocalView, args: Json) -> Sequence[LocalWrite]:
    if view.get("cases", args["id"]) is not None:
        raise CgtError("duplicate_id")
    data = {"title": args["title"], "grid": args["grid"], "state": "open", "notes": []}
    return [LocalWrite("cases", args["id"], data)]


def local_note(view: LocalView, args: Json) -> Sequence[LocalWrite]:
    current = view.get("cases", args["id"])
    if current is None:
        return []
    return [
        LocalWrite("cases", args["id"], {**current, "notes": [*current["notes"], args["note_id"]]})
    ]


def local_close(view: LocalView, args: Json) -> Sequence[LocalWrite]:
    current = view.get("cases", args["id"])
    return (
        [] if current is None else [LocalWrite("cases", args["id"], {**current, "state": "closed"})]
    )


def registry() -> Registry:
    reg = Registry()
    reg.register("open_case.v1", open_case, local=local_open, photos=lambda a: a.get("photos", []))
    reg.register("note_case.v1", note_case, local=local_note)
    reg.register("close_case.v1", close_case, local=local_close)
    reg.register("move_case.v1", move_case)
    reg.register("explode.v1", explode)
    return reg
