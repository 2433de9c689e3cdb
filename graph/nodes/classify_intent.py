"""Intent node: an embedding classifier decides; the model is asked only when it is unsure."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from langgraph.runtime import Runtime

from graph.context import BotContext
from graph.settings import TOOL_INTENTS
from graph.state import State


async def classify_intent(state: State, runtime: Runtime[BotContext]) -> dict[str, Any]:
    """Classify the (redacted) message into one of the fixed intents.

    The message itself is classified ("that was wrong" stays feedback after a question), but a
    follow-up of a question (``query`` differs) that reads as small talk is a question:
    "and for tuples?" is not chitchat.
    """
    ctx = runtime.context
    with ctx.tracer.span("intent.classify") as span:
        prediction = await ctx.classifier.apredict(state.clean_question)
        if prediction.intent == "chitchat" and state.query != state.clean_question:
            prediction = replace(prediction, intent="question")
        span.update(
            {
                "app.intent": prediction.intent,
                "app.intent.confidence": round(prediction.confidence, 4),
                "app.intent.method": prediction.method,
            }
        )
    return {
        "intent": prediction.intent,
        "intent_confidence": prediction.confidence,
        "intent_method": prediction.method,
        "planning": prediction.intent in TOOL_INTENTS and ctx.settings.plans_tools,
    }
