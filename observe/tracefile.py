"""The trace log on disk: records rendered as JSON lines (a record that cannot be becomes an
error record), written off the event loop, rotated by size and by day.

Flush policy: a span is handed to a queue (the caller never waits on the disk); one writer thread
takes each line, writes it and flushes it to the operating system at once, so a crash of the
process (an exception, SIGTERM, ``os._exit``) loses nothing already written. ``close`` and the
interpreter's exit drain the queue first. Only lines still queued when the process is killed
outright (SIGKILL, OOM), normally the last few milliseconds, can be lost; a power loss can also
lose what the OS had not synced.

Rotation (stdlib ``logging.handlers``): the live file is ``traces.jsonl``; when it would pass
``max_bytes`` or the UTC day changes, it is renamed ``traces.<UTC time>.jsonl`` and a new one
starts. Rotated files older than ``retention_days`` are deleted. Readers glob ``traces*.jsonl``.
"""

from __future__ import annotations

import atexit
import json
import logging
import logging.handlers
import math
import os
import queue
import time
from collections.abc import Iterator, Mapping, MutableMapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

DEFAULT_MAX_BYTES = 64 * 1024 * 1024
DEFAULT_RETENTION_DAYS = 30


def trace_files(live: Path) -> list[Path]:
    """Every file of the trace log whose live file is ``live``: rotated ones (oldest first),
    then the live one."""
    rotated = sorted(live.parent.glob(f"{live.stem}.*{live.suffix}"))
    return [*rotated, live] if live.exists() else rotated


class _RotatingLines(logging.handlers.BaseRotatingHandler):
    """Writes each record's message as one line; rolls over on size or on a new UTC day."""

    def __init__(self, path: Path, max_bytes: int, retention_days: int) -> None:
        super().__init__(str(path), mode="a", encoding="utf-8", delay=False)
        self.live = path
        self.max_bytes = max_bytes
        self.retention_days = retention_days
        self.day = _utc_day(path.stat().st_mtime if path.exists() else time.time())

    def format(self, record: logging.LogRecord) -> str:
        return str(record.msg)

    def shouldRollover(self, record: logging.LogRecord) -> bool:  # noqa: N802 (stdlib name)
        if self.stream is None:
            return False
        if _utc_day(time.time()) != self.day:
            return True
        size = self.stream.tell()
        return size > 0 and size + len(str(record.msg)) + 1 > self.max_bytes

    def doRollover(self) -> None:  # noqa: N802 (stdlib name)
        if self.stream:
            self.stream.close()
            self.stream = None
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        if self.live.exists() and self.live.stat().st_size:
            rotated = self.live.with_name(f"{self.live.stem}.{stamp}{self.live.suffix}")
            os.replace(self.live, rotated)
        self._prune()
        self.day = _utc_day(time.time())
        self.stream = self._open()

    def _prune(self) -> None:
        cutoff = time.time() - timedelta(days=self.retention_days).total_seconds()
        for old in self.live.parent.glob(f"{self.live.stem}.*{self.live.suffix}"):
            try:
                if old.stat().st_mtime < cutoff:
                    old.unlink()
            except OSError:
                continue


def _json_value(value: Any) -> Any:
    """Values JSON cannot hold: NaN/inf become ``None``, other objects their ``repr``."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, set | frozenset):
        return sorted(map(str, value))
    return repr(value)


def render_line(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> str:
    """The record as one JSON line; a record that cannot be serialised becomes an error record
    (same envelope, ``record: "error"``) instead of a crash or a broken line."""
    try:
        return json.dumps(_finite(event_dict), default=_json_value, allow_nan=False)
    except (TypeError, ValueError, RecursionError) as exc:
        return error_line(event_dict, exc)


def error_line(record: Mapping[str, Any], exc: BaseException) -> str:
    """The error record that replaces ``record`` when it cannot be processed or serialised:
    the envelope's ids and the error's type, no attribute values."""
    keep = ("schema", "ts", "service.name", "trace_id", "span_id", "name")
    error = {k: record[k] for k in keep if isinstance(record.get(k), str)}
    error.update({"record": "error", "error.type": type(exc).__name__})
    return json.dumps(error)


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def _utc_day(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d")


class TraceFile:
    """An append-only, rotating JSON-lines file; ``write`` returns at once."""

    def __init__(
        self,
        path: Path,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        retention_days: int = DEFAULT_RETENTION_DAYS,
    ) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._handler = _RotatingLines(path, max_bytes, retention_days)
        self._handler.setLevel(logging.INFO)
        # queue.Queue (not SimpleQueue): the listener marks each record done, so flush() can
        # wait with join() while the writer thread keeps running (safe from any thread).
        self._queue: queue.Queue[logging.LogRecord] = queue.Queue()
        self._listener = logging.handlers.QueueListener(self._queue, self._handler)
        self._listener.start()
        self._closed = False
        atexit.register(self.close)

    def write(self, line: str) -> None:
        """Queue one line (without its newline) for the writer thread."""
        if self._closed:
            return
        self._queue.put(logging.makeLogRecord({"msg": line, "levelno": logging.INFO}))

    def flush(self) -> None:
        """Wait until every queued line is on disk (used by tests and readers in-process)."""
        if not self._closed:
            self._queue.join()

    def close(self) -> None:
        """Drain the queue and close the file; later writes are ignored."""
        if self._closed:
            return
        self._closed = True
        self._listener.stop()
        self._handler.close()
        atexit.unregister(self.close)


def trace_records(live: Path, since_ns: int = 0) -> Iterator[dict[str, Any]]:
    """Every record of the trace log (rotated files first), skipping lines that are not JSON
    objects and spans that started before ``since_ns`` (evaluations are always kept)."""
    for path in trace_files(live):
        try:
            lines = path.open(encoding="utf-8", errors="replace")
        except OSError:
            continue
        with lines:
            for line in lines:
                try:
                    record = json.loads(line)
                except ValueError:
                    continue
                if not isinstance(record, dict):
                    continue
                start = record.get("start_time_unix_nano")
                if since_ns and isinstance(start, int) and start < since_ns:
                    continue
                yield record


def read_whole_lines(path: Path, offset: int, limit: int = 64 * 1024 * 1024) -> bytes:
    """Up to ``limit`` bytes of complete lines of ``path`` after ``offset``: a line still being
    written waits for the next read; an unreadable file gives ``b""``."""
    try:
        with path.open("rb") as f:
            f.seek(offset)
            data = f.read(limit)
    except OSError:
        return b""
    end = data.rfind(b"\n")
    return data[: end + 1] if end >= 0 else b""
