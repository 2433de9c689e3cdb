"""The words the cache's verification step reads questions with (``graph.cache_verify``).

Tokenisation (contractions expanded, phrases and spellings mapped to one form, hyphenated words
whole or split), Snowball stems with synonyms folded together, and the word lists: negations,
number words, dates, opposite pairs, filler. Lists, not a model: every entry is a claim a
reviewer can check, and ``assistant bench cache`` measures what they do together.
"""

from __future__ import annotations

import re
from functools import lru_cache

import Stemmer

STEM = Stemmer.Stemmer("english")
WORD = re.compile(r"[a-z0-9]+(?:['./-][a-z0-9]+)*")
"""A word, keeping "3.12", "o'clock", "dd/mm/yyyy" and "us-east-1" whole."""

CONTRACTIONS = (
    (re.compile(r"\bcan['’]?t\b"), "can not"),
    (re.compile(r"\bwon['’]?t\b"), "will not"),
    (re.compile(r"\bshan['’]?t\b"), "shall not"),
    (re.compile(r"\b(\w+)n['’]t\b"), r"\1 not"),
    (re.compile(r"\bcannot\b"), "can not"),
    (re.compile(r"['’](?:m|re|ve|ll|d)\b"), ""),
)
NEGATIONS = frozenset({"not", "no", "never", "without", "nor", "none", "neither", "nothing"})
NUMBER_WORDS = {
    w: str(n)
    for n, w in enumerate(
        "zero _ two three four five six seven eight nine ten eleven twelve".split()
    )
} | {"twenty": "20", "thirty": "30", "fifty": "50", "hundred": "100", "thousand": "1000"}
"""Number words in digits ("one" is left alone: "one at a time", "which one")."""
ORDINALS = frozenset("first second third fourth fifth sixth seventh eighth ninth tenth".split())
DATES = frozenset(
    """january february march april june july august september october november december monday
    tuesday wednesday thursday friday saturday sunday weekend weekday today tomorrow yesterday
    tonight morning afternoon evening night daily weekly monthly quarterly yearly annually
    annual hourly next last previous upcoming past current""".split()
)
OPPOSITE_PAIRS = (
    "enable/disable on/off up/down in/out start/stop add/remove allow/deny block/unblock "
    "open/close increase/decrease raise/lower before/after max/min maximum/minimum "
    "install/uninstall encode/decode encrypt/decrypt import/export upload/download lock/unlock "
    "first/last ascending/descending asc/desc read/write grant/revoke create/delete "
    "public/private sync/async true/false join/leave approve/reject accept/decline show/hide "
    "mute/unmute archive/unarchive follow/unfollow subscribe/unsubscribe push/pull send/receive "
    "incoming/outgoing inbound/outbound input/output upper/lower higher/lower older/newer "
    "oldest/newest earliest/latest early/late more/less most/least above/below over/under "
    "inside/outside include/exclude internal/external local/remote online/offline "
    "manual/automatic success/failure pass/fail available/unavailable connect/disconnect "
    "expand/collapse zoom/unzoom merge/split compress/decompress zip/unzip attach/detach "
    "mount/unmount assign/unassign pin/unpin star/unstar hire/fire buy/sell credit/debit "
    "income/expense paid/unpaid full/part morning/evening arrive/depart minimum/maximum "
    "promote/demote forward/backward next/previous upgrade/downgrade upvote/downvote "
    "serialize/deserialize inflate/deflate activate/deactivate"
)
NEGATING_PREFIXES = ("un", "dis", "de", "non", "in", "im", "ir", "il")

PHRASES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(rf"\b{pattern}\b"), canonical)
    for pattern, canonical in (
        (
            r"(?:can|could|would) (?:you|someone|somebody|anyone|anybody) (?:please )?"
            r"(?:tell|show|explain to|help|walk) me(?: through)?|(?:tell|show|explain to|help) me|"
            r"walk me through|(?:does )?(?:any|some)(?:one|body) know|do you know|"
            r"i (?:was|am) wondering|quick q\b",
            " ",
        ),
        (r"get rid of", "remove"),
        (r"sign(?:s|ed|ing)? up(?: for)?|enrol(?:l|ls|ling|led)? in", "enroll"),
        (r"sign(?:s|ed|ing)? off(?: on)?", "approve"),
        (r"sign(?:s|ed|ing)? in(?:to)?|log(?:s|ged|ging)? in(?:to)?|login", "login"),
        (r"sign(?:s|ed|ing)? out|log(?:s|ged|ging)? out|logout", "logout"),
        (r"set(?:s|ting)? up|setup", "configure"),
        (r"ask(?:s|ed|ing)? for|appl(?:y|ies|ied|ying) for", "request"),
        (r"look(?:s|ed|ing)? up|find out", "find"),
        (r"turn(?:s|ed|ing)? on|switch(?:es|ed|ing)? on", "enable"),
        (r"turn(?:s|ed|ing)? off|switch(?:es|ed|ing)? off", "disable"),
        (r"two[- ]?factor(?: authentication| auth)?|2fa", "2fa"),
        (r"multi[- ]?factor(?: authentication| auth)?|mfa", "mfa"),
        (r"wi[- ]?fi", "wifi"),
        (r"e[- ]?mail", "email"),
        (r"post[- ]?mortem", "postmortem"),
        (r"on[- ]?call", "oncall"),
        (r"pull request|\bpr\b", "pr"),
        (r"how often|how frequently", "frequency"),
        (
            r"how long (?:does|will|would) it take(?: to| for| until| before)?|how long until",
            "duration",
        ),
        (r"in reverse(?: order)?|backwards?|reversed", "reverse"),
        (r"on my (?:own )?(?:machine|computer)", "locally"),
        (r"(?:get|gain|obtain|have) access", "request access"),
        (r"counts? as|considered", "considered"),
        (r"(?:per|a|each|every) (day|week|month|year)", r"\1ly"),
        (r"annual(?:ly)?|yearly|dayly", "yearly"),
        (r"single sign[- ]?on", "sso"),
        (r"user interface", "ui"),
        (r"virtual machines?", "vm"),
        (r"new york(?: city)?", "nyc"),
        (r"databases?", "db"),
        (r"k8s", "kubernetes"),
        (r"macbook(?: pro| air)?", "mac"),
        (r"production", "prod"),
        (r"penetration test(?:ing)?|pen[- ]test(?:ing)?", "pentest"),
        (r"date ?time", "datetime"),
        (r"is it (?:ok|okay|alright|allowed|permitted|possible)(?: for me)? to", "can i"),
        (r"am i (?:allowed|permitted|able) to", "can i"),
        (r"(?:is|are) there (?:a|any) way(?:s)? to", "how"),
        (r"what(?:'s| is) the (?:best |right |correct )?way to", "how"),
        (r"what are the steps to", "how"),
        (r"what(?:'s| is) the (?:process|procedure) (?:for|to)", "how"),
    )
)
SYNONYMS = {
    STEM.stemWord(word): STEM.stemWord(group[0])
    for group in (
        ("remove", "delete", "erase"),
        ("change", "update", "modify", "edit", "alter", "adjust"),
        ("find", "locate"),
        ("fix", "resolve", "repair"),
        ("book", "reserve"),
        ("tell", "notify", "inform", "contact", "talk", "speak"),
        ("submit", "file"),
        ("policy", "rule", "rules", "guideline", "guidelines"),
        ("error", "problem", "bug"),
        ("phone", "mobile", "cellphone", "smartphone"),
        ("computer", "laptop", "pc"),
        ("vendor", "supplier"),
        ("increase", "more", "extra", "additional"),
        ("big", "large", "bigger", "larger"),
        ("job", "role", "position", "opening", "vacancy"),
        ("enroll", "register"),
        ("limit", "cap"),
        ("company", "corporate"),
        ("dictionary", "dict"),
        ("integer", "int"),
        ("string", "str"),
        ("repo", "repository"),
        ("config", "configuration"),
        ("doc", "docs", "documentation"),
        ("quick", "fast", "quickly"),
        ("use", "using", "utilise", "utilize"),
        ("lost", "misplaced"),
        ("frequency", "often", "frequently"),
        ("permission", "permissions", "access"),
        ("convert", "turn", "transform"),
        ("iterate", "loop"),
        ("store", "keep", "save"),
        ("create", "add", "build"),
        ("colleague", "coworker", "teammate"),
        ("compromised", "hacked", "breached"),
        ("below", "under"),
        ("paste", "put"),
        ("expense", "reimburse", "reimbursed"),
        ("quit", "resign"),
        ("combine", "merge"),
    )
    for word in group
}
FILLER = frozenset(
    """a an the i me my mine we us our ours you your yours it its they them their he she his her
    is are am was were be been being do does did doing done have has had can could should would
    will shall may might to of in on at for by about as and or but so if then than this
    that these those there here how what whats what's why when where who whom which whose
    please hey hi hello thanks thank quick question questions way ways step steps process
    procedure exactly just any some something anything someone anyone know need want like get
    got go goes going went gone also actually really possible allowed permitted okay ok able
    make makes perform find locate see view between vs versus item items thing things stuff
    explain through help wondering curious advice guide someone somebody anybody request ask
    much many kind kinds sort point use work seem lot command app application option options
    with own obtain acquire submit officially properly correctly easily usually normally
    typically keyword function method""".split()
)
"""Words that shape a question without changing what it asks: scaffolding and light verbs
("make a copy", "find the file"). A light verb only goes unnoticed beside another: "find X" and
"delete X" still differ in "delete". Question words that name the kind of answer, obligations
and pronouns pointing back are compared apart (``ANSWER_KINDS``, ``OBLIGATION``,
``POINTING_BACK``)."""
FILLER_STEMS = frozenset(STEM.stemWord(w) for w in FILLER)
ANSWER_KINDS = frozenset({"where", "when", "who", "whom", "whose", "why"})
"""Question words that name the kind of answer: "where" and "when" are different questions
("what" and "how" are not: "what's the way to" is "how")."""
OBLIGATION = frozenset(
    "must required require requires requirement mandatory compulsory obligatory necessary".split()
)
POINTING_BACK = frozenset({"it", "them"})
"""Pronouns that point at something said before: "install it on Windows" is not "install
Windows"."""
DIRECTIONAL = frozenset({"from", "to", "into", "onto", "than"})
DETERMINERS = frozenset("a an the my our your their his her its this that these those".split())
INFINITIVE = frozenset(
    """how what where who when which want wants need needs able way ways trying try tries have
    has had going like steps allowed permitted ok okay possible supposed best easiest quickest
    right safe""".split()
)
"""Words after which "to" starts a verb ("how to turn"), not a destination."""

ENTITY = re.compile(
    r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"  # e-mail
    r"|<[@#!][\w|^-]+>"  # Slack mention of a user, channel or group
    r"|<[A-Z_]{2,}>"  # a redacted value (``<EMAIL>``)
    r"|(?<![\w'])(?!I['’])[A-Z][\w'-]+"  # a capitalised word mid-sentence: a name, product
)
SENTENCE_START = re.compile(r"(?:^|[.!?:]\s+|\n\s*)$")


_ACRONYM_PLURAL = re.compile(r"\b([A-Z]{2,})s\b")
"""``NDAs``, ``SLOs``: the plural of an acronym is the acronym."""
_PARENTHESISED = re.compile(r"(\w)\((\w+)\)")
"""``401(k)`` is ``401k``."""
_ORDINAL_DIGITS = re.compile(r"\b(\d+)(?:st|nd|rd|th)\b")
"""``3rd`` (floor) is ``3``."""


@lru_cache(maxsize=4096)
def split_tokens(text: str) -> tuple[str, ...]:
    """Lower-cased words with contractions expanded and phrases mapped to one form; hyphenated
    words stay whole ("us-east-1"), for ``_directions``."""
    text = _ACRONYM_PLURAL.sub(r"\1", _PARENTHESISED.sub(r"\1\2", text))
    lowered = text.lower().replace("’", "'")
    for pattern, replacement in CONTRACTIONS:
        lowered = pattern.sub(replacement, lowered)
    for pattern, canonical in PHRASES:
        lowered = pattern.sub(canonical, lowered)
    lowered = _ORDINAL_DIGITS.sub(r"\1", lowered)
    return tuple(w.removesuffix("'s") for w in WORD.findall(lowered))


@lru_cache(maxsize=4096)
def split_words(text: str) -> tuple[str, ...]:
    """``tokens`` with hyphenated words split ("part-time" is "part time")."""
    return tuple(part for token in split_tokens(text) for part in token.split("-") if part)


def stem(word: str) -> str:
    """A word's stem, synonyms and number words in one form."""
    stem = STEM.stemWord(NUMBER_WORDS.get(word, word))
    return SYNONYMS.get(stem, stem)


def _opposites() -> dict[str, frozenset[str]]:
    found: dict[str, set[str]] = {}
    for pair in OPPOSITE_PAIRS.split():
        a, b = (stem(w) for w in pair.split("/"))
        found.setdefault(a, set()).add(b)
        found.setdefault(b, set()).add(a)
    return {word: frozenset(others) for word, others in found.items()}


OPPOSITES = _opposites()
"""Stem (synonyms folded: "add" is "create") → the stems of its opposites."""


def meaningful(word: str) -> bool:
    """Whether ``word`` carries meaning: not a negation (counted apart), a direction (compared
    apart) or filler, itself or through its synonym ("file" a report is "submit" it)."""
    if word in NEGATIONS or word in DIRECTIONAL:
        return False
    return STEM.stemWord(word) not in FILLER_STEMS and stem(word) not in FILLER_STEMS
