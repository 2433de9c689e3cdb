"""Redaction of personal data and secrets in free text.

``redact_pii`` is used twice: by the input guard before the model sees a message, and by the trace
processor before any kept message text is written. ``redact_secrets`` runs on every string in every
trace record, so a token pasted into a message or an exception never reaches the logs.
"""

from __future__ import annotations

import hashlib
import re

# Order matters: the more specific patterns run first (an IBAN contains card-like digit runs).
PII_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("EMAIL", re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b")),
    ("IBAN", re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){3,7}(?: ?[A-Z0-9]{1,3})?\b")),
    ("SSN", re.compile(r"\b\d{3}-\d{2}-\d{4}\b")),
    # Grouped like a card (4-4-4-x, Amex 4-6-5) or one run of 13-19 digits; Luhn-checked below.
    (
        "CARD",
        re.compile(r"\b(?:(?:\d{4}[ -]){3}\d{1,7}|\d{4}[ -]\d{6}[ -]\d{5}|\d{13,19})\b"),
    ),
    # International (+CC ...) or North-American grouped numbers; bare digit runs are not phones.
    (
        "PHONE",
        re.compile(
            r"(?<![\w+])(?:\+\d{1,3}[ .-]?(?:\(?\d{1,4}\)?[ .-]?){1,4}\d{2,4}"
            r"|\(?\b\d{3}\)?[ .-]\d{3}[ .-]\d{4}\b)(?![\w-])"
        ),
    ),
    ("IP", re.compile(r"\b(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)\b")),
)
_VERSION_CONTEXT = re.compile(r"(?i)(?:version|release|upgrade|v|==|>=|<=)\s*$")


def _luhn_ok(number: str) -> bool:
    digits = [int(c) for c in number if c.isdigit()]
    total = 0
    for i, digit in enumerate(reversed(digits)):
        if i % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def _is_pii(kind: str, match: re.Match[str]) -> bool:
    """Second-stage checks that regexes cannot express."""
    if kind == "CARD":
        return _luhn_ok(match.group(0))
    if kind == "IP":
        before = match.string[max(0, match.start() - 12) : match.start()]
        return not _VERSION_CONTEXT.search(before)
    return True


def _redact(kind: str, pattern: re.Pattern[str], text: str) -> str:
    return pattern.sub(lambda m: f"<{kind}>" if _is_pii(kind, m) else m.group(0), text)


SECRET_PATTERNS: tuple[re.Pattern[str], ...] = (
    re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{8,}"),  # Slack bot/user tokens
    re.compile(r"\bxapp-[A-Za-z0-9-]{8,}"),  # Slack app-level tokens
    re.compile(r"\bsk-(?:ant-|proj-)?[A-Za-z0-9_-]{16,}"),  # OpenAI / Anthropic keys
    re.compile(r"\bAKIA[0-9A-Z]{16}\b"),  # AWS access key id
    re.compile(r"\bgh[pousr]_[A-Za-z0-9]{30,}\b"),  # GitHub tokens
    re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]{12,}"),
    re.compile(r"(?i)\b(?:password|passwd|secret|token|api[_-]?key)\s*[:=]\s*\S+"),
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----"),
    re.compile(r"(?i)(redis|rediss|postgres(?:ql)?|mysql|amqp|https?)://[^:/\s]*:[^@/\s]+@"),
)


def redact_pii(text: str) -> str:
    """Replace e-mail addresses, IBANs, card/phone/ID numbers and IPs by ``<KIND>`` placeholders."""
    for kind, pattern in PII_PATTERNS:
        text = _redact(kind, pattern, text)
    return text


def redact_secrets(text: str) -> str:
    """Replace anything that looks like a credential by ``[REDACTED]``."""
    for pattern in SECRET_PATTERNS:
        text = pattern.sub("[REDACTED]", text)
    return text


def user_hash(user_id: str) -> str:
    """A stable pseudonym for a user id (``user.hash`` in traces): 16 hex chars of SHA-256."""
    return hashlib.sha256(user_id.encode("utf-8")).hexdigest()[:16]
