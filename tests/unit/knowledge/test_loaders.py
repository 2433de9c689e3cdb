"""Loaders: headings and text for md / rst / html / txt, and clear errors for non-text files."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.loaders import (
    SUPPORTED_SUFFIXES,
    doc_kind,
    load_document,
    parse_markdown,
    parse_rst,
)
from observe.errors import IngestError

DOCS = Path(__file__).resolve().parents[2] / "data" / "docs" / "handbook"
PYDOCS = Path("/work/shared/datasets/python-docs")


def test_doc_kind_by_name() -> None:
    assert doc_kind(Path("faq/programming.rst.txt")) == "rst"
    assert doc_kind(Path("a/NOTES.TXT")) == "text"
    assert doc_kind(Path("x.md")) == "markdown"
    assert doc_kind(Path("x.htm")) == "html"
    assert doc_kind(Path("x.pdf")) is None
    assert ".rst.txt" in SUPPORTED_SUFFIXES and ".md" in SUPPORTED_SUFFIXES


def test_markdown_headings_and_fences() -> None:
    sections = load_document(DOCS / "vpn.md")
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
    sections = load_document(DOCS / "expenses.rst")
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
    sections = load_document(PYDOCS / "faq" / "programming.rst.txt")
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
    sections = load_document(DOCS / "laptop.html")
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
    sections = load_document(DOCS / "holidays.txt")
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
    assert load_document(latin)[0].text == "Le café est ouvert à midi."
    bom = tmp_path / "bom.md"
    bom.write_bytes("\ufeff# Title\n\nbody\n".encode())
    assert load_document(bom)[0].heading_path == ("Title",)


def test_unsupported_and_empty(tmp_path: Path) -> None:
    other = tmp_path / "x.pdf"
    other.write_text("%PDF")
    with pytest.raises(IngestError, match="unsupported file type"):
        load_document(other)
    empty = tmp_path / "empty.md"
    empty.write_text("\n\n")
    assert load_document(empty) == []
