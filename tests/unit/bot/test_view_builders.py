"""The pure Block Kit builders and message texts in ``bot.views``, checked without Slack.

Blocks are validated by parsing them back into slack_sdk's model classes; the splitter is checked
with invariant loops over generated texts.
"""

from __future__ import annotations

import json
import random
import re
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from bot.views import answer_builder, feedback_builder, home_builder, text, why_builder
from graph.assistant import TurnResult
from observe.stats import TurnStats

NOW = 1_750_000_000.0
DAY = 86_400
TRACE = "0af7651916cd43dd8448eb211c80319c"
QUESTION = "How do I rotate the staging database password?"
ANSWER = "Run the rotation job from the ops console [1], then update the vault entry [2]."
CHUNK_TEXT = "SECRET-CHUNK-BODY: the rotation job lives in ops/rotate.py"


def make_result(**overrides: Any) -> TurnResult:
    """A realistic answered turn; keyword arguments replace fields."""
    fields: dict[str, Any] = {
        "answer": ANSWER,
        "citations": [
            {
                "n": 1,
                "source": "docs/ops/rotation.md",
                "heading": "Rotating credentials",
                "text": CHUNK_TEXT,
                "updated_at": NOW - 3 * DAY,
            },
            {
                "n": 2,
                "source": "https://wiki.example.com/vault/entries",
                "heading": "",
                "text": CHUNK_TEXT,
                "updated_at": None,
            },
        ],
        "intent": "question",
        "trace_id": TRACE,
        "cached": False,
        "timings_ms": {
            "chat local": 812.44,
            "guard.input": 3.21,
            "total": 1034.9,
            "turn": 1033.0,
            "cache.lookup": 5.5,
            "retrieval knowledge": 40.04,
            "intent.classify": 9.0,
            "guard.output": 2.0,
            "cache.store": 4.0,
        },
        "conversation_id": "C1:1.000",
        "question": "How do I rotate the vault credentials?",
        "intent_confidence": 0.9234,
        "intent_method": "embedding",
        "route": [
            "check_input",
            "lookup_cache",
            "load_memory",
            "classify_intent",
            "retrieve",
            "generate",
            "check_output",
            "store_cache",
            "save_memory",
        ],
        "retrieved": [
            {
                "n": 1,
                "source": "docs/ops/rotation.md",
                "heading": "Rotating credentials",
                "score": 0.81234,
            },
            {
                "n": 2,
                "source": "https://wiki.example.com/vault/entries",
                "heading": "",
                "score": 0.7,
            },
            {"n": 3, "source": "docs/ops/oncall.md", "heading": "On-call", "score": 0.41},
        ],
        "usage": {"input_tokens": 1234, "output_tokens": 56},
    }
    fields.update(overrides)
    return TurnResult(**fields)


def assert_valid_blocks(blocks: list[dict[str, Any]]) -> None:
    """Each block parses into slack_sdk's model, passes its validators and round-trips."""
    for block in blocks:
        model = Block.parse(block)
        assert model is not None, block
        assert model.to_dict() == block
    json.dumps(blocks)


def all_text(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False)


# --- format_age and sources --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("age_s", "expected"),
    [
        (None, ""),
        (-5 * DAY, "updated today"),
        (0, "updated today"),
        (DAY - 1, "updated today"),
        (DAY, "updated yesterday"),
        (2 * DAY - 1, "updated yesterday"),
        (2 * DAY, "updated 2 days ago"),
        (29 * DAY, "updated 29 days ago"),
        (30 * DAY, "updated 1 month ago"),
        (60 * DAY, "updated 2 months ago"),
        (364 * DAY, "updated 12 months ago"),
        (365 * DAY, "updated 1 year ago"),
        (3 * 365 * DAY, "updated 3 years ago"),
    ],
)
def test_format_age_boundaries(age_s: float | None, expected: str) -> None:
    updated_at = None if age_s is None else NOW - age_s
    assert answer_builder.format_age(updated_at, NOW) == expected


def test_sources_render_paths_links_titles_and_ages() -> None:
    blocks = answer_builder.sources_blocks(make_result().citations, now=NOW)
    assert_valid_blocks(blocks)
    assert [b["type"] for b in blocks] == ["context"]
    lines = blocks[0]["elements"][0]["text"].split("\n")
    assert lines[0] == "*Sources*"
    assert lines[1] == ("[1] *Rotating credentials* — `docs/ops/rotation.md` · updated 3 days ago")
    assert lines[2] == "[2] <https://wiki.example.com/vault/entries|entries>"  # no age: None


def test_sources_fall_back_to_file_name_and_escape() -> None:
    citations = [
        {"n": 1, "source": "docs/a/b & c.md", "heading": "", "updated_at": None},
        {"n": 2, "source": "https://x.test/p", "heading": "<Ops> | run", "updated_at": None},
    ]
    text_ = answer_builder.sources_blocks(citations, now=NOW)[0]["elements"][0]["text"]
    assert "[1] *b &amp; c.md* — `docs/a/b &amp; c.md`" in text_
    assert "[2] <https://x.test/p|&lt;Ops&gt; ¦ run>" in text_


def test_a_file_with_a_link_is_linked_and_keeps_its_path() -> None:
    citations = [
        {
            "n": 1,
            "source": "handbook/ops/deploys.md",
            "heading": "Rollback",
            "url": "https://docs.example.com/handbook/ops/deploys.md",
            "updated_at": NOW,
        },
        {"n": 2, "source": "x.md", "heading": "X", "url": "javascript:alert(1)"},
    ]
    text_ = answer_builder.sources_blocks(citations, now=NOW)[0]["elements"][0]["text"]
    lines = text_.split("\n")
    assert lines[1] == (
        "[1] <https://docs.example.com/handbook/ops/deploys.md|Rollback>"
        " — `handbook/ops/deploys.md` · updated today"
    )
    assert lines[2] == "[2] *X* — `x.md`", "only http(s) links are rendered"


def test_sources_dedupe_keeps_lowest_number_and_empty_gives_nothing() -> None:
    citations = [
        {"n": 3, "source": "docs/a.md", "heading": "Later", "updated_at": None},
        {"n": 1, "source": "docs/a.md", "heading": "First", "updated_at": None},
        {"n": 2, "source": "docs/b.md", "heading": "Other", "updated_at": None},
    ]
    text_ = answer_builder.sources_blocks(citations, now=NOW)[0]["elements"][0]["text"]
    assert text_.count("docs/a.md") == 1
    assert "[1] *First*" in text_ and "Later" not in text_
    assert text_.index("[1]") < text_.index("[2]")
    assert answer_builder.sources_blocks([], now=NOW) == []


def test_sources_stay_within_limits() -> None:
    citations = [
        {"n": n, "source": f"docs/{'x' * 400}/{n}.md", "heading": "h" * 500, "updated_at": NOW}
        for n in range(1, 40)
    ]
    blocks = answer_builder.sources_blocks(citations, now=NOW)
    assert_valid_blocks(blocks)
    body = blocks[0]["elements"][0]["text"]
    assert len(body) <= 3000


# --- answer blocks -----------------------------------------------------------------------------


def test_feedback_row_is_context_actions_with_feedback_buttons() -> None:
    row = answer_builder.feedback_row(TRACE)
    assert_valid_blocks([row])
    assert row["type"] == "context_actions"
    (buttons,) = row["elements"]
    assert buttons["type"] == "feedback_buttons"
    assert buttons["action_id"] == "answer_feedback"
    assert buttons["positive_button"]["value"] == f"good:{TRACE}"
    assert buttons["negative_button"]["value"] == f"bad:{TRACE}"
    assert buttons["positive_button"]["accessibility_label"]
    assert buttons["negative_button"]["accessibility_label"]


def test_answer_blocks_end_with_why_button_and_feedback() -> None:
    blocks = answer_builder.answer_blocks(make_result(), now=NOW)
    assert_valid_blocks(blocks)
    assert [b["type"] for b in blocks] == ["context", "actions", "context_actions"]
    (why,) = blocks[1]["elements"]
    assert (why["type"], why["action_id"], why["value"]) == ("button", "why_this_answer", TRACE)
    assert ANSWER not in all_text(blocks)


@pytest.mark.parametrize(
    "overrides",
    [
        {"blocked_reason": "message is empty", "answer": "I can't help with that."},
        {"citations": []},
    ],
    ids=["blocked", "no-citations"],
)
def test_answers_without_sources_still_get_feedback(overrides: dict[str, Any]) -> None:
    blocks = answer_builder.answer_blocks(make_result(**overrides), now=NOW)
    assert [b["type"] for b in blocks] == ["actions", "context_actions"]


def test_full_answer_blocks_put_markdown_text_first_and_cap_it() -> None:
    blocks = answer_builder.full_answer_blocks(ANSWER, make_result(), now=NOW)
    assert_valid_blocks(blocks)
    assert blocks[0] == {"type": "markdown", "text": ANSWER}
    assert blocks[-1]["type"] == "context_actions"
    long = answer_builder.full_answer_blocks("word " * 5000, make_result(), now=NOW)
    assert len(long[0]["text"]) <= 12_000 and long[0]["text"].endswith("…")
    blank = answer_builder.full_answer_blocks("  ", make_result(citations=[]), now=NOW)
    assert [b["type"] for b in blank] == ["actions", "context_actions"]


def test_ephemeral_answer_has_question_answer_sources_and_share() -> None:
    result = make_result()
    blocks = answer_builder.ephemeral_answer_blocks(result, question="<b> & " + QUESTION, now=NOW)
    assert_valid_blocks(blocks)
    assert [b["type"] for b in blocks] == ["context", "markdown", "context", "actions"]
    assert blocks[0]["elements"][0]["text"] == f"*You asked:* &lt;b&gt; &amp; {QUESTION}"
    assert blocks[1]["text"] == ANSWER
    share, why = blocks[-1]["elements"]
    assert (share["action_id"], share["value"]) == ("share_answer", TRACE)
    assert (why["action_id"], why["value"]) == ("why_this_answer", TRACE)


def test_shared_answer_names_the_asker() -> None:
    blocks = answer_builder.shared_answer_blocks(
        ANSWER, make_result().citations, user_id="U123", question=QUESTION, now=NOW
    )
    assert_valid_blocks(blocks)
    assert blocks[0]["elements"][0]["text"] == f"<@U123> asked: {QUESTION}"
    assert blocks[1] == {"type": "markdown", "text": ANSWER}
    assert "*Sources*" in blocks[2]["elements"][0]["text"]


# --- why this answer ---------------------------------------------------------------------------


def test_explanation_is_content_free_json() -> None:
    facts = why_builder.explanation(make_result(pii_kinds=["email"]))
    dumped = json.dumps(facts)
    assert json.loads(dumped) == facts
    for secret in (ANSWER, QUESTION, CHUNK_TEXT, "SECRET-CHUNK-BODY", "rotation job"):
        assert secret not in dumped
    assert facts["cited"] == [1, 2]
    assert facts["retrieved"][0] == {
        "n": 1,
        "source": "docs/ops/rotation.md",
        "heading": "Rotating credentials",
        "score": 0.812,
    }
    assert facts["intent_confidence"] == 0.923
    assert facts["usage"] == {"input_tokens": 1234, "output_tokens": 56}
    assert facts["timings_ms"]["chat local"] == 812.4
    assert facts["trace_id"] == TRACE and facts["pii_kinds"] == ["email"]


def test_why_blocks_show_every_fact() -> None:
    blocks = why_builder.why_blocks(why_builder.explanation(make_result(pii_kinds=["email"])))
    assert_valid_blocks(blocks)
    assert blocks[0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "Why this answer", "emoji": True},
    }
    body = all_text(blocks)
    assert "`check_input` → `lookup_cache`" in body
    assert "question (92%, embedding)" in body and "*Cache:* miss" in body
    assert "score 0.812 · ✓ cited" in body and "[3] On-call" in body and "not cited" in body
    assert "Input: passed" in body and "PII redacted: email" in body
    assert "Output: citations OK" in body and "1,234 in / 56 out" in body
    assert TRACE in body
    latency = next(b for b in blocks if "*Latency*" in b.get("text", {}).get("text", ""))
    names = re.findall(r"`([^`]+)`", latency["text"]["text"])
    assert names == [
        "guard.input",
        "cache.lookup",
        "intent.classify",
        "retrieval knowledge",
        "chat local",
        "guard.output",
        "cache.store",
    ]
    assert latency["text"]["text"].endswith("*total* 1,035 ms")


def test_why_blocks_for_blocked_and_cached_turns() -> None:
    blocked = make_result(
        blocked_reason="message is too long",
        route=["check_input", "refuse"],
        citations=[],
        retrieved=[],
        intent=None,
        usage={},
        timings_ms={"guard.input": 1.0},
    )
    body = all_text(why_builder.why_blocks(why_builder.explanation(blocked)))
    assert "Input: blocked — message is too long" in body and "no model call" in body
    assert "*Intent:* unknown" in body and "Output: not checked" in body
    cached = make_result(
        cached=True, usage={}, route=["check_input", "lookup_cache", "save_memory"]
    )
    body = all_text(why_builder.why_blocks(why_builder.explanation(cached)))
    assert "*Cache:* hit" in body and "no model call (cached answer)" in body
    problems = make_result(guard_problems=["citation [7] names no source"])
    body = all_text(why_builder.why_blocks(why_builder.explanation(problems)))
    assert "Output: fixed — citation [7] names no source" in body


def test_why_blocks_stay_within_block_kit_limits() -> None:
    huge = make_result(
        route=[f"node_{i}" for i in range(400)],
        retrieved=[
            {"n": i, "source": "s" * 900, "heading": "h" * 900, "score": 0.5} for i in range(300)
        ],
        guard_problems=["p" * 5000] * 20,
        pii_kinds=[f"kind{i}" for i in range(500)],
        timings_ms={f"span {i}": float(i) for i in range(300)},
    )
    blocks = why_builder.why_blocks(why_builder.explanation(huge))
    assert_valid_blocks(blocks)
    assert len(blocks) <= 50
    for block in blocks:
        if block["type"] == "section":
            assert len(block["text"]["text"]) <= 3000
    assert_valid_blocks(why_builder.why_blocks({}))


# --- feedback modal ----------------------------------------------------------------------------


def test_feedback_modal_is_a_valid_view() -> None:
    modal = feedback_builder.feedback_modal(trace_id=TRACE, channel="C42", message_ts="17.5")
    View(**modal).validate_json()
    assert (modal["type"], modal["callback_id"]) == ("modal", "feedback_modal")
    assert modal["submit"]["text"] == "Send" and modal["close"]["text"] == "Cancel"
    inputs = {b["block_id"]: b for b in modal["blocks"] if b["type"] == "input"}
    reasons = inputs["reasons"]["element"]
    assert (reasons["type"], reasons["action_id"]) == ("checkboxes", "reasons")
    assert [o["value"] for o in reasons["options"]] == [
        "inaccurate",
        "outdated",
        "missing_source",
        "not_helpful",
        "other",
    ]
    comment = inputs["comment"]["element"]
    assert comment["type"] == "plain_text_input" and comment["action_id"] == "comment"
    assert comment["multiline"] is True and comment["max_length"] == 2000
    assert inputs["comment"]["optional"] is True
    assert json.loads(modal["private_metadata"]) == {
        "trace_id": TRACE,
        "channel": "C42",
        "message_ts": "17.5",
    }


def submission_payload(modal: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """A ``view_submission`` body as Slack sends it for ``modal`` (trimmed of unused ids)."""
    view = {
        **modal,
        "id": "V0123ABC",
        "team_id": "T1",
        "hash": "1712.abc",
        "root_view_id": "V0123ABC",
        "app_id": "A1",
        "bot_id": "B1",
        "previous_view_id": None,
        "external_id": "",
        "state": {"values": values},
    }
    return {
        "type": "view_submission",
        "team": {"id": "T1"},
        "user": {"id": "U7"},
        "view": view,
        "response_urls": [],
        "is_enterprise_install": False,
    }


def test_parse_feedback_submission_round_trip() -> None:
    modal = feedback_builder.feedback_modal(trace_id=TRACE, channel="C42", message_ts="17.5")
    option = next(o for o in modal["blocks"][1]["element"]["options"] if o["value"] == "outdated")
    other = {"text": {"type": "plain_text", "text": "x"}, "value": "not-a-reason"}
    values = {
        "reasons": {
            "reasons": {
                "type": "checkboxes",
                "selected_options": [option, other, modal["blocks"][1]["element"]["options"][0]],
            }
        },
        "comment": {"comment": {"type": "plain_text_input", "value": "  The page moved.  "}},
    }
    got = feedback_builder.parse_feedback_submission(submission_payload(modal, values)["view"])
    assert got == feedback_builder.FeedbackSubmission(
        trace_id=TRACE,
        channel="C42",
        message_ts="17.5",
        reasons=["inaccurate", "outdated"],
        comment="The page moved.",
    )
    empty = {
        "reasons": {"reasons": {"type": "checkboxes", "selected_options": []}},
        "comment": {"comment": {"type": "plain_text_input", "value": None}},
    }
    got = feedback_builder.parse_feedback_submission(submission_payload(modal, empty)["view"])
    assert (got.reasons, got.comment) == ([], "")


@pytest.mark.parametrize(
    ("metadata", "message"),
    [
        (None, "no private_metadata"),
        ("", "no private_metadata"),
        ("{oops", "not JSON"),
        ("[1]", "not an object"),
        ('{"trace_id": "t", "channel": "C"}', "lacks message_ts"),
    ],
    ids=["missing", "empty", "garbled", "list", "incomplete"],
)
def test_parse_feedback_submission_rejects_bad_metadata(metadata: str | None, message: str) -> None:
    view: dict[str, Any] = {"state": {"values": {}}}
    if metadata is not None:
        view["private_metadata"] = metadata
    with pytest.raises(ValueError, match=message):
        feedback_builder.parse_feedback_submission(view)


def test_feedback_thanks() -> None:
    assert "glad" in feedback_builder.feedback_thanks("good")
    assert feedback_builder.feedback_thanks("bad") != feedback_builder.feedback_thanks("good")
    assert feedback_builder.feedback_thanks("???").startswith("Thanks")


# --- home, help, prompts, stats ----------------------------------------------------------------


@pytest.mark.parametrize("is_admin", [True, False], ids=["admin", "member"])
def test_home_view_and_help(is_admin: bool) -> None:
    view = home_builder.home_view(bot_user_id="UBOT", is_admin=is_admin)
    View(**view).validate_json()
    assert view["type"] == "home" and "submit" not in view
    body = all_text(view)
    for needle in (
        "<@UBOT>",
        "/ask",
        "/assistant help",
        "/assistant feedback",
        "Ask about this message",
        "Why this answer?",
        "not kept in logs",
    ):
        assert needle in body
    assert ("/assistant stats" in body) is is_admin
    help_ = home_builder.help_text(is_admin=is_admin)
    assert "/ask" in help_ and ("/assistant stats" in help_) is is_admin


def test_suggested_prompts() -> None:
    prompts = home_builder.suggested_prompts()
    assert 3 <= len(prompts) <= 4
    for prompt in prompts:
        assert set(prompt) == {"title", "message"} and prompt["title"] and prompt["message"]


def test_stats_text() -> None:
    since = datetime(2025, 6, 1, tzinfo=UTC)
    stats = TurnStats(
        since=since,
        turns=10,
        questions=8,
        cache_hits=2,
        errors=1,
        intents=Counter({"question": 8, "chitchat": 2}),
        p50_ms=200.0,
        p95_ms=3000.0,
    )
    reply = home_builder.stats_text(stats)
    assert "since 2025-06-01 00:00 UTC" in reply and "Turns: 10 (1 failed)" in reply
    assert "cache hits 2 (25%)" in reply and "p95 3,000 ms" in reply
    assert "question 8, chitchat 2" in reply
    assert "No turns yet" in home_builder.stats_text(TurnStats(since=since))


# --- text: strings, truncate, split_message ----------------------------------------------------


def test_user_facing_strings() -> None:
    assert text.BUSY.startswith("I'm handling a lot of requests")
    assert text.rate_limited(42).endswith("try again in 42 s.")
    assert "in 2 min" in text.rate_limited(90) and "in 1 h" in text.rate_limited(3600)
    assert text.rate_limited(42, limit=20, window_s=3600) == (
        "You've reached the limit of 20 questions per hour — try again in 42 s."
    )
    apology = text.sorry(TRACE)
    assert TRACE[:8] in apology and TRACE not in apology
    assert text.THINKING_STATUS and len(text.LOADING_MESSAGES) >= 3
    assert "`/ask How do I" in text.empty_question_hint("/ask")
    assert "Mention me" in text.empty_question_hint("@mention")
    for constant in (
        text.WORKING_ON_IT,
        text.ADMIN_ONLY,
        text.NO_TEXT_IN_MESSAGE,
        text.EXPLANATION_EXPIRED,
        text.SHARE_EXPIRED,
    ):
        assert constant.strip() and len(constant) < 200


def test_fit_lines_drops_whole_lines() -> None:
    lines = [f"line {i} <https://x.test/{i}|link>" for i in range(200)]
    fitted = text.fit_lines(lines, 300)
    assert len(fitted) <= 300 and fitted.endswith(" more")
    kept = fitted.split("\n")[:-1]
    assert kept == lines[: len(kept)]
    assert f"…and {200 - len(kept)} more" == fitted.split("\n")[-1]
    assert text.fit_lines(["a", "b"], 10) == "a\nb"
    assert len(text.fit_lines(["x" * 500, "y"], 100)) <= 100


def test_truncate() -> None:
    assert text.truncate("short", 10) == "short"
    assert text.truncate("a long sentence here", 10) == "a long se…"
    assert len(text.truncate("x" * 50, 7)) == 7
    with pytest.raises(ValueError):
        text.truncate("x", 0)


WORDS = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu".split()


def generated_text(rng: random.Random) -> str:
    """Prose paragraphs, long unbroken tokens and fenced code blocks, in random mixes."""
    parts = []
    for _ in range(rng.randint(1, 25)):
        kind = rng.random()
        if kind < 0.25:
            lang = rng.choice(["", "python", "bash"])
            lines = [
                "    " * rng.randint(0, 2) + " ".join(rng.choices(WORDS, k=rng.randint(0, 10)))
                for _ in range(rng.randint(1, 30))
            ]
            parts.append(f"```{lang}\n" + "\n".join(lines) + "\n```")
        elif kind < 0.35:
            parts.append("x" * rng.randint(1, 300))
        else:
            sentences = [
                " ".join(rng.choices(WORDS, k=rng.randint(1, 15))).capitalize()
                + rng.choice([".", "!", "?", ""])
                for _ in range(rng.randint(1, 12))
            ]
            parts.append(rng.choice([" ", "\n"]).join(sentences))
    return rng.choice(["\n\n", "\n"]).join(parts)


def without_fences_or_space(value: str) -> str:
    return re.sub(r"\s+", "", re.sub(r"```[\w+-]*", "", value))


def fence_lines(chunk: str) -> int:
    return sum(line.lstrip().startswith("```") for line in chunk.split("\n"))


def test_split_message_invariants_on_generated_texts() -> None:
    for seed in range(250):
        rng = random.Random(seed)
        source = generated_text(rng)
        limit = rng.choice([16, 40, 120, 500, 3000])
        chunks = text.split_message(source, limit)
        assert chunks, seed
        for chunk in chunks:
            assert 0 < len(chunk) <= limit and chunk.strip(), (seed, limit, chunk)
            if limit >= 120:  # room to close and reopen every fence
                assert fence_lines(chunk) % 2 == 0, (seed, limit, chunk)
        joined = "\n".join(chunks)
        assert without_fences_or_space(joined) == without_fences_or_space(source), (seed, limit)


def test_split_message_prefers_paragraphs_then_lines_then_sentences() -> None:
    para = "First paragraph is here. " * 3
    assert text.split_message(f"{para}\n\n{para}\n{para}", 170)[0] == para.strip()
    lines = "\n".join(f"line {i} of a list" for i in range(20))
    assert all(not c.startswith(" ") for c in text.split_message(lines, 60))
    assert [
        c[-1] for c in text.split_message("One two three. Four five six. Seven eight.", 32)
    ] == [".", "."]
    assert text.split_message("a" * 40, 16) == ["a" * 16, "a" * 16, "a" * 8]
    assert text.split_message(" \n\n ", 100) == [] and text.split_message("hi", 100) == ["hi"]
    with pytest.raises(ValueError):
        text.split_message("x", 10)


def test_split_message_keeps_short_code_blocks_whole_and_reopens_long_ones() -> None:
    code = "```python\nx = 1\ny = 2\n```"
    chunks = text.split_message(f"{'Intro words. ' * 8}\n\n{code}\n\nThe end.", 120)
    assert chunks[-1] == f"{code}\n\nThe end."
    long_code = "```python\n" + "\n".join(f"value_{i} = {i}" for i in range(60)) + "\n```"
    chunks = text.split_message(long_code, 200)
    assert len(chunks) > 1
    for chunk in chunks:
        assert chunk.startswith("```python\n") and chunk.endswith("\n```")
