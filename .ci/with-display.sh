#!/usr/bin/env bash
# Run a command with an X display: the current one, else a throwaway Xvfb (Kivy UI tests).
set -euo pipefail
if [ -z "${DISPLAY:-}" ] && command -v xvfb-run >/dev/null; then
    exec xvfb-run -a -s "-screen 0 1280x800x24" "$@"
fi
exec "$@"
