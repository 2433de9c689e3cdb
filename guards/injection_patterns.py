"""Hand-written patterns for unmistakable prompt-injection phrasing, in several languages.

They run on ``guards.normalize`` output (case-folded, homoglyphs and leetspeak undone), so they are
written in lower case. Each is meant to be precise: it names the thing being overridden
("your instructions", "the system prompt", "previous rules"), so that "ignore my last message",
"override the helm value" or "what is a system prompt?" do not match. Fuzzier attacks are the
trained classifier's job (``guards.injection``).
"""

from __future__ import annotations

import re

_GAP = r"[^.!?\n]{0,40}?"
_OVERRIDE_VERB = (
    r"(?:ignore|disregard|forget|override|bypass|abandon|discard|drop|skip|neglect|set aside"
    r"|pay no attention to|do not follow|don't follow|stop following)"
)
_PRIOR = (
    r"(?:previous|prior|above|earlier|preceding|initial|original|foregoing|existing|old"
    r"|system|developer|safety|your|ur)"
)
_RULES = (
    r"(?:instructions?|rules|guidelines|directives|prompts?|programming|constraints|restrictions"
    r"|guardrails|policies|filters|commands|orders|training|conditioning)"
)
_AI = (
    r"(?:ai|a\.i\.|llm|assistant|chatbot|bot|language model|gpt|chatgpt|claude|gemini|copilot"
    r"|agent)"
)

PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "override of prior instructions",
        re.compile(rf"\b{_OVERRIDE_VERB}\b{_GAP}\b{_PRIOR}\b(?:\s+\w+){{0,2}}\s+{_RULES}\b"),
    ),
    (
        "override of prior instructions",
        re.compile(
            rf"\b{_OVERRIDE_VERB}\b(?:\s+\w+){{0,2}}\s+{_RULES}\s+"
            r"(?:above|before this|you (?:were|have been) given|so far|from (?:before|earlier))"
        ),
    ),
    (
        "override of prior instructions",
        re.compile(
            r"\b(?:forget|ignore|disregard)\s+(?:everything|all(?: of it)?|anything)\s+"
            r"(?:above|before|you (?:were|have been) told|said before|prior)"
        ),
    ),
    (
        "system prompt extraction",
        re.compile(
            r"\b(?:reveal|print|show|repeat|output|display|leak|dump|recite|disclose|expose"
            r"|tell me|give me|share|write out|spell out|paste|what (?:is|are|was|were))\b"
            r"[^.!?\n]{0,30}?\b(?:your|ur|the assistant's|the bot's)\s+(?:\w+\s+)?"
            r"(?:system|initial|hidden|original|secret|internal|developer|pre-?prompt|base)\s*"
            r"(?:prompt|instructions|message|rules|configuration|directives)"
        ),
    ),
    (
        "system prompt extraction",
        re.compile(
            r"\b(?:repeat|print|output|recite|copy|write)\b[^.!?\n]{0,30}?\b(?:the )?"
            r"(?:text|words|everything|all|instructions|content|lines?)\s+(?:above|before)\s+"
            r"(?:this|my|that|the first)"
        ),
    ),
    (
        "unrestricted persona",
        re.compile(
            r"\byou (?:are|will be|'re|will act as|act as|shall be) "
            r"(?:now |no longer |from now on )?(?:an? )?(?:\w+ )?"
            r"(?:unrestricted|unfiltered|uncensored|jailbroken|amoral|unethical|unbound"
            r"|free of (?:all )?(?:rules|restrictions)|without (?:any )?(?:rules|restrictions"
            r"|limits|limitations|filters|guidelines|ethics|morals))\b"
        ),
    ),
    ("unrestricted persona", re.compile(r"\bdo anything now\b|\bdan mode\b|\bjailbreak mode\b")),
    (
        "unrestricted persona",
        re.compile(
            r"\b(?:enable|activate|enter|switch (?:in)?to|you are (?:now )?in)\s+(?:the\s+)?"
            r"(?:developer|god|jailbreak|unrestricted|unfiltered|evil|chaos|dude|stan)\s+mode\b"
            r"[^.!?\n]{0,60}?\b(?:no|without|ignore|any|unrestricted|filters?|rules)\b"
        ),
    ),
    (
        "chat-template tokens",
        re.compile(
            r"<\|(?:im_start|im_end|system|endoftext|eot_id|start_header_id)\|>"
            r"|<<sys>>|\[/?inst\]|\[/?system\]"
        ),
    ),
    (
        "instructions addressed to the ai",
        re.compile(
            rf"(?:\bnote|\bmessage|\binstructions?|\battention|\bimportant)\s+(?:to|for)\s+(?:the\s+|any\s+|all\s+)?"
            rf"{_AI}s?\b"
            rf"|\bif you are an? {_AI}\b"
            rf"|\b{_AI}s?\s+(?:reading|processing|summari[sz]ing|parsing|scanning) (?:this|these)\b"
            rf"|\b(?:dear|hey|hi|attention)\s+{_AI}s?\s*[,:!]"
        ),
    ),
    (
        "exfiltration request",
        re.compile(
            r"\b(?:send|post|forward|upload|exfiltrate|transmit|email|leak|append)\b[^.!?\n]{0,60}?"
            r"\b(?:api keys?|tokens?|passwords?|credentials|secrets|env(?:ironment)? variables"
            r"|conversation|chat history|system prompt|session cookies?)\b[^.!?\n]{0,60}?"
            r"(?:https?://|\bto (?:this|my|the following) (?:url|server|endpoint|address|webhook))"
        ),
    ),
    (
        "override of prior instructions (multilingual)",
        re.compile(
            r"\bignor\w*\s+(?:toutes?\s+|tous\s+)?(?:les\s+|vos\s+|tes\s+)?(?:instructions|consignes|règles)"
            r"\s+(?:précédentes|antérieures|ci-dessus|initiales)"
            r"|\boubli\w*\s+(?:toutes?\s+)?(?:tes|vos|les)\s+(?:instructions|consignes|règles)"
            r"|\bignorier\w*\s+(?:sie\s+)?(?:alle\s+)?(?:vorherigen|bisherigen|obigen|vorangegangenen"
            r"|früheren|deine|ihre)\s+(?:anweisungen|instruktionen|regeln|befehle|vorgaben)"
            r"|\bvergiss\s+(?:alle\s+|alles\s+)?(?:deine\s+|die\s+)?(?:vorherigen\s+|bisherigen\s+)?"
            r"(?:anweisungen|instruktionen|regeln|vorgaben)"
            r"|\bvergiss alles(?:,)?\s+(?:davor|bisher|was)"
            r"|\bignor\w*\s+(?:todas\s+|todos\s+|tutte\s+)?(?:las\s+|los\s+|le\s+|as\s+|os\s+)?"
            r"(?:instrucciones|reglas|indicaciones|istruzioni|regole|instruções|regras)"
            r"\s+(?:anteriores|previas|precedenti|prévias)"
            r"|\b(?:olvida|dimentica|esqueça|esqueca)\w*\s+(?:todas\s+|tutte\s+)?(?:las\s+|le\s+|as\s+)?"
            r"(?:tus\s+|tue\s+|suas\s+)?(?:instrucciones|reglas|istruzioni|regole|instruções|regras)"
            r"|\bnegeer\s+(?:alle\s+)?(?:vorige|eerdere|voorgaande|bovenstaande)\s+(?:instructies|regels)"
            r"|\bzignoruj\s+(?:wszystkie\s+)?(?:poprzednie|wcześniejsze)\s+(?:instrukcje|polecenia|zasady)"
            r"|(?:игнорируй|проигнорируй|забудь)\w*\s+(?:все\s+)?(?:предыдущие\s+|прежние\s+)?"
            r"(?:инструкции|указания|правила)"
            r"|(?:ігноруй|забудь)\w*\s+(?:всі\s+)?(?:попередні\s+)?(?:інструкції|вказівки|правила)"
            r"|önceki\s+(?:tüm\s+)?talimatları\s+(?:yok say|görmezden gel|unut)"
            r"|(?:忽略|无视|忘记|忘掉)(?:之前|以上|先前|上面|前面|所有)\S{0,6}?(?:指令|指示|说明|规则|提示)"
            r"|(?:以前|前|上記|これまで)の\S{0,6}?(?:指示|命令|ルール)を(?:無視|忘れ)"
            r"|(?:이전|위의|앞의)\s*(?:모든\s*)?(?:지시|명령|지침|규칙)\S{0,3}\s*(?:무시|잊)"
            r"|تجاهل\s+(?:جميع\s+|كل\s+)?(?:التعليمات|الأوامر|التوجيهات)"
            r"|(?:पिछले|पिछली|पहले के)\s+(?:सभी\s+)?(?:निर्देशों|निर्देश)\s+को\s+(?:अनदेखा|नज़रअंदाज़|भूल)"
            r"|\bbỏ qua\s+(?:tất cả\s+)?(?:các\s+)?(?:hướng dẫn|chỉ dẫn|lệnh)\s+(?:trước|trên)"
            r"|\babaikan\s+(?:semua\s+)?(?:instruksi|perintah|aturan)\s+(?:sebelumnya|di atas)"
        ),
    ),
    (
        "system prompt extraction (multilingual)",
        re.compile(
            r"(?:ton|votre|dein\w*|ihr\w*|tu|su|il tuo|o seu|je|twój|твой|ваш)\s+"
            r"(?:prompt système|prompt systeme|systemprompt|system-prompt|prompt del sistema"
            r"|prompt di sistema|prompt do sistema|systeemprompt|prompt systemowy"
            r"|системный промпт|системные инструкции)"
            r"|(?:显示|输出|告诉我|透露|打印|泄露)\S{0,4}系统提示"
            r"|システムプロンプトを(?:表示|出力|教え|見せ)"
            r"|시스템 프롬프트를?\s*(?:보여|출력|알려)"
        ),
    ),
)


# The multilingual patterns are long alternations that the regex engine tries at every position:
# they only run when one of these fragments occurs in the text.
_NEEDLES: dict[str, tuple[str, ...]] = {
    "override of prior instructions (multilingual)": (
        *("ignor", "oubli", "vergiss", "olvid", "dimentic", "esque", "negeer", "zignoruj"),
        *("игнор", "забудь", "ігнор", "talimat", "忽略", "无视", "忘", "無視", "忘れ", "무시"),
        *("잊", "تجاهل", "निर्देश", "bỏ qua", "abaikan"),
    ),
    "system prompt extraction (multilingual)": (
        *("prompt", "промпт", "инструкци", "系统提示", "システムプロンプト", "시스템 프롬프트"),
    ),
}


def match_patterns(text: str) -> list[str]:
    """The names of the patterns ``text`` (already normalised) matches, without repeats."""
    found: dict[str, None] = {}
    for name, pattern in PATTERNS:
        needles = _NEEDLES.get(name)
        if name in found or (needles and not any(n in text for n in needles)):
            continue
        if pattern.search(text):
            found[name] = None
    return list(found)
