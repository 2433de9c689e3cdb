"""``assistant bench answers``: the whole graph on a golden set, scored the way a user would.

Rows are JSON lines ``{"id", "question", "answer", "source"}`` (``answer`` is the gold answer
text, ``source`` the file that holds it, relative to the ingested folder's parent, as citations
name it). Each question is asked once, in a conversation of its own, with the semantic cache off,
against the configured data dir and model. Reported:

- ``cites_gold``: share of answers citing ``source``; ``retrieved_gold``: share of questions
  whose retrieved passages include it (retrieval recall at the configured ``top_k``);
- ``gold_words``: mean share of the gold answer's content words (distinct stemmed terms, stop
  words out: ``guards.groundedness.content_terms``) present in the answer;
- ``couldnt_find``: share answered "couldn't find": ``replaced`` ("I couldn't find a reliable
  answer…": no passage close enough, or an unsupported answer replaced) and ``no_sources``
  (nothing retrieved), counted apart;
- first visible text and total time, p50 / p95: from the call to the first text released to the
  asker (the whole answer when nothing streamed), and to the end of the turn.

``--out`` writes one line per row: ``{id, answer, citations: [{source, heading, n}], context
(the cited passages under their numbers), intent, replaced, no_sources, timings_ms: {first_text,
total}, tokens, cost_usd}``, so answers can be scored other ways too.
"""

from __future__ import annotations

import json
import re
import statistics
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from graph.prompts import NO_SOURCES_ANSWER, NOT_GROUNDED_ANSWER
from guards.groundedness import content_terms
from knowledge.queries import Query
from observe.stats import percentile

REPLACED_PREFIX = NOT_GROUNDED_ANSWER.split("{", 1)[0].strip()
"""The start of the honest "couldn't find a reliable answer" replacement."""


def gold_word_share(answer: str, gold: str) -> float | None:
    """Share of ``gold``'s distinct content terms that ``answer`` holds (``None``: no gold)."""
    wanted = set(content_terms(gold))
    if not wanted:
        return None
    return len(wanted & set(content_terms(answer))) / len(wanted)


def cites(citations: list[dict[str, Any]], source: str) -> bool:
    """Whether a citation names ``source`` (or a path ending in it)."""
    return bool(source) and any(
        c.get("source") == source or str(c.get("source", "")).endswith("/" + source)
        for c in citations
    )


_MARKER = re.compile(r"\[(\d{1,2})\]")
OVERLAP = 0.5
"""Share of an answer's content terms its cited passages must hold (the deterministic check)."""


_CODE = re.compile(r"```.*?```|`[^`\n]*`", re.DOTALL)


def own_text(answer: str) -> str:
    """The answer without what it quotes: code blocks, inline code and ``>`` lines (a quoted
    ``x[10]`` is not a citation marker)."""
    unquoted = _CODE.sub(" ", answer)
    return "\n".join(line for line in unquoted.splitlines() if not line.lstrip().startswith(">"))


def exact_checks(answer: str, citations: list[dict[str, Any]]) -> dict[str, bool | None]:
    """The checks that need no judge: the answer is not empty; every ``[n]`` in its own text
    (``own_text``) names a citation; the cited passages hold at least ``OVERLAP`` of its
    content terms (``None``: no citation to check)."""
    numbers = {int(c["n"]) for c in citations if "n" in c}
    markers = {int(m) for m in _MARKER.findall(own_text(answer))}
    cited_terms = set(content_terms(" ".join(str(c.get("text", "")) for c in citations)))
    terms = set(content_terms(answer))
    return {
        "non_empty": bool(answer.strip()),
        "citations_exist": markers <= numbers,
        "cited_overlap": (
            len(terms & cited_terms) / len(terms) >= OVERLAP if citations and terms else None
        ),
    }


def score_row(row: Query, result: Any, first_text_ms: float | None) -> dict[str, Any]:
    """One answered row as ``--out`` writes it (plus the scores used for the summary)."""
    answer = str(result.answer)
    total = float(result.timings_ms.get("total", 0.0))
    return {
        "id": row.id,
        "question": row.question,
        "answer": answer,
        "citations": [
            {"n": c["n"], "source": c["source"], "heading": c["heading"]} for c in result.citations
        ],
        "replaced": answer.startswith(REPLACED_PREFIX),
        "no_sources": answer.startswith(NO_SOURCES_ANSWER[:40]),
        "cites_gold": cites(result.citations, row.source),
        "retrieved_gold": cites(result.retrieved, row.source),
        "intent": result.intent,
        "context": "\n\n".join(f"[{c['n']}] {c.get('text', '')}" for c in result.citations),
        "gold_words": gold_word_share(answer, row.answer),
        "checks": exact_checks(answer, list(result.citations)),
        "timings_ms": {
            "first_text": round(first_text_ms if first_text_ms is not None else total, 1),
            "total": round(total, 1),
        },
    }


def _rounded(value: float | None) -> float | None:
    return round(value, 3) if value is not None else None


def summarise(scored: list[dict[str, Any]], model: str) -> dict[str, Any]:
    """The bench's numbers over the scored rows."""
    n = len(scored)
    shares = [s["gold_words"] for s in scored if s["gold_words"] is not None]
    first = [s["timings_ms"]["first_text"] / 1000 for s in scored]
    total = [s["timings_ms"]["total"] / 1000 for s in scored]
    replaced = sum(s["replaced"] for s in scored)
    no_sources = sum(s["no_sources"] for s in scored)
    failed = [s for s in scored if any(v is False for v in s.get("checks", {}).values())]
    return {
        "model": model,
        "rows": n,
        "cites_gold": round(sum(s["cites_gold"] for s in scored) / n, 3),
        "retrieved_gold": round(sum(s.get("retrieved_gold", False) for s in scored) / n, 3),
        "gold_words": round(statistics.fmean(shares), 3) if shares else None,
        "couldnt_find": round((replaced + no_sources) / n, 3),
        "replaced": replaced,
        "no_sources": no_sources,
        "first_text_s_p50": _rounded(percentile(first, 50)),
        "first_text_s_p95": _rounded(percentile(first, 95)),
        "total_s_mean": _rounded(statistics.fmean(total)) if total else None,
        "total_s_p50": _rounded(percentile(total, 50)),
        "total_s_p95": _rounded(percentile(total, 95)),
        "checks_failed": round(len(failed) / n, 3),
        "tokens_per_answer": (
            round(statistics.fmean(sum(s["tokens"].values()) for s in scored), 1)
            if all("tokens" in s for s in scored)
            else None
        ),
        "cost_usd": round(sum(s.get("cost_usd", 0.0) for s in scored), 6),
        "checks_failed_ids": [s["id"] for s in failed][:20],
    }


async def answer_rows(
    rows: list[Query],
    *,
    overrides: dict[str, Any] | None = None,
    out: Path | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[list[dict[str, Any]], Any]:
    """Ask every question of ``rows`` through the whole graph, each in a conversation of its
    own (new on every run), with the configured settings plus ``overrides``; the scored rows
    and the settings used."""
    from graph.assistant import Assistant
    from graph.settings import load_settings

    settings = load_settings(**(overrides or {})).model_copy(update={"cache_enabled": False})
    assistant = await Assistant.start(settings)
    scored: list[dict[str, Any]] = []
    run = uuid.uuid4().hex[:8]
    sink = out.open("w", encoding="utf-8") if out is not None else None
    try:
        for n, row in enumerate(rows, start=1):
            started = time.perf_counter()
            first: list[float] = []

            def on_text(_text: str, first: list[float] = first, started: float = started) -> None:
                if not first:
                    first.append((time.perf_counter() - started) * 1000)

            result = await assistant.ask(
                row.question, conversation_id=f"bench-answers-{run}-{row.id}", on_text=on_text
            )
            scored.append(score_row(row, result, first[0] if first else None))
            tokens = (result.usage.get("input_tokens", 0), result.usage.get("output_tokens", 0))
            scored[-1]["tokens"] = {"input": tokens[0], "output": tokens[1]}
            scored[-1]["cost_usd"] = settings.traces.cost_usd(settings.chat_model, *tokens)
            if sink is not None:
                sink.write(json.dumps(scored[-1], ensure_ascii=False) + "\n")
                sink.flush()
            if progress is not None:
                progress(n, len(rows))
    finally:
        if sink is not None:
            sink.close()
        await assistant.aclose()
    return scored, settings


async def bench_answers(
    rows: list[Query],
    *,
    out: Path | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """``answer_rows`` with the configured settings, summarised."""
    scored, settings = await answer_rows(rows, out=out, progress=progress)
    return summarise(scored, settings.chat_model)
