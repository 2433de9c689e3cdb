"""Approval requests in real Redis: who may decide, expiry, one run however many clicks."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from graph.tools.approval import ApprovalStore, PendingCall


@pytest.fixture
async def store(redis_url: str) -> AsyncIterator[ApprovalStore]:
    redis = Redis.from_url(redis_url)
    yield ApprovalStore(redis, ttl_s=60, prefix=f"test-approval-{time.time_ns()}")
    await redis.aclose()


def pending(**extra: object) -> PendingCall:
    return PendingCall(
        tool="create_ticket",
        args={"title": "VPN"},
        user_id="U0ASKER",
        trace_id="a" * 32,
        expires_at=time.time() + 600,
        approvers=["U0LEAD"],
        **extra,  # type: ignore[arg-type]
    )


async def test_only_the_asker_or_an_approver_decides(store: ApprovalStore) -> None:
    call = await store.request(pending())
    assert call.expires_in_s() <= 60, "the store's TTL caps the request"
    stranger = await store.decide(call.id, "U0OTHER", approve=True)
    assert stranger.status == "not_allowed" and await store.get(call.id) is not None
    lead = await store.decide(call.id, "U0LEAD", approve=True)
    assert (
        lead.status == "approved" and lead.call is not None and lead.call.args == {"title": "VPN"}
    )
    again = await store.decide(call.id, "U0ASKER", approve=False)
    assert again.status == "decided" and again.decided_by == "approved by U0LEAD"


async def test_a_rejected_or_expired_request_returns_no_call_to_run(store: ApprovalStore) -> None:
    rejected = await store.request(pending())
    assert (await store.decide(rejected.id, "U0ASKER", approve=False)).status == "rejected"
    expired = await store.request(pending())
    await store.redis.pexpire(store._key(expired.id), 1)
    await asyncio.sleep(0.05)
    outcome = await store.decide(expired.id, "U0ASKER", approve=True)
    assert outcome.status == "expired" and outcome.call is None


async def test_simultaneous_clicks_approve_exactly_once(store: ApprovalStore) -> None:
    call = await store.request(pending())
    outcomes = await asyncio.gather(
        *(store.decide(call.id, user, approve=True) for user in ["U0ASKER", "U0LEAD"] * 5)
    )
    assert sorted(o.status for o in outcomes).count("approved") == 1
    assert {o.status for o in outcomes} == {"approved", "decided"}


def test_a_call_is_put_to_a_person_only_with_valid_arguments_shown_whole() -> None:
    from pydantic import BaseModel

    from graph.tools.approval import APPROVAL_ARGS_LIMIT, approval_problem
    from graph.tools.registry import Tool, describe_args

    class Ticket(BaseModel):
        title: str

    async def run(args: Ticket, deps: object) -> str:
        return ""

    ticket = Tool("open_ticket", "", Ticket, run, side_effect=True)
    assert "title: Field required" in approval_problem(ticket, {})
    assert approval_problem(ticket, {"title": "VPN"}) == ""
    long = {"title": "x" * (APPROVAL_ARGS_LIMIT + 1)}
    assert "too long to show" in approval_problem(ticket, long)
    hidden = {"title": "harmless " * 40, "then": "<!channel> drop table"}
    shown = describe_args(hidden, limit=None)
    assert "drop table" in shown and "<!channel>" not in shown, "whole, and inert"
