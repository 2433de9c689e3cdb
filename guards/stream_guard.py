"""Stream an answer only as fast as the output guard has checked it.

``StreamGuard`` receives the model's answer as it grows (``feed``) and hands ``release`` the
part that may be shown now. Text is released in whole sentences (a closed code block counts as
one), and only once the text up to there has passed the same validators as the final answer
(``check_output``: secrets and other people's data replaced, abuse masked, citation markers in
range) and, for an answer from knowledge, every statement in it is supported by the passages
(``guards.groundedness``). Stricter than the final check, no released sentence may be mostly
system-prompt text (the final check only removes such sentences once enough of the prompt
leaked).

Released text is never taken back: it is always a prefix of the guard's fix of the answer so far.
The first sentence that cannot be released that way (unsupported, prompt-like, or a fix that
would change what was shown) stops the stream; everything after it waits for the final check,
whose answer the caller posts. Raw model text never leaves this object.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Sequence

import structlog

from guards.groundedness import Embed, memoized, passage_sentences, support_scores
from guards.leakage import prompt_leak, prompt_sentences
from guards.output_guard import check_output
from guards.sentences import sentence_spans

log = structlog.get_logger(__name__)

Release = Callable[[str], None]

_FENCE_LINE = re.compile(r"^[ \t]*(?:```|~~~)", re.M)
_ENDED = re.compile(r"[.!?:;。！？][\"'”’)\]*_`]*(?:[ \t]*\[\d{1,3}(?:\s*,\s*\d{1,3})*\])*$")
"""A sentence that ends here (``.``, ``!``, ``?``, ``:`` or ``;``, then quotes, emphasis or
citation markers) is complete."""


def release_point(text: str) -> int:
    """Where ``text`` may be cut now: after its last complete sentence or closed code block
    that more text already follows (so the sentence cannot still grow), never inside an open
    code block; 0 when there is none."""
    return max(release_cuts(text), default=0)


def release_cuts(text: str) -> list[int]:
    """Every place ``release_point`` could cut ``text``, in order (see there)."""
    fences = [m.start() for m in _FENCE_LINE.finditer(text)]
    limit = fences[-1] if len(fences) % 2 else len(text)
    cuts = []
    for n in range(1, len(fences), 2):  # the end of each closing fence line
        end = text.find("\n", fences[n])
        if 0 <= end < limit:
            cuts.append(end)
    for start, end in sentence_spans(text[:limit]):
        if end < limit and (
            text[end] == "\n" or (text[end].isspace() and _ENDED.search(text, start, end))
        ):
            cuts.append(end)
    return sorted(set(cuts))


class StreamGuard:
    """Releases checked text of one answer attempt; see the module docstring.

    ``shown`` is what the user already saw of this turn (an earlier attempt's released text):
    this attempt releases only text that continues it. ``passages`` are the retrieved sources
    numbered ``1..len(passages)``; ``grounded`` requires every released statement to be
    supported by them.
    """

    def __init__(
        self,
        release: Release,
        *,
        question: str,
        system_prompt: str,
        passages: Sequence[str] = (),
        grounded: bool = False,
        embed: Embed | None = None,
        shown: str = "",
    ) -> None:
        self._release = release
        self._question = question
        self._system_prompt = system_prompt
        self._passages = list(passages)
        self._grounded = grounded and bool(self._passages)
        self._embed = memoized(embed) if embed is not None else None
        self.released = shown
        """Everything released so far (``shown`` included)."""
        self.stopped: str | None = None
        """Why releasing stopped early (``None`` while it goes on)."""
        self._text = ""
        self._checked = 0
        self._raw_released = 0
        self._wake = asyncio.Event()
        self._closing = False
        self._task = asyncio.create_task(self._run(), name="stream guard")

    def feed(self, answer_so_far: str) -> None:
        """The model's whole answer so far (not a delta); never blocks."""
        self._text = answer_so_far
        self._wake.set()

    async def close(self) -> str:
        """Finish the check in progress (and one over the complete sentences of the text fed
        last), release nothing more; returns everything released."""
        self._closing = True
        self._wake.set()
        await self._task
        return self.released

    def abort(self) -> None:
        """Stop at once (the attempt failed): nothing more is released."""
        self.stopped = self.stopped or "aborted"
        self._task.cancel()

    async def _run(self) -> None:
        if self._grounded and self._embed is not None:  # while the model reads its prompt
            pieces = [text for _, text in passage_sentences(self._passages)]
            await asyncio.to_thread(self._embed, pieces)
        while self.stopped is None:
            if not self._closing:
                await self._wake.wait()
                self._wake.clear()
            cut = release_point(self._text)
            if cut <= self._checked:
                if self._closing:
                    return
                continue
            self._checked = cut
            try:
                await self._check(self._text, cut)
            except Exception as exc:  # a broken check releases nothing more, never crashes
                log.warning("stream guard check failed", error_type=type(exc).__name__)
                self.stopped = "check failed"

    async def _check(self, text: str, cut: int) -> None:
        """Release what ``text[:cut]`` adds if all of it passes; else the longest part of it,
        ending at a sentence, that does, and stop (the failing sentence would stay in every
        later check)."""
        cuts = [c for c in release_cuts(text) if self._raw_released < c < cut] + [cut]
        failure: str | None = None
        for end in reversed(cuts):
            reason = await self._release_up_to(text[:end])
            if reason is None:
                break
            failure = failure or reason
        self.stopped = failure

    async def _release_up_to(self, candidate: str) -> str | None:
        """Release what ``candidate`` adds when all of it passes; else why it does not."""
        leak = prompt_leak(candidate, self._system_prompt, self._passages)
        if any(end > self._raw_released for _, end in prompt_sentences(candidate, leak)):
            return "a sentence reads like the system prompt"
        verdict = await check_output(
            candidate,
            source_count=len(self._passages),
            require_citations=False,
            question=self._question,
            system_prompt=self._system_prompt,
            passages=self._passages,
        )
        fixed, shown = verdict.text, len(self.released)
        if not fixed.startswith(self.released):
            if self._raw_released:
                return "the guard changed text already shown"
            return "this attempt does not continue what was shown"
        if self._grounded and len(fixed) > shown:
            scores = await asyncio.to_thread(support_scores, fixed, self._passages, self._embed)
            if any(s.end > shown and not s.supported for s in scores):
                return "a statement is not supported by the sources"
        self.released, self._raw_released = fixed, len(candidate)
        if len(fixed) > shown:
            self._release(fixed[shown:])
        return None
