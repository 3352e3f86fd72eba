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
                         "article": {"type": "string"}, "history": {"type": "array"},
                         "calendar_version": {"type": "integer", "description":
                                              "the calendar revision the due date was "
                                              "counted on (0: the library's alone)"}}}
_OVERDUE = {"type": "object", "required": ["case_id", "kind", "due_date", "days_overdue"],
            "properties": {"case_id": {"type": "string"}, "kind": _KIND, "due_date": oa.DATE,
                           "days_overdue": {"type": "integer"}, "unit": oa.NULLABLE_STRING}}
_DUE_SOON = {"type": "object", "required": ["case_id", "kind", "due_date", "days_left"],
             "properties": {"case_id": {"type": "string"}, "kind": _KIND, "due_date": oa.DATE,
                            "days_left": {"type": "integer"}, "unit": oa.NULLABLE_STRING}}
_GROUP_ROW = {"type": "object", "required": ["key", "label", "overdue", "due_soon"],
              "properties": {"key": {**oa.NULLABLE_STRING, "description":
                                     "the unit's or jurisdiction's code; null: none known yet"},
                             "label": {**oa.NULLABLE_STRING, "description":
                                       "the jurisdiction's name; null for a unit (unit names "
                                       "are routing's)"},
                             "overdue": {"type": "integer", "minimum": 0,
                                         "description": "cases with an overdue duty"},
                             "due_soon": {"type": "integer", "minimum": 0, "description":
                                          "cases with a warned duty and none overdue"}}}
_SUMMARY = {"type": "object", "required": ["by", "overdue", "due_soon", "rows"],
            "properties": {"by": {"enum": ["unit", "jurisdiction"]},
                           "overdue": {"type": "integer", "minimum": 0},
                           "due_soon": {"type": "integer", "minimum": 0},
                           "rows": {"type": "array", "items": _GROUP_ROW}}}
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
                           "version": {"type": "integer"},
                           "rescheduled": {"type": "integer"}}}
_DAYS = {"type": "array", "items": oa.DATE}
_MOVED = {"type": "object", "required": ["case_id", "kind", "old_due_date", "new_due_date"],
          "properties": {"case_id": {"type": "string"}, "kind": _KIND,
                         "round": {"type": "integer"}, "old_due_date": oa.DATE,
                         "new_due_date": oa.DATE}}
_VERSION = {"type": "object",
            "required": ["version", "revision", "removed", "holidays", "workdays", "actor", "at",
                         "moved"],
            "properties": {"version": {"type": "integer"}, "revision": {"type": "integer"},
                           "removed": {"type": "boolean"}, "source": {"type": "string"},
                           "holidays": _DAYS, "workdays": _DAYS, "old_holidays": _DAYS,
                           "old_workdays": _DAYS, "old_source": oa.NULLABLE_STRING,
                           "actor": {"type": "object", "properties": {
                               "id": {"type": "string"}, "name": {"type": "string"}}},
                           "at": oa.DATE_TIME, "rescheduled": {"type": "integer"},
                           "moved": {"type": "array", "items": _MOVED}}}
_HISTORY = {"type": "object", "required": ["year", "versions"],
            "properties": {"year": {"type": "integer"},
                           "versions": {"type": "array", "items": oa.ref("CalendarVersion")}}}
_PROVISIONAL = {"type": "object", "required": ["case_id", "kind", "due_date", "years_without_data"],
                "properties": {"case_id": {"type": "string"}, "kind": _KIND,
                               "round": {"type": "integer"}, "due_date": oa.DATE,
                               "status": {"type": "string"}, "article": {"type": "string"},
                               "unit": oa.NULLABLE_STRING, "start_date": oa.DATE,
                               "calendar_version": {"type": "integer"},
                               "years_without_data": {"type": "array",
                                                      "items": {"type": "integer"}}}}
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
        "/v1/overdue/summary": {"get": oa.operation(
            "Cases overdue and due soon per unit or jurisdiction, counted by case: a case with "
            "two late duties counts once, one overdue and due soon counts as overdue (staff, "
            "admin, leader; a unit sees its own); most overdue first",
            {200: oa.json_body(oa.ref("OverdueSummary"), "counts per group")},
            refusals=(403,), parameters=[
                oa.query("by", {"enum": ["unit", "jurisdiction"]}, required=True),
                oa.query("unit"), oa.query("jurisdiction"), oa.query("kind", _KIND)])},
        "/v1/deadlines/provisional": {"get": oa.operation(
            "Open deadlines counted on a year without official calendar data (staff)",
            {200: oa.json_body({"type": "array", "items": oa.ref("Provisional")},
                               "provisional deadlines, due first", headers=total)},
            refusals=(403,), parameters=[
                oa.query("year", {"type": "integer", "minimum": 1949, "maximum": 9998}),
                oa.query("unit"), oa.query("kind", _KIND),
                oa.query("limit", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT})])},
        "/v1/calendar/{year}/history": {"get": oa.operation(
            "Every version of a year's calendar: who, when, the days, the deadlines it moved "
            "(staff)", {200: oa.json_body(oa.ref("CalendarHistory"), "the versions")},
            refusals=(403,), parameters=[year])},
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
                       {"Timer": _TIMER, "Overdue": _OVERDUE, "OverdueSummary": _SUMMARY,
                        "DueSoon": _DUE_SOON, "Year": _YEAR, "CalendarApplied": _APPLIED,
                        "CalendarHistory": _HISTORY,
                        "CalendarVersion": _VERSION, "Provisional": _PROVISIONAL})
