"""Distress beacons heard on AIS: the incident a beacon opens, and the operator's confirmation or dismissal.

An AIS-SART, a man-overboard device or an EPIRB means someone is in the water or a boat is sinking: the
incident opens red, at the beacon's position, without waiting for a person to report it. The AIS feed
(dispatch/app/ais_feed.py) decides when a repeated beacon is the same activation; this only says what one means.
"""

from __future__ import annotations

from typing import Final, Protocol

from dispatch.domain.catalogue import BeaconConfirmed, BeaconDetected, BeaconDismissed, Event, IncidentReported
from dispatch.domain.commands import ConfirmBeacon, DismissBeacon, ReportBeacon
from dispatch.domain.errors import IncidentAlreadyExists, NotABeaconIncident
from dispatch.domain.vocabulary import BeaconKind


class Incident(Protocol):
    """What the beacon rules read of an incident (decisions/incident.py folds it; naming it here, not importing it,
    keeps the two modules out of each other's imports)."""

    @property
    def id(self) -> str: ...

    @property
    def beacon(self) -> BeaconDetected | None: ...

    @property
    def beacon_confirmed(self) -> bool: ...


# Who the log names as the reporter of a beacon's incident: no person, the feed.
BEACON_REPORTER: Final[str] = "ais"
BEACON_NAMES: Final[dict[BeaconKind, str]] = {"sart": "AIS-SART", "mob": "AIS man-overboard device",
                                              "epirb": "AIS EPIRB"}
# ITU-R M.585 numbering of AIS devices that are not ship stations: 970xxyyyy an AIS-SART, 972xxyyyy a
# man-overboard device, 974xxyyyy an EPIRB-AIS.
BEACON_PREFIXES: Final[dict[str, BeaconKind]] = {"970": "sart", "972": "mob", "974": "epirb"}


def beacon_kind(mmsi: str) -> BeaconKind | None:
    """The distress device an MMSI belongs to, or None for a ship, a base station or an aid to navigation."""
    return BEACON_PREFIXES.get(mmsi[:3]) if len(mmsi) == 9 else None


def report(command: ReportBeacon, incident: Incident | None) -> list[Event]:
    if incident is not None:
        raise IncidentAlreadyExists(f"incident {command.incident_id} already exists", field="incident_id")
    vessel = f" of {command.vessel_name}" if command.vessel_name else ""
    return [
        IncidentReported(
            at=command.at, incident_id=command.incident_id, source="ais_beacon", position=command.position,
            zone=command.zone, triage="red", category="other", patients=1, reporter=BEACON_REPORTER,
            description=f"{BEACON_NAMES[command.beacon]} {command.mmsi}{vessel} is transmitting", language="en",
        ),
        BeaconDetected(at=command.at, incident_id=command.incident_id, mmsi=command.mmsi, beacon=command.beacon,
                       position=command.position, vessel_name=command.vessel_name),
    ]


def confirm(command: ConfirmBeacon, incident: Incident) -> list[Event]:
    _beacon_of(incident)
    return [] if incident.beacon_confirmed else [BeaconConfirmed(at=command.at, incident_id=incident.id,
                                                                     how=command.how)]


def dismiss(command: DismissBeacon, incident: Incident, closing: list[Event]) -> list[Event]:
    """The dismissal, then what closing the incident as a false alarm means (`closing`, decided by the caller)."""
    _beacon_of(incident)
    return [BeaconDismissed(at=command.at, incident_id=incident.id, reason=command.summary), *closing]


def _beacon_of(incident: Incident) -> BeaconDetected:
    if incident.beacon is None:
        raise NotABeaconIncident(f"incident {incident.id} was not opened by a beacon; close it instead",
                                 field="incident_id")
    return incident.beacon

