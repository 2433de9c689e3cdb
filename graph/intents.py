"""Intent classification that does not depend on the chat model's quality.

A logistic regression over sentence embeddings (all-MiniLM-L6-v2) joined with character n-gram
TF-IDF features, trained on the labelled examples bundled in ``graph/intents.yaml`` (plus any from
the ``intent_examples`` setting). It picks one of ``graph.settings.INTENTS`` with a probability.
The n-grams are learned, not rules: they let the model see cues such as "your"/"you" (ops_stats
about the assistant vs. metrics of the team's services) that a sentence embedding blurs.

Only when that probability is below ``threshold`` is an optional async ``fallback`` (e.g. the LLM)
asked; if the fallback has no answer or fails, the classifier's own top intent is kept (method
``"default"``). Contract: ``predict``/``predict_many`` block (embedding + model); ``apredict`` runs
the same work in a worker thread. The first prediction fits the model if ``fit()`` was not called.
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import TYPE_CHECKING, Any, Literal, cast

import numpy as np
import yaml

from graph.settings import INTENTS, Intent
from observe.errors import ConfigError, InputRejected

if TYPE_CHECKING:
    from numpy.typing import NDArray
    from scipy.sparse import csr_matrix
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    from knowledge.embeddings import Embedder

log = logging.getLogger(__name__)

Method = Literal["embedding", "llm", "default"]
Fallback = Callable[[str], Awaitable[Intent | None]]

EXAMPLES_RESOURCE = "intents.yaml"
DEFAULT_C = 16.0
"""Inverse regularisation of the logistic regression (3x5-fold CV on the bundled examples)."""
LEXICAL_WEIGHT = 1.5
"""Scale of the TF-IDF block against the unit-length embedding (chosen by the same CV)."""

_MENTION = re.compile(r"<@[A-Z0-9]+(?:\|[^>]*)?>")
_CHANNEL = re.compile(r"<#[A-Z0-9]+\|([^>]*)>")
_LINK = re.compile(r"<(https?://[^|>]+)(?:\|([^>]*))?>")


@dataclass(frozen=True, slots=True)
class IntentPrediction:
    """The chosen intent, the classifier's probability for it, and who decided."""

    intent: Intent
    confidence: float
    method: Method
    scores: Mapping[str, float] = field(default_factory=dict)
    """The classifier's probability for every intent (empty only if it was never consulted)."""


def normalize_text(text: str) -> str:
    """Turn Slack markup into plain words: ``<@U1>`` -> ``@user``, ``<#C1|eng>`` -> ``#eng``."""
    text = _MENTION.sub("@user", text)
    text = _CHANNEL.sub(lambda m: f"#{m.group(1)}", text)
    text = _LINK.sub(lambda m: m.group(2) or m.group(1), text)
    return " ".join(text.split())


def _validate_examples(data: Any, origin: str) -> dict[str, list[str]]:
    if not isinstance(data, Mapping):
        raise ConfigError(
            f"{origin}: expected a mapping of intent -> list of examples",
            hint=f"valid intents: {list(INTENTS)}",
        )
    result: dict[str, list[str]] = {}
    for intent, texts in data.items():
        if intent not in INTENTS:
            raise ConfigError(
                f"{origin}: unknown intent {intent!r}", hint=f"valid intents: {list(INTENTS)}"
            )
        if not isinstance(texts, list) or not all(isinstance(t, str) and t.strip() for t in texts):
            raise ConfigError(
                f"{origin}: examples of {intent!r} must be a list of non-empty strings",
                hint="write one quoted string per line under the intent",
            )
        result[str(intent)] = list(texts)
    return result


def load_examples(extra: Mapping[str, list[str]] | None = None) -> dict[str, list[str]]:
    """Read the bundled ``graph/intents.yaml`` and append ``extra`` examples (deduplicated).

    Raises ``ConfigError`` for an unknown intent or a malformed entry in either source.
    """
    raw = resources.files("graph").joinpath(EXAMPLES_RESOURCE).read_text(encoding="utf-8")
    bundled = _validate_examples(yaml.safe_load(raw), f"graph/{EXAMPLES_RESOURCE}")
    merged: dict[str, list[str]] = {intent: list(bundled.get(intent, [])) for intent in INTENTS}
    if extra:
        for intent, texts in _validate_examples(extra, "intent_examples setting").items():
            for text in texts:
                if text not in merged[intent]:
                    merged[intent].append(text)
    return {intent: texts for intent, texts in merged.items() if texts}


class IntentClassifier:
    """Embedding + n-gram logistic regression with an optional low-confidence fallback."""

    def __init__(
        self,
        embedder: Embedder,
        examples: Mapping[str, Sequence[str]],
        *,
        threshold: float,
        fallback: Fallback | None = None,
        c: float = DEFAULT_C,
    ) -> None:
        if not 0.0 <= threshold <= 1.0:
            raise ConfigError(
                f"intent threshold {threshold!r} is outside [0, 1]",
                hint="set ASSISTANT_INTENT_THRESHOLD between 0 and 1",
            )
        checked = _validate_examples(examples, "intent examples")
        usable = {intent: texts for intent, texts in checked.items() if texts}
        if len(usable) < 2:
            raise ConfigError(
                "the intent classifier needs examples for at least two intents",
                hint="check graph/intents.yaml and the intent_examples setting",
            )
        self.embedder = embedder
        self.examples: dict[str, list[str]] = usable
        self.threshold = threshold
        self.fallback = fallback
        self.c = c
        self._model: LogisticRegression | None = None
        self._vectorizer: TfidfVectorizer | None = None
        self._classes: list[Intent] = []
        self._lock = threading.Lock()
        self._fit_lock = threading.Lock()

    @property
    def fitted(self) -> bool:
        """True once ``fit()`` has run."""
        return self._model is not None

    def with_policy(self, *, threshold: float, fallback: Fallback | None) -> IntentClassifier:
        """A copy with another threshold and fallback that shares the fitted model."""
        clone = IntentClassifier(
            self.embedder, self.examples, threshold=threshold, fallback=fallback, c=self.c
        )
        with self._lock:
            clone._model, clone._classes = self._model, list(self._classes)
            clone._vectorizer = self._vectorizer
        return clone

    def _features(self, texts: Sequence[str], vectorizer: TfidfVectorizer) -> csr_matrix:
        from scipy.sparse import csr_matrix, hstack

        clean = [normalize_text(t) for t in texts]
        dense = np.asarray(self.embedder.embed(clean), dtype=np.float64)
        lexical = vectorizer.transform(clean) * LEXICAL_WEIGHT
        return csr_matrix(hstack([csr_matrix(dense), lexical]))

    def fit(self) -> IntentClassifier:
        """Embed every example in one batch and train the model; returns ``self``."""
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression

        texts = [t for texts in self.examples.values() for t in texts]
        labels = [intent for intent, texts in self.examples.items() for _ in texts]
        vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True)
        vectorizer.fit([normalize_text(t) for t in texts])
        model = LogisticRegression(C=self.c, max_iter=3000, class_weight="balanced")
        model.fit(self._features(texts, vectorizer), np.asarray(labels))
        with self._lock:
            self._classes = [cast(Intent, str(c)) for c in model.classes_]
            self._model, self._vectorizer = model, vectorizer
        return self

    def _probabilities(self, texts: Sequence[str]) -> NDArray[np.float64]:
        if not self.fitted:
            with self._fit_lock:  # concurrent first predictions fit once
                if not self.fitted:
                    self.fit()
        assert self._model is not None and self._vectorizer is not None
        features = self._features(texts, self._vectorizer)
        return np.asarray(self._model.predict_proba(features), dtype=np.float64)

    def _from_scores(self, row: NDArray[np.float64]) -> IntentPrediction:
        best = int(np.argmax(row))
        scores: dict[str, float] = {
            str(intent): float(p) for intent, p in zip(self._classes, row, strict=True)
        }
        return IntentPrediction(self._classes[best], float(row[best]), "embedding", scores)

    def classify(self, texts: Sequence[str]) -> list[IntentPrediction]:
        """The classifier's own answer for each text, never asking the fallback (blocking)."""
        for text in texts:
            _check_text(text)
        if not texts:
            return []
        return [self._from_scores(row) for row in self._probabilities(texts)]

    async def _resolve(self, text: str, own: IntentPrediction) -> IntentPrediction:
        if own.confidence >= self.threshold or self.fallback is None:
            return own
        try:
            answer = await self.fallback(text)
        except Exception as exc:  # any failure keeps the classifier's answer
            log.warning("intent fallback failed: %s: %s", type(exc).__name__, exc)
            answer = None
        if answer is not None and answer in INTENTS:
            return IntentPrediction(answer, own.confidence, "llm", own.scores)
        if answer is not None:
            log.warning("intent fallback returned unknown intent %r", answer)
        return IntentPrediction(own.intent, own.confidence, "default", own.scores)

    def predict_many(self, texts: Sequence[str]) -> list[IntentPrediction]:
        """Classify ``texts`` in one embedding batch, asking the fallback for uncertain ones.

        Blocking; must not be called from inside a running event loop when a fallback is set.
        """
        own = self.classify(texts)
        if self.fallback is None or all(p.confidence >= self.threshold for p in own):
            return own
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            pass
        else:
            raise RuntimeError(
                "predict() with a fallback cannot run inside an event loop; use apredict()"
            )

        async def resolve_all() -> list[IntentPrediction]:
            return [await self._resolve(text, p) for text, p in zip(texts, own, strict=True)]

        return asyncio.run(resolve_all())

    def predict(self, text: str) -> IntentPrediction:
        """Classify one text (blocking); see ``predict_many``."""
        return self.predict_many([text])[0]

    async def apredict(self, text: str) -> IntentPrediction:
        """Classify one text with the embedding work in a worker thread, then maybe the fallback."""
        own = (await asyncio.to_thread(self.classify, [text]))[0]
        return await self._resolve(text, own)


def _check_text(text: str) -> None:
    if not isinstance(text, str) or not text.strip():
        raise InputRejected("cannot classify an empty message", hint="send some text to classify")
