"""Bring a database's schema to the newest migration."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, text

MIGRATION_LOCK_KEY = 1669_0082
_INI = Path(__file__).resolve().parent.parent / "alembic.ini"


def alembic_config(engine: Engine) -> Config:
    config = Config(str(_INI))
    config.set_main_option("script_location", str(_INI.parent / "migrations"))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply every pending migration in one transaction (SQLite: an IMMEDIATE one, so two starters queue)."""
    config = alembic_config(engine)
    with engine.connect().execution_options(sqlite_begin="IMMEDIATE") as connection, connection.begin():
        if connection.dialect.name == "postgresql":
            # Several API processes start at once in production: one migrates, the others wait and find it done.
            connection.execute(text("SELECT pg_advisory_xact_lock(hashtext(current_schema()), :key)"),
                               {"key": MIGRATION_LOCK_KEY})
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
