"""The deadlines API's OpenAPI 3.1 document, served at ``/openapi.json``."""

from __future__ import annotations

from typing import Any

from services.deadlines.api import MAX_LIMIT
from shared.domain.limits import DeadlineKind
from shared.platform import openapi as oa

_KIND = {"enum": [k.value for k in DeadlineKind]}
_TIMER = {"type": "object", "required": ["kind", "due_date", "provisional", "status", "article"],
          "properties": {"kind": _KIND, "due_date": oa.DATE, "provisional": {"type": "boolean"},
                         "status": {"enum": ["pending", "warned", "overdue", "met",
                                             "cancelled"]},
                         "article": {"type": "string"}, "history": {"type": "array"}}}
_OVERDUE = {"type": "object", "required": ["case_id", "kind", "due_date", "days_overdue"],
            "properties": {"case_id": {"type": "string"}, "kind": _KIND, "due_date": oa.DATE,
                           "days_overdue": {"type": "integer"}, "unit": oa.NULLABLE_STRING}}
_DUE_SOON = {"type": "object", "required": ["case_id", "kind", "due_date", "days_left"],
             "properties": {"case_id": {"type": "string"}, "kind": _KIND, "due_date": oa.DATE,
                            "days_left": {"type": "integer"}, "unit": oa.NULLABLE_STRING}}
_YEAR_DAYS = {"type": "object", "required": ["holidays", "workdays"], "properties": {
    "holidays": {"type": "array", "items": oa.DATE},
    "workdays": {"type": "array", "items": oa.DATE}}}
_YEAR = {"type": "object", "required": ["year", "holidays", "workdays"], "properties": {
    "year": {"type": "integer"}, "has_data": {"type": "boolean"},
    "source": oa.NULLABLE_STRING, "holidays": {"type": "array", "items": oa.DATE},
    "workdays": {"type": "array", "items": oa.DATE}}}
_APPLIED = {"type": "object", "required": ["year", "removed", "changed", "rescheduled"],
            "properties": {"year": {"type": "integer"}, "removed": {"type": "boolean"},
                           "changed": {"type": "boolean"}, "revision": {"type": "integer"},
                           "rescheduled": {"type": "integer"}}}
_OVERLAY = {"type": "array", "items": {"type": "object", "required": ["year", "source"],
                                       "properties": {"year": {"type": "integer"},
                                                      "source": {"type": "string"},
                                                      "updated_at": oa.DATE_TIME}}}


def document() -> dict[str, Any]:
    year = oa.path_param("year", {"type": "integer", "minimum": 1949, "maximum": 9998})
    total = {"X-Total-Count": {"schema": {"type": "integer"},
                               "description": "overdue timers before the limit"}}
    paths = {
        "/v1/deadlines/{case_id}": {"get": oa.operation(
            "Every timer of a case (staff; a unit: its own cases)",
            {200: oa.json_body({"type": "array", "items": oa.ref("Timer")}, "timers")},
            refusals=(403, 404), parameters=[oa.path_param("case_id")])},
        "/v1/overdue": {"get": oa.operation(
            "Open overdue timers, longest overdue first (a unit sees its own)",
            {200: oa.json_body({"type": "array", "items": oa.ref("Overdue")}, "overdue timers",
                            headers=total)},
            refusals=(403,), parameters=[
                oa.query("unit"), oa.query("jurisdiction"), oa.query("kind", _KIND),
                oa.query("limit", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT})])},
        "/v1/due-soon": {"get": oa.operation(
            "Open duties warned and not yet overdue, due first (a unit sees its own)",
            {200: oa.json_body({"type": "array", "items": oa.ref("DueSoon")}, "warned timers",
                            headers=total)},
            refusals=(403,), parameters=[
                oa.query("unit"), oa.query("jurisdiction"), oa.query("kind", _KIND),
                oa.query("limit", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT})])},
        "/v1/calendar": {"get": oa.operation("The years in the operators' calendar overlay",
                                          {200: oa.json_body(_OVERLAY, "overlay years")})},
        "/v1/calendar/{year}": {
            "get": oa.operation("A year's holidays and make-up working days",
                             {200: oa.json_body(oa.ref("Year"), "the year")}, parameters=[year]),
            "put": oa.operation("Set a year's days (admin); open timers are recounted",
                             {200: oa.json_body(oa.ref("CalendarApplied"), "applied")},
                             refusals=(400, 403, 413, 415, 429), parameters=[year],
                             body=oa.json_request(_YEAR_DAYS)),
            "delete": oa.operation("Remove a year from the overlay (admin)",
                                {200: oa.json_body(oa.ref("CalendarApplied"), "removed")},
                                refusals=(403, 429), parameters=[year])},
    }
    return oa.document("Xinfang deadlines",
                       "Statutory time limits of every case on the working-day calendar.",
                       {**paths, **oa.audit_paths(), **oa.reconcile_paths()},
                       {"Timer": _TIMER, "Overdue": _OVERDUE, "DueSoon": _DUE_SOON, "Year": _YEAR,
                        "CalendarApplied": _APPLIED})
