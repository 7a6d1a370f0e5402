"""JSON log lines, one per event, each carrying the trace id of the request or consumed event."""

from __future__ import annotations

import logging
import random
import sys
from contextvars import ContextVar
from typing import Any

import orjson

trace_id_var: ContextVar[str] = ContextVar("trace_id", default="")

_STANDARD_ATTRS = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message",
    "asctime",
    "taskName",
}


def new_trace_id() -> str:
    # 32 hex digits, as uuid4().hex, without a system call per request: a trace id correlates
    # log lines, it guards nothing, so it need not be unguessable.
    return f"{random.getrandbits(128):032x}"


def current_trace_id() -> str:
    return trace_id_var.get() or new_trace_id()


def trace_id_from_traceparent(header: str | None) -> str | None:
    # W3C traceparent: version-traceid-parentid-flags
    if not header:
        return None
    parts = header.split("-")
    if len(parts) == 4 and len(parts[1]) == 32:
        return parts[1]
    return None


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname.lower(),
            "service": self.service,
            "event": record.getMessage(),
            "logger": record.name,
            "trace_id": trace_id_var.get(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                line[key] = value
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(line, default=str).decode()


def configure_logging(service: str, level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("aiokafka", "kafka", "httpx"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    logging.getLogger("uvicorn.access").disabled = True
