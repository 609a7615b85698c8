"""The integration tier's fixtures: a fresh log on SQLite and PostgreSQL, services over it, a private Redis.

They come from tests/servers.py, shared with the end-to-end tier; tests/unit loads neither conftest, so it
starts without a server or a driver.
"""

from tests.servers import clock, engine, postgres_schema, private_redis, services, store

__all__ = ["clock", "engine", "postgres_schema", "private_redis", "services", "store"]
