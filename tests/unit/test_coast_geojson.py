"""The offline coast the board draws is RFC 7946 GeoJSON: valid to a GeoJSON validator, and wound as the RFC
says (outer rings counter-clockwise, holes clockwise), which the validator does not check, so shapely does."""

from __future__ import annotations

import json
from typing import Any

import geojson
import pytest
from shapely.geometry import LinearRing

from dispatch.entrypoints.api.routes.assets import COAST_BBOX, coast_geojson


@pytest.fixture(scope="module")
def served() -> Any:
    """The coast as the map receives it: through JSON, after rounding."""
    return geojson.loads(json.dumps(coast_geojson()))


def test_the_coast_is_valid_geojson(served: Any) -> None:
    assert served.is_valid, served.errors()
    assert served["type"] == "FeatureCollection" and len(served["features"]) > 10
    assert all(feature["geometry"]["type"] == "Polygon" for feature in served["features"])


def test_outer_rings_run_counter_clockwise_and_holes_clockwise(served: Any) -> None:
    wrong = []
    for index, feature in enumerate(served["features"]):
        outer, *holes = feature["geometry"]["coordinates"]
        if not LinearRing(outer).is_ccw or any(LinearRing(hole).is_ccw for hole in holes):
            wrong.append(index)
    assert wrong == []


def test_every_ring_lies_in_the_declared_box(served: Any) -> None:
    west, south, east, north = COAST_BBOX
    points = [point for feature in served["features"] for ring in feature["geometry"]["coordinates"]
              for point in ring]
    assert all(west <= x <= east and south <= y <= north for x, y in points)
