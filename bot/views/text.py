"""Plain-text helpers for Slack messages: splitting, truncating, escaping, user-facing strings.

Contract: every function here is pure (no I/O, no Slack client) and returns ``str`` or
``list[str]``. ``split_message`` keeps each chunk within Slack's per-message text budget while
keeping fenced code blocks renderable; the strings are what users see when something goes wrong.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

ELLIPSIS = "…"
FENCE = "```"
_TEXT = re.compile(r"\S")
_SENTENCE_END = re.compile(r"[.!?][)\]\"']*(?=\s)")

BUSY = "I'm handling a lot of requests right now — please try again in a minute."
WORKING_ON_IT = "Looking into it — your answer will appear here in a moment."
ADMIN_ONLY = "Sorry, `/assistant stats` is only available to workspace admins."
NO_TEXT_IN_MESSAGE = "That message has no text I can read, so I can't answer questions about it."
EXPLANATION_EXPIRED = (
    "The details behind that answer are no longer available — they are kept for a limited time."
)
SHARE_EXPIRED = "That answer can't be shared any more — please ask the question again."
FRESH_EXPIRED = (
    "That cached answer is too old to ask again from here — please ask the question again."
)
SHARE_FAILED = "I couldn't share that answer just now — please click *Share* again in a moment."
THINKING_STATUS = "is thinking…"
LOADING_MESSAGES: tuple[str, ...] = (
    "Reading the docs…",
    "Looking for the right sources…",
    "Checking what the handbook says…",
    "Putting an answer together…",
)


def truncate(text: str, limit: int) -> str:
    """``text`` if it fits in ``limit`` characters, else its first part ending in ``…``.

    The result never exceeds ``limit`` characters; trailing whitespace before the ellipsis is
    dropped. Raises ``ValueError`` when ``limit`` < 1.
    """
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit!r}")
    if len(text) <= limit:
        return text
    return text[: limit - 1].rstrip() + ELLIPSIS


def fit_lines(lines: list[str], limit: int) -> str:
    """Join ``lines`` with newlines in at most ``limit`` characters, dropping whole lines.

    Lines that do not fit are replaced by ``…and N more``, so links and code spans are never cut
    in half; only a first line longer than ``limit`` by itself is truncated.
    """
    whole = "\n".join(lines)
    if len(whole) <= limit:
        return whole
    kept: list[str] = []
    used = 0
    for index, line in enumerate(lines):
        left = len(lines) - index - 1
        more = f"\n…and {left} more" if left else ""
        cost = len(line) + (1 if kept else 0)
        if used + cost + len(more) <= limit:
            kept.append(line)
            used += cost
        elif kept:
            return "\n".join(kept) + f"\n…and {left + 1} more"
        else:
            room = limit - len(more)
            return truncate(line, room) + more if room > 0 else truncate(line, limit)
    return "\n".join(kept)


def escape_mrkdwn(text: str) -> str:
    """Escape the three characters Slack's mrkdwn treats as control characters (``& < >``)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def human_duration(seconds: int) -> str:
    """A short English duration: ``42 s``, ``2 min``, ``1 h 5 min``, ``2 days``."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes = -(-seconds // 60)  # round up: "try again in 2 min" must not be too early
    if minutes < 60:
        return f"{minutes} min"
    hours, rest = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {rest} min" if rest else f"{hours} h"
    days = -(-hours // 24)
    return "1 day" if days == 1 else f"{days} days"


def _per(window_s: int) -> str:
    names = {60: "minute", 3600: "hour", 86_400: "day"}
    return names.get(window_s) or human_duration(window_s)


def rate_limited(
    retry_after_s: int, *, limit: int | None = None, window_s: int | None = None
) -> str:
    """Tell a user they hit their question limit and when they can ask again.

    With ``limit`` and ``window_s`` the message names the quota ("20 questions per hour");
    ``retry_after_s`` is shown as a human duration rounded up ("42 s", "2 min").
    """
    quota = (
        f"the limit of {limit} questions per {_per(window_s)}"
        if limit is not None and window_s
        else "the limit of questions you can ask for now"
    )
    return f"You've reached {quota} — try again in {human_duration(retry_after_s)}."


def sorry(trace_id: str) -> str:
    """A short apology carrying the first 8 characters of the trace id and no internal detail."""
    ref = trace_id[:8] if trace_id else "unknown"
    return (
        f":warning: Sorry, something went wrong while answering. "
        f"If it keeps happening, tell the app's admins (reference `{ref}`)."
    )


def empty_question_hint(command: str) -> str:
    """What to reply when ``command`` was sent without a question.

    A slash command (``/ask``) gets an example with the command; anything else (e.g.
    ``"@mention"``) is treated as a mention with nothing after it.
    """
    if command.startswith("/"):
        return (
            f"Add your question after the command, for example: `{command} How do I request leave?`"
        )
    return "Mention me together with your question, for example: _How do I request leave?_"


# --- message splitting ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Fence:
    """Fence state at the end of one line of the text being split."""

    end: int
    """Index of the line's ``\\n`` (or the text's length for the last line)."""
    inside: bool
    """Inside a fenced code block after this line."""
    lang: str
    """The open fence's language tag (``""`` when none or outside)."""
    code_start: int
    """Where the open fence's code begins (first character after its opening line)."""


def _scan(text: str, inside: bool, lang: str) -> tuple[list[_Fence], _Fence]:
    """Fence state after every line of ``text``, plus the state before its first line."""
    start = _Fence(end=-1, inside=inside, lang=lang, code_start=0)
    states: list[_Fence] = []
    current = start
    pos = 0
    for line in text.split("\n"):
        end = pos + len(line)
        marker = line.lstrip()
        if not marker.startswith(FENCE):
            current = _Fence(end, current.inside, current.lang, current.code_start)
        elif current.inside or FENCE in marker[3:]:  # a closing fence, or inline "```x```"
            current = _Fence(end, False, "", 0)
        else:
            current = _Fence(end, True, marker[3:].strip(), end + 1)
        states.append(current)
        pos = end + 1
    return states, start


def _state_at(cut: int, states: list[_Fence], start: _Fence) -> _Fence:
    """Fence state at ``cut``: after the line ending there, else before the line holding it."""
    k = bisect.bisect_left(states, cut, key=lambda state: state.end)
    if k < len(states) and states[k].end == cut:
        return states[k]
    return states[k - 1] if k > 0 else start


def _candidates(text: str, budget: int) -> list[tuple[int, int, int]]:
    """Cut candidates ``(tier, cut, skip)`` within ``text[:budget + 1]``; lower tier is better.

    Tiers: 0 blank line, 1 line break, 2 sentence end, 3 space. ``skip`` is how many
    characters after the cut belong to neither chunk (the separator itself).
    """
    window = text[: budget + 1]
    found: list[tuple[int, int, int]] = []
    for match in re.finditer(r"\n(?:[ \t]*\n)+", window):
        found.append((0, match.start(), match.end() - match.start()))
    for match in re.finditer(r"\n", window):
        found.append((1, match.start(), 1))
    for match in _SENTENCE_END.finditer(window):
        found.append((2, match.end(), 1))
    for match in re.finditer(r" ", window):
        found.append((3, match.start(), 1))
    return [c for c in found if 0 < c[1] <= budget]


def _hard_cut(text: str, budget: int) -> int:
    """A cut at ``budget`` moved back so it does not split a run of backticks."""
    cut = budget
    while 0 < cut < len(text) and text[cut] == "`" and text[cut - 1] == "`":
        cut -= 1
    return cut if cut > 0 else budget


def split_message(text: str, limit: int = 3000) -> list[str]:
    """Split ``text`` into non-empty chunks of at most ``limit`` characters.

    Cuts prefer, in order: a blank line outside a code fence, a line break outside a fence, a
    line break inside a fence, a sentence end, a space; a hard cut only when nothing else fits.
    A chunk that ends inside a ``` fence is closed with ``` and the next chunk reopens it with
    the same language tag. Whitespace at a cut may be dropped; no other character is lost.
    Whitespace-only ``text`` gives ``[]``. Raises ``ValueError`` when ``limit`` < 16.
    """
    if limit < 16:
        raise ValueError(f"limit must be at least 16 characters, got {limit!r}")
    chunks: list[str] = []
    rest = text.strip("\n").rstrip()
    inside, lang = False, ""
    while rest.strip():
        reopen = f"{FENCE}{lang}\n" if inside else ""
        if len(reopen) + len(FENCE) + 1 > limit // 2:  # a huge tag: reopen without it
            reopen = f"{FENCE}\n" if inside else ""
        if len(reopen) + len(rest) <= limit:
            chunks.append(reopen + rest)
            break
        cut, skip, state = _choose_cut(rest, limit - len(reopen), inside, lang)
        body = rest[:cut].rstrip()
        if not body.strip():  # only whitespace fits (a huge indent): drop it and go on
            rest = rest[cut:]
            continue
        chunks.append(reopen + body + (f"\n{FENCE}" if state.inside else ""))
        rest = rest[cut + skip :]
        rest = rest.lstrip("\n") if state.inside else rest.lstrip()
        inside, lang = state.inside, state.lang
    return chunks


def _choose_cut(rest: str, budget: int, inside: bool, lang: str) -> tuple[int, int, _Fence]:
    """The best ``(cut, skip, fence state at the cut)`` for a chunk of ``rest`` with ``budget``
    characters of room."""
    window = rest[: budget + 1]
    states, start = _scan(window, inside, lang)
    closing = len(FENCE) + 1
    first_text = len(window) - len(window.lstrip())
    best: tuple[int, int, int, _Fence] | None = None  # (order, cut, skip, state)
    for tier, cut, skip in sorted(_candidates(window, budget), key=lambda c: (c[0], -c[1])):
        if best is not None and _best_order(tier) > best[0]:
            break
        if cut <= first_text:
            continue
        state = _state_at(cut, states, start)
        if state.inside:
            code = _TEXT.search(window, state.code_start)
            if cut + closing > budget or code is None or code.start() >= cut:
                continue  # no room to close the fence, or none of the code block yet
        order = _order(tier, state.inside, fills=cut >= budget // 3)
        if best is None or (order, -cut) < (best[0], -best[1]):
            best = (order, cut, skip, state)
    if best is not None:
        return best[1], best[2], best[3]
    cut = _hard_cut(window, budget)
    if _state_at(cut, states, start).inside:
        cut = _hard_cut(window, max(1, budget - closing))
    return cut, 0, _state_at(cut, states, start)


def _order(tier: int, inside: bool, *, fills: bool) -> int:
    """Rank of a cut (lower is better): a blank line, then a line break, outside a fence and at
    least a third of the way in; the same two nearer the start; a line break inside a fence; a
    sentence end; a space."""
    if tier <= 1:
        return 4 if inside else tier + (0 if fills else 2)
    return tier + 3


def _best_order(tier: int) -> int:
    """The lowest rank a cut of ``tier`` can get."""
    return tier if tier <= 1 else tier + 3
