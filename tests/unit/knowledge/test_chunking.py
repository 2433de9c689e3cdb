"""Chunking: size limits, paragraph breaks, whole code blocks, stable ids, contextual headers."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.chunking import Chunk, chunk_id, chunk_sections, split_text
from knowledge.loaders import Section, load_document

PYDOCS = Path("/work/shared/datasets/python-docs")


def _para(word: str, n: int) -> str:
    return " ".join([word] * n) + "."


def test_respects_max_chars_and_paragraph_boundaries() -> None:
    paragraphs = [_para(f"w{i}", 40) for i in range(10)]  # ~120 chars each
    text = "\n\n".join(paragraphs)
    pieces = split_text(text, 500)
    assert len(pieces) > 1
    assert all(len(p) <= 500 for p in pieces)
    # Every paragraph survives intact inside exactly one piece.
    for para in paragraphs:
        assert sum(para in p for p in pieces) == 1
    assert "\n\n".join(pieces) == text


def test_code_block_is_kept_whole() -> None:
    code = "```python\n" + "\n\n".join(f"x{i} = {i}  # line" for i in range(20)) + "\n```"
    text = _para("intro", 60) + "\n\n" + code + "\n\n" + _para("outro", 20)
    pieces = split_text(text, 600)
    assert len(code) < 600
    assert sum(code in p for p in pieces) == 1


def test_rst_literal_block_stays_with_its_introduction() -> None:
    text = (
        _para("filler", 100)
        + "\n\nFor example::\n\n    for key in sorted(d):\n        print(key)\n"
        + "\n    done()\n\nAfter."
    )
    pieces = split_text(text, 300)
    assert any("For example::" in p and "print(key)" in p and "done()" in p for p in pieces), pieces


def test_oversized_block_is_split_within_limit() -> None:
    text = " ".join(f"Sentence number {i} is here." for i in range(200))
    pieces = split_text(text, 400)
    assert all(len(p) <= 400 for p in pieces)
    assert " ".join(pieces) == text


def test_chunks_keep_heading_path_and_contextual_header() -> None:
    sections = [
        Section(("Guide", "Install"), "Run the installer.", 1),
        Section(("Guide", "Usage"), "Open the app.", 5),
    ]
    chunks = chunk_sections(sections, source="g.md", scope="team-a")
    assert [c.heading for c in chunks] == ["Guide > Install", "Guide > Usage"]
    assert [c.position for c in chunks] == [0, 1]
    assert chunks[0].embed_text == "Guide > Install\n\nRun the installer."
    assert chunks[0].text == "Run the installer."
    assert all(c.scope == "team-a" and c.source == "g.md" for c in chunks)


def test_ids_are_stable_and_content_addressed() -> None:
    path = PYDOCS / "faq" / "design.rst.txt"
    first = chunk_sections(load_document(path), source="faq/design.rst.txt")
    again = chunk_sections(load_document(path), source="faq/design.rst.txt")
    assert [c.id for c in first] == [c.id for c in again]
    assert len({c.id for c in first}) == len(first)
    assert all(len(c.id) == 32 and int(c.id, 16) >= 0 for c in first)
    c = first[3]
    assert c.id == chunk_id(c.scope, c.source, c.heading, c.text)
    assert chunk_id("other", c.source, c.heading, c.text) != c.id
    assert chunk_id(c.scope, "faq/x.rst.txt", c.heading, c.text) != c.id
    assert chunk_id(c.scope, c.source, c.heading, c.text + " ") != c.id


def test_real_faq_chunk_sizes() -> None:
    path = PYDOCS / "faq" / "programming.rst.txt"
    chunks = chunk_sections(load_document(path), source="faq/programming.rst.txt", max_chars=1000)
    assert len(chunks) > 50
    assert all(len(c.text) <= 1000 for c in chunks)
    assert all(isinstance(c, Chunk) and c.heading.startswith("Programming FAQ > ") for c in chunks)


def test_duplicate_passages_are_dropped_and_limit_validated() -> None:
    sections = [Section(("A",), "same text", 1), Section(("A",), "same text", 9)]
    assert len(chunk_sections(sections, source="a.md")) == 1
    with pytest.raises(ValueError, match="max_chars"):
        chunk_sections(sections, source="a.md", max_chars=10)
