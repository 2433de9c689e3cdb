"""Runs of paragraphs from a documentation tree, split by file into a training and an
evaluation half, so that the injection model is measured on files it never saw.

A file belongs to the evaluation half when the first byte of the SHA-1 of its path (relative to
the tree, with ``/``) is odd. ``faq/`` is left out of both halves: its questions are benchmark
rows of their own.
"""

from __future__ import annotations

import functools
import hashlib
import random
import re
from pathlib import Path
from typing import Literal

from observe.errors import ConfigError

Half = Literal["train", "eval"]
MAX_CHARS = 2_500
MAX_PARAGRAPHS = 8


def half_of(relative: str) -> Half:
    """Which half a documentation file (path relative to the tree) belongs to."""
    return "eval" if hashlib.sha1(relative.encode("utf-8")).digest()[0] % 2 else "train"


def doc_files(docs: Path, half: Half) -> list[Path]:
    """The ``*.rst.txt``, ``*.md`` and ``*.txt`` files of ``half``, sorted; never ``faq/``."""
    files = sorted(
        p
        for p in docs.rglob("*")
        if p.is_file()
        and p.suffix in (".txt", ".md", ".rst")
        and "faq" not in p.relative_to(docs).parts[:-1]
        and half_of(p.relative_to(docs).as_posix()) == half
    )
    if not files:
        raise ConfigError(f"no documentation files under {docs}", hint="pass the docs tree")
    return files


@functools.cache
def paragraphs(path: Path) -> list[str]:
    """The non-blank paragraphs (split at blank lines) of ``path``, indentation kept."""
    text = path.read_text(encoding="utf-8", errors="replace")
    return [p.strip("\n") for p in re.split(r"\n\s*\n", text) if p.strip()]


def paragraph_runs(docs: Path, half: Half, count: int, rng: random.Random) -> list[list[str]]:
    """``count`` distinct runs of 1–8 consecutive paragraphs of at most ``MAX_CHARS`` in all."""
    files = doc_files(docs, half)
    runs: dict[str, list[str]] = {}
    for _ in range(count * 20):
        if len(runs) >= count:
            break
        found = paragraphs(rng.choice(files))
        if not found:
            continue
        size, start = rng.randint(1, MAX_PARAGRAPHS), rng.randrange(len(found))
        run = [found[start][:MAX_CHARS]]
        for paragraph in found[start + 1 : start + size]:
            if sum(map(len, run)) + 2 * len(run) + len(paragraph) > MAX_CHARS:
                break
            run.append(paragraph)
        runs.setdefault("\n\n".join(run), run)
    return list(runs.values())
