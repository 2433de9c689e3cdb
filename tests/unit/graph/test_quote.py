"""Quoted answers: the part of a passage that answers the question, in its own words."""

from __future__ import annotations

import pytest

from graph.quote import QUOTE_INTRO, pick_quote, quoted_answer, segments
from knowledge.embeddings import get_embedder

DEFAULTS = """This type of bug commonly bites neophyte programmers.  Consider this function::

   def foo(mydict={}):  # Danger: shared reference to one dict for all calls
       mydict[key] = value
       return mydict

The first time you call this function, ``mydict`` contains a single item.  The
second time, ``mydict`` contains two items.

Default values are created exactly once, when the function is defined.  If that
object is changed, subsequent calls to the function will refer to this changed
object.
"""

LONG = "\n\n".join(
    [
        "The weather module reports rain, wind and sun for many cities around the world.",
        *[
            f"Filler paragraph {n} about forecasts, radar maps and clouds over hills."
            for n in range(12)
        ],
        "To convert Celsius to Fahrenheit, multiply by nine fifths and add thirty-two.",
        "The same conversion works backwards by subtracting thirty-two first.",
    ]
)


def embed(texts: list[str]) -> list[list[float]]:
    return get_embedder().embed(texts)


def folded(text: str) -> str:
    return " ".join(text.split())


def test_segments_split_prose_paragraphs_and_literal_code() -> None:
    kinds = [(s.kind, DEFAULTS[s.start : s.end].split()[0]) for s in segments(DEFAULTS)]
    assert kinds == [("prose", "This"), ("code", "def"), ("prose", "The"), ("prose", "Default")]


def test_a_short_section_is_quoted_whole_in_its_own_words() -> None:
    quote = pick_quote("Why does my default dict argument keep its items?", DEFAULTS, embed)
    assert quote is not None
    answer = quoted_answer(quote)
    assert answer.startswith(QUOTE_INTRO.format(n=1) + "\n\n> This type of bug")
    assert "```\ndef foo(mydict={}):" in answer, "code comes fenced, without its indentation"
    assert "Default values are created exactly once" in answer
    lines = [line[2:] for line in answer.split("\n") if line.startswith("> ")]
    assert lines and all(line in folded(DEFAULTS) for line in lines), "exactly the source's words"


def test_in_a_long_passage_the_window_starts_at_the_answer() -> None:
    quote = pick_quote("How do I convert Celsius to Fahrenheit?", LONG, embed, budget=200)
    assert quote is not None
    assert quote.text.startswith("To convert Celsius to Fahrenheit")
    assert "subtracting thirty-two" in quote.text, "followed by what fits"
    assert "Filler paragraph" not in quote.text


def test_a_first_paragraph_over_the_budget_is_cut_at_a_sentence_end() -> None:
    passage = "One sentence here about the topic. " * 40
    quote = pick_quote("What about the topic?", passage, embed, budget=120)
    assert quote is not None and quote.cut_at is not None
    answer = quoted_answer(quote)
    assert answer.endswith("topic. …") and len(quote.text) <= 120


@pytest.mark.parametrize("passage", ["", "   \n\n  "])
def test_a_passage_without_text_gives_no_quote(passage: str) -> None:
    assert pick_quote("anything?", passage, embed) is None


def test_a_quote_never_ends_on_an_introduction() -> None:
    intro = "To do it, write the following:"
    passage = "\n\n".join([*["Unrelated filler about weather maps."] * 8, intro, "x " * 150])
    quote = pick_quote("How do I do it?", passage, embed, budget=200)
    assert quote is not None
    assert quote.text.startswith(intro) and quote.text.rstrip().endswith("x")
    assert quote.cut_at is not None and len(quote.text) <= 200, "the start of what it introduces"
    code_first = "\n\n".join([*["Weather maps."] * 30, intro + "::", "    do_it()\n" * 40])
    coded = pick_quote("How do I do it?", code_first, embed, budget=120)
    assert coded is not None and "do_it()" in quoted_answer(coded)
