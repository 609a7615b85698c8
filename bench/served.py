"""The production API with two reference routes added, served by uvicorn exactly as `dispatch api` serves it.

    python -m bench.served --host 127.0.0.1 --port P      (settings from DISPATCH_* like `dispatch api`)

`GET /bench/trivial` (async, returns `{}`) is the framework's own ceiling: the same process, middleware,
event loop and HTTP parser as every real route, and nothing else. `GET /bench/trivial-sync` is the same
as a plain `def`, so it also pays for FastAPI's thread pool, as the report route does.
"""

from __future__ import annotations

import argparse

from fastapi import FastAPI

from dispatch.app.services import build_services, connect_redis
from dispatch.entrypoints.serving import serve, server_app
from dispatch.runtime.logs import configure_logging
from dispatch.runtime.settings import Settings

TRIVIAL_PATH = "/bench/trivial"
TRIVIAL_SYNC_PATH = "/bench/trivial-sync"


async def trivial() -> dict[str, str]:
    return {}


def trivial_sync() -> dict[str, str]:
    return {}


def with_reference_routes(app: FastAPI) -> FastAPI:
    """Add the reference routes ahead of the UI's catch-all static mount at `/`, which would shadow them."""
    for path, endpoint in ((TRIVIAL_PATH, trivial), (TRIVIAL_SYNC_PATH, trivial_sync)):
        app.add_api_route(path, endpoint, methods=["GET"], include_in_schema=False)
        app.router.routes.insert(0, app.router.routes.pop())
    return app


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.served", description=__doc__.split("\n\n")[0])
    parser.add_argument("--host")
    parser.add_argument("--port", type=int)
    args = parser.parse_args()
    settings = Settings()
    settings = settings.model_copy(update={"host": args.host or settings.host, "port": args.port or settings.port})
    configure_logging(settings.log_level)
    services = connect_redis(build_services(settings))
    serve(with_reference_routes(server_app(services, settings.redis_url)), settings.host, settings.port)


if __name__ == "__main__":
    main()
