"""Undo the tricks that hide an instruction from a detector, before anything scores the text.

``normalize(text)`` returns the text as a detector should read it plus any payloads decoded from
it, and names the tricks it undid (each one is a signal in itself):

* Unicode compatibility forms (NFKC: full-width letters, mathematical bold, ligatures), HTML
  entities and percent-escapes.
* Invisible characters: zero-width and bidi controls are dropped; Unicode *tag* characters (an
  invisible copy of ASCII, "ASCII smuggling") are decoded into the text they spell.
* Homoglyphs: Cyrillic/Greek letters inside otherwise Latin words ("іgnоre") become Latin; whole
  words in another script are left alone, so Russian or Greek text stays itself.
* Spaced-out letters ("i g n o r e") and leetspeak inside words ("1gn0r3") become plain words.
* Encoded payloads: base64 and hex runs that decode to readable text, and a ROT13 or reversed
  reading when it looks more like English than the text itself, are returned as ``variants``.

Contract: pure, no I/O, linear in the text length (decoding is bounded by ``MAX_DECODED``).
"""

from __future__ import annotations

import base64
import binascii
import codecs
import html
import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import unquote

MAX_DECODED = 8
"""At most this many encoded runs are decoded per text."""
MIN_ENCODED_CHARS = 16

# Zero-width, joiners, bidi controls, word joiners, soft hyphen, Mongolian vowel separator, BOM,
# variation selectors.
_INVISIBLE = re.compile(
    "[\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\ufe00-\ufe0f"
    "\U000e0100-\U000e01ef]"
)
_TAGS = re.compile("[\U000e0000-\U000e007f]+")
# Cyrillic and Greek letters that look like Latin ones (lower case after casefold).
_CONFUSABLES = str.maketrans(
    {
        "а": "a", "в": "b", "е": "e", "ё": "e", "һ": "h", "і": "i", "ї": "i", "ј": "j", "к": "k",
        "м": "m", "н": "h", "о": "o", "р": "p", "с": "c", "т": "t", "у": "y", "х": "x", "ѕ": "s",
        "ԁ": "d", "ɡ": "g", "ԛ": "q", "ԝ": "w", "ο": "o", "α": "a", "ε": "e", "ι": "i", "κ": "k",
        "ν": "v", "ρ": "p", "τ": "t", "υ": "u", "χ": "x", "ѵ": "v", "ɩ": "i", "ӏ": "l",
    }
)  # fmt: skip
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "$": "s"})
_WORD = re.compile(r"[^\W_]+(?:\$[^\W_]+)*", re.UNICODE)
_SPACED = re.compile(r"(?<!\w)\w([ .\-*_])(?:\w\1){3,}\w(?!\w)")
# A word with a leetspeak digit before one of its letters ("1gn0re", "s3cret"), but not a version
# or unit suffix ("python3", "base64") nor a long hash-like run.
_LEETSPEAK = re.compile(r"(?=[\w$]{3,20}$)(?=(?:.*[a-z]){2})(?=.*[013457$].*[a-z])[a-z0-9$]+")
_LATIN = re.compile(r"[a-z]")
_LATIN_WORD = re.compile(r"[a-z]+")
_BASE64 = re.compile(rf"(?<![A-Za-z0-9+/=])[A-Za-z0-9+/_-]{{{MIN_ENCODED_CHARS},}}={{0,2}}")
_HEX = re.compile(rf"(?<![0-9A-Fa-f])(?:[0-9A-Fa-f]{{2}}[ :]?){{{MIN_ENCODED_CHARS // 2},}}")
_PERCENT = re.compile(r"(?:%[0-9A-Fa-f]{2}){3,}")
_LOOKALIKE = "".join(map(chr, _CONFUSABLES))
# A leetspeak digit or a look-alike letter next to a Latin letter: only then are words folded.
_FOLDABLE = re.compile(rf"[a-z][013457$]|[013457$][a-z]|[a-z][{_LOOKALIKE}]|[{_LOOKALIKE}][a-z]")
_CIPHER_HINT = re.compile(r"(?i)\brot[- ]?13\b|\bcaesar\b|\bcipher\b|\breverse")
_COMMON = frozenset(
    "the and you your to of is are all a in it for this that be with not now from what how "
    "ignore previous instructions system prompt rules tell me say print reveal".split()
)


@dataclass(frozen=True, slots=True)
class Normalized:
    """``text`` as a detector reads it; ``variants`` are payloads decoded from it."""

    text: str
    variants: tuple[str, ...] = ()
    signals: tuple[str, ...] = ()

    def readings(self) -> tuple[str, ...]:
        """``text`` and every decoded variant: what a detector should score."""
        return (self.text, *self.variants)


def _fold_word(word: str) -> str:
    """Latin-ise a word that mixes scripts or mixes letters with leetspeak digits."""
    if not word.isascii() and _LATIN.search(word):
        word = word.translate(_CONFUSABLES)
    if _LEETSPEAK.fullmatch(word):
        word = word.translate(_LEET)
    return word


def _join_spaced(match: re.Match[str]) -> str:
    letters = match.group(0)[::2]
    return letters if letters.isalpha() else match.group(0)


def _english_score(text: str) -> int:
    return sum(map(_COMMON.__contains__, _LATIN_WORD.findall(text.lower())))


def _printable(data: bytes) -> str | None:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if not text or sum(c.isprintable() or c.isspace() for c in text) < 0.95 * len(text):
        return None
    letters = sum(c.isalpha() for c in text)
    return text if letters >= 0.5 * len(text.replace(" ", "")) and " " in text.strip() else None


def _decode_base64(run: str) -> str | None:
    body = run.rstrip("=")
    padded = body + "=" * (-len(body) % 4)
    try:
        data = base64.b64decode(padded.replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError):
        return None
    return _printable(data)


def _decode_hex(run: str) -> str | None:
    digits = re.sub(r"[ :]", "", run)
    if len(digits) % 2:
        digits = digits[:-1]
    try:
        return _printable(bytes.fromhex(digits))
    except ValueError:
        return None


def _decoded_payloads(text: str) -> list[tuple[str, str]]:
    """``(signal, decoded text)`` for each base64 or hex run that decodes to readable text."""
    found: list[tuple[str, str]] = []
    for signal, pattern, decode in (
        ("base64 payload", _BASE64, _decode_base64),
        ("hex payload", _HEX, _decode_hex),
    ):
        for match in pattern.finditer(text):
            if len(found) >= MAX_DECODED:
                return found
            decoded = decode(match.group(0).strip())
            if decoded:
                found.append((signal, decoded))
    return found


def normalize(text: str) -> Normalized:
    """Normalise ``text`` for detection (see the module docstring)."""
    signals: list[str] = []
    variants: list[str] = []

    tags = _TAGS.findall(text)
    if tags:
        smuggled = "".join(
            chr(ord(c) - 0xE0000) for run in tags for c in run if 0xE0020 <= ord(c) <= 0xE007E
        )
        if smuggled.strip():
            variants.append(normalize(smuggled).text)
        signals.append("unicode tag characters")
        text = _TAGS.sub("", text)
    if _INVISIBLE.search(text):
        signals.append("invisible characters")
        text = _INVISIBLE.sub("", text)

    if "&" in text and (unescaped := html.unescape(text)) != text:
        signals.append("html entities")
        text = unescaped
    if "%" in text and _PERCENT.search(text):
        text = _PERCENT.sub(lambda m: unquote(m.group(0)), text)
        signals.append("percent-encoding")
    folded = unicodedata.normalize("NFKC", text).casefold()
    if not text.isascii() and folded != text.casefold():
        signals.append("compatibility characters")
    words = folded
    if _FOLDABLE.search(folded):
        words = _WORD.sub(lambda m: _fold_word(m.group(0)), folded)
    if words != folded:
        signals.append("homoglyphs or leetspeak")
    joined = _SPACED.sub(_join_spaced, words)
    if joined != words:
        signals.append("spaced-out letters")
    clean = "\n".join(" ".join(line.split()) for line in joined.splitlines() if line.strip())

    for signal, decoded in _decoded_payloads(text):
        variants.append(normalize(decoded).text)
        signals.append(signal)
    base, hint = _english_score(clean), _CIPHER_HINT.search(clean)
    if hint or base * 20 < len(clean.split()):  # only text that does not read as English
        for signal, reading in (
            ("rot13", codecs.decode(clean, "rot13")),
            ("reversed text", clean[::-1]),
        ):
            score = _english_score(reading)
            if score >= 3 and (score > 2 * base or (hint and score > base)):
                variants.append(reading)
                signals.append(signal)
    return Normalized(clean, tuple(variants), tuple(dict.fromkeys(signals)))
