"""Groundedness: sentence splitting, support scores, the numbers and citation rules, the validator.

Passages are real Python FAQ answers (three rows of the shared ``python-faq.jsonl``); the
embedding tests use the bundled all-MiniLM-L6-v2 through ``knowledge.embeddings``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from guardrails import AsyncGuard, OnFailAction
from guardrails.validator_base import FailResult, PassResult, validators_registry
from typer.testing import CliRunner

from evals.cli import bench_app
from evals.grounded import load_rows, measure
from guards.groundedness import (
    CITED_LEXICAL_SUPPORT,
    LEXICAL_SUPPORT,
    Embed,
    Grounded,
    content_terms,
    groundedness,
    sentence_spans,
    support_scores,
)
from guards.validators import configure_offline
from knowledge.embeddings import get_embedder

COPY = """The :mod:`shutil` module contains a :func:`~shutil.copyfile` function.
Note that on Windows NTFS volumes, it does not copy
`alternate data streams
<https://en.wikipedia.org/wiki/NTFS#Alternate_data_stream_(ADS)>`_
nor `resource forks <https://en.wikipedia.org/wiki/Resource_fork>`__
on macOS HFS+ volumes, though both are now rarely used.
It also doesn't copy file permissions and metadata, though using
:func:`shutil.copy2` instead will preserve most (though not all) of it."""

RANDOM = """The standard module :mod:`random` implements a random number generator.  Usage
is simple::

   import random
   random.random()

This returns a random floating point number in the range [0, 1).

There are also many other specialized generators in this module, such as:

* ``randrange(a, b)`` chooses an integer in the range [a, b).
* ``uniform(a, b)`` chooses a floating point number in the range [a, b).
* ``normalvariate(mean, sdev)`` samples the normal (Gaussian) distribution.

Some higher-level functions operate on sequences directly, such as:

* ``choice(S)`` chooses a random element from a given sequence.
* ``shuffle(L)`` shuffles a list in-place, i.e. permutes it randomly.

There's also a ``Random`` class you can instantiate to create independent
multiple random number generators."""

INSTALLED = """If you find Python installed on your system but don't remember installing it,
there are several possible ways it could have gotten there.

* A third-party application installed on the machine might have been written in
  Python and included a Python installation.  There are many such applications,
  from GUI programs to network servers and administrative scripts.
* Many Unix-compatible operating systems, such as macOS and some Linux
  distributions, have Python installed by default; it's included in the base
  installation."""

PASSAGES = [COPY, RANDOM, INSTALLED]

GROUNDED_ANSWER = """Sure! Here is how:

- The `shutil` module contains a `copyfile()` function [1].
- It doesn't copy file permissions and metadata; `shutil.copy2()` preserves most of it [1].

```python
import shutil
shutil.copy2("src.txt", "dst.txt")
```

Does that answer your question?"""

HALLUCINATED = (
    "The shutil module contains a copyfile() function. "
    "It was written by Guido in 1991 during a holiday in Amsterdam. "
    "Every copy is verified with a SHA-256 checksum before it returns."
)


@pytest.fixture(scope="module")
def embed() -> Embed:
    return get_embedder().embed


def spans_text(text: str, code: bool = False) -> list[str]:
    return [text[a:b] for a, b in sentence_spans(text, code=code)]


# --- splitting -------------------------------------------------------------------------------


def test_sentences_split_bullets_wrapped_lines_and_skip_code() -> None:
    assert spans_text(GROUNDED_ANSWER) == [
        "Sure!",
        "Here is how:",
        "The `shutil` module contains a `copyfile()` function [1].",
        "It doesn't copy file permissions and metadata; `shutil.copy2()` preserves most of it [1].",
        "Does that answer your question?",
    ]
    wrapped = spans_text(INSTALLED)
    assert wrapped[0].startswith("If you find Python") and wrapped[0].endswith("gotten there.")
    assert "\n" in wrapped[0]  # one sentence over two lines


def test_code_lines_are_spans_only_when_asked() -> None:
    code = spans_text(GROUNDED_ANSWER, code=True)
    assert "import shutil" in code and 'shutil.copy2("src.txt", "dst.txt")' in code
    assert not any("```" in s for s in code)
    assert spans_text(RANDOM, code=True).count("import random") == 1  # reST literal block
    assert "import random" not in " ".join(spans_text(RANDOM))


def test_citation_after_the_full_stop_and_abbreviations_stay_with_the_sentence() -> None:
    text = "Use copyfile(). [1] Then check e.g. the size, etc. Done with Mr. Smith? Yes."
    assert spans_text(text) == [
        "Use copyfile(). [1]",
        "Then check e.g. the size, etc. Done with Mr. Smith?",
        "Yes.",
    ]


def test_cjk_sentences_split_on_ideographic_full_stops() -> None:
    assert spans_text("パイソンは言語です。とても人気があります！") == [
        "パイソンは言語です。",
        "とても人気があります！",
    ]


def test_content_terms_drop_stop_words_stem_and_keep_numbers_exact() -> None:
    assert content_terms("It is running the tests using 1,000 workers on Python 3.11.") == [
        "run",
        "test",
        "use",
        "1000",
        "worker",
        "python",
        "3.11",
    ]
    assert content_terms("Use :func:`os.path.join`") == ["use", "os", "path", "join"]
    assert content_terms("日本語") == ["日本", "本語"]


# --- support scores --------------------------------------------------------------------------


def test_grounded_answer_is_fully_supported_and_points_at_its_passage() -> None:
    result = groundedness(GROUNDED_ANSWER, PASSAGES)
    assert result.score == 1.0 and result.unsupported == []
    assert [s.best_passage for s in result.sentences] == [0, 0]
    first = result.sentences[0]
    assert GROUNDED_ANSWER[first.start : first.end] == first.sentence
    assert first.lexical >= LEXICAL_SUPPORT and first.semantic is None


def test_hallucinated_statements_are_unsupported() -> None:
    result = groundedness(HALLUCINATED, PASSAGES)
    assert [s.supported for s in result.sentences] == [True, False, False]
    assert result.score == pytest.approx(1 / 3, abs=1e-3)
    assert result.unsupported[0].startswith("It was written by Guido")
    assert result.sentences[1].unsupported_numbers == ("1991",)


@pytest.mark.parametrize(
    "answer",
    [
        "Hi there! Happy to help.",
        "Here is how:",
        "Which version of Python are you using?",
        "I couldn't find anything about that in the team's documents.",
        "Unfortunately, the docs don't cover symlinks.",
        "I hope this helps!",
        "Sources: [1] [2]",
        "Yes.",
    ],
    ids=["greeting", "intro", "question", "not-found", "docs-silent", "closing", "sources", "yes"],
)
def test_sentences_that_state_no_fact_are_skipped(answer: str) -> None:
    assert support_scores(answer, PASSAGES) == []
    assert groundedness(answer, []).score == 1.0


@pytest.mark.parametrize(
    "answer",
    ["", "   \n", "```python\nimport shutil\nshutil.copy('a', 'b')\n```"],
    ids=["empty", "blank", "code-only"],
)
def test_nothing_to_check_scores_one(answer: str) -> None:
    result = groundedness(answer, PASSAGES)
    assert result.score == 1.0 and result.sentences == [] and result.unsupported == []


def test_no_passages_supports_nothing() -> None:
    result = groundedness(HALLUCINATED, [])
    assert result.score == 0.0
    assert all(s.best_passage is None and s.lexical == 0.0 for s in result.sentences)
    assert len(result.unsupported) == 3


def test_a_number_no_passage_holds_makes_the_sentence_unsupported() -> None:
    ok, bad = support_scores(
        "random.random() returns a floating point number in the range [0, 1). "
        "random.random() returns a floating point number in the range [0, 2).",
        PASSAGES,
    )
    assert ok.supported and ok.unsupported_numbers == ()
    assert bad.lexical >= LEXICAL_SUPPORT and not bad.supported
    assert bad.unsupported_numbers == ("2",)


def test_spelled_numbers_and_version_prefixes_in_passages_count() -> None:
    passages = ["Python 3.11 ships two new modules: tomllib and wsgiref.types."]
    scores = support_scores("Python 3 ships 2 new modules, tomllib and wsgiref.types.", passages)
    assert scores[0].supported and scores[0].unsupported_numbers == ()


def test_a_citation_to_the_right_passage_lowers_the_bar() -> None:
    sentence = "The shutil module provides copyfile and copy2 for duplicating"
    plain = support_scores(sentence + ".", PASSAGES)[0]
    assert CITED_LEXICAL_SUPPORT <= plain.lexical < LEXICAL_SUPPORT and not plain.supported
    cited = support_scores(sentence + " [1].", PASSAGES)[0]
    assert cited.supported and cited.best_passage == 0
    wrong = support_scores(sentence + " [2].", PASSAGES)[0]
    assert not wrong.supported


def test_a_citation_to_a_missing_passage_grants_nothing() -> None:
    sentence = "The shutil module provides copyfile and copy2 for duplicating [7]."
    result = support_scores(sentence, PASSAGES)[0]
    assert not result.supported and result.best_passage == 0
    assert support_scores("The shutil module contains a copyfile function [9].", PASSAGES)[
        0
    ].supported  # judged on its words as usual


def test_other_languages_are_scored_by_their_own_words() -> None:
    passages = [
        "Das Modul shutil enthält die Funktion copyfile. Sie kopiert keine Dateiberechtigungen.",
        "Le module random implémente un générateur de nombres aléatoires.",
    ]
    answer = (
        "Die Funktion copyfile im Modul shutil kopiert keine Dateiberechtigungen. "
        "Le module random implémente un générateur de nombres aléatoires. "
        "Das Modul wurde 2005 von Hand in Fortran geschrieben."
    )
    assert [s.supported for s in support_scores(answer, passages)] == [True, True, False]


def test_a_very_long_answer_completes_quickly() -> None:
    answer = "\n".join(
        f"- The shutil module contains a copyfile function, note {1 if i % 2 else 7}."
        for i in range(3000)
    )
    started = time.perf_counter()
    result = groundedness(answer, PASSAGES * 5)
    assert time.perf_counter() - started < 15
    assert len(result.sentences) == 3000
    assert result.score == 0.5  # "7" is in no passage; "1" is ("[0, 1)")


# --- embeddings ------------------------------------------------------------------------------


def test_semantic_support_accepts_a_paraphrase_and_rejects_an_unrelated_claim(
    embed: Embed,
) -> None:
    answer = (
        "Unix-like operating systems, for example macOS and certain Linux distros, come with "
        "Python preinstalled. "
        "choice(S) picks one item of the sequence S at random. "
        "Use the secrets module to generate tokens."
    )
    lexical_only = support_scores(answer, PASSAGES)
    assert [s.semantic for s in lexical_only] == [None, None, None]
    assert not any(s.supported for s in lexical_only)  # reworded: few shared words
    embedded = support_scores(answer, PASSAGES, embed)
    assert [s.supported for s in embedded] == [True, True, False]
    assert [s.best_passage for s in embedded[:2]] == [2, 1]
    assert all(0.0 <= (s.semantic or 0.0) <= 1.0 + 1e-6 for s in embedded)


def test_paraphrases_pass_with_citations_on_semantic_evidence(embed: Embed) -> None:
    paraphrases = [
        "randrange(a, b) yields an integer between a inclusive and b exclusive",
        "The random module provides a generator of pseudo-random numbers",
        "Some Linux distributions and macOS ship Python as part of the base system",
        "Python may come bundled with a third-party application written in it",
    ]
    plain = support_scores(". ".join(paraphrases) + ".", PASSAGES, embed)
    assert not any(s.supported for s in plain)
    cited = support_scores(
        " [2]. ".join(paraphrases[:2]) + " [2]. " + " [3]. ".join(paraphrases[2:]) + " [3].",
        PASSAGES,
        embed,
    )
    assert [s.supported for s in cited] == [True, True, True, True]
    assert all(s.lexical < LEXICAL_SUPPORT for s in cited)


def test_embed_returning_the_wrong_number_of_vectors_is_an_error() -> None:
    with pytest.raises(ValueError, match="vectors"):
        support_scores(HALLUCINATED, PASSAGES, lambda texts: [[1.0, 0.0]])


# --- validator -------------------------------------------------------------------------------


def test_validator_is_registered_and_checks_its_arguments() -> None:
    assert validators_registry["assistant/grounded"] is Grounded
    with pytest.raises(ValueError, match="min_supported"):
        Grounded(min_supported=1.5)
    with pytest.raises(ValueError, match="passages"):
        Grounded().validate(HALLUCINATED, {"passages": "not a list"})
    with pytest.raises(ValueError, match="embed"):
        Grounded().validate(HALLUCINATED, {"passages": PASSAGES, "embed": 3})


def test_validator_message_counts_and_never_quotes() -> None:
    outcome = Grounded().validate(HALLUCINATED, {"passages": PASSAGES})
    assert isinstance(outcome, FailResult)
    assert outcome.error_message == "2 of 3 statements are not supported by the retrieved sources"
    assert outcome.fix_value is None
    assert [(s.start, s.end) for s in outcome.error_spans or []] == [
        (s.start, s.end) for s in groundedness(HALLUCINATED, PASSAGES).sentences[1:]
    ]
    one = Grounded(min_supported=1.0).validate(GROUNDED_ANSWER + " It is 42.", {"passages": []})
    assert isinstance(one, FailResult)
    assert one.error_message == "3 of 3 statements are not supported by the retrieved sources"
    single = Grounded(min_supported=1.0).validate("It is 42.", {"passages": PASSAGES})
    assert isinstance(single, FailResult)
    assert single.error_message == "1 of 1 statement is not supported by the retrieved sources"
    assert isinstance(
        Grounded(min_supported=0.3).validate(HALLUCINATED, {"passages": PASSAGES}), PassResult
    )


async def test_validator_through_asyncguard(embed: Embed) -> None:
    guard = configure_offline(
        AsyncGuard(name="test-grounded", history_max_length=1).use(
            Grounded(on_fail=OnFailAction.NOOP)
        )
    )
    ok = await guard.validate(GROUNDED_ANSWER, metadata={"passages": PASSAGES})
    assert ok.validation_passed is True and ok.validated_output == GROUNDED_ANSWER
    bad = await guard.validate(HALLUCINATED, metadata={"passages": PASSAGES, "embed": embed})
    assert bad.validation_passed is False
    reason = bad.validation_summaries[0].failure_reason or ""
    assert reason == "2 of 3 statements are not supported by the retrieved sources"
    for word in ("Guido", "1991", "Amsterdam", "SHA-256", "checksum"):
        assert word not in reason


# --- calibration bench -------------------------------------------------------------------------


def test_bench_measures_supported_and_negative_sets(tmp_path: Path) -> None:
    rows = [
        {"answer": COPY, "source": "faq/library.rst.txt"},
        {"answer": RANDOM, "source": "faq/library.rst.txt"},
        {"answer": INSTALLED, "source": "faq/installed.rst.txt"},
        {"answer": HALLUCINATED, "source": "faq/installed.rst.txt"},
        {"answer": GROUNDED_ANSWER, "source": "faq/other.rst.txt"},
        {"answer": "Python 3.11 ships two new modules.", "source": "faq/other.rst.txt"},
    ]
    data = tmp_path / "faq.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    report = measure(load_rows(data))
    assert report["answers"] == 6 and report["sentences"]["supported"] > 10
    assert report["lexical_only"]["recall"] == 1.0
    assert 0.0 <= report["lexical_only"]["fpr_hard"] <= 1.0
    assert set(report["picked"]) == {"lexical", "cited_lexical"}
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "q"}\n', encoding="utf-8")
    result = CliRunner().invoke(bench_app, ["grounded", "--data", str(bad), "--no-embed"])
    assert result.exit_code == 1 and "error:" in result.output
