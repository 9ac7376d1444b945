def test_openapi_served(client):
    resp = client.get("/api/openapi.json")
    assert resp.status_code == 200
    assert resp.json["info"]["title"].startswith("城管通")


def test_unknown_route_is_structured_404(client):
    resp = client.get("/api/nope")
    assert resp.status_code == 404
    assert set(resp.json) == {"code", "message", "message_zh", "errors"}
    assert resp.json["code"] == "not_found"


def test_openapi_documents_the_error_shape(client):
    """Clients generated from the document must read our errors, not flask-smorest's."""
    doc = client.get("/api/openapi.json").json
    error = doc["components"]["schemas"]["Error"]
    assert set(error["required"]) == {"code", "message", "message_zh", "errors"}
    assert error["properties"]["code"]["type"] == "string"


def test_openapi_bounds_are_numbers(client):
    """Decimal bounds once came out as strings ("100"): an invalid document (found by fuzzing)."""
    bounds = []

    def walk(node):
        if isinstance(node, dict):
            bounds.extend(v for k, v in node.items() if k in ("minimum", "maximum"))
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(client.get("/api/openapi.json").json)
    assert bounds and all(isinstance(b, int | float) for b in bounds), bounds
