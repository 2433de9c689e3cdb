"""A trace log of Slack turns with judge verdicts, as ``eval traces`` leaves it (for the
report's tests): turn ``n`` is in channel ``C{n % 2}``, has intent ``question`` when ``n`` is
even and ``chitchat`` otherwise; the groundedness judge says YES on turns 0-5 and NO on 6-9;
the refusal judge says YES (a refusal: bad) on turn 9 only."""

from __future__ import annotations

from pathlib import Path

from guards.redaction import REDACTOR
from observe.tracing import Tracer

TURNS = 10


def write_judged_log(path: Path, *, question: str = "How do I leave a venv?") -> list[str]:
    """The log; returns the turns' trace ids in order."""
    tracer = Tracer(path, redactor=REDACTOR, keep_content=True)
    traces = []
    for n in range(TURNS):
        with tracer.span("slack.reply", "SERVER", {"app.slack.channel": f"C{n % 2}"}) as reply:
            attributes = {
                "app.content.question": f"{question} ({n})",
                "app.content.answer": "Run deactivate [1]." if n != 3 else "See [2].",
                "app.citation.numbers": [1],
                "app.intent": "question" if n % 2 == 0 else "chitchat",
                "app.model": "local",
            }
            with tracer.span("turn", "SERVER", attributes) as turn:
                pass
        traces.append(reply.trace_id)
        for name, yes in (("groundedness", n < 6), ("refusal", n == 9)):
            tracer.evaluation(
                trace_id=turn.trace_id,
                span_id=turn.span_id,
                name=name,
                score_value=1.0 if yes else 0.0,
                score_label="yes" if yes else "no",
                attributes={
                    "app.judge.version": f"{name}/1",
                    "app.judge.model": "local",
                    "app.content.judge_reason": f"reason {n}",
                },
            )
    tracer.close()
    return traces
