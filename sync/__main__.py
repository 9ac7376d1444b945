"""``python -m sync``: placeholder for the command line that will play a device over HTTP."""

from __future__ import annotations

import sys

from .protocol import PROTOCOL_VERSION

HELP = f"""城管通 sync engine (protocol v{PROTOCOL_VERSION})

usage: python -m sync [--help | --version]

The command that plays an inspector's device against a server over HTTP is not built yet.
The protocol is described in docs/sync-protocol.md; the test kit is sync.testkit.
"""


def main(argv: list[str]) -> int:
    if argv[:1] == ["--version"]:
        print(PROTOCOL_VERSION)
        return 0
    print(HELP)
    return 0 if not argv or argv[0] in ("-h", "--help") else 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
