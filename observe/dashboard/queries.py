"""The dashboard's panels as queries over a ``TraceStore``.

Every panel takes the same ``Filters`` (time range, channel, intent, model): turn-level panels
filter the ``turns`` table, span-level ones keep the spans of the filtered turns' traces.
Percentiles are nearest-rank (``quantile_disc``), as ``observe.stats.percentile``. Results are
plain JSON-ready dicts; the page draws them, ``ops_stats`` and ``assistant traces`` print them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from observe.dashboard.store import TraceStore

LOW_CONFIDENCE = 0.45
"""Intent confidence under which the classifier hands over to the model (``intent_threshold``)."""
LOW_SIMILARITY = 0.45
"""A best retrieved passage under this cosine similarity marks a knowledge gap."""
PANELS = (
    "totals",
    "volume",
    "latency",
    "first_text",
    "cache",
    "guards",
    "intents",
    "errors",
    "usage",
    "quality",
    "gaps",
    "recent",
)
"""The page's panels: each a ``Panels`` method of that name taking ``Filters`` (the page's
``data-panel`` names too)."""
RANGES = {
    "1h": timedelta(hours=1),
    "24h": timedelta(days=1),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
}


@dataclass(frozen=True)
class Filters:
    """What every panel is limited to; ``None`` means no limit."""

    since: datetime | None = None
    until: datetime | None = None
    channel: str | None = None
    intent: str | None = None
    model: str | None = None

    @classmethod
    def from_query(cls, query: dict[str, str], now: datetime | None = None) -> Filters:
        """From URL parameters: ``range`` (1h/24h/7d/30d/all) or ``since``/``until`` (ISO
        times), ``channel``, ``intent``, ``model``; unknown values raise ``ValueError``."""
        now = now or datetime.now(UTC)
        since = _time(query.get("since"))
        until = _time(query.get("until"))
        span = query.get("range", "24h" if since is None else "all")
        if span != "all":
            if span not in RANGES:
                raise ValueError(f"range must be one of {[*RANGES, 'all']}, not {span!r}")
            since = since or now - RANGES[span]
        return cls(
            since,
            until,
            query.get("channel") or None,
            query.get("intent") or None,
            query.get("model") or None,
        )

    def where(self) -> tuple[str, list[Any]]:
        """A WHERE clause over ``turns`` and its parameters."""
        clauses: list[str] = ["TRUE"]
        params: list[Any] = []
        for column, value in (
            ("channel", self.channel),
            ("intent", self.intent),
            ("model", self.model),
        ):
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(value)
        if self.since is not None:
            clauses.append("at_ts >= ?")
            params.append(self.since)
        if self.until is not None:
            clauses.append("at_ts < ?")
            params.append(self.until)
        return " AND ".join(clauses), params


def _time(value: str | None) -> datetime | None:
    if not value:
        return None
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def bucket_for(filters: Filters, store: TraceStore) -> str:
    """A time bucket that gives a readable number of points for the range."""
    since = filters.since
    if since is None:
        row = store.query("SELECT min(at_ts) AS first FROM turns")
        since = row[0]["first"] if row and row[0]["first"] else datetime.now(UTC)
    until = filters.until or datetime.now(UTC)
    hours = max(0.0, (until - since).total_seconds() / 3600)
    if hours <= 6:
        return "5 minutes"
    if hours <= 48:
        return "1 hour"
    if hours <= 24 * 14:
        return "6 hours"
    return "1 day"


class Panels:
    """Queries for each panel of the dashboard."""

    def __init__(self, store: TraceStore) -> None:
        self.store = store

    def _turns(self, filters: Filters, select: str, tail: str = "") -> list[dict[str, Any]]:
        where, params = filters.where()
        return self.store.query(f"SELECT {select} FROM turns WHERE {where} {tail}", params)

    def _spans(
        self, filters: Filters, select: str, where: str = "TRUE", tail: str = ""
    ) -> list[dict[str, Any]]:
        turn_where, params = filters.where()
        sql = (
            f"SELECT {select} FROM spans WHERE ({where}) AND trace_id IN "
            f"(SELECT trace_id FROM turns WHERE {turn_where}) {tail}"
        )
        return self.store.query(sql, params)

    def totals(self, filters: Filters) -> dict[str, Any]:
        """Headline numbers of the period."""
        (row,) = self._turns(
            filters,
            """count(*) AS turns,
               count(*) FILTER (WHERE intent = 'question') AS questions,
               count(*) FILTER (WHERE intent = 'question' AND cache_hit) AS cache_hits,
               count(*) FILTER (WHERE status = 'ERROR') AS errors,
               coalesce(sum(input_tokens), 0) AS input_tokens,
               coalesce(sum(output_tokens), 0) AS output_tokens,
               coalesce(sum(cost_usd), 0) AS cost_usd,
               quantile_disc(duration_ms, 0.5) AS p50_ms,
               quantile_disc(duration_ms, 0.95) AS p95_ms,
               quantile_disc(first_text_ms, 0.5) AS first_text_p50_ms,
               count(*) FILTER (WHERE thumbs_up) AS thumbs_up,
               count(*) FILTER (WHERE thumbs_down) AS thumbs_down""",
        )
        row["cache_hit_rate"] = row["cache_hits"] / row["questions"] if row["questions"] else None
        row["error_rate"] = row["errors"] / row["turns"] if row["turns"] else None
        return row

    def volume(self, filters: Filters) -> list[dict[str, Any]]:
        """Turns per time bucket and intent."""
        bucket = bucket_for(filters, self.store)
        return self._turns(
            filters,
            f"time_bucket(INTERVAL '{bucket}', at_ts) AS bucket, intent, count(*) AS turns",
            "GROUP BY ALL ORDER BY bucket, intent",
        )

    def latency(self, filters: Filters) -> list[dict[str, Any]]:
        """p50/p95/p99 duration per node (span name, chat and retrieval folded)."""
        return self._spans(
            filters,
            """node, count(*) AS n, quantile_disc(duration_ms, 0.5) AS p50_ms,
               quantile_disc(duration_ms, 0.95) AS p95_ms,
               quantile_disc(duration_ms, 0.99) AS p99_ms""",
            tail="GROUP BY node ORDER BY p95_ms DESC",
        )

    def first_text(self, filters: Filters) -> list[dict[str, Any]]:
        """Time to first chunk from the model and to first visible text in Slack, over time."""
        bucket = bucket_for(filters, self.store)
        return self._turns(
            filters,
            f"""time_bucket(INTERVAL '{bucket}', at_ts) AS bucket,
                quantile_disc(ttft_s * 1000, 0.5) AS ttft_p50_ms,
                quantile_disc(ttft_s * 1000, 0.95) AS ttft_p95_ms,
                quantile_disc(first_text_ms, 0.5) AS slack_p50_ms,
                quantile_disc(first_text_ms, 0.95) AS slack_p95_ms""",
            "GROUP BY ALL ORDER BY bucket",
        )

    def cache(self, filters: Filters) -> dict[str, Any]:
        """Hit rate over time, and what the hits saved (estimated from the misses' mean cost
        and duration)."""
        bucket = bucket_for(filters, self.store)
        series = self._turns(
            filters,
            f"""time_bucket(INTERVAL '{bucket}', at_ts) AS bucket,
                count(*) FILTER (WHERE cache_hit) / count(*) AS hit_rate, count(*) AS questions""",
            "AND intent = 'question' GROUP BY ALL ORDER BY bucket",
        )
        (saved,) = self._turns(
            filters,
            """count(*) FILTER (WHERE cache_hit) AS hits,
               avg(cost_usd) FILTER (WHERE NOT cache_hit) AS miss_cost,
               avg(duration_ms) FILTER (WHERE NOT cache_hit) AS miss_ms,
               avg(duration_ms) FILTER (WHERE cache_hit) AS hit_ms""",
            "AND intent = 'question'",
        )
        hits = saved["hits"] or 0
        return {
            "series": series,
            "hits": hits,
            "saved_cost_usd": hits * (saved["miss_cost"] or 0.0),
            "saved_s": hits * max(0.0, (saved["miss_ms"] or 0.0) - (saved["hit_ms"] or 0.0)) / 1000,
        }

    def guards(self, filters: Filters) -> list[dict[str, Any]]:
        """Guard trips by stage and validator."""
        turn_where, params = filters.where()
        return self.store.query(
            f"""SELECT stage, validator, count(*) AS trips FROM (
                    SELECT attributes->>'$."app.guard.stage"' AS stage,
                           unnest(from_json(attributes->'$."app.guard.checks"', '["VARCHAR"]'))
                               AS validator
                    FROM spans WHERE name IN ('guard.input', 'guard.output') AND trace_id IN
                        (SELECT trace_id FROM turns WHERE {turn_where}))
                GROUP BY ALL ORDER BY trips DESC""",
            params,
        )

    def intents(self, filters: Filters) -> dict[str, Any]:
        """The intent mix, and how many turns the classifier was unsure of."""
        mix = self._turns(
            filters, "intent, count(*) AS turns", "GROUP BY intent ORDER BY turns DESC"
        )
        (low,) = self._turns(
            filters,
            f"""count(*) FILTER (WHERE confidence < {LOW_CONFIDENCE}) AS low,
                count(confidence) AS classified""",
        )
        rate = low["low"] / low["classified"] if low["classified"] else None
        return {"mix": mix, "low_confidence_rate": rate, "low_confidence": low["low"]}

    def errors(self, filters: Filters) -> dict[str, Any]:
        """Failed spans by error type, and the latest failed turns."""
        by_type = self._spans(
            filters,
            "error_type, node, count(*) AS n",
            "status = 'ERROR'",
            "GROUP BY ALL ORDER BY n DESC",
        )
        latest = self._turns(
            filters,
            "trace_id, at_ts, error_type, channel, intent",
            "AND status = 'ERROR' ORDER BY at_ts DESC LIMIT 20",
        )
        return {"by_type": by_type, "latest": latest}

    def usage(self, filters: Filters) -> list[dict[str, Any]]:
        """Tokens and cost per time bucket and model."""
        bucket = bucket_for(filters, self.store)
        return self._turns(
            filters,
            f"""time_bucket(INTERVAL '{bucket}', at_ts) AS bucket, model,
                coalesce(sum(input_tokens), 0) AS input_tokens,
                coalesce(sum(output_tokens), 0) AS output_tokens,
                coalesce(sum(cost_usd), 0) AS cost_usd""",
            "GROUP BY ALL ORDER BY bucket, model",
        )

    def quality(self, filters: Filters) -> list[dict[str, Any]]:
        """Feedback and judge scores per time bucket (evaluations of the filtered turns)."""
        bucket = bucket_for(filters, self.store)
        turn_where, params = filters.where()
        return self.store.query(
            f"""SELECT time_bucket(INTERVAL '{bucket}', at_ts) AS bucket, eval_name,
                    count(*) AS n, avg(score) AS mean_score,
                    count(*) FILTER (WHERE label = 'negative') AS negative
                FROM evals WHERE trace_id IN (SELECT trace_id FROM turns WHERE {turn_where})
                GROUP BY ALL ORDER BY bucket, eval_name""",
            params,
        )

    def gaps(self, filters: Filters, limit: int = 20) -> list[dict[str, Any]]:
        """Questions the knowledge did not answer well (no citation, a low best similarity,
        or a 👎), clustered by their words, most frequent first."""
        rows = self._turns(
            filters,
            "question, trace_id, at_ts, citations, top_similarity, thumbs_down",
            f"""AND intent = 'question' AND question IS NOT NULL AND NOT coalesce(cache_hit, false)
                AND (coalesce(citations, 0) = 0 OR top_similarity < {LOW_SIMILARITY}
                     OR thumbs_down)
                ORDER BY at_ts DESC LIMIT 20000""",
        )
        return cluster_questions(rows)[:limit]

    def recent(self, filters: Filters, limit: int = 25) -> list[dict[str, Any]]:
        """The latest turns, for the trace viewer."""
        return self._turns(
            filters,
            """trace_id, at_ts, channel, intent, model, status, duration_ms, citations,
               cache_hit, question""",
            f"ORDER BY at_ts DESC LIMIT {int(limit)}",
        )

    def trace(self, trace_id: str) -> list[dict[str, Any]]:
        """Every span of one trace, earliest first, with offsets for a waterfall."""
        if not re.fullmatch(r"[0-9a-f]{32}", trace_id):
            raise ValueError("a trace id is 32 lowercase hex characters")
        return self.store.query(
            """SELECT span_id, parent_span_id, name, kind, status, duration_ms, error_type,
                      (start_ns - min(start_ns) OVER ()) / 1e6 AS offset_ms,
                      attributes::VARCHAR AS attributes
               FROM spans WHERE trace_id = ? ORDER BY start_ns, duration_ms DESC""",
            [trace_id],
        )

    def facets(self) -> dict[str, list[str]]:
        """The values the filters can take."""
        out: dict[str, list[str]] = {}
        for column in ("channel", "intent", "model"):
            rows = self.store.query(
                f"SELECT DISTINCT {column} AS v FROM turns WHERE {column} IS NOT NULL ORDER BY 1"
            )
            out[column] = [str(r["v"]) for r in rows]
        return out

    def summary(self, filters: Filters) -> dict[str, Any]:
        """Every panel at once (what the page loads)."""
        return {name: getattr(self, name)(filters) for name in PANELS}


_WORD = re.compile(r"<[A-Z_]+>|[a-z0-9]+")
_STOP = frozenset(
    "a an the to of for on in my our your is are was be do does did how what whats where who "
    "when which can could i we you it this that me us with and or at by from over s".split()
)


def _words(question: str) -> frozenset[str]:
    return frozenset(
        w for w in _WORD.findall(question.lower().replace("<", " <")) if w not in _STOP
    ) or frozenset(question.lower().split())


def cluster_questions(rows: list[dict[str, Any]], threshold: float = 0.5) -> list[dict[str, Any]]:
    """Group questions whose content words overlap (Jaccard ≥ ``threshold``) with the first
    question of a cluster; clusters sorted by size, each with its most common wording, why its
    questions count as gaps, and the latest trace."""
    clusters: list[dict[str, Any]] = []
    exact: dict[str, dict[str, Any]] = {}
    for row in rows:
        text = str(row["question"]).strip()
        cluster = exact.get(text)
        if cluster is None:
            words = _words(text)
            cluster = next((c for c in clusters if _jaccard(c["_words"], words) >= threshold), None)
            if cluster is None:
                cluster = {
                    "_words": words,
                    "wordings": {},
                    "count": 0,
                    "no_citation": 0,
                    "low_similarity": 0,
                    "thumbs_down": 0,
                    "trace_id": row["trace_id"],
                    "last_seen": row["at_ts"],
                }
                clusters.append(cluster)
            exact[text] = cluster
        cluster["count"] += 1
        cluster["wordings"][text] = cluster["wordings"].get(text, 0) + 1
        cluster["no_citation"] += not row.get("citations")
        similarity = row.get("top_similarity")
        cluster["low_similarity"] += similarity is not None and similarity < LOW_SIMILARITY
        cluster["thumbs_down"] += bool(row.get("thumbs_down"))
    out = []
    for c in sorted(clusters, key=lambda c: -c["count"]):
        wordings = sorted(c.pop("wordings").items(), key=lambda kv: -kv[1])
        c.pop("_words")
        out.append({"question": wordings[0][0], "variants": len(wordings), **c})
    return out


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0
