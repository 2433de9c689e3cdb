"""RedisInstallationStore / RedisOAuthStateStore against the real embedded Redis, plus bolt's
OAuth flow and authorize path driven through them (Slack Web API faked in-process)."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio as aioredis
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.authorization.async_authorize import AsyncInstallationStoreAuthorize
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.oauth.installation_store import Bot, Installation
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot.installation_store import RedisInstallationStore, RedisOAuthStateStore


@pytest.fixture
async def redis_client(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.from_url(redis_url)
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture
def prefix() -> str:
    """A key prefix no other test uses, so tests share one Redis without seeing each other."""
    return f"test:install:{secrets.token_hex(6)}"


def make_store(
    client: aioredis.Redis, prefix: str, *, history: bool = True
) -> RedisInstallationStore:
    return RedisInstallationStore(
        client, "111.222", key_prefix=prefix, historical_data_enabled=history
    )


def installation(
    *,
    team_id: str | None = "T1",
    user_id: str = "U1",
    bot_token: str | None = "xoxb-1",
    user_token: str | None = "xoxp-1",
    installed_at: float = 1_700_000_000.25,
    enterprise_id: str | None = None,
    is_enterprise_install: bool = False,
    **extra: Any,
) -> Installation:
    has_bot = bot_token is not None
    return Installation(
        app_id="A1",
        enterprise_id=enterprise_id,
        team_id=team_id,
        team_name=f"team {team_id}",
        bot_token=bot_token,
        bot_id=f"B-{bot_token}" if has_bot else None,
        bot_user_id=f"UB-{bot_token}" if has_bot else None,
        bot_scopes=["chat:write", "commands"] if has_bot else "",
        user_id=user_id,
        user_token=user_token,
        user_scopes=["search:read"] if user_token else "",
        is_enterprise_install=is_enterprise_install,
        token_type="bot" if has_bot else "user",
        installed_at=installed_at,
        **extra,
    )


async def keys(client: aioredis.Redis, pattern: str) -> set[str]:
    return {k.decode() async for k in client.scan_iter(match=pattern, count=1000)}


async def test_save_and_find_installation_and_bot_for_a_team(
    redis_client: aioredis.Redis, prefix: str
) -> None:
    store = make_store(redis_client, prefix)
    saved = installation(
        bot_token_expires_at=1_800_000_000,
        custom_values={"plan": "pro", "seats": 12},
    )
    await store.async_save(saved)

    found = await store.async_find_installation(enterprise_id=None, team_id="T1")
    assert found is not None
    assert found.to_dict_for_copying() == saved.to_dict_for_copying()
    assert found.installed_at == saved.installed_at  # the float survives exactly
    assert found.bot_token_expires_at == 1_800_000_000
    assert found.bot_scopes == ["chat:write", "commands"]
    assert found.user_scopes == ["search:read"]
    assert found.get_custom_value("plan") == "pro"

    by_user = await store.async_find_installation(enterprise_id=None, team_id="T1", user_id="U1")
    assert by_user is not None and by_user.user_token == "xoxp-1"

    bot = await store.async_find_bot(enterprise_id=None, team_id="T1")
    assert bot is not None
    assert (bot.bot_token, bot.bot_id, bot.bot_user_id) == ("xoxb-1", "B-xoxb-1", "UB-xoxb-1")
    assert bot.bot_scopes == ["chat:write", "commands"]
    assert bot.installed_at == saved.installed_at
    assert bot.get_custom_value("seats") == 12

    assert await store.async_find_installation(enterprise_id=None, team_id="T2") is None
    assert await store.async_find_installation(enterprise_id="E1", team_id="T1") is None
    assert (
        await store.async_find_installation(enterprise_id=None, team_id="T1", user_id="U9") is None
    )
    assert await store.async_find_bot(enterprise_id=None, team_id="T2") is None
    # Another client_id on the same prefix is another app: nothing shared.
    other_app = RedisInstallationStore(redis_client, "999.999", key_prefix=prefix)
    assert await other_app.async_find_bot(enterprise_id=None, team_id="T1") is None


async def test_a_client_with_decoded_responses_works_too(redis_url: str, prefix: str) -> None:
    client = aioredis.from_url(redis_url, decode_responses=True)
    try:
        store = make_store(client, prefix)
        await store.async_save(installation())
        await store.async_save(installation(user_id="U2", installed_at=1_700_000_100.0))
        found = await store.async_find_installation(enterprise_id=None, team_id="T1", user_id="U1")
        assert found is not None and found.user_token == "xoxp-1"
        await store.async_delete_installation(enterprise_id=None, team_id="T1", user_id="U2")
        latest = await store.async_find_installation(enterprise_id=None, team_id="T1")
        assert latest is not None and latest.user_id == "U1"
    finally:
        await client.aclose()


async def test_save_bot_without_a_token_is_skipped(
    redis_client: aioredis.Redis, prefix: str
) -> None:
    store = make_store(redis_client, prefix)
    await store.async_save_bot(installation(bot_token=None).to_bot())
    assert await keys(redis_client, f"{prefix}:*") == set()
    await store.async_save_bot(
        Bot(team_id="T1", bot_token="xoxb-b", bot_id="B", bot_user_id="UB", installed_at=5.0)
    )
    bot = await store.async_find_bot(enterprise_id=None, team_id="T1")
    assert bot is not None and bot.bot_token == "xoxb-b" and bot.bot_scopes == []


async def test_enterprise_install_is_found_whatever_the_team(
    redis_client: aioredis.Redis, prefix: str
) -> None:
    store = make_store(redis_client, prefix)
    await store.async_save(
        installation(
            enterprise_id="E1", team_id=None, is_enterprise_install=True, bot_token="xoxb-org"
        )
    )

    for team_id in ("T-any", None):
        found = await store.async_find_installation(
            enterprise_id="E1", team_id=team_id, is_enterprise_install=True
        )
        assert found is not None
        assert found.is_enterprise_install and found.bot_token == "xoxb-org"
        bot = await store.async_find_bot(
            enterprise_id="E1", team_id=team_id, is_enterprise_install=True
        )
        assert bot is not None and bot.bot_token == "xoxb-org" and bot.is_enterprise_install
    user = await store.async_find_installation(
        enterprise_id="E1", team_id="T-any", user_id="U1", is_enterprise_install=True
    )
    assert user is not None and user.user_token == "xoxp-1"

    # Without the flag the team id counts, and no workspace-level install exists.
    assert await store.async_find_installation(enterprise_id="E1", team_id="T-any") is None
    assert await store.async_find_bot(enterprise_id="E1", team_id="T-any") is None
    assert await store.async_find_bot(enterprise_id="E2", team_id=None) is None


async def test_user_level_install_keeps_the_bot_of_the_latest_bot_install(
    redis_client: aioredis.Redis, prefix: str
) -> None:
    store = make_store(redis_client, prefix)
    await store.async_save(installation(user_id="U1", bot_token="xoxb-1", installed_at=1000.5))
    # U2 authorizes user scopes only: no bot token in this installation.
    await store.async_save(
        installation(user_id="U2", bot_token=None, user_token="xoxp-2", installed_at=2000.5)
    )

    u2 = await store.async_find_installation(enterprise_id=None, team_id="T1", user_id="U2")
    assert u2 is not None
    assert u2.user_token == "xoxp-2"
    assert (u2.bot_token, u2.bot_id, u2.bot_user_id) == ("xoxb-1", "B-xoxb-1", "UB-xoxb-1")
    assert u2.bot_scopes == ["chat:write", "commands"]

    latest = await store.async_find_installation(enterprise_id=None, team_id="T1")
    assert latest is not None
    assert latest.user_id == "U2" and latest.bot_token == "xoxb-1"  # bot filled in

    bot = await store.async_find_bot(enterprise_id=None, team_id="T1")
    assert bot is not None and bot.bot_token == "xoxb-1"  # not overwritten by U2

    # A later reinstall by U3 rotates the bot: everyone's lookup now carries the new bot token.
    await store.async_save(installation(user_id="U3", bot_token="xoxb-3", installed_at=3000.5))
    u1 = await store.async_find_installation(enterprise_id=None, team_id="T1", user_id="U1")
    assert u1 is not None and u1.user_token == "xoxp-1" and u1.bot_token == "xoxb-3"
    assert u1.bot_id == "B-xoxb-3"


async def test_a_second_install_replaces_the_latest_and_keeps_history(
    redis_client: aioredis.Redis, prefix: str
) -> None:
    store = make_store(redis_client, prefix)
    first = installation(bot_token="xoxb-old", user_token="xoxp-old", installed_at=1000.0)
    second = installation(bot_token="xoxb-new", user_token="xoxp-new", installed_at=2000.0)
    await store.async_save(first)
    await store.async_save(second)

    latest = await store.async_find_installation(enterprise_id=None, team_id="T1")
    assert latest is not None and latest.bot_token == "xoxb-new"
    bot = await store.async_find_bot(enterprise_id=None, team_id="T1")
    assert bot is not None and bot.bot_token == "xoxb-new"

    base = f"{prefix}:111.222:none:T1"
    assert await keys(redis_client, f"{prefix}:*") == {
        f"{base}:bot:latest",
        f"{base}:bot:1000.0",
        f"{base}:bot:2000.0",
        f"{base}:installer:latest",
        f"{base}:installer:1000.0",
        f"{base}:installer:2000.0",
        f"{base}:installer:user:U1:latest",
        f"{base}:installer:user:U1:1000.0",
        f"{base}:installer:user:U1:2000.0",
    }
    raw_old = await redis_client.get(f"{base}:installer:1000.0")
    assert raw_old is not None
    old = Installation(**json.loads(raw_old))
    assert old.bot_token == "xoxb-old" and old.user_token == "xoxp-old"


async def test_history_disabled_keeps_only_the_latest_keys(
    redis_client: aioredis.Redis, prefix: str
) -> None:
    store = make_store(redis_client, prefix, history=False)
    await store.async_save(installation(installed_at=1000.0))
    await store.async_save(installation(bot_token="xoxb-2", installed_at=2000.0))
    base = f"{prefix}:111.222:none:T1"
    assert await keys(redis_client, f"{prefix}:*") == {
        f"{base}:bot:latest",
        f"{base}:installer:latest",
        f"{base}:installer:user:U1:latest",
    }
    found = await store.async_find_installation(enterprise_id=None, team_id="T1", user_id="U1")
    assert found is not None and found.bot_token == "xoxb-2"


async def save_two_teams(store: RedisInstallationStore) -> None:
    for team in ("T1", "T2"):
        await store.async_save(installation(team_id=team, user_id="U1", installed_at=1000.0))
        await store.async_save(installation(team_id=team, user_id="U2", installed_at=2000.0))


async def test_delete_installation_removes_installs_and_history_of_that_team_only(
    redis_client: aioredis.Redis, prefix: str
) -> None:
    store = make_store(redis_client, prefix)
    await save_two_teams(store)
    t2_before = await keys(redis_client, f"{prefix}:*:T2:*")

    await store.async_delete_installation(enterprise_id=None, team_id="T1")

    assert await store.async_find_installation(enterprise_id=None, team_id="T1") is None
    assert (
        await store.async_find_installation(enterprise_id=None, team_id="T1", user_id="U1")
    ) is None
    assert await keys(redis_client, f"{prefix}:*:T1:installer:*") == set()
    bot = await store.async_find_bot(enterprise_id=None, team_id="T1")
    assert bot is not None  # delete_installation leaves the bot alone
    assert await keys(redis_client, f"{prefix}:*:T2:*") == t2_before


async def test_delete_bot_removes_bot_and_history_of_that_team_only(
    redis_client: aioredis.Redis, prefix: str
) -> None:
    store = make_store(redis_client, prefix)
    await save_two_teams(store)
    t2_before = await keys(redis_client, f"{prefix}:*:T2:*")

    await store.async_delete_bot(enterprise_id=None, team_id="T1")

    assert await store.async_find_bot(enterprise_id=None, team_id="T1") is None
    assert await keys(redis_client, f"{prefix}:*:T1:bot:*") == set()
    assert await keys(redis_client, f"{prefix}:*:T1:installer:*")  # installations stay
    assert await keys(redis_client, f"{prefix}:*:T2:*") == t2_before


async def test_delete_all_removes_every_key_of_that_team_only(
    redis_client: aioredis.Redis, prefix: str
) -> None:
    store = make_store(redis_client, prefix)
    await save_two_teams(store)
    # A team id that merely starts like T1 must not be caught by T1's pattern.
    await store.async_save(installation(team_id="T10"))
    untouched = await keys(redis_client, f"{prefix}:*:T2:*") | await keys(
        redis_client, f"{prefix}:*:T10:*"
    )

    await store.async_delete_all(enterprise_id=None, team_id="T1")

    assert await keys(redis_client, f"{prefix}:*:T1:*") == set()
    assert await store.async_find_installation(enterprise_id=None, team_id="T1") is None
    assert await store.async_find_bot(enterprise_id=None, team_id="T1") is None
    assert await keys(redis_client, f"{prefix}:*") == untouched
    t2 = await store.async_find_installation(enterprise_id=None, team_id="T2")
    assert t2 is not None and t2.user_id == "U2"


async def test_delete_one_user_falls_back_to_the_newest_other_installation(
    redis_client: aioredis.Redis, prefix: str
) -> None:
    store = make_store(redis_client, prefix)
    await store.async_save(installation(user_id="U1", user_token="xoxp-1", installed_at=1000.0))
    await store.async_save(installation(user_id="U3", user_token="xoxp-3", installed_at=1500.0))
    await store.async_save(installation(user_id="U2", user_token="xoxp-2", installed_at=2000.0))

    await store.async_delete_installation(enterprise_id=None, team_id="T1", user_id="U2")

    base = f"{prefix}:111.222:none:T1"
    assert await keys(redis_client, f"{base}:installer:user:U2:*") == set()
    assert await redis_client.exists(f"{base}:installer:2000.0") == 0  # U2's history entry
    assert await redis_client.exists(f"{base}:installer:1000.0") == 1  # U1's stays
    latest = await store.async_find_installation(enterprise_id=None, team_id="T1")
    assert latest is not None and latest.user_id == "U3" and latest.user_token == "xoxp-3"
    u1 = await store.async_find_installation(enterprise_id=None, team_id="T1", user_id="U1")
    assert u1 is not None

    # Deleting a user who is not the latest leaves the latest alone.
    await store.async_delete_installation(enterprise_id=None, team_id="T1", user_id="U1")
    latest = await store.async_find_installation(enterprise_id=None, team_id="T1")
    assert latest is not None and latest.user_id == "U3"

    # The last user gone: no installation left, the bot stays.
    await store.async_delete_installation(enterprise_id=None, team_id="T1", user_id="U3")
    assert await store.async_find_installation(enterprise_id=None, team_id="T1") is None
    assert await keys(redis_client, f"{base}:installer:*") == set()
    assert await store.async_find_bot(enterprise_id=None, team_id="T1") is not None


async def test_state_is_consumed_once(redis_client: aioredis.Redis, prefix: str) -> None:
    states = RedisOAuthStateStore(redis_client, key_prefix=prefix, client_id="111.222")
    state = await states.async_issue()
    other = await states.async_issue()
    assert state != other and len(state) >= 40

    ttl = await redis_client.ttl(f"{prefix}:111.222:{state}")
    assert 590 <= ttl <= 600

    assert await states.async_consume(state) is True
    assert await states.async_consume(state) is False  # reuse
    assert await states.async_consume("never-issued") is False
    assert await states.async_consume("") is False
    assert await states.async_consume(other) is True


async def test_state_expires(redis_client: aioredis.Redis, prefix: str) -> None:
    states = RedisOAuthStateStore(redis_client, key_prefix=prefix, expiration_seconds=1)
    state = await states.async_issue()
    await asyncio.sleep(1.2)
    assert await states.async_consume(state) is False


async def test_concurrent_consumers_get_one_success(
    redis_client: aioredis.Redis, prefix: str
) -> None:
    states = RedisOAuthStateStore(redis_client, key_prefix=prefix)
    state = await states.async_issue()
    results = await asyncio.gather(*(states.async_consume(state) for _ in range(10)))
    assert results.count(True) == 1


def test_constructor_validation(redis_url: str) -> None:
    client = aioredis.from_url(redis_url)
    with pytest.raises(ValueError):
        RedisInstallationStore(client, "")
    with pytest.raises(ValueError):
        RedisOAuthStateStore(client, expiration_seconds=0)


class FakeSlack(AsyncWebClient):
    """Answers oauth.v2.access and auth.test in-process; records the token auth.test saw."""

    def __init__(self) -> None:
        super().__init__(token=None)
        self.auth_test_tokens: list[str | None] = []

    async def api_call(self, api_method: str, **kwargs: Any) -> AsyncSlackResponse:
        params = kwargs.get("params") or {}
        if api_method == "oauth.v2.access":
            data: dict[str, Any] = {
                "ok": True,
                "app_id": "A1",
                "access_token": "xoxb-from-oauth",
                "token_type": "bot",
                "scope": "chat:write,commands",
                "bot_user_id": "UBOT",
                "team": {"id": "T1", "name": "Team One"},
                "enterprise": None,
                "is_enterprise_install": False,
                "authed_user": {"id": "U1"},
            }
        elif api_method == "auth.test":
            self.auth_test_tokens.append(params.get("token"))
            data = {
                "ok": True,
                "team_id": "T1",
                "team": "Team One",
                "user_id": "UBOT",
                "bot_id": "BBOT",
                "url": "https://team-one.slack.com/",
            }
        else:
            raise AssertionError(f"unexpected Slack call {api_method}")
        return AsyncSlackResponse(
            client=self,
            http_verb="POST",
            api_url=f"https://slack.invalid/api/{api_method}",
            req_args={},
            data=data,
            headers={},
            status_code=200,
        )


async def test_bolt_oauth_flow_and_authorize_use_the_redis_stores(
    redis_client: aioredis.Redis, prefix: str
) -> None:
    store = make_store(redis_client, prefix)
    states = RedisOAuthStateStore(redis_client, key_prefix=f"{prefix}:state")
    slack = FakeSlack()
    settings = AsyncOAuthSettings(
        client_id="111.222",
        client_secret="secret",
        scopes=["chat:write", "commands"],
        installation_store=store,
        state_store=states,
    )
    app = AsyncApp(signing_secret="signing-secret", client=slack, oauth_settings=settings)
    flow = app.oauth_flow
    assert flow is not None and app.installation_store is store

    # Install: issue a state, then come back to the redirect URL with it and a code.
    state = await flow.issue_new_state(AsyncBoltRequest(body="", query={}, headers={}))
    callback = AsyncBoltRequest(
        body="",
        query={"code": "code-1", "state": state},
        headers={"cookie": f"{settings.state_cookie_name}={state}"},
    )
    response = await flow.handle_callback(callback)
    assert response.status == 200, response.body
    replay = await flow.handle_callback(callback)
    assert replay.status == 401  # the state was used up by the first callback

    saved = await store.async_find_bot(enterprise_id=None, team_id="T1")
    assert saved is not None and saved.bot_token == "xoxb-from-oauth" and saved.bot_id == "BBOT"

    # Authorize an incoming request for that team the way the app's middleware does.
    authorize = flow.settings.authorize
    assert isinstance(authorize, AsyncInstallationStoreAuthorize)
    context = AsyncBoltContext({"client": slack, "is_enterprise_install": False})
    result = await authorize(context=context, enterprise_id=None, team_id="T1", user_id="U7")
    assert result is not None
    assert result.bot_token == "xoxb-from-oauth"
    assert result.bot_id == "BBOT" and result.bot_user_id == "UBOT" and result.team_id == "T1"
    assert result.user_token is None  # U7 is not the installer
    assert slack.auth_test_tokens[-1] == "xoxb-from-oauth"

    # A directly built authorizer over the same store agrees; unknown teams get nothing.
    direct = AsyncInstallationStoreAuthorize(logger=app.logger, installation_store=store)
    same = await direct(context=context, enterprise_id=None, team_id="T1", user_id="U1")
    assert same is not None and same.bot_token == "xoxb-from-oauth"
    assert await direct(context=context, enterprise_id=None, team_id="T404", user_id="U1") is None
