"""The demo fleet (demo_fleet.json): invented boats, AEDs and teams, so a first start has something to send.

DEMO DATA, not real assets; see the file's `_about`. `dispatch up` registers these on an empty log in
development or when asked (`--demo`; dispatch/app/first_start.py), never on its own in production.
"""

from __future__ import annotations

from functools import lru_cache
from importlib.resources import files

import msgspec

from dispatch.domain.catalogue import Latitude, Longitude, Position
from dispatch.domain.geo.places import Places, load_places
from dispatch.domain.vocabulary import ResourceKind, Season


class DemoResource(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One demo resource at its home site; only boats have a speed."""

    id: str
    kind: ResourceKind
    name: str
    subtype: str
    speed_knots: float | None = None
    speed_basis: str | None = None
    home_site_id: str
    lat: Latitude
    lon: Longitude
    season: Season
    notes: str

    @property
    def position(self) -> Position:
        return Position(lat=self.lat, lon=self.lon)


class DemoFleetAbout(msgspec.Struct, frozen=True, kw_only=True):
    title: str
    status: str


class DemoFleetFile(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    about: DemoFleetAbout = msgspec.field(name="_about")
    resources: tuple[DemoResource, ...]


class FleetDataError(ValueError):
    """demo_fleet.json breaks one of its rules (a boat without a speed, a home that is not a place, ...)."""


@lru_cache(maxsize=1)
def load_demo_fleet() -> tuple[DemoResource, ...]:
    """The demo resources, read once from the packaged demo_fleet.json and checked against places.json."""
    raw = files("dispatch.domain.geo").joinpath("demo_fleet.json").read_bytes()
    return parse_demo_fleet(raw, load_places())


def parse_demo_fleet(raw: bytes | str, places: Places) -> tuple[DemoResource, ...]:
    try:
        fleet = msgspec.json.decode(raw, type=DemoFleetFile)
    except msgspec.ValidationError as exc:
        raise FleetDataError(f"demo_fleet.json does not match the schema: {exc}") from exc
    problems = [problem for resource in fleet.resources for problem in _problems(resource, places)]
    ids = [resource.id for resource in fleet.resources]
    problems += [f"duplicate id {rid!r}" for rid in sorted({rid for rid in ids if ids.count(rid) > 1})]
    if problems:
        raise FleetDataError("demo_fleet.json: " + "; ".join(problems))
    return fleet.resources


def _problems(resource: DemoResource, places: Places) -> list[str]:
    problems: list[str] = []
    if resource.kind == "boat" and not (resource.speed_knots or 0) > 0:
        problems.append(f"boat {resource.id} needs a positive speed_knots")
    if resource.kind != "boat" and resource.speed_knots is not None:
        problems.append(f"{resource.kind} {resource.id} must not have a speed (only boats move on their own)")
    if resource.home_site_id not in places:
        problems.append(f"{resource.id} is based at unknown place {resource.home_site_id!r}")
    return problems
