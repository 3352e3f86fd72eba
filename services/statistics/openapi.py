"""The statistics API's OpenAPI 3.1 document, served at ``/openapi.json``."""

from __future__ import annotations

from typing import Any

from services.statistics.api import XLSX
from services.statistics.assessment_queries import REPORT_BACK_STATUSES
from services.statistics.figures import BREAKDOWN_DIMENSIONS
from services.statistics.params import COMPARE, FORMATS
from shared.platform import openapi as oa

_RATE = {"type": "number", "minimum": 0, "description": "percent, two decimals"}
_COUNT = {"type": "integer", "minimum": 0}
_INDICATORS = {"timely_acceptance_rate": _RATE, "on_time_answer_rate": _RATE,
               "participation_rate": _RATE, "repeat_petitions": _COUNT,
               "key_case_resolution_rate": _RATE}
_SUMMARY = {"type": "object", "required": ["received", "closed", "in_progress", "overdue",
                                           "closure_rate", "on_time_rate", "feedback_rate",
                                           "satisfaction_rate", *_INDICATORS], "properties": {
    "received": _COUNT, "closed": _COUNT, "in_progress": _COUNT, "overdue": _COUNT,
    "closure_rate": _RATE, "on_time_rate": _RATE, "feedback_rate": _RATE,
    "satisfaction_rate": _RATE, **_INDICATORS, "comparison": {"type": "object"},
    "people": {**_COUNT, "description": "人次: the head count of the cases received (signers, "
                                        "a group visit's people), beside the cases (件次)"},
    "urges": {**_COUNT, "description": "督办: urges on the cases received"}}}
_BREAKDOWN = {"type": "object", "required": ["total", "rows"], "properties": {
    "total": _COUNT, "comparison": {"type": "object"},
    "rows": {"type": "array", "items": {
        "type": "object", "required": ["key", "label", "count", "percent", "closed",
                                       "closure_rate"],
        "properties": {"key": {"type": "string"}, "label": {"type": ["string", "null"]},
                       "count": _COUNT, "percent": _RATE, "closed": _COUNT,
                       "closure_rate": _RATE, "people": _COUNT, "urges": _COUNT,
                       "report_back": {
                           "type": "object", "description": "by=assigning_body only",
                           "properties": {k: _COUNT for k in REPORT_BACK_STATUSES}}}}}}}


def _period() -> list[dict[str, Any]]:
    return [oa.query("from", oa.DATE), oa.query("to", oa.DATE), oa.query("as_of", oa.DATE_TIME),
            oa.query("channel"), oa.query("jurisdiction"), oa.query("category"),
            oa.query("compare", {"enum": list(COMPARE)})]


def document() -> dict[str, Any]:
    staff = (403,)
    paths = {
        "/v1/stats/summary": {"get": oa.operation(
            "Received, closed, overdue and the rates of a period (staff)",
            {200: oa.json_body(oa.ref("Summary"), "figures")}, refusals=staff,
            parameters=_period())},
        "/v1/stats/breakdown": {"get": oa.operation(
            "A period's cases by one dimension, largest first (staff)",
            {200: oa.json_body(oa.ref("Breakdown"), "rows")}, refusals=staff,
            parameters=[oa.query("by", {"enum": list(BREAKDOWN_DIMENSIONS)}, required=True),
                        *_period()])},
        "/v1/reports/quarterly": {"get": oa.operation(
            "The quarterly report as CSV or XLSX (staff)",
            {200: {"description": "the report", "content": {
                "text/csv": {"schema": {"type": "string"}},
                XLSX: {"schema": {"type": "string", "format": "binary"}}}}},
            refusals=staff, parameters=[
                oa.query("year", {"type": "integer", "minimum": 2, "maximum": 9998},
                      required=True),
                oa.query("quarter", {"type": "integer", "minimum": 1, "maximum": 4},
                      required=True),
                oa.query("format", {"enum": list(FORMATS)}), oa.query("as_of", oa.DATE_TIME)])},
    }
    return oa.document("Xinfang statistics",
                       "Official petition statistics: summaries, breakdowns, quarterly reports.",
                       {**paths, **oa.reconcile_paths()},
                       {"Summary": _SUMMARY, "Breakdown": _BREAKDOWN})
