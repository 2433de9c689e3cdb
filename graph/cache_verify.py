"""Does a cached question ask for exactly what the new one asks? The cache's verification step.

A vector match is not enough: "turn on X" and "turn off X" embed closer than many true
paraphrases, and so do "reverse a list" and "reverse a string". ``difference`` compares the
two questions' words and finds what would make the cached answer wrong:

1. **Negation**: the questions hold a different number of negations ("can't", "without").
2. **Numbers, versions and dates** differ (number words in digits; months, weekdays,
   quarters, "next"/"last"), or a **name** does (a capitalised word mid-sentence, an e-mail, a
   Slack mention, a redacted placeholder).
3. **Opposites**: one has a word whose opposite the other has ("enable"/"disable",
   "ascending"/"descending", "before"/"after", "un-"/"dis-" prefixes).
4. **Direction**: when both say "from" (or "to"), the same thing must follow it.
5. **Content words** (Snowball stems; scaffolding, light verbs and filler dropped; common
   synonyms and spellings in one form: "get rid of" = "remove", "wi-fi" = "wifi"):
   - the same sets: a paraphrase;
   - one side has extra words: a *narrower* question ("read a *binary* file") — rejected;
   - one word swapped for one word: *another* question ("list" / "string") — rejected;
   - several words differ on both sides: the question was *restated*, accepted only when the
     embeddings agree strongly (``restated_similarity``). Near misses change one thing;
     restatements change many words at once. Measured on 829 hand-written pairs: of the
     pairs that passed checks 1–4 and differed in three or more words at similarity 0.72–0.8,
     10 were paraphrases and none was not; the first near misses appear at 0.67.

MiniLM's similarity of the differing words alone does not tell synonyms from sibling terms
(synonyms median 0.50, siblings 0.35, overlapping), so it never excuses a swap. The check errs
on the side of a miss: a rejected paraphrase costs one model call, a wrong hit serves a wrong
answer. ``assistant bench cache`` measures both rates.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence

import numpy as np

from graph.cache_words import (
    DATES,
    DETERMINERS,
    DIRECTIONAL,
    ENTITY,
    INFINITIVE,
    NEGATING_PREFIXES,
    NEGATIONS,
    NUMBER_WORDS,
    OPPOSITES,
    ORDINALS,
    SENTENCE_START,
    meaningful,
    split_tokens,
    split_words,
    stem,
)


def _negations(words: tuple[str, ...]) -> int:
    """How many negations: "can't … without" cancels out, so it is not "can … without"."""
    return sum(w in NEGATIONS for w in words)


def _facts(words: tuple[str, ...]) -> frozenset[str]:
    """Numbers, versions, ordinals and dates: what a near miss most often changes."""
    return frozenset(
        NUMBER_WORDS.get(w, w)
        for w in words
        if w in NUMBER_WORDS or w in ORDINALS or w in DATES or any(c.isdigit() for c in w)
    )


def _opposed(left: frozenset[str], right: frozenset[str]) -> bool:
    """Whether a stem of one side is the opposite of a stem of the other ("enabl"/"disabl",
    or the same word with a negating prefix: "avail"/"unavail")."""
    for word in left:
        if OPPOSITES.get(word) in right:
            return True
        for prefix in NEGATING_PREFIXES:
            if f"{prefix}{word}" in right or (
                word.startswith(prefix) and word[len(prefix) :] in right
            ):
                return True
    return False


def _content(words: tuple[str, ...]) -> frozenset[str]:
    """Stems of the words that carry meaning."""
    return frozenset(stem(w) for w in words if meaningful(w))


def _directions(words: tuple[str, ...]) -> dict[str, frozenset[str]]:
    """For each directional word ("from", "to"; "into" and "onto" count as "to"), the stems of
    the first content word after each of its uses."""
    found: dict[str, set[str]] = {}
    for i, before in enumerate(words):
        if before not in DIRECTIONAL or (before == "to" and i and words[i - 1] in INFINITIVE):
            continue
        target = next((w for w in words[i + 1 :] if w not in DETERMINERS), None)
        if target is not None and target not in DIRECTIONAL:
            side = "to" if before in {"into", "onto"} else before
            found.setdefault(side, set()).add(stem(target))
    return {side: frozenset(targets) for side, targets in found.items()}


def _entities(text: str) -> set[str]:
    """Names, e-mails, mentions and redacted values in ``text``, lower-cased. A capitalised word
    that opens a sentence is not taken for a name (every opener is capitalised); a real name
    there still differs as a content word."""
    found = set()
    for m in ENTITY.finditer(text):
        plain = m.group().lower().removesuffix("'s")
        if plain[0].isalpha() and SENTENCE_START.search(text[: m.start()]):
            continue
        found.add(plain)
    return found


def _mentions_all(entities: set[str], text: str) -> bool:
    """Whether every entity of one question is in ``text``: mentions, e-mails and placeholders
    verbatim, names word for word after the same normalisation ("Wi-Fi" is "wifi")."""
    lowered = text.lower()
    stems = {stem(w) for w in split_words(text)}
    for entity in entities:
        if entity[0] in "<" or "@" in entity:
            if not re.search(rf"(?<![\w@.]){re.escape(entity)}(?![\w@])", lowered):
                return False
        elif any(stem(w) not in stems and meaningful(w) for w in split_words(entity)):
            return False
    return True


def _one_span_replaced(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    """Whether ``b`` is ``a`` with one short run of words replaced ("submit my *expense
    report* this month" / "submit my *budget forecast* this month"): a swap, not a
    restatement."""
    start = 0
    while start < min(len(a), len(b)) and a[start] == b[start]:
        start += 1
    end = 0
    while end < min(len(a), len(b)) - start and a[-1 - end] == b[-1 - end]:
        end += 1
    return len(a) - start - end <= SPAN_WORDS and len(b) - start - end <= SPAN_WORDS


SPAN_WORDS = 3
"""The longest run of words a near miss replaces in one piece."""
RESTATED_SIMILARITY = 0.72
"""Embedding similarity a restated question (three or more words differ on both sides) needs."""
UNIMPORTANT_SIMILARITY = 0.96
"""How close a question must stay to itself without its extra words for them not to matter."""
_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9'’./]*")
Embed = Callable[[Sequence[str]], Awaitable[list[list[float]]]]


def difference(query: str, cached: str, similarity: float = 1.0) -> str | None:
    """Why ``query`` may not reuse the answer to ``cached``, or ``None`` when they ask the same
    thing; ``similarity`` is the two questions' embedding cosine similarity. The reasons are
    ``negation``, ``fact`` (number, version, date), ``name``, ``opposite``, ``direction``,
    ``narrower`` (extra words on one side), ``swapped`` (one word for another) and
    ``restated`` (many words differ and the embeddings do not agree strongly enough)."""
    a, b = split_words(query), split_words(cached)
    if _negations(a) != _negations(b):
        return "negation"
    if _facts(a) != _facts(b):
        return "fact"
    if not (_mentions_all(_entities(query), cached) and _mentions_all(_entities(cached), query)):
        return "name"
    ca, cb = _content(a), _content(b)
    only_a, only_b = ca - cb, cb - ca
    if _opposed(only_a, only_b):
        return "opposite"
    da, db = _directions(split_tokens(query)), _directions(split_tokens(cached))
    if any(da[side] != db[side] for side in da.keys() & db.keys()):
        return "direction"
    if not only_a and not only_b:
        return None
    if not only_a or not only_b:
        return "narrower"
    if len(only_a) + len(only_b) <= 2 or _one_span_replaced(a, b):
        return "swapped"
    return None if similarity >= RESTATED_SIMILARITY else "restated"


def without_extra_words(query: str, cached: str) -> list[tuple[str, str]]:
    """``(question, question without the content words the other lacks)`` for each side that
    has such words."""
    ca, cb = _content(split_words(query)), _content(split_words(cached))
    return [
        (text, _without(text, extra))
        for text, extra in ((query, ca - cb), (cached, cb - ca))
        if extra
    ]


def _without(text: str, stems: frozenset[str]) -> str:
    kept = _TOKEN.sub(
        lambda m: "" if {stem(w) for w in split_words(m.group())} & stems else m.group(), text
    )
    return " ".join(kept.split())


async def verify(query: str, cached: str, similarity: float, embed: Embed) -> str | None:
    """``difference``, except that a narrower question is accepted when its extra words barely
    move its embedding (``UNIMPORTANT_SIMILARITY``: "I just cloned the repo, how do I set up my
    environment?" is "how do I set up my environment?"; "sort a list in place" is not "sort a
    list"). ``embed`` is called only for such a question."""
    reason = difference(query, cached, similarity)
    if reason != "narrower":
        return reason
    pairs = without_extra_words(query, cached)
    vectors = np.asarray(await embed([text for pair in pairs for text in pair]))
    closeness = (vectors[0::2] * vectors[1::2]).sum(axis=1)
    return None if float(closeness.min()) >= UNIMPORTANT_SIMILARITY else reason


def signature(question: str) -> str:
    """What ``difference`` compares, in word order: two questions with the same signature ask
    the same thing (content words in order, names among them; negations, facts, mentions and
    e-mails, directions), so the cache can serve the second without embedding it."""
    a = split_words(question)
    content = [stem(w) for w in a if meaningful(w)]
    directions = sorted(
        (side, sorted(t)) for side, t in _directions(split_tokens(question)).items()
    )
    exact = sorted(e for e in _entities(question) if e[0] == "<" or "@" in e)
    return repr((content, _negations(a), sorted(_facts(a)), exact, directions))


def same_meaning(query: str, cached: str, similarity: float = 1.0) -> bool:
    """Whether ``query`` asks exactly what ``cached`` asked, without the embedding checks
    (``verify`` has them)."""
    return difference(query, cached, similarity) is None
