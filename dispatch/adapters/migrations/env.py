"""Alembic environment: migrates the connection handed in by dispatch.adapters.migrations.runner."""

from __future__ import annotations

from alembic import context

from dispatch.adapters.schema import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
