"""Slack settings: credentials from the environment, policies from ``assistant.yaml``, one readable
``ConfigError`` per bad value, and tokens that never show up in reprs or error messages."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot.config import (
    SLACK_API_URL,
    ChannelPolicy,
    SlackSettings,
    load_slack_settings,
    require_serving,
)
from observe.errors import ConfigError

BOT_TOKEN = "xoxb-1234-5678-SuperSecretBotToken"
APP_TOKEN = "xapp-1-A0TEST-9999-SuperSecretAppToken"
SIGNING_SECRET = "0123456789abcdefSuperSecretSigning"
CLIENT_SECRET = "SuperSecretClientSecret"
SECRETS = (BOT_TOKEN, APP_TOKEN, SIGNING_SECRET, CLIENT_SECRET)

CHANNELS_YAML = """\
slack:
  admins: [U012ADMIN]
  workers: 8
  channels:
    default: {trigger: mention}
    C0123PLATFORM:
      trigger: all
      spaces: [platform, runbooks]
      experts: [U0EXPERT1, S0ONCALL]
      tools: [summarize_conversation, escalate]
      ephemeral: true
      user_rate_per_minute: 5
    G0PRIVATE: {}
"""


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No Slack variables, no ``.env``, and ``ASSISTANT_CONFIG`` at an (empty) tmp YAML file."""
    monkeypatch.chdir(tmp_path)  # SlackSettings also reads ./.env
    for name in list(os.environ):
        if name.startswith(("SLACK_", "ASSISTANT_SLACK_")):
            monkeypatch.delenv(name)
    config = tmp_path / "assistant.yaml"
    config.write_text("")
    monkeypatch.setenv("ASSISTANT_CONFIG", str(config))
    return config


def write_config(config: Path, text: str) -> None:
    config.write_text(text, encoding="utf-8")


def config_error(**overrides: object) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load_slack_settings(**overrides)
    return caught.value


def assert_one_readable_line(error: ConfigError, *fragments: str) -> None:
    text = str(error)
    assert "\n" not in text, text
    for fragment in fragments:
        assert fragment in text, text
    for secret in SECRETS:
        assert secret not in text


# --- environment ---------------------------------------------------------------------------------


def test_defaults_need_nothing_and_point_at_slack() -> None:
    settings = load_slack_settings()
    assert settings.bot_token is None and settings.signing_secret is None
    assert settings.app_token is None and not settings.oauth_enabled
    assert settings.api_url == SLACK_API_URL == "https://slack.com/api/"
    assert settings.channels == {} and settings.admins == []


@pytest.mark.parametrize("prefix", ["ASSISTANT_SLACK_", "SLACK_"], ids=["assistant", "plain"])
def test_credentials_from_the_environment(monkeypatch: pytest.MonkeyPatch, prefix: str) -> None:
    monkeypatch.setenv(f"{prefix}BOT_TOKEN", BOT_TOKEN)
    monkeypatch.setenv(f"{prefix}SIGNING_SECRET", SIGNING_SECRET)
    monkeypatch.setenv(f"{prefix}APP_TOKEN", APP_TOKEN)
    monkeypatch.setenv(f"{prefix}CLIENT_ID", "111.222")
    monkeypatch.setenv(f"{prefix}CLIENT_SECRET", CLIENT_SECRET)
    settings = load_slack_settings()
    assert settings.bot_token is not None and settings.bot_token.get_secret_value() == BOT_TOKEN
    assert settings.signing_secret is not None
    assert settings.signing_secret.get_secret_value() == SIGNING_SECRET
    assert settings.app_token is not None and settings.app_token.get_secret_value() == APP_TOKEN
    assert settings.client_id == "111.222" and settings.oauth_enabled


def test_the_assistant_prefixed_variable_wins_over_the_plain_alias(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-plain")
    monkeypatch.setenv("ASSISTANT_SLACK_BOT_TOKEN", BOT_TOKEN)
    settings = load_slack_settings()
    assert settings.bot_token is not None and settings.bot_token.get_secret_value() == BOT_TOKEN


def test_plain_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSISTANT_SLACK_WORKERS", "2")
    monkeypatch.setenv("ASSISTANT_SLACK_API_URL", "http://127.0.0.1:8765/api")
    monkeypatch.setenv("ASSISTANT_SLACK_ADMINS", '["U0BOSS"]')
    settings = load_slack_settings()
    assert settings.workers == 2 and settings.admins == ["U0BOSS"]
    assert settings.api_url == "http://127.0.0.1:8765/api/"


def test_a_dotenv_file_in_the_working_directory_is_read(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(f"ASSISTANT_SLACK_BOT_TOKEN={BOT_TOKEN}\n")
    settings = load_slack_settings()
    assert settings.bot_token is not None and settings.bot_token.get_secret_value() == BOT_TOKEN


# --- YAML ----------------------------------------------------------------------------------------


def test_channels_and_admins_from_the_yaml_slack_section(clean_env: Path) -> None:
    write_config(clean_env, "top_k: 3\n" + CHANNELS_YAML)
    settings = load_slack_settings()
    assert settings.admins == ["U012ADMIN"] and settings.workers == 8
    platform = settings.channels["C0123PLATFORM"]
    assert platform == ChannelPolicy(
        trigger="all",
        spaces=["platform", "runbooks"],
        experts=["U0EXPERT1", "S0ONCALL"],
        tools=["summarize_conversation", "escalate"],
        ephemeral=True,
        user_rate_per_minute=5,
    )
    assert platform.mentions() == ["<@U0EXPERT1>", "<!subteam^S0ONCALL>"]
    assert settings.channels["G0PRIVATE"] == ChannelPolicy()


def test_environment_beats_yaml_and_init_beats_both(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_config(clean_env, CHANNELS_YAML)
    monkeypatch.setenv("ASSISTANT_SLACK_WORKERS", "3")
    assert load_slack_settings().workers == 3
    assert load_slack_settings(workers=5).workers == 5


def test_policy_lookup_falls_back_to_default_then_to_the_built_in(clean_env: Path) -> None:
    write_config(clean_env, CHANNELS_YAML)
    settings = load_slack_settings()
    assert settings.policy("C0123PLATFORM").trigger == "all"
    assert settings.policy("G0PRIVATE").trigger == "thread", "an own entry beats default"
    assert settings.policy("C0ELSEWHERE").trigger == "mention"
    assert settings.policy("D0DIRECT") == ChannelPolicy(trigger="mention")

    write_config(clean_env, "")  # YAML channels would be merged into the ones given here
    bare = SlackSettings(channels={"C0ONE": ChannelPolicy(trigger="all")})
    assert bare.policy("C0OTHER") == ChannelPolicy()
    assert bare.policy("C0OTHER").trigger == "thread"


def test_no_config_file_and_no_slack_section_are_fine(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_config(clean_env, "top_k: 3\n")
    assert load_slack_settings().channels == {}
    monkeypatch.delenv("ASSISTANT_CONFIG")  # and no ./assistant.yaml in the tmp cwd
    clean_env.unlink()
    assert load_slack_settings().channels == {}


# --- validation ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("yaml_text", "fragments"),
    [
        ("slack:\n  channels:\n    general: {trigger: all}\n", ["channels", "general"]),
        (
            "slack:\n  channels:\n    C0PLATFORM: {experts: [alice]}\n",
            ["channels.C0PLATFORM.experts", "alice"],
        ),
        ("slack:\n  channels:\n    C0PLATFORM: {colour: red}\n", ["channels.C0PLATFORM.colour"]),
        (
            "slack:\n  channels:\n    C0PLATFORM: {trigger: always}\n",
            ["channels.C0PLATFORM.trigger", "'mention', 'thread' or 'all'"],
        ),
        (
            "slack:\n  channels:\n    default: {user_rate_per_minute: 0}\n",
            ["channels.default.user_rate_per_minute"],
        ),
        ("slack:\n  workers: lots\n", ["workers"]),
        ("slack:\n  api_url: slack.com/api\n", ["api_url", "http(s) URL"]),
    ],
    ids=[
        "channel-name-not-id",
        "bad-expert-id",
        "unknown-policy-field",
        "unknown-trigger",
        "zero-rate",
        "non-numeric-workers",
        "api-url-without-scheme",
    ],
)
def test_bad_yaml_values_are_one_config_error_naming_the_key(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, yaml_text: str, fragments: list[str]
) -> None:
    monkeypatch.setenv("ASSISTANT_SLACK_BOT_TOKEN", BOT_TOKEN)
    monkeypatch.setenv("ASSISTANT_SLACK_SIGNING_SECRET", SIGNING_SECRET)
    write_config(clean_env, yaml_text)
    error = config_error()
    assert_one_readable_line(error, "invalid settings:", *fragments)
    assert error.hint and "assistant.yaml" in error.hint


def test_several_bad_values_are_still_one_line(clean_env: Path) -> None:
    write_config(
        clean_env,
        "slack:\n  workers: 0\n  channels:\n    general: {}\n",
    )
    assert_one_readable_line(config_error(), "workers", "general")


def test_a_slack_section_that_is_not_a_mapping(clean_env: Path) -> None:
    write_config(clean_env, "slack: [C0PLATFORM]\n")
    error = config_error()
    assert_one_readable_line(error, "'slack' must be a mapping", str(clean_env))


def test_broken_yaml_and_a_missing_config_file(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_config(clean_env, "slack:\n  channels: [unclosed\n")
    assert_one_readable_line(config_error(), "not valid YAML")
    monkeypatch.setenv("ASSISTANT_CONFIG", str(clean_env.parent / "nope.yaml"))
    assert_one_readable_line(config_error(), "does not exist", "nope.yaml")


def test_bad_environment_values_name_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSISTANT_SLACK_API_URL", "ftp://files.example.com")
    assert_one_readable_line(config_error(), "api_url", "ftp://files.example.com")


# --- api_url -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("https://slack.com/api", "https://slack.com/api/"),
        ("https://slack.com/api/", "https://slack.com/api/"),
        ("http://127.0.0.1:8765/api", "http://127.0.0.1:8765/api/"),
        ("http://localhost:1/", "http://localhost:1/"),
    ],
)
def test_api_url_always_ends_with_one_slash(given: str, expected: str) -> None:
    assert load_slack_settings(api_url=given).api_url == expected


@pytest.mark.parametrize("given", ["slack.com/api", "ftp://slack.com/api/", "", "/api/"])
def test_api_url_must_be_http(given: str) -> None:
    assert_one_readable_line(config_error(api_url=given), "api_url")


# --- what serving needs --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "missing"),
    [
        ({}, ["ASSISTANT_SLACK_SIGNING_SECRET", "ASSISTANT_SLACK_BOT_TOKEN"]),
        ({"bot_token": BOT_TOKEN}, ["ASSISTANT_SLACK_SIGNING_SECRET"]),
        ({"signing_secret": SIGNING_SECRET}, ["ASSISTANT_SLACK_BOT_TOKEN"]),
        ({"bot_token": BOT_TOKEN, "signing_secret": SIGNING_SECRET}, []),
        ({"bot_token": BOT_TOKEN, "app_token": APP_TOKEN}, []),
        ({"app_token": APP_TOKEN}, ["ASSISTANT_SLACK_BOT_TOKEN"]),
        (
            {"client_id": "111.222", "client_secret": CLIENT_SECRET, "app_token": APP_TOKEN},
            ["needed by the OAuth install flow"],
        ),
        ({"client_id": "111.222", "client_secret": CLIENT_SECRET}, ["SIGNING_SECRET"]),
        (
            {"client_id": "111.222", "client_secret": CLIENT_SECRET, "signing_secret": "s"},
            [],
        ),
        ({"client_id": "111.222", "signing_secret": "s"}, ["ASSISTANT_SLACK_BOT_TOKEN"]),
    ],
    ids=[
        "nothing",
        "http-without-secret",
        "http-without-token",
        "http",
        "socket-mode",
        "socket-mode-without-token",
        "oauth-over-socket-mode-without-secret",
        "oauth-without-secret",
        "oauth",
        "client-id-without-client-secret",
    ],
)
def test_missing_for_serving(given: dict[str, str], missing: list[str]) -> None:
    settings = load_slack_settings(**given)
    found = settings.missing_for_serving()
    if not missing:
        assert found == []
        require_serving(settings)
        return
    joined = "; ".join(found)
    for fragment in missing:
        assert fragment in joined, found
    with pytest.raises(ConfigError) as caught:
        require_serving(settings)
    assert_one_readable_line(caught.value, "Slack is not configured", *missing)


def test_nothing_set_names_both_credentials_in_one_error() -> None:
    with pytest.raises(ConfigError) as caught:
        require_serving(load_slack_settings())
    message = caught.value.message
    assert "ASSISTANT_SLACK_SIGNING_SECRET" in message and "ASSISTANT_SLACK_BOT_TOKEN" in message
    assert "\n" not in str(caught.value)


# --- secrets stay secret -------------------------------------------------------------------------


def test_repr_and_str_never_show_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", BOT_TOKEN)
    monkeypatch.setenv("ASSISTANT_SLACK_SIGNING_SECRET", SIGNING_SECRET)
    monkeypatch.setenv("ASSISTANT_SLACK_APP_TOKEN", APP_TOKEN)
    monkeypatch.setenv("ASSISTANT_SLACK_CLIENT_SECRET", CLIENT_SECRET)
    settings = load_slack_settings(client_id="111.222")
    shown = " ".join(
        [
            repr(settings),
            str(settings),
            f"{settings}",
            settings.model_dump_json(),
            str(vars(settings)),
        ]
    )
    for secret in SECRETS:
        assert secret not in shown
    assert "**********" in repr(settings)


def test_config_errors_never_show_secrets(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSISTANT_SLACK_BOT_TOKEN", BOT_TOKEN)
    monkeypatch.setenv("ASSISTANT_SLACK_APP_TOKEN", APP_TOKEN)
    monkeypatch.setenv("ASSISTANT_SLACK_WORKERS", "-1")
    assert_one_readable_line(config_error(), "workers")

    # A token in the wrong shape (a list in YAML) is reported by key, not by value.
    monkeypatch.delenv("ASSISTANT_SLACK_WORKERS")
    monkeypatch.delenv("ASSISTANT_SLACK_BOT_TOKEN")
    write_config(
        clean_env,
        f"slack:\n  bot_token: [{BOT_TOKEN}]\n  signing_secret: {{value: {SIGNING_SECRET}}}\n",
    )
    text = str(config_error()).lower()
    assert "bot_token" in text and "signing_secret" in text, text
    assert BOT_TOKEN.lower() not in text and SIGNING_SECRET.lower() not in text


def test_require_serving_error_never_shows_the_secrets_that_are_set() -> None:
    settings = load_slack_settings(
        client_id="111.222", client_secret=CLIENT_SECRET, app_token=APP_TOKEN
    )
    with pytest.raises(ConfigError) as caught:
        require_serving(settings)
    assert_one_readable_line(caught.value, "SIGNING_SECRET")


def test_a_misspelt_key_under_slack_is_an_error_not_silence(clean_env: Path) -> None:
    write_config(clean_env, "slack:\n  chanels:\n    C0123ABC: {trigger: all}\n")
    with pytest.raises(ConfigError) as caught:
        load_slack_settings()
    assert "chanels" in caught.value.message
    assert "channels" in (caught.value.hint or "")
