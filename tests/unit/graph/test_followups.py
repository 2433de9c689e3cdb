"""Which messages are follow-ups, what they follow, and the model rewrite's fallback."""

from __future__ import annotations

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, HumanMessage

from graph.followups import is_follow_up, joined, previous_question, rewrite_with_model


@pytest.mark.parametrize(
    "message",
    [
        "and for tuples?",
        "What about sets?",
        "same for dicts",
        "how do I undo it?",
        "why is that?",
        "does it work on Windows?",
    ],
)
def test_follow_ups(message: str) -> None:
    assert is_follow_up(message)


@pytest.mark.parametrize(
    "message",
    [
        "that was wrong",
        "thanks, that helped",
        "How do I sort a list of dictionaries by a key in Python?",
        "what does this error mean: ModuleNotFoundError no module named yaml in my venv",
        "",
    ],
)
def test_not_follow_ups(message: str) -> None:
    assert not is_follow_up(message)


def test_the_previous_question_is_the_latest_question_turns_standalone_question() -> None:
    asked = AIMessage("Use sorted().", response_metadata={"intent": "question", "query": "sort?"})
    chat = AIMessage("Hi!", response_metadata={"intent": "chitchat", "query": "thanks"})
    assert previous_question([HumanMessage("sort?"), asked]) == "sort?"
    thanks = [HumanMessage("sort?"), asked, HumanMessage("thanks"), chat]
    assert previous_question(thanks) == "sort?", "small talk does not hide the question"
    assert previous_question([HumanMessage("thanks"), chat]) == ""
    summary = {"topic": "vpn on linux?", "questions": ["vpn on linux?", "which port?"]}
    assert previous_question([HumanMessage("thanks"), chat], summary) == "which port?"
    assert previous_question([]) == ""


def test_a_chain_of_joined_follow_ups_stays_bounded() -> None:
    query = "How do I sort a list?"
    for n in range(30):
        query = joined(query, f"and for kind {n}?")
    assert len(query.split()) <= 44 and query.endswith("and for kind 29?")


async def test_a_rambling_model_reply_falls_back_to_joining() -> None:
    rambling = GenericFakeChatModel(messages=iter([AIMessage("Sure!\nHere is a question:\n...")]))
    assert await rewrite_with_model(rambling, "sort?", "and tuples?") == joined(
        "sort?", "and tuples?"
    )
    good = GenericFakeChatModel(messages=iter([AIMessage('"How do I sort tuples?"')]))
    assert await rewrite_with_model(good, "sort?", "and tuples?") == "How do I sort tuples?"
