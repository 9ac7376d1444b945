"""Which indexes of the sync tables does the app read? ``pg_stat_user_indexes`` around a
workload of the real app on a generated scope.

    python -m bench.index_usage [--rows 200000] [--push 500] [--gin]

PostgreSQL only. Fills a scratch database (the demo city, then ``rows`` device-facing records
with their change log and scope index, ``bench.sync_gen``: half staff copies of cases over 500
grid cells and 40 departments with two versions each, half reporters' copies of 50,000
citizens), then drives the app in-process: a citizen pushes ``push`` reports, the dispatcher,
an inspector, a department's handler and a citizen pull from the start and again from their
cursor, the pushing citizen pulls from 0, then ``cgt sync-publish`` and ``cgt sync-prune``.
Prints the index scans each index of the sync tables had during the workload. ``--gin``
first builds the GIN indexes on the audience arrays that migration ``a3d5c7e9f1b2`` dropped.
Results are in docs/operations.md ("Sync indexes").
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import create_engine, text

from . import intake, sync_gen
from .audience_index import GIN
from .common import scratch_db
from .sync import in_process_pushes

SCANS = """
SELECT relname || '.' || indexrelname, idx_scan FROM pg_stat_user_indexes
WHERE relname LIKE 'sync_%' ORDER BY 1
"""


def scans(url: str) -> dict[str, int]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_stat_force_next_flush()"))  # this backend's counts
            return {name: n for name, n in conn.execute(text(SCANS))}
    finally:
        engine.dispose()


def pull_all(
    client: Any, auth: dict[str, str], client_id: str, cursor: str = ""
) -> tuple[int, str]:
    from sync.protocol import PullRequest

    n = 0
    while True:
        body = PullRequest(client_id, cursor, 500).to_json()
        page = client.post("/api/sync/pull", json=body, headers=auth)
        assert page.status_code == 200, page.json
        n += len(page.json["changes"])
        cursor = page.json["cursor"]
        if not page.json["has_more"]:
            return n, cursor


def sign_in(client: Any, who: str) -> dict[str, str]:
    from server.services.demo import DEMO_PASSWORD

    if who.isdigit():
        client.post("/api/auth/otp", json={"phone": who})
        body = {"phone": who, "code": intake.OTP_CODE, "device_id": f"usage-{who}"}
        resp = client.post("/api/auth/otp/verify", json=body)
    else:
        body = {"username": who, "password": DEMO_PASSWORD, "device_id": f"usage-{who}"}
        resp = client.post("/api/auth/login", json=body)
    assert resp.status_code == 200, resp.json
    return {"Authorization": f"Bearer {resp.json['access_token']}"}


def fill(url: str, rows: int, gin: bool) -> None:
    engine = create_engine(url)
    now, half = datetime.now(UTC), rows // 2
    staff = ["role:dispatcher", "grid:{}", "dept:{}"]
    sync_gen.append(
        engine, half, collection="cases", now=now, versions=2,
        audience=lambda i: [staff[0], staff[1].format(i % 500), staff[2].format(i % 40)],
        data=lambda i, rid: {"id": rid, "state": "reported"},
    )  # fmt: skip
    sync_gen.append(
        engine, rows - half, collection="my_reports", now=now, seed=2,
        audience=lambda i: [f"user:{i % 50_000}"],
        data=lambda i, rid: {"id": rid, "state": "reported"},
    )  # fmt: skip
    if gin:
        with engine.begin() as conn:
            for statement in GIN:
                conn.execute(text(statement))
    sync_gen.analyze(engine)
    engine.dispose()


def main(argv: list[str]) -> int:
    from server import shutdown

    p = argparse.ArgumentParser(prog="python -m bench.index_usage", description=__doc__)
    p.add_argument("--rows", type=int, default=200_000)
    p.add_argument("--push", type=int, default=500)
    p.add_argument("--gin", action="store_true", help="build the dropped GIN indexes first")
    args = p.parse_args(argv)
    with scratch_db("postgresql", "cgt_bench_index_usage") as url:
        intake.setup_database(url)
        fill(url, args.rows, args.gin)
        before = scans(url)
        client, auth, batches = in_process_pushes(url, args.push, 7)
        try:
            workload(client, auth, batches)
        finally:
            shutdown(client.application)
        after = scans(url)
        print(f"\nindex scans during the workload ({args.rows} generated records):")
        for name, n in after.items():
            print(f"  {name}: {n - before.get(name, 0)}")
    return 0


def workload(client: Any, auth: dict[str, str], batches: list[Any]) -> None:
    """Pushes, every role's pulls, publish and prune, through the app."""
    from server.services.demo import CITIZEN_PHONES

    for body in batches:
        assert client.post("/api/sync/push", json=body, headers=auth).status_code == 200
    for who in ("dispatcher1", "inspector1", "handler_sanitation", CITIZEN_PHONES[0]):
        headers = sign_in(client, who)
        first, cursor = pull_all(client, headers, f"usage-{who}")
        then, _ = pull_all(client, headers, f"usage-{who}", cursor)
        print(f"{who}: first pull {first} changes, then {then}")
    print(f"the pushing citizen from 0: {pull_all(client, auth, 'usage-again')[0]} changes")
    runner = client.application.test_cli_runner()
    for command in (["sync-publish"], ["sync-prune", "--days", "0.00001"]):
        print(runner.invoke(args=["cgt", *command]).output.strip())


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
