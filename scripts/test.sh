#!/usr/bin/env bash
# Set up on first use, then run every test: unit, SQLite and PostgreSQL integration, Redis, processes, pages.
# Needs the PostgreSQL (127.0.0.1:5432, database "test") and Redis (127.0.0.1:6379) servers described in
# the README. Any arguments go to pytest, e.g. scripts/test.sh tests/unit -x
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh dev
# The page tests drive Debian's Chromium (Playwright cannot download its own browser here), with a Thai
# font so the screenshots show Thai rather than boxes. Installed once, when running as root.
if [ "$(id -u)" = 0 ] && { [ ! -x /usr/bin/chromium ] || ! fc-list :lang=th 2>/dev/null | grep -q .; }; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq chromium fonts-thai-tlwg >/dev/null
fi
exec .venv/bin/python -m pytest "$@"
