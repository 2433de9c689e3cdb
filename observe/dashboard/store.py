"""The trace log loaded into DuckDB, incrementally, for the dashboard's queries.

``TraceStore(live_path).refresh()`` reads whatever was appended to the trace files since the last
call: each file is tracked by inode and byte offset, so a rotation (a rename) is followed
without reading anything twice, and a file deleted by retention takes its rows with it. Only
whole lines are read; a line that is not JSON, or a record of another schema, is skipped and
counted. After new rows arrive the ``turns`` table (one row per ``turn`` span, joined with its
Slack reply, retrieval and chat spans and its feedback) is rebuilt.

Thread safety: one lock serialises refresh and queries (DuckDB connections are not shared
across threads without a cursor per thread).
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from observe.tracefile import read_whole_lines, trace_files
from observe.tracing import SCHEMA

REFRESH_EVERY_S = 2.0
"""A burst of queries reads the files at most this often."""
READ_CHUNK_BYTES = 64 * 1024 * 1024
"""Memory bound of one load step."""


def attr(name: str, cast: str = "VARCHAR") -> str:
    """SQL for one attribute of the ``attributes`` JSON column (keys contain dots)."""
    if cast == "VARCHAR":
        return f"(attributes->>'$.\"{name}\"')"
    return f"TRY_CAST(attributes->>'$.\"{name}\"' AS {cast})"


_COLUMNS = (
    "{schema: 'VARCHAR', record: 'VARCHAR', trace_id: 'VARCHAR', span_id: 'VARCHAR', "
    "parent_span_id: 'VARCHAR', name: 'VARCHAR', kind: 'VARCHAR', status: 'VARCHAR', "
    "start_time_unix_nano: 'BIGINT', duration_ms: 'DOUBLE', ts: 'VARCHAR', attributes: 'JSON'}"
)

_CREATE = """
CREATE TABLE IF NOT EXISTS spans (
    file_id BIGINT, trace_id VARCHAR, span_id VARCHAR, parent_span_id VARCHAR, name VARCHAR,
    node VARCHAR, kind VARCHAR, status VARCHAR, start_ns BIGINT, at_ts TIMESTAMPTZ,
    duration_ms DOUBLE, error_type VARCHAR, attributes JSON
);
CREATE TABLE IF NOT EXISTS evals (
    file_id BIGINT, trace_id VARCHAR, parent_span_id VARCHAR, at_ts TIMESTAMPTZ,
    eval_name VARCHAR, label VARCHAR, score DOUBLE
);
"""

_TURNS = f"""
CREATE OR REPLACE TABLE turns AS
WITH t AS (
    SELECT trace_id, span_id, parent_span_id, at_ts, start_ns, duration_ms, status, error_type,
           {attr("app.intent")} AS intent, {attr("app.cache_hit", "BOOLEAN")} AS cache_hit,
           {attr("app.blocked", "BOOLEAN")} AS blocked,
           {attr("app.citations", "INTEGER")} AS citations, {attr("app.model")} AS model,
           {attr("app.redacted.question")} AS question,
           {attr("app.rollup.input_tokens", "BIGINT")} AS input_tokens,
           {attr("app.rollup.output_tokens", "BIGINT")} AS output_tokens,
           {attr("app.rollup.cost_usd", "DOUBLE")} AS cost_usd
    FROM spans WHERE name = 'turn'
), slack AS (
    SELECT trace_id, {attr("app.slack.channel")} AS channel,
           {attr("app.slack.first_text_ms", "DOUBLE")} AS first_text_ms,
           {attr("app.slack.final_ms", "DOUBLE")} AS final_ms
    FROM spans WHERE name = 'slack.reply'
), retrieval AS (
    SELECT trace_id, max({attr("app.retrieval.top_similarity", "DOUBLE")}) AS top_similarity
    FROM spans WHERE node = 'retrieval' GROUP BY trace_id
), chat AS (
    SELECT trace_id, min({attr("gen_ai.response.time_to_first_chunk", "DOUBLE")}) AS ttft_s
    FROM spans WHERE node = 'chat' GROUP BY trace_id
), intent AS (
    SELECT trace_id, max({attr("app.intent.confidence", "DOUBLE")}) AS confidence
    FROM spans WHERE name = 'intent.classify' GROUP BY trace_id
), feedback AS (
    SELECT trace_id, bool_or(label = 'negative') AS thumbs_down,
           bool_or(label = 'positive') AS thumbs_up
    FROM evals WHERE eval_name = 'user_feedback' GROUP BY trace_id
)
SELECT t.*, coalesce(slack.channel, 'terminal') AS channel, slack.first_text_ms,
       slack.final_ms, retrieval.top_similarity, chat.ttft_s, intent.confidence,
       coalesce(feedback.thumbs_down, false) AS thumbs_down,
       coalesce(feedback.thumbs_up, false) AS thumbs_up
FROM t
LEFT JOIN slack USING (trace_id)
LEFT JOIN retrieval USING (trace_id)
LEFT JOIN chat USING (trace_id)
LEFT JOIN intent USING (trace_id)
LEFT JOIN feedback USING (trace_id)
"""


_SHARED: dict[Path, TraceStore] = {}
_SHARED_LOCK = threading.Lock()


def shared_store(live_path: Path) -> TraceStore:
    """The process's one store for ``live_path`` (loaded once, then refreshed incrementally)."""
    key = live_path.resolve()
    with _SHARED_LOCK:
        store = _SHARED.get(key)
        if store is None:
            store = _SHARED[key] = TraceStore(live_path)
        return store


@dataclass
class _Tracked:
    file_id: int
    offset: int = 0
    head: bytes = b""
    """The file's first bytes: tells a reused inode number from the file first seen."""


class TraceStore:
    """The spans and evaluations of one trace log, in an in-memory DuckDB database."""

    def __init__(self, live_path: Path, *, threads: int | None = None) -> None:
        self.live_path = live_path
        self.db = duckdb.connect(":memory:", config={"threads": threads or os.cpu_count() or 1})
        self.db.execute(_CREATE)
        self._lock = threading.RLock()
        self._files: dict[tuple[int, int], _Tracked] = {}
        self._next_id = 0
        self._checked_at = 0.0
        self._turns_built = False
        self.skipped_lines = 0
        self.loaded_records = 0

    def refresh(self, *, force: bool = False) -> bool:
        """Read what was appended since the last call; ``True`` when anything changed."""
        with self._lock:
            now = time.monotonic()
            if not force and now - self._checked_at < REFRESH_EVERY_S and self._turns_built:
                return False
            self._checked_at = now
            present = self._present()
            changed = self._load_new(present) | self._forget_deleted(present)
            if changed or not self._turns_built:
                self.db.execute(_TURNS)
                self._turns_built = True
            return changed

    def query(self, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
        """Rows of ``sql`` as dicts (after a refresh)."""
        self.refresh()
        with self._lock:
            cursor = self.db.execute(sql, params or [])
            names = [d[0] for d in cursor.description or []]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def _present(self) -> dict[tuple[int, int], tuple[Path, int]]:
        """The trace files now on disk: ``(device, inode) -> (path, size)``."""
        found: dict[tuple[int, int], tuple[Path, int]] = {}
        for path in trace_files(self.live_path):
            try:
                stat = path.stat()
            except OSError:
                continue
            found[(stat.st_dev, stat.st_ino)] = (path, stat.st_size)
        return found

    def _load_new(self, present: dict[tuple[int, int], tuple[Path, int]]) -> bool:
        changed = False
        for key, (path, size) in present.items():
            head = _head(path)
            tracked = self._files.get(key)
            if tracked is not None and (
                tracked.head != head[: len(tracked.head)] or size < tracked.offset
            ):
                # Another file under a reused inode number, or the file was truncated: the
                # rows read from it are stale.
                self._drop(self._files.pop(key).file_id)
                tracked, changed = None, True
            if tracked is None:
                tracked = self._files[key] = _Tracked(self._next_id)
                self._next_id += 1
            if len(tracked.head) < len(head):
                tracked.head = head
            while chunk := read_whole_lines(path, tracked.offset, READ_CHUNK_BYTES):
                self._insert(chunk, tracked.file_id)
                tracked.offset += len(chunk)  # only once the rows are in
                changed = True
        return changed

    def _forget_deleted(self, present: dict[tuple[int, int], tuple[Path, int]]) -> bool:
        gone = [key for key in self._files if key not in present]
        for key in gone:
            self._drop(self._files.pop(key).file_id)
        return bool(gone)

    def _drop(self, file_id: int) -> None:
        self.db.execute("DELETE FROM spans WHERE file_id = ?", [file_id])
        self.db.execute("DELETE FROM evals WHERE file_id = ?", [file_id])

    def _insert(self, chunk: bytes, file_id: int) -> None:
        with tempfile.NamedTemporaryFile("wb", suffix=".jsonl", delete=False) as tmp:
            tmp.write(chunk)
        try:
            source = (
                f"read_json('{tmp.name.replace(chr(39), chr(39) * 2)}', "
                "format='newline_delimited', ignore_errors=true, "
                f"columns={_COLUMNS})"
            )
            self.db.execute(f"CREATE OR REPLACE TEMP TABLE incoming AS SELECT * FROM {source}")
            lines = chunk.count(b"\n")
            good = self.db.execute(
                "SELECT count(*) FROM incoming WHERE schema = ? AND record IN ('span', 'eval')",
                [SCHEMA],
            ).fetchone()
            kept = int(good[0]) if good else 0
            self.loaded_records += kept
            self.skipped_lines += lines - kept
            self.db.execute(
                f"""INSERT INTO spans SELECT {file_id}, trace_id, span_id, parent_span_id, name,
                    CASE WHEN name LIKE 'chat %' THEN 'chat'
                         WHEN name LIKE 'retrieval %' THEN 'retrieval'
                         ELSE name END,
                    kind, status, start_time_unix_nano,
                    make_timestamp(start_time_unix_nano // 1000), duration_ms,
                    {attr("error.type")}, attributes
                FROM incoming WHERE schema = ? AND record = 'span'""",
                [SCHEMA],
            )
            self.db.execute(
                f"""INSERT INTO evals SELECT {file_id}, trace_id, parent_span_id,
                    TRY_CAST(ts AS TIMESTAMPTZ), {attr("gen_ai.evaluation.name")},
                    {attr("gen_ai.evaluation.score.label")},
                    {attr("gen_ai.evaluation.score.value", "DOUBLE")}
                FROM incoming WHERE schema = ? AND record = 'eval'""",
                [SCHEMA],
            )
            self.db.execute("DROP TABLE incoming")
        finally:
            os.unlink(tmp.name)


HEAD_BYTES = 256


def _head(path: Path) -> bytes:
    try:
        with path.open("rb") as f:
            return f.read(HEAD_BYTES)
    except OSError:
        return b""
