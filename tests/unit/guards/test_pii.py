"""The PII / secret detector, the redaction built on it, and its benchmark."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evals.pii import bench_pii
from evals.pii_data import generate
from guards.redaction import (
    KINDS,
    SAFE_KINDS,
    SECRET_KINDS,
    Span,
    find_sensitive,
    redact,
    redact_pii,
    redact_secrets,
    restore,
)
from observe.errors import ConfigError

SLACK = "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx"
GITHUB = "ghp_16C7e42F292c6912E7710c838347Ae178B4a"
AWS_ID = "AKIAIOSFODNN7EXAMPL3"
JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkphbmUifQ."
    "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
)
OPENAI = "sk-proj-Zq8vN2pLx7RtY4mWk9Ds3HfJ1cBg6TaE"


def found(text: str) -> list[tuple[str, str]]:
    """(value, kind) of every span found in ``text``."""
    return [(text[s.start : s.end], s.kind) for s in find_sensitive(text)]


def assert_one_span(text: str, value: str | None, kind: str) -> None:
    """``text`` holds exactly one sensitive span, of ``kind``, covering ``value`` (when given)."""
    (span,) = find_sensitive(text)
    assert span.kind == kind
    if value is not None:
        assert text[span.start : span.end] == value


@pytest.mark.parametrize(
    ("text", "value", "kind"),
    [
        ("mail jane.doe+billing@example.co.uk now", "jane.doe+billing@example.co.uk", "EMAIL"),
        ("Kontakt: <JOSÉ.MÜLLER@BEISPIEL.DE>", "JOSÉ.MÜLLER@BEISPIEL.DE", "EMAIL"),
        ("US (555) 123-4567 please", "(555) 123-4567", "PHONE"),
        ("call 555-123-4567 x204 today", "555-123-4567 x204", "PHONE"),
        ("UK 020 7946 0958.", "020 7946 0958", "PHONE"),
        ("UK +44 20 7946 0958", "+44 20 7946 0958", "PHONE"),
        ("FR 01 23 45 67 89", "01 23 45 67 89", "PHONE"),
        ("DE +49 30 123456", "+49 30 123456", "PHONE"),
        ("Tél : +33 (0)1 41 63 60 83", "+33 (0)1 41 63 60 83", "PHONE"),
        ("card 4111 1111 1111 1111 exp 12/27", "4111 1111 1111 1111", "CARD"),
        ("amex 3782-822463-10005", "3782-822463-10005", "CARD"),
        ("discover 6011111111111117.", "6011111111111117", "CARD"),
        ("visa 4111 1111 1111 1111 12/27", "4111 1111 1111 1111", "CARD"),
        ("IBAN DE89 3704 0044 0532 0130 00 please", "DE89 3704 0044 0532 0130 00", "IBAN"),
        ("iban: NL91ABNA0417164300", "NL91ABNA0417164300", "IBAN"),
        ("lower gb82 west 1234 5698 7654 32 ok", "gb82 west 1234 5698 7654 32", "IBAN"),
        ("SSN 123-45-6789", "123-45-6789", "SSN"),
        ("from 192.168.1.20:8080", "192.168.1.20", "IP"),
        ("v6 2001:db8::8a2e:370:7334.", "2001:db8::8a2e:370:7334", "IP"),
        ("token leaked: " + SLACK, SLACK, "SLACK_TOKEN"),
        ("hook https://hooks.slack.com/services/T0001/B0001/XXXXab12XXXX9", None, "SLACK_TOKEN"),
        (f"export GITHUB_TOKEN={GITHUB}", GITHUB, "GITHUB_TOKEN"),
        (f"key `{AWS_ID}` in CloudTrail", AWS_ID, "AWS_KEY"),
        ("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", None, "AWS_KEY"),
        (f"Authorization: Bearer {JWT}", JWT, "JWT"),
        (f"```\nOPENAI_API_KEY={OPENAI}\n```", OPENAI, "API_KEY"),
        ("stripe sk_live_4eC39HqLyjWDarjtT1zdp7dc", "sk_live_4eC39HqLyjWDarjtT1zdp7dc", "API_KEY"),
        ("DB_PASSWORD=Sup3r$ecret! and more", "Sup3r$ecret!", "SECRET"),
        ('{"password": "correct horse 9"}', "correct horse 9", "SECRET"),
        ("my password is Hunter2! ok", "Hunter2!", "SECRET"),
        ("postgres://app:hunter2pw@db:5432/x", "hunter2pw", "SECRET"),
        ("-H 'Authorization: Bearer 8f7Gh2Kq9Lm3Np4Rs5Tv6Wx'", "8f7Gh2Kq9Lm3Np4Rs5Tv6Wx", "SECRET"),
        ("here: Xk9fP2qLm7Rt4Vb8Nw3Yz6Hc1Dj5Gs0A", "Xk9fP2qLm7Rt4Vb8Nw3Yz6Hc1Dj5Gs0A", "SECRET"),
    ],
)
def test_each_kind_is_found_alone(text: str, value: str | None, kind: str) -> None:
    assert_one_span(text, value, kind)


@pytest.mark.parametrize(
    "text",
    [
        "card 4111 1111 1111 1112 failed",  # Luhn
        "ref 4111111111111112 and order 1234567890123456",  # Luhn; a bare run is no card
        "IBAN DE88 3704 0044 0532 0130 00",  # mod-97 (nor a card or phone in its digits)
        "NL91ABNA041716430",  # one character short for NL
        "SSNs 000-12-3456 666-12-3456 912-34-5678 123-00-4567 123-45-0000",
        "Upgrade the agent to version 1.2.3.4; OID 1.3.6.1.4.1; 256.1.1.1",
        "at 10:30:45, MAC 00:1a:2b:3c:4d:5e, C++ std::vector",
        "released 2024-01-15, 15.01.2024 and 01/15/2024 at 2024-01-15T10:30:00Z",
        "numpy==1.26.4, v2.14.3, Python 3.12.1, build 20240115.3",
        "order 123456789, invoice INV-2024-00042, ticket #48213, $1,234.56, €49,99",
        "open port 8443 and localhost:5432; scale to 100 200 300 400 replicas",
        "commit 3f786850e387550fdab836ed7e6dc881de23001b, sha256:9f86d081884c7d659a2feaa0c55ad015",
        "trace 123e4567-e89b-12d3-a456-426614174000 in /var/log/app/worker-3.log",
        "see https://docs.example.com/guides/AbC123dEf456GhI789jKl0/setup for snake_case_name_v2",
        "HTTPServerErrorHandler2024 and test_OAuth2Callback_v3_Handler and K8sPodCrashLoop",
        "refund ch_3MmlLrLkdIwHu7ix0snN0B15 for cus_NffrFeUfNV2Hib",
        "docs: xoxb-your-bot-token, ghp_XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX, AKIAXXXXXXXXXXXXXXXX",
        "password=******** and api_key: ${API_KEY} and token = os.environ['TOKEN']",
        "max_tokens=512, token_type=bearer, Password: expired, the primary key: id",
        "How do I reset my VPN token? Use a Bearer token in the header.",
        "clone ssh://git@github.com/acme/repo.git, mail me@localhost",
    ],
)
def test_look_alikes_are_not_flagged(text: str) -> None:
    assert found(text) == []


CERT = (
    "-----BEGIN CERTIFICATE-----\n"
    "MIIDdzCCAl+gAwIBAgIEAgAAuTANBgkqhkiG9w0BAQUFADBaMQswCQYDVQQGEwJJ\n"
    "RTESMBAGA1UEChMJQmFsdGltb3JlMRMwEQYDVQQLEwpDeWJlclRydXN0MSIwIAYD\n"
    "-----END CERTIFICATE-----"
)


@pytest.mark.parametrize(
    ("text", "value", "kind"),
    [
        # 1. a password given in prose, after a password word and a link word, in any language
        ("fyi the VPN password for the lab box is Tr0ub4dor&3, ask me", "Tr0ub4dor&3", "SECRET"),
        ("guest pw Kq7#vLm2Zp in case you need it", "Kq7#vLm2Zp", "SECRET"),
        (
            "reset my password twice, the last one I chose was Maple!Leaf77.",
            "Maple!Leaf77",
            "SECRET",
        ),
        ("new wifi password: CoffeeBean#2024", "CoffeeBean#2024", "SECRET"),
        ("le mot de passe du NAS, c'est Xb7$kQ2pLm", "Xb7$kQ2pLm", "SECRET"),
        ("Das Kennwort lautet Rh9#kT2mWq", "Rh9#kT2mWq", "SECRET"),
        ("Passwort: Zugang_2024!", "Zugang_2024!", "SECRET"),
        ("la contraseña del router es CafeLatte2024", "CafeLatte2024", "SECRET"),
        ("o password do servidor é Xb7$kQ2pLm", "Xb7$kQ2pLm", "SECRET"),
        ("j'ai modifié le mot de passe admin en Hv5-pQ9-xW2", "Hv5-pQ9-xW2", "SECRET"),
        ("I set the root password to 'Qx7!mz29Lp' for now", "Qx7!mz29Lp", "SECRET"),
        # 2. command-line credentials
        ("curl -u deploy:Hk29!xzPq -X POST https://ci.example.com", "Hk29!xzPq", "SECRET"),
        ("curl --user 'svc-ci:N0tS0S3cret!' https://api.example.com", "N0tS0S3cret!", "SECRET"),
        ("docker login -u ci-bot -p Gh7$kPq2xZ", "Gh7$kPq2xZ", "SECRET"),
        ("mysql -uroot -pSup3rS3cret! shop", "Sup3rS3cret!", "SECRET"),
        # 3. an IPv4 address in parentheses or brackets
        ("failover to the replica (172.16.8.41) at 02:00", "172.16.8.41", "IP"),
        ("peer [172.16.8.41] refused", "172.16.8.41", "IP"),
        # 4. a national number without a trunk 0, after a phone word
        ("si no contesto, llámame al 699 123 456", "699 123 456", "PHONE"),
        ("call me on 612 345 678 after lunch", "612 345 678", "PHONE"),
        ("Handy: 612 34 56 78", "612 34 56 78", "PHONE"),
        ("teléfono 91 123 45 67", "91 123 45 67", "PHONE"),
        # 5. a placeholder word next to noise is still a secret
        ('SECRET_KEY = "django-insecure-7x@k2!q9m4p8z3w6v1b5n0c"', None, "SECRET"),
    ],
)
def test_context_finds_the_value(text: str, value: str | None, kind: str) -> None:
    assert_one_span(text, value, kind)


@pytest.mark.parametrize(
    "text",
    [
        # 1. password words in prose with no password after them
        "The password policy is PCI-DSS-4 compliant; the pw hashing function is argon2id",
        "the password for svc_backup2 is stored in Vault, rotate it via SEC-4521",
        "The password is case-sensitive, and the username is jdoe-2024.",
        "your password expires on 2024-06-30; mot de passe oublié ? Passwort zurücksetzen",
        "password for jane.doe is reset; the password to ACME-VPN-2 is in the vault",
        # 2. ports, uids and references on command lines
        "ssh -p 2222 deploy@bastion; docker run -p 8080:80 -u 1000:1000 nginx",
        "docker exec -u www-data:www-data app ls; podman run --user app:staff img",
        "psql -U postgres -p 5432; python -m pytest -p no:cacheprovider",
        'curl -u "$API_USER:$API_TOKEN" https://x and curl -u admin: https://y',
        # 4. a national-looking number without a phone word, or after one that is not about it
        "we processed 612 345 678 events; the mobile app build 612 345 678 failed",
        # 5. placeholders
        "SLACK_BOT_TOKEN=xoxb-your-token-here SLACK_APP_TOKEN=xapp-1-XXXXXXXX",
        "OPENAI_API_KEY=sk-... and the Stripe secret: sk_live_… then api_key: <your-api-key>",
        'SECRET_KEY = "django-insecure-change-me"; token=dummy-token; STRIPE_KEY=sk_test_example',
        # 6. references to a secret
        "POSTGRES_PASSWORD: ${POSTGRES_PASSWORD:?set it in .env}\npassword: $DB_PASSWORD",
        "password=%(password)s token: {{ secrets.TOKEN }} pass=%DB_PASS% secret=$(cat key)",
        # 7. fingerprints and checksums
        "ED25519 key fingerprint is SHA256:FxZRlSht4oq0xz+L/HABO06FW4At3gsblumnzjvWmXE.",
        "MD5:4f:2a:9c:11:0b:7e:aa:bb:cc:dd:ee:ff:01:23:45:67",
        "Digest: sha256=K7gNU3sdo+OL0wNhqoVWhr3g6s1xYv72ol/pe/Unols=",
        "checksum: Zx9Q2mK7vT1pL8nR4wB6yC3dF5hJ0gA2",
        # 8. public keys and certificates
        f"server.crt:\n{CERT}",
        "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAu1SU1LfVLPHCozM\n",
        "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABgQC7vbqajDhA9zBpLk6F0aLdGm4tQ2 bob@host",
        # 9. digits inside a longer id
        "Track it with UPS 1Z 999 AA1 01 2345 6784 or 1Z999AA10123456784",
        # 10. versions in other languages
        "versie 1.8.0.2, Version 1.8.0.2, v. 1.8.0.2, versión 1.8.0.2, Versão 1.8.0.2",
    ],
)
def test_context_look_alikes_are_not_flagged(text: str) -> None:
    assert found(text) == []


def test_a_user_name_and_its_password_are_told_apart() -> None:
    text = "curl -u 'svc@acme.io:N0tS0S3cret!' https://api.example.com"
    assert found(text) == [("svc@acme.io", "EMAIL"), ("N0tS0S3cret!", "SECRET")]


def test_a_public_block_hides_only_itself() -> None:
    text = f"{CERT}\nand the key: Xk9fP2qLm7Rt4Vb8Nw3Yz6Hc1Dj5Gs0A"
    assert found(text) == [("Xk9fP2qLm7Rt4Vb8Nw3Yz6Hc1Dj5Gs0A", "SECRET")]
    private = "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\n-----END RSA PRIVATE KEY-----"
    assert found(f"{CERT}\n{private}") == [(private, "PRIVATE_KEY")]


def test_a_secret_inside_code_or_backticks_is_still_found() -> None:
    text = f"run `curl -H 'x-api-key: {OPENAI}'` or\n```bash\nexport SLACK_BOT_TOKEN={SLACK}\n```"
    assert found(text) == [(OPENAI, "API_KEY"), (SLACK, "SLACK_TOKEN")]


def test_overlapping_candidates_resolve_to_the_most_specific_kind() -> None:
    # a Slack token assigned to a password key; a JWT after Bearer; URL credentials vs e-mail
    assert found(f"password={SLACK}") == [(SLACK, "SLACK_TOKEN")]
    assert found(f"bearer {JWT}") == [(JWT, "JWT")]
    assert found("mysql://bob:pa55word@db.example.com/x") == [("pa55word", "SECRET")]
    assert found("git clone https://ghp_16C7e42F292c6912E7710c838347Ae178B4a@github.com/a/b") == [
        (GITHUB, "GITHUB_TOKEN")
    ]


def test_spans_are_sorted_and_disjoint_on_the_generated_rows() -> None:
    for row in generate(120, seed=3):
        spans = find_sensitive(str(row["text"]))
        assert spans == sorted(spans)
        assert all(a.end <= b.start for a, b in zip(spans, spans[1:], strict=False))


def test_truncated_private_key_runs_to_the_end_of_the_text() -> None:
    text = "my key:\n-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\nQyNTUxOQ"
    assert found(text) == [(text[8:], "PRIVATE_KEY")]
    full = "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\n-----END RSA PRIVATE KEY-----"
    assert found(f"{full}\nthanks, call 020 7946 0958") == [
        (full, "PRIVATE_KEY"),
        ("020 7946 0958", "PHONE"),
    ]


def test_unicode_offsets_and_edge_inputs() -> None:
    text = "📞 日本語 +44 20 7946 0958 · ✉️ zoë@exämple.de — 👍"
    assert found(text) == [("+44 20 7946 0958", "PHONE"), ("zoë@exämple.de", "EMAIL")]
    assert find_sensitive("") == [] and redact_pii("") == ""
    with pytest.raises(ValueError, match="NAME"):
        find_sensitive("x", kinds=("NAME",))


@pytest.mark.parametrize(
    "text",
    [
        "mail jane@example.com, call 555-123-4567, token=Abc123xyz! " * 1700,
        "1 " * 50_000,
        "a" * 100_000,
        "@" * 100_000,
        ":" * 100_000,
        "-----BEGIN PRIVATE KEY-----" * 4000,
        ("x" * 40 + "=") * 2500,
        "4" * 100_000,
    ],
    ids=["mixed", "digits", "letters", "ats", "colons", "pem-heads", "assignments", "one-run"],
)
def test_100_kb_of_adversarial_text_completes(text: str) -> None:
    spans = find_sensitive(text)
    assert all(0 <= s.start < s.end <= len(text) for s in spans)


def test_redact_replaces_every_kind_and_keeps_the_values_for_restore() -> None:
    text = f"I'm jane@example.com, +1 415 555 0132, from 10.0.0.7; key {OPENAI}"
    redaction = redact(text)
    assert redaction.text == "I'm <EMAIL>, <PHONE>, from <IP>; key <API_KEY>"
    assert redaction.kinds == ("EMAIL", "IP", "PHONE", "API_KEY")
    assert redaction.values == ("jane@example.com", "+1 415 555 0132", "10.0.0.7", OPENAI)
    assert OPENAI not in repr(redaction) and "jane@" not in repr(redaction)
    assert redact_pii(redaction.text) == redaction.text  # placeholders are not found again


def test_restore_puts_back_only_the_askers_safe_values() -> None:
    redaction = redact(f"reach me at jane@example.com or 020 7946 0958, token {SLACK}")
    answer = "I'll write to <EMAIL> and call <PHONE>; revoke <SLACK_TOKEN> first. <IP>?"
    restored = restore(answer, redaction)
    assert restored == (
        "I'll write to jane@example.com and call 020 7946 0958; revoke <SLACK_TOKEN> first. <IP>?"
    )
    with pytest.raises(ValueError, match="SLACK_TOKEN"):
        restore(answer, redaction, kinds=("EMAIL", "SLACK_TOKEN"))
    assert set(SAFE_KINDS).isdisjoint(SECRET_KINDS) and set(SAFE_KINDS) <= set(KINDS)


def test_restore_with_several_values_of_a_kind_fills_in_order_only_when_counts_match() -> None:
    redaction = redact("cc a@example.com and b@example.com")
    assert restore("to <EMAIL>, <EMAIL>", redaction) == "to a@example.com, b@example.com"
    assert restore("to <EMAIL>", redaction) == "to <EMAIL>"


def test_redact_secrets_scrubs_credentials_only() -> None:
    text = f"jane@example.com sent {GITHUB} from 10.0.0.7"
    assert redact_secrets(text) == "jane@example.com sent [REDACTED] from 10.0.0.7"


def _write(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    return path


def test_bench_scores_matches_by_type_and_overlap(tmp_path: Path) -> None:
    text = "mail jane@example.com or call 555-123-4567 about order 123456789"
    rows: list[dict[str, object]] = [
        # gold EMAIL covers a bit more than the detector finds: still >= 50 % overlap
        {"id": "a", "text": text, "spans": [{"start": 4, "end": 21, "type": "EMAIL"}]},
        # the phone is labelled CARD: a type mismatch is one miss and one spurious span
        {"id": "b", "text": text, "spans": [{"start": 30, "end": 42, "type": "CARD"}]},
        {"id": "c", "text": "nothing here", "spans": []},
    ]
    result = bench_pii(_write(tmp_path / "rows.jsonl", rows))
    assert result["rows"] == 3
    assert result["by_type"]["EMAIL"] == {
        **{"gold": 1, "predicted": 2, "tp": 1},
        **{"precision": 0.5, "recall": 1.0, "f1": 0.6667},
    }
    assert result["by_type"]["CARD"]["recall"] == 0.0
    assert result["overall"]["tp"] == 1 and result["overall"]["gold"] == 2
    assert result["p50_ms"] >= 0 and result["p95_ms"] >= result["p50_ms"]
    mistakes = result["mistakes"]
    assert {"id": "b", "error": "missed", "type": "CARD", "start": 30, "end": 42} in [
        {k: v for k, v in m.items() if k != "overlaps"} for m in mistakes
    ]
    assert "jane" not in json.dumps(result) and "555" not in json.dumps(mistakes)


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"id": 1, "text": "hi"}, '"spans"'),
        ({"id": 1, "text": "hi", "spans": [{"start": 0, "end": 9, "type": "EMAIL"}]}, "inside"),
        ({"id": 1, "text": "hi", "spans": [{"start": 0, "end": 2, "type": "NAME"}]}, "NAME"),
        ({"id": 1, "text": "hi", "spans": ["x"]}, "not an object"),
    ],
)
def test_bench_rejects_a_bad_row_naming_its_line(
    tmp_path: Path, row: dict[str, object], message: str
) -> None:
    good = {"id": 0, "text": "ok", "spans": []}
    with pytest.raises(ConfigError, match=message) as caught:
        bench_pii(_write(tmp_path / "bad.jsonl", [good, row]))
    assert "bad.jsonl:2" in str(caught.value)


def test_span_is_ordered_by_position() -> None:
    assert sorted([Span(5, 9, "IP"), Span(0, 3, "EMAIL")])[0].kind == "EMAIL"
