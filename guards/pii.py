"""Recognisers for data with a fixed format: personal data and secrets with a known shape.

Each ``find_*`` function takes ``(text, lower)`` (``lower``: the text with ASCII letters
lower-cased, same length) and yields ``(start, end, kind)`` candidates, which may overlap;
``guards.redaction.find_sensitive`` adds the credentials found by context or entropy, picks
among overlapping candidates and is the function to call. Each regular expression starts with a
literal or a character class (so the engine skips ahead fast), is gated by a cheap substring
test, and is followed by the checks a regex cannot express (Luhn, IBAN mod-97, phone digit
counts). Quantifiers are bounded or possessive: no catastrophic backtracking.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

PERSONAL_KINDS: tuple[str, ...] = ("EMAIL", "IBAN", "CARD", "SSN", "IP", "PHONE")
SECRET_KINDS: tuple[str, ...] = (
    *("PRIVATE_KEY", "JWT", "SLACK_TOKEN", "GITHUB_TOKEN", "AWS_KEY", "API_KEY", "SECRET"),
)
KINDS: tuple[str, ...] = PERSONAL_KINDS + SECRET_KINDS
"""Every kind ``find_sensitive`` reports."""
SAFE_KINDS: tuple[str, ...] = ("EMAIL", "IP", "PHONE")
"""The kinds that are not credentials."""


@dataclass(frozen=True, slots=True, order=True)
class Span:
    """``text[start:end]`` is sensitive data of ``kind`` (one of ``KINDS``)."""

    start: int
    end: int
    kind: str


Found = Iterator[tuple[int, int, str]]
Finder = Callable[[str, str], Found]
"""``(text, text with ASCII letters lower-cased) -> (start, end, kind)`` candidates."""

_B64URL = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
DIGIT = re.compile(r"[0-9]")
_PLACEHOLDER_MARKS = (
    *("xxxxxxxx", "...", "…", "your-", "your_", "-here", "_here", "change-me", "change_me"),
)
_PLACEHOLDER_WORDS = frozenset("example dummy placeholder redacted insecure changeme".split())
_PLACEHOLDER_PIECE = re.compile(r"[^a-z0-9]+")
_ANGLED = re.compile(r"<[\w .-]+>")


def glued(text: str, start: int, end: int) -> bool:
    """True when the span is part of a longer token on either side."""
    return (start > 0 and text[start - 1] in _B64URL) or (end < len(text) and text[end] in _B64URL)


def placeholder_marked(value: str) -> bool:
    """True for a documentation placeholder: ``xoxb-your-token-here``, ``xapp-1-XXXXXXXX``,
    ``AKIAXXXXXXXX…``, ``sk-...``, ``sk_live_…``, ``key-<id>``; or a value with a placeholder
    word as one of its pieces and no piece of noise (``django-insecure-change-me``,
    ``sk_test_example``, but not ``django-insecure-0k6yv@!1q44am52…``). A word glued to other
    characters (``…EXAMPLEKEY``) does not count: ``Example123!`` can be a real password."""
    low = value.lower()
    if any(mark in low for mark in _PLACEHOLDER_MARKS) or _ANGLED.search(value):
        return True
    pieces = _PLACEHOLDER_PIECE.split(low)
    if any(len(p) >= 4 and p.count("x") == len(p) for p in pieces):
        return True  # ``xapp-1-XXXX``, ``pw: xxxx-xxxx``, not ``…/XXXXab12XXXX9``
    noise = any(len(p) >= 8 and DIGIT.search(p) and not p.isdigit() for p in pieces)
    return not noise and not _PLACEHOLDER_WORDS.isdisjoint(pieces)


def unglued(pattern: re.Pattern[str], text: str, kind: str, group: int = 0) -> Found:
    """``pattern``'s matches (of ``group``) that are not part of a longer token, as ``kind``."""
    for m in pattern.finditer(text):
        if not glued(text, m.start(group), m.end(group)):
            yield m.start(group), m.end(group), kind


# Country -> IBAN length (ISO 13616 registry).
_IBAN_LENGTHS = {
    entry[:2]: int(entry[2:])
    for entry in (
        "AD24 AE23 AL28 AT20 AZ28 BA20 BE16 BG22 BH22 BR29 BY28 CH21 CR22 CY28 CZ24 DE22 DK18 "
        "DO28 EE20 EG29 ES24 FI18 FO18 FR27 GB22 GE22 GI23 GL18 GR27 GT28 HR21 HU28 IE22 IL23 "
        "IQ23 IS26 IT27 JO30 KW30 KZ20 LB28 LC32 LI21 LT20 LU20 LV21 LY25 MC27 MD24 ME22 MK19 "
        "MR27 MT31 MU30 NL18 NO15 PK24 PL28 PS29 PT25 QA29 RO24 RS22 SA24 SC31 SE24 SI19 SK24 "
        "SM27 ST25 SV28 TL23 TN24 TR26 UA29 VA22 VG24 XK20"
    ).split()
}


def luhn_ok(digits: str) -> bool:
    """The Luhn checksum of a string of digits holds."""
    total = 0
    for i, char in enumerate(reversed(digits)):
        d = int(char)
        total += (d * 2 - 9 if d > 4 else d * 2) if i % 2 else d
    return total % 10 == 0


def iban_ok(compact: str) -> bool:
    """``compact`` (no spaces, upper case) has its country's length and a valid mod-97 check."""
    if _IBAN_LENGTHS.get(compact[:2]) != len(compact) or not compact[2:4].isdigit():
        return False
    return int("".join(str(int(c, 36)) for c in compact[4:] + compact[:4])) % 97 == 1


def phone_ok(groups: list[str], seps: list[str]) -> bool:
    """Whether digit groups (``+44``, ``(0)``, ``(030)``, ``7946``…) joined by ``seps`` are a phone
    number: ``+``/``00`` and 8-15 digits; a national ``0…`` number of 9-12 digits in 2+ groups
    (not a ``dd-mm-yyyy`` date); or North-American ``(ddd) ddd-dddd`` / ``ddd-ddd-dddd``."""
    nums = [g.strip("+()") for g in groups]
    lens = [len(n) for n in nums]
    joined = "".join(nums)
    international = nums[0].startswith("00") and joined[2:3] not in ("", "0")  # 0044 …, not 000
    if groups[0].startswith("+") or international:
        count = sum(n for g, n in zip(groups, lens, strict=True) if g != "(0)")
        count -= 2 if international else 0
        return 8 <= count <= 15 and (len(nums) > 1 or count >= 10)
    if nums[0].startswith("0"):  # a trunk 0, then an area code (``00…`` only in parentheses)
        zeros = nums[0][1:2] == "0" and not groups[0].startswith("(")
        if len(nums) < 2 or not 2 <= lens[0] <= 5 or zeros or min(lens[1:]) < 2:
            return False
        return 9 <= sum(lens) <= 12 and lens[:3] != [2, 2, 4]
    if nums[0] == "1" and len(nums) == 4:  # 1-800-555-0199
        nums, lens, seps, groups = nums[1:], lens[1:], seps[1:], groups[1:]
    if nums[0][0] in "01":
        return False
    if groups[0].startswith("("):
        return lens[0] == 3 and lens[1:] in ([3, 4], [7])
    return lens == [3, 3, 4] and seps[0] == seps[1]


# --- secrets with a recognisable shape --------------------------------------------------------

_PEM = re.compile(
    r"-----BEGIN (?:[A-Z0-9]+ ){0,4}PRIVATE KEY(?: BLOCK)?-----"
    r".*?(?:-----END (?:[A-Z0-9]+ ){0,4}PRIVATE KEY(?: BLOCK)?-----|\Z)",
    re.DOTALL,
)
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{8,}+\.eyJ[A-Za-z0-9_-]{8,}+\.[A-Za-z0-9_-]*+")
_SLACK = re.compile(
    r"xox[abeoprs]-[A-Za-z0-9-]{10,}+|xapp-[0-9]-[A-Za-z0-9-]{10,}+"
    r"|https://hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9_/-]{20,}+"
)
_GITHUB = re.compile(r"gh[pousr]_[A-Za-z0-9]{30,}+|github_pat_[A-Za-z0-9_]{30,}+")
_AWS_ID = re.compile(r"A(?:KIA|SIA|IDA|ROA|GPA|NPA|NVA|IPA)[A-Z0-9]{16}")
_AWS_SECRET = re.compile(
    r"(?i:secret_?access_?key)[\"']?[ \t]*[:=][ \t]*[\"']?([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])"
)
_API_KEY = re.compile(
    r"sk-(?:ant|proj|svcacct|admin)-[A-Za-z0-9_-]{20,}+|sk-[A-Za-z0-9]{20,}+"
    r"|AIza[A-Za-z0-9_-]{35}|[rs]k_(?:live|test)_[A-Za-z0-9]{16,}+"
    r"|SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}|npm_[A-Za-z0-9]{36}|hf_[A-Za-z0-9]{30,}+"
    r"|glpat-[A-Za-z0-9_-]{20,}+|pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,}+"
    r"|dop_v1_[a-f0-9]{64}|shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}"
)
_API_NEEDLES = ("sk-", "AIza", "k_live_", "k_test_", "SG.", "npm_", "hf_", "glpat-", "pypi-")


def _shaped(text: str, lower: str) -> Found:
    if "-----BEGIN" in text:
        yield from ((*m.span(), "PRIVATE_KEY") for m in _PEM.finditer(text))
    if "eyJ" in text:
        yield from unglued(_JWT, text, "JWT")
    if "xox" in text or "xapp-" in text or "hooks.slack.com" in text:
        yield from unglued(_SLACK, text, "SLACK_TOKEN")
    if ("gh" in lower or "github_pat_" in text) and "_" in text:
        yield from unglued(_GITHUB, text, "GITHUB_TOKEN")
    if "A" in text:
        yield from unglued(_AWS_ID, text, "AWS_KEY")
    if "accesskey" in lower or "access_key" in lower:
        yield from ((*m.span(1), "AWS_KEY") for m in _AWS_SECRET.finditer(text))
    if any(n in text for n in _API_NEEDLES) or "dop_v1_" in text or "shp" in text:
        yield from unglued(_API_KEY, text, "API_KEY")


def find_shaped_secrets(text: str, lower: str) -> Found:
    """Secrets known by their prefix and shape, except documentation placeholders such as
    ``xoxb-your-bot-token``, ``xoxb-1-your-token-here`` (``placeholder_marked``) or
    ``AKIAXXXXXXXXXXXXXXXX`` (too few distinct characters)."""
    for start, end, kind in _shaped(text, lower):
        value = text[start:end]
        if kind == "PRIVATE_KEY":
            yield start, end, kind
        elif kind == "SLACK_TOKEN" and not DIGIT.search(value):
            continue
        elif len(set(value)) >= min(10, len(value) // 2) and not placeholder_marked(value):
            yield start, end, kind


# --- personal data ----------------------------------------------------------------------------

_EMAIL_DOMAIN = re.compile(r"@(?:[^\W_](?:[\w-]{0,61}[^\W_])?\.){1,8}[^\W\d_]{2,24}(?![\w-])")
_IBAN = re.compile(r"[0-9](?<=[A-Za-z]{2}[0-9])[0-9](?:[ ]?[A-Za-z0-9]){11,32}+")
# The start of a spaced IBAN (``DE89 3704 …``) right before a digit run.
_IBAN_HEAD = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{2}[0-9]{2}(?: [A-Za-z0-9]{4}){0,7}+ \Z")
# Digit runs, tried as a card, an SSN, an IPv4 address, then a phone number. Each alternative
# follows the shared first character ``[+(0-9]`` and asserts what may precede it.
_BODIES = {
    "CARD": r"(?<=[1-9])(?<![,+/-].)(?:[0-9]{12,18}+|[0-9]{3}(?P<sep>[ -])(?:[0-9]{4}(?P=sep)"
    r"[0-9]{4}(?P=sep)[0-9]{1,4}(?P<tail>(?P=sep)[0-9]{1,3})?|[0-9]{6}(?P=sep)[0-9]{4,5}))"
    r"(?![\w]|[.,-][0-9])",
    "SSN": r"(?<=[0-8])(?<![,+/-].)[0-9]{2}-[0-9]{2}-[0-9]{4}(?![\w]|[.-][0-9])",
    "IP": r"(?<=[0-9])[0-9]{0,2}+(?:\.[0-9]{1,3}+){3}(?![\w]|\.[0-9])",
    "PHONE": r"(?<![+,/#$€£=@-].)(?=[0-9 ().+/-]{7})[0-9]*+\)?"
    r"(?:(?:[ ]?-[ ]?|[ ./]|(?<=\))|(?=\())\(?[0-9]++\)?){0,7}"  # at most 8 groups
    r"(?P<ext>[ ]?(?:x|ext\.?)[ ]?[0-9]{1,5})?(?![\w+]|[.,/:-][0-9])",
}
_FIRST = r"[+(0-9](?<![\w.].)(?=[0-9 ().+/-]{6})"  # every kind has 7+ such characters
_NUMBER = re.compile(_FIRST + "(?:" + "|".join(f"(?P<{k}>{b})" for k, b in _BODIES.items()) + ")")
_ONE_NUMBER = {kind: re.compile(_FIRST + body) for kind, body in _BODIES.items()}
_PHONE_GROUP = re.compile(r"\+?\(?[0-9]+\)?")
# Two or more ``:`` with hex between (``::`` counts); times (``10:30:00``) have fewer.
_V6_HINT = re.compile(r":(?::|[0-9A-Fa-f]{1,4}:[0-9A-Fa-f]{1,4}:)")
_V6_CHARS = frozenset("0123456789abcdefABCDEF:.")
# "version" in several languages (``versie``, ``versión``, ``Versão``…), ``v``/``v.``, pins.
_VERSION_CONTEXT = re.compile(
    r"(?i)(?:\b(?:version[ei]?|versie|versi[oó]n|vers[aã]o|wersj[ia]|verze|versio"
    r"|release|upgrade|build|firmware|v)[.:]?|==|>=|<=|~=)\s*$"
)
# A word that says the next number is a phone number ("call me on", "llámame al", "Tel.",
# "Handy:", "móvil", "phone number is"), with at most three small words between. Only after one
# is a national number without a trunk 0 (``612 345 678``) taken for a phone number.
_PHONE_CONTEXT = re.compile(
    r"(?i)\b(?:tel(?:[eé]f[oó]o?n\w*|[eé]phone)?|t[eé]l(?:[eé]phone)?|(?:tele|cell|smart)?phone"
    r"|mobile?|mobiel|cell|handy|m[oó]vil|celular|whats ?app|portable|ll[aá]m\w*"
    r"|call (?:me|us)|appel(?:le[zr]?)?(?: moi| nous)?|bel (?:me|ons))\b\.?"
    r"(?:[\s:,#-]*+(?:numbers?|nummer|num[eé]ro|n[uú]mero|nr|no|is|es|est|ist|at|on|al|au|op"
    r"|unter|under|de|du|del|do|da|me|us)\b\.?){0,3}[\s:,#-]*$"
)
# A token mixing letters and digits right before a number: the number is the rest of an id
# (``UPS 1Z 999 AA1 01 2345 6784``), not a phone number.
_ID_BEFORE = re.compile(r"(?<![\w-])(?=[A-Za-z]*[0-9])(?=[0-9]*[A-Za-z])[A-Za-z0-9]{2,}[ -]$")


def find_emails(text: str, lower: str) -> Found:
    """E-mail addresses: found at their ``@``, the local part read backwards from it."""
    if "@" not in text:
        return
    for m in _EMAIL_DOMAIN.finditer(text):
        start = at = m.start()
        while start > max(0, at - 64) and (text[start - 1].isalnum() or text[start - 1] in "._%+-"):
            start -= 1
        while start < at and text[start] in ".-":
            start += 1
        if start < at and text[at - 1] != "." and not text.endswith("://", 0, start):
            yield start, m.end(), "EMAIL"  # (``scheme://user@host`` is a URL, not an address)


def find_ibans(text: str, lower: str) -> Found:
    """IBANs, compact or in groups, any case: their country's length and mod-97 check hold."""
    m = _IBAN.search(text)
    while m is not None:
        start, end, count = m.start() - 2, m.start(), 2
        length = _IBAN_LENGTHS.get(text[start : start + 2].upper(), 99)
        while end < m.end() and count < length:
            count += text[end] != " "
            end += 1
        attached = (start > 0 and text[start - 1].isalnum()) or (
            end < len(text) and text[end].isalnum()
        )
        if attached or not iban_ok(text[start:end].replace(" ", "").upper()):
            end = m.start() + 1  # the match may have swallowed the next IBAN: rescan after it
        else:
            yield start, end, "IBAN"
        m = _IBAN.search(text, end)


def _card_end(text: str, m: re.Match[str]) -> int | None:
    # A 1-2 digit tail may be something else (``4111 … 1111 12/27``); a 3-digit one is the card's.
    tail = m.group("tail")
    ends = [m.end(), m.start("tail")] if tail and len(tail) <= 3 else [m.end()]
    for end in ends:
        digits = "".join(c for c in text[m.start() : end] if c.isdigit())
        if (
            m.group("sep") is None
            and digits[0] not in "23456"
            and digits[:4] not in ("1800", "2131")
        ):
            return None  # a bare digit run must also start like a card number
        if 13 <= len(digits) <= 19 and luhn_ok(digits):
            return end
    return None


def _ssn_end(text: str, m: re.Match[str]) -> int | None:
    area, group, serial = m.group().split("-")
    return m.end() if area not in ("000", "666") and group != "00" and serial != "0000" else None


def _ip_end(text: str, m: re.Match[str]) -> int | None:
    if not all(int(o) <= 255 and (o == "0" or o[0] != "0") for o in m.group().split(".")):
        return None
    return None if _VERSION_CONTEXT.search(text, max(0, m.start() - 12), m.start()) else m.end()


def national_ok(groups: list[str], seps: list[str]) -> bool:
    """Whether digit groups read as a national number without a trunk 0 (``612 345 678``,
    ``612 34 56 78``): 9-11 digits in 2-4 groups of 2-4, one separator; needs a phone word."""
    lens = [len(g) for g in groups]
    return (
        all(g.isdigit() for g in groups)
        and 2 <= len(groups) <= 4
        and 2 <= min(lens) <= max(lens) <= 4
        and 9 <= sum(lens) <= 11
        and groups[0][0] not in "01"
        and len(set(seps)) == 1
        and seps[0] in (" ", ".", "-")
    )


def _phone_end(text: str, m: re.Match[str]) -> int | None:
    if text[m.start()] != "+" and _ID_BEFORE.search(text, max(0, m.start() - 24), m.start()):
        return None
    found = list(
        _PHONE_GROUP.finditer(text, m.start(), m.start("ext") if m.group("ext") else m.end())
    )
    groups = [g.group() for g in found]
    seps = [text[a.end() : b.start()] for a, b in zip(found, found[1:], strict=False)]
    for n in range(len(groups), 0, -1):  # the longest prefix of groups that is a phone number
        if phone_ok(groups[:n], seps[: n - 1]):
            return m.end() if n == len(groups) else found[n - 1].end()
    if national_ok(groups, seps) and _PHONE_CONTEXT.search(text, max(0, m.start() - 40), m.start()):
        return m.end()
    return None


_NUMBER_CHECKS = {"CARD": _card_end, "SSN": _ssn_end, "IP": _ip_end, "PHONE": _phone_end}


def _classify(text: str, m: re.Match[str]) -> tuple[int, int, str] | None:
    """The first kind (in ``_NUMBER_CHECKS`` order, as the alternation tried them) whose check
    passes on the digits at ``m``."""
    order = list(_NUMBER_CHECKS)
    first = next(kind for kind in order if m.group(kind) is not None)
    for kind in order[order.index(first) :]:
        match = m if kind == first else _ONE_NUMBER[kind].match(text, m.start())
        end = _NUMBER_CHECKS[kind](text, match) if match else None
        if end is not None:
            return m.start(), end, kind
    return None


def _bracketed_ip(text: str, start: int) -> tuple[int, int, str] | None:
    """An IPv4 address right after an opening parenthesis: ``(10.0.4.12)``."""
    match = _ONE_NUMBER["IP"].match(text, start)
    end = _ip_end(text, match) if match else None
    return None if end is None else (start, end, "IP")


def find_numbers(text: str, lower: str) -> Found:
    """Cards (Luhn), SSNs, IPv4 (not after "version") and IPv6 addresses, phone numbers."""
    for m in _NUMBER.finditer(text):
        s = m.start()
        if text[s - 5 : s - 1].isalnum() and _IBAN_HEAD.search(text, max(0, s - 40), s):
            continue  # the digits of an IBAN (with a bad checksum, or it would have won)
        found = _classify(text, m)
        if found is None and text[s] == "(":  # the phone pattern took the "(" of "(10.0.4.12)"
            found = _bracketed_ip(text, s + 1)
        if found is not None:
            yield found
    if _V6_HINT.search(text):
        yield from _ipv6(text)


def _ipv6(text: str) -> Found:
    end = 0
    for hint in _V6_HINT.finditer(text):
        if hint.start() < end:
            continue
        start, end = hint.start(), hint.end()
        while start > 0 and text[start - 1] in _V6_CHARS and hint.start() - start < 40:
            start -= 1
        while end < len(text) and text[end] in _V6_CHARS and end - hint.end() < 40:
            end += 1
        raw = text[start:end]
        for candidate in (raw.rstrip("."), raw.rstrip(".:")):
            if _ipv6_ok(candidate) and not glued(text, start, start + len(candidate)):
                yield start, start + len(candidate), "IP"
                break


def _ipv6_ok(candidate: str) -> bool:
    if len([g for g in candidate.split(":") if g]) < 2 or not DIGIT.search(candidate):
        return False
    try:
        ipaddress.IPv6Address(candidate)
    except ValueError:
        return False
    return True
