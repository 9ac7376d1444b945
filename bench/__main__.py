"""Run benchmarks: ``python -m bench intake|queue|sync|pushfloor|indicators|console|mobile|all``
(and ``searchqueue``: the SQLite search index's cost per case written).

``python -m bench`` alone (what ``make bench`` runs) runs ``all`` at the documented sizes.
Options after the command go to that benchmark; ``python -m bench queue --help`` lists them.
"""

from __future__ import annotations

import sys


def main(argv: list[str]) -> int:
    if argv[:1] in (["-h"], ["--help"]):  # the commands, not the first benchmark's options
        print(__doc__)
        return 0
    from . import console, indicators, intake, queue, sync

    command, rest = (argv[0], argv[1:]) if argv and not argv[0].startswith("-") else ("all", argv)
    if command == "intake":
        return intake.main(rest)
    if command == "queue":
        return queue.main(rest)
    if command == "indicators":
        return indicators.main(rest)
    if command == "console":
        return console.main(rest)
    if command == "mobile":  # the Kivy app under a display (bench/mobile.py)
        from . import mobile

        return mobile.main(rest)
    if command == "sync":
        return sync.main(rest)
    if command == "pushfloor":  # the push's in-process cost and its database floor
        from . import push_floor

        return push_floor.main(rest)
    if command == "searchqueue":  # the SQLite search index's cost per case written
        from . import search_queue

        return search_queue.main(rest)
    if command == "all":
        return (
            intake.main(rest)
            or queue.main(rest)
            or indicators.main(rest)
            or console.main(rest)
            or sync.main(rest)
        )
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
