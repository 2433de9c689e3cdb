"""``assistant bench dashboard``: how fast the dashboard's queries answer over a large log.

Generates (or takes) a trace log, loads it into the store once (timed), then runs every panel
query ``repeats`` times under a rotation of filters (all, one channel, one intent, one model,
the last 24 h) and reports nearest-rank p50/p95 per query in milliseconds, plus the whole page
(``summary``: every panel at once) and the store's memory.
"""

from __future__ import annotations

import resource
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evals.trace_gen import generate
from observe.dashboard.queries import PANELS, Filters, Panels
from observe.dashboard.store import TraceStore
from observe.stats import percentile


@dataclass
class DashboardReport:
    records: int
    load_s: float
    rss_mb: float
    per_query_ms: dict[str, dict[str, float]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        worst = max(
            (q["p95_ms"] for k, q in self.per_query_ms.items() if k != "summary"), default=0.0
        )
        return {
            "records": self.records,
            "load_s": self.load_s,
            "rss_mb": self.rss_mb,
            "worst_query_p95_ms": worst,
            "queries": self.per_query_ms,
        }


def _filters(panels: Panels) -> list[Filters]:
    facets = panels.facets()
    since = Filters.from_query({"range": "24h"}).since
    options = [Filters(), Filters(since=since)]
    if facets["channel"]:
        options.append(Filters(channel=facets["channel"][0]))
    if facets["intent"]:
        options.append(Filters(intent="question"))
    if facets["model"]:
        options.append(Filters(model=facets["model"][0]))
    return options


def run(traces: Path | None, spans: int, repeats: int, work_dir: Path) -> DashboardReport:
    """Measure; generates ``spans`` records into ``work_dir`` when ``traces`` is not given."""
    path = traces or work_dir / "traces.jsonl"
    if traces is None:
        generate(path, spans=spans)
    store = TraceStore(path)
    started = time.perf_counter()
    store.refresh(force=True)
    load_s = time.perf_counter() - started
    panels = Panels(store)
    filters = _filters(panels)
    timings: dict[str, list[float]] = {name: [] for name in (*PANELS, "summary")}
    for n in range(repeats):
        chosen = filters[n % len(filters)]
        for name in (*PANELS, "summary"):
            t0 = time.perf_counter()
            getattr(panels, name)(chosen)
            timings[name].append((time.perf_counter() - t0) * 1000)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    report = DashboardReport(store.loaded_records, round(load_s, 2), round(rss_mb, 1))
    for name, values in timings.items():
        report.per_query_ms[name] = {
            "p50_ms": round(percentile(values, 50) or 0.0, 2),
            "p95_ms": round(percentile(values, 95) or 0.0, 2),
        }
    return report
