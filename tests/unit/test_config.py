"""Layered configuration: defaults, then environment, then what tests pass in."""

from server import create_app


def test_defaults_apply_and_the_environment_overrides(monkeypatch, tmp_path):
    url = f"sqlite:///{tmp_path / 'c.sqlite3'}"
    monkeypatch.delenv("CGT_SECRET_KEY", raising=False)
    app = create_app({"DATABASE_URL": url})
    assert app.config["SECRET_KEY"] == "dev-only-secret"  # the documented default, not None
    monkeypatch.setenv("CGT_SECRET_KEY", "from-env")
    monkeypatch.setenv("CGT_REOPEN_WINDOW_DAYS", "3")
    app = create_app({"DATABASE_URL": url})
    assert app.config["SECRET_KEY"] == "from-env"
    assert app.config["REOPEN_WINDOW_DAYS"] == 3
    assert create_app({"DATABASE_URL": url, "SECRET_KEY": "t"}).config["SECRET_KEY"] == "t"
