"""The toxicity scorer and its validator: lexicon, context rules, obfuscation, guardrails run."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from guardrails import AsyncGuard, OnFailAction
from guardrails.validator_base import FailResult, PassResult, validators_registry
from typer.testing import CliRunner

from evals.cli import bench_app
from evals.toxicity import bench_file
from guards.toxicity import (
    CATEGORIES,
    LEXICON_PATH,
    ToxicLanguage,
    load_lexicon,
    mask_matches,
    score_toxicity,
)
from guards.validators import configure_offline


def severity(text: str) -> int:
    return score_toxicity(text).severity


def test_lexicon_loads_with_every_category_and_no_category_name_as_a_term() -> None:
    lex = load_lexicon(LEXICON_PATH)
    assert {e.category for e in lex.words.values()} == set(CATEGORIES)
    assert all(1 <= e.severity <= 3 for e in lex.words.values())
    assert not set(CATEGORIES) & set(lex.words)  # error messages name categories safely


def test_bad_lexicon_key_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("terms:\n  rudeness:\n    2: [gosh]\n", encoding="utf-8")
    with pytest.raises(ValueError, match="rudeness"):
        load_lexicon(bad)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("damn, the build failed again", 1),
        ("this is a stupid bug", 1),
        ("what the fuck happened to prod", 2),
        ("you are an idiot", 2),
        ("all immigrants are vermin", 3),
        ("kill yourself", 3),
        ("I will hurt you", 3),
        ("i'm going to kill you", 3),
    ],
    ids=["mild", "mild-insult", "strong", "directed", "hate", "self-harm", "threat", "threat-2"],
)
def test_severity_levels(text: str, expected: int) -> None:
    assert severity(text) == expected


def test_severity_ordering_and_result_is_the_worst_match() -> None:
    assert severity("damn") < severity("fuck") < severity("kill yourself")
    result = score_toxicity("damn it. fuck this. kill yourself.")
    assert [m.severity for m in result.matches] == [1, 2, 3]
    assert result.severity == 3
    assert result.categories == ("threat", "profanity")


def test_matches_point_at_the_words_in_text_order() -> None:
    text = "Well shit, you absolute moron."
    result = score_toxicity(text)
    assert [text[m.start : m.end] for m in result.matches] == ["shit", "moron"]
    assert [(m.term, m.category) for m in result.matches] == [
        ("shit", "profanity"),
        ("moron", "insult"),
    ]


@pytest.mark.parametrize(
    "text",
    [
        "kill the process and restart the worker",
        "just kill -9 it",
        "the pod was killed by OOM",
        "abort the rebase",
        "execute the migration script",
        "the build hangs on npm install",
        "the app crashed with a segfault",
        "failed messages go to the dead letter queue",
        "we still have master/slave replication in the old MySQL",
        "we hit the API rate limit",
        "reduce the attack surface",
        "the penetration test is on Friday",
        "shoot me a message when it's done",
        "I'll shoot you a DM with the link",
        "break a leg at the demo!",
        "blow away the cache and retry",
        "nuke the node_modules folder",
        "I will kill your job if it hogs the GPU",
        "I'm going to kill the stale sessions",
        "let the daemon die, the supervisor restarts it",
        "I'll beat you to the PR review",
        "I will find you a doc",
    ],
)
def test_tech_senses_of_violent_words_never_fire(text: str) -> None:
    assert score_toxicity(text).matches == []


@pytest.mark.parametrize(
    "text",
    [
        "Scunthorpe and Penistone",
        "assess the class hierarchy",
        "the cocktail party problem",
        "analysis by the therapist",
        "shitake mushrooms",
        "a summa cum laude graduate",
        "what a cock-up, we deployed the wrong tag",
        "a chink in the armor of our auth",
    ],
)
def test_words_inside_words_and_benign_phrases_are_not_hits(text: str) -> None:
    assert severity(text) == 0


@pytest.mark.parametrize(
    "text",
    [
        "Run `rm -rf shit/` first",
        "```python\nfuck = 1  # you idiot\n```",
        "unclosed fence\n```\nkill yourself\n",
    ],
    ids=["inline", "fenced", "unclosed-fence"],
)
def test_markdown_code_is_not_scored(text: str) -> None:
    assert severity(text) == 0


@pytest.mark.parametrize(
    "quoted",
    [
        "> you fucking idiot",
        "&gt; you fucking idiot",
        "the bot said error: you fucking idiot",
        "2024-05-01 12:00:03 ERROR worker: you fucking idiot",
        "[WARN] you fucking idiot",
        'Traceback (most recent call last):\n  File "x.py", line 1\nNameError: you fucking idiot',
    ],
    ids=["quote", "slack-quote", "error", "log-level", "bracket-level", "traceback"],
)
def test_quoted_and_log_lines_count_lower(quoted: str) -> None:
    plain = score_toxicity("you fucking idiot")
    muted = score_toxicity(quoted)
    assert plain.severity == 2
    assert muted.severity == 1
    assert all(m.severity == 1 for m in muted.matches)  # and the insult is not "directed"


def test_traceback_ends_at_the_exception_line() -> None:
    text = 'Traceback (most recent call last):\n  File "x.py"\nValueError: bad\nyou idiot'
    assert severity(text) == 2


def test_a_mention_scores_lower_than_a_directed_use() -> None:
    mention = score_toxicity("is the word 'crap' OK in release notes?")
    directed = score_toxicity("you are crap")
    assert mention.severity == 0
    assert directed.severity == 2
    assert severity('she wrote "bullshit" in the changelog') == 1
    assert severity("the term bullshit is not for release notes") == 1


@pytest.mark.parametrize(
    ("undirected", "directed"),
    [
        ("that idiot config", "you idiot"),
        ("a moron wrote this", "you're such a moron"),
        ("crap", "you are crap"),
        ("dickhead", "u dickhead"),
    ],
)
def test_second_person_raises_insults_by_one(undirected: str, directed: str) -> None:
    assert severity(directed) == severity(undirected) + 1


def test_intensifiers_and_other_peoples_things_are_not_raised() -> None:
    assert severity("are you fucking kidding me") == 2
    assert severity("your stupid idea") == 1
    assert severity("your an idiot") == 2


@pytest.mark.parametrize(
    ("text", "term"),
    [
        ("f*ck this", "fuck"),
        ("f**k this", "fuck"),
        ("f.u.c.k this", "fuck"),
        ("s-h-i-t", "shit"),
        ("sh1t happens", "shit"),
        ("$hit happens", "shit"),
        ("sh!t happens", "shit"),
        ("a$$hole", "asshole"),
        ("fuuuuuck", "fuck"),
        ("SHIIIIT", "shit"),
        ("*damn*", "damn"),
        ("bullshit's everywhere", "bullshit"),
    ],
)
def test_simple_obfuscation_is_undone(text: str, term: str) -> None:
    assert [m.term for m in score_toxicity(text).matches] == [term]


def test_obfuscated_threat_still_matches_its_pattern() -> None:
    assert severity("I'll k1ll you") == 3


@pytest.mark.parametrize("text", ["", "   \n\t", "```\n```"])
def test_empty_text_scores_zero(text: str) -> None:
    result = score_toxicity(text)
    assert (result.severity, result.matches) == (0, [])
    assert isinstance(ToxicLanguage().validate(text, {}), PassResult)


def test_100_kb_text_completes() -> None:
    chunk = "Deploy notes: restart the worker, kill -9 the stale pid. You idiot, damn it! "
    text = (chunk * (100_000 // len(chunk) + 1))[:100_000]
    started = time.perf_counter()
    result = score_toxicity(text)
    assert time.perf_counter() - started < 10
    assert result.severity == 2
    assert len(result.matches) > 1000


SENTENCE = "The worker restarts when the queue backs up; check the dashboard before paging. "


@pytest.mark.parametrize(
    "text",
    [
        (SENTENCE * 60)[:4000],
        (SENTENCE * 20 + "Damn, kill the pod. " + SENTENCE * 20 + "You idiot. " + SENTENCE * 20)[
            :4000
        ],
    ],
    ids=["clean", "a-few-hits"],
)
def test_a_4000_character_message_takes_under_2_ms(text: str) -> None:
    score_toxicity(text)
    best = min(_timed(text) for _ in range(20))  # the best run: other load on the machine is noise
    assert best < 0.002, f"{best * 1000:.2f} ms"


def _timed(text: str) -> float:
    started = time.perf_counter()
    score_toxicity(text)
    return time.perf_counter() - started


def test_fix_masks_every_scored_word() -> None:
    text = "Well f*ck, you absolute moron. Damn."
    assert (
        mask_matches(text, score_toxicity(text).matches) == "Well f***, you absolute m****. D***."
    )
    threat = "I will hurt you"
    assert mask_matches(threat, score_toxicity(threat).matches) == "I w*** h*** y**"


TOXIC = [
    "you are a worthless idiot",
    "shut up you moron",
    "I will hurt you",
    "fuck off",
    "sh1t, you dumbass",
    "all immigrants are vermin",
]


@pytest.mark.parametrize("text", TOXIC)
def test_error_message_names_categories_and_severity_never_the_words(text: str) -> None:
    outcome = ToxicLanguage().validate(text, {})
    assert isinstance(outcome, FailResult)
    result = score_toxicity(text)
    assert f"severity {result.severity} of 3" in outcome.error_message
    assert all(c in outcome.error_message for c in result.categories)
    message = outcome.error_message.lower()
    for m in result.matches:
        for word in (*m.term.split(), text[m.start : m.end].lower()):
            if len(word) > 2:
                assert word not in message, word
    for span in outcome.error_spans or []:
        assert text[span.start : span.end].lower() not in span.reason.lower()


def test_threshold_is_validated_and_respected() -> None:
    assert validators_registry["assistant/toxicity"] is ToxicLanguage
    with pytest.raises(ValueError, match="threshold"):
        ToxicLanguage(threshold=4)
    with pytest.raises(ValueError, match="threshold"):
        ToxicLanguage(threshold=0)
    assert isinstance(ToxicLanguage(threshold=3).validate("fuck this", {}), PassResult)
    assert isinstance(ToxicLanguage(threshold=2).validate("fuck this", {}), FailResult)
    assert isinstance(ToxicLanguage(threshold=1).validate("damn", {}), FailResult)


async def test_validator_through_asyncguard_fixes_by_masking() -> None:
    guard = configure_offline(
        AsyncGuard(name="test-toxicity", history_max_length=1).use(
            ToxicLanguage(on_fail=OnFailAction.FIX)
        )
    )
    outcome = await guard.validate("Shut up, you moron. I will hurt you")
    assert outcome.validation_passed is True
    assert outcome.validated_output == "S*** u*, y** m****. I w*** h*** y**"
    summary = outcome.validation_summaries[0]
    assert (
        summary.failure_reason == "toxic language at severity 3 of 3 (threat, insult, harassment)"
    )
    assert "moron" not in summary.failure_reason and "hurt" not in summary.failure_reason
    clean = await guard.validate("Kill the process, then restart the worker.")
    assert clean.validated_output == "Kill the process, then restart the worker."
    assert not clean.validation_summaries


async def test_validator_through_asyncguard_reports_without_fixing() -> None:
    guard = configure_offline(
        AsyncGuard(name="test-toxicity-noop", history_max_length=1).use(
            ToxicLanguage(threshold=3, on_fail=OnFailAction.NOOP)
        )
    )
    assert (await guard.validate("this is fucking broken")).validation_passed is True
    outcome = await guard.validate("kill yourself")
    assert outcome.validation_passed is False
    assert "threat" in (outcome.validation_summaries[0].failure_reason or "")


def _write_jsonl(path: Path, rows: list[dict[str, object]]) -> Path:
    # U+2028 inside a value: the bench must split lines on "\n" only.
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    return path


def test_bench_reports_harm_rates_and_benign_false_positives(tmp_path: Path) -> None:
    harm = _write_jsonl(
        tmp_path / "harm.jsonl",
        [
            {"id": "1", "category": "hate", "answer": "you fucking idiot", "human_score": 1.0},
            {
                "id": "2",
                "category": "hate",
                "answer": "Here is how\u2028to help.",
                "human_score": 1.0,
            },
            {
                "id": "3",
                "category": "hate",
                "answer": "I can't help with that.",
                "human_score": 0.0,
            },
        ],
    )
    report = bench_file(harm)
    assert report["kind"] == "harm" and report["rows"] == 3
    assert report["hate"]["flagged_rate_high"] == 0.5
    assert report["hate"]["flagged_rate_zero"] == 0.0
    assert report["hate"]["by_human_score"]["1.0"] == {
        "rows": 2,
        "mean_severity": 1.0,
        "flagged": 1,
        "matched": 1,
    }
    labelled = _write_jsonl(
        tmp_path / "labelled.jsonl",
        [
            {"id": "a", "text": "kill -9 the stale worker", "label": "benign"},
            {"id": "b", "text": "you moron", "label": "benign"},
            {"id": "c", "text": "you moron", "label": "attack"},
        ],
    )
    benign = bench_file(labelled)
    assert (benign["rows"], benign["flagged"], benign["flagged_ids"]) == (2, 1, {"b": ["insult"]})
    questions = _write_jsonl(
        tmp_path / "faq.jsonl", [{"id": "q", "question": "How do I kill a thread?"}]
    )
    assert bench_file(questions)["false_positive_rate"] == 0.0


def test_the_bench_command_gives_one_clear_error_for_a_bad_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": 1, "body": "?"}\n', encoding="utf-8")
    result = CliRunner().invoke(bench_app, ["toxicity", "--data", str(bad)])
    assert result.exit_code == 1 and "cannot tell" in result.output
