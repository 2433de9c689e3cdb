"""Markup parsers: Markdown, reStructuredText and HTML text into heading-scoped sections.

Contract: each parser returns the document's non-empty ``Section``s in reading order, each
carrying the path of headings above it (outermost first); text before the first heading gets
the path ``(title,)``. Code (fences, literal blocks, ``<pre>``) never produces headings, and
tables stay contiguous blocks (HTML tables become pipe tables).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bs4 import Tag


@dataclass(frozen=True)
class Section:
    """A run of text under one heading path; ``start_line`` is 1-based where known."""

    heading_path: tuple[str, ...]
    text: str
    start_line: int | None


class _Builder:
    """Accumulates lines into sections while headings arrive."""

    def __init__(self, title: str) -> None:
        self.title = title
        self.stack: list[str] = []
        self.lines: list[str] = []
        self.start: int | None = 1
        self.sections: list[Section] = []

    def heading(self, level: int, text: str, line: int | None) -> None:
        self.flush()
        del self.stack[level - 1 :]
        self.stack.append(text)
        self.start = line

    def add(self, line: str) -> None:
        self.lines.append(line)

    def flush(self) -> None:
        body = _tidy("\n".join(self.lines))
        if body:
            path = tuple(self.stack) if self.stack else (self.title,)
            self.sections.append(Section(path, body, self.start))
        self.lines = []

    def finish(self) -> list[Section]:
        self.flush()
        return self.sections


def _tidy(text: str) -> str:
    """Strip trailing spaces and collapse runs of blank lines."""
    lines = [line.rstrip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n")


# --- Markdown -----------------------------------------------------------------------------------

_ATX = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")


def parse_markdown(text: str, *, title: str = "") -> list[Section]:
    """Split Markdown on ATX (``#``) and setext headings, ignoring lines inside code fences."""
    builder = _Builder(title)
    lines = text.split("\n")
    fence: str | None = None
    i = 0
    while i < len(lines):
        line = lines[i]
        fence_match = _FENCE.match(line)
        if fence is not None:
            if (
                fence_match
                and fence_match.group(1)[0] == fence[0]
                and len(fence_match.group(1)) >= len(fence)
            ):
                fence = None
            builder.add(line)
        elif fence_match:
            fence = fence_match.group(1)
            builder.add(line)
        elif (atx := _ATX.match(line)) and (atx.group(2) or "").strip():
            builder.heading(len(atx.group(1)), (atx.group(2) or "").strip(), i + 1)
        elif (
            line.strip()
            and not line.startswith((" ", "\t"))
            and i + 1 < len(lines)
            and (setext := _SETEXT.match(lines[i + 1]))
            and (i == 0 or not lines[i - 1].strip())
        ):
            builder.heading(1 if setext.group(1)[0] == "=" else 2, line.strip(), i + 1)
            i += 1
        else:
            builder.add(line)
        i += 1
    return builder.finish()


# --- reStructuredText -----------------------------------------------------------------------------

_ADORNMENT_CHARS = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"
_ROLE_WITH_TARGET = re.compile(r":[\w.:+-]+:`([^`<]*?)\s*<[^`>]*>`")
_ROLE = re.compile(r":[\w.:+-]+:`[~!]?([^`]*)`")
_LINK = re.compile(r"(?<!`)`([^`<]+?)\s*<([^`>]+)>`__?")
_LINK_REF = re.compile(r"(?<!`)`([^`<]+)`__?")
_DROP_DIRECTIVES = re.compile(
    r"^(\s*)\.\. (index|contents|toctree|highlight|sectionauthor|meta|only|tabularcolumns)::"
)
_KEEP_BODY_DIRECTIVES = ("only",)
_DROP_FIELD = re.compile(r"^:(tocdepth|orphan|nosearch):")
_LABEL = re.compile(r"^\s*\.\. _[^:]*:\s*$")


def _adornment(line: str) -> str | None:
    """The adornment character when ``line`` is one repeated punctuation character."""
    s = line.rstrip()
    if len(s) >= 2 and s[0] in _ADORNMENT_CHARS and s == s[0] * len(s):
        return s[0]
    return None


def _rst_titles(lines: list[str]) -> Iterator[tuple[int, int, str, tuple[str, bool]]]:
    """Yield (first_line_index, lines_used, title, style) for each section title."""
    i = 0
    n = len(lines)
    while i < n:
        over = _adornment(lines[i])
        if (
            over
            and i + 2 < n
            and lines[i + 1].strip()
            and _adornment(lines[i + 1]) is None
            and _adornment(lines[i + 2]) == over
            and (i == 0 or not lines[i - 1].strip())
        ):
            yield i, 3, lines[i + 1].strip(), (over, True)
            i += 3
            continue
        line = lines[i]
        if (
            line.strip()
            and not line[0].isspace()
            and _adornment(line) is None
            and i + 1 < n
            and (under := _adornment(lines[i + 1]))
            and len(lines[i + 1].rstrip()) >= min(len(line.rstrip()), 4)
            and (i == 0 or not lines[i - 1].strip())
        ):
            yield i, 2, line.strip(), (under, False)
            i += 2
            continue
        i += 1


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _clean_rst(lines: list[str]) -> list[str]:
    """Drop navigation-only directives and labels; reduce roles and links to their text."""
    out: list[str] = []
    skip_deeper_than: int | None = None
    for line in lines:
        if skip_deeper_than is not None:
            if not line.strip() or _indent(line) > skip_deeper_than:
                continue
            skip_deeper_than = None
        directive = _DROP_DIRECTIVES.match(line)
        if directive:
            if directive.group(2) not in _KEEP_BODY_DIRECTIVES:
                skip_deeper_than = len(directive.group(1))
            continue
        if _DROP_FIELD.match(line) or _LABEL.match(line):
            continue
        out.append(line)
    return _inline_rst("\n".join(out)).split("\n")


def _inline_rst(text: str) -> str:
    """Roles and links reduced to their text."""
    text = _ROLE_WITH_TARGET.sub(r"\1", text)
    text = _ROLE.sub(r"\1", text)
    text = _LINK.sub(r"\1 (\2)", text)
    return _LINK_REF.sub(r"\1", text)


def parse_rst(text: str, *, title: str = "") -> list[Section]:
    """Split reStructuredText on section titles; levels follow first appearance of each style."""
    lines = text.split("\n")
    styles: list[tuple[str, bool]] = []
    builder = _Builder(title)
    titles = {start: (used, name, style) for start, used, name, style in _rst_titles(lines)}
    body: list[str] = []
    i = 0
    while i < len(lines):
        if i in titles:
            builder.lines = _clean_rst(body)
            used, name, style = titles[i]
            if style not in styles:
                styles.append(style)
            builder.heading(styles.index(style) + 1, _inline_rst(name), i + 1)
            body = []
            i += used
            continue
        body.append(lines[i])
        i += 1
    builder.lines = _clean_rst(body)
    return builder.finish()


# --- HTML -----------------------------------------------------------------------------------------

_HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
_STRIP_TAGS = ("script", "style", "nav", "noscript", "template", "head")
_BLOCK_TAGS = frozenset(
    "p div section article main aside header footer blockquote ul ol li dl dt dd "
    "figure figcaption form fieldset details summary hr address".split()
)


def _pipe_table(table: Tag) -> str:
    """An HTML table as Markdown pipe-table lines (one block, no blank lines)."""
    rows: list[str] = []
    for tr in table.find_all("tr"):
        cells = [
            " ".join(cell.get_text(" ", strip=True).split()).replace("|", "\\|")
            for cell in tr.find_all(["th", "td"])
        ]
        if not any(cells):
            continue
        rows.append("| " + " | ".join(cells) + " |")
        if len(rows) == 1 and tr.find("th") is not None:
            rows.append("|" + "---|" * len(cells))
    return "\n".join(rows)


def parse_html(text: str, *, title: str = "") -> list[Section]:
    """Split HTML on h1-h6; script, style and nav content is dropped, ``pre`` kept as a fence,
    a table rendered as a pipe table."""
    from bs4 import BeautifulSoup, Tag
    from bs4.element import Comment, NavigableString, PreformattedString

    soup = BeautifulSoup(text, "html.parser")
    doc_title = soup.title.get_text(" ", strip=True) if soup.title else ""
    for tag in soup.find_all(_STRIP_TAGS):
        tag.decompose()
    builder = _Builder(doc_title or title)
    inline: list[str] = []

    def end_paragraph() -> None:
        para = " ".join("".join(inline).split())
        if para:
            builder.add(para)
            builder.add("")
        inline.clear()

    def walk(node: Tag) -> None:
        for child in node.children:
            if isinstance(child, Comment | PreformattedString):
                continue
            if isinstance(child, NavigableString):
                inline.append(str(child))
            elif isinstance(child, Tag):
                name = child.name.lower()
                if name in _HEADINGS:
                    end_paragraph()
                    heading = child.get_text(" ", strip=True)
                    if heading:
                        builder.heading(_HEADINGS[name], heading, child.sourceline)
                elif name == "pre":
                    end_paragraph()
                    code = child.get_text().strip("\n")
                    if code.strip():
                        builder.add(f"```\n{code}\n```")
                        builder.add("")
                elif name == "table":
                    end_paragraph()
                    rendered = _pipe_table(child)
                    if rendered:
                        builder.add(rendered)
                        builder.add("")
                elif name == "br":
                    inline.append("\n")
                elif name in _BLOCK_TAGS:
                    end_paragraph()
                    walk(child)
                    end_paragraph()
                else:
                    walk(child)

    walk(soup.body if isinstance(soup.body, Tag) else soup)
    end_paragraph()
    return builder.finish()
