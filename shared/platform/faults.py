"""Fault points for the fault suite: named places where a process kills itself with SIGKILL
(or, for a fault that is not a crash, raises once: see :func:`tripped`).

Off unless the service was started with ``XF_FAULT_POINT=<name>`` (read once into settings and
armed by the composition root): a test that wants a crash "between a sweep's commit and its
relay's send" arms that point on one instance and watches what the system does next. Reaching an
armed point kills the process at once — no cleanup, no flush — as a power cut would.
"""

from __future__ import annotations

import os
import signal

_armed: str | None = None


def arm(name: str | None) -> None:
    global _armed
    _armed = name or None


def point(name: str) -> None:
    if _armed is not None and _armed == name:
        os.kill(os.getpid(), signal.SIGKILL)


def tripped(name: str) -> bool:
    """True the first time an armed ``name`` is reached, then disarmed: for faults that are
    not a crash (a producer that wedges), injected once by the caller."""
    global _armed
    if _armed is not None and _armed == name:
        _armed = None
        return True
    return False
