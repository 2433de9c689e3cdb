"""``eval dataset --compare``: configurations parsed with clear errors, paired bootstrap
intervals of the differences, and pairwise judging in both orders that catches a judge that
follows the position instead of the answer."""

from __future__ import annotations

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from evals.compare import differences, paired_diff, pairwise, parse_config
from observe.errors import ConfigError


def test_configurations_are_settings_overrides() -> None:
    assert parse_config("chat_model=local:/m/q.gguf, top_k=3") == {
        "chat_model": "local:/m/q.gguf",
        "top_k": 3,
    }
    with pytest.raises(ConfigError, match="not key=value"):
        parse_config("top_k")
    with pytest.raises(ConfigError, match="no setting 'top_kk'"):
        parse_config("top_kk=3")
    with pytest.raises(ConfigError, match="empty"):
        parse_config(" , ")


def test_a_constant_difference_has_a_zero_width_interval() -> None:
    diff = paired_diff([1.0, 2.0, 3.0, None], [1.5, 2.5, 3.5, 9.0])
    assert diff is not None
    assert (diff.n, diff.mean, diff.low, diff.high) == (3, 0.5, 0.5, 0.5)
    assert paired_diff([None], [1.0]) is None


def test_the_interval_excludes_zero_only_for_a_real_difference() -> None:
    base = [float(n % 2) for n in range(200)]
    better = [1.0 if n % 4 else b for n, b in enumerate(base)]  # +0.25 on average
    real = paired_diff(base, better)
    noise = paired_diff(base, list(reversed(base)))
    assert real is not None and noise is not None
    assert real.mean == pytest.approx(0.25) and real.low > 0
    assert noise.low < 0 < noise.high


def row(i: str, answer: str, *, cites: bool = True) -> dict:
    return {
        "id": i,
        "question": "q",
        "answer": answer,
        "cites_gold": cites,
        "gold_words": 0.5,
        "replaced": False,
        "no_sources": False,
        "timings_ms": {"total": 1000.0},
    }


def test_rows_are_paired_by_position_even_with_repeated_ids() -> None:
    a = [row("1", "x", cites=False), row("1", "y")]
    b = [row("1", "x"), row("1", "y")]
    diffs = differences(a, b)
    assert diffs["cites_gold"]["mean"] == 0.5 and diffs["cites_gold"]["n"] == 2
    assert diffs["total_s"]["mean"] == 0.0
    with pytest.raises(ValueError, match="same rows"):
        differences(a, list(reversed(b + [row("2", "z")])))


async def test_pairwise_judging_counts_a_position_bias() -> None:
    a = [row("1", "good"), row("2", "good"), row("3", "same")]
    b = [row("1", "bad"), row("2", "bad"), row("3", "same")]
    # Row 1: A first → "A", B first → "B": both pick the first config's answer (a real win).
    # Row 2: "A" both times: the judge follows the position.
    replies = ["A", "B", "A", "A"]
    model = GenericFakeChatModel(messages=iter(AIMessage(f"{r}\nbecause") for r in replies))
    result = await pairwise(model, a, b)
    assert result["a_wins"] == 1 and result["b_wins"] == 0
    assert result["position_disagreement"] == 1 and result["same_answer"] == 1
    assert result["position_disagreement_rate"] == 0.5
