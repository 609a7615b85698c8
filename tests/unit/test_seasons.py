"""Seasons by the clock: a park-season unit serves while Similan and Surin are open (15 October to 15 May, Bangkok
days) and not while they are closed; all by the date given, with nobody changing the unit."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import msgspec
import pytest

from dispatch.domain.catalogue import ResourceRegistered, decode_data
from dispatch.domain.decisions.incident import decide as decide_for_incident
from dispatch.domain.decisions.resource import decide
from dispatch.domain.geo.fleet import load_demo_fleet
from dispatch.domain.geo.seasons import SeasonDataError, in_service, load_seasons, parse_seasons, service_state
from dispatch.domain.recommend import predict_arrival
from dispatch.domain.vocabulary import SEASONS
from tests.builders import (
    T0,
    available_resource,
    by_id,
    dispatch_resource,
    incident_from,
    incident_reported,
    register_resource,
    resource_from,
)
from tests.unit.test_recommend import KO_YAO_NOI, PARAMS, PLACES, THAP_LAMU, referral_on, resource

# Bangkok midnights as UTC instants: Thailand is UTC+7 all year.
CLOSES_2026 = datetime(2026, 5, 15, 17, 0, tzinfo=UTC)  # 16 May 2026 00:00 in Bangkok
REOPENS_2026 = datetime(2026, 10, 14, 17, 0, tzinfo=UTC)  # 15 October 2026 00:00 in Bangkok
CLOSES_2027 = datetime(2027, 5, 15, 17, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)
PARK_UNIT = available_resource(season="park_season")


def test_a_park_unit_serves_until_the_last_minute_of_15_may_in_bangkok() -> None:
    state = service_state("park_season", CLOSES_2026 - SECOND)

    assert state.in_service and state.reason is None
    assert state.season_ends_at == CLOSES_2026 and state.changes_at == CLOSES_2026


def test_a_park_unit_is_out_of_season_from_16_may_and_says_when_it_returns() -> None:
    state = service_state("park_season", CLOSES_2026)

    assert not state.in_service
    assert (state.reason, state.returns_at) == ("out_of_season", REOPENS_2026)


def test_a_park_unit_is_out_until_the_last_minute_of_14_october() -> None:
    assert service_state("park_season", REOPENS_2026 - SECOND).reason == "out_of_season"


def test_a_park_unit_serves_again_from_15_october_without_anyone_changing_it() -> None:
    # the same unit, nothing done to it: only the clock moves
    assert not in_service(PARK_UNIT, REOPENS_2026 - SECOND)

    assert in_service(PARK_UNIT, REOPENS_2026)
    assert service_state("park_season", REOPENS_2026).season_ends_at == CLOSES_2027


def test_the_season_runs_over_the_new_year() -> None:
    new_year = datetime(2026, 12, 31, 17, 0, tzinfo=UTC)  # 1 January 2027 in Bangkok

    assert in_service(PARK_UNIT, new_year)
    assert service_state("park_season", new_year).season_ends_at == CLOSES_2027


def test_bangkok_days_decide_not_utc_days() -> None:
    # 23:30 UTC on 15 May is already 06:30 on 16 May in Bangkok: closed
    assert not in_service(PARK_UNIT, datetime(2026, 5, 15, 23, 30, tzinfo=UTC))


@pytest.mark.parametrize("moment", [CLOSES_2026, REOPENS_2026 - SECOND, T0, datetime(2031, 8, 1, tzinfo=UTC)])
def test_an_all_year_unit_always_serves_and_never_changes(moment: datetime) -> None:
    state = service_state("all_year", moment)

    assert (state.in_service, state.reason, state.returns_at, state.season_ends_at) == (True, None, None, None)


def test_a_closure_over_the_new_year_returns_the_year_after() -> None:
    calendars = parse_seasons(season_file(closed_from="12-20", closed_through="01-05"))

    state = service_state("park_season", datetime(2027, 1, 2, tzinfo=UTC), calendars)

    assert (state.in_service, state.returns_at) == (False, datetime(2027, 1, 5, 17, tzinfo=UTC))
    assert service_state("park_season", datetime(2027, 1, 10, tzinfo=UTC), calendars).season_ends_at == datetime(
        2027, 12, 19, 17, tzinfo=UTC)


# --- registering a seasonal unit ----------------------------------------------------------------------------


def test_registering_a_unit_records_its_season() -> None:
    [event] = decide(register_resource(season="park_season", at=T0), None)

    assert isinstance(event, ResourceRegistered) and event.season == "park_season"
    assert resource_from(event).season == "park_season"


def test_a_unit_registered_without_a_season_serves_all_year() -> None:
    [event] = decide(register_resource(at=T0), None)

    assert isinstance(event, ResourceRegistered) and event.season == "all_year"


def test_a_registration_stored_before_seasons_existed_reads_as_all_year() -> None:
    stored = msgspec.json.encode({"at": T0, "resource_id": "KY-01", "kind": "boat", "name": "KY-01",
                                  "speed_knots": 25.0})

    event = decode_data("ResourceRegistered", 1, stored)

    assert isinstance(event, ResourceRegistered) and event.season == "all_year"


# --- recommendations skip a unit out of season -----------------------------------------------------------


def test_a_boat_out_of_season_is_never_the_one_predicted_to_fetch_the_patient() -> None:
    requested, incident = referral_on(boat=None)
    near = replace(resource("NEAR", KO_YAO_NOI, speed=25), season="park_season")
    fleet = {"NEAR": near, "FAR": resource("FAR", THAP_LAMU, speed=30)}

    in_season = predict_arrival(requested, incident, fleet, T0, PLACES, PARAMS)
    closed = predict_arrival(requested, incident, fleet, CLOSES_2026, PLACES, PARAMS)

    assert in_season is not None and in_season.boat is not None and in_season.boat.id == "NEAR"
    assert closed is not None and closed.boat is not None and closed.boat.id == "FAR"


def test_an_operator_may_still_send_a_unit_out_of_season() -> None:
    # The season is the plan; an operator who knows the unit was kept on for the monsoon can send it.
    incident = incident_from(incident_reported(at=CLOSES_2026))

    events = decide_for_incident(dispatch_resource(at=CLOSES_2026), incident, by_id(PARK_UNIT))

    assert [type(event).__name__ for event in events] == ["ResourceDispatched", "ResourceStatusChanged"]


# --- the data -------------------------------------------------------------------------------------------------


def test_every_seasonal_code_has_its_dates_and_sources() -> None:
    calendars = load_seasons()

    assert set(calendars) == set(SEASONS) - {"all_year"}
    park = calendars["park_season"]
    assert (park.closed_from, park.closed_through) == ("05-16", "10-14")
    assert park.sources and all(source.strip() for source in park.sources)


def test_the_demo_fleet_marks_every_unit_based_in_the_parks_as_park_season() -> None:
    fleet = load_demo_fleet()
    zones = {resource.id: PLACES.zone_of(resource.position) for resource in fleet}

    in_parks = {r.id for r in fleet if zones[r.id] in ("similan", "surin")}

    # and the day-trip boats' AEDs, based at the mainland piers, run only while the parks are open
    assert in_parks and in_parks <= {r.id for r in fleet if r.season == "park_season"}


@pytest.mark.parametrize(("fields", "rule"), [
    ({"closed_from": "02-29"}, "closed_from is not a day of every year"),
    ({"closed_through": "13-01"}, "closed_through is not a day of every year"),
    ({"closed_from": "May 16"}, "closed_from is not a day of every year"),
    ({"closed_from": "01-01", "closed_through": "12-31"}, "would be closed all year"),
    ({"id": "all_year"}, "all_year has no closure"),
])
def test_season_data_that_breaks_a_rule_is_refused(fields: dict[str, str], rule: str) -> None:
    with pytest.raises(SeasonDataError, match=rule):
        parse_seasons(season_file(**fields))


def test_a_seasonal_code_without_dates_is_refused() -> None:
    with pytest.raises(SeasonDataError, match="park_season has no dates"):
        parse_seasons(b'{"_about": {}, "seasons": []}')


def season_file(**fields: str) -> bytes:
    season = {"id": "park_season", "name_en": "park", "name_th": "อุทยาน", "closed_from": "05-16",
              "closed_through": "10-14", "basis": "test", "sources": ["test"]} | fields
    return msgspec.json.encode({"_about": {}, "seasons": [season]})

