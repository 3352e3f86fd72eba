"""Developer and operator tooling: the `xf` command line, the local stack and test helpers.
No service imports it (tests/unit/test_layers.py checks)."""
