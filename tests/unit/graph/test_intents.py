"""Intent classifier on the real MiniLM embedder: held-out accuracy, fallback policy, bench I/O."""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console

from evals.intents import IntentReport, evaluate, load_rows, render_table
from graph.intents import IntentClassifier, IntentPrediction, load_examples, normalize_text
from graph.settings import INTENTS, Intent
from knowledge.embeddings import get_embedder
from observe.errors import ConfigError, InputRejected

HELDOUT = Path(__file__).resolve().parents[2] / "data" / "intents_heldout.jsonl"
FRESH = HELDOUT.with_name("intents_fresh.jsonl")
"""A second held-out set, written after the classifier and its examples were final."""


def _key(text: str) -> str:
    return " ".join(text.casefold().split())


@pytest.fixture(scope="module")
def classifier() -> IntentClassifier:
    return IntentClassifier(get_embedder(), load_examples(), threshold=0.45).fit()


@pytest.fixture(scope="module")
def report(classifier: IntentClassifier) -> IntentReport:
    return evaluate(classifier, load_rows(HELDOUT))


def test_bundled_examples_cover_every_intent() -> None:
    examples = load_examples()
    assert set(examples) == set(INTENTS)
    for intent, texts in examples.items():
        assert len(texts) >= 40, intent
        assert len({_key(t) for t in texts}) == len(texts), f"duplicate example in {intent}"


def test_heldout_shares_no_text_with_training() -> None:
    training = {_key(t) for texts in load_examples().values() for t in texts}
    rows = load_rows(HELDOUT)
    assert len(rows) >= 180
    overlap = [row["text"] for row in rows if _key(row["text"]) in training]
    assert overlap == []
    counts = {intent: sum(r["intent"] == intent for r in rows) for intent in INTENTS}
    assert min(counts.values()) >= 25
    assert counts["question"] == max(counts.values())


def test_fresh_set_shares_no_text_with_training_and_scores_090(
    classifier: IntentClassifier,
) -> None:
    training = {_key(t) for texts in load_examples().values() for t in texts}
    rows = load_rows(FRESH)
    assert [row["text"] for row in rows if _key(row["text"]) in training] == []
    assert evaluate(classifier, rows).accuracy >= 0.90


def test_heldout_rows_are_not_paraphrase_copies_of_training() -> None:
    embedder = get_embedder()
    training = [t for texts in load_examples().values() for t in texts]
    heldout = [row["text"] for row in load_rows(HELDOUT)]
    train_vectors = np.asarray(embedder.embed(training))
    similarity = np.asarray(embedder.embed(heldout)) @ train_vectors.T
    closest = similarity.max(axis=1)
    copies = [
        (heldout[i], training[int(similarity[i].argmax())]) for i in np.flatnonzero(closest >= 0.9)
    ]
    assert copies == []


def test_heldout_accuracy_is_at_least_090(report: IntentReport) -> None:
    assert report.n >= 180
    assert report.accuracy >= 0.90, report.to_dict()["mistakes"]
    assert report.methods == {"embedding": report.n}


def test_every_intent_has_a_correct_heldout_example(report: IntentReport) -> None:
    for intent in INTENTS:
        assert report.confusion[intent][intent] >= 1, intent


def test_prediction_shape(classifier: IntentClassifier) -> None:
    prediction = classifier.predict("<@U0BOT42> can you tl;dr this thread for me")
    assert prediction.intent == "summarize"
    assert prediction.method == "embedding"
    assert set(prediction.scores) == set(INTENTS)
    assert prediction.confidence == pytest.approx(max(prediction.scores.values()))
    assert sum(prediction.scores.values()) == pytest.approx(1.0)


def test_empty_text_is_rejected(classifier: IntentClassifier) -> None:
    with pytest.raises(InputRejected):
        classifier.predict("   ")


class RecordingFallback:
    """A fallback that records what it was asked and answers a fixed intent (or fails)."""

    def __init__(self, answer: str | None, fail: bool = False) -> None:
        self.answer = answer
        self.fail = fail
        self.calls: list[str] = []

    async def __call__(self, text: str) -> Intent | None:
        self.calls.append(text)
        if self.fail:
            raise TimeoutError("model took too long")
        return self.answer  # type: ignore[return-value]  # deliberately unchecked


def _with_policy(
    base: IntentClassifier, threshold: float, fallback: RecordingFallback
) -> IntentClassifier:
    clone = base.with_policy(threshold=threshold, fallback=fallback)
    assert clone.fitted  # shares the fitted model: no refit
    return clone


async def test_fallback_is_asked_only_below_threshold(classifier: IntentClassifier) -> None:
    text = "could you give me a short recap of everything said above"
    own = classifier.classify([text])[0]
    assert own.intent == "summarize"

    above = RecordingFallback("escalate")
    confident = _with_policy(classifier, own.confidence - 0.01, above)
    assert (await confident.apredict(text)).method == "embedding"
    assert above.calls == []

    below = RecordingFallback("escalate")
    unsure = _with_policy(classifier, min(1.0, own.confidence + 0.01), below)
    prediction = await unsure.apredict(text)
    assert below.calls == [text]
    assert (prediction.intent, prediction.method) == ("escalate", "llm")
    assert prediction.confidence == pytest.approx(own.confidence)


def test_sync_predict_asks_the_fallback_below_threshold(classifier: IntentClassifier) -> None:
    fallback = RecordingFallback("feedback")
    unsure = _with_policy(classifier, 1.0, fallback)
    texts = ["hello there", "tl;dr please"]
    predictions = unsure.predict_many(texts)
    assert fallback.calls == texts
    assert [p.method for p in predictions] == ["llm", "llm"]
    never = RecordingFallback("feedback")
    assert _with_policy(classifier, 0.0, never).predict("hello there").method == "embedding"
    assert never.calls == []


@pytest.mark.parametrize(
    "fallback",
    [RecordingFallback(None), RecordingFallback(None, fail=True), RecordingFallback("weather")],
    ids=["returns-none", "raises", "unknown-intent"],
)
async def test_failed_fallback_keeps_the_top_class(
    classifier: IntentClassifier, fallback: RecordingFallback
) -> None:
    text = "how many questions did the assistant answer this week"
    own = classifier.classify([text])[0]
    assert own.intent == "ops_stats"  # not silently turned into "question"
    prediction = await _with_policy(classifier, 1.0, fallback).apredict(text)
    assert fallback.calls == [text]
    assert (prediction.intent, prediction.method) == ("ops_stats", "default")


async def test_sync_predict_with_fallback_refuses_inside_event_loop(
    classifier: IntentClassifier,
) -> None:
    with pytest.raises(RuntimeError, match="apredict"):
        _with_policy(classifier, 1.0, RecordingFallback("question")).predict("hi")


def test_load_examples_merges_extra_and_rejects_unknown_intents() -> None:
    bundled = load_examples()
    merged = load_examples({"ops_stats": ["how many slack threads did you join", "stats pls"]})
    assert merged["ops_stats"][-1] == "how many slack threads did you join"
    assert len(merged["ops_stats"]) == len(bundled["ops_stats"]) + 1  # duplicate dropped
    with pytest.raises(ConfigError, match="weather"):
        load_examples({"weather": ["is it raining"]})


def test_constructor_validates_arguments() -> None:
    with pytest.raises(ConfigError, match="threshold"):
        IntentClassifier(get_embedder(), load_examples(), threshold=1.5)
    with pytest.raises(ConfigError, match="two intents"):
        IntentClassifier(get_embedder(), {"question": ["what is x"]}, threshold=0.5)


def test_normalize_text_turns_slack_markup_into_words() -> None:
    raw = "<@U0BOT42> see <#C123|help-it> and <https://x.example/doc|the doc>"
    assert normalize_text(raw) == "@user see #help-it and the doc"


@pytest.mark.parametrize(
    ("content", "line", "match"),
    [
        (
            '{"text": "hi", "intent": "chitchat"}\n{"text": "x", "intent": "weather"}\n',
            2,
            "weather",
        ),
        ('{"text": "hi", "intent": "chitchat"}\n\n{not json}\n', 3, "JSON"),
        ('{"text": "", "intent": "question"}\n', 1, "text"),
        ('["hi", "chitchat"]\n', 1, "object"),
    ],
    ids=["unknown-intent", "bad-json", "empty-text", "not-object"],
)
def test_load_rows_names_the_bad_line(tmp_path: Path, content: str, line: int, match: str) -> None:
    path = tmp_path / "rows.jsonl"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InputRejected, match=match) as info:
        load_rows(path)
    assert f"rows.jsonl:{line}:" in info.value.message


def test_load_rows_rejects_missing_and_empty_files(tmp_path: Path) -> None:
    with pytest.raises(InputRejected, match="cannot read"):
        load_rows(tmp_path / "absent.jsonl")
    (tmp_path / "empty.jsonl").write_text("\n", encoding="utf-8")
    with pytest.raises(InputRejected, match="no rows"):
        load_rows(tmp_path / "empty.jsonl")


class TableClassifier:
    """Answers from a fixed table, so the metric arithmetic can be checked by hand."""

    def __init__(self, answers: dict[str, Intent]) -> None:
        self.answers = answers

    def predict_many(self, texts: Sequence[str]) -> list[IntentPrediction]:
        return [IntentPrediction(self.answers[t], 0.9, "embedding") for t in texts]


def test_evaluate_arithmetic_and_outputs() -> None:
    rows = [
        {"text": "a", "intent": "question"},
        {"text": "b", "intent": "question"},
        {"text": "c", "intent": "chitchat"},
        {"text": "d", "intent": "feedback"},
    ]
    answers: dict[str, Intent] = {
        "a": "question",
        "b": "chitchat",
        "c": "chitchat",
        "d": "feedback",
    }
    result = evaluate(TableClassifier(answers), rows)
    assert result.n == 4 and result.accuracy == pytest.approx(0.75)
    assert result.confusion["question"] == {
        "question": 1,
        "chitchat": 1,
        "summarize": 0,
        "escalate": 0,
        "feedback": 0,
        "ops_stats": 0,
    }
    q, c = result.per_intent["question"], result.per_intent["chitchat"]
    assert (q.precision, q.recall, q.support) == (1.0, 0.5, 2)
    assert (c.precision, c.recall) == (0.5, 1.0)
    assert result.macro_f1 == pytest.approx((2 / 3 + 2 / 3 + 1.0) / 3)  # only intents with support
    assert [m.text for m in result.mistakes] == ["b"]

    data = json.loads(json.dumps(result.to_dict()))
    assert data["per_intent"]["question"]["recall"] == 0.5
    assert data["confusion"]["question"]["chitchat"] == 1

    console = Console(file=io.StringIO(), width=160, color_system=None)
    console.print(render_table(result))
    out = console.file.getvalue()  # type: ignore[attr-defined]
    assert "accuracy 0.750" in out and "chitchat" in out
