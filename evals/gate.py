"""The regression gate: thresholds a golden-set run must meet (``assistant eval dataset``).

A gate file is YAML with any of ``min_cites_gold``, ``min_retrieved_gold``, ``min_gold_words``,
``max_couldnt_find``, ``max_checks_failed`` (shares, 0–1), ``max_total_s_p95`` (seconds) and
``min_judge`` (judge name → least share of good verdicts, for a run with ``--judge-name``).
``failures(summary)`` names every threshold the run missed, with both numbers; an empty list
means it passed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from observe.errors import ConfigError


class Gate(BaseModel):
    """What a golden-set run must reach; a threshold left out is not checked."""

    model_config = ConfigDict(extra="forbid")

    min_cites_gold: float | None = Field(default=None, ge=0, le=1)
    min_retrieved_gold: float | None = Field(default=None, ge=0, le=1)
    min_gold_words: float | None = Field(default=None, ge=0, le=1)
    max_couldnt_find: float | None = Field(default=None, ge=0, le=1)
    max_checks_failed: float | None = Field(default=None, ge=0, le=1)
    max_total_s_p95: float | None = Field(default=None, gt=0)
    min_judge: dict[str, Annotated[float, Field(ge=0, le=1)]] = Field(default_factory=dict)

    def failures(self, summary: dict[str, Any]) -> list[str]:
        """Every threshold ``summary`` (``evals.answers.summarise``, with ``judges`` when the
        run was judged) misses."""
        missed = []
        judged = summary.get("judges") or {}
        for judge, limit in self.min_judge.items():
            rate = (judged.get(judge) or {}).get("rate")
            if rate is None:
                missed.append(f"judge {judge}: not measured (limit {limit})")
            elif rate < limit:
                missed.append(f"judge {judge} {rate} < {limit}")
        for name, limit in self.model_dump(exclude_none=True, exclude={"min_judge"}).items():
            kind, metric = name.split("_", 1)
            value = summary.get(metric)
            if value is None:
                missed.append(f"{metric}: not measured (limit {limit})")
            elif kind == "min" and value < limit:
                missed.append(f"{metric} {value} < {limit}")
            elif kind == "max" and value > limit:
                missed.append(f"{metric} {value} > {limit}")
        return missed


def load_gate(path: Path) -> Gate:
    """The gate in ``path``; a bad file is one ``ConfigError`` naming the fix."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        return Gate.model_validate(data)
    except OSError as exc:
        raise ConfigError(f"cannot read gate {path}: {exc.strerror or exc}") from None
    except (yaml.YAMLError, ValidationError) as exc:
        first = str(exc).splitlines()[:3]
        raise ConfigError(
            f"gate {path} is invalid: {' '.join(first)}",
            hint="keys: " + ", ".join(Gate.model_fields),
        ) from None
