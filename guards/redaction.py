"""Find and redact personal data and secrets in free text.

``find_sensitive`` is the detector: the fixed-format recognisers of ``guards.pii``, the
credentials recognised by their context (``guards.secrets``: ``password=…``, ``Bearer …``,
``user:pw@host``, "the password is …") and, here, the ones recognised by their entropy.
``redact`` replaces every span by a ``<KIND>`` placeholder and keeps the original values for
``restore``; ``redact_pii`` is its text. The input guard calls it before the model, the cache
or a log sees a message, and the trace processor before kept message text is written.
``redact_secrets`` (credentials only, as ``[REDACTED]``) runs on every string of every trace
record.
"""

from __future__ import annotations

import bisect
import math
import re
from collections import Counter
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field

from guards.pii import (
    DIGIT,
    KINDS,
    PERSONAL_KINDS,
    SAFE_KINDS,
    SECRET_KINDS,
    Finder,
    Found,
    Span,
    find_emails,
    find_ibans,
    find_numbers,
    find_shaped_secrets,
)
from guards.secrets import find_context_secrets

__all__ = [
    *("KINDS", "SAFE_KINDS", "SECRET_KINDS", "Redaction", "Span", "find_sensitive", "redact"),
    *("REDACTOR", "Redactor", "redact_pii", "redact_secrets", "restore"),
]

SECRET_PLACEHOLDER = "[REDACTED]"
"""What ``redact_secrets`` puts in place of a credential."""

MIN_ENTROPY_BITS = 3.5
"""Shannon entropy (bits per character) a bare token needs to count as a generic secret."""
MAX_MEAN_SEGMENT = 2.5
"""Mean length of a bare token's case/digit runs above which it reads as words, not noise."""
MIN_NAMED_ENTROPY_BITS = 3.0
MAX_NAMED_MEAN_SEGMENT = 3.0
"""The same two limits when the text just before names a token, key, cookie, session…"""

_SEGMENT = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|[0-9]+")
_PIECES = re.compile(r"[-_]")


def entropy_bits(value: str) -> float:
    """Shannon entropy of ``value``'s characters, in bits per character."""
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in Counter(value).values())


def looks_random(token: str, named: bool = False) -> bool:
    """True for a token that mixes lower case, upper case and digits like generated noise.

    ``named``: the text just before calls it a token, key, cookie…; then 16 characters are
    enough and the ``MIN_NAMED_…`` / ``MAX_NAMED_…`` limits apply. Calibration: of random
    base62 tokens, 94 % (20-24 chars) to 98 % (40) pass, 97-100 % when named; of 16,000
    generated CamelCase / snake_case / kebab-case identifiers with digits, none pass, 0.7 %
    when named.
    """
    if token.islower() or token.isupper() or not DIGIT.search(token):
        return False
    pieces = _PIECES.split(token)
    if len(token) < (16 if named else 20) or (len(pieces) >= 3 and max(map(len, pieces)) < 16):
        return False  # ``AWS_S3_Bucket_2023_Q4``: short words joined by separators
    mean_segment = sum(c.isalnum() for c in token) / len(_SEGMENT.findall(token))
    if named:
        return (
            mean_segment <= MAX_NAMED_MEAN_SEGMENT and entropy_bits(token) >= MIN_NAMED_ENTROPY_BITS
        )
    return mean_segment <= MAX_MEAN_SEGMENT and entropy_bits(token) >= MIN_ENTROPY_BITS


# --- generic high-entropy tokens --------------------------------------------------------------

_PATH = re.compile(r"/[\w.-]{1,40}/")  # ``/var/log/…``, ``/Users/jane/…``
_RUN = re.compile(r"[A-Za-z0-9+/_-]{16,}+")
# Random-looking tokens that are not credentials: Stripe object ids (charge, customer…), SSH
# public keys (``ssh-rsa AAAAB3NzaC1…``, ``sk-ssh-ed25519@openssh.com AAAAGnNr…``),
# subresource-integrity hashes.
_PUBLIC_IDS = (
    *("ch_", "pi_", "pm_", "cus_", "evt_", "in_", "sub_", "prod_", "price_", "txn_", "re_"),
    *("AAAAB3NzaC1", "AAAAC3NzaC1", "AAAAE2VjZHNh", "AAAAGnNr", "AAAAInNr"),
    *("sha256-", "sha384-", "sha512-"),
)
_NAMES = ("token", "secret", "key", "cookie", "session", "passw", "auth", "credential", "signature")
# A hash or fingerprint (public) right before a token: ``SHA256:…``, ``sha512=…``, ``MD5:…``,
# ``checksum: …``, ``fingerprint is …``.
_HASH_LABEL = re.compile(
    r"(?:\bsha-?(?:1|224|256|384|512)|\bsha3-(?:224|256|384|512)|\bmd5|\bblake2[bs]?|\bcrc32"
    r"|checksum|\bdigest|fingerprint(?: is)?)[ \t]*[:=]?[ \t]*$"
)
# An armoured block that is public: a certificate, a CSR, a public key, a signature.
_ARMOUR = re.compile(r"-----BEGIN ([A-Z0-9 ]{1,40})-----")


def _public_blocks(text: str) -> list[tuple[int, int]]:
    """Spans of ``-----BEGIN X-----`` … ``-----END X-----`` blocks (to the end of the text when
    ``END`` is missing) whose label ``X`` names no private or secret key."""
    blocks: list[tuple[int, int]] = []
    for m in _ARMOUR.finditer(text):
        if blocks and m.start() < blocks[-1][1]:
            continue
        label = m.group(1)
        if "PRIVATE" in label or "SECRET" in label:
            continue
        end = text.find(f"-----END {label}-----", m.end())
        blocks.append((m.start(), len(text) if end < 0 else end))
    return blocks


def _random_tokens(text: str) -> Iterator[tuple[int, str]]:
    """Runs of 16+ token characters inside words that mix case and hold a digit, with their
    offsets; not in URLs, inline data or paths (not secrets by their shape alone)."""
    cursor = 0
    # a candidate mixes upper and lower case (cheap to test on the words first)
    for word in [w for w in text.split() if len(w) >= 16 and not (w.islower() or w.isupper())]:
        at = text.find(word, cursor)
        cursor = at + len(word)
        if not DIGIT.search(word) or "://" in word or "base64," in word:
            continue
        if word.startswith(("~/", "./", "www.")) or _PATH.match(word):
            continue
        for m in _RUN.finditer(word):
            token = m.group()
            if not (token.islower() or token.isupper() or token.startswith(_PUBLIC_IDS)):
                yield at + m.start(), token


def _high_entropy(text: str, lower: str) -> Found:
    blocks = _public_blocks(text) if "-----BEGIN" in text else []
    for start, token in _random_tokens(text):
        if any(a <= start < b for a, b in blocks):
            continue
        window = lower[max(0, start - 30) : start]
        if _HASH_LABEL.search(window) or not looks_random(
            token, named=any(name in window for name in _NAMES)
        ):
            continue
        end = start + len(token)
        while end < len(text) and text[end] == "=" and end - start - len(token) < 2:
            end += 1  # base64 padding
        yield start, end, "SECRET"


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_DETECTORS: tuple[tuple[frozenset[str], Finder], ...] = (
    (frozenset(SECRET_KINDS) - {"SECRET"}, find_shaped_secrets),
    (frozenset({"SECRET"}), find_context_secrets),
    (frozenset({"EMAIL"}), find_emails),
    (frozenset({"IBAN"}), find_ibans),
    (frozenset({"CARD", "SSN", "IP", "PHONE"}), find_numbers),
    (frozenset({"SECRET"}), _high_entropy),
)
_RANK = {kind: rank for rank, kind in enumerate(SECRET_KINDS + PERSONAL_KINDS)}
_ALL = frozenset(KINDS)
_SHORTEST = 6
"""No detector finds anything in fewer characters (``pw=abc``, ``a@b.io``, ``1.2.3.4``)."""


def find_sensitive(text: str, kinds: Collection[str] = KINDS) -> list[Span]:
    """Sorted, non-overlapping spans of personal data and secrets of ``kinds`` in ``text``.

    Restricting ``kinds`` skips the other detectors, so their candidates cannot hide one of
    ``kinds`` (``redact_secrets`` relies on that). Raises ``ValueError`` for an unknown kind.
    """
    wanted = _ALL if kinds is KINDS else frozenset(kinds)
    if not wanted <= _ALL:
        raise ValueError(f"unknown kinds {sorted(wanted - _ALL)!r}; known: {KINDS}")
    if len(text) < _SHORTEST:
        return []
    lower = text.lower() if text.isascii() else text.translate(_ASCII_LOWER)
    digits = DIGIT.search(text) is not None
    starts: list[int] = []
    ends: list[int] = []
    found: list[str] = []
    for detects, finder in _DETECTORS:
        if not detects & wanted or (finder in (find_ibans, find_numbers) and not digits):
            continue
        for start, end, kind in sorted(finder(text, lower), key=lambda c: _RANK[c[2]]):
            i = bisect.bisect_right(starts, start)
            if kind not in wanted or (i and ends[i - 1] > start):
                continue
            if end <= start or (i < len(starts) and starts[i] < end):
                continue
            starts.insert(i, start)
            ends.insert(i, end)
            found.insert(i, kind)
    return [Span(s, e, k) for s, e, k in zip(starts, ends, found, strict=True)]


@dataclass(frozen=True, slots=True)
class Redaction:
    """``text`` with each sensitive span of the original replaced by its ``<KIND>`` placeholder.

    ``spans`` are positions in the original text, in order; ``values[i]`` is the original text of
    ``spans[i]`` (the i-th placeholder). ``values`` holds raw secrets: keep a ``Redaction`` for the
    current turn only, never store or log it (``repr`` leaves ``values`` out).
    """

    text: str
    spans: tuple[Span, ...] = ()
    values: tuple[str, ...] = field(default=(), repr=False)

    @property
    def kinds(self) -> tuple[str, ...]:
        """The kinds redacted, each once, in ``KINDS`` order."""
        present = {span.kind for span in self.spans}
        return tuple(kind for kind in KINDS if kind in present)


def redact(text: str, kinds: Collection[str] = KINDS) -> Redaction:
    """``text`` with every span ``find_sensitive`` reports (of ``kinds``) as ``<KIND>``."""
    spans = find_sensitive(text, kinds)
    pieces: list[str] = []
    cursor = 0
    for span in spans:
        pieces += (text[cursor : span.start], f"<{span.kind}>")
        cursor = span.end
    pieces.append(text[cursor:])
    values = tuple(text[s.start : s.end] for s in spans)
    return Redaction("".join(pieces), tuple(spans), values)


def redact_pii(text: str) -> str:
    """``text`` with personal data and secrets of every kind replaced by ``<KIND>`` placeholders."""
    return redact(text).text if text else text


def redact_secrets(text: str) -> str:
    """``text`` with every credential (the ``SECRET_KINDS``) replaced by ``[REDACTED]``."""
    spans = find_sensitive(text, SECRET_KINDS) if text else []
    for span in reversed(spans):
        text = text[: span.start] + SECRET_PLACEHOLDER + text[span.end :]
    return text


def restore(answer: str, redaction: Redaction, kinds: Collection[str] = SAFE_KINDS) -> str:
    """Put the asker's own e-mail addresses, phone numbers and IPs back into ``answer``.

    For the asker's own private reply only: the values are ones the asker wrote, so showing them
    to that same person discloses nothing; never use it for text anyone else can see. Secrets are
    never restored: a kind outside ``SAFE_KINDS`` raises ``ValueError``. A ``<KIND>`` placeholder
    gets the asker's value of that kind when they wrote one distinct value; with several, the
    placeholders are filled in order only when ``answer`` has exactly as many, else left as is.
    """
    unsafe = set(kinds) - set(SAFE_KINDS)
    if unsafe:
        raise ValueError(f"{sorted(unsafe)} can never be restored; only {SAFE_KINDS}")
    for kind in kinds:
        placeholder = f"<{kind}>"
        values = [
            v for s, v in zip(redaction.spans, redaction.values, strict=True) if s.kind == kind
        ]
        if not values or placeholder not in answer:
            continue
        if len(set(values)) == 1:
            answer = answer.replace(placeholder, values[0])
        elif answer.count(placeholder) == len(values):
            pieces = answer.split(placeholder)
            answer = pieces[0] + "".join(v + p for v, p in zip(values, pieces[1:], strict=True))
    return answer


class Redactor:
    """What ``observe`` scrubs logs and traces with (``observe.tracing.Redactor``): this
    module's detectors. Callers run ``secrets`` before ``personal`` where credentials should
    read ``[REDACTED]`` (``personal`` alone would make them ``<KIND>`` placeholders)."""

    @staticmethod
    def secrets(text: str) -> str:
        """Every credential replaced by ``[REDACTED]``."""
        return redact_secrets(text)

    @staticmethod
    def personal(text: str) -> str:
        """Personal data and secrets replaced by their ``<KIND>`` placeholders."""
        return redact_pii(text)


REDACTOR = Redactor()
"""The one to pass to ``Tracer`` and ``configure_logging``."""
