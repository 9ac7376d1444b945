"""The offline-first sync engine of 城管通, framework-free.

One protocol (``protocol``), one mutation registry (``mutations``), and two thin
configurations of the engine: the server (``server``) and the device (``client``). Storage
and transport are passed in as arguments; ``stores`` holds the in-memory and SQLite adapters
and ``testkit`` the fixed clock and ids, a loopback pair and a fault-injecting transport.
The rules are written down in ``docs/sync-protocol.md``.
"""

from .protocol import PROTOCOL_VERSION

__all__ = ["PROTOCOL_VERSION"]
