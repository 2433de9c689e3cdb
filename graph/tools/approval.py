"""Approvals for tools with side effects: nothing such runs until a person says yes.

``ApprovalStore.request`` keeps a ``PendingCall`` in Redis under ``approval:<id>`` with the
``tools.approval_ttl_s`` expiry; ``decide`` claims it atomically (``GETDEL``), so a call runs at
most once however many replicas see the click, and an expired request can no longer run. Who may
decide: the asker, or a configured approver; anyone else is told so and the request stays. The
outcome of a decision is kept for the same TTL (``approval:<id>:decided``), so a second click
hears who decided, not "expired".
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from pydantic import ValidationError
from redis.asyncio import Redis

from graph.tools.registry import Tool, describe_args

DecisionStatus = Literal["approved", "rejected", "expired", "decided", "not_allowed"]


@dataclass
class PendingCall:
    """A tool call waiting for approval."""

    tool: str
    args: dict[str, Any]
    user_id: str
    """The asker: they may always decide."""
    trace_id: str
    expires_at: float
    approvers: list[str] = field(default_factory=list)
    """Who else may decide (``tools.approvers``)."""
    spaces: list[str] = field(default_factory=list)
    id: str = field(default_factory=lambda: secrets.token_hex(8))
    created_at: float = field(default_factory=time.time)

    def may_decide(self, user_id: str) -> bool:
        return user_id == self.user_id or user_id in self.approvers

    def expires_in_s(self) -> int:
        return max(0, round(self.expires_at - time.time()))


@dataclass(frozen=True)
class Decision:
    """What became of a request: the claimed call when ``approved``."""

    status: DecisionStatus
    call: PendingCall | None = None
    decided_by: str | None = None
    """On ``decided``: the earlier decision (``approved by U…``)."""


class ApprovalStore:
    """Pending tool calls in Redis, one key each, expiring on their own."""

    def __init__(self, redis: Redis, ttl_s: int, prefix: str = "approval") -> None:
        self.redis = redis
        self.ttl_s = ttl_s
        self.prefix = prefix

    def _key(self, call_id: str) -> str:
        return f"{self.prefix}:{call_id}"

    async def request(self, call: PendingCall) -> PendingCall:
        """Keep ``call`` until it is decided or ``ttl_s`` passes."""
        call.expires_at = min(call.expires_at, time.time() + self.ttl_s)
        ttl = max(1, round(call.expires_at - time.time()))
        await self.redis.set(self._key(call.id), json.dumps(asdict(call)), ex=ttl)
        return call

    async def get(self, call_id: str) -> PendingCall | None:
        raw = await self.redis.get(self._key(call_id))
        return None if raw is None else PendingCall(**json.loads(raw))

    async def decide(self, call_id: str, user_id: str, approve: bool) -> Decision:
        """Approve or reject ``call_id`` as ``user_id``; an approved call is returned claimed
        (no one else can run it)."""
        pending = await self.get(call_id)
        if pending is None:
            earlier = await self.redis.get(f"{self._key(call_id)}:decided")
            if earlier is not None:
                text = earlier.decode() if isinstance(earlier, bytes) else str(earlier)
                return Decision("decided", decided_by=text)
            return Decision("expired")
        if not pending.may_decide(user_id):
            return Decision("not_allowed", pending)
        claimed = await self.redis.getdel(self._key(call_id))
        if claimed is None:  # someone else decided between the two reads
            return await self.decide(call_id, user_id, approve)
        verdict: DecisionStatus = "approved" if approve else "rejected"
        ttl = max(1, round(pending.expires_at - time.time())) + 60
        await self.redis.set(f"{self._key(call_id)}:decided", f"{verdict} by {user_id}", ex=ttl)
        return Decision(verdict, pending)


APPROVAL_ARGS_LIMIT = 1500
"""Characters of arguments a person can be asked to approve (shown whole, never cut)."""


def approval_problem(tool: Tool, args: dict[str, Any]) -> str:
    """Why ``tool(args)`` cannot be put to a person for approval (``""``: it can)."""
    try:
        tool.args_model.model_validate(args)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'arguments'}: {e['msg']}" for e in exc.errors()
        )
        return f"I can't prepare {tool.name}: {problems}. Nothing was run."
    if len(describe_args(args, limit=None)) > APPROVAL_ARGS_LIMIT:
        return (
            f"The {tool.name} call's arguments are too long to show for approval "
            f"(over {APPROVAL_ARGS_LIMIT:,} characters). Nothing was run."
        )
    return ""
