"""PDF documents: text per page through pypdf, titles, and clear errors for broken or locked files.

The PDFs are written by the test with pypdf itself (a Helvetica text page), so no binary fixture
is checked in.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from pypdf import PdfWriter
from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

from knowledge.embeddings import get_embedder
from knowledge.index import KnowledgeIndex
from knowledge.ingest import ingest_paths
from knowledge.loaders import load_document
from observe.errors import IngestError


def make_pdf(
    pages: list[list[str]], title: str | None = None, password: str | None = None
) -> bytes:
    """A PDF with one line of Helvetica text per string, page by page."""
    writer = PdfWriter()
    font = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject("/Helvetica"),
        }
    )
    for lines in pages:
        page = writer.add_blank_page(612, 792)
        page[NameObject("/Resources")] = DictionaryObject(
            {NameObject("/Font"): DictionaryObject({NameObject("/F1"): font})}
        )
        ops = ["BT", "/F1 12 Tf", "14 TL", "72 720 Td"]
        for line in lines:
            escaped = line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
            ops.append(f"({escaped}) Tj T*")
        ops.append("ET")
        stream = DecodedStreamObject()
        stream.set_data("\n".join(ops).encode("latin-1"))
        page.replace_contents(stream)
    if title:
        writer.add_metadata({"/Title": title})
    if password:
        writer.encrypt(password)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


BADGES = [
    ["Visitor badges are printed at reception.", "Bring a photo ID."],
    ["", "A lost badge costs 10 euros to replace."],
]


def test_pdf_text_per_page_and_metadata_title(tmp_path: Path) -> None:
    path = tmp_path / "badges.pdf"
    path.write_bytes(make_pdf(BADGES, title="Badge policy"))
    document = load_document(path)
    assert document.kind == "pdf" and document.title == "Badge policy"
    [section] = document.sections
    assert section.heading_path == ("Badge policy",)
    assert section.text == (
        "Visitor badges are printed at reception.\nBring a photo ID.\n\n"
        "A lost badge costs 10 euros to replace."
    )


def test_pdf_without_title_or_text(tmp_path: Path) -> None:
    path = tmp_path / "scan-2024.pdf"
    path.write_bytes(make_pdf([["Only text."]]))
    assert load_document(path).title == "scan-2024"
    blank = tmp_path / "blank.pdf"
    blank.write_bytes(make_pdf([[]]))
    assert load_document(blank).sections == []


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"%PDF-1.7\n1 0 obj << /Type /Catalog", "broken PDF"),
        (b"just some text pretending", "not a PDF"),
        (make_pdf([["secret"]], password="hunter2"), "encrypted PDF"),
    ],
    ids=["truncated", "no-header", "encrypted"],
)
def test_unreadable_pdfs_raise_with_a_reason(tmp_path: Path, data: bytes, reason: str) -> None:
    path = tmp_path / "bad.pdf"
    path.write_bytes(data)
    with pytest.raises(IngestError, match=reason):
        load_document(path)


def test_pdf_is_ingested_and_searchable(tmp_path: Path) -> None:
    docs = tmp_path / "policies"
    docs.mkdir()
    (docs / "badges.pdf").write_bytes(make_pdf(BADGES, title="Badge policy"))
    index = KnowledgeIndex(get_embedder(), path=tmp_path / "chroma")
    report = ingest_paths(index, [docs], scope="facilities", progress=False)
    assert report.files_ingested == 1 and not report.skipped
    hit = index.search("how much is a replacement badge", k=1, scope="facilities")[0]
    assert hit.source == "policies/badges.pdf" and hit.title == "Badge policy"
    assert "10 euros" in hit.text
