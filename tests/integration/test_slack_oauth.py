"""Multi-workspace (OAuth) mode end to end: the install page, the redirect that stores the
workspace's bot token in real Redis, and events answered with that workspace's own token.

No bot token is configured: every token the bot uses comes from the installation store.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlparse

import aiohttp
import pytest
from redis.asyncio import Redis

from bot.installation_store import RedisInstallationStore
from evals.slack_double import BOT_USER_ID, CHANNEL_ID, TEAM_ID, RecordedCall
from evals.slack_double.signing import event_body, mention_event
from integration.slack_harness import BOT_TOKEN, SlackEnv, start_env, stop_env

CLIENT_ID = "111.222"
CLIENT_SECRET = "shh"
STATE_COOKIE = "slack-app-oauth-state"
STRANGER_TEAM = "T0NEVERINSTALLED"
QUESTION = "How do I roll back a bad release?"


@dataclass
class Page:
    status: int
    text: str
    headers: dict[str, str]


@dataclass
class Installed:
    """What the install flow produced: the state used, the callback page, the issued token."""

    state: str
    callback: Page
    token: str
    oauth_calls: list[RecordedCall]


async def get(env: SlackEnv, path: str, *, cookie: str | None = None) -> Page:
    headers = {"Cookie": cookie} if cookie else {}
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{env.url}{path}", headers=headers, allow_redirects=False) as response,
    ):
        return Page(response.status, await response.text(), dict(response.headers))


def authorize_url(page: Page) -> str:
    """The slack.com authorize link of the install page (body link or ``Location``)."""
    if page.status == 302:
        return page.headers["Location"]
    match = re.search(r'href="(https://slack\.com/oauth/v2/authorize[^"]+)"', page.text)
    assert match, page.text
    return match.group(1).replace("&amp;", "&")


async def start_install(env: SlackEnv) -> tuple[str, str]:
    """GET /slack/install; returns the state of its authorize link and the state cookie."""
    page = await get(env, "/slack/install")
    assert page.status in (200, 302), page.text
    url = urlparse(authorize_url(page))
    assert (url.scheme, url.netloc, url.path) == ("https", "slack.com", "/oauth/v2/authorize")
    query = parse_qs(url.query)
    assert query["client_id"] == [CLIENT_ID]
    assert "app_mentions:read" in query["scope"][0].split(",")
    [state] = query["state"]
    assert len(state) >= 32
    set_cookie = page.headers.get("Set-Cookie", "")
    assert f"{STATE_COOKIE}={state}" in set_cookie, "the browser is bound to the state"
    return state, f"{STATE_COOKIE}={state}"


def mention(text: str, *, team: str = TEAM_ID) -> dict[str, Any]:
    return mention_event(text, user="U0ASKER", team=team)


def store(env: SlackEnv) -> tuple[Redis, RedisInstallationStore]:
    redis = Redis.from_url(env.runtime.assistant.redis_url)
    return redis, RedisInstallationStore(redis, CLIENT_ID)


@pytest.fixture(scope="module")
async def env(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> AsyncIterator[SlackEnv]:
    started = await start_env(
        tmp_path_factory.mktemp("oauth"),
        redis_url,
        bot_token=None,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
    )
    redis, installations = store(started)
    for team in (TEAM_ID, STRANGER_TEAM):  # the session's Redis is shared: start clean
        await installations.async_delete_all(enterprise_id=None, team_id=team)
    try:
        assert started.runtime.services.settings.oauth_enabled
        assert started.runtime.services.settings.bot_token is None
        yield started
    finally:
        for team in (TEAM_ID, STRANGER_TEAM):
            await installations.async_delete_all(enterprise_id=None, team_id=team)
        await redis.aclose()
        await stop_env(started)


@pytest.fixture(scope="module")
async def installed(env: SlackEnv) -> Installed:
    """Runs the install flow once, as a browser would: install page, then Slack's redirect."""
    env.double.reset(messages=False)
    state, cookie = await start_install(env)
    callback = await get(env, f"/slack/oauth_redirect?code=good&state={state}", cookie=cookie)
    oauth_calls = env.double.calls_to("oauth.v2.access")
    assert oauth_calls and oauth_calls[-1].response, callback.text
    token = str(oauth_calls[-1].response["access_token"])
    return Installed(state, callback, token, oauth_calls)


@pytest.fixture(autouse=True)
def fresh_double(env: SlackEnv) -> None:
    env.double.reset(messages=False)


async def test_install_page_links_to_slack_authorize_with_a_fresh_state(env: SlackEnv) -> None:
    first, _ = await start_install(env)
    second, _ = await start_install(env)
    assert first != second, "every visit issues its own state"
    assert env.double.calls == [], "showing the install page calls no Slack API"


async def test_redirect_installs_the_workspace_into_redis(
    env: SlackEnv, installed: Installed
) -> None:
    assert installed.callback.status == 200, installed.callback.text
    assert "Thank you!" in installed.callback.text
    [call] = installed.oauth_calls
    assert call.args["code"] == "good" and call.args["client_id"] == CLIENT_ID
    assert call.args["client_secret"] == CLIENT_SECRET
    assert installed.token.startswith("xoxb-installed-")
    team = call.response["team"]["id"] if call.response else None
    assert team == TEAM_ID

    redis, installations = store(env)
    try:
        bot = await installations.async_find_bot(enterprise_id=None, team_id=team)
        installation = await installations.async_find_installation(enterprise_id=None, team_id=team)
    finally:
        await redis.aclose()
    assert bot is not None and bot.bot_token == installed.token
    assert bot.bot_user_id == BOT_USER_ID and "chat:write" in bot.bot_scopes
    assert installation is not None and installation.user_id == "U0INSTALLER"


async def test_a_state_is_accepted_only_once(env: SlackEnv, installed: Installed) -> None:
    cookie = f"{STATE_COOKIE}={installed.state}"
    replay = await get(
        env, f"/slack/oauth_redirect?code=good&state={installed.state}", cookie=cookie
    )
    assert replay.status >= 400
    assert "Something Went Wrong" in replay.text and "invalid_state" in replay.text
    assert env.double.calls_to("oauth.v2.access") == [], "a used state never reaches Slack"


@pytest.mark.parametrize(
    "problem",
    ["unknown state", "no state cookie", "bad code", "user cancelled"],
)
async def test_failed_redirects_show_the_failure_page_and_store_nothing(
    env: SlackEnv, installed: Installed, problem: str
) -> None:
    redis, installations = store(env)
    try:
        before = await installations.async_find_bot(enterprise_id=None, team_id=TEAM_ID)
        if problem == "unknown state":
            path, cookie = "/slack/oauth_redirect?code=good&state=forged", f"{STATE_COOKIE}=forged"
        else:
            state, cookie = await start_install(env)
            path = f"/slack/oauth_redirect?code=good&state={state}"
            if problem == "no state cookie":
                cookie = ""
            elif problem == "bad code":
                path = f"/slack/oauth_redirect?code=bad&state={state}"
            else:
                path = f"/slack/oauth_redirect?error=access_denied&state={state}"
        page = await get(env, path, cookie=cookie or None)
        after = await installations.async_find_bot(enterprise_id=None, team_id=TEAM_ID)
    finally:
        await redis.aclose()
    assert "Something Went Wrong" in page.text, page.text
    assert before is not None and after is not None
    assert after.bot_token == before.bot_token == installed.token, "the installation is kept"


async def test_the_installed_workspace_is_answered_with_its_own_token(
    env: SlackEnv, installed: Installed
) -> None:
    status, _ = await env.event(mention(QUESTION))
    assert status == 200
    await env.settle()
    [start] = await env.double.wait_for("chat.startStream")
    [stop] = await env.double.wait_for("chat.stopStream")
    assert start.args["recipient_team_id"] == TEAM_ID
    assert start.response is not None and stop.args["ts"] == start.response["ts"]
    posted = env.double.message(CHANNEL_ID, stop.args["ts"])
    assert posted is not None and "rollback command [1]" in posted["text"]
    tokens = {(c.method, c.token) for c in env.double.calls}
    assert {c.token for c in env.double.calls} == {installed.token}, tokens
    assert BOT_TOKEN not in {t for _, t in tokens}


async def test_a_workspace_that_never_installed_gets_no_answer(
    env: SlackEnv, installed: Installed
) -> None:
    body = event_body(mention(QUESTION, team=STRANGER_TEAM), team_id=STRANGER_TEAM)
    status, _ = await env.post(body)
    await env.settle()
    assert status == 200, "bolt answers with its 'please install' text, nothing runs"
    assert env.double.calls_to("chat.startStream", "chat.postMessage", "chat.postEphemeral") == []
    assert all(c.token == installed.token for c in env.double.calls), "no other token is used"
    health = await get(env, "/healthz")
    ready = await get(env, "/readyz")
    assert (health.status, ready.status) == (200, 200)

    # ... and the installed workspace is still served.
    assert (await env.event(mention(QUESTION)))[0] == 200
    await env.settle()
    await env.double.wait_for("chat.stopStream")


async def test_a_reinstall_switches_every_call_to_the_new_token(
    env: SlackEnv, installed: Installed
) -> None:
    """Slack revokes the old token when a workspace reinstalls: nothing may keep using it."""
    assert (await env.event(mention(QUESTION)))[0] == 200  # the old token is in use first
    await env.settle()
    await env.double.wait_for("chat.stopStream")

    state, cookie = await start_install(env)
    page = await get(env, f"/slack/oauth_redirect?code=good&state={state}", cookie=cookie)
    assert "Thank you!" in page.text
    [oauth] = env.double.calls_to("oauth.v2.access")
    new_token = str(oauth.response["access_token"]) if oauth.response else ""
    assert new_token.startswith("xoxb-installed-") and new_token != installed.token

    env.double.reset(messages=False)
    assert (await env.event(mention(QUESTION)))[0] == 200
    await env.settle()
    await env.double.wait_for("chat.stopStream")
    tokens = {(c.method, c.token) for c in env.double.calls}
    assert {c.token for c in env.double.calls} == {new_token}, tokens


async def test_uninstalling_removes_the_workspace_from_redis(
    env: SlackEnv, installed: Installed
) -> None:
    redis, installations = store(env)
    try:
        assert await installations.async_find_bot(enterprise_id=None, team_id=TEAM_ID)
        status, _ = await env.event({"type": "app_uninstalled"})
        assert status == 200
        await asyncio.sleep(0.2)
        assert await installations.async_find_bot(enterprise_id=None, team_id=TEAM_ID) is None
        assert (
            await installations.async_find_installation(enterprise_id=None, team_id=TEAM_ID) is None
        )
    finally:
        await redis.aclose()


GRID = "E0GRIDORG"
GRID_TEAM = "T0GRIDWS"


async def test_an_enterprise_grid_workspace_is_answered_with_its_own_token(
    env: SlackEnv, installed: Installed
) -> None:
    """Grid installs are stored under their org id: the turn must look its token up the same way
    (it used to ask for ``enterprise_id=None`` and the user got no reply at all)."""
    env.double.api.oauth_team_id, env.double.api.oauth_enterprise_id = GRID_TEAM, GRID
    redis, installations = store(env)
    try:
        state, cookie = await start_install(env)
        page = await get(env, f"/slack/oauth_redirect?code=good&state={state}", cookie=cookie)
        assert "Thank you!" in page.text, page.text
        [oauth] = env.double.calls_to("oauth.v2.access")
        token = str(oauth.response["access_token"]) if oauth.response else ""
        bot = await installations.async_find_bot(enterprise_id=GRID, team_id=GRID_TEAM)
        assert bot is not None and bot.bot_token == token

        env.double.reset(messages=False)
        body = event_body(mention(QUESTION, team=GRID_TEAM), team_id=GRID_TEAM, enterprise_id=GRID)
        assert (await env.post(body))[0] == 200
        await env.settle()
        [stop] = await env.double.wait_for("chat.stopStream")
        posted = env.double.message(CHANNEL_ID, stop.args["ts"])
        assert posted is not None and "rollback command [1]" in posted["text"]
        assert {c.token for c in env.double.calls} == {token}
    finally:
        env.double.api.oauth_team_id, env.double.api.oauth_enterprise_id = TEAM_ID, None
        await installations.async_delete_all(enterprise_id=GRID, team_id=GRID_TEAM)
        await redis.aclose()
