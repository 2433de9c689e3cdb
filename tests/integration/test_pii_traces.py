"""A conversation full of personal data and secrets leaves none of them in ``traces.jsonl``.

The real assistant (embedded Redis, Chroma, MiniLM, the real guards and tracer) with a chat model
scripted to do the worst thing: repeat the asker's e-mail, card number and tokens back. Content
is kept in the traces (``trace_content``), so the redaction, not the omission, is what is tested.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from graph.assistant import Assistant
from graph.settings import Settings
from guards.redaction import REDACTOR
from observe.tracing import Tracer

EMAIL = "jane.doe@example.com"
CARD = "4111 1111 1111 1111"
SLACK = "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx"
AWS = "AKIAIOSFODNN7EXAMPLQ"
GITHUB = "ghp_" + "Zq8Xw2Lm4Np6Rt0Vb3Cd5Fg7Hj9Kk1Ms2Qa4"
IBAN = "DE89 3704 0044 0532 0130 00"
PHONE = "+44 20 7946 0958"

CONVERSATION = [
    f"Hi, I'm {EMAIL} and my card {CARD} was charged twice, call me on {PHONE}",
    f"Also our bot token {SLACK} leaked in the deploy log, and the key {AWS}",
    f"Refund to {IBAN} please; my GitHub token is {GITHUB} if you need it",
    "What did I just tell you?",
]
LEAKY_REPLY = f"Sure {EMAIL}: card {CARD}, token {SLACK}, key {AWS}, {GITHUB}, {IBAN}, {PHONE}."


def _raw_forms(value: str) -> set[str]:
    """The value as written and without separators (a card written 4111111111111111)."""
    return {value, re.sub(r"[\s-]", "", value)}


@pytest.mark.parametrize("keep_content", [True, False], ids=["content-kept", "content-off"])
async def test_no_raw_personal_data_or_token_reaches_the_traces(
    tmp_path: Path, redis_url: str, keep_content: bool
) -> None:
    settings = Settings(
        data_dir=tmp_path,
        redis_url=redis_url,
        trace_content=keep_content,
        cache_enabled=False,
        answer_mode="generate",  # the scripted model's leaky reply is the answer
    )
    model = GenericFakeChatModel(messages=iter([AIMessage(LEAKY_REPLY)] * 20))
    tracer = Tracer(settings.traces_path, keep_content=keep_content, redactor=REDACTOR)
    assistant = await Assistant.start(settings, tracer=tracer, llm=model)
    try:
        for message in CONVERSATION:
            result = await assistant.ask(message, conversation_id=f"pii-{keep_content}")
            assert result.answer
    finally:
        await assistant.aclose()

    traces = settings.traces_path.read_text(encoding="utf-8")
    assert traces.count("\n") >= 4 * len(CONVERSATION), "every turn must be traced"
    for value in (EMAIL, CARD, SLACK, AWS, GITHUB, IBAN, PHONE):
        for form in _raw_forms(value):
            assert form not in traces, f"{value[:6]}… reached traces.jsonl"
    assert re.search(r"\b4111\s?1111\b", traces) is None
    if keep_content:
        # Personal data keeps its typed placeholder; every credential is [REDACTED] trace-wide.
        assert "<EMAIL>" in traces and "<CARD>" in traces, "content is kept, redacted"
        assert "[REDACTED]" in traces
