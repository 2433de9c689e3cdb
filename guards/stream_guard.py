"""Stream an answer only as fast as the output guard has checked it.

``StreamGuard`` receives the model's answer as it grows (``feed``) and hands ``release`` the
part that may be shown now. Text is released in whole sentences (a closed code block counts as
one), and only once the text up to there has passed the same validators as the final answer
(``check_output``: secrets and other people's data replaced, abuse masked, citation markers in
range) and, for an answer from knowledge, every statement in it is supported by the passages
(``guards.groundedness``). Stricter than the final check, released text holds no 5-word phrase
of the system prompt (that the passages do not also hold): the final check removes such text only
once enough of the prompt leaked, and it must never have been shown.

Released text is always a prefix of the guard's fix of the answer so far. The first sentence that
cannot be released that way (unsupported, a phrase of the prompt, or a fix that would change
what was shown) stops the stream; everything after it waits for the final check, whose answer
the caller posts (``graph.nodes.check_output`` keeps what was shown). Raw model text never
leaves this object.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Sequence

import structlog

from guards.groundedness import Embed, memoized, passage_sentences, support_scores
from guards.leakage import prompt_leak
from guards.output_guard import check_output
from guards.sentences import sentence_spans

log = structlog.get_logger(__name__)

Release = Callable[[str], None]

_FENCE_LINE = re.compile(r"^[ \t]*(?:```|~~~)", re.M)
_ENDED = re.compile(r"[.!?:;。！？][\"'”’)\]*_`]*(?:[ \t]*\[\d{1,3}(?:\s*,\s*\d{1,3})*\])*$")
"""A sentence that ends here (``.``, ``!``, ``?``, ``:`` or ``;``, then quotes, emphasis or
citation markers) is complete."""


def release_point(text: str) -> int:
    """Where ``text`` may be cut now: after its last complete sentence (or block) once the next
    one has begun, so it cannot still grow, or after a closed code block; never inside an open
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
        # The next sentence (or block) must have begun: until then a span at the end of the text
        # may still grow ("e.g." followed by more, a hard-wrapped line's continuation).
        if not text[end:].strip() or not text[end].isspace():
            continue
        if text[end] == "\n" or _ENDED.search(text, start, end):
            cuts.append(end)
    return sorted(set(cuts))


class StreamGuard:
    """Releases checked text of one answer attempt; see the module docstring.

    ``passages`` are the retrieved sources numbered ``1..len(passages)``; ``grounded`` requires
    every released statement to be supported by them.
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
    ) -> None:
        self._release = release
        self._question = question
        self._system_prompt = system_prompt
        self._passages = list(passages)
        self._grounded = grounded and bool(self._passages)
        self._embed = memoized(embed) if embed is not None else None
        self.released = ""
        """Everything released so far."""
        self.stopped: str | None = None
        """Why releasing stopped early (``None`` while it goes on)."""
        self._text = ""
        self._complete = False
        self._checked = 0
        self._raw_released = 0
        self._wake = asyncio.Event()
        self._closing = False
        self._task = asyncio.create_task(self._run(), name="stream guard")

    @property
    def raw_released(self) -> int:
        """How much of the raw answer (as fed) the released text covers."""
        return self._raw_released

    def feed(self, answer_so_far: str, *, complete: bool = False) -> None:
        """The model's whole answer so far (not a delta); never blocks. ``complete``: the
        answer is finished, so its last sentence may be released too."""
        self._text = answer_so_far.rstrip() if complete else answer_so_far
        self._complete = complete
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
        try:
            await self._embed_passages()
        except Exception as exc:  # no embeddings: nothing can be shown as supported
            log.warning("stream guard could not embed the passages", error_type=type(exc).__name__)
            self.stopped = "check failed"
        while self.stopped is None:
            if not self._closing:
                await self._wake.wait()
                self._wake.clear()
            cut = len(self._text) if self._complete else release_point(self._text)
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

    async def _embed_passages(self) -> None:
        """Embed the passages' sentences once, while the model still reads its prompt."""
        if self._grounded and self._embed is not None:
            pieces = [text for _, text in passage_sentences(self._passages)]
            await asyncio.to_thread(self._embed, pieces)

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
        if any(end > self._raw_released for _, end in leak.covered):
            return "it repeats a phrase of the system prompt"
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
            return "the guard changed text already shown"
        if self._grounded and len(fixed) > shown:
            scores = await asyncio.to_thread(support_scores, fixed, self._passages, self._embed)
            if any(s.end > shown and not s.supported for s in scores):
                return "a statement is not supported by the sources"
        self.released, self._raw_released = fixed, len(candidate)
        if len(fixed) > shown:
            self._release(fixed[shown:])
        return None
