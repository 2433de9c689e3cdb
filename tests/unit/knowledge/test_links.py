"""Links for citations: what documents declare, what --base-url derives, and that they reach
the stored chunks and search results (real Chroma)."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.embeddings import get_embedder
from knowledge.index import KnowledgeIndex
from knowledge.ingest import ingest_paths
from knowledge.lexical import LexicalIndex
from knowledge.links import declared_url, joined_url
from knowledge.loaders import load_document
from knowledge.retrieval import Retriever
from observe.errors import ConfigError


@pytest.mark.parametrize(
    ("kind", "text", "url"),
    [
        (
            "html",
            '<head><link rel="canonical" href="https://x.org/a.html"></head>',
            "https://x.org/a.html",
        ),
        (
            "html",
            "<meta property='og:url' content='https://x.org/b?q=1&amp;r=2'>",
            "https://x.org/b?q=1&r=2",
        ),
        ("html", '<link rel="canonical" href="javascript:alert(1)">', ""),
        (
            "markdown",
            "---\ntitle: VPN\nurl: https://wiki.example.com/vpn\n---\n# VPN\n",
            "https://wiki.example.com/vpn",
        ),
        ("text", "---\nsource_url: 'https://e.com/t.txt'\n---\nbody", "https://e.com/t.txt"),
        ("markdown", "# VPN\n\nurl: https://not-front-matter.example.com\n", ""),
        ("markdown", "---\nurl: ftp://files.example.com/x\n---\n", ""),
    ],
)
def test_declared_urls(kind: str, text: str, url: str) -> None:
    assert declared_url(kind, text) == url


def test_joined_urls_encode_the_path_and_need_an_http_base() -> None:
    assert joined_url("https://docs.example.com/h/", "ops/run book.md") == (
        "https://docs.example.com/h/ops/run%20book.md"
    )
    assert joined_url("docs.example.com", "a.md") == ""


def test_a_loaded_document_carries_its_declared_url(tmp_path: Path) -> None:
    page = tmp_path / "vpn.html"
    page.write_text(
        '<html><head><title>VPN</title><link rel="canonical" href="https://wiki.example.com/vpn">'
        "</head><body><h1>Reset</h1><p>Click reset.</p></body></html>"
    )
    assert load_document(page).url == "https://wiki.example.com/vpn"


def test_search_results_carry_declared_or_derived_links(tmp_path: Path) -> None:
    docs = tmp_path / "handbook"
    (docs / "ops").mkdir(parents=True)
    (docs / "ops" / "deploys.md").write_text("# Deploys\n\n## Rollback\n\nRun deploy rollback.\n")
    (docs / "vpn.md").write_text(
        "---\nurl: https://wiki.example.com/vpn\n---\n# VPN\n\n## Reset\n\nOpen the VPN portal.\n"
    )
    index = KnowledgeIndex(get_embedder(), path=tmp_path / "chroma", collection="links-test")
    with pytest.raises(ConfigError, match="base-url"):
        ingest_paths(index, [docs], progress=False, base_url="docs.example.com")
    ingest_paths(index, [docs], progress=False, base_url="https://docs.example.com/handbook/")
    retriever = Retriever(index, LexicalIndex.from_store(index))
    rollback = retriever.search("how do I roll back a deploy", k=1)[0]
    assert rollback.url == "https://docs.example.com/handbook/ops/deploys.md"
    vpn = retriever.search("how do I reset the VPN", k=1)[0]
    assert vpn.url == "https://wiki.example.com/vpn", "a declared address wins over the base"
    report = ingest_paths(index, [docs], progress=False)
    assert report.files_unchanged == 0, "dropping the base URL refreshes the documents' links"
    retriever.refresh()
    assert retriever.search("how do I roll back a deploy", k=1)[0].url == ""


def test_front_matter_names_and_links_the_document_and_is_not_indexed(tmp_path: Path) -> None:
    page = tmp_path / "vpn.md"
    page.write_text(
        "---\ntitle: VPN guide\nurl: https://wiki.example.com/vpn\n---\n"
        "# VPN\n\n## Reset\n\nOpen it.\n"
    )
    document = load_document(page)
    assert document.title == "VPN guide" and document.url == "https://wiki.example.com/vpn"
    assert all("wiki.example.com" not in s.text for s in document.sections)
    broken = tmp_path / "broken.md"
    broken.write_text("---\n: [not yaml\n---\n# X\n\ntext\n")
    assert load_document(broken).url == "", "bad front matter is kept as text, nothing lost"
