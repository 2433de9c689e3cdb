"""Slack settings: credentials from the environment, channel policies from ``assistant.yaml``.

Credentials: ``ASSISTANT_SLACK_BOT_TOKEN``, ``ASSISTANT_SLACK_SIGNING_SECRET``,
``ASSISTANT_SLACK_APP_TOKEN`` (Slack's usual ``SLACK_BOT_TOKEN`` etc. work too) and
``ASSISTANT_SLACK_API_URL`` (the Web API base URL, for pointing the bot at a test double).
Everything else can also live under ``slack:`` in ``assistant.yaml``::

    slack:
      admins: [U012ADMIN]
      channels:
        default: {trigger: thread}
        C0123PLATFORM:
          trigger: all
          spaces: [platform, runbooks]
          experts: [U0EXPERT1, S0ONCALL]
          tools: [summarize_conversation, escalate]
          ephemeral: false
          user_rate_per_minute: 5

Tokens are ``SecretStr`` so they never show up in logs or error messages.
"""

from __future__ import annotations

import re
from typing import Any, Literal

import yaml
from pydantic import AliasChoices, BaseModel, ConfigDict, Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    InitSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from graph.settings import build_settings, config_file
from guards.policy import GuardPolicy
from observe.errors import ConfigError

Trigger = Literal["mention", "thread", "all"]
_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{2,}$")
_EXPERT_ID = re.compile(r"^[US][A-Z0-9]{2,}$")
SLACK_API_URL = "https://slack.com/api/"


class ChannelPolicy(BaseModel):
    """How the assistant behaves in one channel."""

    model_config = ConfigDict(extra="forbid")

    trigger: Trigger = "thread"
    """``mention``: only when @-mentioned; ``thread``: also follow-ups in threads it has
    answered in; ``all``: every top-level message too."""
    spaces: list[str] = Field(default_factory=list)
    """Knowledge spaces this channel may read; empty means the default ``knowledge_scope``."""
    experts: list[str] = Field(default_factory=list)
    """User (``U…``) or user-group (``S…``) ids an escalation tags."""
    tools: list[str] | None = None
    """Tools allowed here; unset allows all."""
    ephemeral: bool = False
    """Answer only to the asker (ephemeral) instead of in the thread."""
    guards: GuardPolicy | None = None
    """This channel's guard actions (e.g. ``injection: warn``, ``pii: block``); the fields it
    sets override the global ``guards`` setting, the rest keep it."""
    user_rate_per_minute: int | None = Field(default=None, ge=1)
    channel_rate_per_minute: int | None = Field(default=None, ge=1)

    @field_validator("experts")
    @classmethod
    def _expert_ids(cls, value: list[str]) -> list[str]:
        bad = [v for v in value if not _EXPERT_ID.match(v)]
        if bad:
            raise ValueError(f"experts must be Slack user (U…) or group (S…) ids, got {bad}")
        return value

    def guard_overrides(self) -> dict[str, Any] | None:
        """The guard actions this channel sets explicitly (``None`` when it sets none)."""
        return self.guards.model_dump(exclude_unset=True) if self.guards else None

    def mentions(self) -> list[str]:
        """The experts as Slack mention markup."""
        return [f"<!subteam^{e}>" if e.startswith("S") else f"<@{e}>" for e in self.experts]


class SlackSettings(BaseSettings):
    """Everything the Slack surface needs; validated once at start."""

    model_config = SettingsConfigDict(
        env_prefix="ASSISTANT_SLACK_", env_file=".env", extra="ignore", populate_by_name=True
    )

    bot_token: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("ASSISTANT_SLACK_BOT_TOKEN", "SLACK_BOT_TOKEN", "bot_token"),
    )
    signing_secret: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices(
            "ASSISTANT_SLACK_SIGNING_SECRET", "SLACK_SIGNING_SECRET", "signing_secret"
        ),
    )
    app_token: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("ASSISTANT_SLACK_APP_TOKEN", "SLACK_APP_TOKEN", "app_token"),
    )
    """An ``xapp-`` token switches ``assistant serve`` to Socket Mode."""
    client_id: str | None = Field(
        default=None,
        validation_alias=AliasChoices("ASSISTANT_SLACK_CLIENT_ID", "SLACK_CLIENT_ID", "client_id"),
    )
    client_secret: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices(
            "ASSISTANT_SLACK_CLIENT_SECRET", "SLACK_CLIENT_SECRET", "client_secret"
        ),
    )
    """With ``client_id``: multi-workspace mode (OAuth install flow, tokens kept in Redis)."""
    api_url: str = SLACK_API_URL
    """Slack Web API base URL; point it at a local double for tests and demos."""

    admins: list[str] = Field(default_factory=list)
    """User ids allowed to run ``/assistant stats`` (workspace admins always may)."""
    workers: int = Field(default=4, ge=1, le=256)
    """Turns answered at once by this process."""
    max_pending: int = Field(default=64, ge=1)
    """Accepted but unfinished turns in this process before new ones get a "busy" reply."""
    user_rate_per_minute: int = Field(default=12, ge=1)
    channel_rate_per_minute: int = Field(default=60, ge=1)
    stream_max_age_s: float = Field(default=270.0, gt=0)
    """Stop streaming and finish with ``chat.update`` after this long (Slack expires streams
    after about five minutes)."""
    channels: dict[str, ChannelPolicy] = Field(default_factory=dict)
    """Per-channel policy by channel id; the ``default`` entry applies everywhere else."""

    @field_validator("channels")
    @classmethod
    def _channel_keys(cls, value: dict[str, ChannelPolicy]) -> dict[str, ChannelPolicy]:
        bad = [k for k in value if k != "default" and not _CHANNEL_ID.match(k)]
        if bad:
            raise ValueError(
                f"channel keys must be Slack channel ids (C…, G…, D…) or 'default', got {bad}"
            )
        return value

    @field_validator("api_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"must be an http(s) URL, got {value!r}")
        return value if value.endswith("/") else value + "/"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (
            init_settings,
            env_settings,
            dotenv_settings,
            InitSettingsSource(settings_cls, init_kwargs=_yaml_section("slack")),
        )

    @property
    def oauth_enabled(self) -> bool:
        return bool(self.client_id and self.client_secret)

    def policy(self, channel: str) -> ChannelPolicy:
        """The policy of ``channel``: its own entry, else ``default``, else the built-in one."""
        return self.channels.get(channel) or self.channels.get("default") or ChannelPolicy()

    def missing_for_serving(self) -> list[str]:
        """The settings ``assistant serve`` cannot run without (empty when ready)."""
        missing = []
        if self.signing_secret is None and self.app_token is None:
            missing.append("ASSISTANT_SLACK_SIGNING_SECRET (or ASSISTANT_SLACK_APP_TOKEN)")
        if self.bot_token is None and not self.oauth_enabled:
            missing.append(
                "ASSISTANT_SLACK_BOT_TOKEN (or ASSISTANT_SLACK_CLIENT_ID + CLIENT_SECRET)"
            )
        if self.oauth_enabled and self.signing_secret is None:
            missing.append("ASSISTANT_SLACK_SIGNING_SECRET (needed by the OAuth install flow)")
        return missing


def _yaml_section(name: str) -> dict[str, Any]:
    """The ``name:`` mapping of the config file (empty when the file or section is absent)."""
    path = config_file()
    if not path.is_file():
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    section = data.get(name) if isinstance(data, dict) else None
    if section is None:
        return {}
    if not isinstance(section, dict):
        raise ConfigError(f"{path}: '{name}' must be a mapping", hint="see docs/slack.md")
    unknown = sorted(set(section) - set(SlackSettings.model_fields))
    if unknown:
        raise ConfigError(
            f"{path}: unknown key(s) under '{name}': {unknown}",
            hint=f"valid keys: {', '.join(sorted(SlackSettings.model_fields))}",
        )
    return section


def load_slack_settings(**overrides: object) -> SlackSettings:
    """Slack settings, with readable errors (``ConfigError``)."""
    return build_settings(SlackSettings, **overrides)


def require_serving(settings: SlackSettings) -> None:
    """Raise ``ConfigError`` naming every missing credential."""
    missing = settings.missing_for_serving()
    if missing:
        raise ConfigError(
            f"Slack is not configured: missing {', '.join(missing)}",
            hint="see docs/slack.md; for a local try-out use `assistant serve` with the test "
            "double as described there",
        )
