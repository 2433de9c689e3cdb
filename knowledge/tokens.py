"""Token counting for chunk budgets: the embedding model's own word pieces, or a cheap proxy.

Contract: ``TokenCounter.count(text)`` is the number of word pieces the embedding model makes of
``text`` (no special tokens), but at least one per ``MAX_CHARS_PER_TOKEN`` characters: a 50,000
character run without spaces is a single unknown-word piece to the model, and must still not
become a 50,000-character chunk. ``cut(text, limit)`` splits a text into consecutive pieces of at
most ``limit`` counted pieces each, cutting on whitespace where one is near. ``window`` is the
model's input limit (``max_seq_length``): text past it is never seen by dense search. Without a
``tokenizer.json`` in the model directory, counts fall back to about four characters per token.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from knowledge.embeddings import resolve_model_path

CHARS_PER_TOKEN = 4
"""The proxy's ratio; English prose in MiniLM's vocabulary runs at 3.7-4.5 characters a piece."""

MAX_CHARS_PER_TOKEN = 10
"""Characters one counted piece may stand for (indented code runs at 5-8)."""

_DEFAULT_WINDOW = 256


class TokenCounter:
    """Counts word pieces with a ``tokenizers`` tokenizer, or by the character proxy (``None``)."""

    def __init__(self, tokenizer: Any | None = None, window: int = _DEFAULT_WINDOW) -> None:
        self._tokenizer = tokenizer
        self.window = window

    def count(self, text: str) -> int:
        """Word pieces in ``text``."""
        if not text:
            return 0
        if self._tokenizer is None:
            return -(-len(text) // CHARS_PER_TOKEN)
        pieces = len(self._tokenizer.encode(text, add_special_tokens=False).ids)
        return max(pieces, -(-len(text) // MAX_CHARS_PER_TOKEN))

    def count_many(self, texts: list[str]) -> list[int]:
        """``count`` for each text (one batched call to the tokenizer)."""
        if self._tokenizer is None:
            return [self.count(text) for text in texts]
        encodings = self._tokenizer.encode_batch(texts, add_special_tokens=False)
        return [
            max(len(encoding.ids), -(-len(text) // MAX_CHARS_PER_TOKEN))
            for text, encoding in zip(texts, encodings, strict=True)
        ]

    def cut(self, text: str, limit: int) -> list[str]:
        """``text`` as consecutive pieces of at most ``limit`` word pieces (whitespace kept out)."""
        if limit < 1:
            raise ValueError(f"limit must be positive, got {limit}")
        ends = self._token_ends(text)
        pieces: list[str] = []
        start = 0
        first = 0  # index of the first token not yet placed in a piece
        while first < len(ends):
            last = min(first + limit, len(ends)) - 1
            end = ends[last]
            if last + 1 < len(ends):  # prefer a whitespace cut in the second half of the piece
                space = text.rfind(" ", start, end + 1)
                if space > start and space >= (start + end) // 2:
                    end = space
            piece = text[start:end].strip()
            if piece:
                pieces.append(piece)
            start = end
            while first < len(ends) and ends[first] <= end:
                first += 1
        rest = text[start:].strip()
        if rest:
            pieces.append(rest)
        return pieces

    def _token_ends(self, text: str) -> list[int]:
        """Character offset just past each counted piece (a token spanning more than
        ``MAX_CHARS_PER_TOKEN`` characters counts as several, as in ``count``)."""
        if self._tokenizer is None:
            return list(range(CHARS_PER_TOKEN, len(text), CHARS_PER_TOKEN)) + [len(text)]
        ends: list[int] = []
        previous = 0
        for _, end in self._tokenizer.encode(text, add_special_tokens=False).offsets:
            ends.extend(range(previous + MAX_CHARS_PER_TOKEN, end, MAX_CHARS_PER_TOKEN))
            ends.append(end)
            previous = end
        return ends


@lru_cache(maxsize=4)
def get_token_counter(model_name: str) -> TokenCounter:
    """The token counter of an embedding model setting (``minilm`` or a model directory)."""
    path = resolve_model_path(model_name)
    return TokenCounter(_load_tokenizer(path), _window(path))


def _load_tokenizer(path: Path) -> Any | None:
    file = path / "tokenizer.json"
    if not file.is_file():
        return None
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(file))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return tokenizer


def _window(path: Path) -> int:
    try:
        config = json.loads((path / "sentence_bert_config.json").read_text(encoding="utf-8"))
        return int(config.get("max_seq_length", _DEFAULT_WINDOW))
    except (OSError, ValueError, TypeError):
        return _DEFAULT_WINDOW
