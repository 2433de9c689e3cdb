"""Passages (sections stitched back from their chunks), the rerank's heading vectors, and the
retriever stages around them, over real Chroma + MiniLM."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.chunking import ChunkSettings, chunk_sections
from knowledge.embeddings import get_embedder
from knowledge.headings import HeadingVectors
from knowledge.index import KnowledgeIndex
from knowledge.ingest import ingest_paths
from knowledge.lexical import LexicalIndex
from knowledge.markup import Section
from knowledge.passages import Sections, stitch
from knowledge.records import StoredChunk
from knowledge.retrieval import RetrievalConfig, Retriever

SENTENCES = [
    f"Step {i} of the rollout checks the {word} service and records the result in the log."
    for i, word in enumerate(
        "billing search payments gateway mail storage queue cache auth metrics".split() * 4
    )
]
LONG = " ".join(SENTENCES)


def stored(chunks: list, scope: str = "s") -> list[StoredChunk]:
    return [
        StoredChunk(c.id, c.text, c.source, c.heading, c.title, scope, None, c.position)
        for c in chunks
    ]


def test_a_section_cut_into_overlapping_chunks_is_stitched_back_whole() -> None:
    settings = ChunkSettings(max_tokens=64, section_tokens=64, overlap_tokens=30)
    chunks = chunk_sections(
        [Section(("Rollout",), LONG, 1), Section(("Other",), "Unrelated text.", 9)],
        source="doc.md",
        settings=settings,
    )
    rollout = [c for c in chunks if c.heading == "Rollout"]
    assert (
        len(rollout) > 3
        and any(  # the chunker really repeated sentences at the cuts
            a.text.split(". ")[-1] in b.text for a, b in zip(rollout, rollout[1:], strict=False)
        )
    )
    sections = Sections(stored(chunks))
    assert len(sections) == 2
    section = sections.of(rollout[2].id)
    assert section is not None and section.ids == tuple(c.id for c in rollout)
    assert section.window(rollout[2].id, 100_000).split() == LONG.split()
    other = sections.of(chunks[-1].id)
    assert other is not None and other.window(chunks[-1].id, 100) == "Unrelated text."


def test_a_long_section_gives_the_window_around_the_matching_chunk() -> None:
    settings = ChunkSettings(max_tokens=64, section_tokens=64, overlap_tokens=0)
    chunks = chunk_sections([Section(("Rollout",), LONG, 1)], source="d", settings=settings)
    section = Sections(stored(chunks)).of(chunks[5].id)
    assert section is not None
    window = section.window(chunks[5].id, 3 * max(len(c.text) for c in chunks))
    assert chunks[5].text in window and chunks[0].text not in window
    assert len(window) <= 3 * max(len(c.text) for c in chunks) + 10
    assert chunks[6].text in window, "the following chunk comes first"


def test_stitch_only_removes_a_real_overlap() -> None:
    assert (
        stitch("One two. Three four.", "Three four. Five six.") == "One two. Three four. Five six."
    )
    assert stitch("Ends with the", "the start") == "Ends with the\n\nthe start"
    assert stitch("Same two.", "Same two.") == "Same two."


def test_sections_never_join_different_headings_sources_or_gaps() -> None:
    def chunk(cid: str, source: str, heading: str, position: int) -> StoredChunk:
        return StoredChunk(cid, cid, source, heading, "", "s", None, position)

    sections = Sections(
        [
            chunk("a", "x", "H", 0),
            chunk("b", "x", "H", 1),
            chunk("c", "x", "H2", 2),
            chunk("d", "y", "H", 3),
            chunk("e", "y", "H", 5),
        ]
    )
    assert len(sections) == 4
    assert sections.of("a") is sections.of("b")
    assert sections.of("d") is not sections.of("e")
    assert sections.of("missing") is None


def test_heading_vectors_are_cached_on_disk_and_only_new_headings_embedded(
    tmp_path: Path,
) -> None:
    class Counting:
        def __init__(self) -> None:
            self.embedded: list[str] = []

        def embed(self, texts: list[str]) -> list[list[float]]:
            self.embedded.extend(texts)
            return get_embedder().embed(texts)

    path = tmp_path / "headings.npz"
    first = Counting()
    matrix = HeadingVectors(first, path).matrix(["Guide > Install", "Guide > Usage"])  # type: ignore[arg-type]
    assert matrix.shape == (2, 384) and sorted(first.embedded) == [
        "Guide > Install",
        "Guide > Usage",
    ]
    again = Counting()
    reopened = HeadingVectors(again, path).matrix(["Guide > Usage", "Guide > Upgrade"])  # type: ignore[arg-type]
    assert again.embedded == ["Guide > Upgrade"]
    assert reopened[0] == pytest.approx(matrix[1], abs=1e-6)
    path.write_bytes(b"not a zip")
    assert HeadingVectors(Counting(), path).matrix(["x"]).shape == (1, 384)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeIndex:
    root = tmp_path_factory.mktemp("kb")
    docs = root / "docs"
    docs.mkdir()
    steps = "\n\n".join(" ".join(SENTENCES[i : i + 4]) for i in range(0, len(SENTENCES), 4))
    (docs / "rollout.md").write_text(
        "# Rollout\n\n## Checking every service\n\n"
        + steps
        + "\n\n## Unrelated\n\nLunch is at noon.\n"
    )
    shared = (
        "Rotate the signing key every ninety days with keytool rotate --all and tell #security."
    )
    (docs / "keys.md").write_text(f"# Keys\n\n## Rotation\n\n{shared}\n")
    (docs / "keys-copy.md").write_text(f"# Keys (old copy)\n\n## Rotation\n\n{shared}\n")
    index = KnowledgeIndex(get_embedder(), path=root / "chroma", collection="passages-test")
    ingest_paths(index, [docs], scope="team", progress=False)
    return index


def test_the_default_returns_whole_sections_once_and_drops_near_duplicates(
    store: KnowledgeIndex,
) -> None:
    retriever = Retriever(store, LexicalIndex.from_store(store))
    hits = retriever.search("which step checks the metrics service", k=5, spaces=["team"])
    rollout = [h for h in hits if h.heading.endswith("Checking every service")]
    assert len(rollout) == 1, "one section takes one place however many chunks matched"
    assert "Step 0 of" in rollout[0].text and "Step 39 of" in rollout[0].text
    assert rollout[0].chunk_text
    assert " ".join(rollout[0].chunk_text.split()) in " ".join(rollout[0].text.split())
    keys = retriever.search("how often do we rotate the signing key", k=5, spaces=["team"])
    assert sum("keytool rotate" in h.text for h in keys) == 1


def test_without_a_filter_a_chunk_of_another_space_added_later_is_still_never_returned(
    store: KnowledgeIndex, tmp_path: Path
) -> None:
    retriever = Retriever(store, LexicalIndex.from_store(store), RetrievalConfig(exact_dense=False))
    assert retriever.lexical.scopes == {"team"}
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / "keys.md").write_text("# Keys\n\n## Rotation\n\nThe signing key is hunter2.\n")
    ingest_paths(store, [secret], scope="hr", progress=False)
    try:
        retriever._check_lexical = lambda: None  # type: ignore[method-assign]  # stale on purpose
        hits = retriever.search("what is the signing key rotation", k=10, spaces=["team"])
        assert hits and all(h.scope == "team" for h in hits)
        assert not any("hunter2" in h.text for h in hits)
    finally:
        for source in store.sources("hr"):
            store.delete_source(source, "hr")


def test_the_source_penalty_interleaves_documents() -> None:
    from knowledge.records import Hit
    from knowledge.retrieval import _diversify

    def hit(cid: str, source: str, score: float) -> Hit:
        return Hit(id=cid, text=cid, source=source, heading="", score=score)

    ranked = [hit("a1", "a", 1.0), hit("a2", "a", 0.95), hit("b1", "b", 0.9)]
    assert [h.id for h in _diversify(ranked, 0.0)] == ["a1", "a2", "b1"]
    assert [h.id for h in _diversify(ranked, 0.1)] == ["a1", "b1", "a2"]
