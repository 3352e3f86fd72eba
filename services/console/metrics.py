"""The console's metrics: sign-ins by outcome (never by username)."""

from __future__ import annotations

from prometheus_client import Counter

LOGINS = Counter("xinfang_console_logins_total",
                 "Sign-in attempts by outcome (granted, refused, locked)", ["outcome"])
