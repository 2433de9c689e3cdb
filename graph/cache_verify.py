"""Does a cached question ask for exactly what the new one asks? The cache's verification step.

A vector match is not enough: "turn on X" and "turn off X" embed closer than many true
paraphrases, and so do "reverse a list" and "reverse a string". ``difference`` compares the
two questions' words (``graph.cache_words``) and finds what would make the cached answer wrong:

1. **Negation**: the questions hold a different number of negations ("can't", "without").
2. **Numbers, versions and dates** differ (number words in digits; months, weekdays,
   quarters, "next"/"last"), or a **name** does (a capitalised word mid-sentence, an e-mail, a
   Slack mention, a redacted placeholder).
3. **Opposites**: one has a word whose opposite the other has ("add"/"remove",
   "ascending"/"descending", "before"/"after", "un-"/"dis-"/"de-" prefixes).
4. **Direction**: when both say "from" (or "to"), the same thing must follow it.
5. **Content words** (Snowball stems; scaffolding, light verbs and filler dropped; common
   synonyms and spellings in one form: "get rid of" = "remove", "wi-fi" = "wifi"):
   - the same sets: a paraphrase;
   - extra words on one side: a *narrower* question ("read a *binary* file"), unless leaving
     them out barely moves that question's embedding ("I just cloned the repo, how do I set up
     my environment?");
   - the same sentence with one or two short runs of words replaced: *another* question
     ("reverse a *list*" / "reverse a *string*"), and so is one word for one word unless the
     rest was reworded too and the embeddings agree strongly;
   - reworded throughout: a *restatement*, accepted when the embeddings agree
     (``RESTATED_SIMILARITY``). Near misses are edits; paraphrases change the wording.

MiniLM's similarity of the differing words alone does not tell synonyms from sibling terms
(synonyms median 0.50, siblings 0.35, overlapping), so it never excuses a swap. The check errs
on the side of a miss: a rejected paraphrase costs one model call, a wrong hit serves a wrong
answer. ``assistant bench cache`` measures both rates; ``docs/benchmarks.md`` has them.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from difflib import SequenceMatcher

import numpy as np

from graph.cache_words import (
    ANSWER_KINDS,
    DATES,
    DETERMINERS,
    DIRECTIONAL,
    ENTITY,
    INFINITIVE,
    NEGATING_PREFIXES,
    NEGATIONS,
    NUMBER_WORDS,
    OBLIGATION,
    OPPOSITES,
    ORDINALS,
    POINTING_BACK,
    SENTENCE_START,
    STEM,
    meaningful,
    split_tokens,
    split_words,
    stem,
)


def _negations(words: tuple[str, ...]) -> int:
    """How many negations: "can't … without" cancels out, so it is not "can … without"."""
    return sum(w in NEGATIONS for w in words)


def _facts(words: tuple[str, ...]) -> frozenset[str]:
    """What a near miss most often changes, beside the content words: numbers, versions,
    ordinals and dates; an obligation ("do I *have to*", "is it *required*"); "without"; a
    pronoun pointing back ("install *it* on Windows")."""
    found = {
        NUMBER_WORDS.get(w, w)
        for w in words
        if w in NUMBER_WORDS or w in ORDINALS or w in DATES or any(c.isdigit() for c in w)
    }
    found |= {w for w in words if w == "without"} | _pointing_back(words)
    if any(w in OBLIGATION for w in words) or _has_to(words):
        found.add("obligation")
    return frozenset(found)


_DUMMY_IT_BEFORE = frozenset("is was does did will would can could make makes take takes".split())
_DUMMY_IT_AFTER = frozenset(
    "is was possible safe ok okay true necessary worth better normal".split()
)


def _pointing_back(words: tuple[str, ...]) -> set[str]:
    """``it``/``them`` standing for something said earlier ("install *it* on Windows"), not
    the empty "it" of "is it safe to …" or "does it matter"."""
    found = set()
    for i, word in enumerate(words):
        if word not in POINTING_BACK:
            continue
        before = words[i - 1] if i else ""
        after = words[i + 1] if i + 1 < len(words) else ""
        if before not in _DUMMY_IT_BEFORE and after not in _DUMMY_IT_AFTER:
            found.add(word)
    return found


def _has_to(words: tuple[str, ...]) -> bool:
    """ "have to", "has to", "need to": an obligation (not "have to hand", rarely asked)."""
    return any(
        w in {"have", "has", "had", "need", "needs"} and nxt == "to"
        for w, nxt in zip(words, words[1:], strict=False)
    )


def _opposed(left: frozenset[str], right: frozenset[str]) -> bool:
    """Whether a stem of one side is the opposite of a stem of the other ("enabl"/"disabl",
    or the same word with a negating prefix: "avail"/"unavail")."""
    for word in left:
        if OPPOSITES.get(word, frozenset()) & right:
            return True
        for prefix in NEGATING_PREFIXES:
            prefixed = {f"{prefix}{word}", STEM.stemWord(f"{prefix}{word}")}
            if prefixed & right or (word.startswith(prefix) and word[len(prefix) :] in right):
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
        elif any(stem(w) not in stems for w in split_words(entity)):
            return False  # a capitalised name counts even when it is a common word ("Go")
    return True


def _unshortened(
    only_a: frozenset[str], only_b: frozenset[str]
) -> tuple[frozenset[str], frozenset[str]]:
    """The differing stems without the pairs where one is the other's plural ("nda" /
    "ndas"): a longer word that begins with a shorter one is often its opposite
    ("passwordless", "stateless") or another thing ("contractor")."""
    pairs = {(x, y) for x in only_a for y in only_b if x == f"{y}s" or y == f"{x}s"}
    return only_a - {x for x, _ in pairs}, only_b - {y for _, y in pairs}


def _edited(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    """Whether ``b`` is ``a`` with at most ``EDITS`` short runs of words replaced and the rest
    word for word the same ("submit my *expense report* this month" / "submit my *budget
    forecast* this month"): a near miss is made that way; a restatement changes the wording
    throughout."""
    changed = [
        (i2 - i1, j2 - j1)
        for tag, i1, i2, j1, j2 in SequenceMatcher(None, a, b, autojunk=False).get_opcodes()
        if tag != "equal"
    ]
    same = len(a) - sum(n for n, _ in changed)
    return (
        len(changed) <= EDITS
        and all(max(n, m) <= SPAN_WORDS for n, m in changed)
        and same >= len(a) / 2
    )


SPAN_WORDS = 3
"""The longest run of words a near miss replaces in one piece."""
EDITS = 2
"""How many separate runs of words a near miss changes."""
REWORDED_SWAP_SIMILARITY = 0.80
"""One word for another *and* the rest reworded (not one run of words replaced): a paraphrase
with a synonym ("laptop won't connect" / "can't get my computer onto") when the embeddings
agree this strongly. Measured on 1,129 pairs: above it, 19 paraphrases and 3 near misses, all
three opposites the opposite check now catches."""
RESTATED_SIMILARITY = 0.72
"""Embedding similarity a question reworded throughout needs. At 0.60, the first blind set it
met (``written-d``) had 2 false hits in 150 near misses (reworded role reversals: "if I
resign" / "if the company lets me go"); at 0.72, 1."""
UNIMPORTANT_SIMILARITY = 0.96
"""How close a question must stay to itself without its extra words for them not to matter."""
_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9'’./]*")
Embed = Callable[[Sequence[str]], Awaitable[list[list[float]]]]


def difference(query: str, cached: str, similarity: float = 1.0) -> str | None:
    """Why ``query`` may not reuse the answer to ``cached``, or ``None`` when they ask the same
    thing; ``similarity`` is the two questions' embedding cosine similarity. The reasons are
    ``negation``, ``fact`` (number, version, date, obligation, "without", a pronoun pointing
    back, or where/when/who/why asked against each other), ``name``, ``opposite``,
    ``direction``, ``narrower`` (extra words on one side), ``swapped`` (the same sentence with
    words replaced, or one word for another without agreeing embeddings) and ``restated``
    (reworded throughout and the embeddings do not agree strongly enough)."""
    a, b = split_words(query), split_words(cached)
    if _negations(a) != _negations(b):
        return "negation"
    kinds_a, kinds_b = ANSWER_KINDS & set(a), ANSWER_KINDS & set(b)
    if _facts(a) != _facts(b) or (kinds_a and kinds_b and kinds_a != kinds_b):
        return "fact"  # incl. "where" asked against "when" (one side without either is fine)
    if not (_mentions_all(_entities(query), cached) and _mentions_all(_entities(cached), query)):
        return "name"
    ca, cb = _content(a), _content(b)
    only_a, only_b = _unshortened(ca - cb, cb - ca)
    if _opposed(only_a, only_b):
        return "opposite"
    da, db = _directions(split_tokens(query)), _directions(split_tokens(cached))
    if any(da[side] != db[side] for side in da.keys() & db.keys()):
        return "direction"
    if not only_a and not only_b:
        return None
    if not only_a or not only_b:
        return "narrower"
    if _edited(a, b) or (len(only_a) + len(only_b) <= 2 and similarity < REWORDED_SWAP_SIMILARITY):
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


async def verify(
    query: str,
    cached: str,
    similarity: float,
    embed: Embed,
    known: Mapping[str, Sequence[float]] | None = None,
) -> str | None:
    """``difference``, except that a narrower question is accepted when its extra words barely
    move its embedding (``UNIMPORTANT_SIMILARITY``: "I just cloned the repo, how do I set up my
    environment?" is "how do I set up my environment?"; "sort a list in place" is not "sort a
    list"). ``embed`` is called only for such a question, and only for the texts whose vectors
    ``known`` does not hold."""
    reason = difference(query, cached, similarity)
    if reason != "narrower":
        return reason
    pairs = without_extra_words(query, cached)
    texts = [text for pair in pairs for text in pair]
    vectors = dict(known or {})
    missing = [t for t in dict.fromkeys(texts) if t not in vectors]
    vectors.update(zip(missing, await embed(missing), strict=True))
    matrix = np.asarray([vectors[t] for t in texts])
    closeness = (matrix[0::2] * matrix[1::2]).sum(axis=1)
    return None if float(closeness.min()) >= UNIMPORTANT_SIMILARITY else reason


VERSION = 2
"""Changes with the rules: the cache's same-words keys name it, so a release with other word
lists never serves an entry through a key the old rules made."""
_TRIVIAL = frozenset("a an the please hey hi hello thanks thank quick q question".split())


def signature(question: str) -> str:
    """The question's words as asked, give or take case, punctuation, contractions, greetings
    and articles (``split_tokens``): two questions with the same signature were asked in the
    same words, so the cache serves the second without embedding it. Mentions, e-mails and
    placeholders are kept whole."""
    words = [w for w in split_tokens(question) if w not in _TRIVIAL]
    exact = sorted(e for e in _entities(question) if e[0] == "<" or "@" in e)
    return repr((VERSION, words, exact))


def same_meaning(query: str, cached: str, similarity: float = 1.0) -> bool:
    """Whether ``query`` asks exactly what ``cached`` asked, without the embedding checks
    (``verify`` has them)."""
    return difference(query, cached, similarity) is None
