"""Alembic environment: shared by every service (see shared.platform.migrations)."""

from shared.platform.migrations import run_env

run_env()
