"""Credentials recognised by their context, not their shape.

``find_context_secrets`` is a finder like those of ``guards.pii`` (``(text, lower)`` in,
``(start, end, "SECRET")`` candidates out); ``guards.redaction.find_sensitive`` runs it and
picks among overlapping candidates. It finds the value, never the key, of:

- assignments: ``DB_PASSWORD=…``, ``"password": "…"``, ``api_key: …``;
- credentials in URLs (``postgres://app:pw@db``) and after ``Bearer``, ``Basic``, ``token``;
- command-line options: ``--password …``, ``curl -u user:pw``, ``-p pw`` after ``-u user``;
- passwords given in prose, in several languages: "the db password for the replica is …",
  "pw …", "Passwort: …", "le mot de passe … c'est …".

Values that stand for a secret instead of being one (``$DB_PASSWORD``, ``${X:?set}``,
``%(password)s``, ``{{ secrets.TOKEN }}``, ``xoxb-your-token-here``, ``sk-...``) are skipped.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from guards.pii import Found, glued, placeholder_marked

__all__ = ["credential_like", "find_context_secrets", "placeholder_value", "prose_credential"]

_PLACEHOLDERS = frozenset(
    "none null nil true false undefined redacted required optional string str bytes int bool "
    "secret password token example placeholder masked hidden changeme".split()
)
# ``$VAR``, ``${VAR:?msg}``, ``$(cmd)``, ``%(name)s``, ``%VAR%``, ``{{ var }}``, ``<token>``,
# ``[REDACTED]``, ``ALL_CAPS_NAME``, ``settings.db_password``: a value that names or stands for
# the secret instead of being it.
_REFERENCE = re.compile(
    r"\$\{?[A-Za-z_]\w*\}?|\$[{(].*|%\(?\w+\)?s?|%\w+%|\{\{.*\}\}|<[^<>]*>|\[[A-Z_ ]+\]"
    r"|[A-Z][A-Z0-9]*_[A-Z0-9_]+|[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+"
)


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
        or placeholder_marked(value)
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


# Not passwords though they mix letters with digits or symbols: host names and versions
# (``db-01.acme.io``, ``v2.14.3``), e-mail addresses, issue keys (``INC-2024-004``).
_NOT_A_PASSWORD = re.compile(
    r"(?:[a-z0-9-]+\.)+[a-z]{2,}|v?[0-9]+(?:\.[0-9]+)+(?:-?[a-z0-9]+)?|[\w.+-]+@[\w-]+(?:\.[\w-]+)+"
    r"|[A-Z][A-Z0-9]*-[0-9]+(?:-[0-9]+)*"
)


def prose_credential(value: str) -> bool:
    """True when a word of prose reads as a password: 6-64 characters with letters and a digit
    or a symbol (not just ``-_.``), and 8+ characters or three of lower case, upper case, digits
    and symbols; not a placeholder, a URL, a path, a host name, an address or an issue key."""
    if not 6 <= len(value) <= 64 or placeholder_value(value) or "://" in value:
        return False
    if value.startswith(("/", "~/", "./", "www.", "#", "@")) or _NOT_A_PASSWORD.fullmatch(value):
        return False
    lower = any(c.islower() for c in value)
    upper = any(c.isupper() for c in value)
    digit = any(c.isdigit() for c in value)
    symbol = any(not c.isalnum() and c not in "-_.'’" for c in value)
    if not (lower or upper) or not (digit or symbol):
        return False
    return len(value) >= 8 or lower + upper + digit + symbol >= 3


# --- assignments: ``key = value`` -------------------------------------------------------------

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


def _key_before(text: str, lower: str, at: int) -> int | None:
    """Where the credential key that ends right before the separator at ``at`` starts."""
    key_end = at
    while key_end > max(0, at - 4) and text[key_end - 1] in " \t\"'":
        key_end -= 1
    words = _KEY_WORDS.get(lower[key_end - 2 : key_end], ())
    word = next((w for w in words if lower.endswith(w, 0, key_end)), "")
    if not word or not _is_key(lower, key_end - len(word), word):
        return None
    return key_end - len(word)


def _assignments(text: str, lower: str) -> Found:
    for sep in _SEPARATOR.finditer(lower):
        at = sep.start()
        if text[at] == ":" and text[at + 1 : at + 2] in (":", "/"):
            continue  # ``::`` or ``://``
        key_start = _key_before(text, lower, at)
        value = _VALUE.match(text, at + 1) if key_start is not None else None
        if key_start is None or value is None:
            continue
        group = 1 if value.group(1) is not None else 2 if value.group(2) is not None else 3
        start, end = value.span(group)
        if group == 3:
            param = _NEXT_PARAM.search(text, start, end)
            end = _trim(text, start, param.start() if param else end)
        secret = text[start:end]
        # ``Token: expired`` is prose; ``password: letmein`` alone on a line is configuration.
        strict = text[at] == ":" and group == 3 and not _own_line(text, key_start, end)
        if placeholder_value(secret) or placeholder_value(value.group(group)):
            continue  # (the untrimmed value too: ``sk-...`` is trimmed to ``sk-``)
        if not strict or credential_like(secret, 5):
            yield start, end, "SECRET"


# --- after a word: ``Bearer …``, ``--password …``, ``password is …`` ---------------------------

_AUTH = re.compile(r"[ \t]++([A-Za-z0-9._~+/=-]{12,400})")  # after "bearer", "basic", "token"
# "password is X", "PIN was 1234" (short values too); "… to X" needs a verb: see the prose rule.
_SAID = re.compile(
    r"p(?<![a-z]p)(?:assword|asscode|assphrase|in)[ \t]++(?:is|was)[ \t:]++([^\s\"']{4,64})"
)
_FLAG = re.compile(r"--(?:password|passwd|token|api-key|secret|client-secret)[ \t]++([^\s\"']+)")
_URL_CREDS = re.compile(r"://[^\s:/@]{0,64}:([^\s@/]{1,200})@")


def _after_words(lower: str, words: tuple[str, ...]) -> Iterator[re.Match[str]]:
    """``_AUTH`` matched right after each occurrence of one of ``words``."""
    for word in words:
        at = lower.find(word)
        while at >= 0:
            if m := _AUTH.match(lower, at + len(word)):
                yield m
            at = lower.find(word, at + 1)


def _after_keywords(text: str, lower: str) -> Found:
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


# --- command lines: ``curl -u user:pw``, ``mysql -u root -p pw`` -------------------------------

# (Each starts with its literal ``-``, then looks behind it: the engine skips ahead fast.)
_USER_FLAG = re.compile(r"-(?<![\w-].)(?:u|-user)(?:[ \t]++|=)[\"']?([^\s:\"']{1,64}):([^\s\"']+)")
_P_FLAG = re.compile(r"-(?<![\w-].)p(?:[ \t]++)?[\"']?([^\s\"'-][^\s\"']{0,199})")
# ``-p`` is a password only in a command that also names a user (``-p`` is a port for ``ssh``,
# ``docker run``, ``psql``; a plugin for ``pytest``).
_USER_OPTION = re.compile(r"(?<![\w-])(?:-[uU][ \t]?\w|--user(?:name)?[ \t=])|\bsshpass\b")


# Commands whose ``-u``/``--user`` takes ``user:group`` (``docker run -u app:app``).
_USER_GROUP_COMMANDS = re.compile(r"\b(?:docker|podman|nerdctl|kubectl|runuser|chroot)\b")


def _command_start(text: str, at: int) -> int:
    """Where the shell command around ``at`` starts (a line, ``;``, ``|``, ``&``; 200 chars)."""
    lo = max(0, at - 200)
    return max(lo, *(text.rfind(c, lo, at) + 1 for c in "\n;|&"))


def _user_passwords(text: str) -> Found:
    for m in _USER_FLAG.finditer(text):
        user, start, end = m.group(1), m.start(2), _trim(text, *m.span(2))
        value = text[start:end]
        if len(value) < 4 or value == user or placeholder_value(value):
            continue  # (``-u app:app``: a user and its group)
        if value.isdigit() and user.isdigit():  # ``-u 1000:1000``: uid and gid
            continue
        if not _USER_GROUP_COMMANDS.search(text, _command_start(text, m.start()), m.start()):
            yield start, end, "SECRET"


def _command_line(text: str) -> Found:
    yield from _user_passwords(text)
    for m in _P_FLAG.finditer(text):
        start, end = m.start(1), _trim(text, *m.span(1))
        value = text[start:end]
        user_option = _USER_OPTION.search(text, _command_start(text, m.start()), m.start())
        if user_option is None or value.isdigit():
            continue
        if credential_like(value, 4) and not placeholder_value(value):
            yield start, end, "SECRET"


# --- passwords in prose ------------------------------------------------------------------------

# "password" in several languages, as a word of its own (not ``DB_PASSWORD``, ``/etc/passwd``).
_PASSWORD_WORD = re.compile(
    r"(?<![\w/\\.$-])(?:pass(?:words?|wd|phrase|code|wort)|pwd?|mot de passe|mdp|kennwort"
    r"|contrase[ñn]a|wachtwoord|senha|has[łl]o|l[öo]senord|passord|adgangskode|salasana|пароль)"
    r"(?![\w-])[ \t]*+(?:[:=](?![:=/])[ \t]*+)?",
    re.IGNORECASE,
)
# Words that link the password word to its value: "… is X", "… c'est X", "… lautet X".
_LINKS = frozenset(
    "is was are were now = : -> → est c'est c’est était ist lautet war es era é foi jest "
    "är er".split()
)
# Links that need a verb of setting before them: "changed the password to X", "changé … en X".
_CHANGE_LINKS = frozenset("to en auf naar para a na".split())
_CHANGE_VERB = re.compile(
    r"(?i)\b(?:set|reset|chang|updat|rotat|switch|modifi|änder|geändert|setz|gesetzt|cambi"
    r"|alter|mud|wijzig|veranderd|zmieni)"
)
# Nouns that make a compound with the password word: "the password policy is …", "the pw
# hashing function is …" describe something else than the password.
_COMPOUNDS = frozenset(
    "policy policies hash hashes hashing hasher algorithm function manager managers reset resets "
    "hint field length requirement requirements rule rules rotation expiry expiration change "
    "changes history complexity strength prompt dialog form page link file storage store "
    "protection check validation spraying attack leak age format encoding encryption salt "
    "minimum score generator".split()
)
# Words that start another field: in "the password is case-sensitive, the username is jdoe-2024"
# the value after them is not the password's.
_OTHER_FIELDS = frozenset(
    "user username login host hostname server port account email e-mail id network ssid "
    "benutzer benutzername utilisateur identifiant usuario gebruiker gebruikersnaam".split()
)
_WORD = re.compile(r"\S++")
# A digit or a symbol: a window of prose without one holds no password (a fast way out).
_CREDENTIAL_CHAR = re.compile(r"[0-9]|[^\w\s.,;:?'’\"“”«»()\[\]-]")
_MAX_WORDS_BEFORE = 8
"""How many words may stand between the password word and its value."""
_OPEN_QUOTES = "\"'`“‘«("
_CLOSE_QUOTES = "\"'`”’»"


def _unwrap(text: str, start: int, end: int) -> tuple[int, int]:
    """A word's span without the quotes around it and the punctuation after it."""
    while start < end and text[start] in _OPEN_QUOTES:
        start += 1
    while end > start + 1:
        if text[end - 1] in _CLOSE_QUOTES:
            end -= 1
        elif (trimmed := _trim(text, start, end)) < end:
            end = trimmed
        else:
            break
    return start, end


def _linked(previous: str, sentence: str) -> bool:
    """Whether the word ``previous`` introduces the value after it (``is``, ``admin:``…)."""
    word = previous.lower().strip(_OPEN_QUOTES + _CLOSE_QUOTES)
    if word in _LINKS or word.endswith((":", "=")):
        return True
    return word in _CHANGE_LINKS and _CHANGE_VERB.search(sentence) is not None


def _window(text: str, head: int, after: int) -> tuple[int, int] | None:
    """Where the words after the password word (at ``head``, ending at ``after``) end (its line,
    160 characters at most) and where its sentence starts; ``None`` when no word after it has a
    digit or a symbol, so none can be a password."""
    stop = min(len(text), after + 160)
    line_end = text.find("\n", after, stop)
    end = stop if line_end < 0 else line_end
    if _CREDENTIAL_CHAR.search(text, after, end) is None:
        return None
    lo = max(0, head - 60)
    return end, max(lo, *(text.rfind(c, lo, head) + 1 for c in "\n.;!?"))


def _value_after(text: str, head: int, after: int) -> tuple[int, int] | None:
    """The password that follows the password word: the next word, or a later one right after a
    link word, in the same sentence and before another field's name."""
    window = _window(text, head, after)
    if window is None:
        return None
    window_end, sentence_start = window
    previous = ""
    for i, word in enumerate(_WORD.finditer(text, after, window_end)):
        start, end = _unwrap(text, *word.span())
        value = text[start:end]
        if i > _MAX_WORDS_BEFORE or (i == 0 and value.lower() in _COMPOUNDS):
            break
        linked = i == 0 or _linked(previous, text[sentence_start : word.start()])
        if linked and prose_credential(value):
            return start, end
        if word.group().rstrip(_CLOSE_QUOTES).endswith((".", "!", "?", ";")):
            break  # the end of the sentence
        if value.lower() in _OTHER_FIELDS:
            break
        previous = word.group()
    return None


def _prose_passwords(text: str) -> Found:
    for m in _PASSWORD_WORD.finditer(text):
        span = _value_after(text, m.start(), m.end())
        if span is not None:
            yield *span, "SECRET"


_PROSE_HINTS = (
    *("pass", "pw", "mdp", "kennw", "contrase", "wachtw", "senha", "hasło", "haslo", "senord"),
    *("adgangsk", "salasana", "пароль", "Пароль"),
)


def find_context_secrets(text: str, lower: str) -> Found:
    """Credentials known by the text around them (see the module docstring)."""
    if "://" in text:
        for m in _URL_CREDS.finditer(text):
            if not placeholder_value(m.group(1)):
                yield *m.span(1), "SECRET"
    yield from _after_keywords(text, lower)
    if any(k in lower for k in ("pass", "pw", "secret", "token", "key", "credential")):
        yield from _assignments(text, lower)
    if "-u" in lower or "sshpass" in lower:
        yield from _command_line(text)
    if any(h in lower for h in _PROSE_HINTS):
        yield from _prose_passwords(text)
