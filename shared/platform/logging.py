"""structlog set-up: JSON lines, ISO UTC timestamps, bound context, no personal data.

The stdlib loggers of faust, mode, aiokafka and aiohttp are routed through the same
processors so that every line a service writes is one JSON object.
"""

from __future__ import annotations

import logging
import logging.config
from collections.abc import MutableMapping
from typing import Any

import structlog

# Keys that may carry a petitioner's identity. Handlers never log them; this processor is the
# second line of defence should one slip into an event dict anyway.
PERSONAL_KEYS = frozenset(
    {
        "name",
        "petitioner",
        "petitioner_name",
        "id_number",
        "resident_id",
        "phone",
        "address",
        "address_string",
        "first_name",
        "last_name",
        "email",
    }
)


def drop_personal_data(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    for key in PERSONAL_KEYS & event_dict.keys():
        event_dict[key] = "[redacted]"
    return event_dict


_SERVICE: dict[str, str] = {}


def add_service(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    event_dict.update(_SERVICE)
    return event_dict


_SHARED_PROCESSORS: list[Any] = [
    structlog.contextvars.merge_contextvars,
    add_service,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
    drop_personal_data,
]


def logging_config(level: str = "INFO") -> dict[str, Any]:
    """A ``logging.config.dictConfig`` dict that renders every stdlib record as JSON."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "json": {
                "()": structlog.stdlib.ProcessorFormatter,
                "processors": [
                    structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    structlog.processors.format_exc_info,
                    structlog.processors.JSONRenderer(ensure_ascii=False),
                ],
                "foreign_pre_chain": _SHARED_PROCESSORS,
            }
        },
        "handlers": {
            "default": {"class": "logging.StreamHandler", "formatter": "json"},
        },
        "root": {"handlers": ["default"], "level": level},
        "loggers": {
            # Chatty at INFO; their warnings still come through.
            "aiokafka": {"level": "WARNING"},
            "faust": {"level": "WARNING"},
            "mode": {"level": "WARNING"},
            "aiohttp.access": {"level": "WARNING"},
        },
    }


def configure_logging(service: str, level: str = "INFO") -> None:
    logging.config.dictConfig(logging_config(level))
    structlog.configure(
        processors=[
            *_SHARED_PROCESSORS,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    _SERVICE["service"] = service


def get_logger(name: str | None = None) -> Any:
    return structlog.get_logger(name)
