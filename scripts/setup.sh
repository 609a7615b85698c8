#!/usr/bin/env bash
# Create .venv and install the project into it; re-installs only when pyproject.toml changed.
# Usage: scripts/setup.sh [extra]   (extra: "dev" adds the test and benchmark tools)
set -euo pipefail
cd "$(dirname "$0")/.."
extra="${1:-}"
python="${PYTHON:-python3}"
"$python" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed")'
[ -x .venv/bin/python ] || "$python" -m venv .venv
stamp=".venv/.install-stamp${extra:+-$extra}"
wanted="$(sha256sum pyproject.toml | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e ".${extra:+[$extra]}"
  echo "$wanted" > "$stamp"
fi
