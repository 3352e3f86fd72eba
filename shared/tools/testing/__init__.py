"""Helpers for integration tests against the real local stack (shared by every service's
tests): waiting on a condition, reading a topic, connecting to a service's database."""
