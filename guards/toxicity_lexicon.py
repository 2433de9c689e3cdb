"""The toxicity lexicon (``guards/data/toxicity.yaml``) compiled into lookups and regexes.

``load_lexicon(path)`` reads and validates the YAML (terms and abuse patterns by category and
severity, slots, allowed phrases, context word lists) and builds a ``Lexicon``: single words for
lookup, a character-trie trigger regex (leetspeak letters allowed) that finds where to look, and
one regex of phrases and patterns named by category and severity. ``lexicon()`` is the shipped
one, compiled once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple

import yaml

CATEGORIES: tuple[str, ...] = ("profanity", "insult", "harassment", "hate", "threat", "sexual")
"""Every category a match can have."""
MAX_SEVERITY = 3
LEXICON_PATH = Path(__file__).parent / "data" / "toxicity.yaml"

_LISTS = "second_person copulas fillers intensifiers mention_cues tech_objects object_skips"
LEET_PAIRS = list(zip("0134578@$!", "oieastbasi", strict=True))
_LEET_CLASS = {
    c: "[" + c + "".join(d for d, x in LEET_PAIRS if x == c) + "]" for _, c in LEET_PAIRS
}
RUNS = re.compile(r"([^\W\d_])\1+")
"""A letter repeated (elongation: "fuuuck")."""
_BRACE = re.compile(r"\{([^{}]*)\}")
_PART = re.compile(r"\^?(?:\[[^\]]*\]|\([^)]*\)|\{\w+\}|\S+)")


class Entry(NamedTuple):
    term: str
    category: str
    severity: int


@dataclass(frozen=True, slots=True)
class Lexicon:
    words: dict[str, Entry]
    squeezed: dict[str, str]  # elongation-free form -> word
    shapes: dict[tuple[int, str], list[str]]  # (length, first letter) -> words, for "f*ck"
    trigger: re.Pattern[str]
    phrases: re.Pattern[str]
    firsts: frozenset[str]  # words a phrase or pattern can start with
    groups: dict[str, tuple[bool, str, int]]  # regex group -> (is_pattern, category, severity)
    allow: re.Pattern[str]
    lists: dict[str, frozenset[str]]


def _expand(entry: str) -> list[str]:
    """``"fuck{,s} you"`` -> ``["fuck you", "fucks you"]`` (every brace group, recursively)."""
    m = _BRACE.search(entry)
    if m is None:
        return [" ".join(entry.lower().split())]
    head, tail = entry[: m.start()], entry[m.end() :]
    return [x for alt in m.group(1).split(",") for x in _expand(head + alt.strip() + tail)]


def _alternation(alternatives: list[str], lead: str = " ") -> str:
    """A regex for any alternative as joined tokens (each token after a space but the first)."""
    alts = sorted({" ".join(a.lower().split()) for a in alternatives}, key=len, reverse=True)
    return "(?:" + "|".join(re.escape(lead + a) for a in alts) + ")"


def _template(template: str, slots: dict[str, list[str]]) -> tuple[str, set[str], set[str]]:
    """Compile a pattern template (see the YAML header): regex, anchor words, first words."""
    parts: list[tuple[bool, bool, list[str]]] = []
    for part in _PART.findall(template):
        anchor, part = part.startswith("^"), part.lstrip("^")
        optional = part.startswith("[")
        inner = part[1:-1] if optional or part.startswith("(") else part
        if inner.startswith("{") and inner[1:-1] not in slots:
            raise ValueError(f"{LEXICON_PATH}: unknown slot {inner!r} in {template!r}")
        alts = slots[inner[1:-1]] if inner.startswith("{") else inner.split("|")
        if parts or not optional:  # a leading optional part would only widen the span
            parts.append((optional, anchor, alts))
    marked = [alts for _, anchor, alts in parts if anchor]
    anchors = marked[0] if marked else [a for o, _, alts in parts if not o for a in alts]
    regex = "".join(
        ("(?: ,)?" if i else "") + _alternation(alts, " " if i else "") + "?" * optional
        for i, (optional, _, alts) in enumerate(parts)
    )
    return regex, {a.split()[0] for a in anchors}, {a.split()[0] for a in parts[0][2]}


def _trie(words: set[str]) -> str:
    """A regex matching any of ``words`` (leetspeak letters allowed), built as a character trie."""
    root: dict[str, Any] = {}
    for word in words:
        node = root
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}

    def emit(node: dict[str, Any]) -> str:
        alts = [_LEET_CLASS.get(c, re.escape(c)) + emit(n) for c, n in sorted(node.items()) if c]
        if not alts:
            return ""
        body = alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"
        return f"(?:{body})?" if "" in node else body

    return emit(root)


def load_lexicon(path: Path = LEXICON_PATH) -> Lexicon:
    """Read and compile the lexicon; a malformed file raises ``ValueError`` naming it."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    slots = {k: [str(v).lower() for v in vs] for k, vs in (raw.get("slots") or {}).items()}
    words: dict[str, Entry] = {}
    phrases: list[tuple[str, str]] = []  # (group name, phrase term)
    grouped: dict[str, list[str]] = {}
    groups: dict[str, tuple[bool, str, int]] = {}
    anchors: set[str] = set()
    firsts: set[str] = set()
    for is_pattern, section in ((False, "terms"), (True, "patterns")):
        for category, levels in (raw.get(section) or {}).items():
            for severity, entries in levels.items():
                if category not in CATEGORIES or severity not in range(1, MAX_SEVERITY + 1):
                    raise ValueError(f"{path}: bad {section} key {category!r}/{severity!r}")
                name = f"{'p' if is_pattern else 't'}_{category}_{severity}"
                groups[name] = (is_pattern, category, severity)
                for entry in map(str, entries):
                    if is_pattern:
                        regex, anchor_words, first_words = _template(entry, slots)
                        grouped.setdefault(name, []).append(regex)
                        anchors |= anchor_words
                        firsts |= first_words
                        continue
                    for term in _expand(entry):
                        if " " in term:
                            phrases.append((name, term))
                        else:
                            words.setdefault(term, Entry(term, category, severity))
    for name, term in phrases:  # anchor: a word that is a term itself, else the longest
        tokens = term.split()
        anchors.add(next((w for w in tokens if w in words), max(tokens, key=len)))
        firsts.add(tokens[0])
        grouped.setdefault(name, []).append(_alternation([term], ""))
    order = sorted(grouped, key=lambda n: -groups[n][2])
    body = "|".join(f"(?P<{n}>{'|'.join(grouped[n])})" for n in order)
    squeezed: dict[str, str] = {}
    shapes: dict[tuple[int, str], list[str]] = {}
    for word in sorted(words, key=lambda w: -words[w].severity):
        squeezed.setdefault(RUNS.sub(r"\1", word), word)
        shapes.setdefault((len(word), word[0]), []).append(word)
    allow = [a for entry in raw.get("allow") or ["-"] for a in _expand(str(entry))]
    return Lexicon(
        words=words,
        squeezed=squeezed,
        shapes=shapes,
        trigger=re.compile(rf"(?<![\w@$])(?:{_trie(set(words) | anchors)})(?![\w@$])"),
        phrases=re.compile(f" (?:{body})(?![^ ])"),
        firsts=frozenset(firsts),
        groups=groups,
        allow=re.compile(f" {_alternation(allow, '')}(?![^ ])"),
        lists={k: frozenset(str(w).lower() for w in raw.get(k) or []) for k in _LISTS.split()},
    )


@lru_cache(maxsize=1)
def lexicon() -> Lexicon:
    """The shipped lexicon, compiled once per process."""
    return load_lexicon()
