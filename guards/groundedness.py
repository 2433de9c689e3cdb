"""Groundedness: is each statement of an answer backed by the retrieved passages?

``support_scores`` splits the answer into sentences (Markdown bullets, headings, wrapped lines;
fenced and reStructuredText literal code skipped; ``[n]`` markers kept with their sentence) and
scores each *factual* one (greetings, "Here is how:", questions back, "I couldn't find …" are
left out): ``lexical``, the share of its content terms (stop words out, Snowball-stemmed,
numbers exact) in the best passage; ``semantic``, with an injected ``embed``, the highest cosine
with any passage sentence. It is supported at ``LEXICAL_SUPPORT`` or ``SEMANTIC_SUPPORT``, or
when passage n of a cited ``[n]`` clears the looser ``CITED_*`` bars; never with a number no
passage holds. Thresholds: chosen on the Python FAQ by ``assistant bench grounded``.
``Grounded`` (``assistant/grounded``) is the validator. No knowledge/ or graph/ imports here.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
import Stemmer
from guardrails.validator_base import (
    ErrorSpan,
    FailResult,
    PassResult,
    ValidationResult,
    Validator,
    register_validator,
)

from guards.sentences import sentence_spans
from guards.validators import find_markers

Embed = Callable[[list[str]], list[list[float]]]
"""Texts -> one L2-normalised vector per text, in order (cosine is a dot product)."""

LEXICAL_SUPPORT = 0.8
"""Share of a sentence's content terms the best passage must hold (FAQ: 3 % false support)."""
SEMANTIC_SUPPORT = 0.85
"""Cosine a passage sentence must reach with the answer sentence (with lexical: 4 %)."""
CITED_LEXICAL_SUPPORT = 0.65
"""The lexical bar for the passage a sentence cites (the citation is extra evidence)."""
CITED_SEMANTIC_SUPPORT = 0.7
"""The semantic bar for the passage a sentence cites."""
DEFAULT_MIN_SUPPORTED = 0.6
"""``Grounded`` fails below this share of supported factual sentences (FAQ: every gold answer
passes, about 1 % of answers checked against wrong passages do)."""
MIN_CONTENT_TERMS = 2
"""A sentence with fewer content terms (and no number) states no fact ("Yes.", "See [1].")."""

_STOP_WORDS = frozenset(
    # English function words and assistant filler.
    "a about above after again against all also am an and any are aren't as at be because been "
    "before being below between both but by can cannot could couldn't did didn't do does doesn't "
    "doing don't down during each few for from further had has have having he her here hers "
    "herself him himself his how however i i'm if in into is isn't it it's its itself just let "
    "let's may me might more most must my myself no nor not now of off on once only or other our "
    "ours ourselves out over own same she should so some such than that that's the their theirs "
    "them themselves then there there's these they this those through thus to too under until up "
    "us very via was we were what when where which while who whom why will with would you your "
    "yours yourself yourselves simply basically actually note e g ie eg etc "
    # The commonest German, French and Spanish function words.
    "der die das und ist sind von zu mit den dem ein eine einen nicht auch auf für im es "
    "le la les et est sont de des du un une en pour que qui dans par pas sur au aux "
    "el los las y es del una para por con como se lo al".split()
)
_NUMBER_WORDS = {
    w: str(n) for n, w in enumerate("one two three four five six seven eight nine ten".split(), 1)
}
_TOKEN = re.compile(r"\d++(?:[.,]\d++)*+(?!\w)|[^\W_]+(?:['’][^\W_]+)?")
_THOUSANDS = re.compile(r"\d{1,3}(?:,\d{3})+")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")
_OPENERS = re.compile(
    r"^(?:(?:hi|hello|hey|sure|yes|no|ok|okay|of course|certainly|absolutely|great|good|"
    r"thanks|thank you)(?: question| there| team)?\s*[!,.:]\s*)+",
    re.IGNORECASE,
)
_NOT = r"(?:n[’']?t|\s+not)"
_NO_FACT = re.compile(
    r"^(?:(?:unfortunately|sorry|i[’']m sorry)\s*,?\s*)?(?:"
    rf"i\s+(?:could{_NOT}|can{_NOT}|cannot|did{_NOT}|do{_NOT}|was{_NOT}|have{_NOT}|am not)\b"
    r"|i[’']m\s+(?:not|unable|afraid)\b|i\s+am\s+(?:unable|afraid)\b"
    r"|(?:the\s+)?(?:provided\s+|retrieved\s+|available\s+)?"
    rf"(?:docs|documents|documentation|sources|passages)\s+(?:do|does|did){_NOT}\b"
    r"|there\s+is\s+no\s+(?:information|mention)|there[’']s\s+no\s+(?:information|mention)"
    r"|(?:i\s+)?hope\s+(?:this|that|it)\s+helps|let\s+me\s+know|feel\s+free"
    r"|(?:happy|glad)\s+to\s+help|you[’']?re\s+welcome|good\s+luck)",
    re.IGNORECASE,
)
_ROLE = re.compile(r":[a-z]+(?::[a-z]+)?:(?=`)")  # reStructuredText :func:`x`, :py:mod:`y`
_DECORATION = re.compile(r"[*_~`>]+")
_local = threading.local()


@dataclass(frozen=True, slots=True)
class SentenceSupport:
    """How well one factual sentence (``answer[start:end]``) is backed.

    ``best_passage`` is a 0-based index into ``passages`` (the one that supports it, else the
    lexically closest; ``None`` when no passage shares a term); ``unsupported_numbers`` are
    its figures that no passage holds.
    """

    sentence: str
    start: int
    end: int
    lexical: float
    semantic: float | None
    supported: bool
    best_passage: int | None
    unsupported_numbers: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class GroundednessResult:
    """``score``: share of factual sentences supported (1.0 when there is none)."""

    score: float
    unsupported: list[str] = field(default_factory=list)
    sentences: list[SentenceSupport] = field(default_factory=list)


@lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    if not hasattr(_local, "stemmer"):  # PyStemmer objects are not thread-safe: one per thread
        _local.stemmer = Stemmer.Stemmer("english")
    return str(_local.stemmer.stemWord(word))


def content_terms(text: str) -> list[str]:
    """The content terms of ``text`` in order: lower-cased, stop words removed, stemmed.

    Numbers are kept exactly (``1,000`` as ``1000``); a CJK run becomes character bigrams;
    reStructuredText role names (``:func:``) are no terms.
    """
    if "`" in text:
        text = _ROLE.sub(" ", text)
    terms: list[str] = []
    for m in _TOKEN.finditer(text.lower()):
        token = m.group().replace("’", "'")
        if token[0].isdigit() and token[-1].isdigit():
            terms.append(token.replace(",", "") if _THOUSANDS.fullmatch(token) else token)
        elif token in _STOP_WORDS or token.removesuffix("'s") in _STOP_WORDS:
            continue
        elif _CJK.search(token):
            terms += [token[i : i + 2] for i in range(max(1, len(token) - 1))]
        else:
            terms.append(_stem(token.removesuffix("'s")))
    return terms


def _numbers(terms: Sequence[str]) -> set[str]:
    return {t for t in terms if t[0].isdigit() and t[-1].isdigit()}


def _passage_numbers(text: str, terms: Sequence[str]) -> set[str]:
    """Every figure a passage states: its numbers, their dotted prefixes and spelled numbers."""
    found = _numbers(terms)
    for number in list(found):
        parts = number.split(".")
        found.update(".".join(parts[:i]) for i in range(1, len(parts)))
    words = set(re.findall(r"[a-z]+", text.lower()))
    return found | {digit for word, digit in _NUMBER_WORDS.items() if word in words}


def _factual(clean: str, terms: Sequence[str]) -> bool:
    """False for sentences that state no fact: questions, greetings, intros, refusals."""
    plain = _DECORATION.sub("", clean).strip()
    if plain.endswith(("?", "？")) or _NO_FACT.match(plain):
        return False
    rest = _OPENERS.sub("", plain)
    if rest != plain:
        terms = content_terms(rest)
    if plain.endswith(":") and len(terms) <= 3:
        return False
    return len(terms) >= MIN_CONTENT_TERMS or bool(_numbers(terms))


@dataclass(frozen=True, slots=True)
class _Claim:
    start: int
    end: int
    clean: str
    terms: frozenset[str]
    numbers: frozenset[str]
    cited: tuple[int, ...]


def _claims(answer: str) -> list[_Claim]:
    """The factual sentences of ``answer``, their citation markers blanked out."""
    markers = find_markers(answer)
    claims = []
    for start, end in sentence_spans(answer):
        clean, cited = answer[start:end], []
        for m_start, m_end, cites in markers:
            if start <= m_start < end:
                a, b = m_start - start, m_end - start
                clean = clean[:a] + " " * (b - a) + clean[b:]
                cited += cites
        terms = content_terms(clean)
        if _factual(clean, terms):
            figures = frozenset(_numbers(terms))
            claims.append(_Claim(start, end, clean, frozenset(terms), figures, tuple(cited)))
    return claims


def memoized(embed: Embed) -> Embed:
    """``embed`` that computes each distinct text once (checks that score the same passages
    again and again embed their sentences only the first time)."""
    seen: dict[str, list[float]] = {}

    def embed_new(texts: list[str]) -> list[list[float]]:
        new = list(dict.fromkeys(t for t in texts if t not in seen))
        if new:
            seen.update(zip(new, embed(new), strict=True))
        return [seen[t] for t in texts]

    return embed_new


def passage_sentences(passages: Sequence[str]) -> list[tuple[int, str]]:
    """``(passage index, sentence)`` for every sentence with content terms, whitespace folded:
    the texts the semantic score embeds (embed them ahead with ``embed`` to warm a cache)."""
    pieces = [(i, p[a:b]) for i, p in enumerate(passages) for a, b in sentence_spans(p)]
    return [(i, " ".join(s.split())) for i, s in pieces if content_terms(s)]


def _semantic(
    claims: list[_Claim], passages: Sequence[str], embed: Embed
) -> np.ndarray[Any, np.dtype[np.float64]]:
    """``[claim, passage]`` highest cosine between the claim and the passage's sentences."""
    pieces = passage_sentences(passages)
    scores = np.zeros((len(claims), len(passages)))
    if not claims or not pieces:
        return scores
    texts = [" ".join(c.clean.split()) for c in claims] + [s for _, s in pieces]
    vectors = np.asarray(embed(texts), dtype=np.float64)
    if vectors.shape[0] != len(texts):
        raise ValueError(f"embed returned {vectors.shape[0]} vectors for {len(texts)} texts")
    sims = vectors[: len(claims)] @ vectors[len(claims) :].T
    owners = np.asarray([i for i, _ in pieces])
    for i in set(owners.tolist()):
        scores[:, i] = sims[:, owners == i].max(axis=1)
    return scores


def _judge(
    answer: str, claim: _Claim, lexical: list[float], semantic: list[float] | None, known: set[str]
) -> SentenceSupport:
    missing = tuple(sorted(claim.numbers - known))
    best_lex = max(range(len(lexical)), key=lexical.__getitem__, default=None)
    lex = lexical[best_lex] if best_lex is not None else 0.0
    sem = max(semantic, default=0.0) if semantic is not None else None
    best = best_lex if lex > 0 else None
    supported = False
    if lex >= LEXICAL_SUPPORT:
        supported = True
    elif semantic and sem is not None and sem >= SEMANTIC_SUPPORT:
        supported, best = True, semantic.index(sem)
    else:
        for n in claim.cited:
            if 1 <= n <= len(lexical) and (
                lexical[n - 1] >= CITED_LEXICAL_SUPPORT
                or (semantic is not None and semantic[n - 1] >= CITED_SEMANTIC_SUPPORT)
            ):
                supported, best = True, n - 1
                break
    return SentenceSupport(
        sentence=answer[claim.start : claim.end],
        start=claim.start,
        end=claim.end,
        lexical=round(lex, 4),
        semantic=None if sem is None else round(sem, 4),
        supported=supported and not missing,
        best_passage=best,
        unsupported_numbers=missing,
    )


def support_scores(
    answer: str, passages: Sequence[str], embed: Embed | None = None
) -> list[SentenceSupport]:
    """Score each factual sentence of ``answer`` against ``passages`` (see the module doc)."""
    claims = _claims(answer)
    if not claims:
        return []
    sets = []
    for text in passages:
        terms = content_terms(text)
        sets.append(frozenset(terms) | _passage_numbers(text, terms))
    known = set().union(*sets)  # numbers are checked against every term: only numbers match
    semantic = _semantic(claims, passages, embed) if embed is not None else None
    results = []
    for row, claim in enumerate(claims):
        lexical = [len(claim.terms & s) / len(claim.terms) if claim.terms else 0.0 for s in sets]
        sem = semantic[row].tolist() if semantic is not None else None
        results.append(_judge(answer, claim, lexical, sem, known))
    return results


def groundedness(
    answer: str, passages: Sequence[str], embed: Embed | None = None
) -> GroundednessResult:
    """The share of ``answer``'s factual sentences that ``passages`` support, and the rest."""
    sentences = support_scores(answer, passages, embed)
    unsupported = [s.sentence for s in sentences if not s.supported]
    score = 1.0 - len(unsupported) / len(sentences) if sentences else 1.0
    return GroundednessResult(round(score, 4), unsupported, sentences)


@register_validator(name="assistant/grounded", data_type="string")
class Grounded(Validator):
    """Fail (without a fix) when fewer than ``min_supported`` of the factual sentences are
    supported by ``metadata["passages"]`` (optional ``metadata["embed"]``: an ``Embed``).

    The error message counts statements and never quotes them; ``error_spans`` point at them.
    Runs inline without ``embed``; with it, in guardrails' thread pool (the model blocks).
    """

    required_metadata_keys = ["passages"]

    def __init__(
        self, min_supported: float = DEFAULT_MIN_SUPPORTED, on_fail: Any = None, **kwargs: Any
    ) -> None:
        if not 0.0 <= min_supported <= 1.0:
            raise ValueError(f"min_supported must be within [0, 1], got {min_supported!r}")
        super().__init__(on_fail=on_fail, min_supported=min_supported, **kwargs)
        self.min_supported = min_supported

    async def async_validate(self, value: Any, metadata: dict[str, Any]) -> ValidationResult:
        if metadata.get("embed") is None:
            return self.validate(value, metadata)
        return await super().async_validate(value, metadata)

    def _validate(self, value: Any, metadata: dict[str, Any]) -> ValidationResult:
        embed = metadata.get("embed")
        if embed is not None and not callable(embed):
            raise ValueError(f"embed must be callable, got {type(embed).__name__!r}")
        passages = metadata["passages"]
        if not isinstance(passages, list | tuple) or not all(isinstance(p, str) for p in passages):
            raise ValueError(f"passages must be a list of str, got {type(passages).__name__!r}")
        result = groundedness(str(value), passages, embed)
        if result.score >= self.min_supported:
            return PassResult()
        bad = [s for s in result.sentences if not s.supported]
        total = len(result.sentences)
        noun, verb = "statement" if total == 1 else "statements", "is" if len(bad) == 1 else "are"
        return FailResult(
            error_message=(
                f"{len(bad)} of {total} {noun} {verb} not supported by the retrieved sources"
            ),
            error_spans=[
                ErrorSpan(start=s.start, end=s.end, reason="not supported by the sources")
                for s in bad
            ],
        )
