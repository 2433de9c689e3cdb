"""Intent node: an embedding classifier decides; the model is asked only when it is unsure."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from graph.context import BotContext
from graph.state import State


async def classify_intent(state: State, runtime: Runtime[BotContext]) -> dict[str, Any]:
    """Classify the (redacted) question into one of the fixed intents."""
    ctx = runtime.context
    with ctx.tracer.span("intent.classify") as span:
        prediction = await ctx.classifier.apredict(state.clean_question)
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
    }
