"""Verifying the log with a kept checkpoint, as an official would: a real `dispatch projector` publishes the
checkpoints, `dispatch verify --checkpoint` checks the log against a kept copy, and openssl alone checks a
checkpoint's signature by the recipe in docs/security.md. On SQLite and on PostgreSQL."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import text
from typer.testing import CliRunner, Result

from dispatch.adapters.eventlog.checkpoints import checkpoints_path, public_key_path, start_publisher
from dispatch.adapters.eventlog.store import EventStore
from dispatch.app.services import Services, build_services
from dispatch.entrypoints.cli import app
from dispatch.runtime.settings import Settings
from tests.e2e.test_cli import cli_env, dispatch_cli
from tests.integration.test_event_store import reported
from tests.servers import POSTGRES_URL, REDIS_URL

pytestmark = [pytest.mark.slow, pytest.mark.redis]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    """The settings naming a fresh database of each kind; empty for the SQLite file in the data dir."""
    if request.param == "sqlite":
        return {}
    schema = request.getfixturevalue("postgres_schema")
    return {"DISPATCH_DATABASE_URL": f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"}


def fill(store: EventStore, count: int, first: int = 0) -> None:
    for n in range(first, first + count):
        store.append(f"incident-{n}", [reported(str(n))], expected_version=0)


def production_key(directory: Path) -> Path:
    """A signing key as an installer makes one, away from the data dir."""
    directory.mkdir()
    path = directory / "checkpoint-key.pem"
    path.write_bytes(Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    path.chmod(0o600)
    return path


def run_projector_until_checkpoint(data: Path, settings: dict[str, str], position: int) -> None:
    run = uuid.uuid4().hex[:8]
    output = data.parent / f"projector-{run}.log"
    with output.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "dispatch", "projector"], stdout=sink, stderr=subprocess.STDOUT,
            env=cli_env(data, DISPATCH_REDIS_URL=REDIS_URL, DISPATCH_LIVE_CHANNEL=f"test:{run}:changes",
                        DISPATCH_APPEND_CHANNEL=f"test:{run}:appended", DISPATCH_FOLLOW_POLL_SECONDS="0.1",
                        **settings))
        try:
            deadline = time.monotonic() + 60  # guards a hung test only
            published = data / "checkpoints.jsonl"
            while f'"position":{position},'.encode() not in (published.read_bytes() if published.exists() else b""):
                assert process.poll() is None and time.monotonic() < deadline, output.read_text()
                time.sleep(0.1)
        finally:
            process.terminate()
            process.wait(timeout=30)


def dispatch(data: Path, *args: str, **settings: str) -> Result:
    """The CLI in this process (a process of its own costs seconds on a busy machine): same parsing, same code,
    same exit code and output."""
    env = {key: None for key in os.environ if key.startswith("DISPATCH_")}
    return CliRunner().invoke(app, list(args), env=env | cli_env(data, **settings) | {"COLUMNS": "200"})


@pytest.fixture
def built(tmp_path: Path, database: dict[str, str]) -> Iterator[Services]:
    services = build_services(Settings(data_dir=tmp_path / "data", database_url=database.get("DISPATCH_DATABASE_URL")))
    yield services
    services.store.engine.dispose()


def publish_in_process(services: Services) -> Path:
    stop = threading.Event()
    stop.set()  # the publisher's last round, as its process stops, signs the head at once
    start_publisher(services.settings, services.store, services.clock, stop, embedded=True).join(timeout=30)
    return checkpoints_path(services.settings)


def test_verify_with_a_kept_checkpoint_names_the_position_of_a_cut_or_a_rewrite(
        tmp_path: Path, database: dict[str, str], built: Services) -> None:
    data, kept = built.settings.data_dir, tmp_path / "kept"
    production = database | {"DISPATCH_ENVIRONMENT": "production",
                             "DISPATCH_CHECKPOINT_KEY_FILE": str(production_key(tmp_path / "secrets"))}
    fill(built.store, 6)
    run_projector_until_checkpoint(data, production, position=6)
    kept.mkdir()
    shutil.copy(data / "checkpoints.jsonl", kept / "checkpoints.jsonl")
    shutil.copy(data / "checkpoint-public-key.pem", kept / "public-key.pem")
    verify = ("verify", "--checkpoint", str(kept / "checkpoints.jsonl"), "--public-key", str(kept / "public-key.pem"))

    honest = dispatch(data, *verify, **database)
    with built.store.engine.begin() as db:
        db.execute(text("DELETE FROM events WHERE position > 4"))
    cut = dispatch(data, *verify, **database)
    fill(built.store, 3, first=10)  # regrown past the checkpoint with other events: a rewrite of 5 and 6
    rewritten = dispatch(data, *verify, **database)
    without_checkpoint = dispatch(data, "verify", **database)

    assert honest.exit_code == 0, honest.output
    assert "intact" in honest.output and "checkpoint of position 6" in honest.output
    assert cut.exit_code == 1 and "BROKEN at position 5" in cut.output, cut.output
    assert rewritten.exit_code == 1 and "BROKEN at position 6" in rewritten.output, rewritten.output
    assert without_checkpoint.exit_code == 0, "the chain alone still looks intact: why checkpoints are kept"


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_verify_refuses_a_forged_checkpoint(tmp_path: Path, built: Services) -> None:
    fill(built.store, 3)
    honest = json.loads(publish_in_process(built).read_text().splitlines()[-1])
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(honest | {"position": 2}))

    refused = dispatch(built.settings.data_dir, "verify", "--checkpoint", str(forged))

    assert refused.exit_code == 2 and "REFUSED" in refused.output and "position 2" in refused.output


def test_a_production_projector_without_a_signing_key_refuses_to_start(tmp_path: Path) -> None:
    # A process of its own: the projector command sets up logging and signals for its whole process.
    refused = dispatch_cli(tmp_path, "projector", DISPATCH_ENVIRONMENT="production", DISPATCH_REDIS_URL=REDIS_URL)

    assert refused.returncode == 2 and "DISPATCH_CHECKPOINT_KEY_FILE" in refused.stdout, refused.stdout


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")
@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_an_official_checks_a_kept_checkpoint_with_openssl_alone(tmp_path: Path, built: Services) -> None:
    fill(built.store, 2)
    kept = json.loads(publish_in_process(built).read_text().splitlines()[-1])
    # The recipe of docs/security.md: the four signed lines, the signature decoded, openssl verifies.
    signed = tmp_path / "signed.txt"
    signed.write_text(f"{kept['format']}\nposition={kept['position']}\nhash={kept['hash']}\nat={kept['at']}\n")
    signature = tmp_path / "signature.bin"
    signature.write_bytes(base64.b64decode(kept["signature"]))

    def openssl_verify() -> subprocess.CompletedProcess[str]:
        return subprocess.run(["openssl", "pkeyutl", "-verify", "-pubin", "-inkey",
                               str(public_key_path(built.settings)), "-rawin", "-in", str(signed),
                               "-sigfile", str(signature)], capture_output=True, text=True, timeout=30)

    verified = openssl_verify()
    signed.write_text(signed.read_text().replace(f"position={kept['position']}", "position=1"))
    altered = openssl_verify()

    assert verified.returncode == 0 and "Signature Verified Successfully" in verified.stdout, verified.stderr
    assert altered.returncode != 0
