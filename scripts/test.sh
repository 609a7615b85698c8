#!/usr/bin/env bash
# Set up on first use, then run every test: unit, SQLite and PostgreSQL integration, Redis, processes.
# Needs the PostgreSQL (127.0.0.1:5432, database "test") and Redis (127.0.0.1:6379) servers described in
# the README. Any arguments go to pytest, e.g. scripts/test.sh tests/unit -x
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh dev
exec .venv/bin/python -m pytest "$@"
