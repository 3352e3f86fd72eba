"""Benchmarks that print figures (run with `make bench-<name>`, the local stack up)."""
