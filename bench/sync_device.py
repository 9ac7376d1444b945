"""``python -m bench.sync_device BASE TOKEN FOLDER [--tracemalloc]``: one phone's first pull.

The device side alone in its own process — the sync client, ``requests`` and the SQLite
store; no Flask, no SQLAlchemy — so its memory can be measured honestly: it prints, as one
JSON line, how many records it holds, the seconds, the resident set after the imports and
its peak (``VmHWM`` from ``/proc/self/status``, which includes SQLite's own allocations),
the modules loaded, and with ``--tracemalloc`` the peak of Python's allocations.
"""

from __future__ import annotations

import json
import sys
import time
import tracemalloc
import uuid
from datetime import UTC, datetime
from pathlib import Path

from sync.case_mutations import registry
from sync.client import SyncClient
from sync.http import HttpTransport
from sync.protocol import MAX_PAGE
from sync.stores.sqlite_client import SqliteClientStore


def _status_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise KeyError(field)


def main(argv: list[str]) -> int:
    base, token, folder = argv[0], argv[1], Path(argv[2])
    traced = "--tracemalloc" in argv
    store = SqliteClientStore(folder / f"memory-{uuid.uuid4().hex[:8]}.sqlite3")
    device = SyncClient(
        store,
        HttpTransport(base, token),
        registry(),
        lambda: datetime.now(UTC),
        lambda: str(uuid.uuid4()),
        page_limit=MAX_PAGE,
        prefetch=True,
    )
    rss_base = _status_mb("VmRSS")
    if traced:
        tracemalloc.start()
    t0 = time.perf_counter()
    outcome = device.sync()
    seconds = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1] / 2**20 if traced else None
    if traced:
        tracemalloc.stop()
    assert outcome.ok, outcome
    rss_peak = _status_mb("VmHWM")  # before counting, which reads nothing into memory anyway
    held = store.db.execute(
        "SELECT count(*) FROM records WHERE collection = 'my_reports' AND data IS NOT NULL"
    ).fetchone()[0]
    store.close()

    print(
        json.dumps(
            {
                "held": held,
                "seconds": round(seconds, 2),
                "rss_base_mb": round(rss_base, 1),
                "rss_peak_mb": round(rss_peak, 1),
                "tracemalloc_peak_mb": None if peak is None else round(peak, 1),
                "modules": len(sys.modules),
                "flask_loaded": "flask" in sys.modules,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
