"""The one vocabulary of statuses: a case's, and a deadline timer's. Every service speaks these
words; none restates them."""

from __future__ import annotations

from enum import StrEnum


class CaseStatus(StrEnum):
    """The last milestone a case reached (the lifecycle is intake's transition table)."""

    REGISTERED = "registered"
    ASSIGNED = "assigned"
    TRANSFERRED_OUT = "transferred_out"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    EXTENDED = "extended"
    REPLIED = "replied"
    CLOSED = "closed"
    FEEDBACK_GIVEN = "feedback_given"
    RATED = "rated"
    REVIEW_REQUESTED = "review_requested"
    REVIEWED = "reviewed"
    REREVIEW_REQUESTED = "rereview_requested"
    FINAL = "final"


class TimerStatus(StrEnum):
    """Where one deadline stands: still running (pending, warned, overdue) or ended."""

    PENDING = "pending"
    WARNED = "warned"
    OVERDUE = "overdue"
    MET = "met"
    CANCELLED = "cancelled"


OPEN_TIMER_STATUSES = (TimerStatus.PENDING, TimerStatus.WARNED, TimerStatus.OVERDUE)
