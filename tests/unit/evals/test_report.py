"""``assistant eval report``: verdicts joined to their turns, good rates with Wilson intervals
(checked against hand-computed values), per intent and channel, corrected with a matching
calibration only, the worst turns first, and a page that escapes what users wrote."""

from __future__ import annotations

from pathlib import Path

import pytest
from integration.judged_log import write_judged_log

from evals.report import Rate, build_report
from evals.report_html import render

CALIBRATION = {
    "groundedness": {
        "prompt_version": "groundedness/1",
        "model": "local",
        "tpr": 0.9,
        "tnr": 0.8,
        "n_pos": 50,
        "n_neg": 50,
        "kappa": 0.7,
        "accuracy": 0.85,
        "labels": "/data/grounded-labels.jsonl",
        "measured_at": "2026-12-07T10:00:00+00:00",
    }
}


def grounded(data: dict) -> dict:
    return next(j for j in data["judges"] if j["name"] == "groundedness")


def test_wilson_interval_matches_the_textbook_values() -> None:
    # 6 of 10 at 95 %: (0.3127, 0.8318); 0 of 10: (0, 0.2775).
    low, high = Rate(6, 10).interval or (0, 0)
    assert (low, high) == (pytest.approx(0.3127, abs=1e-4), pytest.approx(0.8318, abs=1e-4))
    assert Rate(0, 10).interval == (0.0, pytest.approx(0.2775, abs=1e-4))
    assert Rate(0, 0).interval is None and Rate(0, 0).rate is None


def test_verdicts_are_counted_per_judge_intent_and_channel(tmp_path: Path) -> None:
    path = tmp_path / "traces.jsonl"
    write_judged_log(path)
    data = build_report(path, {})
    assert data["turns"] == 10 and data["channels"] == {"C0": 5, "C1": 5}
    judges = {j["name"]: j for j in data["judges"]}
    grounded, refusal = judges["groundedness"], judges["refusal"]
    assert grounded["overall"]["rate"] == 0.6 and grounded["good_means"] == "YES"
    assert refusal["overall"]["good"] == 9 and refusal["good_means"] == "NO"
    # Even turns (0, 2, 4, 6, 8) are questions in C0: grounded on 0, 2, 4.
    assert grounded["by_intent"]["question"]["rate"] == 0.6
    assert grounded["by_channel"]["C1"]["good"] == 3  # turns 1, 3, 5 of 1, 3, 5, 7, 9
    assert grounded["corrected"] is None, "no calibration"
    assert sum(b["n"] for b in grounded["over_time"]) == 10


def test_the_rate_is_corrected_only_with_a_calibration_for_that_prompt_and_model(
    tmp_path: Path,
) -> None:
    path = tmp_path / "traces.jsonl"
    write_judged_log(path)
    fixed = grounded(build_report(path, CALIBRATION))
    assert fixed["corrected"]["rate"] == pytest.approx((0.6 + 0.8 - 1) / 0.7, abs=1e-4)
    other_model = {"groundedness": {**CALIBRATION["groundedness"], "model": "openai:gpt-4o"}}
    assert grounded(build_report(path, other_model))["corrected"] is None


def test_worst_turns_and_exact_checks(tmp_path: Path) -> None:
    path = tmp_path / "traces.jsonl"
    traces = write_judged_log(path)
    data = build_report(path, {}, latency_budget_ms=10_000)
    worst = data["worst"]
    # Turn 9 is ungrounded and refused; turn 3 cites [2] that does not exist.
    assert worst[0]["trace_id"] == traces[9]
    assert set(worst[0]["bad"]) == {"groundedness", "refusal"}
    assert {w["trace_id"] for w in worst} == {traces[n] for n in (3, 6, 7, 8, 9)}
    assert next(w for w in worst if w["trace_id"] == traces[3])["failed_checks"] == [
        "citations_exist"
    ]
    assert data["checks"]["citations_exist"]["good"] == 9
    assert data["checks"]["within_latency"]["rate"] == 1.0


def test_the_page_escapes_user_text_and_links_traces(tmp_path: Path) -> None:
    path = tmp_path / "traces.jsonl"
    traces = write_judged_log(path, question="<script>alert(1)</script>")
    html = render(build_report(path, CALIBRATION), dashboard_url="http://127.0.0.1:8090/dashboard/")
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)" in html
    assert f'href="http://127.0.0.1:8090/dashboard/#trace={traces[9]}"' in html
    assert "grounded-labels.jsonl" in html and "substantial" in html  # κ 0.7
    for section in ("pass-rates", "over-time", "by_intent", "by_channel", "agreement", "worst"):
        assert f'id="{section}"' in html


def test_an_empty_log_still_makes_a_page(tmp_path: Path) -> None:
    data = build_report(tmp_path / "traces.jsonl", {})
    assert data["turns"] == 0 and data["judges"] == []
    assert "No judge verdicts" in render(data)


def test_versions_order_by_number_and_failed_verdicts_do_not_count(tmp_path: Path) -> None:
    from evals.report import version_key

    assert version_key("refusal/10") > version_key("refusal/9")
    path = tmp_path / "traces.jsonl"
    write_judged_log(path)
    data = build_report(path, {})
    assert grounded(data)["unparsed"] == 0


def test_turns_logged_before_citation_numbers_are_not_failed(tmp_path: Path) -> None:
    from guards.redaction import REDACTOR
    from observe.tracing import Tracer

    path = tmp_path / "traces.jsonl"
    tracer = Tracer(path, redactor=REDACTOR, keep_content=True)
    with tracer.span(
        "turn", "SERVER", {"app.content.question": "q", "app.content.answer": "a [1]"}
    ):
        pass
    tracer.close()
    checks = build_report(path, {})["checks"]
    assert checks["citations_exist"]["n"] == 0 and checks["non_empty"]["good"] == 1


def test_unusable_calibrations_are_skipped_and_paths_dropped(tmp_path: Path) -> None:
    import json

    from evals.report import stored_calibrations

    path = tmp_path / "judges.json"
    path.write_text(json.dumps({**CALIBRATION, "x": "bad", "y": {"tpr": 1}}))
    saved = stored_calibrations(path)
    assert (
        set(saved) == {"groundedness"}
        and saved["groundedness"]["labels"] == "grounded-labels.jsonl"
    )
    path.write_text("{not json")
    assert stored_calibrations(path) == {}
