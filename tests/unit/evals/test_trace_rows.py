"""What each judge reads from the log: passages looked up in Chroma by the ids the turn logged,
verdicts joined to the turn or retrieval span, one call per retrieved chunk, resumable."""

from __future__ import annotations

from pathlib import Path

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from evals.judges import JUDGES
from evals.trace_eval import evaluate_traces
from evals.trace_rows import select
from guards.redaction import REDACTOR
from knowledge.embeddings import get_embedder
from knowledge.index import KnowledgeIndex
from knowledge.records import Chunk
from observe.schema import validate_record
from observe.tracefile import trace_records
from observe.tracing import Tracer

VPN = "To reset the VPN certificate, open vpn.example.com and click Reset certificate."
LEAVE = "Employees get 25 vacation days per year."


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeIndex:
    idx = KnowledgeIndex(get_embedder(), path=tmp_path_factory.mktemp("chroma"))
    for chunk_id, text, source in (("vpn-0", VPN, "it/vpn.md"), ("leave-0", LEAVE, "hr/leave.md")):
        idx.upsert_source(source, "default", [Chunk(chunk_id, text, source, "H", "default", 0)])
    return idx


def log_turn(path: Path, *, cited: list[str], retrieved: list[str], intent: str | None) -> dict:
    """One turn as the graph logs it: the turn span and its retrieval child."""
    tracer = Tracer(path, redactor=REDACTOR, keep_content=True)
    attributes = {
        "app.content.question": "How do I reset the VPN?",
        "app.content.answer": "Open vpn.example.com and click Reset certificate [1].",
        "app.intent": intent,
        "app.citation.ids": cited,
        "app.citation.numbers": list(range(1, len(cited) + 1)),
    }
    with tracer.span("turn", "SERVER", attributes) as turn:
        retrieval = {"gen_ai.operation.name": "retrieval"}
        with tracer.span("retrieval knowledge", "CLIENT", retrieval) as r:
            r.set("gen_ai.retrieval.documents", [{"id": i, "score": 0.5} for i in retrieved])
    tracer.close()
    return {"turn": turn.span_id, "retrieval": r.span_id, "trace": turn.trace_id}


def test_cited_passages_are_looked_up_by_id_under_their_numbers(
    tmp_path: Path, index: KnowledgeIndex
) -> None:
    path = tmp_path / "traces.jsonl"
    ids = log_turn(path, cited=["vpn-0"], retrieved=["vpn-0", "leave-0"], intent="question")
    chosen = select(JUDGES["groundedness"], path, index.texts)
    [target] = chosen.targets
    assert target.span_id == ids["turn"]
    assert target.row["context"] == f"[1] {VPN}"
    assert "Reset certificate [1]" in target.row["answer"]


def test_without_citations_or_a_lookup_a_passage_judge_does_not_apply(
    tmp_path: Path, index: KnowledgeIndex
) -> None:
    path = tmp_path / "traces.jsonl"
    log_turn(path, cited=[], retrieved=["vpn-0"], intent="question")
    assert select(JUDGES["citation"], path, index.texts).not_applicable == 1
    log_turn(path, cited=["vpn-0"], retrieved=["vpn-0"], intent="question")
    assert select(JUDGES["citation"], path, None).not_applicable == 2


def test_a_chunk_changed_since_the_turn_is_counted_not_guessed(
    tmp_path: Path, index: KnowledgeIndex
) -> None:
    path = tmp_path / "traces.jsonl"
    log_turn(path, cited=["gone-0"], retrieved=["gone-0", "vpn-0"], intent="question")
    grounded = select(JUDGES["groundedness"], path, index.texts)
    assert (len(grounded.targets), grounded.chunks_missing) == (0, 1)
    context = select(JUDGES["context_relevance"], path, index.texts)
    assert [t.document_id for t in context.targets] == ["vpn-0"]
    assert context.chunks_missing == 1


def test_intent_judge_reads_the_routed_intent(tmp_path: Path) -> None:
    path = tmp_path / "traces.jsonl"
    log_turn(path, cited=[], retrieved=[], intent="chitchat")
    log_turn(path, cited=[], retrieved=[], intent=None)  # a blocked turn is never routed
    chosen = select(JUDGES["intent"], path)
    assert [t.row["intent"] for t in chosen.targets] == ["chitchat"]
    assert chosen.not_applicable == 1
    assert "INTENT:\nchitchat" in str(JUDGES["intent"].messages(chosen.targets[0].row)[1].content)


async def test_context_relevance_judges_each_chunk_on_the_retrieval_span_and_resumes(
    tmp_path: Path, index: KnowledgeIndex
) -> None:
    path = tmp_path / "traces.jsonl"
    ids = log_turn(path, cited=["vpn-0"], retrieved=["vpn-0", "leave-0"], intent="question")
    judge = JUDGES["context_relevance"]
    model = GenericFakeChatModel(messages=iter([AIMessage("YES"), AIMessage("NO")] * 2))
    tracer = Tracer(path, redactor=REDACTOR, keep_content=True)
    first = await evaluate_traces(
        judge, model, "fake", path, tracer, texts=index.texts, concurrency=1
    )
    again = await evaluate_traces(judge, model, "fake", path, tracer, texts=index.texts)
    tracer.close()
    assert (first.judged, first.positive, again.judged, again.already_judged) == (2, 1, 0, 2)
    evals = [r for r in trace_records(path) if r["record"] == "eval"]
    for record in evals:
        validate_record(record)
    assert {r["parent_span_id"] for r in evals} == {ids["retrieval"]}
    by_doc = {r["attributes"]["app.judge.document_id"]: r["attributes"] for r in evals}
    assert set(by_doc) == {"vpn-0", "leave-0"}
    assert {a["gen_ai.evaluation.score.label"] for a in by_doc.values()} == {
        "relevant_context",
        "irrelevant_context",
    }
