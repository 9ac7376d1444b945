"""The phone's store survives the app being killed at any instant (SIGKILL, real process)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from sync.client_store import EntryStatus
from sync.stores.sqlite_client import MIGRATIONS, SqliteClientStore

ROOT = Path(__file__).resolve().parents[2]


def run_and_kill(path: Path, rng: random.Random) -> list[str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.sync.killed_writer", str(path)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.stdout is not None
    lines = [proc.stdout.readline().strip() for _ in range(rng.randint(2, 40))]
    time.sleep(rng.uniform(0, 0.05))
    proc.send_signal(signal.SIGKILL)
    with proc.stdout:
        rest = proc.stdout.read()
    proc.wait()
    return lines + rest.split()


def test_store_invariants_hold_after_sigkill_at_random_points(tmp_path: Path) -> None:
    path = tmp_path / "device.sqlite3"
    rng = random.Random(20261116)
    promised_seq = promised_page = 0
    for _ in range(6):
        out = run_and_kill(path, rng)
        for word, number in zip(out[::2], out[1::2], strict=False):
            if word == "seq":
                promised_seq = max(promised_seq, int(number))
            elif word == "page" and number.isdigit():
                promised_page = max(promised_page, int(number))
        store = SqliteClientStore(path)
        assert store.schema_version() == len(MIGRATIONS)
        assert store.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        with store.transaction() as tx:
            next_seq = int(tx.get_meta("next_seq") or "1")
            seqs = [e.seq for e in tx.outbox(EntryStatus.WAITING, 10**9)]
            cursor = int(tx.get_meta("cursor") or "0")
            pages = {r.data["page"] for r in tx.records("pages") if r.data}
            per_page = [r.data["page"] for r in tx.records("pages") if r.data]
            overlays = {o.seq for o in [tx.latest_overlay("cases", "c")] if o}
        store.close()
        # every promised mutation is there, numbered without gaps, and the counter moved with it
        assert seqs == list(range(1, next_seq)) and next_seq - 1 >= promised_seq
        # a page is there exactly when its cursor is: never one without the other
        assert pages == set(range(1, cursor + 1)) and cursor >= promised_page
        assert all(per_page.count(p) == 2 for p in pages)
        assert overlays <= set(seqs)
    assert promised_seq > 0
