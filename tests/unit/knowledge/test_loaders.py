"""Loaders: headings, titles and text for md / rst / html / txt / pdf, repaired encodings, and
clear errors for binary files and broken PDFs."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.loaders import SUPPORTED_SUFFIXES, decode_text, doc_kind, load_document
from knowledge.markup import parse_markdown, parse_rst
from observe.errors import IngestError

DOCS = Path(__file__).resolve().parents[2] / "data" / "docs" / "handbook"
PYDOCS = Path("/work/shared/datasets/python-docs")


def test_doc_kind_by_name() -> None:
    assert doc_kind(Path("faq/programming.rst.txt")) == "rst"
    assert doc_kind(Path("a/NOTES.TXT")) == "text"
    assert doc_kind(Path("x.md")) == "markdown"
    assert doc_kind(Path("x.htm")) == "html"
    assert doc_kind(Path("x.PDF")) == "pdf"
    assert doc_kind(Path("x.docx")) is None
    assert ".rst.txt" in SUPPORTED_SUFFIXES and ".pdf" in SUPPORTED_SUFFIXES


def test_markdown_headings_and_fences() -> None:
    document = load_document(DOCS / "vpn.md")
    assert document.title == "Remote Access" and document.kind == "markdown"
    sections = document.sections
    paths = [s.heading_path for s in sections]
    assert paths == [
        ("Remote Access",),
        ("Remote Access", "Connecting to the VPN"),
        ("Remote Access", "Troubleshooting"),
    ]
    vpn = sections[1]
    # The "# check the tunnel is up" comment inside the fence is code, not a heading.
    assert "# check the tunnel is up" in vpn.text and "wg show corp-vpn" in vpn.text
    assert vpn.start_line == 5
    assert sections[0].text.startswith("Everything about")


def test_markdown_setext_preamble_and_level_jumps() -> None:
    text = "intro line\n\nGuide\n=====\n\nbody a\n\n### Deep\n\nbody b\n\nOther\n-----\nbody c\n"
    sections = parse_markdown(text, title="notes")
    assert [(s.heading_path, s.text) for s in sections] == [
        (("notes",), "intro line"),
        (("Guide",), "body a"),
        (("Guide", "Deep"), "body b"),
        (("Guide", "Other"), "body c"),
    ]


def test_rst_levels_follow_first_appearance_of_style() -> None:
    sections = load_document(DOCS / "expenses.rst").sections
    assert [s.heading_path for s in sections] == [
        ("Expense Policy",),
        ("Expense Policy", "Travel"),
        ("Expense Policy", "Travel", "Meals while travelling"),
        ("Expense Policy", "Submitting a claim"),
    ]
    claim = sections[-1]
    assert "portal -> Expenses -> New claim" in claim.text
    assert claim.start_line == 19


def test_rst_overline_differs_from_underline_and_roles_simplified() -> None:
    text = (
        "####\nBook\n####\n\nChapter\n#######\n\nSee :func:`sorted` and :ref:`the guide <guide>`.\n"
        "\nPart\n****\n\ntext\n"
    )
    sections = parse_rst(text)
    # '#' with overline and '#' underline only are two different styles (levels 1 and 2).
    assert [s.heading_path for s in sections] == [
        ("Book", "Chapter"),
        ("Book", "Chapter", "Part"),
    ]
    assert sections[0].text == "See sorted and the guide."


def test_rst_real_python_faq() -> None:
    document = load_document(PYDOCS / "faq" / "programming.rst.txt")
    assert document.title == "Programming FAQ"
    sections = document.sections
    paths = {s.heading_path for s in sections}
    assert (
        "Programming FAQ",
        "Core Language",
        "Why am I getting an UnboundLocalError when the variable has a value?",
    ) in paths
    assert all(p[0] == "Programming FAQ" for p in paths)
    # Navigation-only markup is dropped.
    assert not any(".. contents::" in s.text or ":tocdepth:" in s.text for s in sections)


def test_html_headings_and_stripped_tags() -> None:
    document = load_document(DOCS / "laptop.html")
    sections = document.sections
    assert [s.heading_path for s in sections] == [
        ("New Laptop Setup",),
        ("New Laptop Setup", "First boot"),
        ("New Laptop Setup", "First boot", "Replacing a broken charger"),
    ]
    everything = "\n".join(s.text for s in sections)
    assert "tracking" not in everything and "color: red" not in everything
    assert "Home" not in everything  # nav dropped
    assert "```\nsudo fleetctl enroll --team engineering\n```" in sections[-1].text
    assert sections[0].text.startswith("Your laptop arrives with the operating system preinstalled")


def test_txt_is_one_section_titled_by_stem() -> None:
    document = load_document(DOCS / "holidays.txt")
    assert document.title == "holidays"
    sections = document.sections
    assert len(sections) == 1
    assert sections[0].heading_path == ("holidays",)
    assert "28 days" in sections[0].text


def test_binary_file_raises_with_reason(tmp_path: Path) -> None:
    blob = tmp_path / "image.md"
    blob.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    with pytest.raises(IngestError, match="binary file"):
        load_document(blob)


def test_undecodable_non_printable_raises(tmp_path: Path) -> None:
    junk = tmp_path / "junk.txt"
    junk.write_bytes(bytes(range(0x80, 0xA0)) * 20)
    with pytest.raises(IngestError, match="not a text file"):
        load_document(junk)


def test_latin1_text_and_utf8_bom_are_read(tmp_path: Path) -> None:
    latin = tmp_path / "cafe.txt"
    latin.write_bytes("Le café est ouvert à midi.".encode("latin-1"))
    document = load_document(latin)
    assert document.sections[0].text == "Le café est ouvert à midi."
    assert document.warnings == ["not UTF-8: read as cp1252"]
    bom = tmp_path / "bom.md"
    bom.write_bytes("\ufeff# Title\n\nbody\n".encode())
    assert load_document(bom).sections[0].heading_path == ("Title",)
    assert load_document(bom).warnings == []


def test_invalid_utf8_keeps_the_valid_text_and_says_so(tmp_path: Path) -> None:
    broken = tmp_path / "notes.md"
    broken.write_bytes("# Café\n\nNaïve résumé \u2014 ".encode() + b"\xff\xfe bad" + b" end\n")
    document = load_document(broken)
    assert document.title == "Café"
    assert document.sections[0].text == "Naïve résumé \u2014 \ufffd\ufffd bad end"
    assert document.warnings == ["invalid UTF-8: 2 byte sequence(s) replaced with U+FFFD"]
    text, warning = decode_text(b"plain ascii")
    assert (text, warning) == ("plain ascii", None)


def test_unsupported_and_empty(tmp_path: Path) -> None:
    other = tmp_path / "x.docx"
    other.write_text("PK")
    with pytest.raises(IngestError, match="unsupported file type"):
        load_document(other)
    empty = tmp_path / "empty.md"
    empty.write_text("\n\n")
    assert load_document(empty).sections == []
    assert load_document(empty).title == "empty"
    zero = tmp_path / "zero.txt"
    zero.write_bytes(b"")
    assert load_document(zero).sections == []


def test_titles_and_rst_roles_in_headings() -> None:
    text = ":mod:`os` --- Operating system\n==============================\n\nbody\n"
    assert parse_rst(text)[0].heading_path == ("os --- Operating system",)
    two_roots = "# One\n\na\n\n# Two\n\nb\n"
    assert [s.heading_path for s in parse_markdown(two_roots, title="f")] == [("One",), ("Two",)]


def test_markdown_with_two_top_headings_is_titled_by_file_name(tmp_path: Path) -> None:
    doc = tmp_path / "release-notes.md"
    doc.write_text("# 1.0\n\nfirst\n\n# 2.0\n\nsecond\n")
    assert load_document(doc).title == "release-notes"


def test_html_title_and_tables(tmp_path: Path) -> None:
    page = tmp_path / "limits.html"
    page.write_text(
        "<html><head><title>Quota &amp; limits</title></head><body><h1>Limits</h1>"
        "<p>Per team:</p><table><tr><th>resource</th><th>limit</th></tr>"
        "<tr><td>CPU</td><td>8 cores</td></tr><tr><td>disk | ssd</td><td>1 TB</td></tr></table>"
        "</body></html>"
    )
    document = load_document(page)
    assert document.title == "Quota & limits"
    assert document.sections[0].text == (
        "Per team:\n\n| resource | limit |\n|---|---|\n| CPU | 8 cores |\n| disk \\| ssd | 1 TB |"
    )
