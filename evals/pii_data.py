"""Generate the labelled PII / secret benchmark for ``assistant bench pii``.

``assistant data pii --out tests/data/pii-generated.jsonl --rows 600 --seed 7`` writes
JSON lines ``{"id", "text", "spans": [{"start", "end", "type"}]}``. Messages are filled-in
templates (support desk, banking, HR, devops and Slack chatter in English, German, French and
Dutch) with Faker values from several locales. A span is recorded where the generator inserts a
sensitive value, never by running the detector. Look-alikes go in unlabelled: versions, dates,
order ids, git SHAs, UUIDs, prices, ports, timestamps, identifiers, paths, Stripe object ids, and
near misses (a card failing Luhn, an IBAN with a wrong check, an invalid SSN, masked or
placeholder credentials); about a quarter of the rows hold nothing sensitive. Fake secrets have
the real prefix, length and alphabet (JWTs are base64url JSON, PEM bodies base64). The same seed
(with the same Faker version) gives the same file.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import random
import re
import string
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from faker import Faker

LOCALES = ("en_US", "en_GB", "de_DE", "fr_FR", "nl_NL", "es_ES", "it_IT")
IBAN_LOCALES = ("pl_PL", "de_AT", "de_CH", "fr_BE")
"""More countries for IBANs only."""
ALNUM = string.ascii_letters + string.digits
_SLOT = re.compile(r"\{(\w+)\}")

Part = tuple[str, str | None]
"""A piece of message text and the kind it is labelled with (``None``: not sensitive)."""


@dataclass
class Context:
    """What slot generators draw from: the run's random source, the row's Faker, all Fakers."""

    rng: random.Random
    fake: Faker
    fakers: dict[str, Faker]


def _pick(rng: random.Random, alphabet: str, n: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def _b64(data: bytes, url: bool = False) -> str:
    encoded = base64.urlsafe_b64encode(data) if url else base64.b64encode(data)
    return encoded.decode().rstrip("=") if url else encoded.decode()


# Random shapes, "|"-separated: ``{x12}`` is 12 characters of alphabet ``x`` (``_ALPHABETS``),
# ``{w}`` / ``{W}`` a Faker word in lower / title case.
_SHAPE_LINES = {
    "SLACK_TOKEN": "xoxb-{d12}-{d13}-{a24}|xoxp-{d12}-{d12}-{d13}-{h32}|xapp-1-A{u10}-{d13}-{h64}"
    "|https://hooks.slack.com/services/T{u8}/B{u10}/{a24}",
    "AWS_KEY": "AKIA{U16}|AKIA{U16}|ASIA{U16}",
    "GITHUB_TOKEN": "ghp_{a36}|ghp_{a36}|gho_{a36}|ghu_{a36}|ghs_{a36}|ghr_{a36}"
    "|github_pat_{a22}_{a59}",
    "API_KEY": "sk-proj-{b120}|sk-{a48}|sk-ant-api03-{b93}AA|AIza{b35}|sk_live_{a24}|sk_live_{a99}"
    "|rk_live_{a24}|sk_test_{a24}|SG.{b22}.{b43}|npm_{a36}|hf_{l34}|glpat-{b20}",
    "SECRET": "{a24}|{a32}|{a40}|{a64}|{b43}",
    # unlabelled look-alikes
    "ref": "ORD-20{d2}-{d6}|order #{d9}|OPS-{d4}|INV-20{d2}-{d5}|case {d8}|#{d5}",
    "sha": "{h40}|{h7}|{h12}|sha256:{h64}|{h8}-{h4}-4{h3}-a{h3}-{h12}|sha512-{s86}==",
    "port": "port {d4}|localhost:{d4}|port 443|:8080",
    "stripe_id": "ch_3{a23}|pi_3{a23}|cus_{a14}|evt_1{a23}|in_1{a23}|pm_1{a23}",
    "version": "v{d1}.{d1}.{d1}|v{d1}.{d2}.{d1}|version {d1}.{d1}.{d2}.{d3}|Python 3.1{d1}.{d1}",
    "price": "${d3}.{d2}|€{d2},{d2}|{d2}.{d1}%|{d1} {d3},{d2} €|£{d2}.{d2}|{d1}.{d1} GB",
    "ident": "{w}-{h9}-{k5}|/var/log/{w}/{w}-{d1}.log|https://{w}.example.com/{w}/{d5}"
    "|{w}_{w}_{w}_v{d1}|{W}{W}{W}{d4}|registry.example.com/{w}:{d1}.{d2}|build 2024{d4}.{d1}"
    "|ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI{s43} {w}@{w}",
    "placeholder": "xoxb-your-bot-token|sk-...|ghp_XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"
    "|AKIAXXXXXXXXXXXXXXXX|password=********|api_key=YOUR_API_KEY|token: <your-token-here>"
    "|Bearer <token>|DB_PASSWORD=${DB_PASSWORD}|**** **** **** {d4}|card ending in {d4}"
    "|password: (see 1Password)",
    "bad_ssn": "000-{d2}-{d4}|666-{d2}-{d4}|9{d2}-{d2}-{d4}",
    # passwords, and what is written before them
    "password": "{W}{d4}!|{W}{d2}#|{p12}|{p16}|{w}{d2}|{W}_{W}{d1}!|{w}.{w}.{d3}|{p10}",
    "password_key": 'DB_PASSWORD=|password: |"password": "|PGPASSWORD=|--password |my password is '
    "|client_secret=|SMTP_PASS=|admin password: '|pwd: |temporary password: |new password = "
    '|PASSWORD: "|pass=|set the password to ',
}
SHAPES = {kind: tuple(line.split("|")) for kind, line in _SHAPE_LINES.items()}
_ALPHABETS = {
    "d": string.digits,
    "a": ALNUM,
    "h": "0123456789abcdef",
    "u": string.ascii_uppercase + string.digits,
    "U": string.ascii_uppercase + "234567",
    "b": ALNUM + "-_",
    "l": string.ascii_letters,
    "k": "bcdfghjkmnpqrstvwxz",
    "s": ALNUM + "+/",
    "p": ALNUM + "!#$%&*+-=?@^_",
}
_SHAPE = re.compile(r"\{([a-zA-Z])(\d*)\}")


def shaped(kind: str, c: Context) -> str:
    """A random value of one of ``SHAPES[kind]`` (``{w}``/``{W}``: a Faker word, lower/title)."""

    def fill(m: re.Match[str]) -> str:
        if m.group(1) in "wW":
            word = c.fake.word()
            return word.title() if m.group(1) == "W" else word
        return _pick(c.rng, _ALPHABETS[m.group(1)], int(m.group(2)))

    return _SHAPE.sub(fill, c.rng.choice(SHAPES[kind]))


# --- personal data ----------------------------------------------------------------------------


def _email(c: Context) -> list[Part]:
    f, r = c.fake, c.rng
    value = r.choice([f.email(), f.free_email(), f.company_email(), f.ascii_safe_email()])
    if r.random() < 0.15:
        user, domain = value.split("@")
        value = r.choice([f"{user}+{f.word()}@{domain}", value.upper(), f"{user}@mail.{domain}"])
    before, after = r.choice([("", ""), ("", ""), ("<", ">"), ("mailto:", ""), ("(", ")")])
    return [(before, None), (value, "EMAIL"), (after, None)]


def _phone(c: Context) -> list[Part]:
    """A Faker phone number written with separators or a ``+`` (bare digit runs are skipped)."""
    while True:
        value = c.fake.phone_number()
        if c.rng.random() < 0.5:
            value = value.split("x")[0]
        if value.startswith("+") or re.search(r"[ .()-]", value):
            return [(value, "PHONE")]


def _card(c: Context, valid: bool = True) -> list[Part]:
    kind = c.rng.choice(["visa16", "visa16", "mastercard", "mastercard", "amex", "discover"])
    number = c.fake.credit_card_number(
        c.rng.choice([kind, kind, "visa13", "visa19", "jcb16", "diners"])
    )
    if not valid:  # any other last digit breaks the Luhn check
        number = number[:-1] + str((int(number[-1]) + c.rng.randint(1, 9)) % 10)
    cuts = (4, 10) if len(number) in (14, 15) else range(4, len(number), 4)  # Amex/Diners: 4-6-x
    bounds = [0, *cuts, len(number)]
    style = c.rng.choice([" ", " ", "-", ""])
    return [(style.join(number[a:b] for a, b in zip(bounds, bounds[1:], strict=False)), "CARD")]


def _iban(c: Context, valid: bool = True) -> list[Part]:
    value = c.fakers[c.rng.choice(LOCALES + IBAN_LOCALES)].iban()
    if not valid:  # any other check digits fail mod-97
        value = f"{value[:2]}{(int(value[2:4]) + c.rng.randint(1, 90)) % 100:02d}{value[4:]}"
    if c.rng.random() < 0.6:
        value = " ".join(value[i : i + 4] for i in range(0, len(value), 4))
    return [(value.lower() if c.rng.random() < 0.04 else value, "IBAN")]


def _ip(c: Context) -> list[Part]:
    f, r = c.fake, c.rng
    value = r.choice([f.ipv4_public(), f.ipv4_private(), f.ipv4_public(), f.ipv6()])
    if ":" in value:
        compressed = ipaddress.IPv6Address(value).compressed
        value = r.choice(
            [value, compressed, f"2001:db8:{r.randint(1, 9999):x}::{r.randint(1, 255):x}"]
        )
        return [(value, "IP")]
    return [(value, "IP"), (r.choice(["", "", "", ":8080", ":443", "/24"]), None)]


# --- secrets ----------------------------------------------------------------------------------


def _aws_secret(c: Context) -> list[Part]:
    key = c.rng.choice(
        ["AWS_SECRET_ACCESS_KEY=", "aws_secret_access_key = ", '"SecretAccessKey": "']
    )
    value = _pick(c.rng, ALNUM + "+/", 40)
    return [(key, None), (value, "AWS_KEY"), ('"' if key.endswith('"') else "", None)]


def _private_key(c: Context, truncated: bool = False) -> list[Part]:
    kind = c.rng.choice(["RSA ", "", "OPENSSH ", "EC ", "ENCRYPTED ", "DSA ", "PGP "])
    label = f"{kind}PRIVATE KEY" + (" BLOCK" if kind == "PGP " else "")
    body = _b64(c.rng.randbytes(c.rng.randint(120, 900)))
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    if truncated:  # pasted from the top and cut off: it runs to the end of the message
        lines = lines[: c.rng.randint(1, 4)]
    end = "" if truncated else f"\n-----END {label}-----"
    return [(f"-----BEGIN {label}-----\n" + "\n".join(lines) + end, "PRIVATE_KEY")]


def _jwt(c: Context) -> list[Part]:
    r, f = c.rng, c.fake
    alg = r.choice(["HS256", "RS256"])
    iat = r.randint(1_600_000_000, 1_750_000_000)
    claims = {"sub": str(r.randint(1000, 99999)), "name": f.name(), "iat": iat, "exp": iat + 3600}
    if r.random() < 0.5:
        claims["email"] = f.email()
    json_parts = ({"alg": alg, "typ": "JWT"}, claims)
    parts = [_b64(json.dumps(p, separators=(",", ":")).encode(), url=True) for p in json_parts]
    signature = _b64(r.randbytes(32 if alg == "HS256" else 256), url=True)
    return [(".".join([*parts, signature]), "JWT")]


def _password(c: Context) -> str:
    return shaped("password", c)


def _secret_assignment(c: Context) -> list[Part]:
    key = shaped("password_key", c)
    return [(key, None), (_password(c), "SECRET"), (key[-1] if key[-1] in "\"'" else "", None)]


def _secret_bearer(c: Context) -> list[Part]:
    r = c.rng
    if r.random() < 0.3:
        token = _b64(f"{c.fake.user_name()}:{_password(c)}".encode())
        return [("Authorization: Basic ", None), (token, "SECRET")]
    header = r.choice(["Authorization: Bearer ", "bearer ", "Cookie: session="])
    return [(header, None), (shaped("SECRET", c), "SECRET")]


_DSN_HOSTS = (
    *("postgres db.internal:5432/orders", "mysql IP:3306/crm", "redis cache-01.prod:6379/0"),
    *("mongodb+srv cluster0.ab1cd.mongodb.net/app", "amqp rabbit:5672/", "https registry.io/v2/"),
)


def _secret_url(c: Context) -> list[Part]:
    scheme, host = c.rng.choice(_DSN_HOSTS).split()
    user = "" if scheme == "redis" and c.rng.random() < 0.5 else c.fake.user_name()
    host_parts: list[Part] = [("@", None), (host, None)]
    if host.startswith("IP"):  # a database addressed by IP: the IP is labelled too
        host_parts = [("@", None), (c.fake.ipv4_private(), "IP"), (host[2:], None)]
    secret: Part = (_password(c).replace("@", "#"), "SECRET")
    return [(f"{scheme}://{user}:", None), secret, *host_parts]


def _secret_token(c: Context) -> list[Part]:
    if c.rng.random() < 0.3:
        return [(_b64(c.rng.randbytes(c.rng.choice([32, 48, 64]))), "SECRET")]
    return [(shaped("SECRET", c), "SECRET")]


# --- look-alikes (never labelled) -------------------------------------------------------------


def _unlabelled(fill: Callable[[Context], str]) -> Callable[[Context], list[Part]]:
    return lambda c: [(fill(c), None)]


def _labelled(kind: str) -> Callable[[Context], list[Part]]:
    return lambda c: [(shaped(kind, c), kind)]


def _shape(kind: str) -> Callable[[Context], str]:
    return lambda c: shaped(kind, c)


_END = datetime(2025, 1, 1)  # Faker dates end here, not today: the file must not change daily
_NEGATIVES: dict[str, tuple[Callable[[Context], str], ...]] = {
    "date": (
        lambda c: c.fake.date(end_datetime=_END),
        lambda c: c.fake.date(c.rng.choice(["%d/%m/%Y", "%d.%m.%Y", "%m/%d/%Y", "%b %d"]), _END),
    ),
    "ts": (
        lambda c: c.fake.iso8601(end_datetime=_END) + c.rng.choice(["", "Z", "+02:00"]),
        lambda c: c.fake.time(end_datetime=_END),
        lambda c: str(c.rng.randint(1_600_000_000, 1_750_000_000)),
    ),
    # one step away from sensitive: fails the Luhn, mod-97 or SSN rules
    "near": (lambda c: _card(c, False)[0][0], lambda c: _iban(c, False)[0][0], _shape("bad_ssn")),
    **{k: (_shape(k),) for k in ("ref", "sha", "port", "stripe_id", "placeholder", "version")},
    **{k: (_shape(k),) for k in ("price", "ident")},
}


def _any_of(generators: tuple[Callable[[Context], str], ...]) -> Callable[[Context], str]:
    return lambda c: c.rng.choice(generators)(c)


def _city(c: Context) -> str:
    # it_IT's Faker keeps its cities in a list made from a set: their order (and so the city a
    # seed gives) changes with the process's hash seed. Sorting them keeps the file reproducible.
    for provider in c.fake.get_providers():
        cities = getattr(provider, "cities", None)
        if isinstance(cities, list):
            return str(c.rng.choice(sorted(cities)))
    return str(c.fake.city())


_FILLERS: dict[str, Callable[[Context], str]] = {
    "name": lambda c: c.fake.name(),
    "first": lambda c: c.fake.first_name(),
    "company": lambda c: c.fake.company(),
    "city": _city,
    "sentence": lambda c: c.fake.sentence(nb_words=c.rng.randint(5, 12)),
    "service": lambda c: c.rng.choice(["billing-api", "auth", "search", "payments", "web"]),
    "env": lambda c: c.rng.choice(["staging", "prod", "dev", "eu-west-1", "us-east-2"]),
    "amount": lambda c: f"{c.rng.randint(5, 4999)}.{c.rng.randint(0, 99):02d}",
    "neg": lambda c: c.rng.choice([g for gs in _NEGATIVES.values() for g in gs])(c),
    **{kind: _any_of(generators) for kind, generators in _NEGATIVES.items()},
}
SLOTS: dict[str, Callable[[Context], list[Part]]] = {
    "email": _email,
    "phone": _phone,
    "card": _card,
    "iban": _iban,
    "ssn": lambda c: [(c.fakers["en_US"].ssn(), "SSN")],
    "ip": _ip,
    "slack": _labelled("SLACK_TOKEN"),
    "aws_id": _labelled("AWS_KEY"),
    "aws_secret": _aws_secret,
    "github": _labelled("GITHUB_TOKEN"),
    "pem": _private_key,
    "pem_cut": lambda c: _private_key(c, truncated=True),
    "jwt": _jwt,
    "api_key": _labelled("API_KEY"),
    "password": _secret_assignment,
    "bearer": _secret_bearer,
    "db_url": _secret_url,
    "token": _secret_token,
    **{name: _unlabelled(fill) for name, fill in _FILLERS.items()},
}

# One template a line: weight, language, text (``\n`` is a line break; a line that starts with
# blanks continues the one above). "en" rows take any locale's values, the others their own.
_TEMPLATE_LINES = r"""
4 en Hi, my card {card} was charged twice for ${amount} on {date}. Reach me at {phone} or {email}.
2 en Hello team, I can't log in since {date}. My account email is {email}. Thanks, {name}
2 en Please update my phone number to {phone} (the old one was {phone}). {sentence}
3 en Refund request: card {card}, exp 09/27, amount {price}, order {ref}.
2 en Customer {name} {email} says invoice {ref} for {price} is wrong. {sentence}
2 en {sentence} Call me back on {phone} after {ts}, please.
2 en Is the {placeholder} the one on file? The full number is {card}, billed {date}.
2 en Refund {stripe_id} for {name} ({price}) and charge {stripe_id} instead, ref {ref}.
2 en The number {near} is rejected by the form, is it a typo? Order {ref}
3 en Please wire {amount} EUR to IBAN {iban} ({company}), reference {ref}.
2 de Hallo, bitte überweisen Sie die Erstattung auf meine IBAN {iban}. Grüße, {name}
2 de Tel.: {phone} · Fax: {phone} · {company}, {city}
2 fr Bonjour, voici mon IBAN : {iban}. Vous pouvez me joindre au {phone}. {name}
2 nl Hoi, mijn rekeningnummer is {iban} en mijn telefoonnummer {phone}. Groet, {first}
2 fr Ma carte {card} a été débitée deux fois ({price}) le {date}. Rappelez-moi au {phone}.
4 en New hire paperwork for {name}: SSN {ssn}, personal email {email}, start date {date}.
3 en Can you fix the W-2 for {name}? SSN on file is {ssn} but it should be {ssn}.
2 en {name} moved to {city}; new mobile {phone}. Payroll IBAN is {iban}.
2 de Neue Handynummer von {name}: {phone}. Bitte im HR-System ändern ({ref}).
2 en Background check for {name} (DOB {date}, SSN {ssn}) came back clean, ticket {ref}.
5 en deploy of {service} to {env} failed, token {slack} leaked in the log at {ts} :scream:
4 en webhook for alerts is {slack} (posting to #ops-alerts from {service} {version})
3 en here's the config:\n```\nAWS_ACCESS_KEY_ID={aws_id}\n{aws_secret}\nAWS_REGION={env}\n```
     \nwhy does {service} get AccessDenied?
3 en key id `{aws_id}` shows up in CloudTrail from {ip} at {ts}, is that ours?
5 en CI is red since {sha}. The workflow exports `GITHUB_TOKEN={github}`, rotate it?
3 en git clone https://{github}@github.com/acme/{service}.git fails on {version}
3 en our .env on {env}:\nSLACK_BOT_TOKEN={slack}\nGITHUB_TOKEN={github}\nOPENAI_API_KEY={api_key}
     \nDATABASE_URL={db_url}\nLOG_LEVEL=debug
4 en Someone pasted this in #general, please revoke:\n{pem}\n{sentence}
2 en deploy key for {service} ({date}):\n```\n{pem}\n```
3 en ssh to {ip} fails with 'Permission denied (publickey)'. My key starts with:\n{pem_cut}
3 en curl -H "{bearer}" https://api.example.com/v1/users returns 401 since {date}
4 en The JWT {jwt} expires too early, iat/exp look off on {env}.
3 en Authorization: Bearer {jwt}\nis what the {service} client sends, {sentence}
2 en logs from {ip} at {ts}: `POST /api/login?token={jwt} user={email}`
3 en Why does the {service} pod crash? DATABASE_URL={db_url} and it worked on {version}.
4 en OpenAI calls fail with 429 on {env}, we use key {api_key}. {sentence}
2 en {sentence} `{api_key}` is the key in the screenshot from {date}, revoke it pls
3 en Stripe webhooks fail on {env}: `{api_key}` is set as the secret, event {stripe_id}.
4 en grafana shows spikes from {ip} and {ip} around {ts}; is that the new LB?
2 en the VPN gives me {ip} but {service} only allows {ip}, see {ref}
3 en settings.yaml for {service}:\n  {password}\n  timeout: 30\n  retries: 3
2 en I reset it on {date}, {password} please don't share it
2 en The session cookie is {token}; logging out on {version} doesn't invalidate it.
2 en run `export API_TOKEN={token}` before the script, then {sentence}
2 en x-api-key: {token}\nworks from {ip} but not from the VPN
2 en here you go: {token} (valid until {date})
3 en How do I rotate the {service} credentials without downtime? We're on {version}.
3 en Build {version} broke after merging {sha}; see {ident}.
3 en Is {version} still supported? The docs at {ident} say otherwise.
3 en {sentence} {sentence}
3 en Upgrade the agent to {version} before {date}, and open {port} on the firewall.
3 en Error at {ts}: connection refused ({port}). Retrying in 30s, request id {sha}.
2 en Order {ref} ({price}) shipped {date}, tracking {ref}. {sentence}
2 en pod {ident} restarted {amount} times since {ts}, image {ident}
2 de Wann ist die Wartung? Laut Ticket {ref} am {date}. {sentence}
2 fr La facture {ref} de {price} est en retard depuis le {date}. {sentence}
2 nl Kun je {ident} bekijken? Het faalt sinds {date} op {version}. {sentence}
2 en password reset link expired, can you send a new one? (ticket {ref})
2 en The README says `api_key: ${API_KEY}` but {service} ignores it on {env}.
2 en `SLACK_BOT_TOKEN=$SLACK_BOT_TOKEN` in .env is empty on {env}, token: see vault
2 en max_tokens=512 and temperature=0.2 give truncated answers since {version}
3 en the docs example uses `{placeholder}`, do I replace it with mine? ({ident})
2 en {neg}, {neg} and {neg} are in the export, nothing else
2 en 📞 {phone} · ✉️ {email} — {name}, {company} 🙂
2 de Grüße aus {city}! Meine Nummer: {phone}, Mail: {email}. Karte: {card}
2 en {name} here — 新しい番号は {phone} です. Backup email {email}.
"""


def _templates(source: str) -> list[tuple[int, str, str]]:
    lines: list[str] = []
    for line in source.strip().splitlines():
        if line.startswith(" "):
            lines[-1] += line.strip()
        else:
            lines.append(line)
    parsed = [line.split(" ", 2) for line in lines]
    return [(int(w), language, text.replace("\\n", "\n")) for w, language, text in parsed]


TEMPLATES = _templates(_TEMPLATE_LINES)
"""(weight, language, template) triples."""


def render(template: str, ctx: Context) -> tuple[str, list[dict[str, int | str]]]:
    """The template with each ``{slot}`` filled, and the spans of the labelled values."""
    text = ""
    spans: list[dict[str, int | str]] = []
    cursor = 0
    for m in _SLOT.finditer(template):
        if m.group(1) not in SLOTS:
            continue  # a literal ``{API_KEY}``
        text += template[cursor : m.start()]
        cursor = m.end()
        for value, kind in SLOTS[m.group(1)](ctx):
            if kind is not None:
                spans.append({"start": len(text), "end": len(text) + len(value), "type": kind})
            text += value
    return text + template[cursor:], spans


def generate(rows: int, seed: int) -> list[dict[str, object]]:
    """``rows`` benchmark rows; the same ``seed`` (and Faker version) gives the same rows."""
    rng = random.Random(seed)
    fakers = {locale: Faker(locale) for locale in LOCALES + IBAN_LOCALES}
    for i, fake in enumerate(fakers.values()):
        fake.seed_instance(seed * 100 + i)
    by_language = {"de": "de_DE", "fr": "fr_FR", "nl": "nl_NL"}
    weights = [w for w, _, _ in TEMPLATES]
    out: list[dict[str, object]] = []
    for i in range(rows):
        _, language, template = rng.choices(TEMPLATES, weights)[0]
        locale = by_language.get(language) or rng.choice(LOCALES)
        text, spans = render(template, Context(rng, fakers[locale], fakers))
        out.append({"id": f"pii-{i:04d}", "text": text, "spans": spans})
    return out


def write_rows(out: Path, rows: int, seed: int) -> None:
    """Write ``rows`` generated rows (``seed``) to ``out`` as JSON lines."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as fh:
        fh.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in generate(rows, seed))
