"""The rebuild benchmark's log builder writes through `handle` but decides from the streams it keeps in memory:
reading them back from the log would make the builder measure the database instead of writing a log."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from sqlalchemy import Engine

from bench import busy_log
from dispatch.adapters.eventlog.store import EarlierCommands, ForwardingStore
from dispatch.app.services import Services, services_on
from dispatch.domain.envelope import StoredEvent
from dispatch.runtime.clock import Clock
from dispatch.runtime.settings import Settings


class StreamReads(ForwardingStore):
    """The real store, noting every stream read from the log."""

    streams: list[str]

    def read_stream(self, stream_id: str, after_version: int = 0) -> list[StoredEvent]:
        self.streams.append(stream_id)
        return super().read_stream(stream_id, after_version)

    def read_batch(self, commands: Sequence[tuple[str, str]], stream_ids: Sequence[str]
                   ) -> tuple[EarlierCommands, dict[str, list[StoredEvent]]]:
        self.streams.extend(stream_ids)
        return super().read_batch(commands, stream_ids)


def test_the_log_builder_reads_no_stream_back_from_the_log(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    reads: list[str] = []

    def services_noting_reads(engine: Engine, settings: Settings, clock: Clock) -> Services:
        services = services_on(engine, settings, clock)
        services.store = StreamReads(services.store)
        services.store.streams = reads
        return services

    monkeypatch.setattr(busy_log, "services_on", services_noting_reads)

    head = busy_log.build(engine, events=300)

    assert head >= 300 and reads == []
