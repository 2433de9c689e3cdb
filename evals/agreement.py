"""How far a binary judge agrees with human labels, and pass rates corrected for its errors.

- ``agreement(truth, verdicts)``: accuracy, TPR (sensitivity), TNR (specificity), Cohen's κ and
  the confusion matrix, "positive" being the label the judge is asked to detect.
- ``corrected_rate(observed, n, tpr, tnr, n_pos, n_neg)``: the Rogan–Gladen estimate of the
  true positive share behind an observed one, ``(p + TNR − 1) / (TPR + TNR − 1)``, clipped to
  [0, 1], with a 95 % interval by the delta method that counts the sampling error of the
  observed share and of the calibration's TPR and TNR. ``None`` when the judge is no better
  than chance (TPR + TNR ≤ 1): then nothing can be corrected.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

Z95 = 1.959964


@dataclass(frozen=True)
class Agreement:
    """A judge against human labels (``True`` = the positive label)."""

    n: int
    tp: int
    fp: int
    tn: int
    fn: int

    @property
    def accuracy(self) -> float | None:
        return (self.tp + self.tn) / self.n if self.n else None

    @property
    def tpr(self) -> float | None:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None

    @property
    def tnr(self) -> float | None:
        return self.tn / (self.tn + self.fp) if self.tn + self.fp else None

    @property
    def kappa(self) -> float | None:
        """Cohen's κ: agreement beyond what the two label rates give by chance."""
        if not self.n:
            return None
        observed = (self.tp + self.tn) / self.n
        yes = ((self.tp + self.fp) / self.n) * ((self.tp + self.fn) / self.n)
        no = ((self.tn + self.fn) / self.n) * ((self.tn + self.fp) / self.n)
        chance = yes + no
        return (observed - chance) / (1 - chance) if chance < 1 else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "accuracy": _round(self.accuracy),
            "tpr": _round(self.tpr),
            "tnr": _round(self.tnr),
            "kappa": _round(self.kappa),
            "confusion": asdict(self),
        }


def agreement(truth: Sequence[bool], verdicts: Sequence[bool]) -> Agreement:
    """Count the confusion matrix of ``verdicts`` against ``truth`` (same order)."""
    if len(truth) != len(verdicts):
        raise ValueError("truth and verdicts differ in length")
    tp = sum(t and v for t, v in zip(truth, verdicts, strict=True))
    fp = sum(v and not t for t, v in zip(truth, verdicts, strict=True))
    fn = sum(t and not v for t, v in zip(truth, verdicts, strict=True))
    return Agreement(len(truth), tp, fp, len(truth) - tp - fp - fn, fn)


@dataclass(frozen=True)
class CorrectedRate:
    """A share corrected for the judge's measured errors, with its 95 % interval."""

    observed: float
    corrected: float
    low: float
    high: float

    def to_dict(self) -> dict[str, float]:
        return {k: round(v, 4) for k, v in asdict(self).items()}


def corrected_rate(
    observed: float, n: int, tpr: float, tnr: float, n_pos: int, n_neg: int
) -> CorrectedRate | None:
    """Rogan–Gladen correction of ``observed`` (share judged positive among ``n``) for a judge
    whose calibration measured ``tpr`` on ``n_pos`` positives and ``tnr`` on ``n_neg``
    negatives; ``None`` when the judge is no better than chance."""
    youden = tpr + tnr - 1
    if youden <= 0 or n <= 0:
        return None
    estimate = (observed + tnr - 1) / youden
    variance = (
        observed * (1 - observed) / n
        + (estimate**2) * tpr * (1 - tpr) / max(n_pos, 1)
        + ((1 - estimate) ** 2) * tnr * (1 - tnr) / max(n_neg, 1)
    ) / youden**2
    half = Z95 * math.sqrt(max(variance, 0.0))
    clipped = min(1.0, max(0.0, estimate))
    low, high = (min(1.0, max(0.0, v)) for v in (estimate - half, estimate + half))
    return CorrectedRate(observed, clipped, low, high)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)
