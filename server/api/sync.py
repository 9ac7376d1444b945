"""Offline sync over HTTP (docs/sync-protocol.md): push mutations, pull changes 同步.

The views only parse the envelope, build the Peer from the signed-in actor and call the
engine; protocol errors keep their statuses (400, 403, 426 "please update the app") and a
failure of the store itself answers 503 so the device retries. Every body is JSON in the
protocol's own shape, errors in the app's one shape.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, current_app, g, jsonify, request
from flask.views import MethodView
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from shared_models.enums import Role
from sync import jsoncodec
from sync.errors import SyncError
from sync.protocol import OutcomesRequest, PullRequest, PushRequest
from sync.server import SyncServer
from sync.server import pull as sync_pull
from sync.server_store import Peer

from ..db import database, session
from ..models import GridCell
from ..services.actor import Actor
from ..sync_applier import InboxApplier, peer_of
from ..sync_handlers import Caller, registry
from ..sync_publish import DISPATCHERS, PUBLIC, PublishQueue, install
from ..sync_store import SqlServerStore
from .blueprint import Blueprint
from .context import case_ctx
from .errors import error_body
from .security import current_actor, requires

blp = Blueprint("sync", __name__, url_prefix="/api/sync", description="Offline sync 同步")
_ENVELOPE = {"content": {"application/json": {"schema": {"type": "object"}}}}


def audiences(actor: Actor, s: Session | None = None) -> frozenset[str]:
    """The audience tags of a user: what their phone may pull (rule L-3); read in ``s``, by
    default the request's session."""
    tags = {f"user:{actor.id}", PUBLIC}
    if actor.role in (Role.DISPATCHER, Role.ADMIN):
        tags.add(DISPATCHERS)
    elif actor.role is Role.HANDLER and actor.department_id is not None:
        tags.add(f"dept:{actor.department_id}")
    elif actor.role is Role.INSPECTOR:
        grids = (s or session()).scalars(
            select(GridCell.code).where(GridCell.inspector_id == actor.id)
        )
        tags.update(f"grid:{code}" for code in grids)
    return frozenset(tags)


def peer() -> Peer:
    actor = current_actor()
    return Peer(f"user:{actor.id}", audiences(actor), Caller(actor, case_ctx()))


def engine() -> SyncServer:
    return current_app.extensions["cgt_sync"]  # type: ignore[no-any-return]


def _body() -> Any:
    """The request's JSON (orjson where installed: a deferred push is ~300 KB); a body that
    is not JSON is None, which the envelope's validation refuses (400)."""
    try:
        return jsoncodec.loads(request.get_data(cache=False))
    except ValueError:
        return None


def _answer(doc: dict[str, Any]) -> Response:
    return Response(jsoncodec.dumps(doc), mimetype="application/json")


@blp.route("/push")
class Push(MethodView):
    @requires()
    @blp.doc(requestBody=_ENVELOPE)
    @blp.response(200)
    def post(self) -> Response:
        """Send waiting mutations; each is applied once, refused with a reason, or left waiting

        The answer lists a result per mutation in seq order (applied, duplicate or refused);
        mutations without a result are still waiting and must be sent again (rule P-5).
        With ``"defer": true`` (up to 1,000 mutations) new mutations are only stored in the
        server's inbox and answered ``received``; their outcomes come from
        ``/api/sync/outcomes`` once the server has applied them (rules D-1 … D-9).
        """
        push = PushRequest.from_json(_body())
        return _answer(engine().push(push, peer()).to_json())


@blp.route("/outcomes")
class Outcomes(MethodView):
    @requires()
    @blp.doc(requestBody=_ENVELOPE)
    @blp.response(200)
    def post(self) -> Response:
        """What became of mutations this device's deferred pushes left in the inbox

        Only the caller's own client id (403 otherwise): per asked seq the receipt's answer
        (applied with its changes, or refused with the reason), ``received`` while it still
        waits, or no result when the server does not hold it (the device sends it again).
        """
        asked = OutcomesRequest.from_json(_body())
        return _answer(engine().outcomes(asked, peer()).to_json())


@blp.route("/pull")
class Pull(MethodView):
    @requires()
    @blp.doc(requestBody=_ENVELOPE)
    @blp.response(200)
    def post(self) -> Response:
        """One page of what changed for this user after the cursor (scoped, incremental)"""
        pull = PullRequest.from_json(_body())
        who = peer()
        publish_queue().before_pull(session())  # reports answered before this pull (L-2a)
        # In the request's own session, which read the token and the user's grid: one
        # connection and one transaction per pull (a pull only reads). The page is encoded
        # in one pass, each record's stored JSON text spliced in as it is.
        page = sync_pull(SqlServerStore(session), pull, who)
        return Response(page.encode(), mimetype="application/json")


@blp.before_request
def _applier_runs() -> None:
    """This process's inbox applier runs (a restarted process finds rows left behind), and
    pauses before its next batch while a push comes in."""
    applier = current_app.extensions.get("cgt_sync_applier")
    if applier is not None:
        applier.ensure_started()
        if request.endpoint == f"{blp.name}.Push":
            applier.arriving()  # before the sign-in's and the push's writes wait for a lock


@blp.before_request
def _pull_without_a_transaction() -> None:
    """On PostgreSQL a pull's reads (the token, the user's grid cells, the marks, the
    changes) run in autocommit: under READ COMMITTED each statement sees its own snapshot
    inside a transaction as well, so ``BEGIN`` and ``COMMIT`` would be two round trips to
    the database for nothing. The high-water mark is still read before the changes (C-3)."""
    if request.endpoint != f"{blp.name}.Pull" or "db_session" in g:
        return
    db = database()
    if db.engine.dialect.name == "postgresql":
        g.db_session = db.factory(bind=_autocommit(db.engine))


def _autocommit(engine: Engine) -> Engine:
    options = current_app.extensions.setdefault("cgt_autocommit", {})
    if engine not in options:
        options[engine] = engine.execution_options(isolation_level="AUTOCOMMIT")
    return options[engine]  # type: ignore[no-any-return]


@blp.errorhandler(SyncError)
def _store_failed(error: SyncError) -> Response:
    current_app.logger.warning("sync store failed: %s", error)
    resp = jsonify(error_body("internal_error"))
    resp.status_code = 503
    resp.headers["Retry-After"] = "5"
    return resp


def init_app(app: Flask) -> None:
    """Bind the engine to the app's database and publish every write path's changes."""
    db = database(app)
    install(db.factory, app.config["CLOCK"])
    store = SqlServerStore(db.factory)
    server = SyncServer(
        store, registry(), lambda: app.config["CLOCK"](), lambda key: peer_of(app, key)
    )
    queue = PublishQueue(db.factory, lambda: app.config["CLOCK"]())
    enabled = bool(app.config.get("SYNC_INBOX_APPLIER", True))
    applier = InboxApplier(
        app, server, enabled, publish=lambda pause, batch: queue.drain(False, pause, batch=batch)
    )
    server.on_received = applier.received
    app.extensions["cgt_sync"] = server
    app.extensions["cgt_sync_applier"] = applier
    app.extensions["cgt_publish_queue"] = queue


def publish_queue() -> PublishQueue:
    """The app's publisher of the REST intake's queue (``sync_publish.queue_new``)."""
    return current_app.extensions["cgt_publish_queue"]  # type: ignore[no-any-return]


def report_queued() -> None:
    """A REST report committed with its row in the publish queue: this process's sync
    applier publishes it behind the answer, with the reports that follow (rule L-2a)."""
    current_app.extensions["cgt_sync_applier"].reported()
