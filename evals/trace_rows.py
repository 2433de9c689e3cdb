"""What a judge reads from the trace log: one ``Target`` per judge call.

A logged turn is its ``turn`` span (question and answer text when content capture was on, the
routed intent, the cited chunk ids) plus the trace's retrieval span (the retrieved chunk ids).
Chunk text is not in the log: ``texts`` looks it up by id in the knowledge index, so a chunk
changed or deleted since the turn is missing and its target is skipped (counted, not guessed).

- ``refusal``, ``answer_relevance``, ``harm``: question and answer, on the turn span;
- ``intent``: question and the routed intent, on the turn span;
- ``groundedness``, ``citation``: question, answer and the cited passages under their numbers,
  on the turn span (turns that cite nothing are not applicable);
- ``context_relevance``: question and one retrieved passage per call, on the retrieval span,
  with ``app.judge.document_id`` naming the chunk.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evals.judges import Judge
from observe.tracefile import trace_records

QUESTION = "app.content.question"
ANSWER = "app.content.answer"
CITED_IDS = "app.citation.ids"
CITED_NUMBERS = "app.citation.numbers"
DOCUMENT_ID = "app.judge.document_id"

ChunkTexts = Callable[[list[str]], dict[str, str]]
"""Chunk id → stored text for those of the ids still stored."""


@dataclass(frozen=True)
class Target:
    """One judge call: the row it shows, the span its verdict joins, and its resume key."""

    row: dict[str, Any]
    trace_id: str
    span_id: str
    started_ns: int
    document_id: str | None = None

    @property
    def key(self) -> str:
        return f"{self.span_id}/{self.document_id or ''}"


@dataclass
class Selection:
    """The targets of a run and why the other turns were left out."""

    targets: list[Target] = field(default_factory=list)
    turns_seen: int = 0
    without_content: int = 0
    not_applicable: int = 0
    chunks_missing: int = 0
    already_judged: int = 0


@dataclass
class LoggedTurn:
    span: dict[str, Any]
    retrieval_span_id: str | None = None
    retrieved: list[str] = field(default_factory=list)

    @property
    def attributes(self) -> dict[str, Any]:
        return dict(self.span.get("attributes") or {})


def logged_turns(live: Path, judge: Judge, since_ns: int) -> tuple[list[LoggedTurn], set[str]]:
    """The turns of the log (newest last) and the resume keys this judge version has done."""
    done: set[str] = set()
    turns: dict[str, LoggedTurn] = {}
    retrievals: dict[str, tuple[str, list[str]]] = {}
    for record in trace_records(live, since_ns):
        attrs = record.get("attributes") or {}
        kind = record.get("record")
        if (
            kind == "eval"
            and attrs.get("app.judge.version") == judge.version
            and attrs.get("gen_ai.evaluation.score.value") is not None  # failed ones are retried
        ):
            done.add(f"{record.get('parent_span_id')}/{attrs.get(DOCUMENT_ID) or ''}")
        elif kind == "span" and record.get("name") == "turn":
            turns[str(record["trace_id"])] = LoggedTurn(record)
        elif kind == "span" and attrs.get("gen_ai.operation.name") == "retrieval":
            ids = [str(d["id"]) for d in attrs.get("gen_ai.retrieval.documents") or [] if "id" in d]
            retrievals[str(record["trace_id"])] = (str(record["span_id"]), list(dict.fromkeys(ids)))
    for trace_id, (span_id, ids) in retrievals.items():
        if trace_id in turns:
            turns[trace_id].retrieval_span_id, turns[trace_id].retrieved = span_id, ids
    return list(turns.values()), done


def numbered(cited: Iterable[tuple[int, str]], texts: dict[str, str]) -> str:
    """The cited passages under their citation numbers."""
    return "\n\n".join(f"[{n}] {texts[i]}" for n, i in cited)


def select(
    judge: Judge, live: Path, texts: ChunkTexts | None = None, since_ns: int = 0
) -> Selection:
    """The calls ``judge`` still has to make on the log's turns (``texts``: needed by the
    judges that read passages; without it their turns count as not applicable)."""
    turns, done = logged_turns(live, judge, since_ns)
    chosen = Selection(turns_seen=len(turns))
    for turn in turns:
        attrs = turn.attributes
        if not (attrs.get(QUESTION) and attrs.get(ANSWER)):
            chosen.without_content += 1
            continue
        targets = _targets(judge, turn, texts, chosen)
        fresh = [t for t in targets if t.key not in done]
        chosen.already_judged += len(targets) - len(fresh)
        chosen.targets.extend(fresh)
    return chosen


def _targets(
    judge: Judge, turn: LoggedTurn, texts: ChunkTexts | None, chosen: Selection
) -> list[Target]:
    attrs = turn.attributes
    span = turn.span
    base = {"question": attrs[QUESTION], "answer": attrs[ANSWER]}

    def target(row: dict[str, Any], span_id: str, document_id: str | None = None) -> Target:
        started = int(span.get("start_time_unix_nano") or 0)
        return Target(row, str(span["trace_id"]), span_id, started, document_id)

    if judge.name == "intent":
        if not attrs.get("app.intent"):
            chosen.not_applicable += 1
            return []
        return [target({**base, "intent": attrs["app.intent"]}, span["span_id"])]
    if judge.name == "context_relevance":
        if texts is None or not turn.retrieved or turn.retrieval_span_id is None:
            chosen.not_applicable += 1
            return []
        found = texts(turn.retrieved)
        chosen.chunks_missing += len(set(turn.retrieved) - set(found))
        return [
            target({"question": base["question"], "context": found[i]}, turn.retrieval_span_id, i)
            for i in turn.retrieved
            if i in found
        ]
    if judge.needs_context:
        cited = list(zip(attrs.get(CITED_NUMBERS) or [], attrs.get(CITED_IDS) or [], strict=False))
        if texts is None or not cited:
            chosen.not_applicable += 1
            return []
        found = texts([i for _, i in cited])
        if len(found) < len({i for _, i in cited}):
            chosen.chunks_missing += 1
            return []
        return [target({**base, "context": numbered(cited, found)}, span["span_id"])]
    return [target(base, span["span_id"])]
