"""Application logs: JSON lines whose tracebacks carry no local variables (they hold message
text and tokens) and whose secrets are scrubbed."""

from __future__ import annotations

import json
import logging

import pytest
import structlog

from guards.redaction import REDACTOR
from observe.logging import configure_logging


def test_exception_logs_have_no_locals_and_no_secrets(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(redactor=REDACTOR, json=True, level=logging.INFO)
    log = structlog.get_logger("test")

    def answer(question: str) -> None:
        token = "xoxb-123456789012-abcdefghijkl"  # noqa: F841 - a local the traceback must not show
        raise RuntimeError("model failed")

    try:
        answer("my card is 4111 1111 1111 1111, why was I charged twice?")
    except RuntimeError:
        log.exception("turn failed", header="Bearer xoxb-123456789012-abcdefghijkl")
    line = capsys.readouterr().err.strip().splitlines()[-1]
    record = json.loads(line)
    assert record["event"] == "turn failed"
    assert record["exception"][0]["exc_type"] == "RuntimeError"
    assert "4111" not in line and "charged twice" not in line
    assert "abcdefghijkl" not in line


def test_exception_messages_are_scrubbed_too(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(redactor=REDACTOR, json=True, level=logging.INFO)
    try:
        raise ConnectionError("cannot reach rediss://default:S3cretPassw0rd@cache.internal:6380/0")
    except ConnectionError:
        structlog.get_logger("test").exception("redis failed")
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert "S3cretPassw0rd" not in line
    assert json.loads(line)["exception"][0]["exc_type"] == "ConnectionError"


def test_personal_data_is_redacted_from_fields_exception_text_and_stdlib_logs(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A listener's exception often quotes the message it choked on: its personal data must not
    reach the log, whichever logger writes it."""
    configure_logging(redactor=REDACTOR, json=True, level=logging.INFO)
    email, card = "jane.doe@example.com", "4111 1111 1111 1111"
    try:
        raise ValueError(f"could not parse message from {email} (card {card})")
    except ValueError as exc:
        structlog.get_logger("bot").exception("listener failed", error=str(exc))
        logging.getLogger("slack_bolt.App").error("failed: %s", exc, exc_info=exc)
    lines = capsys.readouterr().err.strip().splitlines()[-2:]
    for line in lines:
        record = json.loads(line)
        assert email not in line and "4111" not in line, line
        assert "<EMAIL>" in line, "the value is replaced, not the whole line dropped"
        assert record["exception"][0]["exc_type"] == "ValueError"
