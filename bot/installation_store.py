"""Redis-backed OAuth stores for multi-workspace installs (slack-sdk ships none for Redis).

``RedisInstallationStore`` implements slack_sdk's ``AsyncInstallationStore`` over
``redis.asyncio.Redis`` with the semantics of the built-in ``FileInstallationStore`` /
``SQLite3InstallationStore``; ``RedisOAuthStateStore`` implements ``AsyncOAuthStateStore``.
Pass both to ``slack_bolt.oauth.async_oauth_settings.AsyncOAuthSettings``.

Key layout
----------
``P = f"{key_prefix}:{client_id}"`` (default prefix ``slack:install``). ``E``/``T`` are the
enterprise and team ids, ``none`` when absent; lookups with ``is_enterprise_install=True``
ignore the team id (``T = none``), as org-wide installs are stored without one. ``V`` is the
installation's ``installed_at`` (float seconds, ``str()``), ``U`` the installer's user id.
``:`` and ``%`` inside ids are percent-encoded so one id can never spill into another's keys.
All values are JSON strings::

    {P}:{E}:{T}:bot:latest                   Bot: newest bot token for the workspace / org
    {P}:{E}:{T}:bot:{V}                      Bot history                     (history only)
    {P}:{E}:{T}:installer:latest             Installation: newest install, whoever made it
    {P}:{E}:{T}:installer:{V}                Installation history            (history only)
    {P}:{E}:{T}:installer:user:{U}:latest    Installation: newest install by user U
    {P}:{E}:{T}:installer:user:{U}:{V}       per-user history                (history only)

OAuth states: ``{key_prefix}[:{client_id}]:{state}`` (default prefix ``slack:oauth_state``),
value = issue time, expiring after ``expiration_seconds``.

Contracts
---------
* Serialization: ``to_dict_for_copying()`` (``to_dict()`` plus ``custom_values`` kept in
  their own field, so ``Installation(**data)`` / ``Bot(**data)`` rebuild the object; the plain
  ``to_dict()`` merges custom values into the top level, which the constructors reject).
  ``to_dict*()`` turn timestamps into ``datetime``; the store writes the raw numbers instead
  (``installed_at`` float, ``*_token_expires_at`` int epoch seconds) so they round-trip
  exactly. A ``datetime`` inside ``custom_values`` comes back as an ISO-8601 string.
* Saving is one atomic ``MSET``. ``save(installation)`` writes the bot keys too, but only
  when the installation carries a bot token: a user-only install never replaces the bot.
  ``:latest`` is last-write-wins (like the file / S3 stores); a token rotation re-saves with
  the same ``installed_at`` and so also rewrites that history version.
* ``find_installation`` returns the workspace's latest installation, or user U's latest when
  ``user_id`` is given. When a user id is given or the installation has no bot token, the bot
  fields (token, ids, scopes, refresh token, expiry) come from ``bot:latest``, so bolt always
  gets the newest bot token (bolt-python issue #664, as in every slack-sdk store).
* Deletes are scoped to one ``E``/``T`` pair and remove history too: keys are found with
  ``SCAN MATCH`` (never ``KEYS``) and removed with ``UNLINK``. ``delete_installation(user_id=U)``
  also drops the workspace history entries written by U and, when ``installer:latest`` was
  U's, replaces it with the newest remaining user's installation or removes it (the row the
  SQL stores would return next), inside a WATCH transaction so a concurrent save is not lost.
  ``delete_bot`` leaves installations alone; ``delete_all`` removes every key of the pair.
* Single Redis (or a primary with replicas) only: MSET and the WATCH transaction span several
  keys without a hash tag, which Redis Cluster rejects.
* Nothing in the installation store expires. Redis errors propagate (bolt answers 5xx and
  Slack retries) instead of being reported as "not installed".
* ``RedisOAuthStateStore.async_consume`` is one ``GETDEL``: a state is accepted at most once,
  and unknown, expired or already used states return ``False``.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import time
from collections.abc import Sequence
from datetime import datetime
from logging import Logger
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import WatchError
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.installation_store.models.bot import Bot
from slack_sdk.oauth.installation_store.models.installation import Installation
from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore

__all__ = ["RedisInstallationStore", "RedisOAuthStateStore"]

_NONE = "none"
_SCAN_COUNT = 500
_UNLINK_BATCH = 500
_GLOB_SPECIALS = re.compile(r"([\\*?\[\]])")


def _segment(value: str | None) -> str:
    """One key segment for an id: ``none`` when absent; ``%`` and ``:`` percent-encoded."""
    if not value:
        return _NONE
    return value.replace("%", "%25").replace(":", "%3A")


def _glob_escape(text: str) -> str:
    """Escape Redis glob metacharacters so ``text`` matches only itself in SCAN MATCH."""
    return _GLOB_SPECIALS.sub(r"\\\1", text)


def _text(raw: bytes | str) -> str:
    """Redis replies are bytes unless the client was built with ``decode_responses=True``."""
    return raw.decode("utf-8") if isinstance(raw, bytes) else raw


def _json_default(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _dump(data: dict[str, Any]) -> str:
    return json.dumps(data, default=_json_default, separators=(",", ":"))


def _installation_to_json(installation: Installation) -> str:
    data = installation.to_dict_for_copying()
    data["installed_at"] = installation.installed_at
    data["bot_token_expires_at"] = installation.bot_token_expires_at
    data["user_token_expires_at"] = installation.user_token_expires_at
    return _dump(data)


def _bot_to_json(bot: Bot) -> str:
    data = bot.to_dict_for_copying()
    data["installed_at"] = bot.installed_at
    data["bot_token_expires_at"] = bot.bot_token_expires_at
    return _dump(data)


def _load(raw: bytes | str, scope_fields: Sequence[str]) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(_text(raw))
    for field in scope_fields:
        # to_dict() writes no scopes as None; the constructors turn a missing value into [].
        if data.get(field) is None:
            data.pop(field, None)
    return data


def _installation_from_json(raw: bytes | str) -> Installation:
    return Installation(**_load(raw, ("bot_scopes", "user_scopes")))


def _bot_from_json(raw: bytes | str) -> Bot:
    return Bot(**_load(raw, ("bot_scopes",)))


def _version(installed_at: float) -> str:
    return str(installed_at)


class RedisInstallationStore(AsyncInstallationStore):
    """slack_sdk ``AsyncInstallationStore`` over redis.asyncio (layout in the module docstring).

    ``historical_data_enabled=False`` keeps only the ``:latest`` keys.
    """

    def __init__(
        self,
        redis: Redis,
        client_id: str,
        *,
        key_prefix: str = "slack:install",
        historical_data_enabled: bool = True,
        logger: Logger | None = None,
    ) -> None:
        if not client_id:
            raise ValueError("client_id is required: keys are namespaced by it")
        self._redis = redis
        self.client_id = client_id
        self.key_prefix = key_prefix
        self.historical_data_enabled = historical_data_enabled
        self._logger = logger or logging.getLogger(__name__)

    @property
    def logger(self) -> Logger:
        return self._logger

    # -- keys -----------------------------------------------------------------------------

    def _base(self, enterprise_id: str | None, team_id: str | None) -> str:
        return f"{self.key_prefix}:{self.client_id}:{_segment(enterprise_id)}:{_segment(team_id)}"

    @staticmethod
    def _user_base(base: str, user_id: str | None) -> str:
        return f"{base}:installer:user:{_segment(user_id)}"

    # -- save -----------------------------------------------------------------------------

    async def async_save(self, installation: Installation) -> None:
        """Saves an installation (and its bot, when it has a bot token) in one atomic MSET."""
        base = self._base(installation.enterprise_id, installation.team_id)
        user_base = self._user_base(base, installation.user_id)
        entity = _installation_to_json(installation)
        values = {f"{base}:installer:latest": entity, f"{user_base}:latest": entity}
        if self.historical_data_enabled:
            version = _version(installation.installed_at)
            values[f"{base}:installer:{version}"] = entity
            values[f"{user_base}:{version}"] = entity
        values.update(self._bot_values(installation.to_bot()))
        await self._redis.mset(values)  # MSET is atomic: readers see all keys or none

    async def async_save_bot(self, bot: Bot) -> None:
        """Saves a bot installation; skipped (like slack-sdk's stores) without a bot token."""
        values = self._bot_values(bot)
        if values:
            await self._redis.mset(values)

    def _bot_values(self, bot: Bot) -> dict[str, str]:
        if bot.bot_token is None:
            self.logger.debug("Skipped saving a bot: the installation has no bot token")
            return {}
        base = self._base(bot.enterprise_id, bot.team_id)
        entity = _bot_to_json(bot)
        values = {f"{base}:bot:latest": entity}
        if self.historical_data_enabled:
            values[f"{base}:bot:{_version(bot.installed_at)}"] = entity
        return values

    # -- find -----------------------------------------------------------------------------

    async def async_find_bot(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        is_enterprise_install: bool | None = False,
    ) -> Bot | None:
        """The newest bot of the workspace (or of the org when ``is_enterprise_install``)."""
        if is_enterprise_install:
            team_id = None
        raw = await self._redis.get(f"{self._base(enterprise_id, team_id)}:bot:latest")
        if raw is None:
            self.logger.debug(f"No bot for enterprise: {enterprise_id}, team: {team_id}")
            return None
        return _bot_from_json(raw)

    async def async_find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        """The latest installation of the workspace / org, or of ``user_id`` when given.

        The bot fields come from the newest bot when a user's installation is asked for or the
        installation has no bot token (a user-only install).
        """
        if is_enterprise_install:
            team_id = None
        base = self._base(enterprise_id, team_id)
        if user_id is None:
            key = f"{base}:installer:latest"
        else:
            key = f"{self._user_base(base, user_id)}:latest"
        raw, raw_bot = await self._redis.mget([key, f"{base}:bot:latest"])
        if raw is None:
            self.logger.debug(
                f"No installation for enterprise: {enterprise_id}, team: {team_id}, user: {user_id}"
            )
            return None
        installation = _installation_from_json(raw)
        if (user_id is not None or installation.bot_token is None) and raw_bot is not None:
            latest_bot = _bot_from_json(raw_bot)
            if latest_bot.bot_token != installation.bot_token:
                installation.bot_id = latest_bot.bot_id
                installation.bot_user_id = latest_bot.bot_user_id
                installation.bot_token = latest_bot.bot_token
                installation.bot_scopes = latest_bot.bot_scopes
                installation.bot_refresh_token = latest_bot.bot_refresh_token
                installation.bot_token_expires_at = latest_bot.bot_token_expires_at
        return installation

    # -- delete ---------------------------------------------------------------------------

    async def async_delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        """Deletes the bot of the workspace / org, history included."""
        base = self._base(enterprise_id, team_id)
        await self._unlink_matching(f"{_glob_escape(base)}:bot:*")

    async def async_delete_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
    ) -> None:
        """Deletes the installations of the workspace / org (all users, or only ``user_id``).

        Bot keys are kept; use ``async_delete_all`` for an uninstall.
        """
        base = self._base(enterprise_id, team_id)
        if user_id is None:
            await self._unlink_matching(f"{_glob_escape(base)}:installer:*")
        else:
            await self._delete_user_installation(base, user_id)

    async def async_delete_all(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        """Deletes every key (bot, installations, history) of the workspace / org."""
        base = self._base(enterprise_id, team_id)
        await self._unlink_matching(f"{_glob_escape(base)}:*")

    async def _scan(self, pattern: str) -> list[bytes | str]:
        return [key async for key in self._redis.scan_iter(match=pattern, count=_SCAN_COUNT)]

    async def _unlink_matching(self, pattern: str) -> None:
        batch: list[bytes | str] = []
        async for key in self._redis.scan_iter(match=pattern, count=_SCAN_COUNT):
            batch.append(key)
            if len(batch) >= _UNLINK_BATCH:
                await self._redis.unlink(*batch)
                batch = []
        if batch:
            await self._redis.unlink(*batch)

    async def _delete_user_installation(self, base: str, user_id: str) -> None:
        user_base = self._user_base(base, user_id)
        latest_key = f"{base}:installer:latest"
        async with self._redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(latest_key)
                    doomed = await self._user_keys_and_history(base, user_base, user_id)
                    current = await pipe.get(latest_key)
                    replace = current is not None and (
                        _installation_from_json(current).user_id == user_id
                    )
                    successor = (
                        await self._newest_other_installation(base, user_id) if replace else None
                    )
                    pipe.multi()
                    if doomed:
                        pipe.unlink(*doomed)
                    if replace:
                        if successor is None:
                            pipe.unlink(latest_key)
                        else:
                            pipe.set(latest_key, successor)
                    await pipe.execute()
                    return
                except WatchError:
                    self.logger.debug(f"{latest_key} changed during a delete; retrying")
                    continue

    async def _user_keys_and_history(
        self, base: str, user_base: str, user_id: str
    ) -> list[bytes | str]:
        """User U's keys plus the workspace history entries U's installs wrote."""
        user_keys = await self._scan(f"{_glob_escape(user_base)}:*")
        prefix_len = len(user_base) + 1
        versions = [_text(key)[prefix_len:] for key in user_keys]
        history_keys = [f"{base}:installer:{v}" for v in versions if v != "latest"]
        doomed: list[bytes | str] = list(user_keys)
        if history_keys:
            for key, raw in zip(history_keys, await self._redis.mget(history_keys), strict=True):
                # Same version from another user (a timestamp tie) is not U's to delete.
                if raw is not None and _installation_from_json(raw).user_id == user_id:
                    doomed.append(key)
        return doomed

    async def _newest_other_installation(self, base: str, user_id: str) -> str | None:
        """JSON of the newest ``:latest`` installation of any user but ``user_id``."""
        keys = await self._scan(f"{_glob_escape(base)}:installer:user:*:latest")
        if not keys:
            return None
        newest: tuple[float, str] | None = None
        for raw in await self._redis.mget(keys):
            if raw is None:
                continue
            entity = _text(raw)
            installation = _installation_from_json(entity)
            if installation.user_id == user_id:
                continue
            if newest is None or installation.installed_at > newest[0]:
                newest = (installation.installed_at, entity)
        return None if newest is None else newest[1]


class RedisOAuthStateStore(AsyncOAuthStateStore):
    """One-time OAuth ``state`` values in Redis with a TTL (``expiration_seconds``).

    Bolt's ``AsyncOAuthSettings(state_expiration_seconds=...)`` only sets the state cookie's
    max-age; the validity window of a state stored here is this store's ``expiration_seconds``.
    """

    def __init__(
        self,
        redis: Redis,
        *,
        expiration_seconds: int = 600,
        key_prefix: str = "slack:oauth_state",
        client_id: str | None = None,
        logger: Logger | None = None,
    ) -> None:
        if expiration_seconds < 1:
            raise ValueError("expiration_seconds must be at least 1")
        self._redis = redis
        self.expiration_seconds = expiration_seconds
        self.key_prefix = f"{key_prefix}:{client_id}" if client_id else key_prefix
        self._logger = logger or logging.getLogger(__name__)

    @property
    def logger(self) -> Logger:
        return self._logger

    def _key(self, state: str) -> str:
        return f"{self.key_prefix}:{state}"

    async def async_issue(self, *args: Any, **kwargs: Any) -> str:
        """A new random state (256 bits, URL-safe), valid for ``expiration_seconds``."""
        while True:
            state = secrets.token_urlsafe(32)
            stored = await self._redis.set(
                self._key(state), repr(time.time()), ex=self.expiration_seconds, nx=True
            )
            if stored:  # NX: never hand out a state that is already pending (cannot happen)
                return state

    async def async_consume(self, state: str) -> bool:
        """True exactly once per issued, unexpired state (atomic ``GETDEL``)."""
        if not state:
            return False
        if await self._redis.getdel(self._key(state)) is None:
            self.logger.warning("OAuth state unknown, expired or already used")
            return False
        return True
