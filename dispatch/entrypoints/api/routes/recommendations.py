"""What to send and where to refer: the nearest available resources and the fastest receiving facilities."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter

from dispatch.domain.decisions.resource import Resource
from dispatch.domain.geo.eta import usable_speed
from dispatch.domain.geo.motion import TRACKERS, all_reckoned, is_stale
from dispatch.domain.geo.seasons import in_service
from dispatch.domain.holds import held_boats
from dispatch.domain.recommend import FacilityOption, ResourceOption, recommend_facilities, recommend_resources
from dispatch.entrypoints.api import views
from dispatch.entrypoints.api.answers import RecommendationsOut
from dispatch.entrypoints.api.deps import FleetReader, ServicesDep
from dispatch.entrypoints.api.openapi import answers
from dispatch.projections import queries
from dispatch.projections.alerts import holding_alerts

router = APIRouter(prefix="/api/incidents", tags=["recommendations"])
# The speed a referral is planned at when no boat is on the incident yet: a speedboat ambulance in a
# moderate sea (reference §4.2 gives 25-30 kn for RIB/speedboat ambulances; the low end errs late).
PLANNING_SPEED_KNOTS = 25.0


@router.get("/{incident_id}/recommendations",
            summary="Nearest available boats (by ETA), AEDs and teams; facilities by predicted arrival",
            operation_id="recommendForIncident", response_model=None, responses=answers(RecommendationsOut, 404))
def recommendations(incident_id: str, actor: FleetReader, services: ServicesDep) -> dict[str, Any]:
    incident = views.incident_state(services, incident_id)
    scene = incident.report.position
    settings, now = services.settings, services.clock.now()
    recorded = queries.fleet(services.store.engine)
    # A unit out of season is not there to send, whatever its status says; a moving boat is where its course
    # has carried it since its last fix; a small craft an alert in force holds is not sent out.
    serving = [resource for resource in recorded if in_service(resource, now)]
    fleet = all_reckoned(serving, now, timedelta(minutes=settings.dead_reckoning_max_minutes))
    held = held_boats(fleet, holding_alerts(services.store.engine, now), settings.small_craft_holds,
                      services.places.zone_of)
    options = recommend_resources(scene, fleet, settings, held=held.keys())
    on_incident = [r for r in fleet if r.id in incident.active_resource_ids() and usable_speed(r.speed_knots)]
    speed = max((r.speed_knots or 0 for r in on_incident), default=0) or (
        options.boats[0].resource.speed_knots if options.boats else None) or PLANNING_SPEED_KNOTS
    # A health unit asking for a referral is not its own destination.
    origin = [incident.report.site_id] if incident.report.site_id else []
    facilities = recommend_facilities(scene, services.places, speed, services.settings, exclude=origin)
    return {
        "incident_id": incident_id,
        "resources": {kind: [_resource(o, _Recorded(recorded, now, settings.position_stale_minutes))
                             for o in getattr(options, kind)] for kind in ("boats", "aeds", "teams")},
        "facilities": [_facility(o) for o in facilities],
        "planned_speed_knots": speed,
        "held": [{"resource_id": boat.id, "name": boat.name, "subtype": boat.subtype, "alert_key": alert.alert_key,
                  "severity": alert.severity, "headline": alert.headline}
                 for boat in fleet if (alert := held.get(boat.id)) is not None],
    }


class _Recorded:
    """The fleet as recorded, before dead reckoning: when and by what each position was last reported."""

    def __init__(self, fleet: list[Resource], now: datetime, stale_minutes: float) -> None:
        self.by_id = {resource.id: resource for resource in fleet}
        self.now = now
        self.stale_after = timedelta(minutes=stale_minutes)

    def of(self, resource: Resource) -> Resource:
        return self.by_id.get(resource.id, resource)


def _resource(option: ResourceOption, recorded: _Recorded) -> dict[str, Any]:
    resource = option.resource
    last = recorded.of(resource)
    return {
        "resource_id": resource.id, "kind": resource.kind, "name": resource.name, "subtype": resource.subtype,
        "speed_knots": resource.speed_knots, "distance_km": round(option.distance_km, 2),
        "eta_minutes": round(option.eta.total_seconds() / 60, 1) if option.eta is not None else None,
        "position_at": last.position_at, "position_source": last.position_source,
        "position_stale": is_stale(last.position_at, last.position_source in TRACKERS, recorded.now,
                                   recorded.stale_after),
        "dead_reckoned": last.position != resource.position,
    }


def _facility(option: FacilityOption) -> dict[str, Any]:
    facility, route = option.facility, option.route
    return {
        "facility_id": facility.id, "name_en": facility.name_en, "name_th": facility.name_th,
        "kind": facility.kind, "level_of_care": facility.level_of_care,
        "eta_minutes": round(route.total.total_seconds() / 60, 1), "via_id": route.via_id,
        "sea_km": round(route.sea_km, 1), "road_km": round(route.road_km, 1) if route.road_km is not None else None,
        "road_assumed": route.road_assumed,
    }
