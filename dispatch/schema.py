"""Every SQL table of the system on one metadata: what Alembic migrates and what the schema test compares."""

from __future__ import annotations

from sqlmodel import SQLModel

import dispatch.accounts
import dispatch.events.tables
import dispatch.lockout
import dispatch.projections.tables
import dispatch.read_access  # noqa: F401

metadata = SQLModel.metadata
