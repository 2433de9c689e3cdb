"""deploy/grafana: the Loki dashboard's queries use only fields the trace records really have
(flattened as Loki's ``| json`` parser does) and span names that exist."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from evals.trace_gen import generate

DASHBOARD = Path(__file__).parents[3] / "deploy" / "grafana" / "assistant-loki.json"


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Keys as Loki's json parser makes them: nested keys joined by ``_``, other characters
    that are not allowed in a label replaced by ``_``."""
    if not isinstance(value, dict):
        return {prefix: value}
    out: dict[str, Any] = {}
    for key, inner in value.items():
        name = re.sub(r"[^A-Za-z0-9_]", "_", key)
        out.update(flatten(inner, f"{prefix}_{name}" if prefix else name))
    return out


def test_every_query_uses_fields_and_names_the_records_have(tmp_path: Path) -> None:
    path = tmp_path / "traces.jsonl"
    generate(path, spans=3000, seed=5)
    records = [flatten(json.loads(line)) for line in path.read_text().splitlines()]
    fields = {key for record in records for key in record}
    names = {record["name"] for record in records}
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    assert len(exprs) >= 12
    for expr in exprs:
        assert expr.startswith('{job="slack-assistant-traces"} | json') or "{job=" in expr
        used = set(re.findall(r"\b(attributes_[a-z_]+)", expr))
        used |= set(re.findall(r"unwrap (\w+)", expr))
        assert used <= fields, (expr, used - fields)
        for pattern in re.findall(r'\bname=~"([^"]+)"', expr):
            assert any(re.fullmatch(pattern, n) for n in names), pattern
        for exact in re.findall(r'\bname="([^"]+)"', expr):
            assert exact in names, exact
