"""Published crossing times against the network's sea legs (crossings.json), for the docs and a unit test.

    .venv/bin/python -m dispatch.domain.geo.calibration      # prints the table for docs/referral-network.md
"""

from __future__ import annotations

import itertools
from functools import lru_cache
from importlib.resources import files
from typing import Literal, NamedTuple

import msgspec

from dispatch.domain.geo.eta import km_to_nmi
from dispatch.domain.geo.network import Network, load_network

Vessel = Literal["public_speedboat", "tourist_speedboat", "longtail"]


class VesselClass(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    speed_knots: float
    basis: str


class Crossing(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    id: str
    stops: tuple[str, ...]
    vessel: Vessel
    published_minutes: float
    source: str
    extra_stops: int = 0  # stops on the way at places that are not landings of the network
    tolerance_minutes: float | None = None  # only with tolerance_why; else the file's rule
    tolerance_why: str | None = None


class CrossingsFile(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    about: dict[str, object] = msgspec.field(name="_about")
    stop_minutes: float
    vessel_classes: dict[Vessel, VesselClass]
    crossings: tuple[Crossing, ...]


class Calibrated(NamedTuple):
    crossing: Crossing
    speed_knots: float
    km: float | None
    predicted_minutes: float | None
    error_minutes: float | None  # model minus published

    @property
    def tolerance_minutes(self) -> float:
        """The crossing's own, else the rule stated before comparing (crossings.json `method`)."""
        own = self.crossing.tolerance_minutes
        return own if own is not None else max(10.0, 0.25 * self.crossing.published_minutes)

    @property
    def within(self) -> bool:
        return self.error_minutes is not None and abs(self.error_minutes) <= self.tolerance_minutes


@lru_cache(maxsize=1)
def load_crossings() -> CrossingsFile:
    return msgspec.json.decode(files("dispatch.domain.geo").joinpath("crossings.json").read_bytes(), type=CrossingsFile)


def calibrate(network: Network | None = None, crossings: CrossingsFile | None = None) -> list[Calibrated]:
    """Each published crossing with the model's water km and time at its vessel class's speed."""
    known = network or load_network()
    data = crossings or load_crossings()
    rows = []
    for crossing in data.crossings:
        speed = data.vessel_classes[crossing.vessel].speed_knots
        legs = [known.sea_km(known.places.get(a), known.places.get(b))
                for a, b in itertools.pairwise(crossing.stops)]
        if any(km is None for km in legs):
            rows.append(Calibrated(crossing, speed, None, None, None))
            continue
        km = sum(km for km in legs if km is not None)
        stops = len(crossing.stops) - 2 + crossing.extra_stops
        minutes = km_to_nmi(km) / speed * 60 + data.stop_minutes * stops
        rows.append(Calibrated(crossing, speed, km, minutes, minutes - crossing.published_minutes))
    return rows


def markdown_table(rows: list[Calibrated]) -> str:
    lines = [
        "| crossing | vessel (model speed) | published | water km | model | error | stated error |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        c = row.crossing
        model = "no route" if row.predicted_minutes is None else f"{row.predicted_minutes:.0f} min"
        error = "—" if row.error_minutes is None else f"{row.error_minutes:+.0f} min"
        km = "—" if row.km is None else f"{row.km:.1f}"
        stops = " → ".join(c.stops) + (f" (+{c.extra_stops} stops)" if c.extra_stops else "")
        own = " (own, see crossings.json)" if c.tolerance_minutes is not None else ""
        lines.append(f"| {stops} | {c.vessel.replace('_', ' ')} ({row.speed_knots:g} kn) | {c.published_minutes:g} min "
                     f"| {km} | {model} | {error} | ±{row.tolerance_minutes:.0f} min{own} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown_table(calibrate()))
