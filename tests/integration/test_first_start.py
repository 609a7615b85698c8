"""A first start: demo accounts and their passwords file in development, the demo fleet only where wanted, and
nothing invented in production."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from dispatch.app.first_start import FirstStart, first_start, passwords_file
from dispatch.app.services import Services
from dispatch.domain.geo.fleet import load_demo_fleet
from dispatch.entrypoints.cli import startup_block


@pytest.fixture
def configured(services: Services, tmp_path: Path) -> Services:
    services.settings = services.settings.model_copy(update={"data_dir": tmp_path / "data"})
    return services


def with_settings(services: Services, **settings: object) -> Services:
    services.settings = services.settings.model_copy(update=settings)
    return services


def kept_passwords(services: Services) -> dict[str, str]:
    lines = passwords_file(services).read_text().splitlines()
    return {account: password for account, password in (line.split(" ", 1) for line in lines if line[0] != "#")}


def test_development_first_start_keeps_the_demo_passwords_where_only_the_owner_can_read_them(
        configured: Services) -> None:
    started = first_start(configured)

    assert stat.S_IMODE(passwords_file(configured).stat().st_mode) == 0o600
    assert kept_passwords(configured) == started.passwords
    assert sorted(started.passwords) == configured.accounts.with_initial_passwords()
    for account, password in started.passwords.items():
        assert configured.accounts.login(account, password).actor.id == account
    assert started.fleet == len(load_demo_fleet()) == configured.store.head()


def test_production_starts_with_no_demo_fleet_and_no_demo_accounts(configured: Services) -> None:
    started = first_start(with_settings(configured, environment="production"))

    assert started == FirstStart(passwords={}, fleet=0)
    assert configured.store.head() == 0, "nothing invented in the log"
    assert not configured.accounts.has_users()
    assert not passwords_file(configured).exists()


def test_the_demo_fleet_loads_in_production_only_when_asked_and_development_may_decline_it(
        configured: Services) -> None:
    asked = first_start(with_settings(configured, environment="production", demo=True))

    assert asked.fleet == len(load_demo_fleet()) == configured.store.head()
    assert asked.passwords == {} and not configured.accounts.has_users()
    assert first_start(with_settings(configured, environment="development", demo=False)).fleet == 0


def test_a_later_start_names_the_passwords_file_and_shows_no_password(configured: Services) -> None:
    first = first_start(configured)
    later = first_start(configured)
    block = startup_block(configured, later)

    assert later == FirstStart(passwords={}, fleet=0)
    assert f"see {passwords_file(configured)}" in block and "demo-admin" in block
    assert not any(password in block for password in first.passwords.values())
    assert all(password in startup_block(configured, first) for password in first.passwords.values())


def test_the_passwords_file_goes_once_every_demo_account_has_chosen_its_password(configured: Services) -> None:
    started = first_start(configured)
    accounts = sorted(started.passwords)
    for account in accounts[:-1]:
        change_password(configured, account, started.passwords[account])
    first_start(configured)
    kept_while_one_waits = passwords_file(configured).exists()
    change_password(configured, accounts[-1], started.passwords[accounts[-1]])
    first_start(configured)

    assert kept_while_one_waits
    assert not passwords_file(configured).exists()


def change_password(services: Services, account: str, password: str) -> None:
    token = services.accounts.login(account, password).token
    services.accounts.change_password(token, password, f"{account} chose this one")
