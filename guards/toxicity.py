"""Toxic and abusive language: a lexicon scorer with context rules, and its validator.

``score_toxicity(text)`` returns the highest severity found (0 none, 1 mild, 2 offensive,
3 severe) and every scored match. Terms, abuse patterns and context word lists live in
``guards/data/toxicity.yaml``. Context rules:

* Markdown code (fenced blocks and `inline` spans) is not scored.
* Quoted and log text (``>`` lines, Python tracebacks, log-level prefixes, the rest of a line
  after ``error:``) and terms mentioned rather than used (in quotes, after "the word") count one
  severity lower; an insult aimed at "you" ("you idiot", "you are crap") counts one higher.
* Violent verbs fire only in threat patterns aimed at a person ("I will hurt you"), never with a
  tech object ("I'll shoot you a message"); "kill -9", "abort", "nuke" are no terms at all.
* Whole tokens only ("Scunthorpe", "assess" never hit), after undoing f*ck, f.u.c.k, sh1t, $hit,
  fuuuck. Speed: a precompiled trie regex finds triggers; only ~120 characters around each are
  tokenised.

``ToxicLanguage`` (``assistant/toxicity``) fails at or above its ``threshold`` (default 2).
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Any, NamedTuple

from guardrails.validator_base import (
    ErrorSpan,
    FailResult,
    PassResult,
    ValidationResult,
    register_validator,
)

from guards.toxicity_lexicon import (
    CATEGORIES,
    LEET_PAIRS,
    LEXICON_PATH,
    MAX_SEVERITY,
    RUNS,
    Entry,
    Lexicon,
    lexicon,
    load_lexicon,
)
from guards.validators import _InlineValidator

__all__ = [
    "CATEGORIES",
    "LEXICON_PATH",
    "MAX_SEVERITY",
    "ToxicLanguage",
    "ToxicMatch",
    "ToxicityResult",
    "load_lexicon",
    "mask_matches",
    "score_toxicity",
]


DEFAULT_THRESHOLD = 2

_TOKEN = re.compile(r"[\w@$*#!'’.\-]+")
_EDGE = "'’.-!_#"
_SEGMENT = re.compile(r"[^.\-_]+")
_SPELLED = re.compile(r"[^\W_](?:[.\-_][^\W_])+")  # f.u.c.k, s-h-i-t
_POSSESSIVE = re.compile(r"['’]s$")
_LEET = str.maketrans(dict(LEET_PAIRS))
_RUN3 = re.compile(r"([^\W\d_])\1\1")
# Obfuscated shapes that open a window, run on lower-cased text: f.u.c.k, fuuuck, f*ck.
_SHAPES = (re.compile(r"[.\-_][^\W\d_][.\-_][^\W\d_]"), re.compile(r"([a-z])\1\1+"))
_SHAPE_MASKED = re.compile(r"[^\W\d_][*#]+[^\W\d_]")
_RADIUS = 120
_BREAKS = frozenset(".!?;\n")
_QUOTES = frozenset("'\"“”‘’«»")
_CODE = re.compile(r"```.*?(?:```|\Z)|`[^`\n]+`", re.DOTALL)
_LEVELS = "TRACE DEBUG INFO NOTICE WARN ERR FATAL CRIT SEVERE PANIC".split()
_ERRORS = "error fatal panic exception warning stderr".split()
_LOG = rf"^[ \t]*(?:\S+[ \t]+){{0,3}}?\[?(?:{'|'.join(_LEVELS)})\w*\]?[:!\s].*$"
_TRACEBACK = r"^Traceback \(most recent call .*(?:\n[ \t].*)*(?:\n.*)?"
_ERROR = rf"\b(?:(?:{'|'.join(_ERRORS)})\s*:|level=\w).*$"
# Muted (quoted or log) text: (regex, needles that must occur first, run on lower-cased text).
_MUTED = [
    (re.compile(r"^[ \t]*(?:>|&gt;).*$", re.M), [">", "&gt;"], False),
    (re.compile(_TRACEBACK, re.M), ["Traceback"], False),
    (re.compile(_LOG, re.M), _LEVELS, False),
    (re.compile(_ERROR, re.M), [*_ERRORS, "level="], True),
]


class ToxicMatch(NamedTuple):
    """One scored match: the lexicon term (or normalised phrase), its category, its severity
    after the context rules (1-3) and its ``[start, end)`` span in the text."""

    term: str
    category: str
    severity: int
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class ToxicityResult:
    """``severity``: the highest match severity, 0 when nothing scored; ``matches``: text order."""

    severity: int
    matches: list[ToxicMatch] = field(default_factory=list)

    @property
    def categories(self) -> tuple[str, ...]:
        """Distinct categories, most severe first."""
        worst: dict[str, int] = {}
        for m in self.matches:
            worst[m.category] = max(worst.get(m.category, 0), m.severity)
        return tuple(sorted(worst, key=lambda c: (-worst[c], CATEGORIES.index(c))))


def _normalise(piece: str) -> str:
    """Lower case, apostrophes, possessive 's and spelled-out separators dropped, leet undone."""
    low = piece.lower()
    if low.isalpha():
        return low
    low = "".join(c for c in _POSSESSIVE.sub("", low) if c not in "'’.-_")
    if not any(c.isalpha() for c in low):
        return low
    mapped = low.translate(_LEET)
    return mapped if mapped.isalpha() or "*" in mapped or "#" in mapped else low


def _lookup(norm: str, lex: Lexicon) -> Entry | None:
    """The entry for a normalised token: exact, elongated ("fuuuck") or masked ("f*ck")."""
    hit = lex.words.get(norm)
    if hit is None and len(norm) > 2 and _RUN3.search(norm):
        key = lex.squeezed.get(RUNS.sub(r"\1", norm))
        hit = lex.words[key] if key else None
    if hit is None and ("*" in norm or "#" in norm) and norm[0].isalpha():
        if sum(c.isalpha() for c in norm) >= 2:
            for word in lex.shapes.get((len(norm), norm[0]), ()):
                if all(c == w or c in "*#" for c, w in zip(norm, word, strict=True)):
                    return lex.words[word]
    return hit


def _pieces(raw: str, start: int) -> list[tuple[int, int, str]]:
    """A raw token's normalised word pieces as ``(start, end, norm)``: edge punctuation
    stripped, split at ``. - _`` unless the word is spelled out ("f.u.c.k")."""
    strip = _EDGE + "*" if raw[0] == "*" else _EDGE
    lead = len(raw) - len(raw.lstrip(strip))
    body = raw[lead:].rstrip(strip)
    start += lead
    if not body or not any(c in ".-_" for c in body) or _SPELLED.fullmatch(body):
        return [(start, start + len(body), _normalise(body))] if body else []
    segments = ((start + m.start(), m.group()) for m in _SEGMENT.finditer(body))
    stripped = ((s + len(g) - len(g.lstrip(strip)), g.strip(strip)) for s, g in segments)
    return [(s, s + len(g), _normalise(g)) for s, g in stripped if g]


@dataclass(slots=True)
class _Tokens:
    """One window's tokens; ``breaks[i]``: a sentence break lies before token ``i``; ``pos[i]``:
    where token ``i``'s space is in ``joined`` (each normalised token after a space)."""

    starts: list[int] = field(default_factory=list)
    ends: list[int] = field(default_factory=list)
    norms: list[str] = field(default_factory=list)
    breaks: list[bool] = field(default_factory=list)
    pos: list[int] = field(default_factory=list)
    hits: dict[int, Entry] = field(default_factory=dict)
    joined: str = ""


def _word_end(scan: str, i: int) -> int:
    """Where the word running through ``scan[i]`` ends (``i`` when none does)."""
    m = _TOKEN.match(scan, i)
    return m.end() if m else i


def _tokenize(scan: str, begin: int, stop: int, lex: Lexicon) -> _Tokens:
    """Tokenise ``scan[begin:stop]`` (never a word cut by an edge) and look tokens up.

    ``joined`` marks sentence breaks `` |`` (nothing matches across) and commas `` ,`` (only
    patterns match across: "shut up, you idiot"; phrases do not: "fuck, you").
    """
    if begin > 0 and _TOKEN.match(scan, begin - 1):
        begin = _word_end(scan, begin)
    stop = _word_end(scan, stop)
    found = [(m.start(), m.end(), m.group()) for m in _TOKEN.finditer(scan, begin, stop)]
    pieces = [
        piece
        for s, e, raw in found
        for piece in ([(s, e, raw.lower())] if raw.isalpha() else _pieces(raw, s))
    ]
    t = _Tokens([p[0] for p in pieces], [p[1] for p in pieces], [p[2] for p in pieces])
    words, norms = lex.words, t.norms
    t.hits = {i: words[n] for i, n in enumerate(norms) if n in words}
    elongated = _RUN3.search(scan, begin, stop) is not None
    odd = [i for i, n in enumerate(norms) if (elongated or not n.isalpha()) and i not in t.hits]
    t.hits.update((i, hit) for i in odd if (hit := _lookup(norms[i], lex)) is not None)
    for i, hit in t.hits.items():
        norms[i] = hit.term
    gaps = [scan[e:s] for e, s in zip([begin, *t.ends], t.starts, strict=False)]
    t.breaks = [i == 0 or (g != " " and not _BREAKS.isdisjoint(g)) for i, g in enumerate(gaps)]
    marks = [" |" if b else " ," if "," in g else "" for b, g in zip(t.breaks, gaps, strict=True)]
    chunks = [mark + " " + norm for mark, norm in zip(marks, norms, strict=True)]
    t.joined = "".join(chunks)
    starts = accumulate(map(len, chunks), initial=0)
    t.pos = [at + len(mark) for at, mark in zip(starts, marks, strict=False)]
    return t


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sorted, overlapping spans joined."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _lower(text: str) -> str:
    """``text.lower()`` with the same length (a few characters lower-case to two)."""
    low = text.lower()
    return (
        low
        if len(low) == len(text)
        else "".join(c if len(c.lower()) > 1 else c.lower() for c in text)
    )


def _windows(scan: str, low: str, lex: Lexicon) -> list[tuple[int, int]]:
    """Merged spans of context around every trigger, in text order."""
    hits = [m.span() for regex in (lex.trigger, *_SHAPES) for m in regex.finditer(low)]
    if "*" in low or "#" in low:
        hits += [m.span() for m in _SHAPE_MASKED.finditer(low)]
    return _merge([(max(0, s - _RADIUS), min(len(low), e + _RADIUS)) for s, e in hits])


def _muted(text: str, low: str) -> list[tuple[int, int]]:
    """Merged spans of quoted and log text, in text order."""
    hay = {False: text, True: low}
    return _merge(
        [
            m.span()
            for regex, needles, lower in _MUTED
            if any(n in hay[lower] for n in needles)
            for m in regex.finditer(hay[lower])
        ]
    )


def _directed(t: _Tokens, i0: int, i1: int, category: str, lex: Lexicon) -> bool:
    """Whether the insult (or predicate profanity) at tokens ``i0..i1`` is aimed at "you"."""
    copula, j, lists = False, i0 - 1, lex.lists
    while j >= 0 and i0 - j <= 6 and not t.breaks[j + 1]:
        word = t.norms[j]
        if word in lists["second_person"]:
            clause_final = i1 + 1 >= len(t.norms) or t.breaks[i1 + 1]
            if word in ("your", "yer") and not clause_final:
                return False
            copula = copula or word in lists["copulas"]
            break
        if word in lists["copulas"]:
            copula = True
        elif word not in lists["fillers"] and j not in t.hits:
            return False
        j -= 1
    else:
        return False
    followed = i1 + 1 < len(t.norms) and not t.breaks[i1 + 1] and i1 + 1 in t.hits
    predicate = copula and not followed and t.norms[i1] not in lists["intensifiers"]
    return category == "insult" or predicate


def _mentioned(text: str, t: _Tokens, i0: int, i1: int, lex: Lexicon) -> bool:
    """Quoted ('crap') or right after a cue ("the word crap"): talked about, not used."""
    start, end = t.starts[i0], t.ends[i1]
    if 0 < start and end < len(text) and text[start - 1] in _QUOTES and text[end] in _QUOTES:
        return True
    cues = lex.lists["mention_cues"]
    return any(
        j >= 0 and t.norms[j] in cues and not any(t.breaks[j + 1 : i0 + 1])
        for j in (i0 - 1, i0 - 2)
    )


def _tech_object(t: _Tokens, i: int, lex: Lexicon) -> bool:
    """Whether the words from token ``i`` name a tech object ("a quick message", "job")."""
    for j in range(i, min(i + 4, len(t.norms))):
        if t.breaks[j]:
            return False
        if t.norms[j] not in lex.lists["object_skips"]:
            return t.norms[j] in lex.lists["tech_objects"]
    return False


def _score_window(
    text: str, t: _Tokens, lex: Lexicon, muted: list[tuple[int, int]]
) -> list[ToxicMatch]:
    """The scored matches of one window (context rules applied, contained words dropped)."""
    found = [(i, i, e.term, e.category, e.severity, False) for i, e in t.hits.items()]
    next_free = 0
    for i in [i for i, word in enumerate(t.norms) if word in lex.firsts]:
        m = lex.phrases.match(t.joined, t.pos[i]) if i >= next_free else None
        if m is None:
            continue
        is_pattern, category, severity = lex.groups[m.lastgroup or ""]
        i1 = next_free = bisect_left(t.pos, m.end())
        if not (category == "threat" and is_pattern and _tech_object(t, i1, lex)):
            found.append(
                (i, i1 - 1, m.group().replace(" ,", "")[1:], category, severity, is_pattern)
            )
    allowed: set[int] = set()
    for m in lex.allow.finditer(t.joined) if found else ():
        allowed.update(range(bisect_left(t.pos, m.start()), bisect_left(t.pos, m.end())))
    scored = []
    for i0, i1, term, category, severity, is_pattern in found:
        if allowed.intersection(range(i0, i1 + 1)):
            continue
        start = t.starts[i0]
        k = bisect_right(muted, (start, len(text))) - 1
        if (k >= 0 and start < muted[k][1]) or _mentioned(text, t, i0, i1, lex):
            severity -= 1
        elif category in ("insult", "profanity") and not is_pattern:
            severity += int(_directed(t, i0, i1, category, lex))
        if severity > 0:
            scored.append((i0, i1, term, category, min(severity, MAX_SEVERITY)))
    covered: dict[int, int] = {}  # token -> severity of the phrase covering it
    for i0, i1, _, _, severity in scored:
        for i in range(i0, i1 + 1) if i1 > i0 else ():
            covered[i] = max(covered.get(i, 0), severity)
    return [
        ToxicMatch(term, category, severity, t.starts[i0], t.ends[i1])
        for i0, i1, term, category, severity in scored
        if i1 > i0 or covered.get(i0, 0) < severity
    ]


def score_toxicity(text: str) -> ToxicityResult:
    """Score ``text``: the highest severity 0-3 and each match (see the module docstring)."""
    if not text or text.isspace():
        return ToxicityResult(0)
    lex = lexicon()
    scan = _CODE.sub(lambda m: "\n" * len(m.group()), text) if "`" in text else text
    low = _lower(scan)
    tokens = [_tokenize(scan, begin, stop, lex) for begin, stop in _windows(scan, low, lex)]
    if not any(t.hits or not lex.firsts.isdisjoint(t.norms) for t in tokens):
        return ToxicityResult(0)
    muted = _muted(text, _lower(text))
    matches = [m for t in tokens for m in _score_window(text, t, lex, muted)]
    matches.sort(key=lambda m: (m.start, m.end))
    return ToxicityResult(max((m.severity for m in matches), default=0), matches)


def mask_matches(text: str, matches: list[ToxicMatch]) -> str:
    """``text`` with each match's letters and digits after the first of every word starred."""
    chars = list(text)
    for m in matches:
        first = True
        for k in range(m.start, m.end):
            if chars[k].isspace():
                first = True
            elif chars[k].isalnum() or chars[k] in "@$":
                chars[k], first = (chars[k] if first else "*"), False
    return "".join(chars)


@register_validator(name="assistant/toxicity", data_type="string")
class ToxicLanguage(_InlineValidator):
    """Fail when the text scores ``threshold`` (1-3, default 2) or more.

    ``error_message`` names the severity and categories but never the words; ``fix_value`` masks
    every scored match (``f***``), mild ones included.
    """

    def __init__(
        self, threshold: int = DEFAULT_THRESHOLD, on_fail: Any = None, **kwargs: Any
    ) -> None:
        if isinstance(threshold, bool) or threshold not in range(1, MAX_SEVERITY + 1):
            raise ValueError(f"threshold must be 1, 2 or 3, got {threshold!r}")
        super().__init__(on_fail=on_fail, threshold=threshold, **kwargs)
        self.threshold = threshold

    def _validate(self, value: Any, metadata: dict[str, Any]) -> ValidationResult:
        result = score_toxicity(value)
        if result.severity < self.threshold:
            return PassResult()
        spans = [
            ErrorSpan(start=m.start, end=m.end, reason=f"{m.category} (severity {m.severity})")
            for m in result.matches
        ]
        return FailResult(
            error_message=(
                f"toxic language at severity {result.severity} of {MAX_SEVERITY}"
                f" ({', '.join(result.categories)})"
            ),
            fix_value=mask_matches(value, result.matches),
            error_spans=spans,
        )
