"""Prompt-injection detection: normalisation, precise patterns, then a trained linear model.

``InjectionDetector.check(text)`` scores every reading of the text (``guards.normalize``: the
cleaned text and any decoded base64/hex/ROT13/hidden payload) with

1. ``guards.injection_patterns`` — unmistakable phrasings in several languages, and
2. a logistic regression over hashed character and word n-grams of the normalised text, trained by
   ``make train-injection`` (``assistant train injection``) and shipped as
   ``guards/data/injection-model.npz`` with its training report (``injection-model.json``).

Texts are also scored sentence by sentence (and by pairs of neighbouring sentences), so an
instruction buried in a pasted document or a tool's output is not diluted by the text around it.
The verdict is an attack when a pattern matches, the whole text reaches the trained threshold or
one segment ``SEGMENT_THRESHOLD``. Everything is CPU-cheap (no embedding model): about a
millisecond for a short message, a few for 4,000 characters.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np
from guardrails.validator_base import (
    FailResult,
    PassResult,
    ValidationResult,
    register_validator,
)

from guards.injection_patterns import match_patterns
from guards.normalize import normalize
from guards.validators import _InlineValidator
from observe.errors import ConfigError

if TYPE_CHECKING:
    from scipy.sparse import csr_matrix

MODEL_NAME = "injection-model"
N_FEATURES = 2**19
"""Hash buckets shared by character and word n-grams."""
CHAR_NGRAMS = (3, 5)
WORD_NGRAMS = (1, 2)
SEGMENT_CHARS = 400
"""Texts are scored in sentence/line segments of at most this many characters, ..."""
MIN_SEGMENT_CHARS = 40
"""... a shorter segment joins its neighbour ..."""
SEGMENT_THRESHOLD = 0.95
"""A single segment is an attack only at this probability (the whole text uses the trained
threshold): scoring dozens of sentences one by one multiplies the chances of a false alarm."""
MAX_SEGMENTS = 128
"""... and at most this many segments (and pairs of neighbours) are scored one by one."""
_BREAK = re.compile(r"(?<=[.!?\u3002\uff01\uff1f])\s+|\s*\n\s*")

_WORDS = re.compile(r"\w+")


def _grams(text: str) -> list[str]:
    """Character n-grams within word boundaries, then word uni- and bigrams (marked ``w``)."""
    grams = _char_grams(text)
    words = _WORDS.findall(text)
    grams.extend(f"w {w}" for w in words)
    grams.extend(f"w {a} {b}" for a, b in zip(words, words[1:], strict=False))
    return grams


@lru_cache(maxsize=1)
def _hasher() -> Any:
    from sklearn.feature_extraction.text import HashingVectorizer

    return HashingVectorizer(
        analyzer=_grams, n_features=N_FEATURES, alternate_sign=False, norm=None, dtype=np.float32
    )


def _char_grams(text: str) -> list[str]:
    return cast(list[str], _char_analyzer()(text))


@lru_cache(maxsize=1)
def _char_analyzer() -> Any:
    from sklearn.feature_extraction.text import HashingVectorizer

    return HashingVectorizer(
        analyzer="char_wb", ngram_range=CHAR_NGRAMS, lowercase=False
    ).build_analyzer()


def segments(text: str) -> list[str]:
    """``text`` cut at sentence ends and line breaks into pieces of ``MIN_SEGMENT_CHARS`` to
    ``SEGMENT_CHARS`` characters (their counts add up to the whole text's)."""
    merged: list[str] = []
    for part in _BREAK.split(text):
        if not part:
            continue
        short = len(part) < MIN_SEGMENT_CHARS or (merged and len(merged[-1]) < MIN_SEGMENT_CHARS)
        if merged and short and len(merged[-1]) + len(part) < SEGMENT_CHARS:
            merged[-1] = f"{merged[-1]} {part}"
        else:
            merged.append(part)
    pieces = [p[i : i + SEGMENT_CHARS] for p in merged for i in range(0, len(p), SEGMENT_CHARS)]
    return pieces or [""]


def featurize(texts: list[str]) -> csr_matrix:
    """Hashed n-gram features of already-normalised ``texts``: one L2-normalised row each
    (the summed counts of the text's segments)."""
    from scipy.sparse import csr_matrix as sparse
    from sklearn.preprocessing import normalize as l2

    pieces = [segments(t) for t in texts]
    counts = _hasher().transform([c for p in pieces for c in p])
    rows = [r for r, p in enumerate(pieces) for _ in p]
    select = sparse(
        (np.ones(len(rows), dtype=np.float32), (rows, range(len(rows)))), (len(pieces), len(rows))
    )
    return cast("csr_matrix", l2(select @ counts))


def window_groups(count: int) -> list[list[int]]:
    """Segment indices scored for a text of ``count`` segments: all of them, then (past one)
    each segment and each pair of neighbours, at most ``MAX_SEGMENTS`` of each, evenly spread."""
    groups = [list(range(count))]
    if count > 1:
        step = max(1.0, count / MAX_SEGMENTS)
        picked = sorted({int(i * step) for i in range(min(count, MAX_SEGMENTS))})
        groups.extend([i] for i in picked)
        groups.extend([i, i + 1] for i in picked if count > 2 and i + 1 < count)
    return groups


@dataclass(frozen=True, slots=True)
class InjectionVerdict:
    """The detector's decision on one text.

    ``score`` is the model's highest probability over the readings, whole or by segment (0..1),
    ``segment_score`` the highest over segments alone; ``patterns`` the pattern names that
    matched; ``signals`` the obfuscation tricks undone.
    """

    attack: bool
    score: float
    patterns: tuple[str, ...] = ()
    signals: tuple[str, ...] = ()
    segment_score: float = 0.0

    def reasons(self) -> list[str]:
        """Short notes for a trace or a refusal: what made (or would make) this an attack."""
        notes = list(self.patterns)
        if self.score > 0:
            notes.append(f"classifier {self.score:.2f}")
        return notes + [f"obfuscation: {s}" for s in self.signals]


class InjectionDetector:
    """A loaded model: sparse weights over ``featurize`` features, a bias and a threshold."""

    def __init__(self, weights: np.ndarray, bias: float, threshold: float, meta: dict[str, Any]):
        if weights.shape != (N_FEATURES,):
            raise ConfigError(
                f"injection model has {weights.shape[0]} weights, expected {N_FEATURES}",
                hint="retrain it: make train-injection",
            )
        self.weights = weights
        self.bias = bias
        self.threshold = threshold
        self.meta = meta

    @classmethod
    def load(cls, directory: Path | None = None) -> InjectionDetector:
        """Load ``injection-model.npz`` (+ ``.json``) from ``directory`` or the package data."""
        base = directory or Path(str(resources.files("guards").joinpath("data")))
        npz, report = base / f"{MODEL_NAME}.npz", base / f"{MODEL_NAME}.json"
        try:
            with np.load(npz) as data:
                weights = np.zeros(N_FEATURES, dtype=np.float32)
                weights[data["indices"]] = data["values"]
                bias = float(data["bias"])
            meta = json.loads(report.read_text(encoding="utf-8"))
            threshold = float(meta["threshold"])
        except (OSError, KeyError, ValueError) as exc:
            raise ConfigError(
                f"cannot load the injection model from {base}: {exc}",
                hint="retrain it: make train-injection",
            ) from None
        return cls(weights, bias, threshold, meta)

    def probabilities(self, texts: list[str]) -> np.ndarray:
        """The model's attack probability for each already-normalised text."""
        return _sigmoid(featurize(texts) @ self.weights + self.bias)

    def text_and_segment_probabilities(self, text: str) -> tuple[float, float]:
        """The probability of ``text`` as a whole, and the highest over its segments and pairs
        of neighbouring segments (``window_groups``; 0.0 for a one-segment text).

        Same features as ``featurize`` without building each group's vector: a group's logit is
        the sum of its segments' dot products with the weights over the norm of the summed
        counts, and that norm comes from the segments' Gram matrix.
        """
        dots, gram = self._dots_and_gram(_hasher().transform(segments(text)))
        logits = [float(dots.sum()) / math.sqrt(max(float(gram.sum()), 1e-12))]
        groups = window_groups(len(dots))[1:]
        singles = np.array([g[0] for g in groups if len(g) == 1], dtype=int)
        pairs = np.array([g for g in groups if len(g) == 2], dtype=int).reshape(-1, 2)
        diagonal = np.maximum(np.diag(gram), 1e-12)
        single_logits = dots[singles] / np.sqrt(diagonal[singles])
        i, j = pairs[:, 0], pairs[:, 1]
        pair_norms = np.sqrt(np.maximum(gram[i, i] + gram[j, j] + 2 * gram[i, j], 1e-12))
        pair_logits = (dots[i] + dots[j]) / pair_norms
        probabilities = _sigmoid(np.concatenate([logits, single_logits, pair_logits]) + self.bias)
        return float(probabilities[0]), float(probabilities[1:].max(initial=0.0))

    def _dots_and_gram(self, counts: csr_matrix) -> tuple[np.ndarray, np.ndarray]:
        """Each segment's dot product with the weights, and the segments' Gram matrix, over the
        few hash buckets the text uses (a 2**19-wide transpose costs more than the rest)."""
        columns, inverse = np.unique(counts.indices, return_inverse=True)
        dense = np.zeros((counts.shape[0], len(columns)))
        rows = np.repeat(np.arange(counts.shape[0]), np.diff(counts.indptr))
        dense[rows, inverse] = counts.data  # a (row, column) pair occurs once in a CSR matrix
        # einsum, not ``@``: multi-threaded BLAS on matrices this small costs milliseconds in
        # thread wake-ups, and its spinning threads slow whatever runs next.
        weights = self.weights[columns].astype(np.float64)
        return np.einsum("ij,j->i", dense, weights), np.einsum("ij,kj->ik", dense, dense)

    def check(self, text: str) -> InjectionVerdict:
        """Score ``text`` (raw, as received) and decide: an attack when a pattern matches, the
        whole text reaches ``threshold`` or one of its segments ``SEGMENT_THRESHOLD``."""
        normalized = normalize(text)
        readings = [r for r in normalized.readings() if r.strip()]
        if not readings:
            return InjectionVerdict(attack=False, score=0.0, signals=normalized.signals)
        patterns = tuple(dict.fromkeys(p for r in readings for p in match_patterns(r)))
        scores = [self.text_and_segment_probabilities(r) for r in readings]
        whole = max(w for w, _ in scores)
        segment = max(s for _, s in scores)
        attack = bool(patterns) or whole >= self.threshold or segment >= SEGMENT_THRESHOLD
        return InjectionVerdict(
            attack=attack,
            score=math.floor(max(whole, segment) * 1000) / 1000,
            patterns=patterns,
            signals=normalized.signals,
            segment_score=math.floor(segment * 1000) / 1000,
        )


def _sigmoid(logits: np.ndarray) -> np.ndarray:
    return np.asarray(1.0 / (1.0 + np.exp(-np.clip(logits, -50, 50))))


@lru_cache(maxsize=1)
def get_detector() -> InjectionDetector:
    """The shipped detector, loaded once per process."""
    return InjectionDetector.load()


@register_validator(name="assistant/prompt-injection", data_type="string")
class DetectInjection(_InlineValidator):
    """Fail when ``InjectionDetector.check`` calls the text an attack (no fix: a policy decides).

    The failure's ``error_message`` names what matched (pattern names, the classifier score,
    the obfuscation undone), never the text. Runs inline: a few milliseconds of CPU.
    """

    def __init__(self, on_fail: Any = None, **kwargs: Any) -> None:
        super().__init__(on_fail=on_fail, **kwargs)

    def _validate(self, value: Any, metadata: dict[str, Any]) -> ValidationResult:
        verdict = get_detector().check(str(value))
        if not verdict.attack:
            return PassResult(metadata={"injection_score": verdict.score})
        return FailResult(
            error_message="possible prompt injection (" + ", ".join(verdict.reasons()) + ")",
            metadata={"injection_score": verdict.score},
        )
