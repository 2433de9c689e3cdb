"""Answers made without the model: the best passage quoted, or the honest "couldn't find it".

``passage_answer`` is what a question gets when the model's own words cannot be used (the local
model's answers, or any answer the sources do not support): the top passage quoted
(``graph.quote``) when it is close enough to the question to answer it, else the closest
sources named. The quote is picked in a worker thread (it embeds the passage's sentences).
"""

from __future__ import annotations

import asyncio
from typing import Any

from graph.prompts import NOT_GROUNDED_ANSWER, NOT_GROUNDED_SOURCE
from graph.quote import Embed, pick_quote, quoted_answer
from graph.settings import Settings

MAX_CLOSEST = 3
"""How many of the retrieved sources the "couldn't find" answer names."""


def closest_sources_answer(docs: list[dict[str, Any]]) -> str:
    """The honest answer when nothing retrieved answers the question: the closest sources."""
    lines = [
        NOT_GROUNDED_SOURCE.format(heading=d["heading"] or d["source"], source=d["source"])
        for d in docs[:MAX_CLOSEST]
    ]
    return NOT_GROUNDED_ANSWER.format(sources="\n".join(lines))


def answers_question(doc: dict[str, Any], settings: Settings) -> bool:
    """Whether a retrieved passage is close enough to the question to be quoted as its answer:
    its best chunk reaches ``quote_min_similarity`` (cosine; a purely lexical search has none
    and is trusted), or its heading path reaches ``quote_heading_similarity``."""
    similarity, heading = doc.get("similarity"), doc.get("heading_similarity")
    if heading is not None and float(heading) >= settings.quote_heading_similarity:
        return True
    return similarity is None or float(similarity) >= settings.quote_min_similarity


async def passage_answer(
    question: str, docs: list[dict[str, Any]], embed: Embed, settings: Settings
) -> str | None:
    """The top passage quoted as the answer (it is source ``[1]``), or ``None`` when it does not
    answer the question."""
    if not docs or not answers_question(docs[0], settings):
        return None
    quote = await asyncio.to_thread(pick_quote, question, str(docs[0]["text"]), embed)
    return quoted_answer(quote, n=1) if quote is not None else None
