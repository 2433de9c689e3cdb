"""ingest_paths end to end: real files, real Chroma on disk, real MiniLM embeddings; incremental
runs, pruning, per-file errors."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from knowledge import ingest
from knowledge.embeddings import Embedder, get_embedder
from knowledge.index import KnowledgeIndex
from knowledge.ingest import collect_files, ingest_paths
from knowledge.loaders import Document
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


def test_reingest_unchanged_skips_before_parsing_and_embedding(
    handbook: Path, index: KnowledgeIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = ingest_paths(index, [handbook], progress=False)
    total = index.count()
    ids = set(index.ids())

    def fail(*args: object, **kwargs: object) -> None:
        raise AssertionError("an unchanged document was parsed or embedded")

    monkeypatch.setattr(ingest, "load_document", fail)
    monkeypatch.setattr(index.embedder, "embed", fail)
    again = ingest_paths(index, [handbook], progress=False)
    assert (again.files_ingested, again.files_unchanged) == (0, 4)
    assert (again.chunks_added, again.chunks_removed) == (0, 0)
    assert again.chunks_unchanged == first.chunks_added == total
    assert set(index.ids()) == ids


def test_an_edit_replaces_exactly_the_changed_chunks(handbook: Path, index: KnowledgeIndex) -> None:
    ingest_paths(index, [handbook], progress=False)
    total = index.count()
    before = {c.id: c.text for c in index.iter_chunks() if c.source == "handbook/vpn.md"}
    vpn = handbook / "vpn.md"
    vpn.write_text(
        vpn.read_text().replace("rotated every 90 days", "rotated every 30 days"),
        encoding="utf-8",
    )
    edited = ingest_paths(index, [handbook], progress=False)
    assert (edited.files_ingested, edited.files_unchanged) == (1, 3)
    assert edited.chunks_added == 1 and edited.chunks_removed == 1
    after = {c.id: c.text for c in index.iter_chunks() if c.source == "handbook/vpn.md"}
    gone, new = set(before) - set(after), set(after) - set(before)
    assert len(gone) == 1 and "90 days" in before[gone.pop()]
    assert len(new) == 1 and "30 days" in after[new.pop()]
    assert index.count() == total
    hit = index.search("how often are VPN profiles rotated", k=1)[0]
    assert "30 days" in hit.text and "90 days" not in hit.text


def test_prune_removes_deleted_files_only_under_the_root_and_space(
    handbook: Path, tmp_path: Path, index: KnowledgeIndex
) -> None:
    other = tmp_path / "other"
    other.mkdir()
    (other / "wifi.md").write_text("# Wifi\n\nThe guest network password is on the fridge.\n")
    ingest_paths(index, [handbook, other], scope="it", progress=False)
    ingest_paths(index, [handbook], scope="hr", progress=False)
    (handbook / "vpn.md").unlink()
    (other / "wifi.md").unlink()

    kept = ingest_paths(index, [handbook], scope="it", progress=False)
    assert kept.files_pruned == 0 and "handbook/vpn.md" in index.sources("it")

    pruned = ingest_paths(index, [handbook], scope="it", progress=False, prune=True)
    assert pruned.files_pruned == 1 and pruned.pruned == ["handbook/vpn.md"]
    assert pruned.chunks_removed > 0 and pruned.files_unchanged == 3
    assert "handbook/vpn.md" not in index.sources("it")
    assert "other/wifi.md" in index.sources("it")  # another root: untouched
    assert "handbook/vpn.md" in index.sources("hr")  # another space: untouched


def test_per_file_errors_are_reported_and_the_batch_goes_on(
    handbook: Path, index: KnowledgeIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    (handbook / "diagram.md").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00binary")
    (handbook / "junk.txt").write_bytes(bytes(range(0x80, 0xA0)) * 20)
    (handbook / "scan.pdf").write_bytes(b"%PDF-1.4\n1 0 obj garbage\n%%EOF")
    (handbook / "empty.md").write_text("")
    (handbook / "cafe.txt").write_bytes("Le café ouvre à midi.".encode("latin-1"))
    (handbook / "mixed.md").write_bytes("# Menu\n\nCrème brûlée ".encode() + b"\xff today.")
    (handbook / "crash.md").write_text("# Crash\n\nthis one trips the parser")
    real_load = ingest.load_document

    def flaky_load(path: Path, data: bytes | None = None) -> Document:
        if path.name == "crash.md":
            raise RecursionError("maximum recursion depth exceeded")
        return real_load(path, data)

    monkeypatch.setattr(ingest, "load_document", flaky_load)
    report = ingest_paths(index, [handbook], progress=False)
    assert report.files_seen == 11 and report.files_ingested == 6
    reasons = dict(report.skipped)
    assert set(reasons) == {
        "handbook/diagram.md",
        "handbook/junk.txt",
        "handbook/scan.pdf",
        "handbook/empty.md",
        "handbook/crash.md",
    }
    assert "binary file" in reasons["handbook/diagram.md"]
    assert "not a text file" in reasons["handbook/junk.txt"]
    assert "broken PDF" in reasons["handbook/scan.pdf"]
    assert "no text" in reasons["handbook/empty.md"]
    assert reasons["handbook/crash.md"].startswith("unexpected RecursionError")
    assert dict(report.warnings) == {
        "handbook/cafe.txt": "not UTF-8: read as cp1252",
        "handbook/mixed.md": "invalid UTF-8: 1 byte sequence(s) replaced with U+FFFD",
    }
    assert len(index.sources()) == 6
    assert "brûlée" in index.search("crème brûlée on the menu", k=1)[0].text


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
    assert report.seconds > 0 and report.chunks_per_second > 0
    data = report.to_dict()
    assert data["chunks_added"] == report.chunks_added and data["skipped"] == []


def test_real_python_faq(index: KnowledgeIndex) -> None:
    started = time.perf_counter()
    report = ingest_paths(index, [FAQ], progress=False)
    elapsed = time.perf_counter() - started
    assert report.files_seen == 9 and report.files_ingested == 8
    assert report.skipped == [("faq/index.rst.txt", "no text to index (empty document)")]
    assert all(source.startswith("faq/") for source in index.sources())
    assert "faq/programming.rst.txt" in index.sources()
    hits = index.search("How do I iterate over a dict in sorted order?", k=5)
    assert hits[0].source.startswith("faq/")
    assert any("sorted(" in h.text for h in hits)
    # ~35 CPU-seconds (≈20 s on an idle 2-core machine); the bound only catches a regression
    # such as embedding chunk by chunk, with room for a busy machine.
    assert elapsed < 90, f"ingesting the FAQ took {elapsed:.1f}s"
