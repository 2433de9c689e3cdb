"""Chunking: token budgets, structure (code, tables, paragraphs) kept whole, overlap, huge lines,
stable ids and the contextual header."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from knowledge.chunking import (
    Chunk,
    ChunkSettings,
    chunk_document,
    chunk_id,
    chunk_sections,
    split_text,
)
from knowledge.loaders import Section, load_document
from knowledge.tokens import TokenCounter, get_token_counter

PYDOCS = Path("/work/shared/datasets/python-docs")


@pytest.fixture(scope="module")
def counter() -> TokenCounter:
    return get_token_counter("minilm")


def _para(word: str, n: int) -> str:
    return " ".join([word] * n) + "."


def _squash(text: str) -> str:
    return " ".join(text.split())


def test_budget_and_paragraph_boundaries(counter: TokenCounter) -> None:
    paragraphs = [_para(f"w{i}", 30) for i in range(10)]
    pieces = split_text("\n\n".join(paragraphs), 150, counter, overlap_tokens=0)
    assert len(pieces) > 1
    assert all(counter.count(p) <= 150 for p in pieces)
    for para in paragraphs:  # every paragraph survives intact inside exactly one piece
        assert sum(para in p for p in pieces) == 1
    assert "\n\n".join(pieces) == "\n\n".join(paragraphs)


def test_a_section_that_fits_is_one_chunk(counter: TokenCounter) -> None:
    text = "\n\n".join(_para(f"w{i}", 15) for i in range(5))
    assert 150 < counter.count(text) <= 200
    assert split_text(text, 200, counter) == [text]


def test_fenced_code_block_is_kept_whole(counter: TokenCounter) -> None:
    code = "```python\n" + "\n\n".join(f"x{i} = compute({i})  # step" for i in range(12)) + "\n```"
    text = _para("intro", 60) + "\n\n" + code + "\n\n" + _para("outro", 20)
    pieces = split_text(text, 120, counter)
    assert counter.count(code) <= 120
    assert sum(code in p for p in pieces) == 1


def test_oversized_fenced_code_is_cut_on_lines_and_refenced(counter: TokenCounter) -> None:
    lines = [f"value_{i} = function_call({i}, other={i * 2})" for i in range(60)]
    code = "```python\n" + "\n".join(lines) + "\n```"
    pieces = split_text("Set the values:\n\n" + code, 120, counter)
    assert len(pieces) > 2
    assert pieces[0].startswith("Set the values:\n\n```python\nvalue_0 = ")
    for piece in pieces:
        assert counter.count(piece) <= 120
        body = piece.split("```python\n", 1)[1]
        assert body.endswith("\n```")
        assert all(line in lines for line in body[: -len("\n```")].split("\n"))
    inner = [p.split("```python\n", 1)[1][: -len("\n```")] for p in pieces]
    assert "\n".join(inner).split("\n") == lines


def test_rst_literal_block_stays_with_its_introduction(counter: TokenCounter) -> None:
    text = (
        _para("filler", 100)
        + "\n\nFor example::\n\n    for key in sorted(d):\n        print(key)\n"
        + "\n    done()\n\nAfter."
    )
    pieces = split_text(text, 80, counter)
    assert any("For example::" in p and "print(key)" in p and "done()" in p for p in pieces), pieces


@pytest.mark.parametrize(
    "table",
    [
        "| name | value |\n|---|---|\n| a | 1 |\n| b | 2 |",
        "+------+-------+\n| name | value |\n+======+=======+\n| a    | 1     |\n+------+-------+",
        "=====  =====\nname   value\n=====  =====\na      1\n\nb      2\n=====  =====",
    ],
    ids=["markdown", "rst-grid", "rst-simple-with-blank-line"],
)
def test_tables_are_kept_whole(counter: TokenCounter, table: str) -> None:
    text = _para("before", 70) + "\n\n" + table + "\n\n" + _para("after", 70)
    pieces = split_text(text, 100, counter)
    assert sum(table in p for p in pieces) == 1, pieces


def test_oversized_table_is_cut_on_rows_with_the_header_repeated(counter: TokenCounter) -> None:
    rows = [f"| key{i} | some value {i} |" for i in range(40)]
    table = "| name | value |\n|---|---|\n" + "\n".join(rows)
    pieces = split_text(table, 100, counter)
    assert len(pieces) > 1
    for piece in pieces:
        assert counter.count(piece) <= 100
        assert piece.startswith("| name | value |\n|---|---|\n| key")
    assert [row for p in pieces for row in p.split("\n")[2:]] == rows


def test_oversized_paragraph_is_cut_on_sentences_with_overlap(counter: TokenCounter) -> None:
    sentences = [f"Sentence number {i} talks about topic {i}." for i in range(60)]
    pieces = split_text(" ".join(sentences), 100, counter, overlap_tokens=30)
    assert len(pieces) > 2
    assert all(counter.count(p) <= 100 for p in pieces)
    for before, after in zip(pieces, pieces[1:], strict=False):
        last = re.findall(r"Sentence number \d+ talks about topic \d+\.", before)[-1]
        assert after.startswith(re.findall(r"Sentence number \d+", after)[0])
        assert last in after  # the previous chunk's last sentence opens the next one
        assert counter.count(after.split(last)[0] + last) <= 30
    covered = {s for p in pieces for s in sentences if s in p}
    assert covered == set(sentences)


@pytest.mark.parametrize(
    "line",
    [
        " ".join(f"word{i}" for i in range(10_000))[:50_000],
        "x" * 50_000,
        ("ab," * 20_000)[:50_000],
    ],
    ids=["words", "one-50k-word", "punctuation"],
)
def test_a_50000_character_line(counter: TokenCounter, line: str) -> None:
    assert len(line) == 50_000
    pieces = split_text(line, 200, counter)
    assert len(pieces) > 1
    assert all(counter.count(p) <= 200 and len(p) <= 2000 for p in pieces)
    assert "".join(pieces).replace(" ", "") == line.replace(" ", "")


def test_empty_and_blank_text_give_no_chunks(counter: TokenCounter) -> None:
    assert split_text("", 200, counter) == []
    assert split_text("\n\n   \n", 200, counter) == []
    assert chunk_sections([], source="e.md") == []


def test_chunks_carry_title_heading_path_and_contextual_header() -> None:
    sections = [
        Section(("Install",), "Run the installer.", 1),
        Section(("Install", "Linux"), "Use the package.", 5),
    ]
    chunks = chunk_sections(sections, source="g.md", scope="team-a", title="Guide")
    assert [c.heading for c in chunks] == ["Install", "Install > Linux"]
    assert [c.position for c in chunks] == [0, 1]
    assert all(c.title == "Guide" and c.scope == "team-a" and c.source == "g.md" for c in chunks)
    assert chunks[1].embed_text == "Guide > Install > Linux\n\nUse the package."
    assert chunks[1].text == "Use the package."
    # A heading path that already starts with the title does not repeat it.
    titled = chunk_sections([Section(("Guide", "Usage"), "Open it.", 1)], source="g", title="Guide")
    assert titled[0].embed_text == "Guide > Usage\n\nOpen it."
    assert Chunk("i", "body", "s", "", "default", 0).embed_text == "body"


def test_ids_are_stable_and_content_addressed() -> None:
    document = load_document(PYDOCS / "faq" / "design.rst.txt")
    first = chunk_document(document, source="faq/design.rst.txt")
    again = chunk_document(load_document(PYDOCS / "faq" / "design.rst.txt"), source=first[0].source)
    assert [c.id for c in first] == [c.id for c in again]
    assert len({c.id for c in first}) == len(first)
    assert all(len(c.id) == 32 and int(c.id, 16) >= 0 for c in first)
    c = first[3]
    assert c.id == chunk_id(c.scope, c.source, c.heading, c.text, c.title)
    assert chunk_id("other", c.source, c.heading, c.text, c.title) != c.id
    assert chunk_id(c.scope, "faq/x.rst.txt", c.heading, c.text, c.title) != c.id
    assert chunk_id(c.scope, c.source, c.heading, c.text + " ", c.title) != c.id
    assert chunk_id(c.scope, c.source, c.heading, c.text, "Other title") != c.id


def test_real_faq_sections_stay_whole_or_are_cut_to_the_model_window(
    counter: TokenCounter,
) -> None:
    document = load_document(PYDOCS / "faq" / "programming.rst.txt")
    chunks = chunk_document(document, source="faq/programming.rst.txt", counter=counter)
    assert len(chunks) > 50
    assert all(c.title == "Programming FAQ" for c in chunks)
    assert all(c.heading.startswith("Programming FAQ > ") for c in chunks)
    per_heading: dict[str, int] = {}
    for c in chunks:
        per_heading[c.heading] = per_heading.get(c.heading, 0) + 1
    for c, embedded, body in zip(
        chunks,
        counter.count_many([c.embed_text for c in chunks]),
        counter.count_many([c.text for c in chunks]),
        strict=True,
    ):
        if per_heading[c.heading] > 1:  # a piece of a long section: nothing past the window
            assert embedded <= counter.window - 2, c.heading
        else:  # a whole section
            assert body <= ChunkSettings().section_tokens, c.heading
    # A question whose answer fits is one chunk: its whole body, nothing else.
    heading = "Programming FAQ > Core Language > How do I share global variables across modules?"
    answers = [c for c in chunks if c.heading == heading]
    assert len(answers) == 1 and "config.py" in answers[0].text and "main.py" in answers[0].text


def test_section_tokens_keep_a_mid_sized_section_whole(counter: TokenCounter) -> None:
    text = "\n\n".join(_para(f"w{i}", 30) for i in range(6))
    assert 200 < counter.count(text) <= 400
    sections = [Section(("Guide",), text, 1)]
    assert len(chunk_sections(sections, source="g.md")) == 1
    cut = chunk_sections(sections, source="g.md", settings=ChunkSettings(section_tokens=0))
    assert len(cut) == 2


def test_duplicates_dropped_and_settings_validated() -> None:
    sections = [Section(("A",), "same text", 1), Section(("A",), "same text", 9)]
    assert len(chunk_sections(sections, source="a.md")) == 1
    with pytest.raises(ValueError, match="max_tokens"):
        ChunkSettings(max_tokens=10)
    with pytest.raises(ValueError, match="overlap_tokens"):
        ChunkSettings(max_tokens=100, overlap_tokens=80)
    assert ChunkSettings().key != ChunkSettings(section_tokens=0).key


def test_token_counter_cut_and_proxy() -> None:
    proxy = TokenCounter(None)
    assert proxy.count("abcdefgh") == 2 and proxy.count("") == 0
    assert proxy.cut("aaaa bbbb cccc dddd", 2) == ["aaaa", "bbbb", "cccc", "dddd"]
    with pytest.raises(ValueError):
        proxy.cut("x", 0)


def test_oversized_grid_table_is_cut_between_rows(counter: TokenCounter) -> None:
    border = "+--------+------------------+"
    rows = [f"| key{i:<3} | some value {i:<5} |\n{border}" for i in range(30)]
    table = f"{border}\n| name   | value            |\n{border.replace('-', '=')}\n" + "\n".join(
        rows
    )
    pieces = split_text(table, 100, counter)
    assert len(pieces) > 1
    for piece in pieces:
        assert counter.count(piece) <= 100
        lines = piece.split("\n")
        assert lines[1] == "| name   | value            |" and lines[-1] == border
    assert sum(p.count("| key") for p in pieces) == 30
