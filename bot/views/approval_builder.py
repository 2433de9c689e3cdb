"""Block Kit for tool calls waiting for approval: the Approve / Reject row and its outcome.

Pure functions from plain data to Block Kit dicts. The row's block id is ``APPROVAL_BLOCK`` so
the action handler can swap it for the decision without touching the rest of the message.
"""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import ActionsBlock, ButtonElement, ContextBlock, MarkdownTextObject

from bot.views.text import escape_mrkdwn, human_duration

APPROVE_ACTION = "approve_tool"
REJECT_ACTION = "reject_tool"
APPROVAL_BLOCK = "tool_approval"

BlockDict = dict[str, Any]


def approval_blocks(approval: dict[str, Any]) -> list[BlockDict]:
    """What the call would do and the Approve / Reject buttons (value: the request id)."""
    expires = human_duration(int(approval.get("expires_in_s") or 0))
    what = escape_mrkdwn(f"{approval['tool']}({approval.get('args') or ''})")
    line = f":raised_hand: Waiting for approval to run `{what}` · expires in {expires}"
    approve = ButtonElement(
        text="Approve",
        action_id=APPROVE_ACTION,
        value=str(approval["id"]),
        style="primary",
        accessibility_label=f"Approve running {approval['tool']}",
    )
    reject = ButtonElement(
        text="Reject",
        action_id=REJECT_ACTION,
        value=str(approval["id"]),
        style="danger",
        accessibility_label=f"Reject running {approval['tool']}",
    )
    return [
        ContextBlock(elements=[MarkdownTextObject(text=line)]).to_dict(),
        ActionsBlock(block_id=APPROVAL_BLOCK, elements=[approve, reject]).to_dict(),
    ]


def decided_blocks(blocks: list[BlockDict], summary: str) -> list[BlockDict]:
    """``blocks`` (the original message) with the Approve / Reject row replaced by ``summary``."""
    line = ContextBlock(elements=[MarkdownTextObject(text=summary)]).to_dict()
    return [line if b.get("block_id") == APPROVAL_BLOCK else b for b in blocks]


def outcome_text(message: str, output: str) -> str:
    """The thread reply after a decision: our line, then the tool's output escaped (it is
    untrusted text: no mentions or links of its own)."""
    return f"{message}\n{escape_mrkdwn(output)}" if output else message
