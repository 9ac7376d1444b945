"""The engine imports no web framework, UI toolkit, HTTP client or database driver."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = [
    "flask",
    "kivy",
    "requests",
    "sqlalchemy",
    "psycopg",
    "httpx",
    "urllib3",
    "marshmallow",
]
MODULES = [
    "sync",
    "sync.protocol",
    "sync.jsoncodec",
    "sync.mutations",
    "sync.server",
    "sync.server_store",
    "sync.client",
    "sync.client_store",
    "sync.schedule",
    "sync.photos",
    "sync.testkit",
    "sync.stores.memory",
    "sync.stores.sqlite_client",
    "sync.__main__",
    "sync.case_mutations",
]
ADAPTERS = {"sync.http": {"requests", "urllib3"}}  # the device's HTTP adapter, and only it


def test_sync_imports_no_framework() -> None:
    code = (
        "import importlib, json, sys\n"
        f"for m in {MODULES!r}: importlib.import_module(m)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    loaded = json.loads(out.stdout)
    bad = [m for m in loaded if m.split(".")[0] in FORBIDDEN]
    assert bad == []
    core = [m for m in MODULES if m != "sync.stores.sqlite_client"]
    out = subprocess.run(
        [sys.executable, "-c", code.replace(repr(MODULES), repr(core))],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "sqlite3" not in json.loads(out.stdout)


def test_the_http_adapter_imports_only_its_http_client() -> None:
    for module, allowed in ADAPTERS.items():
        code = f"import importlib, json, sys; importlib.import_module({module!r}); "
        code += "print(json.dumps(sorted(sys.modules)))"
        out = subprocess.run(
            [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
        )
        loaded = {m.split(".")[0] for m in json.loads(out.stdout)}
        assert loaded & set(FORBIDDEN) == allowed


def test_cli_prints_help() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "sync", "--help"], cwd=ROOT, capture_output=True, text=True
    )
    assert out.returncode == 0 and "docs/sync-protocol.md" in out.stdout
    bad = subprocess.run([sys.executable, "-m", "sync", "nope"], cwd=ROOT, capture_output=True)
    assert bad.returncode == 2
