"""The output guard, run through the real guardrails AsyncGuard and the cited-sources validator."""

from __future__ import annotations

import asyncio

import pytest

from guards.output_guard import (
    EMPTY_ANSWER,
    OutputVerdict,
    check_output,
    extract_citations,
    output_guard,
)


async def test_cited_answer_passes_as_is() -> None:
    answer = "Open the VPN client [1], choose Reset token [2][3] and sign in with MFA [1, 3]."
    verdict = await check_output(answer, source_count=3, require_citations=True)
    assert verdict == OutputVerdict(text=answer, citations=(1, 2, 3), problems=())


async def test_out_of_range_marker_is_removed() -> None:
    verdict = await check_output(
        "The VPN needs MFA [1] and a hardware token [7].", source_count=3, require_citations=True
    )
    assert verdict.text == "The VPN needs MFA [1] and a hardware token."
    assert verdict.citations == (1,)
    assert len(verdict.problems) == 1
    assert "[7]" in verdict.problems[0] and "3" in verdict.problems[0]


async def test_out_of_range_number_inside_a_group_is_dropped_from_the_group() -> None:
    verdict = await check_output(
        "Tokens rotate every 90 days [2, 5] [0].", source_count=2, require_citations=True
    )
    assert verdict.text == "Tokens rotate every 90 days [2]."
    assert verdict.citations == (2,)
    assert "[0], [5]" in verdict.problems[0]


@pytest.mark.parametrize(
    ("source_count", "line"),
    [(1, "Sources: [1]"), (2, "Sources: [1] [2]"), (5, "Sources: [1] [2] [3]")],
)
async def test_missing_citations_are_appended(source_count: int, line: str) -> None:
    verdict = await check_output(
        "Restart the router, then reconnect.  \n", source_count=source_count, require_citations=True
    )
    assert verdict.text == f"Restart the router, then reconnect.\n\n{line}"
    assert verdict.citations == tuple(range(1, min(source_count, 3) + 1))
    assert verdict.problems == (f"answer cited no source: appended '{line}'",)


async def test_only_invalid_markers_means_removed_then_appended() -> None:
    verdict = await check_output("Use the staging key [9].", source_count=2, require_citations=True)
    assert verdict.text == "Use the staging key.\n\nSources: [1] [2]"
    assert verdict.citations == (1, 2)
    assert len(verdict.problems) == 2
    assert "[9]" in verdict.problems[0]
    assert "appended" in verdict.problems[1]


async def test_no_sources_answer_without_citations_passes() -> None:
    answer = "Hi! I can help with IT questions."
    verdict = await check_output(answer, source_count=0, require_citations=True)
    assert verdict == OutputVerdict(text=answer, citations=(), problems=())


async def test_no_sources_means_every_marker_is_invented() -> None:
    verdict = await check_output("Yes, it is allowed [1].", source_count=0, require_citations=True)
    assert verdict.text == "Yes, it is allowed."
    assert verdict.citations == ()
    assert "none were retrieved" in verdict.problems[0]


async def test_citations_not_required_leaves_an_uncited_answer_alone() -> None:
    answer = "Sure, here is a joke about routers."
    verdict = await check_output(answer, source_count=4, require_citations=False)
    assert verdict == OutputVerdict(text=answer, citations=(), problems=())


async def test_code_brackets_and_links_are_not_citations() -> None:
    answer = (
        "Read the first argument with `sys.argv[1]` [1].\n"
        "```python\nvalues = data[0] + data[12]\n```\n"
        "See the [2](https://docs.python.org) page; in [2024] it changed."
    )
    verdict = await check_output(answer, source_count=1, require_citations=True)
    assert verdict == OutputVerdict(text=answer, citations=(1,), problems=())


async def test_empty_answer_is_reported_not_sent_to_guardrails() -> None:
    verdict = await check_output("  \n", source_count=3, require_citations=True)
    assert verdict == OutputVerdict(text="", citations=(), problems=(EMPTY_ANSWER,))


async def test_negative_source_count_is_a_caller_bug() -> None:
    with pytest.raises(ValueError, match="source_count"):
        await check_output("x", source_count=-1, require_citations=True)


async def test_concurrent_checks_share_one_guard_without_mixing_metadata() -> None:
    answers = [(f"Answer {i} [{i % 4 + 1}].", i % 4) for i in range(40)]
    verdicts = await asyncio.gather(
        *(check_output(a, source_count=n, require_citations=True) for a, n in answers)
    )
    for (answer, n), verdict in zip(answers, verdicts, strict=True):
        cited = int(answer.split("[")[1].rstrip("]."))
        if cited <= n:
            assert verdict.text == answer and verdict.problems == ()
        else:
            assert f"[{cited}]" not in verdict.text.split("\n")[0]
            assert all(1 <= c <= n for c in verdict.citations)
    assert output_guard() is output_guard()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("no markers here", []),
        ("a [2] b [1, 3] c [2][4]", [1, 2, 3, 4]),
        ("spaces [ 5 ,6 ] ok", [5, 6]),
        ("code `a[9]` and\n```\nb[8]\n```\n[7]", [7]),
        ("year [2024] and link [3](http://x)", []),
    ],
)
def test_extract_citations(text: str, expected: list[int]) -> None:
    assert extract_citations(text) == expected
