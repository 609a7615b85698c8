"""Every SQL table of the system on one metadata: what Alembic migrates and what the schema test compares."""

from __future__ import annotations

from sqlmodel import SQLModel

import dispatch.adapters.outbox_tables  # noqa: F401  (the outbox's and alerting's tables, on this metadata)

metadata = SQLModel.metadata
