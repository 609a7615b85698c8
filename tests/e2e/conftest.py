"""The end-to-end tier's fixtures: a fresh log on SQLite and PostgreSQL, services over it, a private Redis.

They come from tests/servers.py, shared with the integration tier; tests/unit loads neither conftest, so it
starts without a server or a driver.

A module whose tests take a module-scoped `story` fixture tells one story in steps: each step goes on from
where the one before left it, so once a step fails the steps after it are skipped, naming the step that failed.
"""

import pytest

from tests.servers import clock, engine, postgres_schema, private_redis, services, store

__all__ = ["clock", "engine", "postgres_schema", "private_redis", "services", "store"]

BROKEN_AT = pytest.StashKey[str]()


def _story(item: pytest.Item) -> pytest.Stash | None:
    """Where the steps of `item`'s story keep what broke it, if `item` is a step of one."""
    if "story" in getattr(item, "fixturenames", ()) and item.parent is not None:
        return item.parent.stash
    return None


def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> None:
    if (story := _story(item)) is not None and call.when == "call" and call.excinfo is not None:
        story.setdefault(BROKEN_AT, item.name)


def pytest_runtest_setup(item: pytest.Item) -> None:
    if (story := _story(item)) is not None and BROKEN_AT in story:
        pytest.skip(f"the story broke at {story[BROKEN_AT]}")
