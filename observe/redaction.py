"""Find and redact personal data and secrets in free text.

``find_sensitive`` is the detector: the fixed-format recognisers of ``observe.pii`` plus the
credentials recognised here by their context (``password=…``, ``Bearer …``, ``user:pw@host``)
or by their entropy. ``redact`` replaces every span by a ``<KIND>`` placeholder and keeps the
original values for ``restore``; ``redact_pii`` is its text. The input guard calls it before the
model, the cache or a log sees a message, and the trace processor before kept message text is
written. ``redact_secrets`` (credentials only, as ``[REDACTED]``) runs on every string of every
trace record.
"""

from __future__ import annotations

import bisect
import hashlib
import math
import re
from collections import Counter
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field

from observe.pii import (
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
    glued,
)

__all__ = [
    *("KINDS", "SAFE_KINDS", "SECRET_KINDS", "Redaction", "Span", "find_sensitive", "redact"),
    *("redact_pii", "redact_secrets", "restore", "user_hash"),
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

_PLACEHOLDERS = frozenset(
    "none null nil true false undefined redacted required optional string str bytes int bool "
    "secret password token example placeholder masked hidden changeme".split()
)
# ``$VAR``, ``${VAR}``, ``%(name)s``, ``{{ var }}``, ``<token>``, ``[REDACTED]``, ``ALL_CAPS_NAME``,
# ``settings.db_password``: a value that names or stands for the secret instead of being it.
_REFERENCE = re.compile(
    r"\$\{?[A-Za-z_]\w*\}?|%\(?\w+\)?s?|\{\{.*\}\}|<[^<>]*>|\[[A-Z_ ]+\]"
    r"|[A-Z][A-Z0-9]*_[A-Z0-9_]+|[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+"
)
_SEGMENT = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|[0-9]+")
_PIECES = re.compile(r"[-_]")


def placeholder_value(value: str) -> bool:
    """True for values that stand for a secret instead of being one (``$TOKEN``, ``<key>``…)."""
    low = value.lower()
    return (
        len(value) < 3
        or low in _PLACEHOLDERS
        or "(" in value  # code: ``os.getenv("DB_PASSWORD")``, ``os.environ["TOKEN"]``
        or "[" in value
        or len(set(low)) <= 2  # ``****``, ``xxxx``
        or value.count("*") >= 3
        or low.startswith(("your", "xxx", "example", "<", "{"))
        or _REFERENCE.fullmatch(value) is not None
    )


def credential_like(value: str, min_len: int = 6) -> bool:
    """True when ``value`` is not a plain word: letters mixed with digits or symbols, or inner
    capitals; an all-digit value (a PIN) counts too."""
    if len(value) < min_len:
        return False
    alpha = any(c.isalpha() for c in value)
    digit = any(c.isdigit() for c in value)
    symbol = any(not c.isalnum() and c not in "-'" for c in value)
    inner_caps = any(c.isupper() for c in value[1:]) and any(c.islower() for c in value)
    return (digit and (alpha or value.isdigit())) or (symbol and alpha) or inner_caps


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


# --- credentials recognised by their context --------------------------------------------------

# Keys whose value is a credential when they end right before ``:`` or ``=`` (``db_password=``),
# by their last two letters.
_KEY_WORDS = {
    **{"rd": ("password",), "wd": ("passwd", "pwd"), "se": ("passphrase",), "et": ("secret",)},
    **{"en": ("token",), "ls": ("credentials",), "al": ("credential",), "ey": ("key",)},
    **{"ss": ("pass",), "pw": ("pw",)},
}
_ENDS = "(?:" + "|".join(_KEY_WORDS) + ")"
# ``:`` or ``=`` right after (or one blank or quote after) a key ending.
_SEPARATOR = re.compile(rf"[:=](?:(?<={_ENDS}.)|(?<={_ENDS}[\"' \t].))")
_KEY_PREFIXES = ("api", "access", "private", "auth", "secret", "signing", "encryption", "master")
_VALUE = re.compile(r"[ \t]*+(?:\"([^\"\n]{1,200})\"|'([^'\n]{1,200})'|([^\s\"'`,;<>]{1,200}))")
_NEXT_PARAM = re.compile(r"&\w+=")  # ``password=x&user=y``: the value stops at ``&user=``
_AUTH = re.compile(r"[ \t]++([A-Za-z0-9._~+/=-]{12,400})")  # after "bearer", "basic", "token"
_SAID = re.compile(
    r"p(?<![a-z]p)(?:assword|asscode|assphrase|in)[ \t]++(?:is|was|to)[ \t:]++([^\s\"']{4,64})"
)
_FLAG = re.compile(r"--(?:password|passwd|token|api-key|secret|client-secret)[ \t]++([^\s\"']+)")
_URL_CREDS = re.compile(r"://[^\s:/@]{0,64}:([^\s@/]{1,200})@")
_OPENERS = {")": "(", "]": "[", "}": "{"}


def _trim(text: str, start: int, end: int) -> int:
    """``end`` moved back over sentence punctuation and unbalanced closing brackets."""
    while end > start + 1 and text[end - 1] in ".,;:?)]}":
        last = text[end - 1]
        if last in _OPENERS and _OPENERS[last] in text[start : end - 1]:
            break
        end -= 1
    return end


def _is_key(lower: str, start: int, word: str) -> bool:
    """Whether ``word`` (a key that starts at ``start``) names a credential."""
    if word == "key":  # only ``api_key``, ``accessKey``, ``SECRET-KEY``…
        return lower[max(0, start - 11) : start].rstrip("_-").endswith(_KEY_PREFIXES)
    if word in ("pass", "pwd", "pw"):  # only as a whole word: ``db_pass``, not ``bypass``
        return start == 0 or not lower[start - 1].isalnum()
    return True


def _own_line(text: str, key_start: int, value_end: int) -> bool:
    """True when a ``key: value`` pair fills its own line in a multi-line text (YAML, a dump)."""
    if "\n" not in text:
        return False
    line_start = text.rfind("\n", 0, key_start) + 1
    line_end = text.find("\n", value_end)
    after = text[value_end : len(text) if line_end < 0 else line_end]
    return not text[line_start:key_start].strip(" \t-\"'") and not after.strip()


def _assignments(text: str, lower: str) -> Found:
    for sep in _SEPARATOR.finditer(lower):
        at = sep.start()
        if text[at] == ":" and text[at + 1 : at + 2] in (":", "/"):
            continue  # ``::`` or ``://``
        key_end = at
        while key_end > max(0, at - 4) and text[key_end - 1] in " \t\"'":
            key_end -= 1
        words = _KEY_WORDS.get(lower[key_end - 2 : key_end], ())
        word = next((w for w in words if lower.endswith(w, 0, key_end)), "")
        if not word or not _is_key(lower, key_end - len(word), word):
            continue
        value = _VALUE.match(text, at + 1)
        if value is None:
            continue
        group = 1 if value.group(1) is not None else 2 if value.group(2) is not None else 3
        start, end = value.span(group)
        if group == 3:
            param = _NEXT_PARAM.search(text, start, end)
            end = _trim(text, start, param.start() if param else end)
        secret = text[start:end]
        # ``Token: expired`` is prose; ``password: letmein`` alone on a line is configuration.
        strict = text[at] == ":" and group == 3 and not _own_line(text, key_end - len(word), end)
        if not placeholder_value(secret) and (not strict or credential_like(secret, 5)):
            yield start, end, "SECRET"


def _after_words(lower: str, words: tuple[str, ...]) -> Iterator[re.Match[str]]:
    """``_AUTH`` matched right after each occurrence of one of ``words``."""
    for word in words:
        at = lower.find(word)
        while at >= 0:
            if m := _AUTH.match(lower, at + len(word)):
                yield m
            at = lower.find(word, at + 1)


def _context_secrets(text: str, lower: str) -> Found:
    if "://" in text:
        for m in _URL_CREDS.finditer(text):
            if not placeholder_value(m.group(1)):
                yield *m.span(1), "SECRET"
    matches: list[tuple[re.Match[str], int]] = [
        (m, 12) for m in _after_words(lower, ("bearer", "basic", "token"))
    ]
    if "pass" in lower or "pin" in lower:
        matches.extend((m, 4) for m in _SAID.finditer(lower))
    if "--" in text:
        matches.extend((m, 4) for m in _FLAG.finditer(lower))
    for m, min_len in matches:
        start, end = m.start(1), _trim(text, *m.span(1))
        value = text[start:end]
        if credential_like(value, min_len) and not placeholder_value(value):
            if not glued(text, start, end):
                yield start, end, "SECRET"
    if any(k in lower for k in ("pass", "pw", "secret", "token", "key", "credential")):
        yield from _assignments(text, lower)


# --- generic high-entropy tokens --------------------------------------------------------------

_PATH = re.compile(r"/[\w.-]{1,40}/")  # ``/var/log/…``, ``/Users/jane/…``
_RUN = re.compile(r"[A-Za-z0-9+/_-]{16,}+")
# Random-looking tokens that are not credentials: Stripe object ids (charge, customer…), SSH
# public keys (``ssh-rsa AAAAB3NzaC1…``), subresource-integrity hashes.
_PUBLIC_IDS = (
    *("ch_", "pi_", "pm_", "cus_", "evt_", "in_", "sub_", "prod_", "price_", "txn_", "re_"),
    *("AAAAB3NzaC1", "AAAAC3NzaC1", "AAAAE2VjZHNh", "sha256-", "sha384-", "sha512-"),
)
_NAMES = ("token", "secret", "key", "cookie", "session", "passw", "auth", "credential", "signature")


def _high_entropy(text: str, lower: str) -> Found:
    cursor = 0
    # a candidate mixes upper and lower case (cheap to test on the words first)
    for word in [w for w in text.split() if len(w) >= 16 and not (w.islower() or w.isupper())]:
        at = text.find(word, cursor)
        cursor = at + len(word)
        if not DIGIT.search(word) or "://" in word or "base64," in word:
            continue  # URLs, inline data and paths are not secrets by their shape alone
        if word.startswith(("~/", "./", "www.")) or _PATH.match(word):
            continue
        for m in _RUN.finditer(word):
            token = m.group()
            if token.islower() or token.isupper() or token.startswith(_PUBLIC_IDS):
                continue
            window = lower[max(0, at + m.start() - 30) : at + m.start()]
            if looks_random(token, named=any(name in window for name in _NAMES)):
                end = m.end()
                while end < len(word) and word[end] == "=" and end - m.end() < 2:
                    end += 1  # base64 padding
                yield at + m.start(), at + end, "SECRET"


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_DETECTORS: tuple[tuple[frozenset[str], Finder], ...] = (
    (frozenset(SECRET_KINDS) - {"SECRET"}, find_shaped_secrets),
    (frozenset({"SECRET"}), _context_secrets),
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


def user_hash(user_id: str) -> str:
    """A stable pseudonym for a user id (``user.hash`` in traces): 16 hex chars of SHA-256."""
    return hashlib.sha256(user_id.encode("utf-8")).hexdigest()[:16]
