"""Structured logs for services: one JSON object per line (``ts``, ``level``, ``event``, fields)."""

from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any


class JsonLog:
    """Thread-safe JSON-lines logger writing to stderr (default) or an appended file."""

    def __init__(self, path: Path | None = None, service: str = "zoo"):
        self.service = service
        self._lock = threading.Lock()
        self._stream: IO[str] = open(path, "a", buffering=1, encoding="utf-8") if path else sys.stderr  # noqa: SIM115

    def __call__(self, event: str, level: str = "info", **fields: Any) -> None:
        record = {"ts": round(time.time(), 3), "level": level, "service": self.service, "event": event, **fields}
        line = json.dumps(record, default=str, separators=(",", ":"))
        with self._lock:
            try:
                self._stream.write(line + "\n")
                self._stream.flush()
            except (OSError, ValueError):  # a closed stream must never break a request
                pass

    def close(self) -> None:
        if self._stream is not sys.stderr:
            self._stream.close()
