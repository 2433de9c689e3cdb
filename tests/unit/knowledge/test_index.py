"""KnowledgeIndex against a real on-disk Chroma and the real MiniLM embedder: search, incremental
writes with document hashes, deletes, and the chunk accessor the lexical index reads."""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
from collections.abc import Sequence
from pathlib import Path

import chromadb
import pytest
from chromadb.config import Settings

from knowledge.chunking import chunk_sections
from knowledge.embeddings import Embedder, get_embedder
from knowledge.index import KnowledgeIndex
from knowledge.loaders import Section
from knowledge.records import Hit, SourceUpdate, StoredChunk, StoredDoc
from observe.errors import ConfigError, RetrievalError, ServiceError


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return get_embedder()


def _chunks(source: str, scope: str, texts: dict[str, str]) -> list:
    sections = [Section(("Handbook", heading), body, None) for heading, body in texts.items()]
    return chunk_sections(sections, source=source, scope=scope)


PETS = {
    "Dogs in the office": "Dogs are welcome on Fridays if they are calm and house-trained.",
    "Cats": "Cats must stay at home; the office has no litter facilities.",
}
PARKING = {
    "Parking": "The underground car park opens at 7am. Badge in at the barrier.",
    "Bicycles": "Bike racks are behind building B, next to the showers.",
}


def test_upsert_search_and_scores(tmp_path: Path, embedder: Embedder) -> None:
    index = KnowledgeIndex(embedder, path=tmp_path / "chroma", collection="kb-test")
    assert index.count() == 0
    assert index.search("anything at all") == []
    result = index.upsert_source("pets.md", "default", _chunks("pets.md", "default", PETS))
    assert (result.added, result.unchanged, result.removed) == (2, 0, 0)
    index.upsert_source("parking.md", "default", _chunks("parking.md", "default", PARKING))
    assert index.count() == 4
    assert index.sources() == ["parking.md", "pets.md"]

    hits = index.search("Can I bring my dog to work?", k=3)
    assert len(hits) == 3
    assert isinstance(hits[0], Hit)
    assert hits[0].source == "pets.md" and hits[0].heading == "Handbook > Dogs in the office"
    assert hits[0].text == PETS["Dogs in the office"]
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True)
    assert 0.3 < scores[0] <= 1.0 + 1e-6
    # The score is the cosine similarity of our own vectors (a dot product: they are normalised).
    query_vec = embedder.embed_one("Can I bring my dog to work?")
    doc_vec = embedder.embed_one(f"Handbook > Dogs in the office\n\n{PETS['Dogs in the office']}")
    cosine = sum(q * d for q, d in zip(query_vec, doc_vec, strict=True))
    assert scores[0] == pytest.approx(cosine, abs=1e-4)
    # Cosine similarity: the query against its own stored text scores ~1.
    exact = index.search(f"Handbook > Bicycles\n\n{PARKING['Bicycles']}", k=1)[0]
    assert exact.source == "parking.md" and exact.score == pytest.approx(1.0, abs=1e-3)


def test_upsert_is_incremental(tmp_path: Path, embedder: Embedder) -> None:
    index = KnowledgeIndex(embedder, path=tmp_path / "chroma")
    chunks = _chunks("pets.md", "default", PETS)
    index.upsert_source("pets.md", "default", chunks)
    again = index.upsert_source("pets.md", "default", chunks)
    assert (again.added, again.unchanged, again.removed) == (0, 2, 0)
    changed = dict(PETS, Cats="Cats are allowed on Mondays in a carrier.")
    result = index.upsert_source("pets.md", "default", _chunks("pets.md", "default", changed))
    assert (result.added, result.unchanged, result.removed) == (1, 1, 1)
    assert index.count() == 2
    assert "Mondays" in index.search("are cats allowed", k=1)[0].text
    cleared = index.upsert_source("pets.md", "default", [])
    assert cleared.removed == 2 and index.count() == 0
    with pytest.raises(ValueError):
        index.upsert_source("other.md", "default", chunks)


def test_persists_and_uses_cosine_without_default_embedding(
    tmp_path: Path, embedder: Embedder
) -> None:
    path = tmp_path / "chroma"
    KnowledgeIndex(embedder, path=path).upsert_source(
        "pets.md", "default", _chunks("pets.md", "default", PETS)
    )
    reopened = KnowledgeIndex(embedder, path=path)
    assert reopened.count() == 2
    client = chromadb.PersistentClient(str(path), settings=Settings(anonymized_telemetry=False))
    collection = client.get_collection("knowledge", embedding_function=None)
    assert collection.configuration["hnsw"]["space"] == "cosine"
    assert collection.configuration["hnsw"]["space"] == "cosine"
    assert collection.configuration.get("embedding_function") is None
    stored = collection.get(include=["embeddings", "metadatas"])
    assert stored["embeddings"] is not None and stored["metadatas"] is not None
    assert len(stored["embeddings"][0]) == len(embedder.embed_one("x")) == 384
    assert {m["scope"] for m in stored["metadatas"]} == {"default"}


def test_scope_filter(tmp_path: Path, embedder: Embedder) -> None:
    index = KnowledgeIndex(embedder, path=tmp_path / "chroma")
    index.upsert_source("pets.md", "team-a", _chunks("pets.md", "team-a", PETS))
    index.upsert_source("pets.md", "team-b", _chunks("pets.md", "team-b", PARKING))
    assert index.count() == 4
    a = index.search("where do I park my bike", k=5, scope="team-a")
    b = index.search("where do I park my bike", k=5, scope="team-b")
    assert {h.text for h in a} == set(PETS.values())
    assert b[0].text == PARKING["Bicycles"]
    assert index.search("bike", scope="nobody") == []
    assert index.sources(scope="team-b") == ["pets.md"]


async def test_asearch(tmp_path: Path, embedder: Embedder) -> None:
    index = KnowledgeIndex(embedder, path=tmp_path / "chroma")
    index.upsert_source("parking.md", "default", _chunks("parking.md", "default", PARKING))
    hits = await index.asearch("what time does the car park open", k=1)
    assert hits[0].heading == "Handbook > Parking"


def test_empty_query_is_a_retrieval_error(tmp_path: Path, embedder: Embedder) -> None:
    index = KnowledgeIndex(embedder, path=tmp_path / "chroma")
    with pytest.raises(RetrievalError, match="empty query"):
        index.search("   ")
    with pytest.raises(RetrievalError):
        index.search("x", k=0)


def test_data_dir_under_a_regular_file_is_a_service_error(
    tmp_path: Path, embedder: Embedder
) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("I am a file")
    with pytest.raises(ServiceError, match="cannot be created") as info:
        KnowledgeIndex(embedder, path=blocker / "chroma")
    assert info.value.hint and "ASSISTANT_CHROMA_URL" in info.value.hint
    with pytest.raises(ServiceError, match="is not a directory"):
        KnowledgeIndex(embedder, path=blocker)


def _try_open_as_nobody(embedder: Embedder, path: Path) -> str:
    """Open an index at ``path`` in a forked child running as uid/gid 65534; report what it raised.

    Root may write anywhere, so the permission check is exercised as an unprivileged user.
    """
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: never returns into pytest
        outcome = "no error"
        try:
            os.close(read_fd)
            os.setgid(65534)
            os.setuid(65534)
            KnowledgeIndex(embedder, path=path)
        except ServiceError as exc:
            outcome = f"ServiceError: {exc.message}"
        except BaseException as exc:
            outcome = f"{type(exc).__name__}: {exc}"
        finally:
            os.write(write_fd, outcome.encode())
            os._exit(0)
    os.close(write_fd)
    with os.fdopen(read_fd) as pipe:
        outcome = pipe.read()
    os.waitpid(pid, 0)
    return outcome


def test_read_only_data_dir_is_a_service_error(embedder: Embedder) -> None:
    base = Path(tempfile.mkdtemp(prefix="kb-readonly-"))
    locked = base / "locked"
    try:
        base.chmod(0o755)
        locked.mkdir()
        locked.chmod(0o555)
        if os.geteuid() != 0:
            with pytest.raises(ServiceError, match="is not writable"):
                KnowledgeIndex(embedder, path=locked)
        else:
            outcome = _try_open_as_nobody(embedder, locked)
            assert outcome == f"ServiceError: Chroma data dir {locked} is not writable"
    finally:
        locked.chmod(0o755)
        shutil.rmtree(base)


def test_unreachable_server_is_a_service_error(embedder: Embedder) -> None:
    with socket.socket() as sock:  # find a loopback port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(ServiceError, match="unreachable") as info:
        KnowledgeIndex(embedder, url=f"http://127.0.0.1:{port}")
    assert info.value.hint and "chroma run" in info.value.hint


def test_bad_configuration(tmp_path: Path, embedder: Embedder) -> None:
    with pytest.raises(ConfigError):
        KnowledgeIndex(embedder, path=tmp_path, collection="x")
    with pytest.raises(ConfigError):
        KnowledgeIndex(embedder)
    with pytest.raises(ConfigError):
        KnowledgeIndex(embedder, url="ftp://example")


def test_upsert_sources_embeds_all_new_chunks_in_one_call(
    tmp_path: Path, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    index = KnowledgeIndex(embedder, path=tmp_path / "chroma")
    calls: list[int] = []
    real_embed = embedder.embed

    def counting_embed(texts: Sequence[str]) -> list[list[float]]:
        calls.append(len(texts))
        return real_embed(texts)

    monkeypatch.setattr(embedder, "embed", counting_embed)
    updates = [
        SourceUpdate("pets.md", "default", _chunks("pets.md", "default", PETS), 1.0, "h1"),
        SourceUpdate("parking.md", "default", _chunks("parking.md", "default", PARKING), 2.0, "h2"),
    ]
    results = index.upsert_sources(updates)
    assert calls == [4]
    assert [(r.added, r.unchanged, r.removed) for r in results] == [(2, 0, 0), (2, 0, 0)]
    assert index.documents("default") == {
        "pets.md": StoredDoc("pets.md", "h1", 2),
        "parking.md": StoredDoc("parking.md", "h2", 2),
    }
    assert index.documents("elsewhere") == {}


def test_kept_chunks_get_new_document_metadata_without_re_embedding(
    tmp_path: Path, embedder: Embedder
) -> None:
    index = KnowledgeIndex(embedder, path=tmp_path / "chroma")
    index.upsert_source("pets.md", "default", _chunks("pets.md", "default", PETS), 1.0, "old")
    moved = {"Birds": "Birds may visit in a cage.", **PETS}  # a new first chunk
    result = index.upsert_source(
        "pets.md", "default", _chunks("pets.md", "default", moved), 5.0, "new"
    )
    assert (result.added, result.unchanged, result.removed) == (1, 2, 0)
    stored = {c.text: c for c in index.iter_chunks("default")}
    assert {c.updated_at for c in stored.values()} == {5.0}
    assert index.documents("default") == {"pets.md": StoredDoc("pets.md", "new", 3)}
    cats = index.search("Are cats allowed in the office?", k=1)[0]
    assert cats.text == PETS["Cats"] and cats.updated_at == 5.0


def test_titles_iter_chunks_ids_and_delete_source(tmp_path: Path, embedder: Embedder) -> None:
    index = KnowledgeIndex(embedder, path=tmp_path / "chroma")
    sections = [Section(("Dogs",), PETS["Dogs in the office"], 1)]
    dogs = chunk_sections(sections, source="pets.md", scope="team-a", title="Pet policy")
    index.upsert_source("pets.md", "team-a", dogs, 3.0, "h")
    index.upsert_source("pets.md", "team-b", _chunks("pets.md", "team-b", PETS))
    index.upsert_source("parking.md", "team-a", _chunks("parking.md", "team-a", PARKING))
    hit = index.search("dogs at work", k=1, scope="team-a")[0]
    assert hit.title == "Pet policy" and hit.heading == "Dogs"
    chunks = list(index.iter_chunks("team-a", batch=1))
    assert len(chunks) == 3 and all(isinstance(c, StoredChunk) for c in chunks)
    first = next(c for c in chunks if c.source == "pets.md")
    assert first == StoredChunk(
        dogs[0].id, dogs[0].text, "pets.md", "Dogs", "Pet policy", "team-a", 3.0
    )
    assert len(list(index.iter_chunks())) == 5
    assert sorted(index.ids()) == sorted(c.id for c in index.iter_chunks())
    assert len(index.ids("team-b")) == 2

    assert index.delete_source("pets.md", "team-a") == 1
    assert index.delete_source("pets.md", "team-a") == 0
    assert index.sources("team-a") == ["parking.md"]
    assert index.sources("team-b") == ["pets.md"]  # the same file in another space is kept
