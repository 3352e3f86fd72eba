"""The case page's action forms, one per action the case record says the signed-in person may
take now (intake's ``allowed_actions``): which details each form asks for, in what words, and
the actions API body it posts. An action intake adds later gets a plain button until it has an
entry here; the page never offers what intake does not allow."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class Form:
    reason: str = ""  # the reason field's label; empty: no reason field
    reason_required: bool = False
    days: bool = False  # 延期天数
    respond_by: bool = False  # 督办: the date the unit must answer by
    rating: bool = False
    secondary: bool = False  # drawn as an outline button: not the usual next step


FORMS: dict[str, Form] = {
    "accept": Form(),
    "reply": Form(reason="答复内容（信访人将看到）", reason_required=True),
    "close": Form(),
    "feedback": Form(),
    "approve_extension": Form(),
    "refuse_extension": Form(reason="不予批准的理由", reason_required=True, secondary=True),
    "review_decision": Form(reason="复查意见", reason_required=True),
    "rereview_decision": Form(reason="复核意见", reason_required=True),
    "hearing_started": Form(secondary=True),
    "hearing_ended": Form(),
    "instruct": Form(reason="批示内容", reason_required=True),
    "urge": Form(reason="督办意见", reason_required=True, respond_by=True),
    "flag_key": Form(reason="列为重点信访件的理由", secondary=True),
    "extend": Form(reason="延期理由", reason_required=True, days=True, secondary=True),
    "decline": Form(reason="不予受理的理由（信访人将看到）", reason_required=True,
                    secondary=True),
    "object": Form(reason="异议理由（不属本单位职责的依据）", reason_required=True,
                   secondary=True),
    "rate": Form(rating=True, secondary=True),
    "request_review": Form(reason="复查请求（代信访人登记）", secondary=True),
    "request_rereview": Form(reason="复核请求（代信访人登记）", secondary=True),
}
# Routing decides transfers out of the bureau; the page does not offer them.
NOT_ON_PAGE = frozenset({"transfer_out", "assign"})
ORDER = list(FORMS)
RATINGS = (("satisfied", "满意"), ("basically_satisfied", "基本满意"), ("unsatisfied", "不满意"))


def page_actions(allowed: list[str]) -> list[tuple[str, Form]]:
    """The forms to draw, usual next steps first, then the others intake allows."""
    shown = [a for a in allowed if a not in NOT_ON_PAGE]
    shown.sort(key=lambda a: (FORMS.get(a, Form()).secondary,
                              ORDER.index(a) if a in FORMS else len(ORDER)))
    return [(a, FORMS.get(a, Form())) for a in shown]


def action_body(action: str, form: dict[str, str]) -> dict[str, Any]:
    """The API body of a posted action form. Values go as typed: intake validates and names
    the field, and the page shows its message there."""
    spec = FORMS.get(action, Form())
    body: dict[str, Any] = {"action": action}
    reason = form.get("reason", "").strip()
    if spec.reason and reason:
        body["reason"] = reason
    if spec.days:
        days = form.get("days", "").strip()
        body["days"] = int(days) if days.isdigit() else days
    if spec.respond_by:
        body["respond_by"] = form.get("respond_by", "").strip()
    if spec.rating:
        body["rating"] = form.get("rating", "")
    return body
