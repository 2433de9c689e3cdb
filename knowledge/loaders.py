"""Document loaders: Markdown, reStructuredText, plain text, HTML and PDF into titled sections.

Contract: ``load_document(path)`` returns a ``Document``: its title, its non-empty ``Section``s
in reading order (each with the path of headings above it, outermost first) and warnings about
what was repaired (invalid UTF-8 replaced, a legacy encoding guessed). Unreadable, binary or
undecodable files and broken PDFs raise ``IngestError`` with a one-line reason; nothing else is
raised for a bad document.

A Markdown or text file's YAML front matter is not indexed; its ``title:`` names the document
and its ``url:`` links it (``knowledge.links``).

Title: a PDF's metadata title, an HTML ``<title>`` or a front-matter ``title:`` when present,
else the document's single outermost heading when every section sits under it (a reST or
Markdown document title), else the file name without its suffix. A PDF has no headings: its
pages become one section whose paragraphs the chunker splits.
"""

from __future__ import annotations

import html
import io
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from knowledge.links import declared_url, front_matter
from knowledge.markup import Section, parse_html, parse_markdown, parse_rst
from observe.errors import IngestError

__all__ = ["Document", "Section", "SUPPORTED_SUFFIXES", "doc_kind", "is_supported"]

DocKind = Literal["markdown", "rst", "text", "html", "pdf"]

SUPPORTED_SUFFIXES: tuple[str, ...] = (
    ".md",
    ".markdown",
    ".rst",
    ".rst.txt",
    ".txt",
    ".html",
    ".htm",
    ".pdf",
)
"""File name endings ``load_document`` understands (``.rst.txt`` is Sphinx's source copy)."""

_KIND_BY_SUFFIX: dict[str, DocKind] = {
    ".md": "markdown",
    ".markdown": "markdown",
    ".rst": "rst",
    ".txt": "text",
    ".html": "html",
    ".htm": "html",
    ".pdf": "pdf",
}

_MAX_BYTES = 20 * 1024 * 1024
_MAX_PDF_BYTES = 100 * 1024 * 1024
_PRINTABLE_RATIO = 0.95
_HTML_TITLE = re.compile(r"<title[^>]*>(.*?)</title\s*>", re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True)
class Document:
    """A loaded document: title, sections and what was repaired while reading it."""

    title: str
    sections: list[Section]
    kind: DocKind
    warnings: list[str] = field(default_factory=list)
    url: str = ""
    """The web address the document declares for itself (``knowledge.links``), if any."""


def doc_kind(path: Path) -> DocKind | None:
    """The loader for ``path`` by its name, or None when the file type is not supported."""
    name = path.name.lower()
    if name.endswith(".rst.txt"):
        return "rst"
    return _KIND_BY_SUFFIX.get(path.suffix.lower())


def is_supported(path: Path) -> bool:
    """True when ``path``'s name ends with one of ``SUPPORTED_SUFFIXES``."""
    return doc_kind(path) is not None


def read_bytes(path: Path) -> bytes:
    """The file's bytes (at most 20 MB, 100 MB for a PDF), or ``IngestError`` saying why they
    cannot be had."""
    limit = _MAX_PDF_BYTES if doc_kind(path) == "pdf" else _MAX_BYTES
    try:
        size = path.stat().st_size
        if size > limit:
            raise IngestError(f"file too large ({size} bytes, limit {limit}): {path}")
        return path.read_bytes()
    except IsADirectoryError as exc:
        raise IngestError(f"is a directory, not a document: {path}") from exc
    except PermissionError as exc:
        raise IngestError(f"permission denied: {path}") from exc
    except OSError as exc:
        raise IngestError(f"cannot read {path}: {exc.strerror or exc}") from exc


def decode_text(data: bytes, name: str = "file") -> tuple[str, str | None]:
    """Bytes as text, and a warning when they were not clean UTF-8.

    UTF-8 (BOM allowed) is taken as is. Mostly-UTF-8 bytes with a few invalid sequences keep
    their valid characters and get U+FFFD for the rest; otherwise a legacy 8-bit encoding
    (cp1252, then Latin-1) is assumed when the result is printable text. NUL bytes or mostly
    unprintable content raise ``IngestError``.
    """
    if b"\x00" in data:
        raise IngestError(f"binary file (contains NUL bytes): {name}")
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError:
        pass
    replaced = data.decode("utf-8", errors="replace")
    bad = replaced.count("\ufffd")
    good = sum(1 for ch in replaced if ord(ch) > 0x7F) - bad
    if good > bad:
        return replaced, f"invalid UTF-8: {bad} byte sequence(s) replaced with U+FFFD"
    for encoding in ("cp1252", "latin-1"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        printable = sum(1 for ch in text if ch.isprintable() or ch in "\t\r\n\f")
        if printable / len(text) >= _PRINTABLE_RATIO:
            return text, f"not UTF-8: read as {encoding}"
    raise IngestError(f"not a text file (undecodable as UTF-8, mostly non-printable): {name}")


def read_text(path: Path) -> str:
    """Read ``path`` as text (see ``decode_text``), line endings normalised to ``\\n``."""
    text, _ = decode_text(read_bytes(path), str(path))
    return text.replace("\r\n", "\n").replace("\r", "\n")


def load_document(path: Path, data: bytes | None = None) -> Document:
    """Load one supported document (see the module docstring for the contract); ``data`` is
    the file's content when the caller has already read it."""
    kind = doc_kind(path)
    if kind is None:
        raise IngestError(f"unsupported file type {path.suffix or '(none)'!r}: {path}")
    if kind == "pdf":
        return load_pdf(path, data)
    text, warning = decode_text(read_bytes(path) if data is None else data, str(path))
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    warnings = [warning] if warning else []
    stem = file_title(path)
    url = declared_url(kind, text)
    fields, body_text = front_matter(text) if kind in ("markdown", "text") else ({}, text)
    declared_title = str(fields.get("title") or "").strip()
    text = body_text
    if kind == "markdown":
        sections = parse_markdown(text, title=stem)
    elif kind == "rst":
        sections = parse_rst(text, title=stem)
    elif kind == "html":
        match = _HTML_TITLE.search(text)
        html_title = " ".join(html.unescape(match.group(1)).split()) if match else ""
        sections = parse_html(text, title=stem)
        title = html_title or _single_root(sections) or stem
        return Document(title, sections, kind, warnings, url)
    else:
        body = text.strip()
        sections = [Section((declared_title or stem,), body, 1)] if body else []
    title = declared_title or _single_root(sections) or stem
    return Document(title, sections, kind, warnings, url)


def _single_root(sections: list[Section]) -> str:
    """The outermost heading all sections share, or "" when there is none or several."""
    roots = {section.heading_path[0] for section in sections if section.heading_path}
    return roots.pop() if len(roots) == 1 else ""


def file_title(path: Path) -> str:
    """The file name without its supported suffix (``faq.rst.txt`` -> ``faq``)."""
    name = path.name
    for suffix in sorted(SUPPORTED_SUFFIXES, key=len, reverse=True):
        if name.lower().endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return path.stem


def load_pdf(path: Path, data: bytes | None = None) -> Document:
    """A PDF's text, page by page, as one section (pypdf); title from metadata or file name."""
    from pypdf import PdfReader

    if data is None:
        data = read_bytes(path)
    if b"%PDF-" not in data[:1024]:
        raise IngestError(f"not a PDF (no %PDF- header): {path}")
    logging.getLogger("pypdf").setLevel(logging.ERROR)  # malformed-but-readable files log noise
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise IngestError(f"encrypted PDF (a password is needed): {path}")
        pages = [page.extract_text() or "" for page in reader.pages]
        meta_title = (reader.metadata.title if reader.metadata else None) or ""
    except IngestError:
        raise
    except Exception as exc:  # pypdf on a damaged file can fail anywhere (zlib, struct, ...)
        reason = " ".join(f"{type(exc).__name__}: {exc}".split())[:200]
        raise IngestError(f"broken PDF ({reason}): {path}") from exc
    title = " ".join(str(meta_title).split()) or file_title(path)
    body = "\n\n".join(_tidy_page(page) for page in pages if page.strip())
    sections = [Section((title,), body, 1)] if body else []
    return Document(title, sections, "pdf")


def _tidy_page(text: str) -> str:
    """Strip trailing spaces and collapse runs of blank lines in one page's text."""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n")
