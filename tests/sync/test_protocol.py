"""The wire format: every envelope survives JSON and anything malformed is refused clearly."""

from __future__ import annotations

import json

import pytest

from sync.errors import ProtocolError
from sync.protocol import (
    Change,
    Mutation,
    MutationResult,
    Op,
    PullPage,
    PullRequest,
    PushRequest,
    PushResponse,
    Status,
)


def roundtrip(envelope: object) -> object:
    return json.loads(json.dumps(envelope.to_json()))  # type: ignore[attr-defined]


def test_envelopes_survive_json() -> None:
    m = Mutation("dev-1", 3, "report_case.v1", {"title": "井盖缺失"}, 2)
    push = PushRequest("dev-1", (m,))
    assert PushRequest.from_json(roundtrip(push)) == push
    change = Change("cases", "c1", Op.UPSERT, 4, {"title": "井盖缺失"})
    result = MutationResult(3, Status.APPLIED, result={"n": 1}, changes=(change,))
    response = PushResponse((result, MutationResult(4, Status.REFUSED, "wrong_state", "a", "乙")))
    assert PushResponse.from_json(roundtrip(response)) == response
    pull = PullRequest("dev-1", "abc", 50, ("cases", "toilets"))
    assert PullRequest.from_json(roundtrip(pull)) == pull
    page = PullPage((change, Change("cases", "c2", Op.REMOVE, 9)), "xyz", True, reset=True)
    assert PullPage.from_json(roundtrip(page)) == page


def test_an_old_client_is_told_to_update_in_both_languages() -> None:
    with pytest.raises(ProtocolError) as caught:
        PushRequest.from_json({"protocol": 0, "client_id": "d", "mutations": []})
    assert caught.value.code == "unsupported_protocol"
    assert caught.value.update_required and caught.value.status == 426
    assert "update" in caught.value.message and "更新" in caught.value.message_zh


@pytest.mark.parametrize(
    ("doc", "field"),
    [
        ({"protocol": 1, "client_id": "d", "mutations": {}}, "mutations"),
        ({"protocol": 1, "client_id": "a b", "mutations": []}, "client_id"),
        ({"protocol": "1", "client_id": "d", "mutations": []}, "protocol"),
        (
            {
                "protocol": 1,
                "client_id": "d",
                "mutations": [{"client_id": "d", "seq": 0, "name": "x.v1", "args": {}}],
            },
            "mutations[0].seq",
        ),
        (
            {
                "protocol": 1,
                "client_id": "d",
                "mutations": [{"client_id": "d", "seq": 1, "name": "report_case", "args": {}}],
            },
            "mutations[0].name",
        ),
        (
            {
                "protocol": 1,
                "client_id": "d",
                "mutations": [{"client_id": "other", "seq": 1, "name": "x.v1", "args": {}}],
            },
            "mutations[0].client_id",
        ),
        (
            {
                "protocol": 1,
                "client_id": "d",
                "mutations": [{"client_id": "d", "seq": True, "name": "x.v1", "args": {}}],
            },
            "mutations[0].seq",
        ),
    ],
)
def test_malformed_push_names_the_bad_field(doc: dict[str, object], field: str) -> None:
    with pytest.raises(ProtocolError) as caught:
        PushRequest.from_json(doc)
    assert field in caught.value.errors


def test_a_refusal_without_a_reason_is_malformed() -> None:
    with pytest.raises(ProtocolError):
        MutationResult.from_json({"seq": 1, "status": "refused"})


def test_pull_limit_is_capped_and_removals_carry_no_data() -> None:
    with pytest.raises(ProtocolError):
        PullRequest.from_json({"protocol": 1, "client_id": "d", "limit": 10_000})
    with pytest.raises(ProtocolError):
        Change.from_json({"collection": "c", "id": "1", "op": "remove", "version": 1, "data": {}})
    with pytest.raises(ProtocolError):
        Change.from_json({"collection": "c", "id": "1", "op": "patch", "version": 1})
