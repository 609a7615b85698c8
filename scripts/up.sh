#!/usr/bin/env bash
# Set up on first use, then run the whole system (SQLite log, embedded Redis, API + pages, projector, worker).
# Any arguments go to `dispatch up`, e.g. scripts/up.sh --port 9000 --data-dir /srv/dispatch
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/dispatch up "$@"
