"""Every SQL table of the system on one metadata: what Alembic migrates and what the schema test compares."""

from __future__ import annotations

from sqlmodel import SQLModel

metadata = SQLModel.metadata
