"""Known places: sites, piers, beaches, islands, hospitals and health units, and the zones."""

from __future__ import annotations

from typing import Any

import msgspec
from fastapi import APIRouter

from dispatch.entrypoints.api.answers import PlacesOut
from dispatch.entrypoints.api.deps import Reader, ServicesDep
from dispatch.entrypoints.api.openapi import answers

router = APIRouter(prefix="/api/places", tags=["places"])


@router.get("", summary="Every known place with its zone, and the zone areas", response_model=None,
            responses=answers(PlacesOut))
def list_places(actor: Reader, services: ServicesDep) -> dict[str, Any]:
    places = services.places
    return {
        "places": [msgspec.to_builtins(place) for place in places],
        "zones": [{"zone": area.zone, "name": area.name, "polygon_lat_lon": area.polygon_lat_lon}
                  for area in places.zone_areas],
        "levels_of_care": [msgspec.to_builtins(level) for level in places.care_levels.values()],
    }
