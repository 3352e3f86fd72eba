"""Alembic environment: shared by every service (see shared.migrations)."""

from shared.migrations import run_env

run_env()
