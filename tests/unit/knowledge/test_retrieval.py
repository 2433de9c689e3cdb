"""Retrieval over real Chroma + MiniLM and the real BM25 index: every mode, the space filter
inside the store, persistence of the lexical index, and the benchmark's relevance rule. The
shared-index tests run twice: Chroma on disk, and a Chroma server over HTTP (``chroma run``)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from evals.relevance import first_relevant_rank, is_relevant, summarize
from knowledge.embeddings import get_embedder
from knowledge.index import KnowledgeIndex
from knowledge.ingest import ingest_paths
from knowledge.lexical import LexicalIndex, open_lexical
from knowledge.queries import Query, load_queries
from knowledge.retrieval import CONFIGURATIONS, Retriever
from observe.errors import ConfigError

PUBLIC = {
    "vpn.md": "# VPN\n\n## Reset\n\nTo reset the VPN certificate open vpn.example.com and click "
    "Reset certificate. The new certificate is valid for 90 days.\n",
    "deploys.md": "# Deploys\n\n## Rollback\n\nRoll back a bad release with `deploy rollback "
    "--to previous`. It takes about two minutes.\n",
}
SECRET = {
    "salaries.md": "# Salaries\n\n## Bands\n\nThe VPN certificate reset budget and salary bands "
    "for 2026 are confidential: engineering band E5 earns 140k.\n",
}


@pytest.fixture(scope="module", params=["on disk", "server"])
def retrievers(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Retriever]:
    root = tmp_path_factory.mktemp("kb")
    for space, files in (("public", PUBLIC), ("hr", SECRET)):
        folder = root / space
        folder.mkdir()
        for name, text in files.items():
            (folder / name).write_text(text)
    where: dict[str, object] = (
        {"url": request.getfixturevalue("chroma_url")}
        if request.param == "server"
        else {"path": root / "chroma"}
    )
    index = KnowledgeIndex(get_embedder(), collection="retrieval-test", **where)  # type: ignore[arg-type]
    assert index.count() == 0, "a fresh collection"
    ingest_paths(index, [root / "public"], scope="public", progress=False)
    ingest_paths(index, [root / "hr"], scope="hr", progress=False)
    lexical = LexicalIndex.from_store(index)
    return {name: Retriever(index, lexical, config) for name, config in CONFIGURATIONS.items()}


@pytest.mark.parametrize("mode", CONFIGURATIONS)
def test_each_mode_finds_the_section_that_answers(
    retrievers: dict[str, Retriever], mode: str
) -> None:
    hits = retrievers[mode].search("how do I roll back a bad release", k=3)
    assert hits and hits[0].source == "public/deploys.md"


@pytest.mark.parametrize("mode", CONFIGURATIONS)
def test_a_space_the_asker_lacks_is_never_returned(
    retrievers: dict[str, Retriever], mode: str
) -> None:
    question = "salary bands engineering E5 confidential VPN certificate"
    everything = retrievers[mode].search(question, k=10)
    assert any(h.source.startswith("hr/") for h in everything), "the test needs a tempting hit"
    allowed = retrievers[mode].search(question, k=10, spaces=["public"])
    assert allowed and all(h.source.startswith("public/") for h in allowed)
    assert retrievers[mode].search(question, k=10, spaces=["nobody"]) == []


def test_the_local_copy_survives_a_restart_and_is_rebuilt_when_the_store_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "vpn.md").write_text(PUBLIC["vpn.md"])
    index = KnowledgeIndex(get_embedder(), path=tmp_path / "chroma", collection="copy-test")
    ingest_paths(index, [docs], scope="public", progress=False)
    path = tmp_path / "lexical"
    first = open_lexical(path, index)
    assert (path / "chunks.jsonl").exists() and (path / "vectors.npy").exists()
    assert first.vectors is not None and first.vectors.shape == (len(first), 384)
    assert first.revision == index.revision() != ""
    with monkeypatch.context() as patch:
        patch.setattr(LexicalIndex, "from_store", lambda _: pytest.fail("must not rebuild"))
        again = open_lexical(path, index)
    assert again.fingerprint == first.fingerprint and again.vectors is not None
    assert np.allclose(again.vectors, first.vectors)
    (docs / "deploys.md").write_text(PUBLIC["deploys.md"])
    other_process = KnowledgeIndex(get_embedder(), path=tmp_path / "chroma", collection="copy-test")
    ingest_paths(other_process, [docs], scope="public", progress=False)
    assert index.revision() != first.revision, "a write anywhere changes the revision"
    assert len(open_lexical(path, index)) > len(first)


def test_a_retriever_sees_an_ingest_made_by_another_process(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "vpn.md").write_text(PUBLIC["vpn.md"])
    index = KnowledgeIndex(get_embedder(), path=tmp_path / "chroma", collection="sync-test")
    ingest_paths(index, [docs], scope="public", progress=False)
    retriever = Retriever(index, LexicalIndex.from_store(index))
    assert retriever.search("roll back a bad release", k=1)[0].source == "docs/vpn.md"
    (docs / "vpn.md").write_text(PUBLIC["deploys.md"])  # same count of chunks, new content
    writer = KnowledgeIndex(get_embedder(), path=tmp_path / "chroma", collection="sync-test")
    ingest_paths(writer, [docs], scope="public", progress=False)
    hit = retriever.search("roll back a bad release", k=1)[0]
    assert "deploy rollback" in hit.text, "the changed document is searched, not the old copy"


def test_exact_dense_search_matches_brute_force_and_respects_spaces(
    retrievers: dict[str, Retriever],
) -> None:
    lexical = LexicalIndex.from_store(retrievers["dense"].index)
    assert lexical.vectors is not None
    vector = np.asarray(get_embedder().embed_one("VPN certificate"), dtype=np.float32)
    found = lexical.dense(vector, 3)
    expected = sorted(
        zip(lexical.docs, lexical.vectors @ vector, strict=True), key=lambda p: -p[1]
    )[:3]
    assert [d.id for d, _ in found] == [d.id for d, _ in expected]
    assert all(d.scope == "public" for d, _ in lexical.dense(vector, 10, ["public"]))
    assert lexical.dense(vector, 10, ["nobody"]) == []


def test_relevance_rule_and_metrics() -> None:
    query = Query(
        "q1", "How do I reset the VPN?", "Open vpn.example.com and click Reset", "a/vpn.md"
    )
    assert is_relevant("open vpn.example.com then click reset certificate", "kb/a/vpn.md", query)
    assert not is_relevant("open vpn.example.com then click reset", "kb/a/other.md", query)
    assert not is_relevant("click the button", "kb/a/vpn.md", query)
    ranks = [
        first_relevant_rank(
            [("nothing", "kb/a/vpn.md"), ("open vpn.example.com click reset", "kb/a/vpn.md")], query
        ),
        None,
    ]
    assert ranks == [2, None]
    assert summarize(ranks) == {"R@1": 0.0, "R@5": 0.5, "R@10": 0.5, "MRR": 0.25}


def test_query_files_with_bad_rows_are_one_clear_error(tmp_path: Path) -> None:
    good = tmp_path / "q.jsonl"
    good.write_text(json.dumps({"id": 1, "question": "why?"}) + "\n\n")
    assert load_queries(good) == [Query("1", "why?")]
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": 1, "question": "ok"}\n{"question": "no id"}\n')
    with pytest.raises(ConfigError, match="bad.jsonl:2"):
        load_queries(bad)
