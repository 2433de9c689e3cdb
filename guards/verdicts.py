"""Every validator's verdict on one text, for ``assistant guard check`` and debugging.

``check_text(text, stage=...)`` runs each validator of the stage on its own (not through a guard,
so one failure does not hide another) and reports, per validator, whether it passed, what it
would say, its fix when it has one, and how long it took. Nothing here quotes personal data or
secrets: fixes are the redacted text.
"""

from __future__ import annotations

import time
from typing import Any, Literal

from guardrails.validator_base import FailResult, Validator

from guards.injection import DetectInjection, get_detector
from guards.input_guard import warm_up
from guards.redaction import redact_pii
from guards.toxicity import ToxicLanguage, score_toxicity
from guards.validators import MaxLength, RedactPII

Stage = Literal["input", "output"]


def _validators(stage: Stage, max_chars: int) -> list[Validator]:
    if stage == "input":
        return [MaxLength(max_chars=max_chars), DetectInjection(), ToxicLanguage(), RedactPII()]
    return [ToxicLanguage(), RedactPII()]


def _details(validator: Validator, text: str) -> dict[str, Any]:
    """Scores a validator's pass/fail hides: the injection and toxicity numbers."""
    if isinstance(validator, DetectInjection):
        verdict = get_detector().check(text)
        return {
            "score": verdict.score,
            "segment_score": verdict.segment_score,
            "threshold": get_detector().threshold,
            "patterns": list(verdict.patterns),
            "signals": list(verdict.signals),
        }
    if isinstance(validator, ToxicLanguage):
        result = score_toxicity(text)
        return {"severity": result.severity, "categories": list(result.categories)}
    return {}


def _safe(fix: Any) -> Any:
    return redact_pii(fix) if isinstance(fix, str) else fix


def check_text(text: str, *, stage: Stage = "input", max_chars: int = 4000) -> dict[str, Any]:
    """``{"stage", "chars", "passed", "verdicts": [{validator, passed, message, fix, ms, …}]}``."""
    warm_up()  # load the model and the lexicon before timing anything
    verdicts: list[dict[str, Any]] = []
    for validator in _validators(stage, max_chars):
        started = time.perf_counter()
        result = validator.validate(text, {})
        elapsed = round((time.perf_counter() - started) * 1000, 3)
        failed = isinstance(result, FailResult)
        verdicts.append(
            {
                "validator": validator.rail_alias,
                "passed": not failed,
                "message": result.error_message if isinstance(result, FailResult) else None,
                "fix": _safe(result.fix_value) if isinstance(result, FailResult) else None,
                "ms": elapsed,
                **_details(validator, text),
            }
        )
    return {
        "stage": stage,
        "chars": len(text),
        "passed": all(v["passed"] for v in verdicts),
        "verdicts": verdicts,
    }
