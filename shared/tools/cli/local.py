"""Defaults that point the CLI at the local stack when no setting says otherwise."""

from __future__ import annotations


def local_dsn(service: str) -> str:
    """The DSN of ``service``'s database on the local stack (``xf stack up``)."""
    from shared.tools.stack import control
    from shared.tools.stack.layout import Layout

    return control.dsns(Layout())[service]


def local_url(service: str) -> str:
    """The base URL of ``service`` on the local stack (moved by XF_STACK_PORT_OFFSET)."""
    from shared.tools.stack.layout import Layout

    return f"http://127.0.0.1:{Layout().service_port(service)}"
