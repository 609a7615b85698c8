"""Reports for health officials and operators: response times, the yearly summary and exports (read-only)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse, Response, StreamingResponse

from dispatch.domain.vocabulary import Source, Triage, Zone, local
from dispatch.entrypoints.api.answers import GeoJSONResponse, IncidentFeaturesOut, ResponseTimesOut, YearSummaryOut
from dispatch.entrypoints.api.deps import Auditor, ServicesDep
from dispatch.entrypoints.api.limits import OFFSET_MAX
from dispatch.entrypoints.api.openapi import answers
from dispatch.reports import exports, queries
from dispatch.reports.periods import EARLIEST_YEAR, LATEST_YEAR, parse_bound
from dispatch.reports.queries import ReportFilter
from dispatch.reports.response_times import response_time_report
from dispatch.reports.summary import year_summary

router = APIRouter(prefix="/api/reports", tags=["reports"])
_BOUND = "a date (Bangkok midnight starting that day) or an ISO 8601 time with its zone"


def report_filter(
    from_: Annotated[str | None, Query(alias="from", max_length=40, description=f"from (inclusive): {_BOUND}")] = None,
    to: Annotated[str | None, Query(max_length=40, description=f"to (exclusive): {_BOUND}")] = None,
    zone: Annotated[list[Zone] | None, Query(description="repeat for several")] = None,
    triage: Annotated[list[Triage] | None, Query(description="the scene code, else the dispatch code")] = None,
    source: Annotated[list[Source] | None, Query()] = None,
) -> ReportFilter:
    return ReportFilter(from_at=parse_bound(from_, "from"), to_at=parse_bound(to, "to"), zones=tuple(zone or ()),
                        triages=tuple(triage or ()), sources=tuple(source or ()))


FilterDep = Annotated[ReportFilter, Depends(report_filter)]


@router.get("/response-times", response_model=None,
            responses={200: {"model": ResponseTimesOut, "content": {"text/csv": {"schema": {"type": "string"}}}}},
            summary="NEMSIS intervals per response with count, median, p90 and max overall and by zone, triage "
                    "and month; referral guarantee compliance; ?format=csv for every response as CSV",
            operation_id="responseTimesReport")
def response_times(
    actor: Auditor, services: ServicesDep, flt: FilterDep,
    format: Literal["json", "csv"] = "json",
    limit: Annotated[int, Query(ge=0, le=10_000, description="response rows in the JSON answer")] = 100,
    offset: Annotated[int, Query(ge=0, le=OFFSET_MAX)] = 0,
) -> dict[str, Any] | Response:
    engine = services.store.engine
    if format == "csv":
        return _csv(exports.response_csv(queries.iter_responses(engine, flt)), "response-times", flt)
    return response_time_report(engine, flt, limit=limit, offset=offset)


@router.get("/summary", summary="The provincial indicators for a Bangkok calendar year",
            operation_id="yearSummary", response_model=None, responses=answers(YearSummaryOut))
def summary(
    actor: Auditor, services: ServicesDep,
    year: Annotated[int | None, Query(ge=EARLIEST_YEAR, le=LATEST_YEAR, description="default: this year")] = None,
) -> dict[str, Any]:
    chosen = year if year is not None else local(services.clock.now()).year
    settings = services.settings
    return year_summary(services.store.engine, chosen, saving_thb=settings.referral_saving_thb,
                        saving_zones=settings.referral_saving_zones)


@router.get("/incidents.geojson", response_class=GeoJSONResponse, response_model=None,
            responses=answers(IncidentFeaturesOut),
            summary="Incidents as a GeoJSON FeatureCollection (WGS84 points) for GIS")
def incidents_geojson(actor: Auditor, services: ServicesDep, flt: FilterDep) -> JSONResponse:
    features = queries.incident_features(services.store.engine, flt)
    return JSONResponse(exports.geojson(features), media_type="application/geo+json")


@router.get("/nemsis.csv", response_class=StreamingResponse,
            responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}},
            summary="One CSV line per resource response with NEMSIS eTimes.01 ... eTimes.14 (Bangkok time)")
def nemsis_csv(actor: Auditor, services: ServicesDep, flt: FilterDep) -> StreamingResponse:
    return _csv(exports.nemsis_csv(queries.iter_responses(services.store.engine, flt)), "nemsis-etimes", flt)


def _csv(chunks: Iterator[bytes], name: str, flt: ReportFilter) -> StreamingResponse:
    period = "-".join(_day(moment) for moment in (flt.from_at, flt.to_at) if moment is not None)
    filename = f"{name}-{period}.csv" if period else f"{name}.csv"
    return StreamingResponse(chunks, media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def _day(moment: datetime) -> str:
    return local(moment).strftime("%Y%m%d")
