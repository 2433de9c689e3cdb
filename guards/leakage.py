"""Output leakage: the system prompt, and secrets or personal data the asker did not give.

* ``SystemPromptLeak`` (``assistant/system-prompt-leak``), metadata ``system_prompt`` (the
  static instructions, not the sources) and optional ``passages`` (word runs the prompt shares
  with them are allowed). Fails when the answer holds ``PROMPT_SHARE`` of the prompt's word
  5-grams or any ``VERBATIM_RUN``-word run of it. The fix drops the sentences and code lines
  that are mostly prompt text; ``REFUSAL`` when nothing (or still a leak) is left.
* ``SecretLeak`` (``assistant/secret-leak``), optional metadata ``question``. Fails when the
  answer holds personal data or a secret (``guards.redaction.find_sensitive``) that is not in
  the asker's question; the fix puts ``<KIND>`` in place of each.

Error messages give kinds and shares, never the leaked text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from guardrails.validator_base import (
    ErrorSpan,
    FailResult,
    PassResult,
    ValidationResult,
    register_validator,
)

from guards.redaction import KINDS, Span, find_sensitive
from guards.sentences import sentence_spans
from guards.validators import _InlineValidator

NGRAM = 5
"""Word n-gram size compared between the answer and the system prompt."""
PROMPT_SHARE = 0.4
"""Share of the system prompt's 5-grams found in the answer that makes a leak."""
VERBATIM_RUN = 12
"""A run of this many words copied from the system prompt is a leak on its own."""
SENTENCE_COVERED = 0.5
"""The fix drops a sentence when this share of its words lies in a shared 5-gram."""
REFUSAL = "I can't share my instructions, but I'm happy to help with your question."
"""The fixed answer when nothing but the leaked text was there."""

_WORD = re.compile(r"\w+")
_EMPTY_ITEM = re.compile(r"^[ \t]*(?:[-*+•]|\d{1,3}[.)]|#{1,6}|>)[ \t]*(?:\n|\Z)", re.M)
_EMPTY_FENCE = re.compile(r"(?:```|~~~)[\w+-]*\s*(?:```|~~~)")

Gram = tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PromptLeak:
    """How much of the system prompt an answer reproduces.

    ``share``: the prompt's 5-grams found in the answer, over all of them; ``verbatim``: a
    ``VERBATIM_RUN``-word run of the prompt is in the answer; ``covered``: ``(start, end)`` of
    each answer word inside a shared 5-gram.
    """

    share: float
    verbatim: bool
    covered: list[tuple[int, int]] = field(default_factory=list)

    @property
    def leaked(self) -> bool:
        """True at ``PROMPT_SHARE`` or with a verbatim run."""
        return self.verbatim or self.share >= PROMPT_SHARE


def _words(text: str) -> list[re.Match[str]]:
    return list(_WORD.finditer(text))


def _grams(words: Sequence[str], n: int) -> set[Gram]:
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def prompt_leak(answer: str, system_prompt: str, passages: Sequence[str] = ()) -> PromptLeak:
    """Compare ``answer`` with ``system_prompt`` by word n-grams (case-insensitive).

    n-grams that also occur in ``passages`` do not count: quoting a source is no leak.
    """
    prompt = [w.lower() for w in _WORD.findall(system_prompt)]
    allowed_5: set[Gram] = set()
    allowed_run: set[Gram] = set()
    for passage in passages:
        words = [w.lower() for w in _WORD.findall(passage)]
        allowed_5 |= _grams(words, NGRAM)
        allowed_run |= _grams(words, VERBATIM_RUN)
    prompt_5 = _grams(prompt, NGRAM) - allowed_5
    prompt_run = _grams(prompt, VERBATIM_RUN) - allowed_run
    matches = _words(answer)
    words = [m.group().lower() for m in matches]
    found: set[Gram] = set()
    covered = [False] * len(words)
    for i in range(len(words) - NGRAM + 1):
        gram = tuple(words[i : i + NGRAM])
        if gram in prompt_5:
            found.add(gram)
            covered[i : i + NGRAM] = [True] * NGRAM
    verbatim = bool(prompt_run & _grams(words, VERBATIM_RUN))
    share = len(found) / len(prompt_5) if prompt_5 else 0.0
    spans = [m.span() for m, hit in zip(matches, covered, strict=True) if hit]
    return PromptLeak(round(share, 4), verbatim, spans)


def prompt_sentences(answer: str, leak: PromptLeak) -> list[tuple[int, int]]:
    """``(start, end)`` of the sentences (and code lines) of ``answer`` that are mostly prompt
    text: ``SENTENCE_COVERED`` of their words, or ``VERBATIM_RUN`` of them, lie in 5-grams shared
    with the system prompt (``leak`` is ``prompt_leak`` of ``answer``)."""
    starts = [a for a, _ in leak.covered]
    spans = []
    for start, end in sentence_spans(answer, code=True):
        total = len(_words(answer[start:end]))
        hits = sum(start <= a < end for a in starts)
        if total and (hits / total >= SENTENCE_COVERED or hits >= VERBATIM_RUN):
            spans.append((start, end))
    return spans


def remove_leaked(answer: str, leak: PromptLeak) -> str:
    """``answer`` without its ``prompt_sentences``; list marks and code fences left empty go
    too. ``REFUSAL`` when no word is left."""
    text = answer
    for start, end in reversed(prompt_sentences(answer, leak)):
        text = text[:start] + text[end:]
    text = _EMPTY_FENCE.sub("", _EMPTY_ITEM.sub("", text))
    text = re.sub(r"\n{3,}", "\n\n", re.sub(r"[ \t]+\n", "\n", text)).strip()
    return text if _WORD.search(text) else REFUSAL


def _flat(text: str) -> str:
    return "".join(c for c in text.casefold() if c.isalnum())


def leaked_spans(answer: str, question: str = "") -> list[Span]:
    """The personal data and secrets in ``answer`` that the asker's ``question`` does not hold.

    A value counts as the asker's when it occurs in the question as written, or when a value of
    the same kind there has the same letters and digits (``555 010 2030`` for ``555-010-2030``).
    """
    spans = find_sensitive(answer)
    if not spans or not question:
        return spans
    folded = question.casefold()
    theirs = {(s.kind, _flat(question[s.start : s.end])) for s in find_sensitive(question)}
    return [
        s
        for s in spans
        if answer[s.start : s.end].casefold() not in folded
        and (s.kind, _flat(answer[s.start : s.end])) not in theirs
    ]


def _redacted(answer: str, spans: Sequence[Span]) -> str:
    for span in reversed(spans):
        answer = answer[: span.start] + f"<{span.kind}>" + answer[span.end :]
    return answer


@register_validator(name="assistant/system-prompt-leak", data_type="string")
class SystemPromptLeak(_InlineValidator):
    """Fail when the answer reproduces ``metadata["system_prompt"]``; ``fix_value``: the answer
    without the leaked sentences (``REFUSAL`` when nothing is left). Optional
    ``metadata["passages"]``: sources whose words may match the prompt's.
    """

    required_metadata_keys = ["system_prompt"]

    def __init__(self, on_fail: Any = None, **kwargs: Any) -> None:
        super().__init__(on_fail=on_fail, **kwargs)

    def _validate(self, value: Any, metadata: dict[str, Any]) -> ValidationResult:
        prompt = metadata["system_prompt"]
        if not isinstance(prompt, str):
            raise ValueError(f"system_prompt must be a str, got {type(prompt).__name__!r}")
        passages = metadata.get("passages") or ()
        if not isinstance(passages, list | tuple) or not all(isinstance(p, str) for p in passages):
            raise ValueError(f"passages must be a list of str, got {type(passages).__name__!r}")
        leak = prompt_leak(str(value), prompt, passages)
        if not leak.leaked:
            return PassResult()
        fixed = remove_leaked(str(value), leak)
        if fixed != REFUSAL and prompt_leak(fixed, prompt, passages).leaked:
            fixed = REFUSAL
        how = f"a {VERBATIM_RUN}-word run" if leak.verbatim else ""
        how = ", ".join(x for x in (f"{leak.share:.0%} of its 5-word phrases", how) if x)
        return FailResult(
            error_message=f"answer reproduces the system prompt ({how})",
            fix_value=fixed,
            error_spans=[
                ErrorSpan(start=a, end=b, reason="system prompt") for a, b in leak.covered
            ],
        )


@register_validator(name="assistant/secret-leak", data_type="string")
class SecretLeak(_InlineValidator):
    """Fail when the answer holds personal data or secrets not in ``metadata["question"]``
    (optional); ``fix_value``: the answer with each of them as ``<KIND>``.
    """

    def __init__(self, on_fail: Any = None, **kwargs: Any) -> None:
        super().__init__(on_fail=on_fail, **kwargs)

    def _validate(self, value: Any, metadata: dict[str, Any]) -> ValidationResult:
        question = metadata.get("question") or ""
        if not isinstance(question, str):
            raise ValueError(f"question must be a str, got {type(question).__name__!r}")
        spans = leaked_spans(str(value), question)
        if not spans:
            return PassResult()
        kinds = ", ".join(k for k in KINDS if any(s.kind == k for s in spans))
        return FailResult(
            error_message=f"answer holds personal data or secrets the asker did not give ({kinds})",
            fix_value=_redacted(str(value), spans),
            error_spans=[ErrorSpan(start=s.start, end=s.end, reason=s.kind) for s in spans],
        )
