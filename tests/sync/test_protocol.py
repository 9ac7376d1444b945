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
    RawJson,
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


# ---------------------------------------------------------------- the pull page's fast paths

_PAGE_CHANGES = (
    Change("cases", "c1", Op.UPSERT, 4, {"title": "井盖缺失", "n": [1, 2.5, None, True]}),
    Change("cases", 'q"\\\n\u2028id', Op.UPSERT, 5, RawJson('{"title": "\\u4e95\\u76d6"}')),
    Change("cases", "c3", Op.REMOVE, 9),
    Change("my_reports", "c4", Op.UPSERT, 1, RawJson('{"a":"路灯"}')),
)


@pytest.mark.parametrize(("has_more", "reset"), [(True, False), (False, True)])
def test_an_encoded_page_is_the_same_document_as_its_json(has_more: bool, reset: bool) -> None:
    page = PullPage(_PAGE_CHANGES, 'cur"sor/中', has_more, reset=reset)
    body = page.encode()
    assert json.loads(body) == page.to_json()
    back = PullPage.from_json(json.loads(body))
    assert back.changes[1].data == {"title": "井盖"}  # stored text, spliced, parsed
    assert [c.to_json() for c in back.changes] == [c.to_json() for c in page.changes]


def test_stored_text_that_is_not_an_object_is_refused_when_decoded() -> None:
    with pytest.raises(ProtocolError):
        Change("cases", "c1", Op.UPSERT, 1, RawJson("[1, 2]")).to_json()


def _page(*changes: object) -> dict[str, object]:
    return {"protocol": 1, "changes": list(changes), "cursor": "x", "has_more": False}


_GOOD = {"collection": "cases", "id": "c1", "op": "upsert", "version": 2, "data": {"a": 1}}


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        ({**_GOOD, "version": 0}, "changes[1].version"),
        ({**_GOOD, "version": True}, "changes[1].version"),
        ({**_GOOD, "version": "2"}, "changes[1].version"),
        ({**_GOOD, "data": [1, 2]}, "changes[1].data"),
        ({**_GOOD, "data": "{}"}, "changes[1].data"),
        ({**_GOOD, "data": None}, "changes[1].data"),
        ({**_GOOD, "op": "remove"}, "changes[1].data"),
        ({**_GOOD, "op": "patch"}, "changes[1].op"),
        ({**_GOOD, "id": 7}, "changes[1].id"),
        ({**_GOOD, "collection": None}, "changes[1].collection"),
        ("not a change", "changes[1]"),
        ({**_GOOD, "data": {1: "a"}}, "changes[1].data"),
    ],
)
def test_a_malformed_change_in_a_page_is_named(bad: object, field: str) -> None:
    with pytest.raises(ProtocolError) as caught:
        PullPage.from_json(_page(_GOOD, bad, _GOOD))
    assert field in caught.value.errors
    result = {"seq": 1, "status": "applied", "changes": [_GOOD, bad]}
    with pytest.raises(ProtocolError) as caught:
        PushResponse.from_json({"protocol": 1, "results": [result]})
    assert "results[0]." + field in caught.value.errors


def test_the_one_pass_check_accepts_what_from_json_accepts() -> None:
    class Key(str):
        pass

    odd = {**_GOOD, "data": {Key("k"): 1}, "extra": "ignored"}  # a str subclass key is a str
    page = PullPage.from_json(_page(_GOOD, odd, {**_GOOD, "op": "remove", "data": None}))
    assert [c.op for c in page.changes] == [Op.UPSERT, Op.UPSERT, Op.REMOVE]
    assert page.changes[1] == Change.from_json(odd)
