"""Follow-ups made standalone, so the cache, the intent and retrieval fit the thread.

"and for tuples?" after "How do I sort a list?" means "How do I sort a list? And for tuples?";
searched alone it finds nothing useful and, worse, could be served a cached answer to someone
else's "and for tuples?". A message is a follow-up when it is short and either opens with a
connective ("and", "what about", "same for", ...) or is very short and leans on a pronoun
("why is that?", "how do I undo it?"). Without a capable model the standalone question is the
previous standalone question followed by the message: both sets of words reach BM25 and the
embedding. With a capable chat model configured, the model rewrites it (``REWRITE_SYSTEM``),
falling back to the concatenation when it fails or returns nothing usable.
"""

from __future__ import annotations

import re
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AnyMessage, HumanMessage, SystemMessage

from graph.memory_summary import latest_question, question_of
from graph.prompts import REWRITE_SYSTEM, REWRITE_USER

JOINED_WORDS = 40
MAX_FOLLOW_UP_WORDS = 8
MAX_PRONOUN_FOLLOW_UP_WORDS = 5
_CONNECTIVE = re.compile(
    r"^(and|or|but|also|so|then|plus|what about|how about|same for|same with|what if|"
    r"is there|any other)\b",
    re.IGNORECASE,
)
_QUESTION_WORD = re.compile(
    r"^(how|why|what|when|where|which|who|can|could|does|do|is|are|should|will|would)\b", re.I
)
_PRONOUN = re.compile(r"\b(it|its|that|this|those|these|them|they|there|one|ones)\b", re.I)


def is_follow_up(message: str) -> bool:
    """Whether ``message`` only makes sense after the previous question (see module doc).

    A pronoun alone is not enough: the message must also be a question ("how do I undo it?"),
    so "that was wrong" stays feedback about the last answer.
    """
    text = message.strip()
    words = text.split()
    if not words or len(words) > MAX_FOLLOW_UP_WORDS:
        return False
    if _CONNECTIVE.match(text):
        return True
    asks = text.endswith("?") or bool(_QUESTION_WORD.match(text))
    return asks and len(words) <= MAX_PRONOUN_FOLLOW_UP_WORDS and bool(_PRONOUN.search(text))


def previous_question(messages: list[AnyMessage], summary: dict[str, Any] | None = None) -> str:
    """The standalone question of the conversation's latest question turn (as its answer
    recorded it; small talk or thanks in between do not hide it), else the newest question
    the conversation's summary kept, else empty: nothing to follow up on."""
    for message in reversed(messages):
        if question := question_of(message):
            return question
    return latest_question(summary or {})


def joined(previous: str, message: str) -> str:
    """The model-free standalone question: the previous one (its last ``JOINED_WORDS`` words:
    a chain of follow-ups must not grow without end), then the follow-up."""
    words = previous.split()[-JOINED_WORDS:]
    return f"{' '.join(words)} {message.strip()}"


async def rewrite_with_model(model: BaseChatModel, previous: str, message: str) -> str:
    """The model's standalone question, or ``joined`` when its reply is unusable."""
    reply = await model.ainvoke(
        [
            SystemMessage(REWRITE_SYSTEM),
            HumanMessage(REWRITE_USER.format(previous=previous, message=message)),
        ]
    )
    text = str(reply.content).strip().strip('"').strip()
    usable = text and "\n" not in text and len(text) <= 4 * (len(previous) + len(message))
    return text if usable else joined(previous, message)
