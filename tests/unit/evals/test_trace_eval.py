"""``assistant eval traces``: judging logged turns, joined to their spans, resumable, sampled,
budgeted, and corrected with the judge's stored calibration."""

from __future__ import annotations

from pathlib import Path

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from evals.judges import JUDGES
from evals.trace_eval import evaluate_traces, load_calibration
from guards.redaction import REDACTOR
from observe.schema import validate_record
from observe.tracefile import trace_records
from observe.tracing import Tracer

REFUSAL = JUDGES["refusal"]


def log_turns(path: Path, count: int) -> list[str]:
    tracer = Tracer(path, redactor=REDACTOR, keep_content=True)
    ids = []
    for n in range(count):
        with tracer.span(
            "turn",
            "SERVER",
            {"app.content.question": f"question {n}", "app.content.answer": f"answer {n}"},
        ) as span:
            ids.append(span.span_id)
    with tracer.span("turn", "SERVER"):  # content capture was off for this one
        pass
    tracer.close()
    return ids


def judge_model(n: int) -> GenericFakeChatModel:
    return GenericFakeChatModel(messages=iter([AIMessage("NO it answers")] * n))


async def test_results_join_their_turns_and_a_second_run_resumes(tmp_path: Path) -> None:
    path = tmp_path / "traces.jsonl"
    ids = log_turns(path, 3)
    tracer = Tracer(path, redactor=REDACTOR, keep_content=True)
    first = await evaluate_traces(REFUSAL, judge_model(3), "fake", path, tracer)
    assert (first.turns_seen, first.without_content, first.judged) == (4, 1, 3)
    assert first.observed_rate == 0.0
    evals = [r for r in trace_records(path) if r["record"] == "eval"]
    assert sorted(e["parent_span_id"] for e in evals) == sorted(ids)
    for record in evals:
        validate_record(record)
        attrs = record["attributes"]
        assert attrs["gen_ai.evaluation.name"] == "refusal"
        assert attrs["gen_ai.evaluation.score.label"] == "not_refusal"
        assert attrs["gen_ai.evaluation.score.value"] == 0.0
        assert attrs["app.judge.version"] == "refusal/1"
    again = await evaluate_traces(REFUSAL, judge_model(3), "fake", path, tracer)
    tracer.close()
    assert again.judged == 0 and again.already_judged == 3


async def test_sample_and_budget_limit_the_calls(tmp_path: Path) -> None:
    path = tmp_path / "traces.jsonl"
    log_turns(path, 10)
    tracer = Tracer(path, redactor=REDACTOR, keep_content=True)
    sampled = await evaluate_traces(REFUSAL, judge_model(10), "fake", path, tracer, sample=4)
    budgeted = await evaluate_traces(REFUSAL, judge_model(10), "fake", path, tracer, budget=2)
    tracer.close()
    assert sampled.judged == 4 and budgeted.judged == 2 and budgeted.already_judged == 4


async def test_the_pass_rate_is_corrected_with_a_matching_calibration(tmp_path: Path) -> None:
    path = tmp_path / "traces.jsonl"
    log_turns(path, 4)
    replies = ["YES refuses", "NO", "NO", "NO"]
    model = GenericFakeChatModel(messages=iter(AIMessage(r) for r in replies))
    calibration = {"prompt_version": "refusal/1", "tpr": 0.9, "tnr": 0.8, "n_pos": 40, "n_neg": 40}
    tracer = Tracer(path, redactor=REDACTOR, keep_content=True)
    report = await evaluate_traces(
        REFUSAL, model, "fake", path, tracer, concurrency=1, calibration=calibration
    )
    tracer.close()
    assert report.observed_rate == 0.25
    assert report.corrected is not None
    assert report.corrected.corrected == pytest.approx((0.25 + 0.8 - 1) / 0.7)
    (tmp_path / "judges.json").write_text('{"refusal": {"prompt_version": "refusal/0"}}')
    assert load_calibration(tmp_path / "judges.json", REFUSAL) is None, "another rubric version"


async def test_a_failed_verdict_is_retried_on_the_next_run(tmp_path: Path) -> None:
    path = tmp_path / "traces.jsonl"
    log_turns(path, 1)
    tracer = Tracer(path, redactor=REDACTOR, keep_content=True)
    silent = GenericFakeChatModel(messages=iter([AIMessage("maybe")]))
    first = await evaluate_traces(REFUSAL, silent, "fake", path, tracer)
    again = await evaluate_traces(REFUSAL, judge_model(1), "fake", path, tracer)
    tracer.close()
    assert (first.judged, first.unparsed) == (1, 1)
    assert (again.judged, again.already_judged, again.positive) == (1, 0, 0)
