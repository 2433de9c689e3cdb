"""The dashboard's queries against an independent count of a generated log of 100,000+ records,
and the store following a live log: appends, rotation, retention, broken lines."""

from __future__ import annotations

import json
import shutil
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from evals.trace_gen import generate
from observe.dashboard.queries import LOW_SIMILARITY, Filters, Panels, cluster_questions
from observe.dashboard.store import TraceStore
from observe.stats import percentile

SPANS = 100_000


@pytest.fixture(scope="module")
def log(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict[str, Any]]]:
    path = tmp_path_factory.mktemp("dash") / "traces.jsonl"
    written = generate(path, spans=SPANS, days=7, seed=11)
    assert written >= SPANS * 0.98
    records = [json.loads(line) for line in path.read_text().splitlines()]
    return path, records


@pytest.fixture(scope="module")
def panels(log: tuple[Path, list[dict[str, Any]]]) -> Panels:
    store = TraceStore(log[0])
    store.refresh(force=True)
    return Panels(store)


def turns_of(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in records if r["record"] == "span" and r["name"] == "turn"]


def test_totals_match_an_independent_count(log: tuple, panels: Panels) -> None:
    _, records = log
    turns = turns_of(records)
    questions = [t for t in turns if t["attributes"]["app.intent"] == "question"]
    totals = panels.totals(Filters())
    assert totals["turns"] == len(turns) > 10_000
    assert totals["questions"] == len(questions)
    assert totals["cache_hits"] == sum(t["attributes"]["app.cache_hit"] for t in questions)
    assert totals["errors"] == sum(t["status"] == "ERROR" for t in turns)
    assert totals["output_tokens"] == sum(
        t["attributes"]["app.rollup.output_tokens"] for t in turns
    )
    assert totals["cost_usd"] == pytest.approx(
        sum(t["attributes"]["app.rollup.cost_usd"] for t in turns)
    )
    durations = [t["duration_ms"] for t in turns]
    assert totals["p95_ms"] == pytest.approx(percentile(durations, 95))
    evals = [r for r in records if r["record"] == "eval"]
    down = {
        e["trace_id"]
        for e in evals
        if e["attributes"]["gen_ai.evaluation.score.label"] == "negative"
        and e["attributes"]["gen_ai.evaluation.name"] == "user_feedback"
    }
    assert totals["thumbs_down"] == len(down)


def test_latency_percentiles_per_node_are_nearest_rank(log: tuple, panels: Panels) -> None:
    _, records = log
    by_node: dict[str, list[float]] = defaultdict(list)
    for r in records:
        if r["record"] == "span":
            node = (
                r["name"].split(" ")[0]
                if r["name"].startswith(("chat ", "retrieval "))
                else r["name"]
            )
            by_node[node].append(r["duration_ms"])
    rows = {row["node"]: row for row in panels.latency(Filters())}
    assert set(rows) == set(by_node)
    for node, values in by_node.items():
        assert rows[node]["n"] == len(values)
        for q in (50, 95, 99):
            assert rows[node][f"p{q}_ms"] == pytest.approx(percentile(values, q)), (node, q)


def test_filters_limit_every_panel(log: tuple, panels: Panels) -> None:
    _, records = log
    turns = turns_of(records)
    replies = {
        r["trace_id"]: r["attributes"]["app.slack.channel"]
        for r in records
        if r["record"] == "span" and r["name"] == "slack.reply"
    }
    wanted = [
        t
        for t in turns
        if replies[t["trace_id"]] == "C0DATA" and t["attributes"]["app.model"] == "local"
    ]
    filters = Filters(channel="C0DATA", model="local")
    assert panels.totals(filters)["turns"] == len(wanted)
    mix = {r["intent"]: r["turns"] for r in panels.intents(filters)["mix"]}
    assert mix == Counter(t["attributes"]["app.intent"] for t in wanted)
    assert sum(r["turns"] for r in panels.volume(filters)) == len(wanted)
    cutoff = datetime.now(UTC) - timedelta(days=1)
    recent = [t for t in turns if t["start_time_unix_nano"] / 1e9 >= cutoff.timestamp()]
    assert panels.totals(Filters(since=cutoff))["turns"] == len(recent)
    with pytest.raises(ValueError, match="range must be"):
        Filters.from_query({"range": "2w"})


def test_guard_trips_errors_usage_and_quality(log: tuple, panels: Panels) -> None:
    _, records = log
    spans = [r for r in records if r["record"] == "span"]
    trips = Counter(
        (s["attributes"]["app.guard.stage"], check)
        for s in spans
        if s["name"].startswith("guard.")
        for check in s["attributes"]["app.guard.checks"]
    )
    got = {(r["stage"], r["validator"]): r["trips"] for r in panels.guards(Filters())}
    assert got == trips and got
    errors = Counter(s["attributes"].get("error.type") for s in spans if s["status"] == "ERROR")
    by_type = Counter()
    for row in panels.errors(Filters())["by_type"]:
        by_type[row["error_type"]] += row["n"]
    assert by_type == errors
    usage = panels.usage(Filters())
    assert sum(r["input_tokens"] for r in usage) == sum(
        t["attributes"]["app.rollup.input_tokens"] for t in turns_of(records)
    )
    quality = panels.quality(Filters())
    evals = [r for r in records if r["record"] == "eval"]
    assert sum(r["n"] for r in quality) == len(evals)


def test_knowledge_gaps_group_wordings_and_count_reasons(log: tuple, panels: Panels) -> None:
    _, records = log
    down = {
        r["trace_id"]
        for r in records
        if r["record"] == "eval" and r["attributes"]["gen_ai.evaluation.score.label"] == "negative"
    }
    sims = {
        r["trace_id"]: r["attributes"]["app.retrieval.top_similarity"]
        for r in records
        if r["record"] == "span" and r["name"].startswith("retrieval ")
    }
    gaps = [
        t
        for t in turns_of(records)
        if t["attributes"]["app.intent"] == "question"
        and not t["attributes"]["app.cache_hit"]
        and (
            t["attributes"]["app.citations"] == 0
            or sims.get(t["trace_id"], 1.0) < LOW_SIMILARITY
            or t["trace_id"] in down
        )
    ]
    table = panels.gaps(Filters(), limit=100)
    assert sum(row["count"] for row in table) == len(gaps)
    vpn = [row for row in table if "VPN" in row["question"]]
    assert len(vpn) == 1 and vpn[0]["variants"] == 2, "two wordings of one question, one row"
    assert table[0]["count"] >= table[-1]["count"]
    assert any("<EMAIL>" in row["question"] for row in table), "questions stay redacted"


def test_clustering_keeps_different_questions_apart() -> None:
    rows = [
        {"question": q, "trace_id": "t", "at_ts": None, "citations": 0}
        for q in (
            "How do I reset my password?",
            "how do i reset my password",
            "How do I reset the VPN?",
            "What is the budget for travel?",
        )
    ]
    clusters = cluster_questions(rows)
    assert [c["count"] for c in clusters] == [2, 1, 1]


def test_the_store_follows_appends_rotation_retention_and_broken_lines(
    log: tuple, tmp_path: Path
) -> None:
    source, records = log
    live = tmp_path / "traces.jsonl"
    lines = source.read_text().splitlines(keepends=True)
    live.write_text("".join(lines[:1000]))
    store = TraceStore(live)
    panels = Panels(store)
    store.refresh(force=True)
    first = store.loaded_records
    assert first == 1000
    # A line being written (no newline yet) waits; a broken line is skipped and counted.
    with live.open("a") as f:
        f.write("not json\n" + "".join(lines[1000:2000]) + lines[2000].rstrip("\n"))
    store.refresh(force=True)
    assert store.loaded_records == 2000 and store.skipped_lines == 1
    # Rotation: the live file is renamed and a new one starts; nothing is read twice.
    with live.open("a") as f:
        f.write("\n")
    rotated = tmp_path / "traces.20260101T000000000000Z.jsonl"
    shutil.move(live, rotated)
    live.write_text("".join(lines[2001:3000]))
    store.refresh(force=True)
    assert store.loaded_records == 3000
    count = (
        store.query("SELECT count(*) AS n FROM spans")[0]["n"]
        + store.query("SELECT count(*) AS n FROM evals")[0]["n"]
    )
    assert count == 3000
    # Retention deletes the rotated file: its rows go with it.
    rotated.unlink()
    store.refresh(force=True)
    remaining = (
        store.query("SELECT count(*) AS n FROM spans")[0]["n"]
        + store.query("SELECT count(*) AS n FROM evals")[0]["n"]
    )
    assert remaining == 999
    turns = [json.loads(x) for x in lines[2001:3000]]
    assert panels.totals(Filters())["turns"] == sum(
        r["record"] == "span" and r["name"] == "turn" for r in turns
    )


def test_a_file_replaced_under_the_same_inode_is_read_again(log: tuple, tmp_path: Path) -> None:
    """Retention can free an inode number that the next live file reuses; truncation too."""
    source, _ = log
    lines = source.read_text().splitlines(keepends=True)
    live = tmp_path / "traces.jsonl"
    live.write_text("".join(lines[:500]))
    store = TraceStore(live)
    store.refresh(force=True)
    with live.open("r+") as f:  # same inode, other content, shorter
        f.truncate(0)
        f.write("".join(lines[600:700]))
    store.refresh(force=True)
    count = (
        store.query("SELECT count(*) AS n FROM spans")[0]["n"]
        + store.query("SELECT count(*) AS n FROM evals")[0]["n"]
    )
    assert count == 100
    with live.open("r+") as f:  # same inode, same length, other first line
        f.truncate(0)
        f.write("".join(lines[800:900]))
    store.refresh(force=True)
    ids = {r["span_id"] for r in store.query("SELECT span_id FROM spans")}
    assert ids <= {json.loads(x)["span_id"] for x in lines[800:900]}
