"""Every SQL table of the system on one metadata: what Alembic migrates and what the schema test compares."""

from __future__ import annotations

from sqlmodel import SQLModel

import dispatch.accounts  # noqa: F401  (each import registers its tables)
import dispatch.events.tables  # noqa: F401
import dispatch.projections.tables  # noqa: F401

metadata = SQLModel.metadata
