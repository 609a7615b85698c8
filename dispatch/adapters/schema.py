"""Every SQL table of the system on one metadata: what Alembic migrates and what the schema test compares.

Each module that declares tables is imported here, so the metadata is whole however the process was started
(a test that imported only the log would otherwise see the other tables as ones to drop).
"""

from __future__ import annotations

from sqlmodel import SQLModel

import dispatch.adapters.accounts
import dispatch.adapters.eventlog.tables
import dispatch.adapters.lockout
import dispatch.adapters.outbox_tables
import dispatch.adapters.read_access
import dispatch.adapters.read_models  # noqa: F401  (imported for the tables they declare)

metadata = SQLModel.metadata
