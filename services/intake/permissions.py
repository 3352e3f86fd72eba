"""Who may take which action on a case (docs/domain.md §3, §6 and §7), beside what the
lifecycle allows: the answer to "what may this caller do here now" that a page shows as buttons.

- The lifecycle's own steps (accept … rereview_decision, the extension *request*, hearings):
  the assigned unit — a handler, a unit head or the unit's machine token — staff and admin.
- ``approve_extension`` / ``refuse_extension``: the head of the assigned unit, a person
  (Art. 34: 经本行政机关负责人批准), and admin. A unit's machine token may request an extension
  but not approve one: it names a client, not the responsible head. Staff, who do not run the
  unit, neither.
- ``urge`` (督办) and ``flag_key``: the petition office (staff) and admin.
- ``instruct`` (领导批示): only the leader responsible for the key case — the leader whose name
  routing's rules gave the case (see ``responsible_leader``); nobody else writes a leader's
  instruction, not even admin.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from services.intake.case_model import Action, CaseState
from services.intake.lifecycle import allowed_actions
from shared.platform.auth import Principal

A = Action
HEAD_ACTIONS = frozenset({A.APPROVE_EXTENSION, A.REFUSE_EXTENSION})
OFFICE_ACTIONS = frozenset({A.URGE, A.FLAG_KEY})


def responsible_leader(who: Principal, case: Mapping[str, Any]) -> bool:
    """A leader signed in whose display name is the one routing named for this key case.

    Routing's rules name each jurisdiction's leader (领导包案) and the assignment carries that
    name; a leader's account is created under the same display name. That is the whole link:
    no leader is responsible for a case that is not key, and a machine token is never a leader.
    """
    return (who.role == "leader" and who.is_person and bool(case["key_case"])
            and bool(who.name) and case["leader"] == who.name)


def may(who: Principal, action: Action, case: Mapping[str, Any]) -> bool:
    """Whether ``who``'s role lets them take ``action`` on ``case`` (a case row or alike)."""
    unit = case["assigned_unit"]
    if action in HEAD_ACTIONS:
        return who.role == "admin" or (who.person_role == "unit_head" and unit is not None
                                       and who.unit == unit)
    if action in OFFICE_ACTIONS:
        return who.is_staff
    if action is A.INSTRUCT:
        return responsible_leader(who, case)
    return who.may_act_for(unit)


def allowed_for(who: Principal, state: CaseState, case: Mapping[str, Any]) -> list[str]:
    """What ``who`` may do on the case now: the lifecycle's allowed actions their role has."""
    return [a for a in allowed_actions(state) if may(who, Action(a), case)]


def may_read(who: Principal, case: Mapping[str, Any]) -> bool:
    """Staff and admin, the assigned unit, and the responsible leader of a key case."""
    return who.is_staff or (who.role == "unit" and who.may_act_for(case["assigned_unit"])) \
        or responsible_leader(who, case)
