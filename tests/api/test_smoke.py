def test_openapi_served(client):
    resp = client.get("/api/openapi.json")
    assert resp.status_code == 200
    assert resp.json["info"]["title"].startswith("城管通")


def test_unknown_route_is_structured_404(client):
    resp = client.get("/api/nope")
    assert resp.status_code == 404
    assert set(resp.json) == {"code", "message", "message_zh", "errors"}
    assert resp.json["code"] == "not_found"
