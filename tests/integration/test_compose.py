"""The production compose file: every long-running service has a healthcheck, the ones for our processes call
commands and settings that exist, and `docker-compose config` (when installed) accepts the file."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]  # PyYAML, which schemathesis (a dev dependency) installs

from dispatch.entrypoints.cli import app
from dispatch.runtime.settings import Settings

COMPOSE = Path(__file__).resolve().parents[2] / "docker-compose.yml"


def services() -> dict[str, Any]:
    found: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())["services"]
    return found


def test_every_long_running_service_has_a_healthcheck_and_the_one_shot_is_judged_by_its_exit() -> None:
    for name, service in services().items():
        check = service.get("healthcheck", {})
        if service.get("restart") == "no":
            assert check == {"disable": True}, f"{name} runs once: its exit code is its health"
        else:
            assert check.get("test"), f"{name} has no healthcheck"


def test_our_healthchecks_call_commands_and_probes_that_exist() -> None:
    commands = {command.name or (command.callback.__name__ if command.callback else "") for command in
                app.registered_commands}
    for name in ("projector", "worker", "ais", "notifier"):
        test = services()[name]["healthcheck"]["test"]
        assert test[:3] == ["CMD", "dispatch", "health"] and test[3] == name and "health" in commands
    assert "/readyz" in " ".join(services()["api"]["healthcheck"]["test"])


def test_every_dispatch_setting_in_the_file_is_a_setting() -> None:
    fields = set(Settings.model_fields)
    for name, service in services().items():
        for key in service.get("environment") or {}:
            if key.startswith("DISPATCH_"):
                assert key.removeprefix("DISPATCH_").lower() in fields, f"{name}: {key} is not a setting"


@pytest.mark.skipif(not (shutil.which("docker-compose")), reason="docker-compose is not installed here")
def test_docker_compose_accepts_the_file() -> None:
    env = dict(os.environ, POSTGRES_PASSWORD="checking")
    subprocess.run(["docker-compose", "-f", str(COMPOSE), "config", "-q"], check=True, env=env)
