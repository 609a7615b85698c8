"""`dispatch ais` as a process: the feed, its listeners and its metrics, until SIGINT or SIGTERM."""

from __future__ import annotations

import logging
import signal
import socket
import threading

from prometheus_client import CollectorRegistry

from dispatch.adapters.ais.listeners import connect_tcp, listen_tcp, listen_udp
from dispatch.app.ais_feed import Feed
from dispatch.app.ais_metrics import AisMetrics
from dispatch.app.services import build_services, connect_redis
from dispatch.entrypoints.api.metrics import serve_metrics, with_runtime_collectors
from dispatch.runtime.settings import Settings

log = logging.getLogger("dispatch.ais")


class NothingToListenTo(ValueError):
    """No UDP port, TCP port or receiver address is configured."""


def run_feed(settings: Settings, stop: threading.Event | None = None) -> None:
    """Listen where the settings say and feed the picture until stopped; refuses to start with nowhere to listen
    or without Redis (the picture lives there)."""
    if not settings.ais_configured:
        raise NothingToListenTo("give DISPATCH_AIS_UDP_PORT, DISPATCH_AIS_TCP_PORT or DISPATCH_AIS_TCP_CONNECT "
                                "(or --udp-port, --tcp-port, --tcp-connect)")
    if not settings.redis_url:
        raise NothingToListenTo("the AIS feed keeps its picture in Redis: set DISPATCH_REDIS_URL")
    stop = stop or threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    services = connect_redis(build_services(settings, migrate=False))
    metrics = AisMetrics(with_runtime_collectors(CollectorRegistry()))
    serve_metrics(metrics.registry, settings.host, settings.ais_metrics_port)
    feed = Feed(services, metrics, hostname=socket.gethostname())
    feed.refresh_fleet()
    if settings.ais_udp_port:
        listen_udp(settings.ais_host, settings.ais_udp_port, feed.put, stop)
    if settings.ais_tcp_port:
        listen_tcp(settings.ais_host, settings.ais_tcp_port, feed.put, stop)
    for address in filter(None, settings.ais_tcp_connect.split(",")):
        host, _, port = address.rpartition(":")
        connect_tcp(host, int(port), feed.put, stop)
    log.info("ais feed listening", extra={"udp": settings.ais_udp_port, "tcp": settings.ais_tcp_port,
                                          "connect": settings.ais_tcp_connect})
    feed.run(stop)
