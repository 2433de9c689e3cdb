"""Links: the web address a document declares, or one derived from a base URL.

Citations carry a link when the source has one: an HTML page's ``<link rel="canonical">`` (or
``og:url``), a Markdown or text file's front matter ``url:`` / ``source_url:`` /
``canonical_url:``, or, for a folder mirrored from a site, ``--base-url`` joined with the file's
path under the ingested folder. Only ``http``/``https`` addresses are kept.
"""

from __future__ import annotations

import html
import re
from typing import Any
from urllib.parse import quote

import yaml

_CANONICAL = re.compile(
    r"<link\b[^>]*\brel\s*=\s*[\"']?canonical[\"']?[^>]*>|"
    r"<meta\b[^>]*\bproperty\s*=\s*[\"']og:url[\"'][^>]*>",
    re.IGNORECASE,
)
_ADDRESS = re.compile(r"\b(?:href|content)\s*=\s*[\"']([^\"']+)[\"']", re.IGNORECASE)
_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?)\n(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.DOTALL)
_URL_KEYS = ("url", "source_url", "canonical_url")


def front_matter(text: str) -> tuple[dict[str, Any], str]:
    """A Markdown/text file's YAML front matter (``---`` block at the very top) and the text
    after it; ``({}, text)`` when there is none or it is not a YAML mapping."""
    match = _FRONT_MATTER.match(text)
    if not match:
        return {}, text
    try:
        fields = yaml.safe_load(match.group(1))
    except yaml.YAMLError:
        return {}, text
    if not isinstance(fields, dict):
        return {}, text
    return fields, text[match.end() :]


def web_url(value: str) -> str:
    """``value`` when it is an http(s) address without spaces, else ``""``."""
    value = value.strip()
    ok = value.lower().startswith(("http://", "https://")) and not re.search(r"\s", value)
    return value if ok else ""


def declared_url(kind: str, text: str) -> str:
    """The address ``text`` (a document of ``kind``) declares for itself, or ``""``."""
    if kind == "html":
        for tag in _CANONICAL.finditer(text[:200_000]):
            address = _ADDRESS.search(tag.group(0))
            if address:
                return web_url(html.unescape(address.group(1)))
        return ""
    fields, _ = front_matter(text)
    for key in _URL_KEYS:
        if isinstance(fields.get(key), str):
            return web_url(fields[key])
    return ""


def joined_url(base: str, path: str) -> str:
    """``base`` (an http(s) address) and a relative ``path``, the path percent-encoded."""
    root = web_url(base)
    if not root:
        return ""
    return f"{root.rstrip('/')}/{quote(path.lstrip('/'))}"
