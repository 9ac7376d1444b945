"""The engine's server tests (tests/sync/test_server.py), run against the SQL store.

The ``world`` fixture of this folder puts the engine on ``server.sync_store`` over SQLite and
PostgreSQL, so every rule those tests check (exactly once, refusals, gaps, scoped paged
pulls, removals on lost access, own changes excluded, resync after pruning, a change
committing late not skipped) holds for the real store too; so do the deferred pushes
(tests/sync/test_deferred.py: the inbox, the applier, outcomes).
"""

from tests.sync.test_deferred import *  # noqa: F403
from tests.sync.test_server import *  # noqa: F403
