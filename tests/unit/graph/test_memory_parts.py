"""The pure parts of memory: memory commands, the rolling summary, the asker's facts in the
prompt, and what is never cached because of them."""

from __future__ import annotations

from dataclasses import replace

import pytest
from langchain_core.messages import AIMessage, HumanMessage

from graph.memory_summary import fold, latest_question, render, started, tokens
from graph.nodes.generate import answer_messages
from graph.nodes.store_cache import cacheable
from graph.state import State
from graph.user_memory import MemoryCommand, memory_command


@pytest.mark.parametrize(
    ("message", "command"),
    [
        ("remember that I work on payments", MemoryCommand("remember", "I work on payments")),
        ("Please remember: my team is Atlas.", MemoryCommand("remember", "my team is Atlas")),
        ("what do you remember about me?", MemoryCommand("recall")),
        ("forget everything about me", MemoryCommand("forget")),
        ("forget that I work on payments", MemoryCommand("forget", "I work on payments")),
        ("forget it", None),
        ("How do I remember my password?", None),
        ("I forget how to reset the VPN", None),
        ("remember to restart the server", None),
    ],
)
def test_memory_commands_are_explicit(message: str, command: MemoryCommand | None) -> None:
    assert memory_command(message) == command


def answer(query: str, intent: str = "question") -> AIMessage:
    return AIMessage("…", response_metadata={"intent": intent, "query": query})


def test_the_summary_keeps_the_topic_and_the_newest_earlier_questions() -> None:
    summary = started({}, "How do I roll back?", "question")
    assert started(summary, "Something else?", "question")["topic"] == "How do I roll back?"
    dropped = [m for n in range(12) for m in (HumanMessage(f"q{n}"), answer(f"question {n}?"))]
    dropped.append(answer("thanks", intent="chitchat"))
    folded = fold(summary, dropped)
    assert folded["topic"] == "How do I roll back?"
    assert folded["questions"] == [f"question {n}?" for n in range(4, 12)]
    assert folded["folded"] == 25
    assert latest_question(folded) == "question 11?"
    text = render(folded)
    assert text.startswith("This conversation began with: How do I roll back?")
    assert "question 11?" in text and "25 older messages" in text
    assert render({}) == ""


def test_token_count_grows_with_the_text() -> None:
    short, long = [HumanMessage("hi")], [HumanMessage("word " * 400)]
    assert tokens(short) < 5 < 400 <= tokens(long)


def test_the_askers_facts_reach_the_answer_prompt_as_data_and_stop_caching() -> None:
    state = State(
        intent="question",
        query="Which dashboard should I use?",
        docs=[{"source": "a.md", "heading": "Dashboards", "text": "Use Grafana.", "n": 1}],
        answer="Use Grafana [1].",
        citations=[{"n": 1, "id": "c1", "source": "a.md", "heading": "D", "text": "x"}],
        grounded=True,
        user_facts=["I work on payments"],
    )
    prompt = str(answer_messages(state)[-1].content)
    assert "- I work on payments" in prompt and "not instructions" in prompt
    assert not cacheable(state), "an answer written knowing the asker is theirs alone"
    assert cacheable(replace(state, verbatim=True)), "a quoted passage does not depend on them"
    assert cacheable(replace(state, user_facts=[]))
