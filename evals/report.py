"""``assistant eval report``: what the judges and the exact checks found, from the trace log.

One pass over the log collects the turns (intent, channel, duration, cost, citation checks) and
the judges' ``gen_ai.evaluation.result`` records. For each judge (its newest prompt version) the
report gives the share of *good* verdicts (a YES for most judges, a NO for ``refusal`` and
``harm``) with a Wilson 95 % interval, over time, per intent and per channel; when the judge has
a calibration for that prompt version and model, also the rate corrected for its measured errors
(Rogan–Gladen, ``evals.agreement``). Turns with the most bad verdicts are the worst examples.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Any

import structlog

from evals.agreement import Z95, corrected_rate
from evals.answers import exact_checks
from evals.judges import JUDGES
from observe.stats import percentile
from observe.tracefile import trace_records

log = structlog.get_logger(__name__)

BAD_WHEN_YES = frozenset({"refusal", "harm"})
"""Judges whose YES is the bad outcome."""
MAX_BUCKETS = 12


@dataclass(frozen=True)
class Rate:
    """``good`` of ``n`` with a Wilson 95 % interval."""

    good: int
    n: int

    @property
    def rate(self) -> float | None:
        return self.good / self.n if self.n else None

    @property
    def interval(self) -> tuple[float, float] | None:
        if not self.n:
            return None
        p, n, z = self.good / self.n, self.n, Z95
        centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
        return max(0.0, centre - half), min(1.0, centre + half)

    def to_dict(self) -> dict[str, Any]:
        low, high = self.interval or (None, None)
        return {
            "good": self.good,
            "n": self.n,
            "rate": _r(self.rate),
            "low": _r(low),
            "high": _r(high),
        }


@dataclass
class Turn:
    trace_id: str
    started_ns: int
    duration_ms: float
    intent: str
    model: str
    question: str
    answer: str | None
    checks: dict[str, bool | None]
    cost_usd: float | None = None
    channel: str = "terminal"
    verdicts: dict[str, list[tuple[bool, str]]] = field(default_factory=dict)


@dataclass
class JudgeView:
    """One judge's verdicts (each ``good`` or not) on the turns they joined."""

    name: str
    version: str
    model: str
    verdicts: list[tuple[Turn, bool]] = field(default_factory=list)
    unparsed: int = 0


def version_key(version: str) -> tuple[int, str]:
    """Orders ``name/9`` before ``name/10`` (the number after the last ``/``)."""
    number = version.rsplit("/", 1)[-1]
    return (int(number) if number.isdigit() else -1, version)


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _turn(record: dict[str, Any]) -> Turn:
    attrs = record.get("attributes") or {}
    answer = attrs.get("app.content.answer")
    numbers = attrs.get("app.citation.numbers")
    citations = [{"n": n} for n in numbers or []]
    checks = exact_checks(str(answer), citations) if answer is not None else {}
    checks.pop("cited_overlap", None)  # the cited text is not in the log
    if numbers is None:  # logged before turns recorded their citation numbers
        checks.pop("citations_exist", None)
    start, end = (
        int(record.get("start_time_unix_nano") or 0),
        int(record.get("end_time_unix_nano") or 0),
    )
    return Turn(
        trace_id=str(record["trace_id"]),
        started_ns=start,
        duration_ms=max(0.0, (end - start) / 1e6),
        intent=str(attrs.get("app.intent") or ("blocked" if attrs.get("app.blocked") else "none")),
        model=str(attrs.get("app.model") or "?"),
        question=str(attrs.get("app.content.question") or attrs.get("app.redacted.question") or ""),
        answer=answer,
        checks=checks,
        cost_usd=attrs.get("app.rollup.cost_usd") or attrs.get("app.cost_usd"),
    )


def collect(live: Path, since_ns: int = 0) -> tuple[dict[str, Turn], dict[str, JudgeView]]:
    """The log's turns by trace id, and each judge's verdicts (newest prompt version only)."""
    turns: dict[str, Turn] = {}
    channels: dict[str, str] = {}
    evals: list[dict[str, Any]] = []
    for record in trace_records(live, since_ns):
        kind, name = record.get("record"), record.get("name")
        if kind == "span" and name == "turn":
            turns[str(record["trace_id"])] = _turn(record)
        elif kind == "span" and name == "slack.reply":
            channel = (record.get("attributes") or {}).get("app.slack.channel")
            if channel:
                channels[str(record["trace_id"])] = str(channel)
        elif kind == "eval" and (record.get("attributes") or {}).get("app.judge.version"):
            evals.append(record)
    for trace_id, channel in channels.items():
        if trace_id in turns:
            turns[trace_id].channel = channel
    newest: dict[str, tuple[tuple[int, str], str]] = {}
    for record in evals:  # the newest rubric version; within it, the model judging last
        attrs = record["attributes"]
        name, version = attrs["gen_ai.evaluation.name"], str(attrs["app.judge.version"])
        model = str(attrs.get("app.judge.model") or "?")
        if name not in newest or version_key(version) >= newest[name][0]:
            newest[name] = (version_key(version), model)
    views: dict[str, JudgeView] = {}
    for record in evals:
        attrs = record["attributes"]
        name = attrs["gen_ai.evaluation.name"]
        turn = turns.get(str(record.get("trace_id")))
        version, model = str(attrs["app.judge.version"]), str(attrs.get("app.judge.model") or "?")
        if (version_key(version), model) != newest[name] or turn is None:
            continue
        view = views.setdefault(name, JudgeView(name, version, model))
        score = attrs.get("gen_ai.evaluation.score.value")
        if score is None:
            view.unparsed += 1
            continue
        good = (score == 0) if name in BAD_WHEN_YES else (score == 1)
        view.verdicts.append((turn, good))
        reason = str(attrs.get("app.content.judge_reason") or "")
        turn.verdicts.setdefault(name, []).append((good, reason))
    return turns, views


def rate_of(verdicts: list[tuple[Turn, bool]]) -> Rate:
    return Rate(sum(good for _, good in verdicts), len(verdicts))


def grouped(verdicts: list[tuple[Turn, bool]], key: str) -> dict[str, dict[str, Any]]:
    """The good-verdict rate per value of the turn attribute ``key`` (intent, channel)."""
    groups: dict[str, list[tuple[Turn, bool]]] = defaultdict(list)
    for turn, good in verdicts:
        groups[str(getattr(turn, key))].append((turn, good))
    return {value: rate_of(rows).to_dict() for value, rows in sorted(groups.items())}


def over_time(verdicts: list[tuple[Turn, bool]], start: int, end: int) -> list[dict[str, Any]]:
    """The rate per time bucket (at most ``MAX_BUCKETS`` equal spans of the turns' time)."""
    width = max(10**9, math.ceil((end - start + 1) / MAX_BUCKETS))
    buckets: dict[int, list[tuple[Turn, bool]]] = defaultdict(list)
    for turn, good in verdicts:
        buckets[(turn.started_ns - start) // width].append((turn, good))
    return [
        {"start_ns": start + b * width, **rate_of(rows).to_dict()}
        for b, rows in sorted(buckets.items())
    ]


def corrected(view: JudgeView, calibrations: dict[str, Any]) -> dict[str, Any] | None:
    """The good rate corrected for the judge's calibrated errors, when the calibration is for
    this prompt version and model (``None`` otherwise, or when the judge is no better than
    chance: then no correction exists)."""
    saved = calibrations.get(view.name)
    if not isinstance(saved, dict) or saved.get("prompt_version") != view.version:
        return None
    if saved.get("model") != view.model or saved.get("tpr") is None or saved.get("tnr") is None:
        return None
    rate = rate_of(view.verdicts)
    if not rate.n or rate.rate is None:
        return None
    yes = rate.rate if view.name not in BAD_WHEN_YES else 1 - rate.rate
    fixed = corrected_rate(
        yes, rate.n, saved["tpr"], saved["tnr"], int(saved["n_pos"]), int(saved["n_neg"])
    )
    if fixed is None:
        return None
    if view.name in BAD_WHEN_YES:
        return {
            "rate": _r(1 - fixed.corrected),
            "low": _r(1 - fixed.high),
            "high": _r(1 - fixed.low),
        }
    return {"rate": _r(fixed.corrected), "low": _r(fixed.low), "high": _r(fixed.high)}


def checks_summary(turns: list[Turn], latency_budget_ms: float) -> dict[str, Any]:
    """The exact checks over every turn with content, and latency against the budget."""
    names = ("non_empty", "citations_exist")
    with_content = [t for t in turns if t.checks]
    durations = [t.duration_ms for t in turns]
    costs = [t.cost_usd for t in turns if t.cost_usd is not None]
    return {
        "turns": len(turns),
        "with_content": len(with_content),
        **{
            name: rate_of(
                [(t, bool(t.checks[name])) for t in with_content if t.checks.get(name) is not None]
            ).to_dict()
            for name in names
        },
        "latency_budget_ms": latency_budget_ms,
        "within_latency": rate_of(
            [(t, t.duration_ms <= latency_budget_ms) for t in turns]
        ).to_dict(),
        "p50_ms": _r(percentile(durations, 50)),
        "p95_ms": _r(percentile(durations, 95)),
        "cost_usd": _r(sum(costs)) if costs else None,
    }


def worst(turns: list[Turn], limit: int = 15) -> list[dict[str, Any]]:
    """The turns with the most bad verdicts (ties: the slowest first)."""
    scored = []
    for turn in turns:
        bad = {name: [r for g, r in v if not g] for name, v in turn.verdicts.items()}
        bad = {name: reasons for name, reasons in bad.items() if reasons}
        failed_checks = [name for name, ok in turn.checks.items() if ok is False]
        if bad or failed_checks:
            scored.append((len(bad) + len(failed_checks), turn, bad, failed_checks))
    scored.sort(key=lambda s: (-s[0], -s[1].duration_ms))
    return [
        {
            "trace_id": turn.trace_id,
            "intent": turn.intent,
            "channel": turn.channel,
            "question": turn.question[:300],
            "answer": (turn.answer or "")[:400],
            "bad": {name: (reasons[0] or "")[:200] for name, reasons in bad.items()},
            "failed_checks": failed_checks,
        }
        for _, turn, bad, failed_checks in scored[:limit]
    ]


CALIBRATION_KEYS = ("prompt_version", "model", "tpr", "tnr", "n_pos", "n_neg", "kappa", "accuracy")


def stored_calibrations(path: Path) -> dict[str, Any]:
    """The calibrations in ``judges.json`` that are whole (others are skipped with a warning
    on the log), with only the labels file's name (not where it lives)."""
    try:
        saved = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    except (OSError, ValueError) as exc:
        log.warning("calibrations unreadable", path=str(path), error=str(exc))
        return {}
    usable = {}
    for name, entry in (saved if isinstance(saved, dict) else {}).items():
        if not isinstance(entry, dict) or any(k not in entry for k in CALIBRATION_KEYS):
            log.warning("calibration incomplete, skipped", judge=str(name))
            continue
        usable[str(name)] = {**entry, "labels": PurePath(str(entry.get("labels") or "")).name}
    return usable


def build_report(
    live: Path,
    calibrations: dict[str, Any],
    *,
    since_ns: int = 0,
    latency_budget_ms: float = 10_000.0,
) -> dict[str, Any]:
    """Everything ``eval report`` shows, as plain data (the ``--json`` output)."""
    turns, views = collect(live, since_ns)
    ordered = sorted(turns.values(), key=lambda t: t.started_ns)
    start = ordered[0].started_ns if ordered else 0
    end = ordered[-1].started_ns if ordered else 0
    judges = []
    for name in [n for n in JUDGES if n in views] + sorted(set(views) - set(JUDGES)):
        view = views[name]
        judges.append(
            {
                "name": name,
                "version": view.version,
                "model": view.model,
                "good_means": "NO" if name in BAD_WHEN_YES else "YES",
                "overall": rate_of(view.verdicts).to_dict(),
                "corrected": corrected(view, calibrations),
                "unparsed": view.unparsed,
                "over_time": over_time(view.verdicts, start, end),
                "by_intent": grouped(view.verdicts, "intent"),
                "by_channel": grouped(view.verdicts, "channel"),
            }
        )
    return {
        "turns": len(ordered),
        "first_ns": start,
        "last_ns": end,
        "models": sorted({t.model for t in ordered}),
        "intents": dict(sorted(_count(t.intent for t in ordered).items())),
        "channels": dict(sorted(_count(t.channel for t in ordered).items())),
        "checks": checks_summary(ordered, latency_budget_ms),
        "judges": judges,
        "calibrations": calibrations,
        "worst": worst(ordered),
    }


def _count(values: Any) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for value in values:
        counts[str(value)] += 1
    return dict(counts)
