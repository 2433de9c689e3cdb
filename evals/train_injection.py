"""Train the prompt-injection model shipped in ``guards/data`` (reproducible, one command).

    make train-injection     # the command the shipped model was trained with (see the Makefile)

Training rows: the labelled JSON-lines file(s) given with ``--data`` (``{id, text, label,
source}``, label ``attack``/``benign``), the hand-written examples in
``guards/data/injection-examples.yaml``, files of benign messages (``--benign``: the intent
examples and benchmark questions written for this project) and, with ``--docs``, documentation
passages.
Texts are normalised (``guards.normalize``) and featurised (``guards.injection.featurize``); the
model is an L2 logistic regression with balanced class weights (liblinear, deterministic).

Held-out measurement: rows are grouped into clusters of near-duplicates and paraphrase families
(agglomerative clustering, cosine distance over character n-grams, per label), and a grouped
k-fold gives every row a score from a model that never saw its cluster. The decision threshold is
the lowest one whose held-out false-positive rate (patterns included) stays within
``--max-fpr``; the report (``injection-model.json``) records the data hashes, parameters, the
threshold and the held-out rates overall and per source. ``--check`` retrains and compares with
the shipped weights instead of writing them.
"""

from __future__ import annotations

import hashlib
import json
import random
import sys
from collections import Counter
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from evals.docs_sample import paragraph_runs
from evals.input_guard import load_labelled
from guards.injection import (
    CHAR_NGRAMS,
    MODEL_NAME,
    N_FEATURES,
    SEGMENT_CHARS,
    SEGMENT_THRESHOLD,
    WORD_NGRAMS,
    InjectionDetector,
    featurize,
)
from guards.injection_patterns import match_patterns
from guards.normalize import normalize
from observe.errors import ConfigError
from observe.jsonl import json_rows

DATA_DIR = Path(str(resources.files("guards").joinpath("data")))
"""Where the shipped weights live (the ``guards`` package data)."""
EXAMPLES = DATA_DIR / "injection-examples.yaml"
C = 4.0
FOLDS = 5
CLUSTER_DISTANCE = 0.5
MAX_FPR = 0.01
MIN_THRESHOLD = 0.5
HARD_BENIGN = tuple(
    f"examples benign/{group}"
    for group in ("lookalike", "long", "tool_output_benign", "security_talk")
)
"""Example groups written to fool the detector (trigger words in a benign sense, long pastes of
policies and logs, tool results with orders for people): their false-alarm rate is reported,
but the threshold is set on ordinary messages (``MAX_FPR``). ``long`` also covers ``long_more``."""
DOC_ROWS = 500
"""Benign documentation passages (and as many single paragraphs) added to the training."""
SEED = 7


@dataclass(frozen=True, slots=True)
class Row:
    text: str
    attack: bool
    source: str
    origin: str = ""
    """The ``--data`` file the row came from (empty for examples and docs)."""


def benign_rows(path: Path) -> list[Row]:
    """Every text of a file of benign messages: a YAML mapping of lists (``graph/intents.yaml``)
    or JSON lines with a ``text`` or ``question`` field."""
    source = f"benign {path.name}"
    if path.suffix in (".yaml", ".yml"):
        try:
            groups = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"cannot read {path}: {exc}") from None
        return [Row(str(t), False, source) for texts in groups.values() for t in texts]
    rows = []
    for where, raw in json_rows(path, 'rows with a "text" or "question" field'):
        text = raw.get("text", raw.get("question"))
        if not isinstance(text, str):
            raise ConfigError(f'{where}: no "text" or "question" string')
        rows.append(Row(text, False, source))
    return rows


def load_rows(
    data: list[Path], examples: Path, docs: Path | None, benign: list[Path] | None = None
) -> list[Row]:
    """Labelled rows from the JSON-lines files, the hand-written examples, the ``benign``
    files, then (with ``docs``) benign documentation passages (``docs_rows``)."""
    rows: list[Row] = []
    for path in data:
        rows += [
            Row(r.text, r.label == "attack", r.source or path.name, path.name)
            for r in load_labelled(path)
        ]
    try:
        groups = yaml.safe_load(examples.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read {examples}: {exc}") from None
    for label in ("attack", "benign"):
        for group, texts in (groups.get(label) or {}).items():
            if not all(isinstance(t, str) for t in texts):
                raise ConfigError(f"{examples}: {label}/{group} has an entry that is not text")
            rows.extend(Row(t, label == "attack", f"examples {label}/{group}") for t in texts)
    for path in benign or []:
        rows.extend(benign_rows(path))
    if docs is not None:
        rows.extend(docs_rows(docs))
    return rows


def docs_rows(docs: Path) -> list[Row]:
    """Benign documentation from the training half of ``docs`` (``evals.docs_sample``): runs of
    paragraphs, and as many single paragraphs, since the detector also scores text sentence by
    sentence."""
    rng = random.Random(SEED)
    runs = paragraph_runs(docs, "train", 2 * DOC_ROWS, rng)
    rows = [Row("\n\n".join(run), False, "docs (train half)") for run in runs[:DOC_ROWS]]
    rows += [Row(rng.choice(run), False, "docs paragraphs (train half)") for run in runs[DOC_ROWS:]]
    return rows


def fit(texts: list[str], attack: np.ndarray) -> tuple[np.ndarray, float]:
    """Dense weights over ``featurize`` features and the bias."""
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=C, class_weight="balanced", solver="liblinear", max_iter=1000)
    model.fit(featurize(texts), attack)
    return model.coef_[0].astype(np.float32), float(model.intercept_[0])


def clusters(texts: list[str], attack: np.ndarray) -> np.ndarray:
    """A cluster id per row: near-duplicates and paraphrase families share one (per label)."""
    from sklearn.cluster import AgglomerativeClustering

    features = featurize(texts)
    groups = np.zeros(len(texts), dtype=int)
    offset = 0
    for label in (True, False):
        index = np.flatnonzero(attack == label)
        if len(index) < 2:
            groups[index] = offset
            offset += 1
            continue
        part = features[index]  # rows are L2-normalised: cosine similarity is a dot product
        distance = np.clip(1.0 - (part @ part.T).toarray(), 0.0, 2.0)
        labels = AgglomerativeClustering(
            n_clusters=None,
            distance_threshold=CLUSTER_DISTANCE,
            metric="precomputed",
            linkage="average",
        ).fit_predict(distance)
        groups[index] = labels + offset
        offset += int(labels.max()) + 1
    return groups


def held_out_scores(
    rows: list[Row], texts: list[str], attack: np.ndarray, groups: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Each row's whole-text and best-segment score (over its readings, as
    ``InjectionDetector.check`` computes them) from a model trained without the row's cluster."""
    from sklearn.model_selection import GroupKFold

    scores = np.zeros(len(texts))
    segment_scores = np.zeros(len(texts))
    for fold, (train, test) in enumerate(GroupKFold(FOLDS).split(texts, attack, groups), 1):
        weights, bias = fit([texts[i] for i in train], attack[train])
        detector = InjectionDetector(weights, bias, 1.0, {})
        for i in test:
            pairs = [
                detector.text_and_segment_probabilities(r)
                for r in normalize(rows[i].text).readings()
                if r.strip()
            ] or [(0.0, 0.0)]
            scores[i] = max(w for w, _ in pairs)
            segment_scores[i] = max(s for _, s in pairs)
        sys.stderr.write(f"  fold {fold}/{FOLDS}: {len(train)} train, {len(test)} held out\n")
    return scores, segment_scores


def _rates(flagged: np.ndarray, attack: np.ndarray) -> dict[str, Any]:
    tp, fp = int((flagged & attack).sum()), int((flagged & ~attack).sum())
    return {
        "attacks": int(attack.sum()),
        "benign": int((~attack).sum()),
        "TPR": round(tp / max(1, int(attack.sum())), 4),
        "FPR": round(fp / max(1, int((~attack).sum())), 4),
        "precision": round(tp / max(1, tp + fp), 4),
    }


def choose_threshold(scores: np.ndarray, other: np.ndarray, benign: np.ndarray) -> float:
    """The lowest whole-text threshold (≥ ``MIN_THRESHOLD``) keeping the held-out FPR on the
    ``benign`` rows within ``MAX_FPR``; ``other`` marks rows flagged anyway (patterns,
    segments)."""
    for threshold in np.arange(MIN_THRESHOLD, 1.0, 0.005):
        flagged = other | (scores >= threshold)
        if (flagged & benign).sum() <= MAX_FPR * benign.sum():
            return round(float(threshold), 3)
    return 1.0


def report(rows: list[Row], flagged: np.ndarray, attack: np.ndarray) -> dict[str, Any]:
    """Held-out rates overall, per ``--data`` file and per source."""
    sources = np.array([r.source for r in rows])
    origins = np.array([r.origin for r in rows])
    return {
        "overall": _rates(flagged, attack),
        "by_file": {
            o: _rates(flagged[origins == o], attack[origins == o])
            for o in sorted(set(origins))
            if o
        },
        "by_source": {
            s: {"rows": int((sources == s).sum()), "flagged": int(flagged[sources == s].sum())}
            for s in sorted(set(sources))
        },
    }


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def train(
    data: list[Path],
    examples: Path,
    docs: Path | None,
    *,
    benign: list[Path] | None = None,
    cross_validate: bool,
) -> tuple[dict, np.ndarray, float]:
    """Fit on every row; with ``cross_validate`` also measure held out and pick the threshold."""
    rows = load_rows(data, examples, docs, benign)
    texts = [normalize(r.text).text for r in rows]
    attack = np.array([r.attack for r in rows])
    meta: dict[str, Any] = {
        "model": "logistic regression (liblinear, L2, balanced) on hashed n-grams",
        "features": {
            "n_features": N_FEATURES,
            "char_wb": CHAR_NGRAMS,
            "word": WORD_NGRAMS,
            "segment_chars": SEGMENT_CHARS,
        },
        "C": C,
        "data": {p.name: sha256(p) for p in [*data, examples, *(benign or [])]},
        "docs": docs.name if docs else None,
        "rows": dict(Counter(r.source for r in rows)),
    }
    if cross_validate:
        sys.stderr.write(f"clustering {len(rows)} rows …\n")
        groups = clusters(texts, attack)
        scores, segment_scores = held_out_scores(rows, texts, attack, groups)
        patterns = np.array(
            [any(match_patterns(r) for r in normalize(row.text).readings()) for row in rows]
        )
        other = patterns | (segment_scores >= SEGMENT_THRESHOLD)
        hard = np.array([r.source.startswith(HARD_BENIGN) for r in rows])
        threshold = choose_threshold(scores, other, ~attack & ~hard)
        meta["threshold"] = threshold
        meta["held_out"] = {
            "method": f"{FOLDS}-fold grouped CV, clusters at cosine distance {CLUSTER_DISTANCE}",
            "clusters": int(groups.max()) + 1,
            "max_fpr": f"{MAX_FPR} on benign rows other than {', '.join(HARD_BENIGN)}",
            "hard_benign_FPR": round(float((other | (scores >= threshold))[hard].mean()), 4),
            "segment_threshold": SEGMENT_THRESHOLD,
            **report(rows, other | (scores >= threshold), attack),
        }
    weights, bias = fit(texts, attack)
    return meta, weights, bias


def save(directory: Path, meta: dict, weights: np.ndarray, bias: float) -> None:
    """Write the sparse weights (``.npz``) and the report (``.json``)."""
    indices = np.flatnonzero(weights).astype(np.int32)
    np.savez_compressed(
        directory / f"{MODEL_NAME}.npz", indices=indices, values=weights[indices], bias=bias
    )
    (directory / f"{MODEL_NAME}.json").write_text(
        json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )


def retrain(
    data: list[Path], examples: Path, docs: Path | None, benign: list[Path], out: Path
) -> dict[str, Any]:
    """Train with cross-validation, write the weights and report to ``out``; returns the
    held-out rates."""
    meta, weights, bias = train(data, examples, docs, benign=benign, cross_validate=True)
    save(out, meta, weights, bias)
    return dict(meta["held_out"])


def check_shipped(
    data: list[Path], examples: Path, docs: Path | None, benign: list[Path], shipped_dir: Path
) -> dict[str, Any]:
    """Train again (no cross-validation) and compare with the weights in ``shipped_dir``."""
    _meta, weights, bias = train(data, examples, docs, benign=benign, cross_validate=False)
    shipped = InjectionDetector.load(shipped_dir)
    return {
        "max_weight_difference": float(np.abs(shipped.weights - weights).max()),
        "bias": [shipped.bias, bias],
    }
