"""Sync protocol version 1: the envelopes, their JSON form and their validation.

Every envelope has ``to_json()`` and a ``from_json()`` that rejects anything malformed with
a :class:`ProtocolError` (``bad_request``, or ``unsupported_protocol`` which tells the user
to update the app). The rules these envelopes obey are in ``docs/sync-protocol.md``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from .errors import ProtocolError

PROTOCOL_VERSION = 1
SUPPORTED_PROTOCOLS = frozenset({1})
MAX_PUSH = 100  # mutations per push request
MAX_DEFERRED = 1000  # mutations per deferred push request (``defer``: only received, rule D-2)
MAX_OUTCOMES = 1000  # mutation numbers per outcomes request (rule D-6)
MAX_PAGE = 500  # changes per pull page

_json_str = json.encoder.encode_basestring  # C: a str as a JSON string, non-ASCII kept
_DUMP_DATA = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _data_text(data: object) -> str:
    if data is None:
        return "null"
    return data if isinstance(data, RawJson) else _DUMP_DATA(data)


def _json_bool(value: bool) -> str:
    return "true" if value else "false"


_CLIENT_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
_MUTATION_NAME = re.compile(r"^[a-z][a-z0-9_]*\.v[1-9][0-9]*$")

Json = dict[str, Any]


class RawJson(str):
    """The JSON text of an object, already encoded: what a server's store holds for a record,
    handed to the page encoder as it is (``PullPage.encode`` splices it in) instead of being
    decoded into a dict and encoded again. Only a server makes these, from its own stored
    text; a device never trusts text it receives: it parses and validates every page."""

    __slots__ = ()

    def decoded(self) -> Json:
        value = json.loads(self)
        if not isinstance(value, dict):
            raise _bad("data", "must be an object")
        return value


class Status(StrEnum):
    APPLIED = "applied"
    DUPLICATE = "duplicate"
    REFUSED = "refused"
    RECEIVED = "received"  # deferred: durably in the server's inbox, applied later (D-2)


class Op(StrEnum):
    UPSERT = "upsert"
    REMOVE = "remove"


_STATUSES = {s.value: s for s in Status}  # a dict look-up: ``Status(text)`` is ~4 µs


# ---------------------------------------------------------------- validation helpers


def _bad(path: str, why: str) -> ProtocolError:
    return ProtocolError("bad_request", errors={path: why})


def _obj(value: object, path: str) -> Json:
    if not isinstance(value, dict) or not _str_keys(value):
        raise _bad(path, "must be an object")
    return value


_ONLY_STR = frozenset({str})


def _str_keys(value: dict[Any, Any]) -> bool:
    """Every key a string (always true of a parsed JSON object; checked at C speed)."""
    return set(map(type, value)) <= _ONLY_STR or all(isinstance(k, str) for k in value)


def _int(value: object, path: str, *, minimum: int = 0, optional: bool = False) -> int:
    if value is None and optional:
        return -1
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise _bad(path, f"must be an integer >= {minimum}")
    return value


def _str(value: object, path: str, pattern: re.Pattern[str] | None = None) -> str:
    if not isinstance(value, str) or (pattern is not None and not pattern.match(value)):
        raise _bad(path, "must be a string" + (f" matching {pattern.pattern}" if pattern else ""))
    return value


def _opt_str(value: object, path: str) -> str | None:
    return None if value is None else _str(value, path)


def _list(value: object, path: str, maximum: int) -> list[Any]:
    if not isinstance(value, list):
        raise _bad(path, "must be a list")
    if len(value) > maximum:
        raise _bad(path, f"at most {maximum} items")
    return value


def check_protocol(doc: Json) -> int:
    """Refuse an envelope whose protocol version this side does not speak."""
    version = doc.get("protocol")
    if isinstance(version, bool) or not isinstance(version, int):
        raise _bad("protocol", "must be an integer")
    if version not in SUPPORTED_PROTOCOLS:
        raise ProtocolError(
            "unsupported_protocol", version=version, supported=max(SUPPORTED_PROTOCOLS)
        )
    return version


# ---------------------------------------------------------------- push


@dataclass(frozen=True)
class Mutation:
    """One named, versioned action a device did, numbered per install."""

    client_id: str
    seq: int
    name: str
    args: Json
    base_version: int | None = None

    def to_json(self) -> Json:
        return {
            "client_id": self.client_id,
            "seq": self.seq,
            "name": self.name,
            "args": self.args,
            "base_version": self.base_version,
        }

    @classmethod
    def from_json(cls, doc: object, path: str = "mutation") -> Mutation:
        d = _obj(doc, path)
        base = _int(d.get("base_version"), f"{path}.base_version", optional=True)
        return cls(
            client_id=_str(d.get("client_id"), f"{path}.client_id", _CLIENT_ID),
            seq=_int(d.get("seq"), f"{path}.seq", minimum=1),
            name=_str(d.get("name"), f"{path}.name", _MUTATION_NAME),
            args=_obj(d.get("args"), f"{path}.args"),
            base_version=None if base < 0 else base,
        )


@dataclass(frozen=True)
class PushRequest:
    client_id: str
    mutations: tuple[Mutation, ...]
    protocol: int = PROTOCOL_VERSION
    # The device takes ``received`` for an answer: the server may only store the mutations
    # in its inbox and apply them right behind (rules D-1 … D-9)
    defer: bool = False

    def to_json(self) -> Json:
        doc: Json = {
            "protocol": self.protocol,
            "client_id": self.client_id,
            "mutations": [m.to_json() for m in self.mutations],
        }
        if self.defer:
            doc["defer"] = True
        return doc

    @classmethod
    def from_json(cls, doc: object) -> PushRequest:
        d = _obj(doc, "push")
        protocol = check_protocol(d)
        client_id = _str(d.get("client_id"), "client_id", _CLIENT_ID)
        defer = d.get("defer", False)
        if not isinstance(defer, bool):
            raise _bad("defer", "must be a boolean")
        items = _list(d.get("mutations"), "mutations", MAX_DEFERRED if defer else MAX_PUSH)
        mutations = tuple(Mutation.from_json(m, f"mutations[{i}]") for i, m in enumerate(items))
        for i, m in enumerate(mutations):
            if m.client_id != client_id:
                raise _bad(f"mutations[{i}].client_id", "must equal the request's client_id")
        return cls(client_id=client_id, mutations=mutations, protocol=protocol, defer=defer)


@dataclass(frozen=True)
class OutcomesRequest:
    """The device asks what became of mutations the server had ``received`` (rule D-6)."""

    client_id: str
    seqs: tuple[int, ...]
    protocol: int = PROTOCOL_VERSION

    def to_json(self) -> Json:
        return {"protocol": self.protocol, "client_id": self.client_id, "seqs": list(self.seqs)}

    @classmethod
    def from_json(cls, doc: object) -> OutcomesRequest:
        d = _obj(doc, "outcomes")
        protocol = check_protocol(d)
        client_id = _str(d.get("client_id"), "client_id", _CLIENT_ID)
        items = _list(d.get("seqs"), "seqs", MAX_OUTCOMES)
        seqs = tuple(_int(s, f"seqs[{i}]", minimum=1) for i, s in enumerate(items))
        return cls(client_id=client_id, seqs=seqs, protocol=protocol)


@dataclass(frozen=True)
class Change:
    """One record as a device should now hold it: upserted with ``data``, or removed.

    On a server, ``data`` may be the record's stored text (``RawJson``, a ``str``) that the
    page encoder splices in; ``to_json`` decodes it. A parsed change always holds a dict."""

    collection: str
    id: str
    op: Op
    version: int
    data: Json | None = None

    def to_json(self) -> Json:
        data = self.data.decoded() if isinstance(self.data, RawJson) else self.data
        return {
            "collection": self.collection,
            "id": self.id,
            "op": self.op.value,
            "version": self.version,
            "data": data,
        }

    @classmethod
    def from_json(cls, doc: object, path: str = "change") -> Change:
        d = _obj(doc, path)
        op_text = _str(d.get("op"), f"{path}.op")
        if op_text not in {o.value for o in Op}:
            raise _bad(f"{path}.op", "must be upsert or remove")
        op = Op(op_text)
        data = d.get("data")
        if op is Op.UPSERT:
            data = _obj(data, f"{path}.data")
        elif data is not None:
            raise _bad(f"{path}.data", "must be null for a removal")
        return cls(
            collection=_str(d.get("collection"), f"{path}.collection"),
            id=_str(d.get("id"), f"{path}.id"),
            op=op,
            version=_int(d.get("version"), f"{path}.version", minimum=1),
            data=data,
        )


def changes_from_json(items: list[Any], path: str) -> tuple[Change, ...]:
    """Validate a list of changes in one pass: a well-formed change is checked inline, with
    no error path built; anything else goes through ``Change.from_json``, which refuses it
    naming ``<path>[i].<field>`` (or accepts what only the inline check was too strict for).
    """
    out: list[Change] = []
    for c in items:
        if type(c) is dict:
            collection, id, op = c.get("collection"), c.get("id"), c.get("op")
            version, data = c.get("version"), c.get("data")
            if (
                type(collection) is str
                and type(id) is str
                and type(version) is int
                and version >= 1
                and (
                    (op == "upsert" and type(data) is dict and _str_keys(data))
                    or (op == "remove" and data is None)
                )
            ):
                out.append(
                    Change(collection, id, Op.UPSERT if data is not None else Op.REMOVE,
                           version, data)
                )  # fmt: skip
                continue
        out.append(Change.from_json(c, f"{path}[{len(out)}]"))
    return tuple(out)


@dataclass(frozen=True)
class MutationResult:
    """The server's answer for one mutation; ``changes`` echo what it wrote, for this device."""

    seq: int
    status: Status
    code: str | None = None
    message: str | None = None
    message_zh: str | None = None
    result: Json = field(default_factory=dict)
    changes: tuple[Change, ...] = ()

    def to_json(self) -> Json:
        if self.status is Status.RECEIVED and not (self.code or self.result or self.changes):
            return {"seq": self.seq, "status": "received"}  # the rest is empty (rule D-2)
        return {
            "seq": self.seq,
            "status": self.status.value,
            "code": self.code,
            "message": self.message,
            "message_zh": self.message_zh,
            "result": self.result,
            "changes": [c.to_json() for c in self.changes],
        }

    @classmethod
    def from_json(cls, doc: object, path: str = "result") -> MutationResult:
        d = _obj(doc, path)
        raw = d.get("status")
        status = _STATUSES.get(raw) if isinstance(raw, str) else None
        if status is None:
            _str(raw, f"{path}.status")
            raise _bad(f"{path}.status", "must be applied, duplicate, refused or received")
        code = _opt_str(d.get("code"), f"{path}.code")
        if status is Status.REFUSED and not code:
            raise _bad(f"{path}.code", "a refusal must carry a reason code")
        items = _list(d.get("changes", []), f"{path}.changes", 10 * MAX_PAGE)
        return cls(
            seq=_int(d.get("seq"), f"{path}.seq", minimum=1),
            status=status,
            code=code,
            message=_opt_str(d.get("message"), f"{path}.message"),
            message_zh=_opt_str(d.get("message_zh"), f"{path}.message_zh"),
            result=_obj(d.get("result", {}), f"{path}.result"),
            changes=changes_from_json(items, f"{path}.changes"),
        )


def _plain_received(r: object) -> bool:
    """``{"seq": n, "status": "received"}`` and nothing else but empty fields: checked
    inline (a deferred push answers 1,000 of them); anything else takes the full check."""
    if type(r) is not dict or r.get("status") != "received":
        return False
    seq = r.get("seq")
    return (
        type(seq) is int
        and seq >= 1
        and r.get("code") is None
        and r.get("message") is None
        and r.get("message_zh") is None
        and not r.get("result")
        and not r.get("changes")
        and type(r.get("result", {})) is dict
        and type(r.get("changes", [])) is list
    )


@dataclass(frozen=True)
class PushResponse:
    results: tuple[MutationResult, ...]
    protocol: int = PROTOCOL_VERSION

    def to_json(self) -> Json:
        return {"protocol": self.protocol, "results": [r.to_json() for r in self.results]}

    @classmethod
    def from_json(cls, doc: object) -> PushResponse:
        d = _obj(doc, "push_response")
        protocol = check_protocol(d)
        items = _list(d.get("results"), "results", max(MAX_DEFERRED, MAX_OUTCOMES))
        results = tuple(
            MutationResult(r["seq"], Status.RECEIVED)
            if _plain_received(r)
            else MutationResult.from_json(r, f"results[{i}]")
            for i, r in enumerate(items)
        )
        return cls(results=results, protocol=protocol)


# ---------------------------------------------------------------- pull


@dataclass(frozen=True)
class PullRequest:
    client_id: str
    cursor: str = ""  # opaque; "" means "from the beginning"
    limit: int = 100
    scope: tuple[str, ...] = ()  # collections wanted; () means all the user may see
    protocol: int = PROTOCOL_VERSION

    def to_json(self) -> Json:
        return {
            "protocol": self.protocol,
            "client_id": self.client_id,
            "cursor": self.cursor,
            "limit": self.limit,
            "scope": list(self.scope),
        }

    @classmethod
    def from_json(cls, doc: object) -> PullRequest:
        d = _obj(doc, "pull")
        protocol = check_protocol(d)
        limit = _int(d.get("limit", 100), "limit", minimum=1)
        if limit > MAX_PAGE:
            raise _bad("limit", f"at most {MAX_PAGE}")
        scope = _list(d.get("scope", []), "scope", 100)
        return cls(
            client_id=_str(d.get("client_id"), "client_id", _CLIENT_ID),
            cursor=_str(d.get("cursor", ""), "cursor"),
            limit=limit,
            scope=tuple(sorted({_str(s, "scope[]") for s in scope})),
            protocol=protocol,
        )


@dataclass(frozen=True)
class PullPage:
    changes: tuple[Change, ...]
    cursor: str
    has_more: bool
    reset: bool = False  # drop every local copy first (full resync); the outbox is kept
    protocol: int = PROTOCOL_VERSION

    def to_json(self) -> Json:
        return {
            "protocol": self.protocol,
            "changes": [c.to_json() for c in self.changes],
            "cursor": self.cursor,
            "has_more": self.has_more,
            "reset": self.reset,
        }

    def encode(self) -> bytes:
        """The page as its JSON body (UTF-8), the same document as ``to_json`` gives, built
        in one pass: a record's stored text (``RawJson``) is spliced in as it is, other data
        is encoded once. This is what a server sends (a 500-record page would otherwise be
        decoded from the store and encoded again)."""
        s = _json_str
        parts = [
            f'{{"collection":{s(c.collection)},"id":{s(c.id)},"op":"{c.op.value}",'
            f'"version":{int(c.version)},"data":{_data_text(c.data)}}}'
            for c in self.changes
        ]
        return (
            f'{{"protocol":{int(self.protocol)},"changes":[{",".join(parts)}],'
            f'"cursor":{s(self.cursor)},"has_more":{_json_bool(self.has_more)},'
            f'"reset":{_json_bool(self.reset)}}}'
        ).encode()

    @classmethod
    def from_json(cls, doc: object) -> PullPage:
        d = _obj(doc, "page")
        protocol = check_protocol(d)
        items = _list(d.get("changes"), "changes", MAX_PAGE)
        has_more, reset = d.get("has_more"), d.get("reset", False)
        if not isinstance(has_more, bool) or not isinstance(reset, bool):
            raise _bad("has_more", "has_more and reset must be booleans")
        return cls(
            changes=changes_from_json(items, "changes"),
            cursor=_str(d.get("cursor"), "cursor"),
            has_more=has_more,
            reset=reset,
            protocol=protocol,
        )
