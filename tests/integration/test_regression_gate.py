"""The CI regression gate: the Python FAQ golden set through the real embedded default (local
model, quote answers) passes ``tests/data/golden-gate.yaml``, and the same gate fails, naming
what dropped, when answer quality is broken on purpose."""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from evals.openai_double import OpenAIDouble
from integration.cli_runner import run_assistant

SHARED = Path("/work/shared/datasets")
FAQ_DOCS = SHARED / "python-docs" / "faq"
GOLDEN = SHARED / "python-faq.jsonl"
GATE = Path(__file__).parents[1] / "data" / "golden-gate.yaml"


def run(*args: str, data_dir: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return run_assistant(list(args), data_dir, env=env, timeout=900, text=True)


def run_gate(data_dir: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """The CI gate's run: 20 golden questions against ``tests/data/golden-gate.yaml``."""
    return run(
        "eval",
        "dataset",
        str(GOLDEN),
        "--limit",
        "20",
        "--gate",
        str(GATE),
        "--json",
        data_dir=data_dir,
        **env,
    )


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("gate") / "data"
    assert run("ingest", str(FAQ_DOCS), data_dir=path).returncode == 0
    return path


def test_the_golden_set_passes_the_gate(data_dir: Path) -> None:
    result = run_gate(data_dir)
    assert result.returncode == 0, result.stdout + result.stderr
    summary = json.loads(result.stdout)
    assert summary["gate"] == {"passed": True, "failures": []}
    assert summary["rows"] == 20 and summary["checks_failed"] <= 0.1


def test_the_gate_fails_when_answer_quality_drops(data_dir: Path) -> None:
    broken = {
        "ASSISTANT_QUOTE_MIN_SIMILARITY": "0.99",
        "ASSISTANT_QUOTE_HEADING_SIMILARITY": "0.99",
    }
    result = run_gate(data_dir, **broken)
    assert result.returncode == 1
    failures = json.loads(result.stdout)["gate"]["failures"]
    assert any(f.startswith("cites_gold") for f in failures)
    assert any(f.startswith("couldnt_find") for f in failures)


def test_compare_shows_the_broken_configuration_worse_with_a_paired_interval(
    data_dir: Path,
) -> None:
    result = run(
        "eval",
        "dataset",
        str(GOLDEN),
        "--limit",
        "8",
        "--compare",
        "quote_min_similarity=0.0",
        "--compare",
        "quote_min_similarity=0.99,quote_heading_similarity=0.99",
        "--json",
        data_dir=data_dir,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["a"]["config"] == {"quote_min_similarity": 0.0}
    assert report["a"]["rows"] == report["b"]["rows"] == 8
    cited = report["b_minus_a"]["cites_gold"]
    assert cited["n"] == 8 and cited["mean"] < 0 and cited["high"] < 0, cited
    assert report["b_minus_a"]["couldnt_find"]["low"] > 0
    for side in ("a", "b"):
        assert {"total_s_p50", "total_s_p95", "tokens_per_answer", "cost_usd"} <= set(report[side])


@pytest.fixture
async def judge() -> AsyncIterator[OpenAIDouble]:
    """A scripted judge over HTTP: an answer is grounded when its passages hold its words."""

    def reply(messages: list[dict[str, Any]]) -> str:
        text = str(messages[-1]["content"])
        context = text.split("CONTEXT:", 1)[-1].split("ANSWER:", 1)[0].lower()
        answer = text.split("ANSWER:", 1)[-1].lower()
        words = [w for w in answer.split() if len(w) > 5][:5]
        supported = all(w in context for w in words)
        return "YES\nsupported" if supported else "NO\nnot in the passages"

    double = await OpenAIDouble(reply).start()
    yield double
    await double.stop()


async def test_judge_metrics_feed_the_gate(
    data_dir: Path, judge: OpenAIDouble, tmp_path: Path
) -> None:
    gate = tmp_path / "gate.yaml"
    gate.write_text("min_cites_gold: 0.5\nmin_judge:\n  groundedness: 0.7\n")
    args = ["eval", "dataset", str(GOLDEN), "--limit", "4", "--gate", str(gate), "--json"]
    env = {"ASSISTANT_CHAT_BASE_URL": judge.url, "OPENAI_API_KEY": "sk-test-not-a-real-key"}
    judged = args + ["--judge-name", "groundedness", "--judge", "openai:gpt-4o-mini"]
    result = await asyncio.to_thread(run, *judged, data_dir=data_dir, **env)
    assert result.returncode == 0, result.stdout + result.stderr
    summary = json.loads(result.stdout)
    grounded = summary["judges"]["groundedness"]
    assert (
        grounded["n"] == 4 and grounded["rate"] >= 0.7 and grounded["model"] == "openai:gpt-4o-mini"
    )
    assert all("CONTEXT:\n[1]" in r["body"]["messages"][-1]["content"] for r in judge.requests)
    unjudged = await asyncio.to_thread(run, *args, data_dir=data_dir, **env)
    assert unjudged.returncode == 1, "a judge threshold without judging is not a pass"
    assert "judge groundedness: not measured" in " ".join(
        json.loads(unjudged.stdout)["gate"]["failures"]
    )
