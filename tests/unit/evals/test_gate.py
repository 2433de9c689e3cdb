"""The regression gate's thresholds and the exact (judge-free) answer checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from evals.answers import exact_checks
from evals.gate import Gate, load_gate
from observe.errors import ConfigError


def test_every_missed_threshold_is_named() -> None:
    gate = Gate(min_cites_gold=0.8, max_couldnt_find=0.1, max_total_s_p95=2.0)
    good = {"cites_gold": 0.9, "couldnt_find": 0.05, "total_s_p95": 1.0}
    assert gate.failures(good) == []
    bad = {"cites_gold": 0.5, "couldnt_find": 0.3, "total_s_p95": None}
    assert gate.failures(bad) == [
        "cites_gold 0.5 < 0.8",
        "couldnt_find 0.3 > 0.1",
        "total_s_p95: not measured (limit 2.0)",
    ]


def test_judge_thresholds_fail_when_missed_or_not_measured() -> None:
    gate = Gate(min_judge={"groundedness": 0.8, "answer_relevance": 0.9})
    judged = {"judges": {"groundedness": {"rate": 0.5}}}
    assert gate.failures(judged) == [
        "judge groundedness 0.5 < 0.8",
        "judge answer_relevance: not measured (limit 0.9)",
    ]
    assert Gate(min_judge={"groundedness": 0.4}).failures(judged) == []
    with pytest.raises(ValueError):
        Gate(min_judge={"groundedness": 1.5})


def test_a_bad_gate_file_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "g.yaml").write_text("min_cites: 0.8\n")
    with pytest.raises(ConfigError, match="invalid"):
        load_gate(tmp_path / "g.yaml")
    with pytest.raises(ConfigError, match="cannot read"):
        load_gate(tmp_path / "missing.yaml")
    (tmp_path / "ok.yaml").write_text("max_checks_failed: 0.2\n")
    assert load_gate(tmp_path / "ok.yaml").max_checks_failed == 0.2


def test_exact_checks() -> None:
    cited = [{"n": 1, "text": "Use sorted() on the dictionary keys to iterate in order."}]
    ok = exact_checks("Iterate in order with sorted() on the dictionary keys [1].", cited)
    assert ok == {"non_empty": True, "citations_exist": True, "cited_overlap": True}
    wrong = exact_checks("Bananas are yellow fruit grown in the tropics [2].", cited)
    assert wrong["citations_exist"] is False and wrong["cited_overlap"] is False
    assert exact_checks("  ", [])["non_empty"] is False
    assert exact_checks("No sources here.", [])["cited_overlap"] is None


def test_brackets_inside_quotes_and_code_are_not_citation_markers() -> None:
    cited = [{"n": 1, "text": "y.append(10) changes x"}]
    quoted = "From the docs [1]:\n\n> y.append(10) gives [10]\n\n```\n>>> x[0]\n```\nsee `a[2]`"
    assert exact_checks(quoted, cited)["citations_exist"] is True
    assert exact_checks("As [1] and [3] say.", cited)["citations_exist"] is False
