"""ingest_paths end to end: real files, real Chroma on disk, real MiniLM embeddings."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from knowledge.embeddings import Embedder, get_embedder
from knowledge.index import KnowledgeIndex
from knowledge.ingest import collect_files, ingest_paths
from observe.errors import IngestError

DOCS = Path(__file__).resolve().parents[2] / "data" / "docs" / "handbook"
FAQ = Path("/work/shared/datasets/python-docs/faq")


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return get_embedder()


@pytest.fixture
def handbook(tmp_path: Path) -> Path:
    root = tmp_path / "handbook"
    shutil.copytree(DOCS, root)
    return root


@pytest.fixture
def index(tmp_path: Path, embedder: Embedder) -> KnowledgeIndex:
    return KnowledgeIndex(embedder, path=tmp_path / "chroma")


def test_source_names_and_walk_order(handbook: Path) -> None:
    (handbook / ".git").mkdir()
    (handbook / ".git" / "HEAD.md").write_text("# hidden")
    (handbook / "sub").mkdir()
    (handbook / "sub" / "extra.rst.txt").write_text("Extra\n=====\n\ntext\n")
    (handbook / "photo.jpg").write_bytes(b"\xff\xd8")
    found = collect_files([handbook, handbook / "vpn.md"])
    assert [source for _, source in found] == [
        "handbook/expenses.rst",
        "handbook/holidays.txt",
        "handbook/laptop.html",
        "handbook/sub/extra.rst.txt",
        "handbook/vpn.md",
        "vpn.md",
    ]


def test_ingest_then_search_finds_the_right_document(handbook: Path, index: KnowledgeIndex) -> None:
    report = ingest_paths(index, [handbook], progress=False)
    assert report.files_seen == 4 and report.files_ingested == 4
    assert report.skipped == []
    assert report.chunks_added == index.count() > 4
    assert index.sources() == [
        "handbook/expenses.rst",
        "handbook/holidays.txt",
        "handbook/laptop.html",
        "handbook/vpn.md",
    ]
    expectations = {
        "How much can I spend on dinner during a business trip?": "handbook/expenses.rst",
        "my wireguard tunnel does not connect": "handbook/vpn.md",
        "where do I get a new charger for my laptop": "handbook/laptop.html",
        "how many vacation days do I get per year": "handbook/holidays.txt",
    }
    for question, source in expectations.items():
        assert index.search(question, k=3)[0].source == source, question
    top = index.search("How much can I spend on dinner during a business trip?", k=1)[0]
    assert top.heading == "Expense Policy > Travel > Meals while travelling"


def test_reingest_unchanged_adds_nothing_and_edits_replace_chunks(
    handbook: Path, index: KnowledgeIndex
) -> None:
    first = ingest_paths(index, [handbook], progress=False)
    total = index.count()
    again = ingest_paths(index, [handbook], progress=False)
    assert (again.chunks_added, again.chunks_removed) == (0, 0)
    assert again.chunks_unchanged == first.chunks_added == total

    vpn = handbook / "vpn.md"
    vpn.write_text(
        vpn.read_text().replace("rotated every 90 days", "rotated every 30 days"),
        encoding="utf-8",
    )
    edited = ingest_paths(index, [handbook], progress=False)
    assert edited.chunks_added == 1 and edited.chunks_removed == 1
    assert index.count() == total
    hit = index.search("how often are VPN profiles rotated", k=1)[0]
    assert "30 days" in hit.text and "90 days" not in hit.text


def test_broken_document_is_skipped_and_the_rest_ingested(
    handbook: Path, index: KnowledgeIndex
) -> None:
    (handbook / "diagram.md").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00binary")
    report = ingest_paths(index, [handbook], progress=False)
    assert report.files_seen == 5 and report.files_ingested == 4
    assert len(report.skipped) == 1
    source, reason = report.skipped[0]
    assert source == "handbook/diagram.md" and "binary file" in reason
    assert "handbook/diagram.md" not in index.sources()
    assert len(index.sources()) == 4


def test_missing_path_fails_before_any_work(handbook: Path, index: KnowledgeIndex) -> None:
    with pytest.raises(IngestError, match="no such file or directory: .*nope"):
        ingest_paths(index, [handbook, handbook / "nope"], progress=False)
    assert index.count() == 0


def test_file_argument_and_scopes(handbook: Path, index: KnowledgeIndex) -> None:
    ingest_paths(index, [handbook / "vpn.md"], scope="it", progress=False)
    ingest_paths(index, [handbook / "expenses.rst"], scope="finance", progress=False)
    assert index.sources() == ["expenses.rst", "vpn.md"]
    question = "How do I connect to the VPN?"
    assert {h.source for h in index.search(question, k=10, scope="finance")} == {"expenses.rst"}
    assert index.search(question, k=1, scope="it")[0].source == "vpn.md"


def test_progress_bar_reports_files(
    handbook: Path, index: KnowledgeIndex, capsys: pytest.CaptureFixture[str]
) -> None:
    report = ingest_paths(index, [handbook], progress=True)
    assert report.files_ingested == 4
    assert "4/4" in capsys.readouterr().err


def test_real_python_faq(index: KnowledgeIndex) -> None:
    started = time.perf_counter()
    report = ingest_paths(index, [FAQ], progress=False)
    elapsed = time.perf_counter() - started
    assert report.files_seen == 9 and report.files_ingested == 9 and not report.skipped
    assert all(source.startswith("faq/") for source in index.sources())
    assert "faq/programming.rst.txt" in index.sources()
    hits = index.search("How do I iterate over a dict in sorted order?", k=5)
    assert hits[0].source.startswith("faq/")
    assert any("sorted(" in h.text for h in hits)
    # ~35 CPU-seconds (≈20 s on an idle 2-core machine); the bound only catches a regression
    # such as embedding chunk by chunk, with room for a busy machine.
    assert elapsed < 90, f"ingesting the FAQ took {elapsed:.1f}s"
