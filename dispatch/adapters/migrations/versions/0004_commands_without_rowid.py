"""SQLite: the commands table becomes WITHOUT ROWID, one b-tree instead of a table plus an index on its
random key, so each idempotent append writes less to the WAL before its fsync (bench/event_store.py).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_COLUMNS = "command_id, first_position, last_position, fingerprint, recorded_at"


def _rebuild(without_rowid: bool) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return  # PostgreSQL has no rowid; its primary key index is the only structure already
    suffix = " WITHOUT ROWID" if without_rowid else ""
    op.execute(
        "CREATE TABLE commands_rebuilt (command_id VARCHAR(200) NOT NULL PRIMARY KEY, "
        "first_position INTEGER NOT NULL, last_position INTEGER NOT NULL, fingerprint VARCHAR(64) NOT NULL, "
        f"recorded_at DATETIME NOT NULL){suffix}"
    )
    op.execute(f"INSERT INTO commands_rebuilt ({_COLUMNS}) SELECT {_COLUMNS} FROM commands")
    op.execute("DROP TABLE commands")
    op.execute("ALTER TABLE commands_rebuilt RENAME TO commands")


def upgrade() -> None:
    _rebuild(without_rowid=True)


def downgrade() -> None:
    _rebuild(without_rowid=False)
