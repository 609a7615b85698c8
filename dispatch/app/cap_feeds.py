"""Polling the configured CAP feeds: alerts over the province's zones are kept in the log (once each), and each
feed's state (when it last answered, or why it did not) is written where the board reads it.

No feed can stop the poller: a feed that is down, slow, huge, not XML, not CAP or hostile becomes that feed's
error, and the next feed is polled all the same. Only real (status Actual) alerts are kept: a Test, Exercise or
System message from someone else's drill must not hold our boats. An Update or Cancel is kept when it is over our
zones or references an alert that was, so a cancellation always lifts what it cancels.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Final

import httpx
from sqlalchemy import delete, insert, select

from dispatch.adapters.cap_fetch import fetch
from dispatch.adapters.cap_xml import FeedError, ParsedAlert, parse_document
from dispatch.adapters.outbox_tables import CAP_FEEDS, EXTERNAL_ALERTS
from dispatch.app.handle import handle
from dispatch.app.services import Services
from dispatch.domain.cap import external_alert_key, referenced_keys
from dispatch.domain.catalogue import ExternalAlertReceived
from dispatch.domain.commands import SYSTEM, RecordExternalAlert
from dispatch.domain.errors import DispatchError
from dispatch.domain.geo.areas import zones_touched
from dispatch.domain.text import text_problem

log = logging.getLogger("dispatch.cap")
KEPT_TYPES: Final[frozenset[str]] = frozenset({"Alert", "Update", "Cancel"})
# Linked alert documents already read, by URL (a CAP message never changes; a correction is a new message).
_SEEN_LIMIT: Final[int] = 5000
_seen: OrderedDict[str, None] = OrderedDict()


@dataclass
class FeedReport:
    url: str
    alerts: int = 0
    over_zones: int = 0
    recorded: int = 0
    bad_entries: int = 0
    error: FeedError | None = None
    problems: list[str] = field(default_factory=list)


def poll_feeds(services: Services, client: httpx.Client | None = None) -> list[FeedReport]:
    """Poll every configured feed once; never raises for a feed's fault."""
    settings = services.settings
    reports = []
    with client or httpx.Client() as http:
        for url in settings.cap_feeds:
            report = FeedReport(url=str(url))
            try:
                poll_feed(services, http, report)
            except FeedError as exc:
                report.error = exc
            _record_status(services, report)
            reports.append(report)
    return reports


def poll_feed(services: Services, http: httpx.Client, report: FeedReport) -> None:
    settings = services.settings
    def get(url: str) -> bytes:
        return fetch(http, url, max_bytes=settings.cap_max_bytes, timeout_seconds=settings.cap_fetch_timeout_seconds)

    parsed = parse_document(get(report.url))
    report.bad_entries = parsed.bad_entries
    alerts = list(parsed.alerts)
    for link in [link for link in parsed.links if link not in _seen][:settings.cap_max_entries]:
        try:
            alerts += parse_document(get(link)).alerts
            _remember(link)
        except FeedError as exc:
            report.bad_entries += 1
            report.problems.append(exc.code)
    for alert in alerts:
        report.alerts += 1
        _keep(services, alert, report)


def _keep(services: Services, alert: ParsedAlert, report: FeedReport) -> None:
    if alert.status != "Actual" or alert.msg_type not in KEPT_TYPES:
        return
    zones = zones_touched(alert.area, services.places)
    if not zones and not (alert.msg_type != "Alert" and _known(services, referenced_keys(alert.references))):
        return
    report.over_zones += 1
    event = ExternalAlertReceived(
        at=services.clock.now(), alert_key=external_alert_key(alert.sender, alert.identifier), feed=report.url[:200],
        sender=alert.sender, identifier=alert.identifier, sent_at=alert.sent_at,
        msg_type=alert.msg_type,  # type: ignore[arg-type]
        infos=alert.infos, area=alert.area, zones=zones, references=alert.references)
    if _unclean(event):
        report.bad_entries += 1
        report.problems.append("invalid_text")
        return
    try:
        result = handle(RecordExternalAlert(actor=SYSTEM, at=event.at, alert=event), services)
    except DispatchError as exc:  # the log refused it (a text it cannot store): that alert, not the poll, fails
        report.bad_entries += 1
        report.problems.append(exc.code)
        return
    report.recorded += bool(result.events)


def _unclean(event: ExternalAlertReceived) -> bool:
    texts = [event.sender, event.identifier, event.area.description_en, *event.references,
             *(text for info in event.infos for text in (info.language, info.event, info.headline))]
    return any(text_problem(text) is not None for text in texts)


def _known(services: Services, keys: list[str]) -> bool:
    if not keys:
        return False
    with services.store.engine.connect() as db:
        return db.execute(select(EXTERNAL_ALERTS.c.alert_key).where(EXTERNAL_ALERTS.c.alert_key.in_(keys))
                          ).first() is not None


def _remember(link: str) -> None:
    _seen[link] = None
    while len(_seen) > _SEEN_LIMIT:
        _seen.popitem(last=False)


def _record_status(services: Services, report: FeedReport) -> None:
    now = services.clock.now()
    error = report.error
    with services.store.engine.begin() as db:
        previous = db.execute(select(CAP_FEEDS.c.ok_at).where(CAP_FEEDS.c.url == report.url[:500])).scalar()
        db.execute(delete(CAP_FEEDS).where(CAP_FEEDS.c.url == report.url[:500]))
        db.execute(insert(CAP_FEEDS).values(
            url=report.url[:500], polled_at=now, ok_at=previous if error else now,
            error=error.code[:40] if error else None,
            detail=(error.detail if error else ", ".join(sorted(set(report.problems))))[:1000],
            alerts=report.alerts, over_zones=report.over_zones))
    if error is not None:
        log.warning("CAP feed refused", extra={"feed": report.url, "error": error.code})
