"""Answers cut off by the token limit are tidied before the guards see them."""

from __future__ import annotations

import pytest

from graph.nodes.generate import tidy_truncated


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Use sorted(). Here is how:\n\n```python\nfor k in sorted(d):\n    pri", "Use sorted()."),
        ("```python\nfor k in sorted(d", "```python\nfor k in sorted(d\n```"),
        (
            "Use sorted() on the keys. It returns a new list. Then loop over the",
            "Use sorted() on the keys. It returns a new list.",
        ),
        ("Short and cut", "Short and cut"),
        (
            "Done.\n\n```py\nx = 1\n```\nThen some half",
            "Done.\n\n```py\nx = 1\n```\nThen some half",
        ),
    ],
    ids=["open-fence", "only-code", "half-sentence", "no-stop", "closed-fence"],
)
def test_tidy_truncated(raw: str, expected: str) -> None:
    assert tidy_truncated(raw) == expected
