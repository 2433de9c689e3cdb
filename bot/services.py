"""Everything a Slack listener may use, bundled once per process.

``SlackServices`` is put into every request's Bolt ``context`` by a global middleware
(``services_of(context)`` reads it back), so handlers stay plain functions that ask for
``context`` and get the assistant, the scheduler and the records from there.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import SlackSettings
from bot.records import SlackRecords
from bot.responder import send_private_response
from bot.turns import TurnRequest, TurnScheduler
from bot.views.text import BUSY, rate_limited
from graph.assistant import Assistant
from observe.tracing import user_hash

log = structlog.get_logger(__name__)
CONTEXT_KEY = "assistant_services"


class DeliveryInProgress(Exception):
    """Another delivery of this event is still being queued; fail this one so Slack retries."""


@dataclass(kw_only=True)
class SlackServices:
    """The process-wide services behind the Slack listeners."""

    assistant: Assistant
    settings: SlackSettings
    redis: Redis
    records: SlackRecords
    scheduler: TurnScheduler
    _admins: dict[str, bool] = field(default_factory=dict)
    _background: set[asyncio.Task[None]] = field(default_factory=set)

    def spawn(self, work: Coroutine[Any, Any, Any], what: str) -> None:
        """Run Slack calls that follow an ack in the background, so the ack is not delayed;
        failures are logged."""

        async def run() -> None:
            try:
                await work
            except Exception:
                log.exception("background Slack work failed", what=what)

        task = asyncio.create_task(run(), name=what)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def aclose(self, timeout: float = 10.0) -> None:
        """Wait (up to ``timeout``) for background work started by listeners."""
        if self._background:
            await asyncio.wait(set(self._background), timeout=timeout)

    async def claim(self, body: dict[str, Any]) -> bool:
        """True when this delivery's ``event_id`` is new (claimed now); False for a duplicate of
        a queued event. Raises ``DeliveryInProgress`` while another delivery of the same event is
        still being queued, so Slack retries it later instead of it being dropped."""
        event_id = body.get("event_id")
        if not event_id:
            return True
        state = await self.scheduler.claim_event(str(event_id))
        if state == "pending":
            raise DeliveryInProgress(f"event {event_id} is being queued by another delivery")
        if state == "done":
            log.info("duplicate delivery ignored", event_id=event_id)
            return False
        return True

    async def handled(self, body: dict[str, Any]) -> None:
        """Mark a claimed event as dealt with without a turn (e.g. answered with a hint)."""
        if body.get("event_id"):
            await self.scheduler.confirm_event(str(body["event_id"]))

    async def accept(self, request: TurnRequest, client: AsyncWebClient) -> bool:
        """Rate-limit, then queue ``request``; tell the user (in the background) when it is
        refused. True if queued.

        The event's claim is confirmed only once the turn is queued (or the user was told why
        not). Any failure releases the claim and propagates, so the HTTP request fails and Slack
        delivers the event again: an event is acknowledged only once it is dealt with.
        """
        try:
            queued = await self._accept(request, client)
            if request.event_id:
                await self.scheduler.confirm_event(request.event_id)
        except BaseException:
            if request.event_id:
                await self._release(request.event_id)
            raise
        return queued

    async def _release(self, event_id: str) -> None:
        try:
            await self.scheduler.release_event(event_id)
        except RedisError as exc:
            log.warning("could not release an event claim", error=str(exc))

    async def _accept(self, request: TurnRequest, client: AsyncWebClient) -> bool:
        policy = self.settings.policy(request.channel)
        checks = (
            (
                "user",
                request.user,
                policy.user_rate_per_minute or self.settings.user_rate_per_minute,
            ),
            (
                "channel",
                request.channel,
                policy.channel_rate_per_minute or self.settings.channel_rate_per_minute,
            ),
        )
        for scope, ident, limit in checks:
            decision = await self.scheduler.rate_limit(scope, ident, limit)
            if not decision.allowed:
                log.info("rate limited", scope=scope, user_hash=user_hash(request.user))
                self.spawn(
                    self.tell(client, request, rate_limited(decision.retry_after_s)), "rate notice"
                )
                return False
        if not await self.scheduler.submit(request):
            log.warning("busy: turn refused", pending=self.scheduler.pending)
            self.spawn(self.tell(client, request, BUSY), "busy notice")
            return False
        if request.delivery == "thread":  # follow-ups sent while this turn runs are for us too
            await self.records.join_thread(request.thread_key, request.user)
        return True

    async def tell(self, client: AsyncWebClient, request: TurnRequest, text: str) -> None:
        """A short notice only the requester sees (in their DM with the bot, a normal reply)."""
        try:
            if request.response_url is not None:
                await send_private_response(request.response_url, self.settings, text)
            elif request.channel.startswith("D"):
                await client.chat_postMessage(
                    channel=request.channel, thread_ts=request.thread_ts, text=text
                )
            else:
                await client.chat_postEphemeral(
                    channel=request.channel,
                    user=request.user,
                    thread_ts=request.thread_ts,
                    text=text,
                )
        except SlackApiError as exc:
            log.warning("could not tell the user", error=exc.response.get("error"))

    async def is_admin(self, client: AsyncWebClient, user: str) -> bool:
        """Configured admins, and the workspace's admins and owners (asked once per process)."""
        if user in self.settings.admins:
            return True
        if user not in self._admins:
            try:
                info = (await client.users_info(user=user)).get("user") or {}
            except SlackApiError:
                return False
            self._admins[user] = bool(info.get("is_admin") or info.get("is_owner"))
        return self._admins[user]


def services_of(context: AsyncBoltContext) -> SlackServices:
    """The services the global middleware put into ``context``."""
    services = context.get(CONTEXT_KEY)
    if not isinstance(services, SlackServices):
        raise RuntimeError("SlackServices missing from the Bolt context (middleware not installed)")
    return services
